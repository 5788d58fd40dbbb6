"""Orders tells the academy's export-readiness score whether a merchant has shipped abroad."""

from __future__ import annotations

import pytest

from ehub.academy import readiness
from ehub.core import clock
from ehub.orders.models import Order
from ehub.orders.services import checkout

from .conftest import DETAILS


@pytest.mark.django_db
def test_first_order_shipped_probe_follows_the_merchants_orders(
    engines, world, buyer_ctx, cart_with
):
    probe = readiness._PROBES["first_order_shipped"]
    placement = checkout.place(buyer_ctx, cart_with(durian=1), DETAILS)
    order = Order.objects.select_related("merchant").get(public_id=placement.orders[0])
    assert probe(order.merchant) is False  # placed, not shipped
    Order.objects.filter(pk=order.pk).update(shipped_at=clock.now())
    assert probe(order.merchant) is True
    assert probe(world.other_merchant) is False  # another merchant's shipments do not count
