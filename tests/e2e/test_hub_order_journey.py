"""Issue 6's journey in a browser, end to end with the real engines: a merchant sends an ASN; the
hub operator receives it by typing barcodes + Enter and puts it away; a buyer in China orders
and pays on the sandbox wallet; the order clears customs and reaches the hub; the operator picks
by scan, packs, prints the label (the PDF is opened), manifests and hands over; the carrier's
signed tracking webhook arrives; the buyer sees "Delivered" and confirms receipt; the merchant's
balance on /merchant/finance/ grows; the ledger's invariants hold."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.e2e.hub_steps import check_label, manifest_and_hand_over, push_tracking

from ehub.accounts.domain import OrgKind, Role
from ehub.core import clock
from ehub.core.tasks import run_pending_tasks

pytestmark = pytest.mark.browser

BARCODE = "9555000000017"
BUYER_ID = "110101199003071233"


@pytest.fixture
def world(transactional_db, settings, make_org, make_user):
    from ehub.accounts.models import BuyerProfile
    from ehub.catalog.models import Product, ProductTranslation, Sku
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core import fx
    from ehub.fulfillment import services
    from ehub.orders import demo as orders_demo
    from ehub.payments import demo as payments_demo

    settings.EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    settings.EHUB_MY_CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    fx.seed_ecb_rates()
    load_default_tariff()
    make_org(kind=OrgKind.PLATFORM, name="eHub Digital Trade Sdn. Bhd.")
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub Sdn. Bhd.")
    services.ensure_bins(hub, ["A-01-01", "A-01-02"])
    make_user("op@hub.example", org=hub, role=Role.OPERATOR)
    merchant = make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")
    make_user("owner@durian.example", org=merchant)
    product = Product.objects.create(
        org=merchant,
        status="active",
        hs_code="081190",
        gcode="0811909000",
        published_at=clock.now(),
    )
    ProductTranslation.objects.create(
        product=product, language="en", title="Musang King durian, frozen whole fruit"
    )
    sku = Sku.objects.create(
        product=product,
        org=merchant,
        code="DUR-MK-1600",
        barcode=BARCODE,
        price_myr=12800,
        gross_weight_g=1600,
    )
    buyer = make_user("li.wei@buyer.example", full_name="Li Wei")
    BuyerProfile.objects.update_or_create(
        user=buyer,
        defaults={
            "real_name": "李伟",
            "id_number": BUYER_ID,
            "phone": "+8613800138000",
            "id_verified": True,
        },
    )
    orders_demo.seed({}, out=lambda *a, **k: None)  # the customs codes orders declares with
    from ehub.fulfillment.demo import register_carriers_with_customs

    register_carriers_with_customs()  # as the fulfilment demo does
    payments_demo.seed({"durian": merchant}, out=lambda *a, **k: None)  # a bank account
    return {"hub": hub, "merchant": merchant, "product": product, "sku": sku}


def login(page, email, password, next_url):
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()


def scan(page, label, code):
    page.get_by_label(label).fill(code)
    page.get_by_label(label).press("Enter")
    page.wait_for_load_state()


def drain():
    for _round in range(5):
        run_pending_tasks()


def merchant_available(mpage) -> str:
    mpage.goto("/merchant/finance/")
    return mpage.get_by_test_id("available").inner_text().strip()


def test_asn_to_delivered_and_settled(page, world, password, browser, live_server):
    from ehub.catalog.services import inventory
    from ehub.core.context import Context
    from ehub.fulfillment import gateway
    from ehub.fulfillment.models import Shipment
    from ehub.ledger.services import balance, verify
    from ehub.orders.models import Order
    from ehub.payments import domain as pay_domain

    hub, sku, merchant = world["hub"], world["sku"], world["merchant"]

    # 1. The merchant announces 3 units in one carton.
    mctx = browser.new_context(base_url=live_server.url, locale="en-GB")
    mpage = mctx.new_page()
    login(mpage, "owner@durian.example", password, "/merchant/inbound/")
    mpage.get_by_label("Hub").select_option(str(hub.pk))
    mpage.get_by_label(re.compile("SKUs and quantities")).fill("DUR-MK-1600 3")
    mpage.get_by_role("button", name="Send notice").click()
    heading = mpage.get_by_role("heading", name=re.compile(r"^Notice ASN-"))
    expect(heading).to_be_visible()
    asn_id = heading.inner_text().split()[-1]

    # 2. The operator receives it by typing the barcode and Enter, then puts it away.
    octx = browser.new_context(base_url=live_server.url, locale="en-GB")
    op = octx.new_page()
    login(op, "op@hub.example", password, f"/hub/inbound/{asn_id}/")
    for _unit in range(3):
        scan(op, "Scan a barcode", BARCODE)
    op.get_by_role("button", name="Finish receiving").click()
    op.get_by_label("SKU").fill("DUR-MK-1600")
    op.get_by_label("Bin").fill("A-01-02")
    op.get_by_role("button", name="Put away").click()
    expect(op.get_by_text(re.compile("3 units put away in A-01-02"))).to_be_visible()
    assert inventory.stock_for(Context.system(), sku, hub).available == 3

    # 3. The buyer orders one and pays on the wallet page.
    login(page, "li.wei@buyer.example", password, f"/p/{world['product'].public_id}/")
    page.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Province").fill("上海")
    page.get_by_label("City").fill("上海市")
    page.get_by_label("District").fill("浦东新区")
    page.get_by_label("Street address").fill("世纪大道100号")
    page.get_by_role("button", name="Show prices, taxes and quota").click()
    total = page.locator(".amount-total").inner_text().strip()
    page.get_by_role("button", name="Place order and pay").click()
    page.get_by_role("button", name=f"Pay {total}", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Payment successful")
    order = Order.objects.get()
    # Payment webhook, CEB311/411, customs' answer (delay 0), waybill, release for picking.
    drain()
    order.refresh_from_db()
    shipment = Shipment.objects.get(reference=order.public_id)
    assert order.status == "cleared", (order.status, shipment.status)
    assert shipment.wave_id is not None, shipment.status
    waybill = shipment.waybill_no
    available_before = merchant_available(mpage)
    assert re.fullmatch(r"RM\s?0\.00", available_before), available_before
    expect(mpage.get_by_test_id("escrow")).not_to_have_text(re.compile(r"^\D*0\.00$"))

    # 4. Pick by scan, pack, print the label.
    op.goto("/hub/")
    op.locator(f'a[href="/hub/waves/{shipment.wave_id}/"]').first.click()
    op.get_by_role("link", name=waybill).click()
    scan(op, "Scan the item", "9999999999999")
    expect(op.get_by_text(re.compile("Wrong item"))).to_be_visible()
    scan(op, "Scan the item", BARCODE)
    expect(op.locator("#shipment-status")).to_have_text("Picked")
    op.get_by_label("Weight (g)").fill("1750")
    op.get_by_label("Length (mm)").fill("300")
    op.get_by_label("Width (mm)").fill("200")
    op.get_by_label("Height (mm)").fill("150")
    op.get_by_role("button", name="Pack").click()
    expect(op.get_by_text(re.compile(r"Packed: \d+ g chargeable\."))).to_be_visible()
    check_label(op, waybill)

    # 5. Manifest (export declaration) and handover: the order is shipped.
    manifest_and_hand_over(op, shipment.carrier_code, waybill)
    drain()
    level = inventory.stock_for(Context.system(), sku, hub)
    assert (level.on_hand, level.reserved) == (2, 0)
    order.refresh_from_db()
    assert order.status == "shipped", order.status

    # 6. The carrier's signed tracking webhook (sent twice: the repeat changes nothing).
    push_tracking(op, gateway.carrier(shipment.carrier_code), waybill, "h", after_each=drain)

    # 7. The buyer sees "Delivered" on the order page and confirms receipt.
    page.goto(f"/orders/{order.public_id}/")
    expect(page.locator("#order-status")).to_have_text("Delivered")
    expect(page.locator(".timeline")).to_contain_text("Delivered")
    expect(page.locator(".tracking")).to_contain_text("Departed · KUL")
    expect(page.get_by_role("link", name=waybill)).to_have_attribute("href", f"/track/{waybill}/")
    # The form posts and redirects back: wait for that page before reloading it (a reload
    # fired while the post is still on its way finds no page to reload).
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm receipt").click()
    drain()
    page.reload()
    expect(page.locator("#order-status")).to_have_text(re.compile("Completed", re.I))

    # 8. The merchant's balance grew: the settlement in MYR is on the finance page.
    after = balance(pay_domain.merchant_account(merchant.public_id))
    assert after.credit_balance > 0
    available_after = merchant_available(mpage)
    assert available_after != available_before
    assert re.fullmatch(r"RM\s?[\d,]+\.\d\d", available_after), available_after
    assert available_after.replace(",", "").endswith(f"{after.credit_balance / 100:.2f}")
    mctx.close()
    octx.close()
    assert verify() == []
