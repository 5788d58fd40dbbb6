"""Property: whatever the cart and whichever way an order ends before shipment (expiry, buyer
cancel before or after payment, payment cancelled, customs rejection), every hold it took is
given back: stock reserved, flash-sale units, and the buyer's quota."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehub.core import clock, events
from ehub.core.tasks import run_pending_tasks

from .conftest import DETAILS, ctx_of

pytestmark = pytest.mark.django_db

PATHS = ["expire", "cancel_unpaid", "cancel_paid", "payment_cancelled", "customs_rejected"]


def _snapshot(world, offer):
    from django.db.models import Sum

    from ehub.campaigns.models import OfferBucket
    from ehub.catalog.models import Stock
    from ehub.customs.models import BuyerQuota

    return {
        "stock": dict(Stock.objects.values_list("sku_id", "reserved")),
        "offer": OfferBucket.objects.filter(offer=offer).aggregate(s=Sum("remaining"))["s"],
        "quota": sum(BuyerQuota.objects.values_list("reserved", flat=True)),
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    durian=st.integers(0, 3),
    coffee=st.integers(0, 2),
    with_offer=st.booleans(),
    path=st.sampled_from(PATHS),
)
def test_every_closing_path_releases_everything(
    engines, world, offer, make_user, durian, coffee, with_offer, path
):
    from ehub.campaigns.models import Claim
    from ehub.catalog.models import Reservation
    from ehub.customs.models import QuotaReservation
    from ehub.orders.models import Order
    from ehub.orders.services import carts, checkout, lifecycle

    if not (durian or coffee or with_offer):
        durian = 1
    buyer = make_user()
    ctx = ctx_of(buyer)
    cart = carts.cart_of(ctx, create=True)
    if durian:
        carts.add_line(ctx, cart, product=world.durian.product.public_id, qty=durian)
    if coffee:
        carts.add_line(ctx, cart, product=world.coffee.product.public_id, qty=coffee)
    if with_offer:
        carts.add_line(ctx, cart, offer=offer.public_id, qty=1)
    before = _snapshot(world, offer)
    placed = checkout.place(ctx, cart, DETAILS)
    orders = list(Order.objects.filter(public_id__in=placed.orders))
    assert _snapshot(world, offer) != before  # something is held

    def captured():
        events.publish(
            "payments.captured",
            {"intent": placed.intent, "references": placed.orders, "provider_txn_id": "T1"},
        )
        run_pending_tasks(raise_errors=True)

    if path == "expire":
        lifecycle.expire_unpaid(clock.now() + dt.timedelta(minutes=31))
    elif path == "cancel_unpaid":
        lifecycle.cancel(ctx, orders[0].public_id, "no")
    elif path == "cancel_paid":
        captured()
        for order in orders:
            lifecycle.cancel(ctx, order.public_id, "no")
    elif path == "payment_cancelled":
        events.publish(
            "payments.cancelled",
            {"intent": placed.intent, "references": placed.orders, "reason": "x"},
        )
        run_pending_tasks(raise_errors=True)
    else:
        captured()
        for order in orders:
            events.publish(
                "customs.rejected",
                {
                    "declaration": "D",
                    "order_no": order.public_id,
                    "filing_org_id": 1,
                    "status": "100",
                    "info": "",
                },
            )
        run_pending_tasks(raise_errors=True)

    assert _snapshot(world, offer) == before
    for order in orders:
        assert not Reservation.objects.filter(
            status="active", key__startswith=order.stock_key
        ).exists()
        order.refresh_from_db()
        assert order.status in ("expired", "cancelled", "rejected")
        assert not Claim.objects.filter(key__startswith=order.stock_key, status="held").exists()
        assert not QuotaReservation.objects.filter(key=order.quota_key, status="reserved").exists()


@given(
    reported=st.one_of(st.none(), st.integers(-10_000, 10_000)),
    shipped=st.one_of(st.none(), st.integers(-10_000, 0)),
)
def test_a_carriers_event_time_stays_between_shipping_and_now(reported, shipped):
    from ehub.orders.domain import event_time

    now = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    at = lambda minutes: now + dt.timedelta(minutes=minutes)  # noqa: E731
    result = event_time(
        None if reported is None else at(reported),
        not_before=None if shipped is None else at(shipped),
        now=now,
    )
    if reported is None:
        assert result is None
        return
    expected = min(reported, 0)  # never after now
    if shipped is not None:
        expected = max(expected, shipped)  # never before shipping (shipped is never after now)
    assert result == at(expected)
