"""Batches of holds (``reserve_batch``, ``consume_batch``): the same result as one ``reserve`` /
``consume`` per hold, all or nothing, in a number of statements that does not grow with N."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ehub.catalog.models import MovementReason, Reservation, ReservationStatus, Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.catalog.services.inventory import Hold
from ehub.core.errors import ValidationFailed

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


@pytest.fixture
def stocked(system_ctx, sku, make_sku, merchant_org, hub):
    """Two SKUs with 100 units each at the hub."""
    second = make_sku(merchant_org, code="DUR-D24-500G")
    for s in (sku, second):
        inventory.receive(system_ctx, s, hub, 100)
    return sku, second


def movements_of(stock: Stock) -> list[tuple]:
    return list(
        StockMovement.objects.filter(stock=stock)
        .order_by("pk")
        .values_list(
            "reason", "on_hand_delta", "reserved_delta", "on_hand_after", "reserved_after", "note"
        )
    )


def snapshot(hub):
    """Levels, holds and movements (without ids, keys' order kept) of every stock at the hub."""
    out = []
    for stock in Stock.objects.filter(hub=hub).order_by("sku__code"):
        holds = list(
            Reservation.objects.filter(stock=stock)
            .order_by("pk")
            .values_list("qty", "consumed_qty", "released_qty", "status", "purpose")
        )
        out.append((stock.on_hand, stock.reserved, holds, movements_of(stock)))
    return out


def test_reserve_batch_leaves_what_one_reserve_per_hold_leaves(
    system_ctx, stocked, hub, make_org, make_sku, merchant_org
):
    a, b = stocked
    plan = [(a, 2, "k1"), (b, 1, "k2"), (a, 3, "k3"), (a, 1, "k4")]
    made = inventory.reserve_batch(
        system_ctx, [Hold(s, hub, q, f"batch:{k}") for s, q, k in plan], purpose="checkout"
    )
    assert [r.key for r in made] == ["batch:k1", "batch:k2", "batch:k3", "batch:k4"]
    assert all(r.pk and r.status == ReservationStatus.ACTIVE for r in made)
    batched = snapshot(hub)

    # The same holds, one reserve each, at a second hub stocked the same way.
    twin = make_org(kind="hub_operator", name="Second hub")
    for s in stocked:
        inventory.receive(system_ctx, s, twin, 100)
    for s, q, k in plan:
        inventory.reserve(system_ctx, sku=s, hub=twin, qty=q, key=f"one:{k}", purpose="checkout")
    assert snapshot(twin) == batched
    assert batched[1][:2] == (100, 6)  # DUR-MK-1KG (after DUR-D24): 2 + 3 + 1 held
    assert [m[4] for m in batched[1][3] if m[0] == MovementReason.RESERVATION] == [2, 5, 6]


def test_reserve_batch_is_idempotent_by_key(system_ctx, stocked, hub):
    a, _b = stocked
    first = inventory.reserve_batch(system_ctx, [Hold(a, hub, 2, "k1"), Hold(a, hub, 1, "k2")])
    again = inventory.reserve_batch(system_ctx, [Hold(a, hub, 2, "k1"), Hold(a, hub, 4, "k3")])
    assert again[0].pk == first[0].pk
    assert Stock.objects.get(sku=a, hub=hub).reserved == 7  # k1 held once
    assert StockMovement.objects.filter(reason=MovementReason.RESERVATION).count() == 3


def test_reserve_batch_refuses_everything_when_one_hold_cannot_be_made(
    system_ctx, stocked, hub, other_sku
):
    a, b = stocked
    inventory.reserve(system_ctx, sku=a, hub=hub, qty=1, key="taken")
    before = snapshot(hub)
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_batch(
            system_ctx,
            [
                Hold(a, hub, 5, "ok-1"),
                Hold(b, hub, 101, "too-many"),  # only 100 of b
                Hold(a, hub, 2, "taken"),  # the key holds 1 already
                Hold(a, hub, 0, "zero"),
            ],
        )
    assert codes(exc.value) == [("holds[3].qty", "invalid_quantity")]
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_batch(
            system_ctx,
            [Hold(a, hub, 5, "ok-1"), Hold(b, hub, 101, "too-many"), Hold(a, hub, 2, "taken")],
        )
    assert codes(exc.value) == [("holds[2].key", "idempotency_key_reused")]
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_batch(system_ctx, [Hold(a, hub, 5, "ok-1"), Hold(b, hub, 101, "k")])
    assert codes(exc.value) == [("holds[1].qty", "insufficient_stock")]
    assert "100" in exc.value.errors[0].message  # how many are available
    with pytest.raises(ValidationFailed) as exc:
        inventory.reserve_batch(system_ctx, [Hold(a, hub, 1, "d"), Hold(a, hub, 1, "d")])
    assert codes(exc.value) == [("holds[1].key", "duplicate")]
    with pytest.raises(ValidationFailed) as exc:  # as reserve and reserve_many name it
        inventory.reserve_batch(system_ctx, [Hold(a, hub, 1, "ok-2"), Hold(10**9, hub, 1, "x")])
    assert codes(exc.value) == [("holds[1].sku", "not_found")]
    assert snapshot(hub) == before
    assert not Reservation.objects.filter(key__in=["ok-1", "too-many", "k", "d", "ok-2"]).exists()


def test_reserve_batch_statements_do_not_grow_with_the_batch(system_ctx, stocked, hub):
    a, b = stocked

    def count(n: int, tag: str) -> int:
        holds = [Hold(a if i % 2 else b, hub, 1, f"{tag}:{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            inventory.reserve_batch(system_ctx, holds)
        return len(queries)

    assert count(2, "small") == count(40, "large") <= 8


def test_consume_batch_leaves_what_one_consume_per_key_leaves(system_ctx, stocked, hub, make_org):
    a, b = stocked
    twin = make_org(kind="hub_operator", name="Second hub")
    for s in stocked:
        inventory.receive(system_ctx, s, twin, 100)
    plan = [(a, 3, "k1"), (b, 2, "k2"), (a, 1, "k3")]
    for where, prefix in ((hub, "batch"), (twin, "one")):
        for s, q, k in plan:
            inventory.reserve(system_ctx, sku=s, hub=where, qty=q, key=f"{prefix}:{k}")
    # k1 ships 2 of its 3 (stays active), the others ship whole.
    items = [("batch:k1", 2), ("batch:k2", 2), ("batch:k3", 1)]
    shipped = inventory.consume_batch(system_ctx, items)
    assert {r.key: r.status for r in shipped} == {
        "batch:k1": ReservationStatus.ACTIVE,
        "batch:k2": ReservationStatus.CONSUMED,
        "batch:k3": ReservationStatus.CONSUMED,
    }
    for key, qty in sorted(("one:" + k.split(":")[1], q) for k, q in items):
        inventory.consume(system_ctx, key, qty)
    assert snapshot(hub) == snapshot(twin)
    assert snapshot(hub)[1][:2] == (97, 1)  # DUR-MK-1KG: 3 of 4 held units shipped


def test_consume_batch_sums_a_key_named_twice(system_ctx, stocked, hub):
    a, _b = stocked
    inventory.reserve(system_ctx, sku=a, hub=hub, qty=5, key="offer:OFR-1")
    inventory.consume_batch(system_ctx, [("offer:OFR-1", 2), ("offer:OFR-1", 3)])
    hold = Reservation.objects.get(key="offer:OFR-1")
    assert (hold.consumed_qty, hold.status) == (5, ReservationStatus.CONSUMED)
    assert Stock.objects.get(sku=a, hub=hub).on_hand == 95


def test_consume_batch_refuses_everything_naming_each_bad_item(system_ctx, stocked, hub):
    a, _b = stocked
    inventory.reserve(system_ctx, sku=a, hub=hub, qty=2, key="good")
    inventory.reserve(system_ctx, sku=a, hub=hub, qty=1, key="gone")
    inventory.release(system_ctx, "gone")
    before = snapshot(hub)
    with pytest.raises(ValidationFailed) as exc:
        inventory.consume_batch(system_ctx, [("good", 3), ("gone", 1), ("nobody", 1), ("good", 0)])
    assert codes(exc.value) == [("items[3].qty", "invalid_quantity")]
    with pytest.raises(ValidationFailed) as exc:
        inventory.consume_batch(system_ctx, [("good", 3), ("gone", 1), ("nobody", 1)])
    assert sorted(codes(exc.value)) == [
        ("items[0].qty", "exceeds_held"),
        ("items[1].key", "reservation_closed"),
        ("items[2].key", "not_found"),
    ]
    assert snapshot(hub) == before


def test_consume_batch_statements_do_not_grow_with_the_batch(system_ctx, stocked, hub):
    a, b = stocked

    def count(n: int, tag: str) -> int:
        keys = [f"{tag}:{i}" for i in range(n)]
        inventory.reserve_batch(system_ctx, [Hold(a if i % 2 else b, hub, 1, k) for i, k in
                                             enumerate(keys)])  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            inventory.consume_batch(system_ctx, [(k, 1) for k in keys])
        return len(queries)

    assert count(2, "small") == count(40, "large") <= 8
