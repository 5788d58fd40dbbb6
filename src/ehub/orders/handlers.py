"""Event handlers: what orders does when an engine reports something (subscribed in apps.py).

Each handler is one line into ``services.lifecycle``; the event id is passed as ``source`` so a
redelivered event is recognised on the order's timeline and applied once.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ehub.core.events import Event

from .services import lifecycle


def _source(event: Event) -> str:
    return f"{event.name}:{event.id}"


def on_payment_captured(event: Event) -> None:
    lifecycle.on_captured(event.payload, source=_source(event))


def on_payment_cancelled(event: Event) -> None:
    lifecycle.on_payment_closed(
        event.payload, source=_source(event), reason=_("The payment was cancelled.")
    )


def on_payment_failed(event: Event) -> None:
    lifecycle.on_payment_closed(
        event.payload,
        source=_source(event),
        reason=_("The payment failed: %(why)s") % {"why": event.payload.get("reason", "")},
    )


def on_customs_answer(event: Event) -> None:
    lifecycle.on_customs(event.name, event.payload, source=_source(event))


def on_waybill_booked(event: Event) -> None:
    lifecycle.on_waybill_booked(event.payload, source=_source(event))


def on_fulfillment(event: Event) -> None:
    lifecycle.on_fulfillment(event.name, event.payload, source=_source(event))
