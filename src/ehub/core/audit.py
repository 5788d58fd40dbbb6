"""The audit log: who did what to which object, and what it looked like before and after.

Services call ``record(ctx, "org.approved", org, before=..., after=...)`` inside their
transaction, so an entry exists exactly when the change does. ``snapshot(obj, fields)``
turns the fields that matter into JSON (Decimal, dates, Money, enums, related objects).
Snapshot only what an auditor needs: personal data belongs masked (``core.fields.mask``).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.functional import Promise

from ehub.core import clock
from ehub.core.context import Context
from ehub.core.money import Money

_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def json_safe(value: Any) -> Any:
    """A JSON-serialisable rendering of ``value``; refuses types it cannot render faithfully."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # Floats should not reach eHub's domain at all; keep them readable rather than fail
        # an audit write, but never NaN/inf, which JSON cannot carry.
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError("cannot audit a non-finite float")
        return value
    if isinstance(value, Money):
        return value.as_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, models.Model):
        return json_safe(value.pk)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot audit a value of type {type(value).__name__}")


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """``{field: value}`` for the named attributes of ``obj``, JSON-safe.

    For a foreign key name the ``_id`` attribute (``"org_id"``) to avoid a query.
    """
    if obj is None:
        return {}
    return {name: json_safe(getattr(obj, name)) for name in fields}


def _actor(ctx: Context) -> tuple[int | None, str]:
    user = ctx.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "system" if ctx.has_role("system") else "anonymous"
    get_username = getattr(user, "get_username", None)
    label = get_username() if callable(get_username) else str(user)
    return user.pk, str(label)[:200]


def _target(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, models.Model):
        if obj.pk is None:
            raise ValueError("audit the object after it is saved (it has no primary key yet)")
        return obj._meta.label_lower, str(obj.pk)
    raise TypeError(f"audit targets are model instances, not {type(obj).__name__}")


def record(
    ctx: Context,
    action: str,
    obj: Any = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
):
    """Append an audit entry for ``action`` (``"<context>.<verb>"``, e.g. ``"org.approved"``)."""
    from ehub.core.models import AuditEntry

    if not isinstance(ctx, Context):
        raise TypeError("record() needs the Context of the caller")
    if not isinstance(action, str) or not _ACTION_RE.match(action):
        raise ValueError(f"audit action {action!r} must look like 'context.verb' in lower case")
    actor_id, actor_label = _actor(ctx)
    object_type, object_id = _target(obj)
    return AuditEntry.objects.create(
        actor_id=actor_id,
        actor_label=actor_label,
        org_id=ctx.org_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=json_safe(dict(before)) if before is not None else None,
        after=json_safe(dict(after)) if after is not None else None,
        via=ctx.via,
        request_id=ctx.request_id[:64],
    )


def record_many(
    ctx: Context,
    action: str,
    objs: Sequence[Any],
    after: Callable[[Any], Mapping[str, Any]] | None = None,
) -> None:
    """What ``record`` writes for each of ``objs`` (``after(obj)`` its after-state), in one
    INSERT: for batches of many objects of one model."""
    from ehub.core.models import AuditEntry

    if not objs:
        return
    if not isinstance(ctx, Context):
        raise TypeError("record_many() needs the Context of the caller")
    if not isinstance(action, str) or not _ACTION_RE.match(action):
        raise ValueError(f"audit action {action!r} must look like 'context.verb' in lower case")
    actor_id, actor_label = _actor(ctx)
    object_type = _target(objs[0])[0]
    now = clock.now()
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_id=actor_id,
                actor_label=actor_label,
                org_id=ctx.org_id,
                action=action,
                object_type=object_type,
                object_id=_target(obj)[1],
                before=None,
                after=json_safe(dict(after(obj))) if after else None,
                via=ctx.via,
                request_id=ctx.request_id[:64],
                at=now,
            )
            for obj in objs
        ]
    )


def history(obj: Any):
    """Entries about ``obj``, newest first."""
    from ehub.core.models import AuditEntry

    object_type, object_id = _target(obj)
    return AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
