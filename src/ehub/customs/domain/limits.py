"""The CBEC retail-import limits in force on a date, read from ``customs/data/cbec_limits.csv``.

Limits change by decree (CNY 2,000/20,000 from April 2016, CNY 5,000/26,000 from 2019), so they
are dated rows of a data file and never literals in the tax code. ``parse_limits`` is pure;
``limits_on`` reads the file shipped inside the package once and caches it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from ehub.core.money import Money

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class CbecLimits:
    valid_from: date
    per_transaction: Money  # CNY
    annual: Money  # CNY, per person per calendar year (Beijing time)
    tax_share: Decimal  # share of the statutory VAT and CT charged within the limits (0.7)
    return_days: int  # days after release within which a return restores tax and quota
    source: str

    def return_deadline(self, released_at: datetime) -> datetime:
        return released_at + timedelta(days=self.return_days)


def quota_year(moment: datetime) -> int:
    """The calendar year of ``moment`` in Beijing time, which the annual limit counts in."""
    return moment.astimezone(BEIJING).year


def parse_limits(text: str) -> tuple[CbecLimits, ...]:
    """Rows of the limits file, oldest first. Raises ValueError naming the bad row."""
    rows = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            rows.append(
                CbecLimits(
                    valid_from=date.fromisoformat(row["valid_from"]),
                    per_transaction=Money.parse(row["per_transaction_cny"], "CNY"),
                    annual=Money.parse(row["annual_cny"], "CNY"),
                    tax_share=Decimal(row["tax_share"]),
                    return_days=int(row["return_days"]),
                    source=row["source"],
                )
            )
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"cbec_limits row {number}: {exc}") from exc
    rows.sort(key=lambda limits: limits.valid_from)
    return tuple(rows)


@cache
def _shipped() -> tuple[CbecLimits, ...]:
    text = resources.files("ehub.customs").joinpath("data/cbec_limits.csv").read_text("utf-8")
    return parse_limits(text)


def limits_on(day: date, table: tuple[CbecLimits, ...] | None = None) -> CbecLimits:
    """The limits in force on ``day`` (the row with the latest ``valid_from`` on or before it)."""
    chosen = None
    for limits in table if table is not None else _shipped():
        if limits.valid_from <= day:
            chosen = limits
        else:
            break
    if chosen is None:
        raise LookupError(f"no CBEC limits in force on {day.isoformat()}")
    return chosen
