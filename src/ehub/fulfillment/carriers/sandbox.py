"""Sandbox carriers: a client that speaks the wire format, and an in-process fake of the API.

:class:`SandboxCarrier` is the client: it maps our requests with ``wire.to_request``, sends
the JSON through a :class:`Transport` and reads the answer with ``wire.from_response`` - the
same code would talk to a real carrier over HTTPS with an ``HttpTransport``.

:class:`SandboxAPI` plays the carrier's server, in process, answering like the real API would:

* **rates** from the carrier's rate card (``data/*.json``): zone of the province, chargeable
  weight (actual vs volumetric), weight band, fuel surcharge; 422 over the weight limit;
* **shipments**: allocates a waybill number with an S10 check digit, idempotently per
  reference (a retried booking gets the same number back); the serial comes from the shipper's
  ``number_from_range`` when given (unique in the hub's database), else from a process counter;
* **tracking**: the events are a pure function of (seed, waybill number, ship time, routing
  code) - picked up before the flight's cut-off, departed KUL, arrived at the gateway, import
  cleared, out for delivery, delivered, with a seeded share of exceptions (some redelivered the
  next day, some returned to sender) - and only those that happened by "now" are answered, so
  polling sees a parcel move as the clock advances;
* **webhooks**: the same events, signed with HMAC-SHA256 over ``"<timestamp>.<body>"``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import threading
import time as _time_mod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.fulfillment.carriers import wire
from ehub.fulfillment.carriers.base import (
    Booking,
    BookingRequest,
    Carrier,
    DestinationNotServed,
    InvalidSignature,
    InvalidWaybill,
    OverWeightLimit,
    RateQuote,
    RateRequest,
    TrackingEvent,
    next_cut_off,
)
from ehub.fulfillment.carriers.rates import RateTable, chargeable_weight_g, load_table
from ehub.fulfillment.carriers.rates import volumetric_weight_g as _volumetric
from ehub.fulfillment.carriers.waybill import make_waybill_no, valid_waybill_no
from ehub.fulfillment.carriers.zones import resolve_province, routing_code

SIGNATURE_HEADER = "X-Carrier-Signature"
TIMESTAMP_HEADER = "X-Carrier-Timestamp"
REPLAY_WINDOW = timedelta(minutes=5)

# Block hours KUL → gateway (scheduled, rounded), and the hub-to-door legs by zone.
FLIGHT_MINUTES = {"PVG": 340, "CAN": 240, "PEK": 390, "CTU": 280}
LAST_MILE_HOURS = {1: 10, 2: 16, 3: 24, 4: 44}
EXCEPTION_REASONS = ("consignee_absent", "address_incomplete", "refused")
DESCRIPTIONS = {
    "picked_up": "Picked up at eHub KLIA Aeropolis",
    "departed_KUL": "Departed Kuala Lumpur International Airport",
    "arrived": "Arrived at the import gateway",
    "import_cleared": "Cleared by China customs",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delivery exception",
}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Transport(Protocol):
    """How a request reaches the carrier: HTTPS for real carriers, a function call here."""

    def send(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response: ...


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class _Shipment:
    waybill_no: str
    reference: str
    ship_time: datetime
    routing_code: str
    rate: dict[str, Any]
    cancelled: bool = False


class SandboxAPI:
    """The fake carrier server. Thread-safe; state (bookings) lives in this process only."""

    def __init__(
        self,
        *,
        table: RateTable,
        service: str,
        prefix: str,
        cut_offs: tuple[time, ...],
        seed: int,
        exception_rate: float = 0.04,
    ) -> None:
        self.table = table
        self.service = service
        self.prefix = prefix
        self.cut_offs = cut_offs
        self.seed = seed
        self.exception_rate = exception_rate
        self._lock = threading.Lock()
        self._by_waybill: dict[str, _Shipment] = {}
        self._by_reference: dict[str, str] = {}
        # Without a shipper-supplied number, start where another process is unlikely to be.
        start = (_time_mod.time_ns() // 1000 + os.getpid() * 1_000_003) % 10**7
        self._counter = itertools.count(start)

    # -- HTTP-ish entry point ----------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return self._error(400, "invalid_json", "", "The body is not JSON.")
        if method != "POST":
            return self._error(405, "method_not_allowed", "", "Use POST.")
        if path == "/v1/rates":
            status, answer = self._rate(payload)
        elif path == "/v1/shipments":
            status, answer = self._ship(payload)
        elif path == "/v1/tracking":
            status, answer = self._track(payload)
        elif path.startswith("/v1/shipments/") and path.endswith("/cancel"):
            status, answer = self._cancel(path.split("/")[3])
        else:
            return self._error(404, "not_found", "", f"No route {path}.")
        return Response(status, _dumps(answer))

    def _error(self, status: int, code: str, field: str, message: str) -> Response:
        return Response(status, _dumps(self._errors(code, field, message)))

    @staticmethod
    def _errors(code: str, field: str, message: str) -> dict[str, Any]:
        return {"errors": [{"code": code, "field": field, "message": message}]}

    # -- rates -------------------------------------------------------------------------------

    def _quote(self, destination: str, parcel: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            province = resolve_province(destination)
        except DestinationNotServed:
            return 422, self._errors(
                "destination_not_served",
                "destination.province",
                f"We do not deliver to {destination!r}.",
            )
        weight = int(parcel["weight"]["value"])
        d = parcel.get("dimensions")
        dims = (int(d["length"]), int(d["width"]), int(d["height"])) if d else None
        divisor = self.table.volumetric_divisor
        volumetric = _volumetric(dims, divisor)
        chargeable = chargeable_weight_g(weight, dims, divisor)
        if weight <= 0:
            return 422, self._errors(
                "invalid_weight", "parcel.weight", "The weight must be positive."
            )
        price = self.table.price(province.zone, chargeable)
        if chargeable > self.table.max_weight_g or price is None:
            return 422, self._errors(
                "weight_over_limit",
                "parcel.weight",
                f"Chargeable weight {chargeable} g is over our limit of "
                f"{self.table.max_weight_g} g.",
            )
        return 200, {
            "service": self.service,
            "zone": province.zone,
            "destination": province.iso,
            "routing_code": routing_code(province),
            "weight": {
                "actual": weight,
                "volumetric": volumetric,
                "chargeable": chargeable,
                "band": price.band_g,
                "unit": "g",
            },
            "charges": [
                {"type": "base", **wire.money_json(price.base)},
                {"type": "fuel", **wire.money_json(price.fuel)},
            ],
            "total": wire.money_json(price.total),
            "transit_hours": self.table.transit_hours[province.zone - 1],
        }

    def _rate(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, rate = self._quote(payload["destination"]["province"], payload["parcel"])
        return (status, {"rates": [rate]}) if status == 200 else (status, rate)

    # -- shipments ---------------------------------------------------------------------------

    def _ship(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, rate = self._quote(payload["recipient"]["province"], payload["parcel"])
        if status != 200:
            return status, rate
        reference = payload["reference"]
        with self._lock:
            known = self._by_reference.get(reference)
            shipment = self._by_waybill.get(known) if known else None
            if shipment is None or shipment.cancelled:
                if "number_from_range" in payload:
                    serial = int(payload["number_from_range"])
                else:
                    serial = next(self._counter)
                waybill_no = make_waybill_no(self.prefix, serial)
                ship_time = (
                    wire.parse_time(payload["ship_time"])
                    if payload.get("ship_time")
                    else clock.now().replace(microsecond=0)
                )
                shipment = _Shipment(waybill_no, reference, ship_time, rate["routing_code"], rate)
                self._by_waybill[waybill_no] = shipment
                self._by_reference[reference] = waybill_no
        return 201, {
            "shipment": {
                "tracking_number": shipment.waybill_no,
                "reference": shipment.reference,
                "service": self.service,
                "routing_code": shipment.routing_code,
                "rate": shipment.rate,
                "created_at": wire._time(shipment.ship_time),
                "status": "booked",
            }
        }

    def _cancel(self, waybill_no: str) -> tuple[int, dict[str, Any]]:
        if not valid_waybill_no(waybill_no, self.prefix):
            return 422, self._errors(
                "invalid_tracking_number", "tracking_number", f"{waybill_no} is not ours."
            )
        with self._lock:
            shipment = self._by_waybill.get(waybill_no)
            if shipment is not None:
                shipment.cancelled = True
        return 200, {"tracking_number": waybill_no, "status": "cancelled"}

    # -- tracking ----------------------------------------------------------------------------

    def _track(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        waybill_no = payload["tracking_number"]
        if not valid_waybill_no(waybill_no, self.prefix):
            return 422, self._errors(
                "invalid_tracking_number", "tracking_number", f"{waybill_no} is not ours."
            )
        with self._lock:
            shipment = self._by_waybill.get(waybill_no)
        if shipment is not None:
            ship_time, routing, cancelled = (
                shipment.ship_time,
                shipment.routing_code,
                shipment.cancelled,
            )
        elif payload.get("ship_time"):
            ship_time = wire.parse_time(payload["ship_time"])
            routing, cancelled = payload.get("routing_code", ""), False
        else:
            return 404, self._errors(
                "unknown_tracking_number", "tracking_number", f"No shipment {waybill_no}."
            )
        now = clock.now()
        events = [] if cancelled else self.timeline(waybill_no, ship_time, routing)
        return 200, {
            "tracking": {
                "tracking_number": waybill_no,
                "events": [e for e in events if wire.parse_time(e["time"]) <= now],
            }
        }

    def timeline(self, waybill_no: str, ship_time: datetime, routing: str) -> list[dict]:
        """Every event of the parcel's life, past and future, as wire dicts (deterministic)."""
        # Not for secrets: a seeded generator makes the sandbox's answers reproducible.
        seed = f"{self.seed}:{waybill_no}:{ship_time.astimezone(UTC).isoformat()}"
        rng = random.Random(seed)  # noqa: S311
        gateway, zone, province = "", 2, "CN"
        parts = routing.split("-")
        if len(parts) == 3 and parts[1].isdigit():
            gateway, zone, province = parts[0], int(parts[1]), f"CN-{parts[2]}"
        minutes = timedelta(minutes=1)
        # The hub hands the parcel over before the first cut-off at least an hour away.
        cut_off = next_cut_off(self.cut_offs, ship_time + timedelta(hours=1))
        steps: list[tuple[str, datetime, str, str, bool]] = []
        at = cut_off - rng.randint(5, 45) * minutes
        steps.append(("picked_up", at, "KUL", "", False))
        at = cut_off + (120 + rng.randint(0, 30)) * minutes
        steps.append(("departed_KUL", at, "KUL", "", False))
        at += (FLIGHT_MINUTES.get(gateway, 300) + rng.randint(0, 20)) * minutes
        steps.append(("arrived", at, gateway or "CN", "", False))
        at += rng.randint(120, 600) * minutes
        steps.append(("import_cleared", at, gateway or "CN", "", False))
        at += (LAST_MILE_HOURS.get(zone, 24) * 60 + rng.randint(0, 360)) * minutes
        steps.append(("out_for_delivery", at, province, "", False))
        if rng.random() < self.exception_rate:
            reason = rng.choice(EXCEPTION_REASONS)
            at += rng.randint(60, 300) * minutes
            returned = reason == "refused" or rng.random() < 0.5
            steps.append(("exception", at, province, reason, returned))
            if not returned:  # redelivered the next day
                at += (20 * 60 + rng.randint(0, 120)) * minutes
                steps.append(("out_for_delivery", at, province, "", False))
                at += rng.randint(60, 480) * minutes
                steps.append(("delivered", at, province, "", True))
        else:
            at += rng.randint(60, 480) * minutes
            steps.append(("delivered", at, province, "", True))
        events = []
        for n, (code, moment, location, reason, final) in enumerate(steps, start=1):
            description = DESCRIPTIONS[code]
            if code == "exception":
                description += f": {reason.replace('_', ' ')}"
                description += "; returning to sender" if final else "; will retry"
            event = {
                "id": f"{waybill_no}-{n:02d}",
                "tracking_number": waybill_no,
                "code": code,
                "time": wire._time(moment.replace(second=0, microsecond=0)),
                "location": location,
                "description": description,
                "final": final,
            }
            if reason:
                event["reason"] = reason
            events.append(event)
        return events


class SandboxTransport:
    """Delivers requests to a :class:`SandboxAPI` by calling it: no sockets, same bytes."""

    def __init__(self, api: SandboxAPI) -> None:
        self.api = api
        self.sent: list[tuple[str, str, bytes]] = []  # the last requests, for tests
        self.keep = 0  # how many to keep (0: none, so a long-running process does not grow)

    def send(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.keep:
            self.sent = [*self.sent[-(self.keep - 1) :], (method, path, body)]
        return self.api.handle(method, path, body)


class SandboxCarrier(Carrier):
    def __init__(
        self,
        *,
        code: str,
        name: str,
        service: str,
        logistics_code: str,
        logistics_name: str,
        prefix: str,
        rate_file: str,
        cut_offs: tuple[time, ...],
        seed: int,
        webhook_secret: str,
        account_number: str,
        exception_rate: float = 0.04,
    ) -> None:
        self.code = code
        self.name = name
        self.service = service
        self.logistics_code = logistics_code
        self.logistics_name = logistics_name
        self.prefix = prefix
        self.table = load_table(rate_file)
        self.max_weight_g = self.table.max_weight_g
        self.cut_offs = cut_offs
        self.webhook_secret = webhook_secret.encode()
        self.account = wire.Account(
            number=account_number,
            carrier_code=code,
            carrier_name=name,
            service=service,
            logistics_code=logistics_code,
            logistics_name=logistics_name,
        )
        self.api = SandboxAPI(
            table=self.table,
            service=service,
            prefix=prefix,
            cut_offs=cut_offs,
            seed=seed,
            exception_rate=exception_rate,
        )
        self.transport: Transport = SandboxTransport(self.api)

    # -- the one path every operation takes --------------------------------------------------

    def _call(self, operation: str, obj: Any):
        method, path, payload = wire.to_request(obj, self.account)
        response = self.transport.send(
            method, path, _dumps(payload), {"Content-Type": "application/json"}
        )
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            answer = {}
        return wire.from_response(operation, response.status, answer, self.account)

    def rate(self, request: RateRequest) -> RateQuote | None:
        try:
            return self._call("rate", request)
        except (OverWeightLimit, DestinationNotServed):
            return None

    def book(self, request: BookingRequest) -> Booking:
        return self._call("book", request)

    def _check(self, waybill_no: str) -> None:
        if not valid_waybill_no(waybill_no, self.prefix):
            raise InvalidWaybill(
                _("%(waybill)s is not a valid %(carrier)s waybill number.")
                % {"waybill": waybill_no, "carrier": self.name},
                field="waybill_no",
            )

    def track(
        self,
        waybill_no: str,
        *,
        booked_at: datetime | None = None,
        routing_code: str = "",
        now: datetime | None = None,
    ) -> list[TrackingEvent]:
        self._check(waybill_no)
        request = wire.TrackRequest(waybill_no, booked_at, routing_code)
        if now is None:
            return self._call("track", request)
        with clock.frozen(now):
            return self._call("track", request)

    def cancel(self, waybill_no: str) -> None:
        self._check(waybill_no)
        self._call("cancel", wire.CancelRequest(waybill_no))

    # -- webhooks ----------------------------------------------------------------------------

    def _signature(self, timestamp: str, body: bytes) -> str:
        mac = hmac.new(self.webhook_secret, timestamp.encode() + b"." + body, hashlib.sha256)
        return "v1=" + mac.hexdigest()

    def sign_webhook(self, body: bytes, at: datetime | None = None) -> dict[str, str]:
        """The headers the carrier sends with ``body`` (tests and the demo push webhooks)."""
        timestamp = str(int((at or clock.now()).timestamp()))
        return {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: self._signature(timestamp, body),
            "Content-Type": "application/json",
        }

    def webhook_body(self, events: list[TrackingEvent]) -> bytes:
        return _dumps(
            {
                "type": "tracking.updated",
                "events": [
                    {
                        "id": e.event_id,
                        "tracking_number": e.waybill_no,
                        "code": e.code,
                        "time": wire._time(e.at),
                        "location": e.location,
                        "description": e.description,
                        "reason": e.reason,
                        "final": e.final,
                    }
                    for e in events
                ],
            }
        )

    def timeline(
        self, waybill_no: str, booked_at: datetime, routing_code: str
    ) -> list[TrackingEvent]:
        """Every event the sandbox will report for this parcel, future ones included (demo)."""
        events = self.api.timeline(waybill_no, booked_at, routing_code)
        return [wire._event(e, waybill_no, self.account) for e in events]

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]:
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get(TIMESTAMP_HEADER.lower(), "")
        signature = lower.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp.isdigit() or not signature:
            raise InvalidSignature(_("The webhook is not signed."))
        expected = self._signature(timestamp, body)
        if not hmac.compare_digest(expected, signature):
            raise InvalidSignature()
        sent = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(clock.now() - sent) > REPLAY_WINDOW:
            raise InvalidSignature(_("The webhook timestamp is outside the replay window."))
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidSignature(_("The webhook body is not JSON.")) from exc
        events = wire.from_response("webhook", 200, payload, self.account)
        for event in events:
            self._check(event.waybill_no)
        return events
