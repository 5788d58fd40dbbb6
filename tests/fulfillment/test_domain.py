"""Pure rules of the hub: weights, SLA clocks, state machines, scans, MAWB numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.fulfillment import domain
from ehub.fulfillment.domain import ScanError, ShipmentStatus


def test_volumetric_weight_is_lwh_over_5000_rounded_up():
    assert domain.volumetric_weight_g(300, 200, 150) == 1800  # 30×20×15 cm / 5000 = 1.8 kg
    assert domain.volumetric_weight_g(1, 1, 1) == 1
    m = domain.Measure(weight_g=900, length_mm=400, width_mm=300, height_mm=200)
    assert (m.volumetric_g, m.chargeable_g) == (4800, 4800)


@given(st.integers(1, 70_000), st.integers(1, 1500), st.integers(1, 1500), st.integers(1, 1500))
def test_chargeable_is_the_larger_and_never_below_actual(w, length, width, height):
    m = domain.Measure(w, length, width, height)
    assert m.chargeable_g == max(w, m.volumetric_g) >= w
    assert m.volumetric_g * 5000 >= length * width * height > (m.volumetric_g - 1) * 5000


def test_check_measure_names_bad_fields():
    assert domain.check_measure(domain.Measure(0, 10, 2000, 10)) == [
        ("weight_g", "must_be_positive"),
        ("width_mm", "too_large"),
    ]


def test_sla_clocks():
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    running = domain.handling_clock(t0, None)
    assert not running.breached(t0 + dt.timedelta(hours=3))
    assert running.breached(t0 + dt.timedelta(hours=3, seconds=1))
    assert running.met() is None
    assert domain.handling_clock(t0, t0 + dt.timedelta(hours=2)).met() is True
    assert domain.door_clock(t0, t0 + dt.timedelta(hours=73)).met() is False
    assert domain.handling_clock(None, None).elapsed(t0) is None
    assert domain.on_time_rate([True, False, True, True]) == 0.75
    assert domain.on_time_rate([]) is None


def test_shipment_state_machine_moves_forward_only():
    S = ShipmentStatus
    assert domain.may_move(domain.SHIPMENT_NEXT, S.BOOKED, S.RELEASED)
    assert not domain.may_move(domain.SHIPMENT_NEXT, S.SHIPPED, S.CANCELLED)
    assert not domain.may_move(domain.SHIPMENT_NEXT, S.DELIVERED, S.RETURNED)
    assert domain.may_move(domain.SHIPMENT_NEXT, S.MANIFESTED, S.LABELLED)  # missing at handover
    for status, nexts in domain.SHIPMENT_NEXT.items():
        assert status not in nexts


def test_tracking_effects():
    assert domain.tracking_effect("delivered") == ShipmentStatus.DELIVERED
    assert domain.tracking_effect("exception") is None
    assert domain.tracking_effect("exception", final=True) == ShipmentStatus.DELIVERY_FAILED
    assert domain.tracking_effect("departed_KUL") is None


def test_hub_accepts_every_carrier_tracking_code_and_its_own_return():
    from ehub.fulfillment.carriers import TRACKING_CODES

    assert {*TRACKING_CODES, "returned"} == domain.TRACKING_CODES


def test_scans():
    assert domain.normalize_scan("  ab12\r\n") == "AB12"
    with pytest.raises(ScanError):
        domain.normalize_scan("   \n")
    domain.check_receipt(expected=3, counted=1, damaged=1, qty=1)
    with pytest.raises(ScanError) as over:
        domain.check_receipt(expected=3, counted=2, damaged=1, qty=1)
    assert over.value.code == "over_receipt"
    with pytest.raises(ScanError) as wrong:
        domain.check_pick({"A"}, "B", 1)
    assert wrong.value.code == "wrong_item"


def test_discrepancies():
    found = domain.discrepancies([("A", 10, 7, 1), ("B", 5, 5, 0)])
    assert [(d.sku_code, d.kind, d.qty) for d in found] == [("A", "damaged", 1), ("A", "short", 2)]


@given(st.integers(0, 9_999_999))
def test_mawb_check_digit(serial):
    number = domain.mawb_number("232", serial)
    assert domain.is_valid_mawb(number)
    last = int(number[-1])
    assert not domain.is_valid_mawb(number[:-1] + str((last + 1) % 10))  # any other check digit
