"""CBEC retail-import tax and limits: which regime an order falls in and what it pays.

Pure: the caller passes the order lines with their tariff rates, freight, insurance, non-cash
discount, the buyer's quota already used or reserved this year, and the limits in force
(``limits.limits_on``). Rules (DOMAIN.md §2; MOF/GAC/SAT Caiguanshui [2016] No. 18 and
[2018] No. 49):

**Dutiable price.** The actual transaction price: goods + freight + insurance. A *non-cash*
discount (points, coupons) does not lower it: the order's goodsValue already includes what
such deductions paid for (CEB311 "goodsValue (incl. non-cash deductions)"), and customs taxes
the price of the goods, not how the buyer settled it. The discount only lowers what the buyer
pays. Freight and insurance are order-level; each line's share is in proportion to its goods
value (largest remainder, so shares sum to the whole to the fen; equal shares if every line is
free). Each line's dutiable price is its goods value plus its shares.

**Which value meets the limits.** The per-transaction limit compares the *dutiable price* of
the whole order (goods + freight + insurance), and that same amount counts toward the annual
total. Source: Caiguanshui [2018] No. 49, art. 2 ("完税价格超过5000元单次交易限值但低于26000元
年度交易限值，且订单下仅一件商品时…交易额计入年度交易总额") speaks of the dutiable price
(完税价格), and the 2016 notice defines the transaction value as goods + freight + insurance.
"Above" is strict: exactly CNY 5,000.00 is within the limit. The annual limit is reached, not
passed, when used + reserved + this order equals CNY 26,000.00.

**Regimes.**

* ``cbec`` — within both limits: duty 0; consumption tax = dutiable × CT/(1−CT) × 70 %;
  VAT = (dutiable + full CT) × VAT × 70 %, full CT being dutiable × CT/(1−CT).
* ``cbec_full`` — a *single item* (one line of quantity 1) whose dutiable price is above the
  per-transaction limit but fits in the remaining annual quota: general-trade duty, then
  CT = (dutiable + duty) × CT/(1−CT) and VAT = (dutiable + duty + CT) × VAT, all in full.
  It counts toward the annual total.
* ``refused`` — not on the positive list, past a line's quantity limit, more than one item
  above the per-transaction limit, or past the annual limit: not CBEC retail import at all
  (general trade instead), so checkout refuses it with a reason code and sentence. No tax is
  computed for a refused order (the amounts are zero; the dutiable breakdown is kept).

**Rounding.** Each tax is computed exactly (rational arithmetic) per line from the line's exact
dutiable price (goods + exact share of freight and insurance). The order's total of each tax is
the exact sum rounded half-up to the fen, and the lines are that total split by largest
remainder of their exact amounts: lines always sum to the total and each is within a fen of
its exact value. Rounding the exact sum once (not summing rounded lines) makes an order of
several lines at one rate pay exactly what the rule gives on the order's dutiable price, and
makes the tax grow monotonically with freight, insurance and prices.

The exact amounts are kept as integer numerators over integer denominators (fen), brought to
one common denominator per tax for the rounding and the split: the same rational numbers as
``fractions.Fraction`` would hold, without normalising after every operation (the clearance
batch computes the tax of every declaration). ``tests/customs/test_tax.py`` checks the result
against the ``Fraction`` formulation to the fen.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ehub.core.errors import FieldError, ValidationFailed
from ehub.core.formatting import format_money
from ehub.core.money import Money, Rounding
from ehub.customs.domain.limits import CbecLimits

CNY = "CNY"
_ZERO = Money(0, CNY)


class Regime(enum.StrEnum):
    CBEC = "cbec"
    CBEC_FULL = "cbec_full"
    REFUSED = "refused"


class RefusalCode(enum.StrEnum):
    EMPTY_ORDER = "empty_order"
    NOT_ON_POSITIVE_LIST = "not_on_positive_list"
    OVER_QUANTITY_LIMIT = "over_quantity_limit"
    OVER_TRANSACTION_LIMIT = "over_transaction_limit"
    OVER_ANNUAL_LIMIT = "over_annual_limit"
    NO_TARIFF_LINE = "no_tariff_line"


@dataclass(frozen=True, slots=True)
class Refusal:
    code: RefusalCode
    message: Any  # a translated (lazy) sentence
    gcode: str = ""

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True, slots=True)
class TaxRates:
    """The rates of one China tariff line (from ``catalog.TariffLine``)."""

    vat: Decimal
    consumption: Decimal = Decimal(0)
    duty: Decimal = Decimal(0)  # general-trade (MFN) duty, charged only in ``cbec_full``
    positive_list: bool = True
    qty_limit: Decimal | None = None  # per person per year, in ``qty_limit_unit``
    qty_limit_unit: str = ""


@dataclass(frozen=True, slots=True)
class OrderLine:
    gcode: str
    qty: Decimal | int
    unit_price: Money  # CNY
    rates: TaxRates
    # Quantity in the unit of the line's quantity limit (e.g. net kg of sugar); qty when None.
    limit_qty: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineTax:
    gcode: str
    qty: Decimal
    goods_value: Money
    freight: Money
    insurance: Money
    discount: Money
    dutiable: Money
    duty: Money
    consumption_tax: Money
    vat: Money

    @property
    def tax(self) -> Money:
        return self.duty + self.consumption_tax + self.vat


@dataclass(frozen=True, slots=True)
class TaxResult:
    regime: Regime
    lines: tuple[LineTax, ...]
    goods_value: Money
    freight: Money
    insurance: Money
    discount: Money
    dutiable: Money
    duty: Money
    consumption_tax: Money
    vat: Money
    quota_used_before: Money  # used + reserved before this order
    refusal: Refusal | None = None
    limits: CbecLimits | None = field(default=None, compare=False)

    @property
    def tax_total(self) -> Money:
        return self.duty + self.consumption_tax + self.vat

    @property
    def is_refused(self) -> bool:
        return self.regime is Regime.REFUSED

    @property
    def quota_amount(self) -> Money:
        """What this order counts toward the buyer's annual total (zero when refused)."""
        return _ZERO if self.is_refused else self.dutiable

    @property
    def payable(self) -> Money:
        """What the buyer pays: goods + freight + insurance + tax − non-cash discount."""
        return self.goods_value + self.freight + self.insurance + self.tax_total - self.discount


# -- exact arithmetic ------------------------------------------------------------------------


def _split_ratios(exact: Sequence[tuple[int, int]]) -> tuple[int, list[int]]:
    """The rounded total of the rationals ``numerator / denominator`` (denominators > 0) and
    per-line amounts summing to it (``_split`` over their common denominator)."""
    if not exact:
        return 0, []
    common = lcm(*(den for _num, den in exact))
    return _split([num * (common // den) for num, den in exact], common)


def _split(nums: list[int], common: int) -> tuple[int, list[int]]:
    """The sum of ``num / common`` rounded half up, and per-line amounts summing to it: each
    line gets its floor, and the fen left over go to the largest remainders (earlier lines
    first on ties). Over one denominator the floors, the remainders and their order are all
    integers."""
    whole = sum(nums)
    if whole < 0:
        raise ValueError("taxes are never negative")
    total = (2 * whole + common) // (2 * common)  # half up
    parts = [num // common for num in nums]  # floors (non-negative)
    leftover = total - sum(parts)
    if leftover > 0:
        order = sorted(range(len(nums)), key=lambda i: (-(nums[i] % common), i))
        for i in order[:leftover]:
            parts[i] += 1
    return total, parts


def _ratio(rate: Decimal, what: str) -> tuple[int, int]:
    if not isinstance(rate, Decimal | int) or isinstance(rate, bool):
        raise TypeError(f"{what} must be a Decimal, not {type(rate).__name__}")
    return rate.as_integer_ratio()


# -- validation -----------------------------------------------------------------------------


def _check(lines: Sequence[OrderLine], amounts: Mapping[str, Money]) -> None:
    errors: list[FieldError] = []
    for name, money in amounts.items():
        if not isinstance(money, Money) or money.currency != CNY:
            errors.append(FieldError(name, _("Must be an amount in CNY."), "currency"))
        elif money.is_negative:
            errors.append(FieldError(name, _("Must not be negative."), "negative"))
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not isinstance(line.unit_price, Money) or line.unit_price.currency != CNY:
            errors.append(FieldError(f"{where}.unit_price", _("Must be in CNY."), "currency"))
        elif line.unit_price.is_negative:
            errors.append(FieldError(f"{where}.unit_price", _("Must not be negative."), "negative"))
        if isinstance(line.qty, bool) or not isinstance(line.qty, Decimal | int) or line.qty <= 0:
            errors.append(FieldError(f"{where}.qty", _("Must be a positive quantity."), "qty"))
        for rate_name in ("vat", "consumption", "duty"):
            rate = getattr(line.rates, rate_name)
            if not isinstance(rate, Decimal | int) or not (0 <= rate < 1):
                errors.append(
                    FieldError(
                        f"{where}.rates.{rate_name}",
                        _("A rate must be at least 0 and below 1."),
                        "rate",
                    )
                )
    if errors:
        raise ValidationFailed(errors)


# -- the calculation ------------------------------------------------------------------------


def _shares(total: Money, weights: Sequence[int]) -> list[Money]:
    """``total.allocate(weights)`` (equal shares when every weight is 0) for a non-negative
    total and non-negative integer weights, in integers."""
    if total.is_zero:
        return [_ZERO] * len(weights)
    if not weights:
        raise ValueError("allocate needs at least one ratio")
    if not any(weights):
        weights = [1] * len(weights)
    amount, currency = total.amount, total.currency
    _amount, parts = _split([amount * w for w in weights], sum(weights))
    return [Money(part, currency) for part in parts]


def _fmt(money: Money) -> str:
    return format_money(money, get_language())


def _refuse(code: RefusalCode, message: Any, gcode: str = "") -> Refusal:
    return Refusal(code, message, gcode)


def _decide(
    lines: Sequence[OrderLine],
    dutiable: Money,
    quota_used: Money,
    limits: CbecLimits,
    used_qty: Mapping[str, Decimal],
) -> tuple[Regime, Refusal | None]:
    if not lines:
        return Regime.REFUSED, _refuse(RefusalCode.EMPTY_ORDER, _("The order has no goods."))
    for line in lines:
        if not line.rates.positive_list:
            return Regime.REFUSED, _refuse(
                RefusalCode.NOT_ON_POSITIVE_LIST,
                _(
                    "Goods under tariff line %(gcode)s are not on the cross-border e-commerce "
                    "positive list and cannot be imported as a cross-border retail order."
                )
                % {"gcode": line.gcode},
                line.gcode,
            )
    ordered: dict[str, Decimal] = {}
    for line in lines:
        if line.rates.qty_limit is not None:
            amount = line.limit_qty if line.limit_qty is not None else Decimal(line.qty)
            ordered[line.gcode] = ordered.get(line.gcode, Decimal(0)) + amount
    for line in lines:
        limit = line.rates.qty_limit
        if limit is None or line.gcode not in ordered:
            continue
        already = Decimal(used_qty.get(line.gcode, 0))
        if already + ordered[line.gcode] > limit:
            unit = line.rates.qty_limit_unit
            return Regime.REFUSED, _refuse(
                RefusalCode.OVER_QUANTITY_LIMIT,
                _(
                    "Tariff line %(gcode)s allows at most %(limit)s %(unit)s per person per "
                    "year; this order brings the buyer to %(total)s %(unit)s."
                )
                % {
                    "gcode": line.gcode,
                    "limit": limit.normalize(),
                    "unit": unit,
                    "total": (already + ordered[line.gcode]).normalize(),
                },
                line.gcode,
            )
    remaining = limits.annual - quota_used
    single_item = len(lines) == 1 and Decimal(lines[0].qty) == 1
    if dutiable > limits.per_transaction and not single_item:
        return Regime.REFUSED, _refuse(
            RefusalCode.OVER_TRANSACTION_LIMIT,
            _(
                "An order of more than one item may not exceed %(limit)s per transaction "
                "(this order: %(value)s); split it or import it as general trade."
            )
            % {"limit": _fmt(limits.per_transaction), "value": _fmt(dutiable)},
        )
    if dutiable > remaining:
        return Regime.REFUSED, _refuse(
            RefusalCode.OVER_ANNUAL_LIMIT,
            _(
                "This order (%(value)s) exceeds the buyer's remaining cross-border quota for "
                "the year (%(remaining)s of %(limit)s)."
            )
            % {
                "value": _fmt(dutiable),
                "remaining": _fmt(max(remaining, _ZERO)),
                "limit": _fmt(limits.annual),
            },
        )
    if dutiable > limits.per_transaction:
        return Regime.CBEC_FULL, None
    return Regime.CBEC, None


def compute_tax(
    lines: Sequence[OrderLine],
    *,
    limits: CbecLimits,
    quota_used: Money = _ZERO,
    freight: Money = _ZERO,
    insurance: Money = _ZERO,
    discount: Money = _ZERO,
    used_qty: Mapping[str, Decimal] | None = None,
) -> TaxResult:
    """The regime and taxes of a cross-border retail order (see the module docstring).

    ``quota_used`` is the buyer's used + reserved amount in the current quota year;
    ``used_qty`` the buyer's quantities this year per gcode, for lines with a quantity limit.
    Raises ``ValidationFailed`` for malformed input (non-CNY amounts, rates outside [0, 1)).
    """
    lines = list(lines)
    _check(
        lines,
        {
            "freight": freight,
            "insurance": insurance,
            "discount": discount,
            "quota_used": quota_used,
        },
    )
    goods = [line.unit_price.multiply(Decimal(line.qty), Rounding.HALF_UP) for line in lines]
    weights = [value.amount for value in goods]
    goods_total = Money.total(goods, CNY)
    freight_parts = _shares(freight, weights)
    insurance_parts = _shares(insurance, weights)
    discount_parts = _shares(discount, weights)
    dutiable_parts = [
        g + f + i for g, f, i in zip(goods, freight_parts, insurance_parts, strict=True)
    ]
    dutiable_total = goods_total + freight + insurance

    regime, refusal = _decide(lines, dutiable_total, quota_used, limits, used_qty or {})

    n = len(lines)
    # Exact amounts as (numerator, denominator) in fen: see the module docstring.
    duty_exact = [(0, 1)] * n
    ct_exact = [(0, 1)] * n
    vat_exact = [(0, 1)] * n
    if regime is not Regime.REFUSED:
        shares = weights if any(weights) else [1] * n
        whole = sum(shares)  # base of line i = (goods_i × whole + (F + I) × share_i) / whole
        extra = freight.amount + insurance.amount
        s_num, s_den = Fraction(limits.tax_share).as_integer_ratio()
        for i, line in enumerate(lines):
            base = goods[i].amount * whole + extra * shares[i]
            v_num, v_den = _ratio(line.rates.vat, "vat")
            c_num, c_den = _ratio(line.rates.consumption, "consumption")
            keep = c_den - c_num  # (1 − CT) × c_den, > 0 as CT < 1
            if regime is Regime.CBEC:
                # CT = base × CT/(1−CT) × share; VAT = (base + CT in full) × VAT × share
                #    = base × VAT × share / (1 − CT)
                ct_exact[i] = (base * c_num * s_num, whole * keep * s_den)
                vat_exact[i] = (base * c_den * v_num * s_num, whole * keep * v_den * s_den)
            else:
                d_num, d_den = _ratio(line.rates.duty, "duty")
                # duty = base × D; CT = base (1 + D) × CT/(1−CT);
                # VAT = (base + duty + CT) × VAT = base (1 + D) × VAT / (1 − CT)
                with_duty = base * (d_den + d_num)
                duty_exact[i] = (base * d_num, whole * d_den)
                ct_exact[i] = (with_duty * c_num, whole * d_den * keep)
                vat_exact[i] = (with_duty * c_den * v_num, whole * d_den * keep * v_den)

    duty_total, duty_parts = _split_ratios(duty_exact)
    ct_total, ct_parts = _split_ratios(ct_exact)
    vat_total, vat_parts = _split_ratios(vat_exact)

    line_taxes = tuple(
        LineTax(
            gcode=line.gcode,
            qty=Decimal(line.qty),
            goods_value=goods[i],
            freight=freight_parts[i],
            insurance=insurance_parts[i],
            discount=discount_parts[i],
            dutiable=dutiable_parts[i],
            duty=Money(duty_parts[i], CNY),
            consumption_tax=Money(ct_parts[i], CNY),
            vat=Money(vat_parts[i], CNY),
        )
        for i, line in enumerate(lines)
    )
    return TaxResult(
        regime=regime,
        lines=line_taxes,
        goods_value=goods_total,
        freight=freight,
        insurance=insurance,
        discount=discount,
        dutiable=dutiable_total,
        duty=Money(duty_total, CNY),
        consumption_tax=Money(ct_total, CNY),
        vat=Money(vat_total, CNY),
        quota_used_before=quota_used,
        refusal=refusal,
        limits=limits,
    )
