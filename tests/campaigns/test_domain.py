"""Pure rules of campaigns: promo pricing, units and limits, windows, buckets, time zones."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.campaigns import domain
from ehub.core.money import Money

UTC = dt.UTC
T0 = dt.datetime(2026, 9, 9, 2, 0, tzinfo=UTC)


@given(
    regular=st.integers(min_value=1, max_value=10**9),
    percent=st.decimals(min_value="0.01", max_value="99.99", places=2),
)
def test_percent_off_is_positive_and_below_regular_or_refused(regular, percent):
    price, errors = domain.promo_price(Money(regular, "MYR"), percent_off=percent)
    if errors:
        # Only tiny prices can round to zero or back up to the regular price.
        assert price is None
        assert errors[0].field == "percent_off"
        assert errors[0].code in {"not_positive", "not_lower"}
    else:
        assert 0 < price.amount < regular
        exact = Decimal(regular) * (100 - percent) / 100
        assert abs(Decimal(price.amount) - exact) <= Decimal("0.5")


@given(regular=st.integers(min_value=2, max_value=10**9), data=st.data())
def test_a_fixed_promo_price_must_lie_strictly_between_zero_and_regular(regular, data):
    promo = data.draw(st.integers(min_value=-10, max_value=regular + 10))
    price, errors = domain.promo_price(Money(regular, "MYR"), promo=Money(promo, "MYR"))
    if 0 < promo < regular:
        assert errors == [] and price == Money(promo, "MYR")
    else:
        assert price is None and errors[0].field == "promo_price"


def test_percent_off_example_rounds_half_up_to_the_sen():
    price, errors = domain.promo_price(Money(16800, "MYR"), percent_off=Decimal("12.5"))
    assert errors == [] and price == Money(14700, "MYR")
    price, _ = domain.promo_price(Money(999, "MYR"), percent_off=Decimal("50"))
    assert price == Money(500, "MYR")  # 499.5 rounds half up


@pytest.mark.parametrize(
    ("promo", "percent", "field", "code"),
    [
        (None, None, "promo_price", "one_of"),
        (Money(100, "MYR"), Decimal(10), "promo_price", "one_of"),
        (None, Decimal(0), "percent_off", "out_of_range"),
        (None, Decimal(100), "percent_off", "out_of_range"),
        (Money(100, "CNY"), None, "promo_price", "currency"),
    ],
)
def test_promo_price_errors_name_the_field(promo, percent, field, code):
    _price, errors = domain.promo_price(Money(1000, "MYR"), promo=promo, percent_off=percent)
    assert [(e.field, e.code) for e in errors] == [(field, code)]


def test_parse_percent():
    assert domain.parse_percent("12.5") == Decimal("12.50")
    assert domain.parse_percent("") is None
    for bad in ("abc", "1.234", "NaN", 1.5):
        with pytest.raises(ValueError):
            domain.parse_percent(bad)


@given(
    units=st.one_of(st.none(), st.integers(min_value=-5, max_value=2_000_000)),
    limit=st.one_of(st.none(), st.integers(min_value=-5, max_value=2_000_000)),
)
def test_units_and_limit_rules(units, limit):
    errors = {e.field for e in domain.check_units(units, limit)}
    units_ok = units is not None and 1 <= units <= domain.MAX_ALLOCATION
    assert ("allocated_units" in errors) == (not units_ok)
    limit_ok = limit is not None and limit >= 1 and (units is None or units < 1 or limit <= units)
    assert ("per_buyer_limit" in errors) == (not limit_ok)


@given(
    units=st.integers(min_value=0, max_value=10**6), buckets=st.integers(min_value=1, max_value=64)
)
def test_split_units_loses_nothing_and_is_even(units, buckets):
    parts = domain.split_units(units, buckets)
    assert len(parts) == buckets
    assert sum(parts) == units
    assert max(parts) - min(parts) <= 1


@given(
    units=st.integers(min_value=1, max_value=10**6),
    configured=st.integers(min_value=-3, max_value=500),
)
def test_bucket_count_is_bounded(units, configured):
    count = domain.bucket_count_for(units, configured)
    assert 1 <= count <= min(units, domain.MAX_BUCKETS)


@given(
    remaining=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=16),
    qty=st.integers(min_value=1, max_value=200),
)
def test_plan_take_takes_exactly_qty_or_nothing(remaining, qty):
    plan = domain.plan_take(remaining, qty)
    if sum(remaining) < qty:
        assert plan == []
    else:
        assert sum(take for _i, take in plan) == qty
        assert all(0 < take <= remaining[i] for i, take in plan)
        assert len({i for i, _take in plan}) == len(plan)


@given(buckets=st.integers(min_value=1, max_value=64), seed=st.integers())
def test_probe_order_visits_every_bucket_once(buckets, seed):
    order = domain.probe_order(buckets, random.Random(seed))
    assert sorted(order) == list(range(buckets))


@given(offset=st.integers(min_value=-(10**6), max_value=10**6))
def test_phase_is_half_open(offset):
    start, end = T0, T0 + dt.timedelta(hours=2)
    now = T0 + dt.timedelta(seconds=offset)
    expected = (
        domain.Phase.UPCOMING
        if now < start
        else domain.Phase.LIVE
        if now < end
        else domain.Phase.ENDED
    )
    assert domain.phase(now, start, end) == expected
    assert domain.phase(start, start, end) == domain.Phase.LIVE
    assert domain.phase(end, start, end) == domain.Phase.ENDED


def test_campaign_window_rules():
    assert domain.check_campaign_window(T0, T0 + dt.timedelta(days=1)) == []
    assert [e.field for e in domain.check_campaign_window(T0, T0)] == ["ends_at"]
    naive = dt.datetime(2026, 9, 9, 10, 0)
    assert [e.code for e in domain.check_campaign_window(naive, None)] == ["naive", "required"]


@given(
    start=st.integers(min_value=-100, max_value=300),
    length=st.one_of(st.none(), st.integers(min_value=-10, max_value=300)),
)
def test_flash_window_lies_inside_the_campaign(start, length):
    c_start, c_end = T0, T0 + dt.timedelta(minutes=200)
    f_start = T0 + dt.timedelta(minutes=start)
    f_end = None if length is None else f_start + dt.timedelta(minutes=length)
    errors = domain.check_flash_window(c_start, c_end, f_start, f_end)
    inside = c_start <= f_start < c_end and (f_end is None or f_start < f_end <= c_end)
    assert (errors == []) == inside
    window = domain.sale_window(c_start, c_end, f_start, f_end)
    assert window.starts_at == f_start and window.ends_at == (f_end or c_end)


def test_flash_end_without_start_is_refused():
    errors = domain.check_flash_window(T0, T0 + dt.timedelta(days=1), None, T0)
    assert [e.field for e in errors] == ["flash_starts_at"]


@pytest.mark.parametrize(
    ("language", "chosen", "zone"),
    [
        ("zh-hans", None, "Asia/Shanghai"),
        ("zh-hans", "UTC", "UTC"),
        ("en", None, "Asia/Kuala_Lumpur"),
        ("ms", "Europe/Paris", "Asia/Kuala_Lumpur"),  # not offered: falls back
        (None, None, "Asia/Kuala_Lumpur"),
    ],
)
def test_viewer_timezone(language, chosen, zone):
    assert domain.timezone_for(language, chosen) == zone


def test_localized_falls_back_to_english():
    assert (
        domain.localized({"en": "Malaysia Week", "zh-hans": "马来西亚周"}, "zh-hans")
        == "马来西亚周"
    )
    assert domain.localized({"en": "Malaysia Week", "ms": ""}, "ms") == "Malaysia Week"
