"""Pure rules of the eFulfilment hub: weights, waves, SLA clocks, state machines, scan checks.

No ORM and no I/O here, so every rule is tested without a database (and with hypothesis).

* **Chargeable weight**: carriers bill the larger of the actual weight and the volumetric
  weight L×W×H (cm) / 5000 in kg, which is the same number as L×W×H (mm) / 5000 in grams.
  Rounded *up* to the gram, as carriers do.
* **Waves** group released shipments by carrier and by the next carrier cut-off (local hub
  time): whatever is released before 11:00 leaves on the 11:00 truck, and so on (the rule
  is the carriers' own: ``carriers.base.next_cut_off``).
* **SLA clocks** (DOMAIN.md §1): 3 h of hub handling from customs clearance to carrier
  handover, 72 h from the order to the consignee's door.
* **State machines**: the ASN and the shipment move only forward along the edges below.
* **Scans**: a barcode scanner is a keyboard that types the code and presses Enter; scans are
  normalised (blanks trimmed, upper case) before they are compared.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

VOLUMETRIC_DIVISOR_MM3_PER_G = 5_000  # L×W×H (cm) / 5000 = kg  <=>  L×W×H (mm) / 5000 = g
HANDLING_SLA = dt.timedelta(hours=3)
DOOR_SLA = dt.timedelta(hours=72)
MAX_DIMENSION_MM = 1_500
MAX_WEIGHT_G = 70_000


class ScanError(ValueError):
    """A scan that cannot be accepted; ``code`` is stable, ``message`` is for the operator."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A packed parcel as measured on the scale and the dimensioner."""

    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int

    @property
    def volumetric_g(self) -> int:
        return volumetric_weight_g(self.length_mm, self.width_mm, self.height_mm)

    @property
    def chargeable_g(self) -> int:
        return max(self.weight_g, self.volumetric_g)


def volumetric_weight_g(length_mm: int, width_mm: int, height_mm: int) -> int:
    """L×W×H/5000 (cm → kg), in grams, rounded up."""
    return math.ceil(length_mm * width_mm * height_mm / VOLUMETRIC_DIVISOR_MM3_PER_G)


def check_measure(measure: Measure) -> list[tuple[str, str]]:
    """(field, code) of every implausible measurement; empty when the parcel can be packed."""
    problems: list[tuple[str, str]] = []
    for name in ("weight_g", "length_mm", "width_mm", "height_mm"):
        value = getattr(measure, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append((name, "must_be_positive"))
        elif name != "weight_g" and value > MAX_DIMENSION_MM:
            problems.append((name, "too_large"))
        elif name == "weight_g" and value > MAX_WEIGHT_G:
            problems.append((name, "too_heavy"))
    return problems


# ---------------------------------------------------------------------------------------------
# Waves by carrier cut-off
# ---------------------------------------------------------------------------------------------


def wave_key(carrier_code: str, cutoff: dt.datetime) -> str:
    """A stable, readable name of the wave: carrier and cut-off in UTC."""
    return f"{carrier_code}@{cutoff.astimezone(dt.UTC):%Y%m%dT%H%M}Z"


# ---------------------------------------------------------------------------------------------
# SLA clocks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None
    target: dt.timedelta

    def elapsed(self, now: dt.datetime) -> dt.timedelta | None:
        if self.started_at is None:
            return None
        end = self.stopped_at or now
        return max(end - self.started_at, dt.timedelta(0))

    def due_at(self) -> dt.datetime | None:
        return self.started_at + self.target if self.started_at else None

    def breached(self, now: dt.datetime) -> bool:
        elapsed = self.elapsed(now)
        return elapsed is not None and elapsed > self.target

    def met(self) -> bool | None:
        """True/False once stopped; None while running (or not started)."""
        if self.started_at is None or self.stopped_at is None:
            return None
        return self.stopped_at - self.started_at <= self.target


def handling_clock(cleared_at, handed_over_at) -> SlaClock:
    return SlaClock(cleared_at, handed_over_at, HANDLING_SLA)


def door_clock(ordered_at, delivered_at) -> SlaClock:
    return SlaClock(ordered_at, delivered_at, DOOR_SLA)


def on_time_rate(results: Iterable[bool]) -> float | None:
    """Share of clocks met (0..1), None with nothing measured."""
    values = list(results)
    return (sum(1 for v in values if v) / len(values)) if values else None


# ---------------------------------------------------------------------------------------------
# State machines
# ---------------------------------------------------------------------------------------------


class AsnStatus:
    EXPECTED = "expected"
    RECEIVING = "receiving"
    RECEIVED = "received"  # counting finished; put-away may still be going on
    CLOSED = "closed"  # everything put away
    CANCELLED = "cancelled"


ASN_NEXT = {
    AsnStatus.EXPECTED: frozenset({AsnStatus.RECEIVING, AsnStatus.CANCELLED}),
    AsnStatus.RECEIVING: frozenset({AsnStatus.RECEIVED}),
    AsnStatus.RECEIVED: frozenset({AsnStatus.CLOSED}),
    AsnStatus.CLOSED: frozenset(),
    AsnStatus.CANCELLED: frozenset(),
}


class ShipmentStatus:
    BOOKED = "booked"  # waybill booked, waiting for customs clearance
    RELEASED = "released"  # cleared: a pick task in a wave
    PICKED = "picked"
    PACKED = "packed"
    LABELLED = "labelled"
    MANIFESTED = "manifested"
    SHIPPED = "shipped"  # handed over to the carrier
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED = "returned"  # back at the hub, stock returned
    CANCELLED = "cancelled"


S = ShipmentStatus
SHIPMENT_NEXT = {
    S.BOOKED: frozenset({S.RELEASED, S.CANCELLED}),
    S.RELEASED: frozenset({S.PICKED, S.CANCELLED}),
    S.PICKED: frozenset({S.PACKED, S.CANCELLED}),
    S.PACKED: frozenset({S.LABELLED, S.CANCELLED}),
    S.LABELLED: frozenset({S.MANIFESTED, S.CANCELLED}),
    S.MANIFESTED: frozenset({S.SHIPPED, S.LABELLED, S.CANCELLED}),  # LABELLED: missing at handover
    S.SHIPPED: frozenset({S.DELIVERED, S.DELIVERY_FAILED, S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.DELIVERY_FAILED: frozenset({S.DELIVERED, S.RETURNED}),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Before handover the stock is still in the hub (and the reservation still held).
IN_HUB = frozenset({S.BOOKED, S.RELEASED, S.PICKED, S.PACKED, S.LABELLED, S.MANIFESTED})


def may_move(machine: dict[str, frozenset[str]], current: str, new: str) -> bool:
    return new in machine.get(current, frozenset())


# Carrier tracking codes (the carriers package's TRACKING_CODES) plus the hub's own
# "returned" (the parcel scanned back in at the hub).
TRACKING_CODES = frozenset(
    {
        "picked_up",
        "departed_KUL",
        "arrived",
        "import_cleared",
        "out_for_delivery",
        "delivered",
        "exception",
        "returned",
    }
)


def tracking_effect(code: str, final: bool = False) -> str | None:
    """What a tracking event does to the shipment (None: informational only).

    A final exception means the carrier gave up and sends the parcel back: delivery failed.
    """
    if code == "delivered":
        return S.DELIVERED
    if code == "exception" and final:
        return S.DELIVERY_FAILED
    if code == "returned":
        return S.RETURNED
    return None


# ---------------------------------------------------------------------------------------------
# Scans
# ---------------------------------------------------------------------------------------------


def normalize_scan(raw: str) -> str:
    """What a scanner typed, without the Enter, blanks or case differences."""
    if not isinstance(raw, str):
        raise ScanError("empty")
    value = raw.strip().replace("\r", "").replace("\n", "").upper()
    if not value:
        raise ScanError("empty")
    if len(value) > 64:
        raise ScanError("too_long")
    return value


def check_receipt(expected: int, counted: int, damaged: int, qty: int) -> None:
    """A scan of ``qty`` more units against a line: refuse over-receipt (nothing is guessed)."""
    if qty <= 0:
        raise ScanError("invalid_quantity")
    if counted + damaged + qty > expected:
        raise ScanError("over_receipt")


def check_pick(expected_codes: set[str], scanned: str, remaining: int) -> None:
    """A pick confirmation: the scanned code must be the task's SKU and something is left."""
    if scanned not in expected_codes:
        raise ScanError("wrong_item")
    if remaining <= 0:
        raise ScanError("already_picked")


@dataclass(frozen=True)
class Discrepancy:
    sku_code: str
    kind: str  # short | damaged
    qty: int


def discrepancies(lines: Iterable[tuple[str, int, int, int]]) -> list[Discrepancy]:
    """(sku_code, expected, counted good, damaged) → what to report back to the merchant."""
    found: list[Discrepancy] = []
    for code, expected, counted, damaged in lines:
        if damaged:
            found.append(Discrepancy(code, "damaged", damaged))
        short = expected - counted - damaged
        if short > 0:
            found.append(Discrepancy(code, "short", short))
    return found


# ---------------------------------------------------------------------------------------------
# Master air waybill numbers (IATA: 3-digit airline prefix, 7-digit serial + mod-7 check)
# ---------------------------------------------------------------------------------------------


def mawb_number(prefix: str, serial: int) -> str:
    """``232-12345675``: airline prefix, 7-digit serial and its check digit (serial mod 7)."""
    if not (len(prefix) == 3 and prefix.isdigit()):
        raise ValueError("airline prefix is three digits")
    if not 0 <= serial < 10_000_000:
        raise ValueError("serial has seven digits")
    return f"{prefix}-{serial:07d}{serial % 7}"


def is_valid_mawb(value: str) -> bool:
    prefix, _, rest = value.partition("-")
    if len(prefix) != 3 or not prefix.isdigit() or len(rest) != 8 or not rest.isdigit():
        return False
    return int(rest[:7]) % 7 == int(rest[7])
