"""Issue 5's journey in a browser, on the demo data and the real engines: a buyer in China puts
a durian product and a flash-sale item in the cart, sees CNY prices with taxes and the quota
left, places the order, pays on the sandbox wallet page, and sees it paid then declared; a
second tab replays the wallet's signed webhook and nothing changes; the merchant sees the paid
order with the buyer's ID masked; the ledger's invariants hold."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from ehub.core import clock
from ehub.core.tasks import run_pending_tasks

pytestmark = pytest.mark.browser

BUYER_ID = "110101199003071233"  # web/demo.py's Li Wei


@pytest.fixture
def demo(transactional_db, settings):
    """The demo marketplace, with Malaysia Week's flash sale live now."""
    from ehub.campaigns.models import Offer
    from ehub.core import fx
    from ehub.web import demo as web_demo

    settings.EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    fx.seed_ecb_rates()  # as `ehub demo` does before the contexts' seeds
    web_demo.seed(out=lambda *a, **k: None)
    flash = Offer.objects.get(flash_starts_at__isnull=False, sku__code="RMK-MK-2X1600")
    now = clock.now()
    start, end = now - dt.timedelta(minutes=1), now + dt.timedelta(hours=2)
    Offer.objects.filter(pk=flash.pk).update(
        flash_starts_at=start, flash_ends_at=end, sale_starts_at=start, sale_ends_at=end
    )
    flash.refresh_from_db()
    return {"password": web_demo.DEMO_PASSWORD, "flash": flash}


def login(page, email, password, next_url):
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()


def _order_state(public_id):
    from ehub.ledger.models import Transfer
    from ehub.orders.models import Order
    from ehub.payments.models import PaymentIntent

    order = Order.objects.get(public_id=public_id)
    intents = list(PaymentIntent.objects.order_by("pk").values_list("public_id", "status"))
    return order.status, intents, Transfer.objects.count()


def test_buyer_pays_and_the_order_is_declared(page, demo, browser, live_server):
    from ehub.catalog.models import Sku
    from ehub.ledger.services import verify
    from ehub.orders.models import Order
    from ehub.payments import gateways
    from ehub.payments.models import SandboxWebhook

    password, flash = demo["password"], demo["flash"]
    durian = Sku.objects.select_related("product").get(code="RMK-MK-1600")

    # 1. The buyer signs in and adds a durian product from its page...
    login(page, "li.wei@buyer.demo", password, f"/p/{durian.product.public_id}/")
    page.locator("form.add-to-cart").get_by_role("button", name="Add to cart").click()
    if page.get_by_text(re.compile("available")).count():  # demo stock all allocated to offers
        page.goto(f"/p/{durian.product.public_id}/")
        page.get_by_role("button", name="Add at the offer price").first.click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    # ... and the flash-sale item from the campaign page.
    page.goto("/campaigns/malaysia-week/")
    offer_card = page.locator(f"#offer-{flash.public_id}")
    offer_card.get_by_role("button", name=re.compile("Add to cart")).click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    expect(page.locator("tr.cart-line")).to_have_count(2)
    expect(page.locator(".cart-link .badge")).to_have_text("2")  # the header's count, no query

    # 2. Checkout: details prefilled from the profile, a Chinese address, then the quote.
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Resident ID number (18 digits)")).to_have_value(BUYER_ID)
    page.get_by_label("Province").fill("上海")
    page.get_by_label("City").fill("上海市")
    page.get_by_label("District").fill("浦东新区")
    page.get_by_label("Street address").fill("世纪大道100号")
    page.get_by_role("button", name="Show prices, taxes and quota").click()
    quote = page.locator(".checkout-quote")
    expect(quote).to_be_visible()
    expect(quote.locator(".amount-total")).to_contain_text("CN¥")
    for tax in quote.locator(".amount-tax").all():
        assert re.search(r"CN¥\s?\d", tax.inner_text())
    assert quote.locator(".amount-tax").count() >= 1
    expect(quote.locator(".quota")).to_contain_text(re.compile(r"CN¥[\d,]+\.\d\d left"))
    expect(quote.locator(".quote-errors")).to_have_count(0)
    expect(quote.get_by_text(re.compile(r"^\d+ × Musang King"))).to_have_count(2)
    total = quote.locator(".amount-total").inner_text()

    # 3. Place the order: the browser lands on the wallet's hosted page, with the same total.
    page.get_by_role("button", name="Place order and pay").click()
    expect(page).to_have_url(re.compile(r"/pay/[^/]+/$"))
    assert page.get_by_test_id("wallet-amount").inner_text().strip() == total.strip()
    orders = list(Order.objects.order_by("pk"))
    assert orders and all(o.buyer.email == "li.wei@buyer.demo" for o in orders)
    page.get_by_role("button", name=f"Pay {total.strip()}", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Payment successful")

    # 4. Back to the shop: the wallet's webhook has not arrived yet, so the page waits; the task
    # queue delivers it and the lifecycle runs: paid, then the customs documents filed.
    page.get_by_role("link", name="Return to the shop").click()
    expect(page.get_by_test_id("payment-status")).to_contain_text("waiting")
    for _round in range(4):
        run_pending_tasks()
    page.reload()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order = orders[0]
    page.get_by_role("link", name=order.public_id).click()
    status = page.locator("#order-status")
    expect(status).to_have_text(re.compile("Declared to customs|Cleared by customs"))
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Payment captured.")
    expect(timeline).to_contain_text("Paid, awaiting shipment")
    expect(timeline).not_to_contain_text(re.compile(r"· (paid|declared)\b"))
    expect(timeline).to_contain_text("CEB311 filed with customs.")
    expect(page.locator(".tax-breakdown")).to_contain_text("CN¥")
    expect(page.get_by_role("table")).to_contain_text("CN¥")  # line prices as money
    expect(page.locator("main")).not_to_contain_text(BUYER_ID)  # masked for the buyer too

    # 5. A second tab replays the signed webhook: accepted as a duplicate, nothing changes.
    before = _order_state(order.public_id)
    delivered = SandboxWebhook.objects.filter(event_type__icontains="capture").first()
    assert delivered is not None, list(SandboxWebhook.objects.values_list("event_type", flat=True))
    body = delivered.body.encode("utf-8")
    second = page.context.new_page()
    answer = second.request.post(
        "/payments/webhooks/sandbox/", data=body, headers=gateways.signed_request(body)
    )
    assert answer.ok, answer.text()  # a duplicate is acknowledged, not applied again
    forged = second.request.post(
        "/payments/webhooks/sandbox/",
        data=body,
        headers={**gateways.signed_request(body), gateways.SIGNATURE_HEADER: "t=1,v1=00"},
    )
    assert forged.status == 400
    run_pending_tasks()
    assert _order_state(order.public_id) == before
    second.close()

    # 6. The merchant (another browser) sees the paid order; the buyer's ID is masked.
    merchant = browser.new_context(base_url=live_server.url, locale="en-GB")
    mpage = merchant.new_page()
    owner = order.merchant.memberships.order_by("pk").first().user
    login(mpage, owner.email, password, "/merchant/orders/")
    expect(mpage.get_by_role("link", name=order.public_id)).to_be_visible()
    mpage.get_by_role("link", name=order.public_id).click()
    expect(mpage.locator("#order-status")).to_be_visible()
    content = mpage.content()
    assert BUYER_ID not in content
    assert "li.wei@buyer.demo" not in content  # nor the buyer's e-mail on the timeline
    # …shown masked: the first and last two digits only.
    masked = mpage.locator(".id-masked").inner_text().strip()
    assert masked == BUYER_ID[:2] + "•" * (len(BUYER_ID) - 4) + BUYER_ID[-2:]
    merchant.close()

    # 7. The books balance.
    assert verify() == []
