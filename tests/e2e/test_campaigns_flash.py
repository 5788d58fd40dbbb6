"""Browser journey: a buyer with a Chinese browser watches a flash sale count down, then sees
the units left (countdown from the server's clock, live state polled with htmx)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from ehub.campaigns.services import OfferInput, apply_offer, approve_offer
from ehub.core import clock
from ehub.core.models import FxRate

pytestmark = pytest.mark.browser


@pytest.fixture
def chinese_page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def durian(make_org, merchant_org, merchant_user):
    from ehub.accounts.domain import OrgKind
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock

    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")
    product = Product.objects.create(org=merchant_org, status=ProductStatus.ACTIVE)
    ProductTranslation.objects.create(product=product, language="en", title="Musang King durian")
    ProductTranslation.objects.create(product=product, language="zh-hans", title="猫山王榴莲")
    sku = Sku.objects.create(
        product=product, org=merchant_org, code="RMK-MK-1600", price_myr=10_000
    )
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=50)
    return sku


def test_chinese_buyer_sees_the_countdown_then_remaining_units(
    chinese_page, durian, merchant_user, staff_user
):
    from ehub.accounts.services import build_context
    from ehub.campaigns.services import CampaignInput, create_campaign

    sku = durian
    platform_ctx = build_context(staff_user)
    now = clock.now()
    campaign = create_campaign(
        platform_ctx,
        CampaignInput(
            name_en="Malaysia Week",
            name_zh_hans="马来西亚周",
            slug="malaysia-week",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=7),
            status="published",
        ),
    )
    merchant_ctx = build_context(merchant_user)
    FxRate.objects.create(
        base="MYR",
        quote="CNY",
        rate=Decimal("1.5"),
        source="ecb",
        as_of=clock.now() - dt.timedelta(days=1),
    )
    start = clock.now() + dt.timedelta(seconds=6)
    offer = apply_offer(
        merchant_ctx,
        campaign.public_id,
        OfferInput(
            sku_code=sku.code,
            promo_price="79.00",
            allocated_units=12,
            per_buyer_limit=2,
            flash_starts_at=start,
            flash_ends_at=start + dt.timedelta(hours=1),
        ),
    )
    approve_offer(platform_ctx, offer.public_id)

    page = chinese_page
    page.goto(f"/campaigns/{campaign.slug}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("马来西亚周")
    card = page.locator(f"#offer-{offer.public_id}")
    expect(card).to_contain_text("猫山王榴莲")
    expect(card.locator(".price-local")).to_have_text("¥118.50")
    clock_text = card.locator(".countdown-clock")
    expect(clock_text).to_have_text(re.compile(r"^00:00:0[0-6]$"))
    assert "Asia/Shanghai" in page.locator(".campaign-header").inner_text()

    # When the countdown reaches zero the page asks for the live state: units left appear.
    expect(card.locator(".remaining-units")).to_have_text("12", timeout=20_000)
    expect(card.locator(".countdown-clock")).to_have_count(0)
