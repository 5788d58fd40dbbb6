"""Rate tables: weight bands × zones, volumetric weight, fuel surcharge.

A carrier charges the heavier of the actual weight and the volumetric weight (the space a
light, bulky parcel takes in the hold): L×W×H in cm / 5000 gives kg, which with millimetres and
grams is simply L×W×H mm³ / 5000 g (rounded up to the gram). The chargeable weight falls in the
first band whose upper bound it does not exceed; the band price for the destination zone plus
the fuel surcharge (a percentage of it, rounded half-up to the sen) is the freight.

Tables are data files under ``data/`` with a ``valid_from`` date, never literals in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from ehub.core.money import Money, Rounding
from ehub.fulfillment.carriers.base import Dims

DATA = Path(__file__).resolve().parent / "data"
VOLUMETRIC_DIVISOR = 5000


def volumetric_weight_g(dims_mm: Dims | None, divisor: int = VOLUMETRIC_DIVISOR) -> int:
    """L×W×H (mm) / divisor, in grams, rounded up; 0 when no dimensions were measured."""
    if not dims_mm:
        return 0
    length, width, height = dims_mm
    volume = length * width * height
    return -(-volume // divisor)


def chargeable_weight_g(
    weight_g: int, dims_mm: Dims | None, divisor: int = VOLUMETRIC_DIVISOR
) -> int:
    return max(weight_g, volumetric_weight_g(dims_mm, divisor))


@dataclass(frozen=True)
class Price:
    band_g: int
    base: Money
    fuel: Money

    @property
    def total(self) -> Money:
        return self.base + self.fuel


@dataclass(frozen=True)
class RateTable:
    carrier: str
    valid_from: str
    currency: str
    volumetric_divisor: int
    fuel_percent: Decimal
    max_weight_g: int
    transit_hours: tuple[int, ...]  # by zone 1..4
    bands: tuple[tuple[int, tuple[int, ...]], ...]  # (up_to_g, price per zone in minor units)

    def price(self, zone: int, chargeable_g: int) -> Price | None:
        """The price of a parcel of ``chargeable_g`` to ``zone``; None above the last band."""
        if not 1 <= zone <= len(self.transit_hours):
            return None
        for up_to, by_zone in self.bands:
            if chargeable_g <= up_to:
                base = Money(by_zone[zone - 1], self.currency)
                fuel = base.multiply(self.fuel_percent / 100, Rounding.HALF_UP)
                return Price(up_to, base, fuel)
        return None


@cache
def load_table(filename: str) -> RateTable:
    raw = json.loads((DATA / filename).read_text(encoding="utf-8"))
    bands = tuple((int(b["up_to_g"]), tuple(int(z) for z in b["zones"])) for b in raw["bands"])
    if [b[0] for b in bands] != sorted(b[0] for b in bands):
        raise ValueError(f"{filename}: weight bands must ascend")
    return RateTable(
        carrier=raw["carrier"],
        valid_from=raw["valid_from"],
        currency=raw["currency"],
        volumetric_divisor=int(raw["volumetric_divisor"]),
        fuel_percent=Decimal(raw["fuel_surcharge_percent"]),
        max_weight_g=int(raw["max_weight_g"]),
        transit_hours=tuple(int(h) for h in raw["transit_hours"]),
        bands=bands,
    )
