"""eHub's end of provider callbacks: verify, record once, apply.

``receive(provider, headers, body)`` is the whole handler; the view at
``/payments/webhooks/<provider>/`` and the sandbox wallet's in-process delivery both call it with
the same signed bytes. A callback whose signature or timestamp is wrong answers 400 and changes
nothing. An accepted one is stored as a ``WebhookEvent`` unique by (provider, event id) in the
same transaction as its effect, so a duplicate (a retry, a replay) finds the row and changes
nothing; out-of-order events cannot move an intent backwards (``domain.TRANSITIONS``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction

from ehub.core import clock

from . import services
from .gateways import WebhookRejected, get_provider
from .models import WebhookEvent

logger = logging.getLogger(__name__)


def receive(provider_name: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
    """Handle one callback; returns (HTTP status, JSON answer)."""
    try:
        provider = get_provider(provider_name)
    except LookupError:
        return 404, {"code": "not_found", "detail": "unknown provider"}
    try:
        provider.verify(headers, body)
        event = provider.parse(body)
    except WebhookRejected as exc:
        logger.warning("rejected %s webhook: %s", provider_name, exc.reason)
        return 400, {"code": "webhook_rejected", "detail": exc.reason}
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = WebhookEvent.objects.create(
                    provider=provider_name,
                    event_id=event.id,
                    event_type=event.type,
                    intent_public_id=event.intent[:32],
                    payload=event.raw or {},
                    outcome="pending",
                    received_at=clock.now(),
                )
        except IntegrityError:
            # Seen before (unique provider + event id): the first delivery did the work.
            return 200, {"status": "duplicate", "event": event.id}
        outcome = services.apply_provider_event(event, provider_name)
        WebhookEvent.objects.filter(pk=row.pk).update(outcome=outcome)
    return 200, {"status": outcome, "event": event.id}
