"""The tax computation as it was written first, with ``fractions.Fraction`` throughout: kept as
the oracle that ``customs.domain.tax.compute_tax`` (integer numerators and denominators) must
match to the fen (``test_tax.py``). Not used by the application.

It shares the module's types, input checks and regime decision, and re-states only the exact
arithmetic: shares of freight and insurance, the per-line taxes, the half-up total and the
largest-remainder split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from ehub.core.money import Money, Rounding
from ehub.customs.domain.limits import CbecLimits
from ehub.customs.domain.tax import (
    _ZERO,
    CNY,
    LineTax,
    OrderLine,
    Regime,
    TaxResult,
    _check,
    _decide,
)


def _round_half_up(value: Fraction) -> int:
    if value < 0:
        raise ValueError("taxes are never negative")
    return int(value + Fraction(1, 2))


def _split_exact(exact: Sequence[Fraction]) -> tuple[int, list[int]]:
    total = _round_half_up(sum(exact, Fraction(0)))
    parts = [int(value) for value in exact]
    leftover = total - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return total, parts


def _shares(total: Money, weights: Sequence[int]) -> list[Money]:
    if total.is_zero:
        return [_ZERO] * len(weights)
    return total.allocate(weights if any(weights) else [1] * len(weights))


def _exact_shares(total: Money, weights: Sequence[int]) -> list[Fraction]:
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    return [Fraction(total.amount * w, whole) for w in weights]


def compute_tax_reference(
    lines: Sequence[OrderLine],
    *,
    limits: CbecLimits,
    quota_used: Money = _ZERO,
    freight: Money = _ZERO,
    insurance: Money = _ZERO,
    discount: Money = _ZERO,
    used_qty: Mapping[str, Decimal] | None = None,
) -> TaxResult:
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
    duty_exact = [Fraction(0)] * n
    ct_exact = [Fraction(0)] * n
    vat_exact = [Fraction(0)] * n
    if regime is not Regime.REFUSED:
        freight_exact = _exact_shares(freight, weights)
        insurance_exact = _exact_shares(insurance, weights)
        share = Fraction(limits.tax_share)
        for i, line in enumerate(lines):
            base = goods[i].amount + freight_exact[i] + insurance_exact[i]
            vat = Fraction(line.rates.vat)
            ct = Fraction(line.rates.consumption)
            if regime is Regime.CBEC:
                ct_full = base * ct / (1 - ct)
                ct_exact[i] = ct_full * share
                vat_exact[i] = (base + ct_full) * vat * share
            else:
                duty = base * Fraction(line.rates.duty)
                duty_exact[i] = duty
                ct_exact[i] = (base + duty) * ct / (1 - ct)
                vat_exact[i] = (base + duty + ct_exact[i]) * vat
    duty_total, duty_parts = _split_exact(duty_exact)
    ct_total, ct_parts = _split_exact(ct_exact)
    vat_total, vat_parts = _split_exact(vat_exact)
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
