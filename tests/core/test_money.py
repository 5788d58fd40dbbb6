"""Money: arithmetic properties, exponents, named rounding, allocation, parsing."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ehub.core.errors import DomainError
from ehub.core.money import (
    CURRENCIES,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    Rounding,
    UnknownCurrency,
    exponent,
)

codes = st.sampled_from(["MYR", "CNY", "SGD", "USD", "EUR", "THB", "IDR", "JPY", "KWD"])
amounts = st.integers(min_value=-(10**15), max_value=10**15)


@st.composite
def same_currency(draw, n=2):
    code = draw(codes)
    return [Money(draw(amounts), code) for _ in range(n)]


@given(same_currency(2))
def test_addition_is_commutative(pair):
    a, b = pair
    assert a + b == b + a


@given(same_currency(3))
def test_addition_is_associative(triple):
    a, b, c = triple
    assert (a + b) + c == a + (b + c)


@given(same_currency(2))
def test_adding_then_subtracting_gives_back_the_original(pair):
    a, b = pair
    assert a + b - b == a
    assert a - a == Money.zero(a.currency)
    assert -a + a == Money.zero(a.currency)
    assert (-a).amount == -a.amount
    assert abs(a) == abs(-a)


@given(amounts, codes, codes)
def test_mixing_currencies_raises(amount, code_a, code_b):
    assume(code_a != code_b)
    a, b = Money(amount, code_a), Money(1, code_b)
    for operation in (
        lambda: a + b,
        lambda: a - b,
        lambda: a < b,
        lambda: a <= b,
        lambda: a > b,
        lambda: a >= b,
    ):
        with pytest.raises(CurrencyMismatch):
            operation()
    assert a != b  # equality is False, not an error


@given(
    amounts,
    codes,
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12),
)
def test_allocate_loses_nothing_and_each_part_is_within_one_minor_unit(amount, code, ratios):
    assume(sum(ratios) > 0)
    money = Money(amount, code)
    parts = money.allocate(ratios)
    assert len(parts) == len(ratios)
    assert Money.total(parts, code) == money
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Fraction(amount) * ratio / sum(ratios)
        assert abs(part.amount - exact) < 1
        assert part.currency == code


def test_allocate_gives_leftover_units_to_the_largest_remainders():
    assert Money(100, "MYR").allocate([1, 1, 1]) == [
        Money(34, "MYR"),
        Money(33, "MYR"),
        Money(33, "MYR"),
    ]
    assert Money(5, "MYR").allocate([Decimal("0.3"), Decimal("0.7")]) == [
        Money(2, "MYR"),
        Money(3, "MYR"),
    ]
    assert Money(-100, "MYR").allocate([1, 1, 1]) == [
        Money(-34, "MYR"),
        Money(-33, "MYR"),
        Money(-33, "MYR"),
    ]


def test_allocate_refuses_bad_ratios():
    with pytest.raises(ValueError):
        Money(100, "MYR").allocate([])
    with pytest.raises(ValueError):
        Money(100, "MYR").allocate([0, 0])
    with pytest.raises(ValueError):
        Money(100, "MYR").allocate([1, -1])
    with pytest.raises(TypeError):
        Money(100, "MYR").allocate([0.5, 0.5])


@given(amounts, codes)
def test_from_decimal_and_to_decimal_round_trip_exact_values(amount, code):
    money = Money(amount, code)
    value = money.to_decimal()
    assert value.as_tuple().exponent == -exponent(code)
    for mode in Rounding:
        assert Money.from_decimal(value, code, mode) == money


def test_exponents_come_from_iso_4217():
    assert exponent("MYR") == 2
    assert exponent("IDR") == 2  # ISO, although CLDR displays none
    assert exponent("JPY") == 0
    assert exponent("KRW") == 0
    assert exponent("KWD") == 3
    assert exponent("BHD") == 3
    assert Money(1234, "JPY").to_decimal() == Decimal("1234")
    assert str(Money(1234, "KWD").to_decimal()) == "1.234"
    assert str(Money(-5, "MYR")) == "MYR -0.05"
    assert len(CURRENCIES) >= 11


def test_unknown_currency_is_a_clear_error():
    with pytest.raises(UnknownCurrency, match="XYZ"):
        Money(1, "XYZ")
    with pytest.raises(UnknownCurrency):
        Money(1, "myr")  # codes are upper case, as in ISO 4217
    with pytest.raises(UnknownCurrency) as info:
        exponent("ABC")
    assert isinstance(info.value, DomainError) and info.value.status == 422


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("0.125", Rounding.HALF_UP, 13),
        ("0.125", Rounding.HALF_EVEN, 12),
        ("0.135", Rounding.HALF_EVEN, 14),
        ("0.125", Rounding.DOWN, 12),
        ("0.125", Rounding.UP, 13),
        ("0.125", Rounding.FLOOR, 12),
        ("0.125", Rounding.CEILING, 13),
        ("-0.125", Rounding.HALF_UP, -13),
        ("-0.125", Rounding.HALF_EVEN, -12),
        ("-0.125", Rounding.DOWN, -12),
        ("-0.125", Rounding.UP, -13),
        ("-0.125", Rounding.FLOOR, -13),
        ("-0.125", Rounding.CEILING, -12),
        ("0.121", Rounding.UP, 13),
        ("0.129", Rounding.DOWN, 12),
    ],
)
def test_named_rounding_modes(value, mode, expected):
    assert Money.from_decimal(Decimal(value), "MYR", mode) == Money(expected, "MYR")


def test_rounding_must_be_named():
    with pytest.raises(TypeError):
        Money.from_decimal(Decimal("1.005"), "MYR", None)
    with pytest.raises(TypeError):
        Money(100, "MYR").multiply(Decimal("0.5"), None)
    with pytest.raises(TypeError):
        Money.from_decimal(Decimal("1.005"), "MYR")  # no default


def test_floats_are_refused_everywhere():
    with pytest.raises(TypeError):
        Money(1.5, "MYR")
    with pytest.raises(TypeError):
        Money(True, "MYR")
    with pytest.raises(TypeError):
        Money.from_decimal(1.5, "MYR", Rounding.HALF_UP)
    with pytest.raises(TypeError):
        Money(100, "MYR").multiply(1.5, Rounding.HALF_UP)
    with pytest.raises(TypeError):
        Money(100, "MYR") * 1.5
    with pytest.raises(TypeError):
        Money(100, "MYR") * Decimal("1.5")
    with pytest.raises(TypeError):
        Money.parse(12.34, "MYR")


def test_multiplication_by_int_and_by_decimal_factor():
    assert Money(250, "MYR") * 3 == Money(750, "MYR")
    assert 3 * Money(250, "MYR") == Money(750, "MYR")
    # 6 % service tax on RM 10.05 = 0.603 -> 0.60
    assert Money(1005, "MYR").multiply(Decimal("0.06"), Rounding.HALF_UP) == Money(60, "MYR")
    # CBEC composite rate: 3000 CNY x 13 % x 70 % = 273 CNY
    tax = Money(300000, "CNY").multiply(Decimal("0.13") * Decimal("0.7"), Rounding.HALF_UP)
    assert tax == Money(27300, "CNY")
    assert Money(1, "MYR").multiply(Decimal("0.5"), Rounding.HALF_EVEN) == Money(0, "MYR")
    assert Money(1, "MYR").multiply(Decimal("0.5"), Rounding.HALF_UP) == Money(1, "MYR")


def test_comparisons_and_truthiness():
    assert Money(1, "MYR") < Money(2, "MYR") <= Money(2, "MYR")
    assert Money(3, "MYR") > Money(2, "MYR") >= Money(2, "MYR")
    assert not Money.zero("MYR")
    assert Money(-1, "MYR")
    assert Money(-1, "MYR").is_negative and Money(1, "MYR").is_positive
    assert {Money(1, "MYR"): "a"}[Money(1, "MYR")] == "a"


def test_parse_reads_exact_amounts_and_refuses_too_many_decimals():
    assert Money.parse("12.34", "MYR") == Money(1234, "MYR")
    assert Money.parse("12.3", "MYR") == Money(1230, "MYR")
    assert Money.parse(" -0.05 ", "MYR") == Money(-5, "MYR")
    assert Money.parse("1234", "JPY") == Money(1234, "JPY")
    assert Money.parse("1.234", "KWD") == Money(1234, "KWD")
    with pytest.raises(InvalidAmount) as info:
        Money.parse("12.345", "MYR", field="price")
    assert info.value.field == "price"
    for bad in ("12.0", "1e3"):
        with pytest.raises(InvalidAmount):
            Money.parse(bad, "JPY")
    for bad in ("", "abc", "1,234.50", "12.", ".5", "--1", "NaN"):
        with pytest.raises(InvalidAmount):
            Money.parse(bad, "MYR")


def test_total_and_json():
    items = [Money(100, "MYR"), Money(250, "MYR")]
    assert Money.total(items, "MYR") == Money(350, "MYR")
    assert Money.total([], "CNY") == Money.zero("CNY")
    with pytest.raises(CurrencyMismatch):
        Money.total([Money(1, "CNY")], "MYR")
    assert Money.from_json(Money(5, "MYR").as_json()) == Money(5, "MYR")
    with pytest.raises(InvalidAmount):
        Money.from_decimal(Decimal("NaN"), "MYR", Rounding.HALF_UP)
