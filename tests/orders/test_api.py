"""The orders API: carts, quote, checkout with Idempotency-Key, orders; scoping; problems."""

from __future__ import annotations

import pytest

from .conftest import DETAILS

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, world):
    client.force_login(world.buyer)
    return client


def _cart(api):
    return api.post("/api/v1/carts", content_type="application/json").json()["public_id"]


def test_cart_quote_checkout_and_orders(api, world, engines, offer, django_assert_max_num_queries):
    cart = _cart(api)
    r = api.post(
        f"/api/v1/carts/{cart}/lines",
        {"product": world.durian.product.public_id, "qty": 2},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    r = api.post(
        f"/api/v1/carts/{cart}/lines", {"offer": offer.public_id}, content_type="application/json"
    )
    assert [line["qty"] for line in r.json()["lines"]] == [2, 1]
    q = api.post(
        f"/api/v1/carts/{cart}/quote",
        {"id_number": DETAILS["id_number"], "province": "浙江省"},
        content_type="application/json",
    ).json()
    assert q["total"]["currency"] == "CNY" and q["quota_remaining"]["amount"] == 2_600_000
    body = {**DETAILS, "quote": q["public_id"]}
    r = api.post(
        f"/api/v1/carts/{cart}/checkout",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert r.status_code == 201, r.content
    placed = r.json()
    assert placed["total"] == q["total"]
    again = api.post(
        f"/api/v1/carts/{cart}/checkout",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert again.status_code == 201 and again.json() == placed
    other = api.post(
        f"/api/v1/carts/{cart}/checkout",
        {**body, "street": "另一条路"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert other.status_code == 409
    assert other["Content-Type"].startswith("application/problem+json")
    order_id = placed["orders"][0]
    with django_assert_max_num_queries(8):
        detail = api.get(f"/api/v1/orders/{order_id}").json()
    assert detail["id_number"] != DETAILS["id_number"] and detail["id_number"].endswith("2X")
    assert detail["pay_url"] == placed["checkout_url"]
    with django_assert_max_num_queries(8):
        listed = api.get("/api/v1/orders").json()
    assert listed["count"] == 1


def test_bad_id_number_is_a_problem_naming_the_field(api, world, engines):
    cart = _cart(api)
    api.post(
        f"/api/v1/carts/{cart}/lines",
        {"product": world.durian.product.public_id},
        content_type="application/json",
    )
    r = api.post(
        f"/api/v1/carts/{cart}/checkout",
        {**DETAILS, "id_number": "110105194912310021"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.id_number"]


def test_other_buyers_get_404(api, client, world, engines, django_user_model):
    from django.test import Client

    cart = _cart(api)
    api.post(
        f"/api/v1/carts/{cart}/lines",
        {"product": world.durian.product.public_id},
        content_type="application/json",
    )
    placed = api.post(
        f"/api/v1/carts/{cart}/checkout", DETAILS, content_type="application/json"
    ).json()
    other = Client()
    other.force_login(world.other_buyer)
    assert other.get(f"/api/v1/carts/{cart}").status_code == 404
    assert other.get(f"/api/v1/orders/{placed['orders'][0]}").status_code == 404
    assert Client().get(f"/api/v1/orders/{placed['orders'][0]}").status_code == 401
