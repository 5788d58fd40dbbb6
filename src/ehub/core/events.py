"""Domain events: a small publish/subscribe on top of django-tasks.

Engines (payments, customs, fulfillment, ledger) announce what happened without knowing who
listens; ``orders`` and others react. Subscribing apps register handlers in
``AppConfig.ready``::

    events.subscribe("customs.cleared", "ehub.orders.handlers.on_customs_cleared")

and services publish inside their transaction::

    events.publish("customs.cleared", {"declaration_id": d.pk}, ctx=ctx)

Each (event, subscriber) becomes one ``deliver_event`` task row, written in the caller's
database transaction: a rolled-back change emits nothing and a committed one cannot lose its
events (transactional outbox). Delivery is at least once - a crashed worker retries - so
handlers must be idempotent; ``Event.id`` is the same for every subscriber and retry and is
the natural idempotency key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ehub.core import clock
from ehub.core.context import Context

logger = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

_lock = threading.Lock()
_subscribers: dict[str, list[str]] = {}


@dataclass(frozen=True)
class Event:
    """What a handler receives."""

    name: str
    payload: dict[str, Any]
    id: str
    occurred_at: dt.datetime
    # Who caused it (actor_id, org_id, via, request_id), for handlers that audit or scope.
    meta: dict[str, Any] = field(default_factory=dict)


def _check_name(event_name: str) -> None:
    if not isinstance(event_name, str) or not _NAME_RE.match(event_name):
        raise ValueError(f"event name {event_name!r} must look like 'context.happened'")


def subscribe(event_name: str, handler_path: str) -> None:
    """Deliver ``event_name`` to the function at dotted ``handler_path`` (duplicates ignored).

    The handler is imported only at delivery, so ``ready()`` can subscribe without
    importing (and circularly depending on) the handler's module.
    """
    _check_name(event_name)
    if not isinstance(handler_path, str) or not _PATH_RE.match(handler_path):
        raise ValueError(f"handler path {handler_path!r} must be a dotted path to a function")
    with _lock:
        handlers = _subscribers.setdefault(event_name, [])
        if handler_path not in handlers:
            handlers.append(handler_path)


def unsubscribe(event_name: str, handler_path: str) -> None:
    """Remove a subscription (mainly for tests); unknown ones are ignored."""
    with _lock:
        handlers = _subscribers.get(event_name, [])
        if handler_path in handlers:
            handlers.remove(handler_path)


def subscribers(event_name: str) -> list[str]:
    with _lock:
        return list(_subscribers.get(event_name, []))


def _check_payload(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TypeError(f"an event payload must be a dict, not {type(payload).__name__}")
    try:
        # sort_keys also rejects non-str keys that json would otherwise coerce silently.
        text = json.dumps(payload, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"event payload is not JSON-serialisable: {exc}") from None
    if any(not isinstance(key, str) for key in payload):
        raise TypeError("event payload keys must be strings")
    # What the handler sees is what survived the JSON round trip (tuples become lists),
    # so behaviour is the same whether delivery is immediate or from the database.
    return json.loads(text)


def _meta(ctx: Context | None) -> dict[str, Any]:
    if ctx is None:
        return {}
    user = ctx.user
    actor_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    return {
        "actor_id": actor_id,
        "org_id": ctx.org_id,
        "via": ctx.via,
        "request_id": ctx.request_id,
    }


def publish(event_name: str, payload: dict[str, Any], *, ctx: Context | None = None) -> Event:
    """Announce ``event_name``; one delivery task per subscriber, in the caller's transaction."""
    from ehub.core.tasks import enqueue_in_transaction

    _check_name(event_name)
    clean = _check_payload(payload)
    event = Event(
        name=event_name,
        payload=clean,
        id=str(uuid.uuid4()),
        occurred_at=clock.now(),
        meta=_meta(ctx),
    )
    handlers = subscribers(event_name)
    if not handlers:
        logger.debug("event %s (%s) has no subscribers", event_name, event.id)
        return event
    with transaction.atomic():
        for handler_path in handlers:
            enqueue_in_transaction(event, handler_path)
    logger.debug("event %s (%s) queued for %d subscribers", event_name, event.id, len(handlers))
    return event


def publish_many(
    items: Iterable[tuple[str, dict[str, Any]]], ctx: Context | None = None
) -> list[Event]:
    """``publish`` for many ``(event_name, payload)`` at once, e.g. a batch's decisions.

    Same checks and the same outbox guarantee (every delivery row is written in the caller's
    transaction), but the rows are written together: with the database task backend in one
    bulk insert instead of one ORM insert per (event, subscriber). The events share one
    ``occurred_at``; each has its own id.
    """
    from ehub.core.tasks import enqueue_many_in_transaction

    now, meta = clock.now(), _meta(ctx)
    handlers_of: dict[str, list[str]] = {}
    published: list[Event] = []
    deliveries: list[tuple[Event, str]] = []
    for event_name, payload in items:
        _check_name(event_name)
        event = Event(
            name=event_name,
            payload=_check_payload(payload),
            id=str(uuid.uuid4()),
            occurred_at=now,
            meta=meta,
        )
        published.append(event)
        if event_name not in handlers_of:
            handlers_of[event_name] = subscribers(event_name)
        deliveries.extend((event, handler_path) for handler_path in handlers_of[event_name])
    if deliveries:
        with transaction.atomic():
            enqueue_many_in_transaction(deliveries)
    logger.debug("%d events queued as %d deliveries", len(published), len(deliveries))
    return published


def run_pending_tasks(max_tasks: int | None = None, **options: Any) -> int:
    """Deliver queued events (and any other ready tasks) in-process; see core.tasks."""
    from ehub.core.tasks import run_pending_tasks as run

    return run(max_tasks, **options)
