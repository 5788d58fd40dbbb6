"""Browser journey: a merchant sets stock on the stock page with htmx and sees it at once.

Same Playwright set-up as tests/e2e/conftest.py (system Chromium, skipped with the reason when
it is missing unless EHUB_REQUIRE_BROWSER=1); repeated here because a test package cannot
import another package's conftest.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ehub.catalog.models import Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.core.context import Context

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def log_in(tab, email: str, password: str) -> None:
    tab.goto("/accounts/login/")
    tab.get_by_label("Email address").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(tab).to_have_url(re.compile(r"/$"))


def test_merchant_adjusts_stock_in_place(tab, merchant_user, password, sku, hub):
    page = tab
    log_in(page, merchant_user.email, password)
    page.goto("/merchant/stock/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock in the hub")
    expect(page.get_by_role("main")).to_contain_text("No stock recorded yet")

    page.get_by_label("SKU").select_option(label="DUR-MK-1KG · Musang King durian, frozen 1 kg")
    page.get_by_label("Hub").select_option(label="KLIA Aeropolis eFulfilment Hub")
    page.get_by_label("Add units (goods arrived)").check()
    page.get_by_role("spinbutton", name="Quantity").fill("40")
    page.get_by_label("Note").fill("first delivery")
    url_before = page.url
    page.get_by_role("button", name="Save adjustment").click()

    status = page.get_by_role("status")
    expect(status).to_contain_text("Stock updated: 40 on hand, 40 available.")
    row = page.get_by_role("row", name=re.compile("DUR-MK-1KG"))
    expect(row).to_contain_text("40")
    assert page.url == url_before  # swapped in place by htmx, no reload
    assert Stock.objects.get(sku=sku, hub=hub).on_hand == 40

    # Checkout holds 30; removing 15 would cut into them, so the error shows on the field.
    inventory.reserve(Context.system(), sku=sku, hub=hub, qty=30, key="chk-1")
    page.get_by_label("Remove units (damaged, lost)").check()
    page.get_by_role("spinbutton", name="Quantity").fill("15")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.locator("#id_quantity_error")).to_contain_text(
        "On hand cannot go below the 30 units reserved"
    )
    expect(page.get_by_role("spinbutton", name="Quantity")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert StockMovement.objects.filter(reason="adjustment").count() == 1

    page.get_by_role("spinbutton", name="Quantity").fill("10")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_role("status")).to_contain_text("Stock updated: 30 on hand, 0 available.")

    page.get_by_role("link", name="DUR-MK-1KG").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock of DUR-MK-1KG")
    history = page.get_by_role("table", name="Stock movements, newest first")
    expect(history.get_by_role("row")).to_have_count(4)  # header + 3 movements
    expect(history).to_contain_text("first delivery")
