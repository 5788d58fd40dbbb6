"""FX: seeding from the bundled ECB file, and conversions that report their rate."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from ehub.core import clock, fx
from ehub.core.models import FxRate
from ehub.core.money import Money, Rounding

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def rate(base, quote, value, as_of, source="test"):
    return FxRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), source=source, as_of=as_of
    )


@pytest.mark.django_db
def test_seed_ecb_rates_stores_42_pairs_and_is_idempotent():
    first = fx.seed_ecb_rates()
    assert (first.created, first.pairs) == (42, 42)
    assert FxRate.objects.count() == 42
    assert FxRate.objects.filter(source="ecb", as_of=first.as_of).count() == 42
    assert not FxRate.objects.filter(base="MYR", quote="MYR").exists()
    second = fx.seed_ecb_rates()
    assert second.created == 0 and second.on == first.on
    assert FxRate.objects.count() == 42
    # Cross rates are consistent with the EUR legs.
    eur_myr = FxRate.objects.get(base="EUR", quote="MYR").rate
    eur_cny = FxRate.objects.get(base="EUR", quote="CNY").rate
    myr_cny = FxRate.objects.get(base="MYR", quote="CNY").rate
    assert abs(myr_cny - eur_cny / eur_myr) < Decimal("1e-12")
    # Published ~16:00 Frankfurt time on the ECB day.
    assert first.as_of.date() == first.on and first.as_of.tzinfo is UTC


@pytest.mark.django_db
def test_seed_on_an_earlier_date_walks_back_to_a_publication_day():
    result = fx.seed_ecb_rates(("MYR", "USD"), on=datetime(2024, 12, 25).date())  # a holiday
    assert result.on.isoformat() == "2024-12-24"
    assert result.created == 2
    with pytest.raises(ValueError, match="KWD"):
        fx.seed_ecb_rates(("MYR", "KWD"))


@pytest.mark.django_db
def test_convert_picks_the_latest_rate_not_after_at():
    rate("MYR", "CNY", "1.5", T0)
    newer = rate("MYR", "CNY", "1.6", T0 + timedelta(days=1))
    rate("MYR", "CNY", "9.9", T0 + timedelta(days=5))  # in the future of `at`
    at = T0 + timedelta(days=2)
    conversion = fx.convert(Money(10000, "MYR"), "CNY", at=at)
    assert conversion.result == Money(16000, "CNY")
    assert conversion.source == Money(10000, "MYR")
    assert conversion.rate.fx_rate_id == newer.pk
    assert (conversion.rate.base, conversion.rate.quote, conversion.rate.pair) == (
        "MYR",
        "CNY",
        "MYR/CNY",
    )
    assert conversion.rate.rate == Decimal("1.6")
    assert conversion.rate.source == "test" and conversion.rate.as_of == newer.as_of
    assert not conversion.rate.inverted
    assert conversion.rounding is Rounding.HALF_UP
    assert fx.convert(Money(10000, "MYR"), "CNY", at=T0).result == Money(15000, "CNY")


@pytest.mark.django_db
def test_convert_defaults_to_now_from_the_clock():
    rate("MYR", "CNY", "1.5", T0)
    rate("MYR", "CNY", "2", T0 + timedelta(days=10))
    with clock.frozen(T0 + timedelta(days=1)):
        assert fx.convert(Money(100, "MYR"), "CNY").result == Money(150, "CNY")
    assert fx.convert(Money(100, "MYR"), "CNY").result == Money(200, "CNY")


@pytest.mark.django_db
def test_convert_uses_the_inverse_when_only_it_exists():
    row = rate("CNY", "MYR", "0.6", T0)
    conversion = fx.convert(Money(10000, "MYR"), "CNY", at=T0)
    assert conversion.rate.inverted and conversion.rate.fx_rate_id == row.pk
    assert conversion.rate.rate == Decimal("1.666666666667")  # 1/0.6 to 12 places
    assert conversion.result == Money(16667, "CNY")  # 166.6666666667 -> HALF_UP


@pytest.mark.django_db
def test_convert_rounds_half_up_by_default_and_as_named():
    rate("MYR", "CNY", "1.5", T0)
    # 0.05 MYR * 1.5 = 0.075 CNY: a tie at the fen
    assert fx.convert(Money(5, "MYR"), "CNY", at=T0).result == Money(8, "CNY")
    half_even = fx.convert(Money(5, "MYR"), "CNY", at=T0, rounding=Rounding.HALF_EVEN)
    assert half_even.result == Money(8, "CNY")
    assert fx.convert(Money(5, "MYR"), "CNY", at=T0, rounding=Rounding.DOWN).result == Money(
        7, "CNY"
    )
    # JPY has no minor unit: 1.00 MYR * 33.3 = 33.3 JPY -> 33
    rate("MYR", "JPY", "33.3", T0)
    assert fx.convert(Money(100, "MYR"), "JPY", at=T0).result == Money(33, "JPY")


@pytest.mark.django_db
def test_same_currency_is_rate_one():
    conversion = fx.convert(Money(1234, "MYR"), "MYR", at=T0)
    assert conversion.result == Money(1234, "MYR")
    assert conversion.rate.rate == 1 and conversion.rate.fx_rate_id is None


@pytest.mark.django_db
def test_rate_not_found_names_the_pair():
    rate("MYR", "CNY", "1.5", T0 + timedelta(days=1))
    with pytest.raises(fx.RateNotFound, match="MYR/CNY") as info:
        fx.convert(Money(100, "MYR"), "CNY", at=T0)
    assert (info.value.base, info.value.quote) == ("MYR", "CNY")
    assert info.value.as_problem()["code"] == "fx_rate_not_found"
    with pytest.raises(fx.RateNotFound, match="SGD/THB"):
        fx.convert(Money(100, "SGD"), "THB", at=T0 + timedelta(days=2))
    with pytest.raises(fx.RateNotFound):
        fx.convert(Money(100, "MYR"), "CNY", at=T0 + timedelta(days=2), source="ecb")


@pytest.mark.django_db
def test_round_trip_through_seeded_rates_is_within_one_minor_unit():
    fx.seed_ecb_rates()
    for amount in (1, 5, 99, 1000, 12345, 999_999, 123_456_789):
        there = fx.convert(Money(amount, "MYR"), "CNY").result
        back = fx.convert(there, "MYR").result
        assert abs(back.amount - amount) <= 1, (amount, there, back)


_, _PER_EUR = fx.ecb_rates()
_CROSS = fx.cross_rates(_PER_EUR)


currencies = st.sampled_from(sorted(_PER_EUR))


@given(st.integers(min_value=-(10**12), max_value=10**12), currencies, currencies)
def test_round_trip_error_is_bounded_by_one_rounding_per_leg(amount, base, quote):
    if base == quote:
        return
    rate_there, rate_back = _CROSS[(base, quote)], _CROSS[(quote, base)]
    there = fx.apply_rate(Money(amount, base), quote, rate_there, Rounding.HALF_UP)
    back = fx.apply_rate(there, base, rate_back, Rounding.HALF_UP)
    # back = (a·r1 + e1)·r2 + e2 with |e1|, |e2| <= 1/2: half a unit on each leg (the first
    # scaled by the back rate) plus the drift of r1·r2 from 1 (rates are 12-place numbers).
    drift = abs(amount * (rate_there * rate_back - 1))
    bound = Decimal("0.5") + Decimal("0.5") * rate_back + drift
    assert abs(back.amount - amount) <= bound


@given(st.integers(min_value=0, max_value=10**12))
def test_myr_cny_myr_round_trip_is_within_one_sen(amount):
    there = fx.apply_rate(Money(amount, "MYR"), "CNY", _CROSS[("MYR", "CNY")], Rounding.HALF_UP)
    back = fx.apply_rate(there, "MYR", _CROSS[("CNY", "MYR")], Rounding.HALF_UP)
    assert abs(back.amount - amount) <= 1


def test_apply_rate_refuses_floats_and_non_positive_rates():
    with pytest.raises(TypeError):
        fx.apply_rate(Money(100, "MYR"), "CNY", 1.5, Rounding.HALF_UP)
    with pytest.raises(ValueError):
        fx.apply_rate(Money(100, "MYR"), "CNY", Decimal(0), Rounding.HALF_UP)
    assert fx.invert(Decimal("4")) == Decimal("0.250000000000")


@pytest.mark.django_db
def test_fx_command_seed_and_show():
    out = StringIO()
    call_command("fx", "seed", stdout=out)
    assert "42 new" in out.getvalue()
    out = StringIO()
    call_command("fx", "seed", "--currencies", "MYR,CNY,SGD,USD,EUR,THB,IDR", stdout=out)
    assert "0 new, 42 already stored" in out.getvalue()
    rate("MYR", "CNY", "1.0", T0, source="ecb")  # older: not shown
    out = StringIO()
    call_command("fx", "show", "--base", "myr", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("MYR/") for line in lines)
    assert " 1.000000000000 " not in out.getvalue()
