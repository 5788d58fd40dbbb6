"""Fixtures of the orders tests: a platform, a hub, a merchant with a durian SKU in stock, a
live flash-sale offer, a buyer with a CNY rate, China's tariff loaded, and fake engines.

``engines`` replaces the payments and fulfillment services orders calls with fakes that honour
their contract and record every call (no carrier quotes: freight is the flat rate). The real
engines run in tests/integration.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from ehub.core import clock
from ehub.core.money import Money

_seq = itertools.count(1)
ID_NUMBER = "11010519491231002X"
DETAILS = {
    "name": "李伟",
    "id_number": ID_NUMBER,
    "phone": "13800138000",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "street": "文三路 1 号",
    "postcode": "310000",
}


@dataclass
class FakeIntent:
    public_id: str
    checkout_url: str
    amount: Money
    status: str = "created"


@dataclass
class FakeEngines:
    intents: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    capture_on_cancel: bool = False

    def create_intent(self, ctx, *, buyer, parts, idempotency_key, return_url, description=""):
        from ehub.core.ids import new_public_id

        for intent in self.intents.values():
            if intent["key"] == idempotency_key:
                return intent["obj"]
        public_id = new_public_id("PAY")
        total = Money.total((p.total for p in parts), "CNY")
        obj = FakeIntent(public_id, f"/pay/{public_id}/", total)
        self.intents[public_id] = {"key": idempotency_key, "obj": obj, "parts": parts}
        self.calls.append(("create_intent", public_id))
        return obj

    def cancel_intent(self, ctx, public_id, reason):
        from ehub.core.errors import Conflict

        if self.capture_on_cancel:
            raise Conflict("captured")
        self.intents[public_id]["obj"].status = "cancelled"
        self.calls.append(("cancel_intent", public_id))

    def refund(self, ctx, reference, amount, *, request_id, reason):
        self.calls.append(("refund", reference, request_id))

    def refund_tax(self, ctx, reference, *, request_id):
        self.calls.append(("refund_tax", reference, request_id))

    def settle(self, ctx, reference):
        self.calls.append(("settle", reference))

    def request_shipment(self, ctx, request):
        self.calls.append(("request_shipment", request.reference))

    def cancel_shipment(self, ctx, reference, reason):
        self.calls.append(("cancel_shipment", reference))

    def quote_freight(self, *, weight_g, province):
        from ehub.fulfillment.carriers.base import NoCarrierAvailable

        raise NoCarrierAvailable()

    def named(self, name):
        return [c for c in self.calls if c[0] == name]


@pytest.fixture
def engines(monkeypatch):
    from ehub.fulfillment import services as fulfillment
    from ehub.payments import services as payments

    fake = FakeEngines()
    for name in ("create_intent", "cancel_intent", "refund", "refund_tax", "settle"):
        monkeypatch.setattr(payments, name, getattr(fake, name))
    for name in ("request_shipment", "cancel_shipment", "quote_freight"):
        monkeypatch.setattr(fulfillment, name, getattr(fake, name))
    return fake


@pytest.fixture
def world(db, make_org, make_user, settings):
    """Everything a cross-border checkout needs."""
    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import BuyerProfile
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core.models import FxRate
    from ehub.customs.models import Enterprise
    from ehub.orders.documents import seller_code
    from ehub.orders.services import checkout

    settings.EHUB_CUSTOMS_GATEWAY = "recording"
    checkout.forget_rate()
    load_default_tariff()
    FxRate.objects.create(
        base="MYR",
        quote="CNY",
        rate=Decimal("1.5"),
        source="test",
        as_of=clock.now() - dt.timedelta(days=1),
    )
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Hub")
    merchant = make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")
    other_merchant = make_org(name="Kopi Sdn. Bhd.", registration_number="201901054321")
    owner = make_user("owner@durian.example", org=merchant)
    other_owner = make_user("owner@kopi.example", org=other_merchant)
    staff = make_user("ops@ehub.example", is_staff=True)

    for code, name in (
        (settings.EHUB_ORDERS_EBP_CODE, "eHub"),
        (settings.EHUB_ORDERS_PAY_CODE, "Wallet"),
        (seller_code(merchant), "Durian Raja"),
        (seller_code(other_merchant), "Kopi"),
        ("3301969999", "KLIA Express"),
    ):
        Enterprise.objects.get_or_create(code=code, defaults={"name": name})

    def make_sku(org, *, price_sen=10_000, on_hand=50, gcode="0811909000", title="Frozen durian"):
        n = next(_seq)
        product = Product.objects.create(
            org=org, status=ProductStatus.ACTIVE, hs_code="081190", gcode=gcode, gross_weight_g=1200
        )
        ProductTranslation.objects.create(product=product, language="en", title=title)
        ProductTranslation.objects.create(product=product, language="zh-hans", title="冷冻榴莲")
        sku = Sku.objects.create(product=product, org=org, code=f"DUR-{n}", price_myr=price_sen)
        Stock.objects.create(sku=sku, hub=hub, org=org, on_hand=on_hand)
        return sku

    durian = make_sku(merchant)
    coffee = make_sku(other_merchant, price_sen=2_000, gcode="2101120000", title="White coffee")
    buyer = make_user("buyer@example.cn", preferred_language="zh-hans")
    BuyerProfile.objects.create(user=buyer)
    other_buyer = make_user("other@example.cn")

    @dataclass
    class World:
        platform: object
        hub: object
        merchant: object
        other_merchant: object
        owner: object
        other_owner: object
        staff: object
        durian: object
        coffee: object
        buyer: object
        other_buyer: object
        make_sku: object

    return World(
        platform,
        hub,
        merchant,
        other_merchant,
        owner,
        other_owner,
        staff,
        durian,
        coffee,
        buyer,
        other_buyer,
        make_sku,
    )


def ctx_of(user):
    from ehub.accounts.models import User
    from ehub.accounts.services import build_context

    return build_context(User.objects.get(pk=user.pk))


@pytest.fixture
def buyer_ctx(world):
    return ctx_of(world.buyer)


@pytest.fixture
def offer(world):
    """A live flash-sale offer of 5 units of the durian (limit 1 per buyer)."""
    from ehub.campaigns.services import (
        CampaignInput,
        OfferInput,
        apply_offer,
        approve_offer,
        create_campaign,
    )

    staff_ctx = ctx_of(world.staff)
    now = clock.now()
    campaign = create_campaign(
        staff_ctx,
        CampaignInput(
            name_en="Malaysia Week",
            name_zh_hans="马来西亚周",
            name_ms="Minggu Malaysia",
            slug=f"malaysia-week-{next(_seq)}",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=7),
            status="published",
        ),
    )
    made = apply_offer(
        ctx_of(world.owner),
        campaign.public_id,
        OfferInput(
            sku_code=world.durian.code, allocated_units=5, per_buyer_limit=1, promo_price="79.00"
        ),
    )
    return approve_offer(staff_ctx, made.public_id)


@pytest.fixture
def cart_with(buyer_ctx, world):
    from ehub.orders.services import carts

    def make(*, durian=1, coffee=0, offer=None, ctx=None):
        ctx = ctx or buyer_ctx
        cart = carts.cart_of(ctx, create=True)
        if durian:
            carts.add_line(ctx, cart, product=world.durian.product.public_id, qty=durian)
        if coffee:
            carts.add_line(ctx, cart, product=world.coffee.product.public_id, qty=coffee)
        if offer is not None:
            carts.add_line(ctx, cart, offer=offer.public_id, qty=1)
        return cart

    return make
