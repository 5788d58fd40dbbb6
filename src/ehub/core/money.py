"""Money: an integer amount of minor units in an ISO 4217 currency.

Pure value object used by every context (prices, taxes, ledger amounts, payouts). Rules:

* amounts are ``int`` minor units (sen, fen, cents); floats are refused everywhere, because
  binary fractions cannot represent 0.10 and errors compound across a ledger;
* mixing currencies raises :class:`CurrencyMismatch`: conversion goes through ``core.fx``
  so that the rate used is always recorded;
* rounding happens only where a caller names a :class:`Rounding` mode (tax: HALF_UP to the
  fen; FX: HALF_UP by default, stated at the call) - there is no implicit default;
* splitting an amount (``allocate``) never loses or creates a minor unit.

The exponents come from an explicit ISO 4217 table, not from CLDR: CLDR's "digits" are
display conventions (it says IDR has 0), while payment and customs messages use ISO's.
"""

from __future__ import annotations

import decimal
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.core.errors import DomainError


@dataclass(frozen=True)
class Currency:
    code: str
    numeric: str
    exponent: int


def _table(*rows: tuple[str, str, int]) -> dict[str, Currency]:
    return {code: Currency(code, numeric, exponent) for code, numeric, exponent in rows}


# ISO 4217 (list one, amendment 176+). Covers eHub's markets and every currency in the ECB
# reference-rate history, so the FX seed can store whatever the bundled file holds.
CURRENCIES: dict[str, Currency] = _table(
    ("AED", "784", 2),
    ("AUD", "036", 2),
    ("BDT", "050", 2),
    ("BGN", "975", 2),
    ("BHD", "048", 3),
    ("BND", "096", 2),
    ("BRL", "986", 2),
    ("CAD", "124", 2),
    ("CHF", "756", 2),
    ("CNY", "156", 2),
    ("CZK", "203", 2),
    ("DKK", "208", 2),
    ("EUR", "978", 2),
    ("GBP", "826", 2),
    ("HKD", "344", 2),
    ("HUF", "348", 2),
    ("IDR", "360", 2),
    ("ILS", "376", 2),
    ("INR", "356", 2),
    ("ISK", "352", 0),
    ("JOD", "400", 3),
    ("JPY", "392", 0),
    ("KHR", "116", 2),
    ("KRW", "410", 0),
    ("KWD", "414", 3),
    ("LAK", "418", 2),
    ("LKR", "144", 2),
    ("MMK", "104", 2),
    ("MXN", "484", 2),
    ("MYR", "458", 2),
    ("NOK", "578", 2),
    ("NZD", "554", 2),
    ("OMR", "512", 3),
    ("PHP", "608", 2),
    ("PKR", "586", 2),
    ("PLN", "985", 2),
    ("RON", "946", 2),
    ("RUB", "643", 2),
    ("SAR", "682", 2),
    ("SEK", "752", 2),
    ("SGD", "702", 2),
    ("THB", "764", 2),
    ("TND", "788", 3),
    ("TRY", "949", 2),
    ("TWD", "901", 2),
    ("USD", "840", 2),
    ("VND", "704", 0),
    ("ZAR", "710", 2),
)


class MoneyError(DomainError, ValueError):
    """Base of money errors; also a ValueError so plain Python callers can catch it."""

    code = "invalid_money"
    title = _("Invalid amount of money.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class UnknownCurrency(MoneyError):
    """The currency code is not an ISO 4217 code eHub supports."""

    code = "unknown_currency"
    title = _("Unknown currency.")


class CurrencyMismatch(MoneyError):
    """Two amounts in different currencies were combined; convert one first (core.fx)."""

    code = "currency_mismatch"
    title = _("Amounts are in different currencies.")


class InvalidAmount(MoneyError):
    """The amount is not a number, or has more decimals than the currency allows."""

    code = "invalid_amount"
    title = _("Invalid amount.")


class Rounding(enum.StrEnum):
    """Named rounding modes; each value is the matching ``decimal`` constant."""

    HALF_UP = decimal.ROUND_HALF_UP  # ties away from zero: 0.125 -> 0.13 (tax rule)
    HALF_EVEN = decimal.ROUND_HALF_EVEN  # ties to even: 0.125 -> 0.12 (banker's)
    DOWN = decimal.ROUND_DOWN  # toward zero
    UP = decimal.ROUND_UP  # away from zero
    FLOOR = decimal.ROUND_FLOOR  # toward -infinity
    CEILING = decimal.ROUND_CEILING  # toward +infinity


def currency(code: str) -> Currency:
    """The ISO 4217 entry for ``code`` (upper-case three letters); UnknownCurrency otherwise."""
    if not isinstance(code, str):
        raise TypeError(f"currency code must be a str, not {type(code).__name__}")
    try:
        return CURRENCIES[code]
    except KeyError:
        raise UnknownCurrency(
            _("Unknown currency code %(code)s (expected an ISO 4217 code eHub supports).")
            % {"code": code},
            field="currency",
        ) from None


def exponent(code: str) -> int:
    """Number of minor-unit digits of the currency (MYR 2, JPY 0, KWD 3)."""
    return currency(code).exponent


def _require_rounding(rounding: Any) -> Rounding:
    if rounding is None:
        raise TypeError("a rounding mode must be named (core.money.Rounding)")
    if isinstance(rounding, Rounding):
        return rounding
    try:
        return Rounding(rounding)
    except ValueError:
        raise TypeError(f"unknown rounding mode {rounding!r}; use core.money.Rounding") from None


def _require_decimal(value: Any, what: str) -> Decimal:
    # bool is an int subclass but True as an amount is always a bug.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal or int, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise InvalidAmount(_("The amount must be a finite number."))
    return value


def _round_to_int(value: Decimal, rounding: Rounding) -> int:
    return int(value.to_integral_value(rounding=rounding.value))


def _exact() -> decimal.Context:
    # Enough precision for any product of an amount and a 24-digit rate; Inexact is trapped
    # so that a silent precision loss becomes an error instead of a wrong amount.
    return decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


_PARSE_RE = re.compile(r"^(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?$")


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(
                f"Money amount must be an int of minor units, not {type(self.amount).__name__}"
            )
        currency(self.currency)  # validates the code

    # -- construction -------------------------------------------------------------------

    @classmethod
    def zero(cls, currency_code: str) -> Money:
        return cls(0, currency_code)

    @classmethod
    def from_decimal(cls, value: Decimal | int, currency_code: str, rounding: Rounding) -> Money:
        """Major units (``Decimal("12.345")``) to Money, rounding to the minor unit as named."""
        value = _require_decimal(value, "value")
        mode = _require_rounding(rounding)
        exp = exponent(currency_code)
        with decimal.localcontext(_exact()):
            minor = value.scaleb(exp)
        return cls(_round_to_int(minor, mode), currency_code)

    @classmethod
    def parse(cls, text: str, currency_code: str, *, field: str | None = None) -> Money:
        """Parse ``"12.34"`` (optional sign, dot decimal, no grouping) exactly.

        More decimals than the currency has are refused rather than rounded: the caller
        typed an amount that cannot be paid.
        """
        if not isinstance(text, str):
            raise TypeError(f"Money.parse takes a str, not {type(text).__name__}")
        exp = exponent(currency_code)
        match = _PARSE_RE.match(text.strip())
        if not match:
            raise InvalidAmount(
                _("%(text)s is not an amount (expected digits with an optional decimal point).")
                % {"text": text},
                field=field,
            )
        frac = match["frac"] or ""
        if len(frac) > exp:
            raise InvalidAmount(
                _("%(currency)s amounts have at most %(places)d decimal places.")
                % {"currency": currency_code, "places": exp},
                field=field,
            )
        minor = int(match["int"] + frac.ljust(exp, "0"))
        return cls(-minor if match["sign"] == "-" else minor, currency_code)

    @classmethod
    def total(cls, items: Iterable[Money], currency_code: str) -> Money:
        """Sum of ``items`` (zero when empty); every item must be in ``currency_code``."""
        result = cls.zero(currency_code)
        for item in items:
            result = result + item
        return result

    # -- conversion -----------------------------------------------------------------------

    @property
    def exponent(self) -> int:
        return exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """Major units, exact, with exactly ``exponent`` decimal places."""
        sign, digits, _exp = Decimal(self.amount).as_tuple()
        return Decimal((sign, digits, -self.exponent))

    def multiply(self, factor: Decimal | int, rounding: Rounding) -> Money:
        """``self × factor`` rounded to the minor unit as named (rates, percentages)."""
        factor = _require_decimal(factor, "factor")
        mode = _require_rounding(rounding)
        with decimal.localcontext(_exact()):
            product = Decimal(self.amount) * factor
        return Money(_round_to_int(product, mode), self.currency)

    def allocate(self, ratios: Sequence[int | Decimal]) -> list[Money]:
        """Split by ``ratios`` so the parts sum to the whole (largest remainder method).

        Each part is within one minor unit of its exact share; leftover units go to the
        parts with the largest fractional remainders (earlier parts win ties), so the result
        is deterministic.
        """
        if not ratios:
            raise ValueError("allocate needs at least one ratio")
        weights = [Fraction(_require_decimal(r, "ratio")) for r in ratios]
        if any(w < 0 for w in weights):
            raise ValueError("ratios must not be negative")
        total = sum(weights)
        if total == 0:
            raise ValueError("ratios must not all be zero")
        magnitude = abs(self.amount)
        exact = [magnitude * w / total for w in weights]
        parts = [int(share) for share in exact]  # floor: shares are non-negative
        leftover = magnitude - sum(parts)
        by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
        sign = -1 if self.amount < 0 else 1
        return [Money(sign * part, self.currency) for part in parts]

    # -- arithmetic -----------------------------------------------------------------------

    def _same(self, other: Any) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                _("Cannot combine %(a)s with %(b)s.") % {"a": self.currency, "b": other.currency}
            )
        return other

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, other: int) -> Money:
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(
                "Money can only be multiplied by an int; "
                "use money.multiply(Decimal factor, rounding) for fractions"
            )
        return Money(self.amount * other, self.currency)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self.amount != 0

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    # Equality stays the dataclass's: Money(1, "MYR") != Money(1, "CNY") (not an error), so
    # Money can be a dict key or compared in tests without try/except.

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    # -- representation -------------------------------------------------------------------

    def __str__(self) -> str:
        """Machine-style ``"MYR 12.34"``; for people use ``core.formatting.format_money``."""
        return f"{self.currency} {self.to_decimal()}"

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"

    def as_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Money:
        return cls(data["amount"], data["currency"])
