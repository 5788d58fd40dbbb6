"""Property test against the database: random sequences of service calls keep the invariants.

Each hypothesis example runs in a transaction that is rolled back, so examples do not see each
other's rows (the pytest-django database fixture is set up once per test function).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehub.catalog.models import Reservation, ReservationStatus, Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.core.errors import DomainError

from .inventory_fixtures import *  # noqa: F403

KEYS = [f"k{i}" for i in range(5)]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("adjust"), st.integers(-8, 12)),
        st.tuples(st.just("receive"), st.integers(1, 6)),
        st.tuples(st.just("return"), st.integers(1, 3)),
        st.tuples(st.just("reserve"), st.sampled_from(KEYS), st.integers(1, 6)),
        st.tuples(st.just("release"), st.sampled_from(KEYS), st.none() | st.integers(1, 4)),
        st.tuples(st.just("consume"), st.sampled_from(KEYS), st.none() | st.integers(1, 4)),
    ),
    max_size=25,
)


class Rollback(Exception):
    pass


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_service_calls_keep_stock_and_movements_consistent(
    steps, db, merchant_ctx, system_ctx, sku, hub
):
    try:
        with transaction.atomic():
            for step in steps:
                name, *args = step
                try:
                    if name == "adjust":
                        inventory.adjust(merchant_ctx, sku, hub, args[0])
                    elif name == "receive":
                        inventory.receive(system_ctx, sku, hub, args[0])
                    elif name == "return":
                        inventory.return_to_stock(merchant_ctx, sku, hub, args[0])
                    elif name == "reserve":
                        inventory.reserve(system_ctx, sku=sku, hub=hub, qty=args[1], key=args[0])
                    elif name == "release":
                        inventory.release(system_ctx, args[0], args[1])
                    else:
                        inventory.consume(system_ctx, args[0], args[1])
                except DomainError:
                    pass  # refused: must have changed nothing (checked by the sums below)
                check_invariants(sku, hub)
            raise Rollback
    except Rollback:
        pass


def check_invariants(sku, hub) -> None:
    stock = Stock.objects.filter(sku=sku, hub=hub).first()
    if stock is None:
        assert not StockMovement.objects.exists()
        return
    assert stock.on_hand >= stock.reserved >= 0
    sums = StockMovement.objects.filter(stock=stock).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )
    assert (sums["on_hand"] or 0, sums["reserved"] or 0) == (stock.on_hand, stock.reserved)
    last = StockMovement.objects.filter(stock=stock).order_by("-pk").first()
    assert last is None or (last.on_hand_after, last.reserved_after) == (
        stock.on_hand,
        stock.reserved,
    )
    # What the active holds still cover is exactly what the stock row says is reserved, and a
    # closed hold covers nothing.
    for r in Reservation.objects.filter(stock=stock):
        if r.status == ReservationStatus.ACTIVE:
            assert r.held > 0 and r.closed_at is None
        else:
            assert r.held == 0 and r.closed_at is not None
    held = sum(
        r.held for r in Reservation.objects.filter(stock=stock, status=ReservationStatus.ACTIVE)
    )
    assert held == stock.reserved
