"""Pure rules of orders: the lifecycle state machine, the checkout's address and identity checks,
and the flat freight rate.

No ORM and no I/O: services feed these functions plain values and persist what they return.

The lifecycle (DESIGN.md "The order lifecycle", China direct mail, mode 9610)::

    PLACED ─pay─▶ PAID ─docs filed, waybill─▶ DECLARED ─800─▶ CLEARED ─▶ PACKED ─▶ SHIPPED
       │            │                           │ 500 ▶ HELD ─800─▶ CLEARED      ─▶ DELIVERED
       │            │                           │ 100 ▶ REJECTED (refund)          ─▶ COMPLETED
       └ expire/cancel (release) ─ cancel before shipment (refund + release)  RETURNED (≤ 30 d)

Every move goes through :func:`check_transition`; a move the table does not list is refused
with ``IllegalTransition`` (a Conflict naming both states), so a late or replayed event can
never drag an order backwards.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from ehub.core.errors import Conflict, FieldError
from ehub.core.money import Money


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    DECLARED = "declared"
    HELD = "held"
    CLEARED = "cleared"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURN_REQUESTED = "return_requested"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    RETURNED = "returned"


S = OrderStatus

STATUS_LABELS = {
    S.PLACED: _("Awaiting payment"),
    S.PAID: _("Paid, awaiting shipment"),
    S.DECLARED: _("Declared to customs"),
    S.HELD: _("Held by customs for inspection"),
    S.CLEARED: _("Cleared by customs"),
    S.PACKED: _("Packed"),
    S.SHIPPED: _("Shipped"),
    S.DELIVERED: _("Delivered"),
    S.RETURN_REQUESTED: _("Return requested"),
    S.COMPLETED: _("Completed"),
    S.CANCELLED: _("Cancelled"),
    S.EXPIRED: _("Expired (not paid in time)"),
    S.REJECTED: _("Rejected by customs"),
    S.RETURNED: _("Returned"),
}

# Where each state may go. Terminal states have no entry.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PLACED: frozenset({S.PAID, S.CANCELLED, S.EXPIRED}),
    S.PAID: frozenset({S.DECLARED, S.CANCELLED, S.REJECTED, S.HELD, S.CLEARED}),
    S.DECLARED: frozenset({S.CLEARED, S.HELD, S.REJECTED, S.CANCELLED}),
    S.HELD: frozenset({S.CLEARED, S.REJECTED, S.CANCELLED}),
    S.CLEARED: frozenset({S.PACKED, S.SHIPPED, S.CANCELLED}),
    S.PACKED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURN_REQUESTED, S.RETURNED}),
    S.RETURN_REQUESTED: frozenset({S.RETURNED, S.DELIVERED, S.COMPLETED}),
    S.COMPLETED: frozenset({S.RETURN_REQUESTED, S.RETURNED}),
}
# Cancellable by the buyer (with a refund once paid): before the parcel leaves the hub.
CANCELLABLE = frozenset({S.PLACED, S.PAID, S.DECLARED, S.HELD, S.CLEARED, S.PACKED})
# The buyer may confirm receipt of a parcel on its way or delivered ...
CONFIRMABLE = frozenset({S.SHIPPED, S.DELIVERED})
# ... and ask to return it once it left the hub (within the return window).
RETURNABLE = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = _("The order cannot move to that state from where it is.")


def can_move(source: str, target: str) -> bool:
    return OrderStatus(target) in TRANSITIONS.get(OrderStatus(source), frozenset())


def event_time(
    reported: dt.datetime | None, *, not_before: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """When a carrier says something happened, kept between ``not_before`` (the timeline never
    runs backwards) and ``now`` (clock skew never puts it in the future)."""
    if reported is None:
        return None
    when = min(reported, now)
    return max(when, not_before) if not_before is not None else when


def check_transition(source: str, target: str) -> None:
    """Raise ``IllegalTransition`` unless ``source → target`` is a move of the lifecycle."""
    if not can_move(source, target):
        raise IllegalTransition(
            _("An order that is %(source)s cannot become %(target)s.")
            % {
                "source": STATUS_LABELS[OrderStatus(source)],
                "target": STATUS_LABELS[OrderStatus(target)],
            },
            field="status",
        )


# -- the buyer's declared identity and the consignee ---------------------------------------

_PHONE_RE = re.compile(r"^\+?\d{8,15}$")


@dataclass(frozen=True)
class Consignee:
    """Who customs is told buys and receives the goods (the payer must be the same person)."""

    name: str
    id_number: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    postcode: str = ""

    @property
    def address(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


def clean_consignee(data: dict) -> tuple[Consignee | None, list[FieldError]]:
    """Validate checkout's identity and address fields; every problem names its field."""
    errors: list[FieldError] = []

    def text(name: str, limit: int, message) -> str:
        value = " ".join(str(data.get(name) or "").split())
        if not value:
            errors.append(FieldError(name, message, "required"))
        elif len(value) > limit:
            errors.append(
                FieldError(name, _("Use at most %(n)d characters.") % {"n": limit}, "too_long")
            )
        return value

    name = text("name", 60, _("Enter your real name as on your ID card."))
    raw_id = str(data.get("id_number") or "").strip()
    id_number = ""
    if not raw_id:
        errors.append(
            FieldError("id_number", _("Enter your 18-digit resident ID number."), "required")
        )
    else:
        try:
            id_number = ric.validate(raw_id)
            if len(id_number) != 18:
                raise stdnum_exc.InvalidLength()
        except stdnum_exc.ValidationError:
            errors.append(
                FieldError(
                    "id_number",
                    _("Not a valid 18-digit resident ID number (check the last character)."),
                    "invalid",
                )
            )
    phone = "".join(ch for ch in str(data.get("phone") or "") if ch.isdigit() or ch == "+")
    if not _PHONE_RE.match(phone):
        errors.append(FieldError("phone", _("Enter a phone number of 8 to 15 digits."), "invalid"))
    province = text("province", 30, _("Choose the province."))
    city = text("city", 30, _("Enter the city."))
    district = text("district", 30, _("Enter the district."))
    street = text("street", 120, _("Enter the street address."))
    postcode = str(data.get("postcode") or "").strip()
    if postcode and not re.fullmatch(r"\d{6}", postcode):
        errors.append(FieldError("postcode", _("A postcode has 6 digits."), "invalid"))
    if errors:
        return None, errors
    return Consignee(name, id_number, phone, province, city, district, street, postcode), []


# -- money of a checkout ---------------------------------------------------------------------


def flat_freight(weight_g: int, first_kg: int, next_kg: int, currency: str = "MYR") -> Money:
    """The documented fallback when no carrier can quote: ``first_kg`` for the first kilogram
    or part of it, ``next_kg`` for each further one (weights rounded up to the kilogram)."""
    kilos = max(1, -(-max(weight_g, 0) // 1000))
    return Money(first_kg + (kilos - 1) * next_kg, currency)
