"""The hub's journey in a browser: a merchant sends an ASN; the operator receives it by typing
barcodes + Enter and puts it away; a shipment is requested (standing in for a paid, cleared
order); the operator picks by scan, packs, prints the label (the PDF is checked), manifests and
hands over; the carrier's signed tracking webhook arrives; the public page shows delivered."""

from __future__ import annotations

import re

import pypdfium2
import pytest
from playwright.sync_api import expect
from tests.e2e.hub_steps import check_label, manifest_and_hand_over, push_tracking

from ehub.accounts.domain import OrgKind, Role
from ehub.catalog.models import Product, ProductTranslation, Sku
from ehub.catalog.services import inventory
from ehub.core.context import Context
from ehub.core.money import Money

pytestmark = pytest.mark.browser

BARCODE = "9555000000017"


@pytest.fixture
def world(transactional_db, make_org, make_user):
    from ehub.catalog.tariff import load_default_tariff
    from ehub.fulfillment import services

    load_default_tariff()
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub Sdn. Bhd.")
    services.ensure_bins(hub, ["A-01-01", "A-01-02"])
    make_user("op@hub.example", org=hub, role=Role.OPERATOR)
    merchant = make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")
    make_user("owner@durian.example", org=merchant)
    product = Product.objects.create(org=merchant, status="active", hs_code="081060")
    ProductTranslation.objects.create(product=product, language="en", title="Musang King 1 kg")
    sku = Sku.objects.create(
        product=product,
        org=merchant,
        code="DUR-MK-1KG",
        barcode=BARCODE,
        price_myr=8800,
        gross_weight_g=1000,
    )
    return {"hub": hub, "merchant": merchant, "sku": sku}


def login(page, email, password, next_url):
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()


def test_inbound_to_delivered(page, world, password, browser, live_server):
    from ehub.fulfillment import gateway, services

    hub, sku = world["hub"], world["sku"]
    # 1. The merchant announces 3 units in one carton.
    login(page, "owner@durian.example", password, "/merchant/inbound/")
    page.get_by_label("Hub").select_option(str(hub.pk))
    page.get_by_label(re.compile("SKUs and quantities")).fill("DUR-MK-1KG 3")
    page.get_by_role("button", name="Send notice").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Notice ASN-"))
    expect(heading).to_be_visible()
    asn_id = heading.inner_text().split()[-1]
    cartons = page.request.get(f"/merchant/inbound/{asn_id}/cartons.pdf")
    assert cartons.body().startswith(b"%PDF")

    # 2. The operator receives it by typing barcodes and Enter, then puts it away.
    operator = browser.new_context(base_url=live_server.url, locale="en-GB")
    op = operator.new_page()
    login(op, "op@hub.example", password, f"/hub/inbound/{asn_id}/")
    for code in ("nonsense-123", BARCODE, BARCODE, BARCODE, BARCODE):
        op.get_by_label("Scan a barcode").fill(code)
        op.get_by_label("Scan a barcode").press("Enter")
        op.wait_for_load_state()
        if code == "nonsense-123":
            expect(op.get_by_text(re.compile("Unknown barcode NONSENSE-123"))).to_be_visible()
    expect(op.get_by_text("Unknown barcode NONSENSE-123")).to_have_count(0)  # replaced by next
    expect(op.get_by_text(re.compile("Over-receipt"))).to_be_visible()
    op.get_by_role("button", name="Finish receiving").click()
    op.get_by_label("SKU").fill("DUR-MK-1KG")
    op.get_by_label("Bin").fill("A-01-02")
    op.get_by_role("button", name="Put away").click()
    expect(op.get_by_text(re.compile("3 units put away in A-01-02"))).to_be_visible()
    assert inventory.stock_for(Context.system(), sku, hub).available == 3

    # 3. A paid, cleared order (through services, as orders would call them).
    system = Context.system()
    inventory.reserve(system, sku=sku, hub=hub, qty=2, key="order:ORD-E2E:0", purpose="checkout")
    shipment = services.request_shipment(
        system,
        services.ShipmentRequest(
            reference="ORD-E2E",
            merchant_org_id=world["merchant"].pk,
            hub_org_id=hub.pk,
            consignee=services.Consignee(
                "李伟", "13800138000", "上海", "上海市", "浦东新区", "世纪大道100号"
            ),
            lines=[
                services.ShipmentLine(
                    sku.pk,
                    sku.code,
                    "Musang King 1 kg",
                    2,
                    Money(8800, "MYR"),
                    "081060",
                    1000,
                    "order:ORD-E2E:0",
                )
            ],
            declared_value=Money(17600, "MYR"),
        ),
    )
    services.release_for_picking(system, "ORD-E2E")
    waybill = shipment.waybill_no

    # 4. Pick by scan (a wrong item is refused), pack, print the label.
    op.goto("/hub/")
    op.get_by_role("link", name=re.compile(shipment.carrier_code + "@")).click()
    wave_url = op.url
    op.get_by_role("link", name=waybill).click()
    shipment_url = op.url
    for code in ("9999999999999", BARCODE, BARCODE):
        op.get_by_label("Scan the item").fill(code)
        op.get_by_label("Scan the item").press("Enter")
        op.wait_for_load_state()
        if code.startswith("999"):
            expect(op.get_by_text(re.compile("Wrong item"))).to_be_visible()
    expect(op.locator("#shipment-status")).to_have_text("Picked")
    op.get_by_label("Weight (g)").fill("2150")
    op.get_by_label("Length (mm)").fill("300")
    op.get_by_label("Width (mm)").fill("200")
    op.get_by_label("Height (mm)").fill("150")
    op.get_by_role("button", name="Pack").click()
    expect(op.get_by_text("Packed: 2150 g chargeable.")).to_be_visible()
    # The wave page offers every packed parcel's label at once (one PDF, a page each).
    op.goto(wave_url)
    button = op.get_by_role("button", name="Print the label of the 1 packed parcel (one PDF)")
    expect(button).to_be_visible()
    form = op.locator("form", has=button)
    wave_pdf = op.request.post(
        form.get_attribute("action"),
        form={"csrfmiddlewaretoken": form.locator("[name=csrfmiddlewaretoken]").input_value()},
        headers={"Referer": op.url},
    )
    assert wave_pdf.headers["content-type"] == "application/pdf"
    both = pypdfium2.PdfDocument(wave_pdf.body())
    assert len(both) == 1 and waybill in both[0].get_textpage().get_text_range()
    op.goto(shipment_url)

    check_label(op, waybill)

    # 5. Manifest (export declaration filed) and handover.
    manifest_and_hand_over(op, shipment.carrier_code, waybill)
    level = inventory.stock_for(Context.system(), sku, hub)
    assert (level.on_hand, level.reserved) == (1, 0)

    # 6. The carrier pushes signed tracking events; the public page shows delivered.
    push_tracking(op, gateway.carrier(shipment.carrier_code), waybill, "t")
    page.goto(f"/track/{waybill}/")
    expect(page.locator("#tracking-status")).to_have_text("Delivered")
    expect(page.get_by_text("李伟")).to_have_count(0)
    operator.close()
