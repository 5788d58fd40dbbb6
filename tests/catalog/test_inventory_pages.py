"""Merchant stock pages: levels, the htmx adjustment form, movement history, scoping, queries."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ehub.catalog.models import MovementReason, Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.core.models import AuditEntry

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db

LIST = "/merchant/stock/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def merchant_client(merchant_user, password) -> Client:
    client = Client()
    assert client.login(username=merchant_user.email, password=password)
    return client


def post_adjustment(client, sku, hub, mode="add", quantity=10, note="", url=LIST, **extra):
    data = {"sku": sku.pk, "hub": hub.pk, "mode": mode, "quantity": quantity, "note": note}
    return client.post(url, data, **extra)


def test_urls_are_mounted_under_merchant_stock(sku):
    assert reverse("inventory:list") == LIST
    assert reverse("inventory:sku", args=[sku.pk]) == f"/merchant/stock/sku/{sku.pk}/"


def test_anonymous_visitors_go_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_stock_page_lists_levels_and_the_form(merchant_client, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 12)
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=5, key="chk")
    response = merchant_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stock in the hub" in html
    assert "DUR-MK-1KG" in html and "Musang King durian, frozen 1 kg" in html
    assert "KLIA Aeropolis eFulfilment Hub" in html
    assert '<td data-col="on_hand">12</td>' in html
    assert '<td data-col="reserved">5</td>' in html
    assert '<td data-col="available">7</td>' in html
    assert 'hx-post="/merchant/stock/"' in html and "csrfmiddlewaretoken" in html
    assert '<label for="id_quantity">' in html


def test_adjusting_with_htmx_returns_the_panel(merchant_client, sku, hub):
    response = post_adjustment(merchant_client, sku, hub, quantity=30, note="first count", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="stock-panel">')
    assert "<html" not in html
    assert "Stock updated: 30 on hand, 30 available." in html
    assert '<td data-col="available">30</td>' in html
    stock = Stock.objects.get(sku=sku, hub=hub)
    assert stock.on_hand == 30
    movement = StockMovement.objects.get()
    assert (movement.reason, movement.note) == (MovementReason.ADJUSTMENT, "first count")
    assert AuditEntry.objects.filter(action="inventory.adjusted").count() == 1


def test_adjusting_without_javascript_redirects(merchant_client, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 10)
    response = post_adjustment(merchant_client, sku, hub, mode="remove", quantity=4)
    assert response.status_code == 302 and response["Location"] == LIST
    page = merchant_client.get(LIST).content.decode()
    assert "Stock updated: 6 on hand, 6 available." in page
    response = post_adjustment(merchant_client, sku, hub, mode="set", quantity=20)
    assert Stock.objects.get().on_hand == 20


def test_removing_below_reserved_shows_the_error_on_quantity(
    merchant_client, merchant_ctx, sku, hub
):
    inventory.adjust(merchant_ctx, sku, hub, 10)
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=8, key="chk")
    response = post_adjustment(merchant_client, sku, hub, mode="remove", quantity=5, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_quantity_error"' in html
    assert "On hand cannot go below the 8 units reserved" in html
    assert 'aria-invalid="true"' in html
    assert Stock.objects.get().on_hand == 10
    assert StockMovement.objects.count() == 2  # the opening adjustment and the hold only


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": ""}, "quantity"),
        ({"quantity": "-3"}, "quantity"),
        ({"quantity": "0", "mode": "add"}, "quantity"),
        ({"mode": "steal"}, "mode"),
        ({"note": "x" * 301}, "note"),
    ],
)
def test_bad_input_is_shown_inline_and_nothing_is_saved(merchant_client, sku, hub, data, field):
    payload = {"sku": sku.pk, "hub": hub.pk, "mode": "add", "quantity": 3, "note": ""} | data
    response = merchant_client.post(LIST, payload)
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Stock.objects.exists() and not StockMovement.objects.exists()


def test_another_merchants_sku_cannot_be_chosen_or_viewed(
    merchant_client, other_ctx, other_sku, hub
):
    inventory.adjust(other_ctx, other_sku, hub, 9)
    page = merchant_client.get(LIST).content.decode()
    assert "BATIK-SILK-01" not in page
    response = post_adjustment(merchant_client, other_sku, hub, quantity=1)
    assert response.status_code == 422  # not one of the choices
    assert Stock.objects.get(sku=other_sku).on_hand == 9
    assert merchant_client.get(f"/merchant/stock/sku/{other_sku.pk}/").status_code == 404
    assert merchant_client.post(f"/merchant/stock/sku/{other_sku.pk}/", {}).status_code == 404


def test_the_sku_page_shows_history_paginated_and_filtered(merchant_client, merchant_ctx, sku, hub):
    for n in range(30):
        inventory.adjust(merchant_ctx, sku, hub, 1, f"delivery {n}")
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=2, key="ORDER-42")
    url = f"/merchant/stock/sku/{sku.pk}/"
    html = merchant_client.get(url).content.decode()
    assert "Stock of DUR-MK-1KG" in html
    assert "ORDER-42" in html  # newest first
    assert "Page 1 of 2" in html
    assert "delivery 0<" not in html
    assert "delivery 0<" in merchant_client.get(url + "?page=2").content.decode()
    only_holds = merchant_client.get(url + "?reason=reservation").content.decode()
    assert "ORDER-42" in only_holds and "delivery 29" not in only_holds
    only_adjustments = merchant_client.get(url + "?reason=adjustment").content.decode()
    assert "?reason=adjustment&amp;page=2" in only_adjustments  # the filter survives paging


def test_adjusting_from_the_sku_page(merchant_client, sku, hub):
    url = f"/merchant/stock/sku/{sku.pk}/"
    response = merchant_client.post(
        url, {"sku": sku.pk, "hub": hub.pk, "mode": "set", "quantity": 14}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="sku-panel">')
    assert '<td data-col="on_hand">14</td>' in html
    assert "Adjustment" in html  # the new movement in the history


def test_the_stock_page_query_count_does_not_grow_with_rows(
    merchant_client,
    merchant_ctx,
    make_sku,
    merchant_org,
    hub,
    make_org,
    django_assert_max_num_queries,
):
    from ehub.accounts.domain import OrgKind

    second_hub = make_org(kind=OrgKind.HUB_OPERATOR, name="Senai eFulfilment Hub")
    for _ in range(12):
        sku = make_sku(merchant_org)
        inventory.adjust(merchant_ctx, sku, hub, 5)
        inventory.adjust(merchant_ctx, sku, second_hub, 3)
    with django_assert_max_num_queries(12) as few:
        assert merchant_client.get(LIST).status_code == 200
    for _ in range(12):
        sku = make_sku(merchant_org)
        inventory.adjust(merchant_ctx, sku, hub, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert merchant_client.get(LIST).status_code == 200
    with django_assert_max_num_queries(12):
        assert merchant_client.get(f"/merchant/stock/sku/{sku.pk}/").status_code == 200


def test_pages_are_translated(merchant_client, sku):
    merchant_client.cookies["django_language"] = "zh-hans"
    response = merchant_client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()
