"""Carrier gateway: rate, book, track and cancel cross-border parcels, KUL → mainland China.

Pure package (no models, no database): the hub's services call it and persist what it answers.
Shaped like Karrio: a :class:`Carrier` interface, and sandbox carriers that speak a JSON wire
format through a :class:`Transport`; each operation has ``to_request`` (our dataclass → the
exact request payload) and ``from_response`` (the exact response payload → our dataclass),
tested against fixture files. The sandbox transport answers in-process like the real API
would: rate tables by zone and weight band (``carriers/data/``), waybill numbers with a check
digit, tracking events derived from a seed and the booking time, HMAC-signed webhooks.

Public API (stable; import from ``ehub.fulfillment.carriers``)::

    # registry and rate shopping
    all_carriers() -> list[Carrier]          # "EHX" eHub Express, "ECA" Economy Air
    get_carrier(code: str) -> Carrier        # UnknownCarrier (NotFound, field "carrier")
    shop_rates(weight_g: int, province: str, dims_mm: tuple[int, int, int] | None = None,
               *, declared_value: Money | None = None) -> list[RateQuote]
        # cheapest first (then fastest); [] when no carrier takes the parcel
    cheapest(weight_g, province, dims_mm=None, *, declared_value=None) -> RateQuote
        # DestinationNotServed (field "province"); NoCarrierAvailable (422, field "weight_g")

    # the interface every carrier implements
    class Carrier:
        code; name; service; logistics_code (18-char USCC registered with China customs);
        logistics_name; max_weight_g: int;
        cut_offs: tuple[datetime.time, ...]  (Asia/Kuala_Lumpur local time, ascending)
        next_cut_off(after: datetime) -> datetime     # aware: the next cut-off after `after`
        rate(RateRequest) -> RateQuote | None         # None: over weight / not served
        book(BookingRequest) -> Booking
            # OverWeightLimit (field "weight_g"), DestinationNotServed (field "province");
            # idempotent per reference at the carrier (a retry gets the same waybill)
        track(waybill_no, *, booked_at=None, routing_code="", now=None) -> list[TrackingEvent]
            # the events that happened by `now` (default clock.now()), oldest first; pass
            # booked_at and routing_code (from the Booking) for waybills booked in another
            # process: the sandbox remembers only its own. InvalidWaybill if unknown.
        parse_webhook(body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]
            # InvalidSignature unless HMAC-SHA256 verifies and the timestamp is within 5 min
        cancel(waybill_no) -> None                    # InvalidWaybill if not this carrier's
        # sandbox helpers (SandboxCarrier): sign_webhook(body, at=None) -> headers,
        # webhook_body(events) -> bytes, timeline(waybill_no, booked_at, routing_code)

    # value objects (frozen dataclasses)
    RateRequest(weight_g: int, province: str, dims_mm: tuple[int, int, int] | None = None,
                declared_value: Money | None = None)
    RateQuote(carrier_code, carrier_name, service, zone: int, province: str ("CN-SH"),
              actual_weight_g, volumetric_weight_g, chargeable_weight_g,
              band_g: int (upper bound of the band charged), base: Money, fuel: Money,
              total: Money (MYR), transit_hours: int, routing_code: str)
    Address(name, phone, province, city, district, street, postcode="", country="CN")
    BookingRequest(reference: str, sender: Address, consignee: <anything with name, phone,
                   province, city, district, street, postcode>, weight_g: int,
                   dims_mm: tuple | None, declared_value: Money, contents: str = "",
                   booked_at: datetime | None = None, sequence: int | None = None)
        # sequence: pass a number unique in your database (e.g. the shipment pk) so waybill
        # numbers stay unique across processes; without it the sandbox uses a process counter.
    Booking(carrier_code, carrier_name, logistics_code, logistics_name, waybill_no, reference,
            service, routing_code, quote: RateQuote, booked_at: datetime)
        .freight -> Money (MYR) ; .zone ; .chargeable_weight_g
    TrackingEvent(waybill_no, code, at: datetime (aware UTC), location, description,
                  carrier_code, event_id, reason="", final=False)
        # event_id is stable across polls and webhooks: use it for idempotency. final: the
        # last event of the parcel (delivered, or an exception returning it to the sender);
        # reason on exceptions: consignee_absent | address_incomplete | refused
    TRACKING_CODES = ("picked_up", "departed_KUL", "arrived", "import_cleared",
                      "out_for_delivery", "delivered", "exception")

    # helpers
    valid_waybill_no(text, prefix=None) -> bool   # 2 letters, 8 digits, mod-11 check, "MY"
    check_digit(serial8: str) -> str
    chargeable_weight_g(weight_g, dims_mm) -> int # max(actual, L×W×H mm³ / 5000) in grams
    volumetric_weight_g(dims_mm) -> int
    resolve_province(text) -> Province   # "上海", "上海市", "Shanghai", "CN-SH", "31", "310000"
    Province(code, iso, zh, en, zone, gateway) .abbr
    routing_code(province, zone=None) -> str      # e.g. "PVG-1-SH"

    # errors (ehub.core.errors subclasses)
    CarrierError (502), OverWeightLimit, DestinationNotServed, InvalidWaybill, InvalidSignature,
    UnknownCarrier, NoCarrierAvailable
"""

from ehub.fulfillment.carriers.base import (
    TRACKING_CODES,
    Address,
    Booking,
    BookingRequest,
    Carrier,
    CarrierError,
    DestinationNotServed,
    InvalidSignature,
    InvalidWaybill,
    NoCarrierAvailable,
    OverWeightLimit,
    RateQuote,
    RateRequest,
    TrackingEvent,
    UnknownCarrier,
)
from ehub.fulfillment.carriers.rates import chargeable_weight_g, volumetric_weight_g
from ehub.fulfillment.carriers.registry import all_carriers, cheapest, get_carrier, shop_rates
from ehub.fulfillment.carriers.waybill import check_digit, valid_waybill_no
from ehub.fulfillment.carriers.zones import Province, resolve_province, routing_code

__all__ = [
    "TRACKING_CODES",
    "Address",
    "Booking",
    "BookingRequest",
    "Carrier",
    "CarrierError",
    "DestinationNotServed",
    "InvalidSignature",
    "InvalidWaybill",
    "NoCarrierAvailable",
    "OverWeightLimit",
    "Province",
    "RateQuote",
    "RateRequest",
    "TrackingEvent",
    "UnknownCarrier",
    "all_carriers",
    "chargeable_weight_g",
    "cheapest",
    "check_digit",
    "get_carrier",
    "resolve_province",
    "routing_code",
    "shop_rates",
    "valid_waybill_no",
    "volumetric_weight_g",
]
