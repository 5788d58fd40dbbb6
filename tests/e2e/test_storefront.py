"""Browser journey: a shopper with a Chinese browser finds a durian product by searching 榴莲."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ehub.accounts.domain import OrgKind
from ehub.catalog import search
from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
from ehub.core.models import FxRate

pytestmark = pytest.mark.browser

# Written for a human to look at; not committed, not compared.
SCREENSHOT = Path(tempfile.gettempdir()) / "ehub-storefront-zh-hans.png"


@pytest.fixture
def chinese_page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def durian(merchant_org, make_org):
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")
    FxRate.objects.create(
        base="MYR",
        quote="CNY",
        rate=Decimal("1.55"),
        source="test",
        as_of=dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC),
    )
    product = Product.objects.create(
        org=merchant_org,
        status=ProductStatus.ACTIVE,
        category="food_drink",
        featured=True,
        published_at=dt.datetime(2026, 1, 3, tzinfo=dt.UTC),
    )
    for language, title, description in (
        ("en", "Musang King durian paste", "Frozen durian from Pahang."),
        ("zh-hans", "猫山王榴莲酱", "来自彭亨州的冷冻榴莲。"),
    ):
        ProductTranslation.objects.create(
            product=product, language=language, title=title, description=description
        )
    sku = Sku.objects.create(
        product=product, org=merchant_org, code="DRN-500", price_myr=2500,
        variant_labels={"en": "500 g", "zh-hans": "500克"},
    )  # fmt: skip
    Stock.objects.create(sku=sku, hub=hub, org=merchant_org, on_hand=20, reserved=0)
    other = Product.objects.create(org=merchant_org, status=ProductStatus.ACTIVE)
    ProductTranslation.objects.create(product=other, language="en", title="Batik scarf")
    ProductTranslation.objects.create(product=other, language="zh-hans", title="蜡染丝巾")
    Sku.objects.create(product=other, org=merchant_org, code="BTK-1", price_myr=12000)
    for p in (product, other):
        search.index_product(p.pk)
    return product


def test_a_chinese_shopper_sees_cny_prices_and_finds_durian_by_searching(chinese_page, durian):
    page = chinese_page
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("马来西亚好物，直送中国")
    card = page.locator(".product-card", has_text="猫山王榴莲酱").first
    # 25.00 MYR at 1.55 = 38.75 CNY, with the ringgit price beside it.
    expect(card.locator(".price-shown")).to_have_text("¥38.75")
    expect(card.locator(".price-myr")).to_have_text("(MYR25.00)")
    # Located by id: the label's wording changes with the translation pass.
    expect(page.locator("#currency-select")).to_have_value("CNY")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("searchbox").fill("榴莲")
    page.get_by_role("searchbox").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=%E6%A6%B4%E8%8E%B2$"))
    results = page.locator(".product-grid")
    expect(results.locator(".product-card")).to_have_count(1)
    results.get_by_role("link", name="猫山王榴莲酱").click()

    expect(page).to_have_url(re.compile(rf"/p/{durian.public_id}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("猫山王榴莲酱")
    expect(page.locator(".product-price .price-shown")).to_have_text("¥38.75")
    expect(page.get_by_role("main")).to_contain_text("来自彭亨州的冷冻榴莲。")
    expect(page.get_by_role("main")).to_contain_text("马来西亚")


def test_a_shopper_switches_the_currency(chinese_page, durian):
    FxRate.objects.create(
        base="MYR",
        quote="USD",
        rate=Decimal("0.2125"),
        source="test",
        as_of=dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC),
    )
    page = chinese_page
    page.goto(f"/p/{durian.public_id}/")
    page.locator("#currency-select").select_option("USD")
    page.locator(".currency-switch button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/p/{durian.public_id}/$"))
    expect(page.locator(".product-price .price-shown")).to_have_text("US$5.31")
    expect(page.locator(".product-price .price-myr")).to_have_text("(MYR25.00)")
