"""Fixtures of the integration tests: the REAL engines (ledger, payments, customs with its
sandbox gateway, fulfillment) glued by orders, no fakes.

Copied (not imported) from tests/orders, tests/payments and tests/fulfillment conftests, so
those stay their owners'. The sandbox customs answers at once (delay "0") and never picks an
order for inspection (rate "0") unless a test says so; values are strings because the
gateway reads ``setting or env or default`` and a numeric 0 would fall through to the default.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

from ehub.core import clock

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
BINS = ["A-01-01", "A-01-02", "B-01-01"]
MYR_CNY = Decimal("1.5")  # checkout: 1 MYR = 1.5 CNY
CNY_MYR = Decimal("0.65")  # settlement: 1 CNY = 0.65 MYR


def ctx_of(user):
    from ehub.accounts.models import User
    from ehub.accounts.services import build_context

    return build_context(User.objects.get(pk=user.pk))


def run_tasks(max_tasks=None) -> int:
    from ehub.core.tasks import run_pending_tasks

    return run_pending_tasks(max_tasks, raise_errors=True)


@pytest.fixture
def sandbox_customs(settings):
    settings.EHUB_CUSTOMS_GATEWAY = "sandbox"
    settings.EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS = "0"
    settings.EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE = "0"
    return settings


@dataclass
class World:
    platform: object
    hub: object
    customs: object
    merchant: object
    owner: object
    staff: object
    operator: object
    officer: object
    durian: object
    buyer: object


@pytest.fixture
def world(db, make_org, make_user, sandbox_customs, settings):
    """A platform, a hub with bins and an operator, a customs authority with an officer, a
    merchant with a durian SKU (50 in stock), a buyer, rates both ways, China's tariff."""
    from ehub.accounts.domain import OrgKind, Role
    from ehub.accounts.models import BuyerProfile
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core.models import FxRate
    from ehub.customs.models import Enterprise
    from ehub.fulfillment import services as hub_services
    from ehub.fulfillment.demo import register_carriers_with_customs
    from ehub.orders.documents import seller_code
    from ehub.orders.services import checkout

    checkout.forget_rate()
    load_default_tariff()
    as_of = clock.now() - dt.timedelta(days=1)
    FxRate.objects.create(base="MYR", quote="CNY", rate=MYR_CNY, source="test", as_of=as_of)
    FxRate.objects.create(base="CNY", quote="MYR", rate=CNY_MYR, source="test", as_of=as_of)
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Hub")
    hub_services.ensure_bins(hub, BINS)
    customs_org = make_org(kind=OrgKind.CUSTOMS_AUTHORITY, name="Hangzhou Customs", country="CN")
    merchant = make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")
    owner = make_user("owner@durian.example", org=merchant)
    staff = make_user("ops@ehub.example", is_staff=True)
    operator = make_user("op@hub.example", org=hub, role=Role.OPERATOR)
    officer = make_user("officer@customs.example", org=customs_org)
    for code, name in (
        (settings.EHUB_ORDERS_EBP_CODE, "eHub"),
        (settings.EHUB_ORDERS_PAY_CODE, "Wallet"),
        (seller_code(merchant), "Durian Raja"),
    ):
        Enterprise.objects.get_or_create(code=code, defaults={"name": name})
    register_carriers_with_customs()  # as the fulfilment demo does
    product = Product.objects.create(
        org=merchant,
        status=ProductStatus.ACTIVE,
        hs_code="081190",
        gcode="0811909000",
        gross_weight_g=1200,
    )
    ProductTranslation.objects.create(product=product, language="en", title="Frozen durian")
    ProductTranslation.objects.create(product=product, language="zh-hans", title="冷冻榴莲")
    durian = Sku.objects.create(
        product=product, org=merchant, code="DUR-MK-1", barcode="9555000000017", price_myr=10_000
    )
    Stock.objects.create(sku=durian, hub=hub, org=merchant, on_hand=50)
    buyer = make_user("buyer@example.cn", preferred_language="zh-hans")
    BuyerProfile.objects.create(user=buyer)
    return World(
        platform, hub, customs_org, merchant, owner, staff, operator, officer, durian, buyer
    )


@pytest.fixture
def buyer_ctx(world):
    return ctx_of(world.buyer)


@pytest.fixture
def op_ctx(world):
    from ehub.accounts.domain import Role
    from ehub.core.context import Context

    return Context(user=world.operator, org=world.hub, roles=frozenset({Role.OPERATOR}))


@pytest.fixture
def officer_ctx(world):
    return ctx_of(world.officer)


@pytest.fixture
def make_offer(world):
    """make_offer(units=5) -> a live, approved flash-sale offer of the durian (limit 2)."""
    from ehub.campaigns.services import (
        CampaignInput,
        OfferInput,
        apply_offer,
        approve_offer,
        create_campaign,
    )

    def make(units=5, limit=2):
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
                sku_code=world.durian.code,
                allocated_units=units,
                per_buyer_limit=limit,
                promo_price="79.00",
            ),
        )
        return approve_offer(staff_ctx, made.public_id)

    return make


@pytest.fixture
def place_order(world, buyer_ctx):
    """place_order(durian=1, offer=None, offer_qty=1, ctx=None, details=DETAILS) -> Order:
    quote, then place with the quote's locked rate, as the checkout page does."""
    from ehub.orders.models import Order
    from ehub.orders.services import carts, checkout

    def make(*, durian=1, offer=None, offer_qty=1, ctx=None, details=None):
        ctx = ctx or buyer_ctx
        details = details or DETAILS
        cart = carts.cart_of(ctx, create=True)
        if durian:
            carts.add_line(ctx, cart, product=world.durian.product.public_id, qty=durian)
        if offer is not None:
            carts.add_line(ctx, cart, offer=offer.public_id, qty=offer_qty)
        quote = checkout.quote(
            ctx, cart, id_number=details["id_number"], province=details["province"]
        )
        assert not quote.refused, quote
        placement = checkout.place(
            ctx, cart, details, quote_id=quote.public_id, idempotency_key=f"k-{next(_seq)}"
        )
        assert len(placement.orders) == 1
        return Order.objects.get(public_id=placement.orders[0])

    return make
