"""The carrier interface, its value objects and its errors.

Everything here is plain data: the hub's services persist what a carrier answers, and the
carrier implementations never see a model. Weights are integer grams and dimensions integer
millimetres (what a hub scale and a dimensioner report); money is MYR ``Money``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from http import HTTPStatus
from typing import Protocol
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from ehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from ehub.core.money import Money

KUALA_LUMPUR = ZoneInfo("Asia/Kuala_Lumpur")

# The order in which a parcel normally meets them; "exception" may interrupt the sequence.
TRACKING_CODES = (
    "picked_up",
    "departed_KUL",
    "arrived",
    "import_cleared",
    "out_for_delivery",
    "delivered",
    "exception",
)


# -- errors ----------------------------------------------------------------------------------


class CarrierError(DomainError):
    """The carrier's API failed or answered something we cannot read."""

    code = "carrier_error"
    title = _("The carrier could not be reached or answered an error.")
    status = HTTPStatus.BAD_GATEWAY


class OverWeightLimit(DomainError):
    """The parcel is heavier (actual or volumetric) than the carrier accepts."""

    code = "over_weight_limit"
    title = _("The parcel is over the carrier's weight limit.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class DestinationNotServed(DomainError):
    """The carrier does not deliver to that province (or the province is unknown)."""

    code = "destination_not_served"
    title = _("The carrier does not deliver there.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidWaybill(DomainError):
    """Not a well-formed waybill number of this carrier (wrong shape or check digit)."""

    code = "invalid_waybill"
    title = _("Invalid waybill number.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidSignature(PermissionDenied):
    """A webhook whose HMAC signature or timestamp does not verify."""

    code = "invalid_signature"
    title = _("The webhook signature does not verify.")
    status = HTTPStatus.UNAUTHORIZED


class UnknownCarrier(NotFound):
    code = "unknown_carrier"
    title = _("Unknown carrier.")


class NoCarrierAvailable(Conflict):
    """Rate shopping found no carrier for this parcel (too heavy everywhere, or not served)."""

    code = "no_carrier_available"
    title = _("No carrier can take this parcel.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY


# -- value objects ---------------------------------------------------------------------------


Dims = tuple[int, int, int]


@dataclass(frozen=True)
class RateRequest:
    weight_g: int
    province: str
    dims_mm: Dims | None = None
    declared_value: Money | None = None


@dataclass(frozen=True)
class RateQuote:
    carrier_code: str
    carrier_name: str
    service: str
    zone: int
    province: str  # ISO 3166-2, "CN-SH"
    actual_weight_g: int
    volumetric_weight_g: int
    chargeable_weight_g: int
    band_g: int  # the upper bound of the weight band charged
    base: Money
    fuel: Money
    total: Money
    transit_hours: int
    routing_code: str


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    postcode: str = ""
    country: str = "CN"


class ConsigneeLike(Protocol):
    """The hub's ``Consignee`` (fulfillment.services) fits; so does :class:`Address`."""

    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    postcode: str


@dataclass(frozen=True)
class BookingRequest:
    reference: str  # the order's public id (customs orderNo)
    sender: Address
    consignee: ConsigneeLike
    weight_g: int
    dims_mm: Dims | None
    declared_value: Money
    contents: str = ""
    booked_at: datetime | None = None  # default: clock.now()
    # A number unique in the caller's database (e.g. the shipment pk): the waybill serial is
    # taken from it, as a shipper uses the number range a carrier assigned to it. Without it
    # the sandbox uses a per-process counter (fine for tests and demos, not across processes).
    sequence: int | None = None


@dataclass(frozen=True)
class Booking:
    carrier_code: str
    carrier_name: str
    logistics_code: str
    logistics_name: str
    waybill_no: str
    reference: str
    service: str
    routing_code: str
    quote: RateQuote
    booked_at: datetime

    @property
    def freight(self) -> Money:
        return self.quote.total

    @property
    def zone(self) -> int:
        return self.quote.zone

    @property
    def chargeable_weight_g(self) -> int:
        return self.quote.chargeable_weight_g


@dataclass(frozen=True)
class TrackingEvent:
    waybill_no: str
    code: str  # one of TRACKING_CODES
    at: datetime  # aware, UTC
    location: str
    description: str
    carrier_code: str
    event_id: str  # stable across polls and webhooks: the idempotency key
    reason: str = ""  # on "exception": consignee_absent, address_incomplete, refused...
    final: bool = False  # True on "delivered" and on an exception that returns the parcel

    def as_json(self) -> dict:
        return {
            "event_id": self.event_id,
            "waybill_no": self.waybill_no,
            "code": self.code,
            "at": self.at.isoformat(),
            "location": self.location,
            "description": self.description,
            "carrier_code": self.carrier_code,
            "reason": self.reason,
            "final": self.final,
        }


def next_cut_off(cut_offs: tuple[time, ...], after: datetime) -> datetime:
    """The first of the daily ``cut_offs`` (KL time) strictly after ``after`` (aware), as an
    aware KL datetime: what the carrier's client promises and what its server plans with.

    A parcel released exactly at a cut-off misses it: the truck is being loaded. A naive
    ``after`` is refused: ``astimezone`` would read it in the server's own zone.
    """
    if after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    local = after.astimezone(KUALA_LUMPUR)
    for days in range(0, 8):
        day = local.date() + timedelta(days=days)
        for cut in cut_offs:
            moment = datetime.combine(day, cut, tzinfo=KUALA_LUMPUR)
            if moment > local:
                return moment
    raise CarrierError(_("The carrier has no cut-off time."))  # pragma: no cover


# -- the interface ---------------------------------------------------------------------------


class Carrier(abc.ABC):
    """What the hub needs from a carrier. Implementations: ``sandbox.SandboxCarrier``."""

    code: str
    name: str
    logistics_code: str  # the carrier's enterprise code registered with China customs (CEB511)
    logistics_name: str
    service: str
    max_weight_g: int
    cut_offs: tuple[time, ...]  # local Kuala Lumpur time, ascending

    def next_cut_off(self, after: datetime) -> datetime:
        """The first cut-off strictly after ``after`` (aware), as an aware KL datetime."""
        return next_cut_off(self.cut_offs, after)

    @abc.abstractmethod
    def rate(self, request: RateRequest) -> RateQuote | None: ...

    @abc.abstractmethod
    def book(self, request: BookingRequest) -> Booking: ...

    @abc.abstractmethod
    def track(
        self,
        waybill_no: str,
        *,
        booked_at: datetime | None = None,
        routing_code: str = "",
        now: datetime | None = None,
    ) -> list[TrackingEvent]: ...

    @abc.abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]: ...

    @abc.abstractmethod
    def cancel(self, waybill_no: str) -> None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"
