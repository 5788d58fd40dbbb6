"""Fixtures of the campaigns tests: a hub, a merchant's durian SKU with stock, a live campaign."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ehub.core import clock

_seq = itertools.count(1)


@pytest.fixture
def hub(make_org):
    from ehub.accounts.domain import OrgKind

    return make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")


@pytest.fixture
def platform_ctx(staff_user):
    from ehub.accounts.services import build_context

    return build_context(staff_user)


def ctx_for(user):
    # A fresh user object: memberships are cached per instance.
    from ehub.accounts.models import User
    from ehub.accounts.services import build_context

    return build_context(User.objects.get(pk=user.pk))


@pytest.fixture
def make_sku(db, hub):
    """make_sku(org, price_sen=10000, on_hand=100, code=None, zh="榴莲") -> Sku with stock."""
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock

    def make(
        org, price_sen=10_000, on_hand=100, code=None, title="Musang King durian", zh="猫山王榴莲"
    ):
        product = Product.objects.create(org=org, status=ProductStatus.ACTIVE, hs_code="081060")
        ProductTranslation.objects.create(product=product, language="en", title=title)
        ProductTranslation.objects.create(product=product, language="zh-hans", title=zh)
        sku = Sku.objects.create(
            product=product, org=org, code=code or f"DUR-{next(_seq)}", price_myr=price_sen
        )
        if on_hand is not None:
            Stock.objects.create(sku=sku, hub=hub, org=org, on_hand=on_hand)
        return sku

    return make


@pytest.fixture
def merchant_ctx(merchant_user):
    return ctx_for(merchant_user)


@pytest.fixture
def sku(make_sku, merchant_org):
    return make_sku(merchant_org)


@pytest.fixture
def make_campaign(db, platform_ctx):
    from ehub.campaigns.services import CampaignInput, create_campaign

    def make(slug=None, starts=None, ends=None, status="published", **extra):
        now = clock.now()
        data = CampaignInput(
            name_en=extra.pop("name_en", "Malaysia Week"),
            name_zh_hans=extra.pop("name_zh_hans", "马来西亚周"),
            name_ms=extra.pop("name_ms", "Minggu Malaysia"),
            slug=slug or f"malaysia-week-{next(_seq)}",
            starts_at=starts or now - dt.timedelta(hours=1),
            ends_at=ends or now + dt.timedelta(days=7),
            status=status,
            **extra,
        )
        return create_campaign(platform_ctx, data)

    return make


@pytest.fixture
def campaign(make_campaign):
    return make_campaign()


@pytest.fixture
def make_offer(merchant_ctx, platform_ctx, sku, campaign):
    """make_offer(units=10, limit=2, approve=True, **OfferInput fields) -> Offer."""
    from ehub.campaigns.services import OfferInput, apply_offer, approve_offer

    def make(
        units=10,
        limit=2,
        approve=True,
        ctx=None,
        the_sku=None,
        the_campaign=None,
        buckets=None,
        **extra,
    ):
        extra.setdefault("promo_price", "79.00")
        data = OfferInput(
            sku_code=(the_sku or sku).code,
            allocated_units=units,
            per_buyer_limit=limit,
            **extra,
        )
        offer = apply_offer(ctx or merchant_ctx, (the_campaign or campaign).public_id, data)
        if approve:
            offer = approve_offer(platform_ctx, offer.public_id, buckets=buckets)
        return offer

    return make


@pytest.fixture
def make_buyer(make_user):
    from ehub.accounts.models import BuyerProfile

    def make():
        user = make_user()
        BuyerProfile.objects.create(user=user)
        return user

    return make
