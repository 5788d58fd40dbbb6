"""Carrier gateway: wire format against fixtures, rates, weight limits, waybill numbers, registry.

Karrio-style: each operation is checked both ways against exact fixture files - our request
object maps to the fixture request, the sandbox API answers the fixture request with exactly
the fixture response, and the fixture response parses to the values we expect.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from ehub.core import clock
from ehub.core.money import Money
from ehub.fulfillment.carriers import (
    Address,
    BookingRequest,
    CarrierError,
    DestinationNotServed,
    InvalidWaybill,
    NoCarrierAvailable,
    OverWeightLimit,
    RateRequest,
    UnknownCarrier,
    all_carriers,
    chargeable_weight_g,
    cheapest,
    check_digit,
    get_carrier,
    resolve_province,
    routing_code,
    shop_rates,
    valid_waybill_no,
    volumetric_weight_g,
    wire,
)
from ehub.fulfillment.carriers.base import next_cut_off
from ehub.fulfillment.carriers.registry import CARRIERS
from ehub.fulfillment.carriers.sandbox import SandboxCarrier
from ehub.fulfillment.carriers.waybill import make_waybill_no
from ehub.fulfillment.carriers.zones import provinces

FIXTURES = Path(__file__).parent / "fixtures" / "carriers"
BOOKED = datetime(2025, 3, 3, 2, 15, tzinfo=UTC)
SENDER = Address(
    "Durian Raja Sdn. Bhd.",
    "+60387871234",
    "Selangor",
    "Sepang",
    "KLIA Aeropolis",
    "eHub KLIA Aeropolis, Lot PT 12345",
    "64000",
    "MY",
)
CONSIGNEE = Address(
    "张伟", "13800138000", "上海市", "上海市", "浦东新区", "世纪大道 100 号 25 楼 2501 室", "200120"
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def express() -> SandboxCarrier:
    """A fresh eHub Express client and sandbox (no bookings from other tests)."""
    return SandboxCarrier(**CARRIERS[0], seed=2017, webhook_secret="test-secret")


def call(carrier: SandboxCarrier, obj) -> tuple[tuple[str, str, dict], tuple[int, dict]]:
    method, path, payload = wire.to_request(obj, carrier.account)
    response = carrier.api.handle(method, path, json.dumps(payload).encode())
    return (method, path, payload), (response.status, json.loads(response.body))


def as_fixture(request, response) -> tuple[dict, dict]:
    method, path, payload = request
    status, body = response
    return {"method": method, "path": path, "body": payload}, {"status": status, "body": body}


# -- wire format against fixtures -----------------------------------------------------------


def test_rate_request_and_response_match_fixtures(express):
    obj = RateRequest(1200, "上海市", (300, 200, 150), Money(15000, "CNY"))
    request, response = as_fixture(*call(express, obj))
    assert request == fixture("request_rate.json")
    assert response == fixture("response_rate.json")

    quote = wire.from_response("rate", 200, fixture("response_rate.json")["body"], express.account)
    assert (quote.carrier_code, quote.zone, quote.province) == ("EHX", 1, "CN-SH")
    # 300×200×150 mm = 9,000 cm³ / 5000 = 1.8 kg volumetric beats 1.2 kg actual: band 2 kg.
    assert (quote.actual_weight_g, quote.volumetric_weight_g) == (1200, 1800)
    assert (quote.chargeable_weight_g, quote.band_g) == (1800, 2000)
    assert quote.base == Money(3900, "MYR")
    assert quote.fuel == Money(488, "MYR")  # 12.5 % of 39.00 = 4.875 → 4.88 half-up
    assert quote.total == Money(4388, "MYR")
    assert quote.routing_code == "PVG-1-SH"


def test_over_weight_answer_matches_fixture_and_raises(express):
    request, response = as_fixture(*call(express, RateRequest(31000, "Guangdong")))
    assert request == fixture("request_rate_over_weight.json")
    assert response == fixture("response_rate_over_weight.json")
    with pytest.raises(OverWeightLimit) as err:
        wire.from_response("rate", 422, response["body"], express.account)
    assert err.value.field == "weight_g"


def test_booking_matches_fixtures(express):
    obj = BookingRequest(
        "ORD-7K3M9Q2X",
        SENDER,
        CONSIGNEE,
        1200,
        (300, 200, 150),
        Money(15000, "CNY"),
        "Musang King durian paste x3",
        BOOKED,
        4711,
    )
    request, response = as_fixture(*call(express, obj))
    assert request == fixture("request_book.json")
    assert response == fixture("response_book.json")

    booking = wire.from_response("book", 201, response["body"], express.account)
    assert booking.waybill_no == "EX000471101MY"
    assert valid_waybill_no(booking.waybill_no, "EX")
    assert booking.logistics_code == "91330100MA2EHX0015"
    assert booking.freight == Money(4388, "MYR")
    assert booking.booked_at == BOOKED
    assert booking.routing_code == "PVG-1-SH"


def test_tracking_and_cancel_match_fixtures(express):
    express.book(
        BookingRequest(
            "ORD-7K3M9Q2X", SENDER, CONSIGNEE, 1200, (300, 200, 150), Money(15000, "CNY"),
            "Musang King durian paste x3", BOOKED, 4711,
        )
    )  # fmt: skip
    with clock.frozen(BOOKED + timedelta(hours=30)):
        request, response = as_fixture(*call(express, wire.TrackRequest("EX000471101MY")))
    assert request == fixture("request_track.json")
    assert response == fixture("response_track.json")
    events = wire.from_response("track", 200, response["body"], express.account)
    assert [e.code for e in events] == [
        "picked_up",
        "departed_KUL",
        "arrived",
        "import_cleared",
        "out_for_delivery",
    ]
    assert events[2].location == "PVG"
    assert events[0].at == datetime(2025, 3, 3, 5, 25, tzinfo=UTC)

    request, response = as_fixture(
        *call(express, wire.CancelRequest("EX000471101MY", "order cancelled"))
    )
    assert request == fixture("request_cancel.json")
    assert response == fixture("response_cancel.json")
    assert wire.from_response("cancel", 200, response["body"], express.account) is None


def test_unreadable_answer_is_a_carrier_error(express):
    with pytest.raises(CarrierError):
        wire.from_response("rate", 200, {"rates": [{"zone": 1}]}, express.account)
    with pytest.raises(CarrierError):
        wire.from_response("book", 500, {}, express.account)


# -- rates by zone and band -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "weight_g", "province", "zone", "band_g", "total_sen"),
    [
        ("EHX", 500, "Shanghai", 1, 500, 2025),  # 18.00 + 2.25
        ("EHX", 501, "Shanghai", 1, 1000, 2925),  # one gram over: next band, 26.00 + 3.25
        ("EHX", 1200, "北京", 2, 2000, 5400),  # 48.00 + 6.00
        ("EHX", 10000, "四川省", 3, 10000, 20475),  # 182.00 + 22.75
        ("EHX", 30000, "新疆维吾尔自治区", 4, 30000, 66375),  # 590.00 + 73.75
        ("ECA", 300, "Xinjiang", 4, 500, 2700),  # 25.00 + 2.00 (8 %)
        ("ECA", 2500, "CN-GD", 1, 3000, 4968),  # 46.00 + 3.68
        ("ECA", 20000, "65", 4, 20000, 54000),  # 500.00 + 40.00
    ],
)
def test_rate_by_zone_and_band(code, weight_g, province, zone, band_g, total_sen):
    quote = get_carrier(code).rate(RateRequest(weight_g, province))
    assert quote is not None
    assert (quote.zone, quote.band_g) == (zone, band_g)
    assert quote.total == Money(total_sen, "MYR")
    assert quote.base + quote.fuel == quote.total


def test_volumetric_versus_actual_weight():
    assert volumetric_weight_g((400, 300, 300)) == 7200  # 40×30×30 cm / 5000 = 7.2 kg
    assert volumetric_weight_g((100, 100, 101)) == 202  # rounded up to the gram
    assert volumetric_weight_g(None) == 0
    assert chargeable_weight_g(1000, (400, 300, 300)) == 7200  # bulky: volumetric wins
    assert chargeable_weight_g(5000, (100, 100, 100)) == 5000  # dense: actual wins
    light_bulky = get_carrier("EHX").rate(RateRequest(1000, "Xinjiang", (400, 300, 300)))
    assert (light_bulky.chargeable_weight_g, light_bulky.band_g) == (7200, 10000)
    assert light_bulky.total == Money(27000, "MYR")


def test_weight_limit_refused(express):
    assert express.max_weight_g == 30000
    assert express.rate(RateRequest(30001, "Shanghai")) is None
    with pytest.raises(OverWeightLimit) as err:
        express.book(BookingRequest("ORD-HEAVY", SENDER, CONSIGNEE, 30001, None, Money(100, "CNY")))
    assert err.value.field == "weight_g"
    # 1 kg in a 60×60×50 cm box is 36 kg volumetric: over every carrier's limit.
    assert shop_rates(1000, "Shanghai", (600, 600, 500)) == []
    with pytest.raises(NoCarrierAvailable) as err:
        cheapest(1000, "Shanghai", (600, 600, 500))
    assert err.value.field == "weight_g"


def test_rate_shopping_picks_the_cheapest_carrier():
    light = shop_rates(300, "上海")
    assert [q.carrier_code for q in light] == ["ECA", "EHX"]
    assert light[0].total < light[1].total
    heavy = shop_rates(9000, "上海")
    assert [q.carrier_code for q in heavy] == ["EHX", "ECA"]
    assert cheapest(9000, "上海").carrier_code == "EHX"
    only_express = shop_rates(25000, "Guangdong")  # over the economy line's 20 kg
    assert [q.carrier_code for q in only_express] == ["EHX"]


def test_unknown_province_is_refused_naming_the_field():
    with pytest.raises(DestinationNotServed) as err:
        resolve_province("Hong Kong")
    assert err.value.field == "province"
    assert get_carrier("EHX").rate(RateRequest(500, "Atlantis")) is None
    with pytest.raises(DestinationNotServed):
        cheapest(500, "Atlantis")


@pytest.mark.parametrize(
    "text", ["上海", "上海市", "Shanghai", "shanghai", "CN-SH", "SH", "31", "310115"]
)
def test_province_spellings(text):
    assert resolve_province(text).iso == "CN-SH"


def test_every_province_has_a_zone_and_routing_code():
    assert len(provinces()) == 31
    assert {p.zone for p in provinces()} == {1, 2, 3, 4}
    assert routing_code("广东省") == "CAN-1-GD"
    assert routing_code("Tibet") == "CTU-4-XZ"


# -- waybill numbers --------------------------------------------------------------------------


def test_check_digit_known_values():
    # S10 weights 8 6 4 2 3 5 9 7 on the UPU example serial 47312482: sum 200, 11 - 200 % 11 = 9.
    assert check_digit("47312482") == "9"
    assert valid_waybill_no("RR473124829MY")
    assert not valid_waybill_no("RR473124828MY")  # wrong check digit
    assert not valid_waybill_no("RR47312482MY")  # too short
    assert not valid_waybill_no("rr473124829MY")
    assert not valid_waybill_no("")
    assert valid_waybill_no("EX000471101MY", "EX")
    assert not valid_waybill_no("EX000471101MY", "EA")  # another carrier's prefix


@given(st.integers(min_value=0, max_value=10**9))
def test_every_allocated_number_validates(sequence):
    number = make_waybill_no("EX", sequence)
    assert valid_waybill_no(number, "EX")
    assert len(number) == 13


@given(
    st.integers(min_value=0, max_value=10**7 - 1),
    st.integers(min_value=2, max_value=10),
    st.integers(min_value=1, max_value=9),
)
def test_a_single_changed_digit_fails(sequence, position, delta):
    number = make_waybill_no("EX", sequence)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert not valid_waybill_no(changed)


@given(st.integers(min_value=0, max_value=10**7 - 1), st.integers(min_value=2, max_value=9))
def test_swapped_adjacent_digits_fail(sequence, position):
    number = make_waybill_no("EX", sequence)
    a, b = number[position], number[position + 1]
    if a != b:
        swapped = number[:position] + b + a + number[position + 2 :]
        assert not valid_waybill_no(swapped)


@given(st.integers(min_value=0, max_value=10**7 - 2))
def test_distinct_sequences_give_distinct_numbers(sequence):
    assert make_waybill_no("EX", sequence) != make_waybill_no("EX", sequence + 1)


def test_booking_is_idempotent_per_reference(express):
    request = BookingRequest("ORD-A", SENDER, CONSIGNEE, 800, None, Money(5000, "CNY"))
    first = express.book(request)
    again = express.book(request)
    assert first.waybill_no == again.waybill_no
    other = express.book(BookingRequest("ORD-B", SENDER, CONSIGNEE, 800, None, Money(5000, "CNY")))
    assert other.waybill_no != first.waybill_no
    assert all(valid_waybill_no(b.waybill_no, "EX") for b in (first, other))


def test_cancel_refuses_a_foreign_or_malformed_number(express):
    with pytest.raises(InvalidWaybill) as err:
        express.cancel("EA000471101MY")
    assert err.value.field == "waybill_no"
    with pytest.raises(InvalidWaybill):
        express.cancel("EX000471102MY")


# -- registry -----------------------------------------------------------------------------------


def test_registry_and_logistics_codes():
    codes = [c.code for c in all_carriers()]
    assert codes == ["EHX", "ECA"]
    for carrier in all_carriers():
        assert len(carrier.logistics_code) == 18
        assert uscc.is_valid(carrier.logistics_code)
        assert carrier.cut_offs == tuple(sorted(carrier.cut_offs))
    with pytest.raises(UnknownCarrier) as err:
        get_carrier("DHL")
    assert err.value.field == "carrier"


def test_next_cut_off_in_kuala_lumpur_time():
    express = get_carrier("EHX")
    assert express.cut_offs == (time(14, 0), time(21, 30))
    # 10:15 KL → 14:00 KL the same day (06:00 UTC); 22:00 KL → 14:00 KL the next day.
    assert express.next_cut_off(BOOKED) == datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
    late = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
    assert express.next_cut_off(late) == datetime(2025, 3, 4, 6, 0, tzinfo=UTC)


def test_next_cut_off_is_strictly_after_in_local_time_and_refuses_naive():
    cut_offs = (time(11, 0), time(17, 0))
    at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in KL
    assert next_cut_off(cut_offs, at) == datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    at_cut = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # exactly 11:00: missed
    assert next_cut_off(cut_offs, at_cut) == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    late = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 20:00 KL: tomorrow 11:00
    assert next_cut_off(cut_offs, late) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        next_cut_off(cut_offs, datetime(2026, 3, 1))
