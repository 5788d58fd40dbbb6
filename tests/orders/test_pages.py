"""Portal pages: cart, checkout, buyer/merchant/ops order pages, scoping and query counts."""

from __future__ import annotations

import pytest

from .conftest import DETAILS, ctx_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(engines, world, cart_with, offer):
    from ehub.orders.models import Order
    from ehub.orders.services import checkout

    placed = checkout.place(ctx_of(world.buyer), cart_with(durian=1, offer=offer), DETAILS)
    return Order.objects.get(public_id=placed.orders[0])


def test_product_page_has_add_to_cart_and_offer(client, world, offer):
    from django.urls import reverse

    page = client.get(reverse("web:product", args=[world.durian.product.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'action="/cart/add/"' in html
    assert offer.public_id in html


def test_checkout_page_shows_cny_taxes_and_quota_then_places(client, world, engines, cart_with):
    cart_with(durian=1)
    client.force_login(world.buyer)
    page = client.post("/cart/checkout/", {**DETAILS, "action": "quote"})
    html = page.content.decode()
    assert "CN¥" in html or "¥" in html
    assert "amount-vat" in html and "quota" in html
    quote = page.context["quote"]
    done = client.post(
        "/cart/checkout/",
        {**DETAILS, "action": "place", "quote": quote.public_id, "idempotency_key": "page-1"},
    )
    assert done.status_code == 302 and done["Location"].startswith("/pay/")


def test_checkout_page_names_bad_fields(client, world, engines, cart_with):
    cart_with(durian=1)
    client.force_login(world.buyer)
    page = client.post("/cart/checkout/", {**DETAILS, "id_number": "123", "action": "quote"})
    assert "id_number" in page.context["errors"]
    assert 'aria-invalid="true"' in page.content.decode()


def test_buyer_pages_scoped_and_counted(client, world, order, django_assert_max_num_queries):
    client.force_login(world.buyer)
    with django_assert_max_num_queries(12):
        assert client.get("/orders/").status_code == 200
    with django_assert_max_num_queries(14):
        page = client.get(f"/orders/{order.public_id}/")
    html = page.content.decode()
    assert order.id_number not in html and order.id_masked in html
    assert "Timeline" in html or "timeline" in html
    client.force_login(world.other_buyer)
    assert client.get(f"/orders/{order.public_id}/").status_code == 404


def test_merchant_pages_scoped(client, world, order, django_assert_max_num_queries):
    client.force_login(world.owner)
    with django_assert_max_num_queries(14):
        assert order.public_id in client.get("/merchant/orders/").content.decode()
    page = client.get(f"/merchant/orders/{order.public_id}/")
    assert page.status_code == 200 and order.id_number not in page.content.decode()
    client.force_login(world.other_owner)
    assert client.get(f"/merchant/orders/{order.public_id}/").status_code == 404


def test_ops_pages(client, world, order):
    client.force_login(world.staff)
    assert order.public_id in client.get("/ops/orders/").content.decode()
    assert client.get(f"/ops/orders/{order.public_id}/").status_code == 200
    client.force_login(world.buyer)
    assert client.get("/ops/orders/").status_code == 403  # not a platform member


def test_header_cart_count_costs_no_query(client, world, offer, django_assert_num_queries):
    # The count lives in the session, refreshed by the pages that change the cart.
    client.force_login(world.buyer)
    client.post("/cart/add/", {"product": world.durian.product.public_id, "qty": "2"})
    client.post("/cart/add/", {"offer": offer.public_id, "qty": "1"})
    home = client.get("/cart/").content.decode()
    assert 'class="badge"' in home and ">3</span>" in home
    from django.template import Context as TemplateContext
    from django.template import Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = client.session
    request.session.keys()  # loaded already by the middleware on a real request
    request.user = world.buyer
    with django_assert_num_queries(0):
        html = Template("{% load orders %}{% cart_link %}").render(
            TemplateContext({"request": request})
        )
    assert ">3</span>" in html
    # Another identity on the same session (e.g. after logout) does not see that count.
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        html = Template("{% load orders %}{% cart_link %}").render(
            TemplateContext({"request": request})
        )
    assert "badge" not in html


def test_checkout_page_shows_why_a_line_cannot_be_bought(client, world, engines, cart_with):
    from ehub.catalog.models import Stock

    cart_with(durian=1)
    Stock.objects.filter(sku=world.durian).update(on_hand=0, reserved=0)
    client.force_login(world.buyer)
    page = client.post("/cart/checkout/", {**DETAILS, "action": "quote"})
    html = page.content.decode()
    assert "quote-errors" in html
    assert [e.code for e in page.context["quote"].errors] == ["insufficient_stock"]
    assert 'value="place"' not in html  # no "Place order" while refused


def test_detail_prices_as_money_and_timeline_labels(client, world, order):
    from ehub.orders.models import OrderEvent

    OrderEvent.objects.create(order=order, kind="email", to_status="placed", reason="placed")
    world.buyer.preferred_language = "en"
    world.buyer.save(update_fields=["preferred_language"])
    client.force_login(world.buyer)
    html = client.get(f"/orders/{order.public_id}/").content.decode()
    assert " fen<" not in html and "CN¥" in html
    assert "E-mail sent to the buyer: Awaiting payment" in html
    client.force_login(world.owner)
    merchant_html = client.get(f"/merchant/orders/{order.public_id}/").content.decode()
    assert world.buyer.email not in merchant_html  # the buyer's e-mail stays off the timeline


def test_anonymous_cart_follows_the_buyer_into_the_header_after_login(client, world):
    client.post("/cart/add/", {"product": world.durian.product.public_id, "qty": "2"})
    client.force_login(world.buyer)  # fires user_logged_in: the cart merges, the count follows
    page = client.get("/orders/").content.decode()
    assert 'class="badge"' in page and ">2</span>" in page


def test_anonymous_visitors_are_sent_to_login(client, order):
    from urllib.parse import quote

    from django.urls import reverse

    login = reverse("accounts:login")
    for url in ("/orders/", f"/orders/{order.public_id}/", "/cart/checkout/"):
        page = client.get(url)
        assert page.status_code == 302
        assert page["Location"] == f"{login}?next={quote(url)}"


def test_buyer_detail_offers_what_the_status_allows(client, world, order):
    from ehub.orders.models import Order

    world.buyer.preferred_language = "en"
    world.buyer.save(update_fields=["preferred_language"])
    client.force_login(world.buyer)
    url = f"/orders/{order.public_id}/"

    def page_as(status):
        Order.objects.filter(pk=order.pk).update(status=status)
        return client.get(url).content.decode()

    html = page_as("placed")
    assert f'href="{order.checkout.checkout_url}">Pay now' in html
    assert "Cancel and refund: why?" in html and "Confirm receipt" not in html
    html = page_as("delivered")
    assert "Pay now" not in html and "Confirm receipt" in html
    assert "Request a return: why?" in html
    html = page_as("completed")
    assert "Confirm receipt" not in html and "Request a return: why?" in html
    html = page_as("return_requested")
    assert "refund-form" not in html and "Confirm receipt" not in html
