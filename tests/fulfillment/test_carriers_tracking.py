"""Sandbox tracking events (order, determinism, exceptions, polling) and signed webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ehub.core import clock
from ehub.core.money import Money
from ehub.fulfillment.carriers import (
    TRACKING_CODES,
    Address,
    BookingRequest,
    InvalidSignature,
    InvalidWaybill,
)
from ehub.fulfillment.carriers.registry import CARRIERS
from ehub.fulfillment.carriers.sandbox import SIGNATURE_HEADER, TIMESTAMP_HEADER, SandboxCarrier

BOOKED = datetime(2025, 3, 3, 2, 15, tzinfo=UTC)
SENDER = Address(
    "Durian Raja", "+60387871234", "Selangor", "Sepang", "KLIA", "Lot 1", "64000", "MY"
)
PROVINCES = ["上海市", "广东省", "北京市", "四川省", "新疆维吾尔自治区", "浙江省"]
FOREVER = BOOKED + timedelta(days=30)


def carrier(secret="test-secret") -> SandboxCarrier:  # noqa: S107 - a sandbox secret
    return SandboxCarrier(**CARRIERS[0], seed=2017, webhook_secret=secret)


def book(c: SandboxCarrier, i: int, province: str = "上海市"):
    consignee = Address("李娜", "13900139000", province, "某市", "某区", "某路 1 号", "100000")
    return c.book(
        BookingRequest(f"ORD-{i}", SENDER, consignee, 900, None, Money(9000, "CNY"), "", BOOKED, i)
    )


@pytest.fixture(scope="module")
def fleet():
    """200 parcels to six provinces with their full timelines."""
    c = carrier()
    bookings = [book(c, i, PROVINCES[i % len(PROVINCES)]) for i in range(200)]
    return c, [(b, c.track(b.waybill_no, now=FOREVER)) for b in bookings]


NORMAL = ["picked_up", "departed_KUL", "arrived", "import_cleared", "out_for_delivery"]


def test_every_timeline_follows_the_parcel_route(fleet):
    _, timelines = fleet
    exceptions = 0
    for booking, events in timelines:
        codes = [e.code for e in events]
        assert set(codes) <= set(TRACKING_CODES)
        assert codes[:5] == NORMAL
        tail = codes[5:]
        assert tail in (
            ["delivered"],
            ["exception"],  # returned to sender
            ["exception", "out_for_delivery", "delivered"],  # redelivered the next day
        ), tail
        exceptions += "exception" in tail
        times = [e.at for e in events]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[0] > booking.booked_at  # picked up after booking, before the cut-off
        assert events[-1].final and not any(e.final for e in events[:-1])
        assert len({e.event_id for e in events}) == len(events)
        gateway = booking.routing_code.split("-")[0]
        assert events[2].location == gateway
        # Zone 1-3 parcels that are not held up arrive within the 72-hour promise.
        if tail == ["delivered"] and booking.zone <= 3:
            assert events[-1].at - booking.booked_at < timedelta(hours=72)
    # A seeded 4 % share of exceptions: some, not many.
    assert 1 <= exceptions <= 25


def test_exception_events_carry_a_reason(fleet):
    _, timelines = fleet
    exceptions = [e for _, events in timelines for e in events if e.code == "exception"]
    assert exceptions
    for e in exceptions:
        assert e.reason in {"consignee_absent", "address_incomplete", "refused"}
        assert ("returning to sender" in e.description) == e.final


def test_polling_sees_only_what_happened_by_now():
    c = carrier()
    b = book(c, 1)
    full = c.track(b.waybill_no, now=FOREVER)
    assert c.track(b.waybill_no, now=BOOKED) == []
    for k, event in enumerate(full, start=1):
        assert c.track(b.waybill_no, now=event.at) == full[:k]
        if k < len(full):
            assert c.track(b.waybill_no, now=event.at + timedelta(seconds=1)) == full[:k]
    with clock.frozen(full[2].at):
        assert c.track(b.waybill_no) == full[:3]


def test_tracking_is_deterministic_across_processes():
    """Another process (fresh sandbox) answers the same events given the booking hints."""
    first = carrier()
    b = book(first, 42, "广东省")
    events = first.track(b.waybill_no, now=FOREVER)
    elsewhere = carrier()
    with pytest.raises(InvalidWaybill):
        elsewhere.track(b.waybill_no, now=FOREVER)  # it never saw the booking, no hints
    hinted = elsewhere.track(
        b.waybill_no, booked_at=b.booked_at, routing_code=b.routing_code, now=FOREVER
    )
    assert hinted == events


def test_cancelled_waybill_has_no_events():
    c = carrier()
    b = book(c, 7)
    c.cancel(b.waybill_no)
    assert c.track(b.waybill_no, now=FOREVER) == []


# -- webhooks -----------------------------------------------------------------------------------


def test_signed_webhook_round_trip():
    c = carrier()
    b = book(c, 3)
    events = c.track(b.waybill_no, now=FOREVER)
    body = c.webhook_body(events[:2])
    with clock.frozen(BOOKED):
        headers = c.sign_webhook(body)
        assert c.parse_webhook(body, headers) == events[:2]
        lower = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive
        assert c.parse_webhook(body, lower) == events[:2]


def test_webhook_with_bad_signature_is_refused():
    c = carrier()
    b = book(c, 4)
    events = c.track(b.waybill_no, now=FOREVER)
    body = c.webhook_body(events)
    with clock.frozen(BOOKED):
        headers = c.sign_webhook(body)
        tampered = body.replace(b"delivered", b"exception")
        assert tampered != body
        with pytest.raises(InvalidSignature):
            c.parse_webhook(tampered, headers)
        with pytest.raises(InvalidSignature):
            carrier("another-secret").parse_webhook(body, headers)
        with pytest.raises(InvalidSignature):
            c.parse_webhook(body, {TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]})
        forged = {**headers, SIGNATURE_HEADER: "v1=" + "0" * 64}
        with pytest.raises(InvalidSignature):
            c.parse_webhook(body, forged)


def test_stale_webhook_is_refused():
    c = carrier()
    body = json.dumps({"type": "tracking.updated", "events": []}).encode()
    headers = c.sign_webhook(body, at=BOOKED)
    with clock.frozen(BOOKED + timedelta(minutes=4)):
        assert c.parse_webhook(body, headers) == []
    with clock.frozen(BOOKED + timedelta(minutes=6)), pytest.raises(InvalidSignature):
        c.parse_webhook(body, headers)


def test_webhook_for_a_foreign_waybill_is_refused():
    c = carrier()
    body = json.dumps(
        {
            "type": "tracking.updated",
            "events": [
                {
                    "id": "x-01",
                    "tracking_number": "EA000471101MY",
                    "code": "delivered",
                    "time": "2025-03-04T01:00:00Z",
                    "location": "CN-SH",
                    "description": "Delivered",
                }
            ],
        }
    ).encode()
    with clock.frozen(BOOKED), pytest.raises(InvalidWaybill):
        c.parse_webhook(body, c.sign_webhook(body))
