"""Checkout and placement: quotes in CNY at a locked rate, refusals, holds, idempotency,
expiry, scoping and the query budget of placing an order."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, ValidationFailed
from ehub.core.money import Money

from .conftest import DETAILS, ID_NUMBER, ctx_of

pytestmark = pytest.mark.django_db


def _held(key):
    from ehub.catalog.models import Reservation

    return Reservation.objects.get(key=key)


def test_quote_shows_cny_freight_taxes_and_quota(engines, world, buyer_ctx, cart_with):
    from ehub.orders.services import checkout

    cart = cart_with(durian=2, coffee=1)
    quote = checkout.quote(buyer_ctx, cart, id_number=ID_NUMBER, province="浙江省")
    assert len(quote.groups) == 2  # one order per merchant
    durian = next(g for g in quote.groups if g.merchant_id == world.merchant.pk)
    assert durian.goods_cny == 2 * 15_000  # 2 × MYR 100.00 at 1.5
    assert durian.freight_flat and durian.freight_cny > 0
    # VAT 9 % × 70 % on goods + freight for frozen fruit (cbec regime)
    assert durian.regime == "cbec"
    assert durian.vat == round((durian.goods_cny + durian.freight_cny) * 0.063)
    assert quote.quota.remaining == Money(2_600_000, "CNY")
    assert quote.quota_after == Money(2_600_000 - sum(g.quota for g in quote.groups), "CNY")
    assert not quote.refused
    assert quote.expires_at == pytest.approx(
        clock.now() + dt.timedelta(minutes=15), abs=dt.timedelta(seconds=5)
    )


def test_quote_refuses_what_cbec_refuses(engines, world, buyer_ctx, cart_with):
    from ehub.orders.services import carts, checkout

    palm = world.make_sku(world.merchant, gcode="1511100000", title="Crude palm oil")
    cart = cart_with(durian=0)
    carts.add_line(buyer_ctx, cart, product=palm.product.public_id, qty=1)
    quote = checkout.quote(buyer_ctx, cart)
    assert quote.refused
    assert quote.groups[0].refusal_code == "not_on_positive_list"
    with pytest.raises(ValidationFailed) as exc:
        checkout.place(buyer_ctx, cart, DETAILS)
    assert exc.value.errors[0].code == "not_on_positive_list"
    assert not engines.named("create_intent")


def test_multi_item_order_over_5000_is_refused(engines, world, buyer_ctx, cart_with):
    from ehub.orders.services import carts, checkout

    pricey = world.make_sku(world.merchant, price_sen=300_000, title="Bird's nest box")
    cart = cart_with(durian=0)
    carts.add_line(buyer_ctx, cart, product=pricey.product.public_id, qty=2)  # CNY 9,000
    with pytest.raises(ValidationFailed) as exc:
        checkout.place(buyer_ctx, cart, DETAILS)
    assert exc.value.errors[0].code == "over_transaction_limit"


def test_bad_identity_names_the_fields(engines, buyer_ctx, cart_with):
    from ehub.orders.services import checkout

    cart = cart_with()
    bad = {**DETAILS, "id_number": "110105194912310021", "phone": "12", "street": ""}
    with pytest.raises(ValidationFailed) as exc:
        checkout.place(buyer_ctx, cart, bad)
    assert {e.field for e in exc.value.errors} == {"id_number", "phone", "street"}


def test_place_holds_everything_and_creates_one_intent(engines, world, buyer_ctx, cart_with, offer):
    from ehub.campaigns.models import Claim
    from ehub.customs.models import QuotaReservation
    from ehub.orders.models import CartLine, Order
    from ehub.orders.services import checkout

    cart = cart_with(durian=2, coffee=1, offer=offer)
    placed = checkout.place(buyer_ctx, cart, DETAILS)
    assert len(placed.orders) == 2
    assert placed.checkout_url == f"/pay/{placed.intent}/"
    assert len(engines.named("create_intent")) == 1
    parts = engines.intents[placed.intent]["parts"]
    assert {p.reference for p in parts} == set(placed.orders)
    assert sum(p.total.amount for p in parts) == placed.total.amount
    orders = {o.merchant_id: o for o in Order.objects.filter(public_id__in=placed.orders)}
    durian_order = orders[world.merchant.pk]
    assert durian_order.status == "placed"
    assert durian_order.lines.count() == 2
    stock_line = durian_order.lines.get(offer__isnull=True)
    assert _held(stock_line.reservation_key).qty == 2
    claim = Claim.objects.get(key=durian_order.lines.get(offer__isnull=False).claim_key)
    assert claim.status == "held"
    assert (
        QuotaReservation.objects.get(key=f"quota:{durian_order.public_id}").amount
        == durian_order.quota_cny
    )
    # PII encrypted at rest, masked for display
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM orders_order WHERE id = %s", [durian_order.pk])
        raw = cursor.fetchone()[0]
    assert ID_NUMBER not in raw
    assert durian_order.id_masked.endswith("2X") and "1949" not in durian_order.id_masked
    assert not CartLine.objects.filter(cart=cart).exists()


def test_idempotency_key_replays_and_refuses_other_body(engines, buyer_ctx, cart_with):
    from ehub.orders.services import checkout

    cart = cart_with()
    first = checkout.place(buyer_ctx, cart, DETAILS, idempotency_key="k-1")
    again = checkout.place(buyer_ctx, cart, DETAILS, idempotency_key="k-1")
    assert again.replayed and again.orders == first.orders and again.intent == first.intent
    with pytest.raises(Conflict) as exc:
        checkout.place(buyer_ctx, cart, {**DETAILS, "street": "文三路 2 号"}, idempotency_key="k-1")
    assert exc.value.code == "idempotency_key_reused"
    assert len(engines.named("create_intent")) == 1


def test_expired_quote_is_refused(engines, buyer_ctx, cart_with):
    from ehub.orders.services import checkout

    cart = cart_with()
    with clock.frozen():
        quote = checkout.quote(buyer_ctx, cart, id_number=ID_NUMBER)
        clock.advance(dt.timedelta(minutes=16))
        with pytest.raises(Conflict) as exc:
            checkout.place(buyer_ctx, cart, DETAILS, quote_id=quote.public_id)
    assert exc.value.code == "quote_expired"


def test_place_with_a_valid_quote_uses_its_rate(engines, world, buyer_ctx, cart_with):
    from decimal import Decimal

    from ehub.core.models import FxRate
    from ehub.orders.models import Order
    from ehub.orders.services import checkout

    cart = cart_with()
    quote = checkout.quote(buyer_ctx, cart, id_number=ID_NUMBER, province="浙江省")
    FxRate.objects.create(
        base="MYR", quote="CNY", rate=Decimal("1.7"), source="test", as_of=clock.now()
    )
    checkout.forget_rate()
    placed = checkout.place(buyer_ctx, cart, DETAILS, quote_id=quote.public_id)
    assert placed.total == quote.total
    assert Order.objects.get(public_id=placed.orders[0]).rate == Decimal("1.5")


def test_out_of_stock_names_the_line(engines, world, buyer_ctx, cart_with):
    from ehub.orders.services import checkout

    cart = cart_with(durian=60)
    with pytest.raises(ValidationFailed) as exc:
        checkout.place(buyer_ctx, cart, DETAILS)
    assert exc.value.errors[0].field == "lines[0].qty"


def test_mixed_order_query_count_is_bounded(
    engines, buyer_ctx, cart_with, offer, django_assert_max_num_queries
):
    from ehub.orders.services import checkout

    # Stock (reserve_many) and quota (reserve_quota) cost ~11 and ~13 statements of their
    # engines (savepoints included); orders' own share is 8. See the report.
    cart = cart_with(durian=1, offer=offer)
    with django_assert_max_num_queries(40):
        checkout.place(buyer_ctx, cart, DETAILS, idempotency_key="q-1")


def test_flash_sale_order_costs_at_most_25_queries(
    engines, world, cart_with, offer, django_assert_max_num_queries
):
    """The issue's budget, on the flash-sale path. On PostgreSQL the gate is one function
    call; SQLite runs it as 3 statements in a savepoint (+4), and the test's own transaction
    turns the placement's into a savepoint (+2 there too, counted in both)."""
    from django.db import connection

    from ehub.orders.services import checkout

    ctx = ctx_of(world.buyer)
    cart = cart_with(durian=0, offer=offer)
    checkout.current_rate()  # the rate is cached per process (30 s), as in production
    budget = 25 if connection.vendor == "postgresql" else 29
    with django_assert_max_num_queries(budget):
        checkout.place(ctx, cart, DETAILS, idempotency_key="q-2")


def test_expiry_releases_stock_claims_quota_and_cancels_intent(
    engines, world, buyer_ctx, cart_with, offer
):
    from ehub.campaigns.models import Claim
    from ehub.catalog.models import Stock
    from ehub.customs.models import QuotaReservation
    from ehub.orders.models import Order
    from ehub.orders.services import checkout, lifecycle

    cart = cart_with(durian=2, offer=offer)
    before = Stock.objects.get(sku=world.durian).reserved
    with clock.frozen():
        placed = checkout.place(buyer_ctx, cart, DETAILS)
        clock.advance(dt.timedelta(minutes=29))
        assert lifecycle.expire_unpaid() == 0
        clock.advance(dt.timedelta(minutes=2))
        assert lifecycle.expire_unpaid() == 1
        assert lifecycle.expire_unpaid() == 0  # idempotent
    order = Order.objects.get(public_id=placed.orders[0])
    assert order.status == "expired"
    assert Stock.objects.get(sku=world.durian).reserved == before
    assert (
        Claim.objects.get(key=order.lines.get(offer__isnull=False).claim_key).status == "released"
    )
    assert QuotaReservation.objects.get(key=order.quota_key).status == "released"
    assert engines.named("cancel_intent") == [("cancel_intent", placed.intent)]
    assert order.events.filter(kind="status", to_status="expired").count() == 1


def test_sold_out_offer_refuses_and_holds_nothing(engines, world, cart_with, offer, make_user):
    from ehub.campaigns.services import gate
    from ehub.catalog.models import Stock
    from ehub.orders.services import checkout

    for i in range(5):
        gate.claim_offer_units(make_user(), offer, 1, key=f"other-{i}")
    before = Stock.objects.get(sku=world.durian).reserved
    cart = cart_with(durian=1, offer=offer)
    with pytest.raises(Conflict) as exc:
        checkout.place(ctx_of(world.buyer), cart, DETAILS)
    assert exc.value.code == "sold_out"
    assert Stock.objects.get(sku=world.durian).reserved == before
    assert not engines.named("create_intent")


def test_orders_are_scoped(engines, world, buyer_ctx, cart_with):
    from ehub.orders.services import checkout, reads

    placed = checkout.place(buyer_ctx, cart_with(), DETAILS)
    public_id = placed.orders[0]
    assert reads.buyer_order(buyer_ctx, public_id).order.public_id == public_id
    with pytest.raises(NotFound):
        reads.buyer_order(ctx_of(world.other_buyer), public_id)
    assert reads.merchant_order(ctx_of(world.owner), public_id).order.public_id == public_id
    with pytest.raises(NotFound):
        reads.merchant_order(ctx_of(world.other_owner), public_id)
    assert reads.ops_order(ctx_of(world.staff), public_id)


def test_cart_merges_at_login(world, client, password):
    from ehub.orders.models import Cart
    from ehub.orders.services import carts

    client.post("/cart/add/", {"product": world.durian.product.public_id, "qty": "2"})
    anonymous = Cart.objects.get(user__isnull=True)
    assert anonymous.lines.get().qty == 2
    client.post("/accounts/login/", {"username": world.buyer.email, "password": password})
    cart = Cart.objects.get(user=world.buyer)
    assert [(line.sku_id, line.qty) for line in cart.lines.all()] == [(world.durian.pk, 2)]
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert carts.count_items(cart.pk) == 2
