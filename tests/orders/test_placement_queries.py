"""The SQL budget of placing an order: ≤ 25 statements for a flash-sale order and for a mixed
(stock SKU + flash-sale offer) order, on PostgreSQL and SQLite, with the real engines
(campaigns gate, catalog inventory, customs quota, payments intent) — no fakes.

Counted inside the test's transaction, so the placement's own transaction shows as a
SAVEPOINT/RELEASE pair (2 statements a production request does not pay: there it is BEGIN and
COMMIT, which Django does not count). Measured at writing: flash-sale 17 on PostgreSQL, 21 on
SQLite (the gate's claim is one function call on PostgreSQL, 3 statements in a savepoint on
SQLite); mixed 21 and 25. With the Redis gate on (production) a flash-sale order reads its
offer lines first (+1: 18 and 22) so that a sold-out buyer costs that one light read alone.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import DETAILS, ctx_of

BUDGET = 25


@pytest.fixture
def redis_off(settings):
    """The database-only gate (no EHUB_REDIS_URL), whatever the environment sets."""
    settings.REDIS_URL = ""


def _place(world, cart, key):
    from ehub.orders.services import checkout

    checkout.current_rate()  # cached per process (30 s), as in production
    ctx = ctx_of(world.buyer)
    with CaptureQueriesContext(connection) as queries:
        placed = checkout.place(ctx, cart, DETAILS, idempotency_key=key)
    return placed, [q["sql"] for q in queries.captured_queries]


def _describe(sql: list[str]) -> str:
    return "\n".join(f"{i:2d} {q[:140]}" for i, q in enumerate(sql, 1))


@pytest.mark.parametrize("mixed", [False, True], ids=["flash-sale", "mixed"])
def test_placing_an_order_costs_at_most_25_queries(world, cart_with, offer, mixed, redis_off):
    from ehub.campaigns.models import Claim
    from ehub.catalog.models import Reservation, Stock
    from ehub.customs.models import QuotaReservation
    from ehub.orders.models import Order
    from ehub.payments.models import PaymentIntent

    cart = cart_with(durian=1 if mixed else 0, offer=offer)
    reserved_before = Stock.objects.get(sku=world.durian).reserved  # the offer's allocation
    placed, sql = _place(world, cart, "budget-1")

    assert len(sql) <= BUDGET, _describe(sql)
    # Fewer statements, same effects: everything held, one intent with one part per order.
    order = Order.objects.get(public_id=placed.orders[0])
    assert order.lines.count() == (2 if mixed else 1)
    assert Claim.objects.filter(key__startswith=f"order:{order.public_id}:").count() == 1
    assert QuotaReservation.objects.get(key=f"quota:{order.public_id}").amount == order.quota_cny
    intent = PaymentIntent.objects.get(public_id=placed.intent)
    assert intent.amount == placed.total.amount
    assert [p.reference for p in intent.parts.all()] == placed.orders
    held = Reservation.objects.filter(key__startswith=f"order:{order.public_id}:").count()
    assert held == (1 if mixed else 0)
    if mixed:
        assert Stock.objects.get(sku=world.durian).reserved == reserved_before + 1
    # No savepoint of the engines' own: one transaction (the test's pair, + SQLite's claim).
    savepoints = sum(q.startswith("SAVEPOINT") for q in sql)
    assert savepoints <= (1 if connection.vendor == "postgresql" else 2), _describe(sql)


def test_a_replayed_placement_answers_the_first(world, cart_with, offer):
    cart = cart_with(durian=1, offer=offer)
    first, _sql = _place(world, cart, "budget-2")
    again, _sql = _place(world, cart, "budget-2")
    assert again.replayed and again.orders == first.orders and again.intent == first.intent


def test_a_sold_out_buyer_is_refused_before_any_order_work(
    world, cart_with, offer, make_user, django_assert_max_num_queries, redis_off
):
    """Sold out: the cart read and the gate's refusal; no pricing, no quota, no payment, no
    idempotency lookup. Without Redis (here) the gate asks the database (PostgreSQL: its claim
    function and a "why" read); with Redis (production, the bench) Redis refuses instead."""
    from ehub.campaigns.services import gate
    from ehub.orders.models import Order
    from ehub.orders.services import carts, checkout

    for i in range(offer.allocated_units):
        gate.claim_offer_units(make_user(f"early{i}@example.cn"), offer, 1, key=f"early-{i}")
    ctx = ctx_of(world.buyer)
    cart = carts.cart_of(ctx, create=True)
    carts.add_line(ctx, cart, offer=offer.public_id, qty=1)
    checkout.current_rate()
    # the test's savepoint, rollback to it and release; the cart; the gate's statements
    budget = 3 + 1 + (2 if connection.vendor == "postgresql" else 8)
    with django_assert_max_num_queries(budget), pytest.raises(gate.SoldOut):
        checkout.place(ctx, cart, DETAILS, idempotency_key="late")
    assert not Order.objects.filter(buyer=world.buyer).exists()


@pytest.fixture
def redis_on(settings, monkeypatch):
    """The Redis gate on (as in production and the bench), under a key prefix of its own."""
    import os
    import uuid

    import redis

    from ehub.campaigns.services import redis_gate

    url = os.environ.get("EHUB_REDIS_URL") or "redis://127.0.0.1:6379/14"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError):
        if os.environ.get("EHUB_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is not reachable at {url}.")
        pytest.skip(f"Redis is not reachable at {url}.")
    prefix = f"ehub-test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_URL = url
    monkeypatch.setattr(redis_gate, "KEY_PREFIX", prefix)
    monkeypatch.setattr(redis_gate, "_down_until", 0.0)
    monkeypatch.setattr(redis_gate, "_dirty", set())
    yield client
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if stale:
        client.delete(*stale)


def test_with_redis_a_sold_out_buyer_costs_two_light_reads(
    world, cart_with, offer, make_user, redis_on, django_assert_max_num_queries
):
    """With the Redis gate (production): the offer lines' light read, Redis says sold out,
    nothing else — not the cart's full read, not the gate's database statements."""
    from ehub.campaigns.services import gate, redis_gate
    from ehub.orders.services import carts, checkout

    for i in range(offer.allocated_units):
        gate.claim_offer_units(make_user(f"early{i}@example.cn"), offer, 1, key=f"early-{i}")
    # The test's transaction never commits, so Redis never took those units (it takes them on
    # commit): copy the database's state into Redis, as a committed sale would have left it.
    redis_gate.resync(offer.pk)
    ctx = ctx_of(world.buyer)
    cart = carts.cart_of(ctx, create=True)
    carts.add_line(ctx, cart, offer=offer.public_id, qty=1)
    checkout.current_rate()
    with CaptureQueriesContext(connection) as queries, pytest.raises(gate.SoldOut):
        checkout.place(ctx, cart, DETAILS, idempotency_key="late")
    sql = [q["sql"] for q in queries.captured_queries]
    work = [q for q in sql if "SAVEPOINT" not in q]
    assert len(work) == 1 and "orders_cartline" in work[0], _describe(sql)


def test_with_redis_a_flash_sale_placement_stays_in_budget(world, cart_with, offer, redis_on):
    from ehub.campaigns.models import Claim
    from ehub.campaigns.services import redis_gate

    redis_gate.resync(offer.pk)  # Redis's copy of the offer is filled once per approval
    cart = cart_with(durian=0, offer=offer)
    placed, sql = _place(world, cart, "budget-redis")
    assert len(sql) <= BUDGET, _describe(sql)
    assert Claim.objects.filter(key__startswith=f"order:{placed.orders[0]}:").count() == 1
