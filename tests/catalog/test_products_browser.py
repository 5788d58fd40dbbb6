"""Browser journey: a merchant creates a product in three languages with an HS code, adds a
SKU on the same form, and publishes it."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from ehub.catalog.models import Product

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, live_server, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def test_merchant_creates_and_publishes_a_product(page, merchant_user, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(merchant_user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))

    page.goto("/merchant/products/")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Title (English)").fill("Musang King durian, frozen whole fruit")
    page.get_by_label("Title (Malay)").fill("Durian Musang King, sebiji beku")
    page.get_by_label("Title (Chinese)").fill("猫山王榴莲 整颗冷冻")
    page.get_by_role("button", name="Suggest HS codes from the English title").click()
    suggestions = page.locator("#hs-suggestions")
    expect(suggestions).to_contain_text("081190")
    suggestions.get_by_role("button", name="Use 081190").click()
    expect(page.locator("#id_hs_code")).to_have_value("081190")
    page.get_by_label("SKU code").fill("MK-1")
    page.get_by_label("Price (MYR)").fill("-168")
    page.get_by_role("button", name="Save draft").click()

    expect(page.locator(".error-summary")).to_contain_text("A price cannot be negative.")
    assert not Product.objects.exists()
    page.get_by_label("Price (MYR)").fill("168.00")
    page.get_by_role("button", name="Save draft").click()

    expect(page.locator("#hs-path")).to_contain_text("0811")
    expect(page.locator("#product-status")).to_have_text("Draft")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#product-status")).to_have_text("Active")
    expect(page.get_by_role("main")).to_contain_text("The product is on sale.")
    product = Product.objects.get()
    assert product.status == "active" and product.hs_code == "081190"
