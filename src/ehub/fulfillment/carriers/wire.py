"""The sandbox carrier API's wire format (JSON), both directions, as pure functions.

``to_request(obj, account)`` turns one of our requests into ``(method, path, payload)``;
``from_response(operation, status, payload, account)`` turns the API's answer into our value
objects, or raises the matching domain error. Nothing here does I/O, so each direction is
tested against the exact fixture files in ``tests/fulfillment/fixtures/carriers/``, the way
Karrio tests its connectors.

Conventions of the API: weights in grams and dimensions in millimetres as integers, amounts as
decimal strings with their currency, times as ISO 8601 with offset, errors as
``{"errors": [{"code", "field", "message"}]}`` with a 4xx status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.core.money import Money
from ehub.fulfillment.carriers.base import (
    Booking,
    BookingRequest,
    CarrierError,
    DestinationNotServed,
    InvalidWaybill,
    OverWeightLimit,
    RateQuote,
    RateRequest,
    TrackingEvent,
)


@dataclass(frozen=True)
class Account:
    """Who we are at the carrier, and what our side knows of the carrier."""

    number: str  # our shipper account
    carrier_code: str
    carrier_name: str
    service: str
    logistics_code: str
    logistics_name: str


@dataclass(frozen=True)
class TrackRequest:
    waybill_no: str
    booked_at: datetime | None = None  # hints for a stateless carrier (the sandbox after a restart)
    routing_code: str = ""


@dataclass(frozen=True)
class CancelRequest:
    waybill_no: str
    reason: str = ""


def money_json(m: Money) -> dict[str, str]:
    return {"amount": f"{m.to_decimal():.{m.exponent}f}", "currency": m.currency}


def money_from(data: dict[str, Any]) -> Money:
    return Money.parse(str(data["amount"]), str(data["currency"]))


def _dims(dims) -> dict[str, Any] | None:
    if not dims:
        return None
    length, width, height = dims
    return {"length": length, "width": width, "height": height, "unit": "mm"}


def _address(a) -> dict[str, str]:
    return {
        "name": a.name,
        "phone": a.phone,
        "country": getattr(a, "country", "CN") or "CN",
        "province": a.province,
        "city": a.city,
        "district": a.district,
        "street": a.street,
        "postcode": a.postcode or "",
    }


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- our requests → the carrier's payloads ---------------------------------------------------


def to_request(obj: Any, account: Account) -> tuple[str, str, dict[str, Any]]:
    """``(method, path, payload)`` of the API call that carries ``obj``."""
    if isinstance(obj, RateRequest):
        parcel: dict[str, Any] = {"weight": {"value": obj.weight_g, "unit": "g"}}
        if obj.dims_mm:
            parcel["dimensions"] = _dims(obj.dims_mm)
        payload: dict[str, Any] = {
            "account": account.number,
            "service": account.service,
            "origin": {"country": "MY", "airport": "KUL"},
            "destination": {"country": "CN", "province": obj.province},
            "parcel": parcel,
        }
        if obj.declared_value is not None:
            payload["declared_value"] = money_json(obj.declared_value)
        return "POST", "/v1/rates", payload
    if isinstance(obj, BookingRequest):
        parcel = {"weight": {"value": obj.weight_g, "unit": "g"}}
        if obj.dims_mm:
            parcel["dimensions"] = _dims(obj.dims_mm)
        payload = {
            "account": account.number,
            "service": account.service,
            "reference": obj.reference,
            "shipper": _address(obj.sender),
            "recipient": _address(obj.consignee),
            "parcel": parcel,
            "declared_value": money_json(obj.declared_value),
            "contents": obj.contents,
        }
        if obj.booked_at is not None:
            payload["ship_time"] = _time(obj.booked_at)
        if obj.sequence is not None:
            payload["number_from_range"] = obj.sequence
        return "POST", "/v1/shipments", payload
    if isinstance(obj, TrackRequest):
        payload = {"account": account.number, "tracking_number": obj.waybill_no}
        if obj.booked_at is not None:
            payload["ship_time"] = _time(obj.booked_at)
        if obj.routing_code:
            payload["routing_code"] = obj.routing_code
        return "POST", "/v1/tracking", payload
    if isinstance(obj, CancelRequest):
        payload = {"account": account.number, "reason": obj.reason}
        return "POST", f"/v1/shipments/{obj.waybill_no}/cancel", payload
    raise TypeError(f"no API call carries a {type(obj).__name__}")


# -- the carrier's answers → our value objects -----------------------------------------------

_ERRORS = {
    "weight_over_limit": (OverWeightLimit, "weight_g"),
    "destination_not_served": (DestinationNotServed, "province"),
    "unknown_tracking_number": (InvalidWaybill, "waybill_no"),
    "invalid_tracking_number": (InvalidWaybill, "waybill_no"),
}


def _raise_errors(status: int, payload: dict[str, Any]) -> None:
    errors = payload.get("errors") or [{}]
    first = errors[0]
    kind, field = _ERRORS.get(first.get("code", ""), (CarrierError, None))
    message = first.get("message") or _("The carrier answered HTTP %(status)s.") % {
        "status": status
    }
    raise kind(message, field=field)


def _quote(rate: dict[str, Any], account: Account) -> RateQuote:
    charges = {c["type"]: money_from(c) for c in rate["charges"]}
    weight = rate["weight"]
    return RateQuote(
        carrier_code=account.carrier_code,
        carrier_name=account.carrier_name,
        service=rate["service"],
        zone=int(rate["zone"]),
        province=rate["destination"],
        actual_weight_g=int(weight["actual"]),
        volumetric_weight_g=int(weight["volumetric"]),
        chargeable_weight_g=int(weight["chargeable"]),
        band_g=int(weight["band"]),
        base=charges["base"],
        fuel=charges["fuel"],
        total=money_from(rate["total"]),
        transit_hours=int(rate["transit_hours"]),
        routing_code=rate["routing_code"],
    )


def _event(e: dict[str, Any], waybill_no: str, account: Account) -> TrackingEvent:
    return TrackingEvent(
        waybill_no=e.get("tracking_number", waybill_no),
        code=e["code"],
        at=parse_time(e["time"]),
        location=e["location"],
        description=e["description"],
        carrier_code=account.carrier_code,
        event_id=e["id"],
        reason=e.get("reason", ""),
        final=bool(e.get("final", False)),
    )


def from_response(operation: str, status: int, payload: dict[str, Any], account: Account):
    """Parse the answer to ``operation`` ("rate", "book", "track", "cancel", "webhook")."""
    if status >= 400:
        _raise_errors(status, payload)
    try:
        if operation == "rate":
            return _quote(payload["rates"][0], account)
        if operation == "book":
            s = payload["shipment"]
            quote = _quote(s["rate"], account)
            return Booking(
                carrier_code=account.carrier_code,
                carrier_name=account.carrier_name,
                logistics_code=account.logistics_code,
                logistics_name=account.logistics_name,
                waybill_no=s["tracking_number"],
                reference=s["reference"],
                service=s["service"],
                routing_code=s["routing_code"],
                quote=quote,
                booked_at=parse_time(s["created_at"]),
            )
        if operation == "track":
            t = payload["tracking"]
            return [_event(e, t["tracking_number"], account) for e in t["events"]]
        if operation == "webhook":
            return [_event(e, "", account) for e in payload["events"]]
        if operation == "cancel":
            if payload.get("status") != "cancelled":
                raise CarrierError(_("The carrier did not cancel the shipment."))
            return None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CarrierError(
            _("Unreadable %(operation)s answer from the carrier: %(error)s")
            % {"operation": operation, "error": repr(exc)}
        ) from exc
    raise ValueError(f"unknown operation {operation!r}")
