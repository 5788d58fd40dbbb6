"""Browser journey: a customs officer logs in, finds a red-lane declaration in the queue,
compares the three documents, orders an inspection, then releases the parcel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.customs import factories as f
from tests.customs.decl_support import ceb411, ceb511, file_all, make_world

from ehub.customs import declarations
from ehub.customs.domain.xmlcodec import to_xml

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.customs.urls_decl")]


@pytest.fixture
def customs_world(transactional_db, make_org, make_user, settings):
    return make_world(make_org, make_user, settings)


def test_officer_inspects_and_releases_a_red_declaration(page, customs_world, password):
    w = customs_world
    order_no = "ORD-RED-LANE-0001"
    decl, _ = file_all(
        w.ctx,
        (
            f.ceb311(orderNo=order_no, ebcName="Red Mountain Pharma Limited"),
            ceb411(orderNo=order_no),
            ceb511(orderNo=order_no),
        ),
    )
    declarations.apply_receipt(w.ctx, to_xml(declarations.receipt_message(decl, "120")))

    page.goto("/accounts/login/?next=/customs/declarations/")
    page.get_by_label("Email address").fill("officer@customs.example")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()
    page.get_by_label("Lane").select_option("red")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=decl.public_id).click()

    expect(page.get_by_role("heading", name=f"Declaration {decl.public_id}")).to_be_visible()
    expect(page.get_by_text("Red Mountain Pharma Limited").first).to_be_visible()
    table = page.get_by_role("table", name="The three documents side by side")
    expect(table.get_by_role("row", name=re.compile("Consignee address"))).to_be_visible()
    expect(page.locator("#buyer-id")).to_have_text("110105********002X")

    page.get_by_role("combobox", name="Decision").select_option("inspect")
    page.get_by_role("textbox", name="Reason").fill(
        "Seller resembles a restricted party: open the parcel"
    )
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#status")).to_contain_text("500")

    page.get_by_role("combobox", name="Decision").select_option("release")
    page.get_by_role("textbox", name="Reason").fill("Contents match the inventory list")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#status")).to_contain_text("800")
    expect(page.locator("#timeline")).to_contain_text("Contents match the inventory list")
