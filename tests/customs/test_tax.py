"""CBEC tax and limits (customs.domain.tax): hand-computed cases and properties.

Every expected figure below was worked out by hand from DOMAIN.md §2 (the working is in the
comment of each case): within the limits CT = D·c/(1−c)·70 % and VAT = D/(1−c)·v·70 %
(D + full CT = D/(1−c)); in full (single item above CNY 5,000) duty = D·d,
CT = (D + duty)·c/(1−c), VAT = (D + duty + CT)·v. Half-up to the fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ehub.core.errors import ValidationFailed
from ehub.core.money import Money
from ehub.customs.domain.limits import limits_on, parse_limits
from ehub.customs.domain.tax import OrderLine, RefusalCode, Regime, TaxRates, compute_tax

LIMITS = limits_on(date(2025, 6, 1))
LIMITS_2018 = limits_on(date(2018, 6, 1))


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


# Rates of the tariff lines the cases use.
SKIN_HIGH = TaxRates(vat=D("0.13"), consumption=D("0.15"), duty=D("0.01"))
CHOCOLATE = TaxRates(vat=D("0.13"), duty=D("0.08"))
DURIAN = TaxRates(vat=D("0.09"), duty=D("0.20"))
GENERIC13 = TaxRates(vat=D("0.13"))
SUGAR = TaxRates(vat=D("0.13"), duty=D("0.50"), qty_limit=D("2"), qty_limit_unit="kg")
CRUDE_PALM = TaxRates(vat=D("0.09"), duty=D("0.09"), positive_list=False)


def line(rates, price, qty=1, gcode="0000000000", limit_qty=None):
    return OrderLine(gcode, qty, cny(price), rates, None if limit_qty is None else D(limit_qty))


# (id, lines, options, regime, duty, consumption tax, VAT, refusal code)
CASES = [
    # DOMAIN.md worked example: 3000 × 13 % × 70 % = 273.
    ("worked-example", [line(GENERIC13, "3000.00")], {}, "cbec", "0", "0", "273.00", None),
    # Fresh durian at 9 %: 100 × 0.063 = 6.30.
    ("durian-9pct", [line(DURIAN, "100.00")], {}, "cbec", "0", "0", "6.30", None),
    # Exactly CNY 5,000 is within the limit: 5000 × 0.091 = 455.
    ("exactly-5000", [line(GENERIC13, "5000.00")], {}, "cbec", "0", "0", "455.00", None),
    # CNY 5,000 as two items is still within: 455.
    (
        "exactly-5000-two-items",
        [line(GENERIC13, "2500.00", qty=2)],
        {},
        "cbec",
        "0",
        "0",
        "455.00",
        None,
    ),
    # One chocolate at 5000.01, in full: duty 400.0008 → 400.00;
    # VAT (5000.01 + 400.0008) × 13 % = 702.001404 → 702.00.
    (
        "5000.01-one-item",
        [line(CHOCOLATE, "5000.01")],
        {},
        "cbec_full",
        "400.00",
        "0",
        "702.00",
        None,
    ),
    # 5000.01 in two items (two lines): refused.
    (
        "5000.01-two-lines",
        [line(GENERIC13, "2500.00"), line(GENERIC13, "2500.01", gcode="1111111111")],
        {},
        "refused",
        "0",
        "0",
        "0",
        "over_transaction_limit",
    ),
    # One line of two pieces above the limit: two items, refused.
    (
        "two-pieces-one-line",
        [line(GENERIC13, "2600.00", qty=2)],
        {},
        "refused",
        "0",
        "0",
        "0",
        "over_transaction_limit",
    ),
    # High-end skin care 1000: CT 1000·0.15/0.85·0.7 = 123.5294 → 123.53;
    # VAT 1000/0.85·0.091 = 107.0588 → 107.06.
    ("cosmetics-1000", [line(SKIN_HIGH, "1000.00")], {}, "cbec", "0", "123.53", "107.06", None),
    # 200: CT 24.70588 → 24.71; VAT 200/0.85·0.091 = 21.41176 → 21.41.
    ("cosmetics-200", [line(SKIN_HIGH, "200.00")], {}, "cbec", "0", "24.71", "21.41", None),
    # Single high-end item 6000 in full: duty 60; CT 6060·0.15/0.85 = 1069.41176 → 1069.41;
    # VAT (6060 + 1069.41176)·0.13 = 926.82353 → 926.82.
    (
        "cosmetics-6000-full",
        [line(SKIN_HIGH, "6000.00")],
        {},
        "cbec_full",
        "60.00",
        "1069.41",
        "926.82",
        None,
    ),
    # Freight is dutiable: (1000 + 50) × 0.091 = 95.55.
    (
        "freight",
        [line(GENERIC13, "1000.00")],
        {"freight": "50.00"},
        "cbec",
        "0",
        "0",
        "95.55",
        None,
    ),
    # Freight and insurance: 1035.50 × 0.091 = 94.2305 → 94.23.
    (
        "freight-insurance",
        [line(GENERIC13, "1000.00")],
        {"freight": "30.00", "insurance": "5.50"},
        "cbec",
        "0",
        "0",
        "94.23",
        None,
    ),
    # A non-cash discount does not lower the dutiable price: 1020 × 0.091 = 92.82.
    (
        "discount",
        [line(GENERIC13, "1000.00")],
        {"freight": "20.00", "discount": "100.00"},
        "cbec",
        "0",
        "0",
        "92.82",
        None,
    ),
    # Goods 4990 in two items + freight 20 = 5010 dutiable: over the limit, refused.
    (
        "freight-pushes-over",
        [line(GENERIC13, "2495.00", qty=2)],
        {"freight": "20.00"},
        "refused",
        "0",
        "0",
        "0",
        "over_transaction_limit",
    ),
    # One durian box 4990 + freight 10.01 = 5000.01 in full: duty 1000.002 → 1000.00;
    # VAT 6000.012 × 0.09 = 540.00108 → 540.00.
    (
        "freight-one-item-full",
        [line(DURIAN, "4990.00")],
        {"freight": "10.01"},
        "cbec_full",
        "1000.00",
        "0",
        "540.00",
        None,
    ),
    # Same with freight 10.00 = 5000.00: within, 5000 × 0.063 = 315.
    (
        "freight-one-item-within",
        [line(DURIAN, "4990.00")],
        {"freight": "10.00"},
        "cbec",
        "0",
        "0",
        "315.00",
        None,
    ),
    # Quota nearly used: 25,000 used + 1,000 fits exactly: 91.00.
    (
        "quota-fits-exactly",
        [line(GENERIC13, "1000.00")],
        {"quota_used": "25000.00"},
        "cbec",
        "0",
        "0",
        "91.00",
        None,
    ),
    # One fen more does not.
    (
        "quota-one-fen-over",
        [line(GENERIC13, "1000.01")],
        {"quota_used": "25000.00"},
        "refused",
        "0",
        "0",
        "0",
        "over_annual_limit",
    ),
    (
        "quota-used-up",
        [line(GENERIC13, "0.01")],
        {"quota_used": "26000.00"},
        "refused",
        "0",
        "0",
        "0",
        "over_annual_limit",
    ),
    # A single item above 5,000 counts toward the year: 20,000 + 6,000 = 26,000 fits.
    # Chocolate in full: duty 480; VAT 6480 × 0.13 = 842.40.
    (
        "full-item-fits-quota",
        [line(CHOCOLATE, "6000.00")],
        {"quota_used": "20000.00"},
        "cbec_full",
        "480.00",
        "0",
        "842.40",
        None,
    ),
    (
        "full-item-past-quota",
        [line(CHOCOLATE, "6000.00")],
        {"quota_used": "20000.01"},
        "refused",
        "0",
        "0",
        "0",
        "over_annual_limit",
    ),
    # Sugar: four 0.5 kg bags = 2 kg, within the 2 kg limit. 80 × 0.091 = 7.28.
    (
        "sugar-at-limit",
        [line(SUGAR, "20.00", qty=4, gcode="1701991000", limit_qty="2.0")],
        {},
        "cbec",
        "0",
        "0",
        "7.28",
        None,
    ),
    # 1.5 kg bought earlier this year + 1 kg now > 2 kg.
    (
        "sugar-over-with-history",
        [line(SUGAR, "20.00", qty=2, gcode="1701991000", limit_qty="1.0")],
        {"used_qty": {"1701991000": D("1.5")}},
        "refused",
        "0",
        "0",
        "0",
        "over_quantity_limit",
    ),
    # Two lines of the same sugar line add up: 1.5 + 1.0 kg > 2 kg.
    (
        "sugar-two-lines",
        [
            line(SUGAR, "20.00", qty=3, gcode="1701991000", limit_qty="1.5"),
            line(SUGAR, "25.00", qty=1, gcode="1701991000", limit_qty="1.0"),
        ],
        {},
        "refused",
        "0",
        "0",
        "0",
        "over_quantity_limit",
    ),
    # Crude palm oil is not on the positive list.
    (
        "not-positive-list",
        [line(GENERIC13, "10.00"), line(CRUDE_PALM, "100.00", gcode="1511100000")],
        {},
        "refused",
        "0",
        "0",
        "0",
        "not_on_positive_list",
    ),
    # Mixed: skin care 300 + chocolate 200, freight 25 shared 15/10. D 315 and 210.
    # CT 315·0.15/0.85·0.7 = 38.91176 → 38.91. VAT 315/0.85·0.091 = 33.72353 and
    # 210 × 0.091 = 19.11; exact sum 52.83353 → 52.83.
    (
        "mixed-lines-freight",
        [line(SKIN_HIGH, "300.00"), line(CHOCOLATE, "200.00", gcode="1806320000")],
        {"freight": "25.00"},
        "cbec",
        "0",
        "38.91",
        "52.83",
        None,
    ),
    # Half-up, not half-even: 15 × 0.063 = 0.945 → 0.95 (banker's would give 0.94).
    ("tie-9pct", [line(DURIAN, "15.00")], {}, "cbec", "0", "0", "0.95", None),
    # 15 × 0.091 = 1.365 → 1.37 (banker's 1.36).
    ("tie-13pct", [line(GENERIC13, "15.00")], {}, "cbec", "0", "0", "1.37", None),
    # Three lines of 10 + freight 10 at 13 %: 40 × 0.091 = 3.64.
    (
        "three-lines-freight",
        [line(GENERIC13, "10.00", gcode=f"000000000{i}") for i in range(3)],
        {"freight": "10.00"},
        "cbec",
        "0",
        "0",
        "3.64",
        None,
    ),
    # Under the 2016 limits (CNY 2,000) two items of 1,250 are over the limit.
    (
        "limits-of-2018",
        [line(GENERIC13, "1250.00", qty=2)],
        {"limits": LIMITS_2018},
        "refused",
        "0",
        "0",
        "0",
        "over_transaction_limit",
    ),
    ("empty", [], {}, "refused", "0", "0", "0", "empty_order"),
    # Quantities by weight: 1.5 kg of durian pulp at 80.00/kg = 120.00; 120 × 0.063 = 7.56.
    ("fractional-qty", [line(DURIAN, "80.00", qty=D("1.5"))], {}, "cbec", "0", "0", "7.56", None),
]


def _kwargs(options):
    kwargs = {"limits": options.get("limits", LIMITS)}
    for name in ("freight", "insurance", "discount", "quota_used"):
        if name in options:
            kwargs[name] = cny(options[name])
    if "used_qty" in options:
        kwargs["used_qty"] = options["used_qty"]
    return kwargs


def _run(lines, options):
    return compute_tax(lines, **_kwargs(options))


@pytest.mark.parametrize(
    ("lines", "options", "regime", "duty", "ct", "vat", "refusal"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hand_computed_cases(lines, options, regime, duty, ct, vat, refusal):
    result = _run(lines, options)
    assert result.regime == Regime(regime)
    assert result.duty == cny(duty)
    assert result.consumption_tax == cny(ct)
    assert result.vat == cny(vat)
    assert result.tax_total == cny(duty) + cny(ct) + cny(vat)
    if refusal:
        assert result.refusal.code == RefusalCode(refusal)
        assert str(result.refusal)  # a sentence for the buyer
    else:
        assert result.refusal is None


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


def test_discount_lowers_what_the_buyer_pays_not_the_tax():
    result = _run([line(GENERIC13, "1000.00")], {"freight": "20.00", "discount": "100.00"})
    assert result.dutiable == cny("1020.00")
    assert result.payable == cny("1012.82")  # 1000 + 20 + 92.82 − 100


def test_mixed_lines_breakdown_per_line():
    result = _run(
        [line(SKIN_HIGH, "300.00"), line(CHOCOLATE, "200.00", gcode="1806320000")],
        {"freight": "25.00"},
    )
    first, second = result.lines
    assert (first.freight, second.freight) == (cny("15.00"), cny("10.00"))
    assert (first.dutiable, second.dutiable) == (cny("315.00"), cny("210.00"))
    assert (first.consumption_tax, second.consumption_tax) == (cny("38.91"), cny("0"))
    assert (first.vat, second.vat) == (cny("33.72"), cny("19.11"))


def test_freight_split_by_largest_remainder():
    result = _run(
        [line(GENERIC13, "10.00", gcode=f"000000000{i}") for i in range(3)], {"freight": "10.00"}
    )
    assert [part.freight for part in result.lines] == [cny("3.34"), cny("3.33"), cny("3.33")]
    assert [part.vat for part in result.lines] == [cny("1.22"), cny("1.21"), cny("1.21")]


def test_free_lines_share_freight_equally():
    result = _run([line(GENERIC13, "0.00"), line(GENERIC13, "0.00")], {"freight": "1.01"})
    assert [part.freight for part in result.lines] == [cny("0.51"), cny("0.50")]


def test_refused_order_counts_nothing_toward_quota():
    result = _run([line(GENERIC13, "2600.00", qty=2)], {})
    assert result.quota_amount == cny("0")
    accepted = _run([line(GENERIC13, "100.00")], {"freight": "5.00"})
    assert accepted.quota_amount == cny("105.00")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("freight", {"freight": Money(100, "MYR")}),
        ("discount", {"discount": cny("-1.00")}),
        ("lines[0].qty", {"lines": [line(GENERIC13, "1.00", qty=0)]}),
        ("lines[0].rates.vat", {"lines": [line(TaxRates(vat=D("1.2")), "1.00")]}),
        ("lines[0].unit_price", {"lines": [OrderLine("x", 1, Money(1, "MYR"), GENERIC13)]}),
    ],
)
def test_bad_input_names_the_field(field, kwargs):
    lines = kwargs.pop("lines", [line(GENERIC13, "1.00")])
    with pytest.raises(ValidationFailed) as caught:
        compute_tax(lines, limits=LIMITS, **kwargs)
    assert [error.field for error in caught.value.errors] == [field]


def test_limits_file_rows_and_dates():
    assert LIMITS.per_transaction == cny("5000.00")
    assert LIMITS.annual == cny("26000.00")
    assert LIMITS.tax_share == D("0.7")
    assert LIMITS_2018.per_transaction == cny("2000.00")
    with pytest.raises(LookupError):
        limits_on(date(2015, 1, 1))
    with pytest.raises(ValueError, match="row 2"):
        parse_limits("valid_from,per_transaction_cny\n2019-01-01,abc\n")


# -- properties ------------------------------------------------------------------------------

rates_st = st.builds(
    TaxRates,
    vat=st.sampled_from([D("0.09"), D("0.13"), D("0")]),
    consumption=st.sampled_from([D("0"), D("0.15"), D("0.3")]),
    duty=st.sampled_from([D("0"), D("0.01"), D("0.08"), D("0.2"), D("0.5")]),
)
line_st = st.builds(
    OrderLine,
    gcode=st.sampled_from(["3304990010", "1806320000", "0810600000"]),
    qty=st.integers(1, 5),
    unit_price=st.integers(0, 300_000).map(lambda fen: Money(fen, "CNY")),
    rates=rates_st,
)
money_st = st.integers(0, 50_000).map(lambda fen: Money(fen, "CNY"))
quota_st = st.integers(0, 2_600_000).map(lambda fen: Money(fen, "CNY"))


@settings(max_examples=300, deadline=None)
@given(st.lists(line_st, min_size=1, max_size=6), money_st, money_st, money_st, quota_st)
def test_lines_sum_to_totals(lines, freight, insurance, discount, quota):
    result = compute_tax(
        lines,
        limits=LIMITS,
        freight=freight,
        insurance=insurance,
        discount=discount,
        quota_used=quota,
    )
    for name in (
        "goods_value",
        "freight",
        "insurance",
        "discount",
        "dutiable",
        "duty",
        "consumption_tax",
        "vat",
    ):
        assert Money.total((getattr(part, name) for part in result.lines), "CNY") == getattr(
            result, name
        ), name
    assert result.dutiable == result.goods_value + freight + insurance
    if result.regime is Regime.CBEC:
        assert result.duty.is_zero


@settings(max_examples=300, deadline=None)
@given(st.lists(line_st, min_size=1, max_size=4), money_st, money_st, st.integers(1, 50_000))
def test_more_freight_never_lowers_tax(lines, freight, insurance, extra):
    low = compute_tax(lines, limits=LIMITS, freight=freight, insurance=insurance)
    high = compute_tax(
        lines, limits=LIMITS, freight=freight + Money(extra, "CNY"), insurance=insurance
    )
    assume(not low.is_refused and not high.is_refused)
    assert high.tax_total >= low.tax_total


@settings(max_examples=300, deadline=None)
@given(st.lists(line_st, min_size=1, max_size=4), money_st, st.integers(2, 5))
def test_higher_prices_never_lower_tax(lines, freight, factor):
    scaled = [
        OrderLine(item.gcode, item.qty, item.unit_price * factor, item.rates) for item in lines
    ]
    low = compute_tax(lines, limits=LIMITS, freight=freight)
    high = compute_tax(scaled, limits=LIMITS, freight=freight)
    assume(not low.is_refused and not high.is_refused)
    assert high.tax_total >= low.tax_total


@settings(max_examples=300, deadline=None)
@given(rates_st, st.integers(0, 2_600_000), st.integers(1, 100_000), money_st)
def test_one_line_price_increase_never_lowers_tax(rates, price, extra, freight):
    low = compute_tax(
        [OrderLine("x", 1, Money(price, "CNY"), rates)], limits=LIMITS, freight=freight
    )
    high = compute_tax(
        [OrderLine("x", 1, Money(price + extra, "CNY"), rates)], limits=LIMITS, freight=freight
    )
    assume(not high.is_refused)
    assert high.tax_total >= low.tax_total


@settings(max_examples=500, deadline=None)
@given(
    st.integers(1, 3_000_000),
    st.integers(1, 4),
    st.integers(0, 2_700_000),
)
def test_regime_boundaries(dutiable_fen, items, used_fen):
    per_tx = LIMITS.per_transaction.amount
    annual = LIMITS.annual.amount
    result = compute_tax(
        [OrderLine("x", 1, Money(dutiable_fen, "CNY"), GENERIC13)]
        if items == 1
        else [OrderLine("x", items, Money(1, "CNY"), GENERIC13)],
        limits=LIMITS,
        quota_used=Money(used_fen, "CNY"),
        freight=Money(0, "CNY") if items == 1 else Money(max(dutiable_fen - items, 0), "CNY"),
    )
    total = result.dutiable.amount
    if total > per_tx and items > 1:
        assert result.refusal.code is RefusalCode.OVER_TRANSACTION_LIMIT
    elif used_fen + total > annual:
        assert result.refusal.code is RefusalCode.OVER_ANNUAL_LIMIT
    elif total > per_tx:
        assert result.regime is Regime.CBEC_FULL
    else:
        assert result.regime is Regime.CBEC


@pytest.mark.parametrize(
    ("fen", "used", "regime"),
    [
        (500_000, 0, Regime.CBEC),
        (500_001, 0, Regime.CBEC_FULL),
        (500_001, 2_100_000 - 1, Regime.CBEC_FULL),  # 21,000 − 0.01 + 5,000.01 = 26,000
        (500_001, 2_100_000, Regime.REFUSED),
        (100, 2_599_900, Regime.CBEC),
        (101, 2_599_900, Regime.REFUSED),
    ],
)
def test_boundaries_to_the_fen(fen, used, regime):
    result = compute_tax(
        [OrderLine("x", 1, Money(fen, "CNY"), GENERIC13)],
        limits=LIMITS,
        quota_used=Money(used, "CNY"),
    )
    assert result.regime is regime


# -- the integer arithmetic against the Fraction formulation ------------------------------

# Any rate the tariff files could hold: up to 4 decimal places, CT below 1.
any_rate_st = st.integers(0, 9999).map(lambda n: D(n) / 10000)
any_rates_st = st.builds(
    TaxRates,
    vat=any_rate_st,
    consumption=any_rate_st,
    duty=any_rate_st,
    positive_list=st.booleans().map(lambda off: not off) | st.just(True),
)
any_line_st = st.builds(
    OrderLine,
    gcode=st.sampled_from(["3304990010", "1806320000", "0810600000"]),
    qty=st.integers(1, 5) | st.decimals(D("0.001"), D("9"), places=3),
    unit_price=st.integers(0, 600_000).map(lambda fen: Money(fen, "CNY")),
    rates=any_rates_st,
)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(any_line_st, min_size=0, max_size=6),
    st.integers(0, 500_000).map(lambda fen: Money(fen, "CNY")),
    st.integers(0, 50_000).map(lambda fen: Money(fen, "CNY")),
    money_st,
    quota_st,
    st.sampled_from([LIMITS, LIMITS_2018]),
)
def test_integer_arithmetic_matches_fractions_to_the_fen(
    lines, freight, insurance, discount, quota, limits
):
    from tests.customs.tax_reference import compute_tax_reference

    options = {
        "limits": limits,
        "freight": freight,
        "insurance": insurance,
        "discount": discount,
        "quota_used": quota,
    }
    try:
        expected = compute_tax_reference(lines, **options)
    except ValueError as exc:  # e.g. freight to share over no lines at all
        with pytest.raises(type(exc)):
            compute_tax(lines, **options)
        return
    assert compute_tax(lines, **options) == expected


@pytest.mark.parametrize(("case_id", "lines", "options"), [(c[0], c[1], c[2]) for c in CASES])
def test_hand_computed_cases_match_fractions(case_id, lines, options):
    from tests.customs.tax_reference import compute_tax_reference

    kwargs = _kwargs(options)
    assert compute_tax(lines, **kwargs) == compute_tax_reference(lines, **kwargs), case_id
