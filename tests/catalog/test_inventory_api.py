"""Inventory REST API: stock, adjustments, movements and read-only reservations, org-scoped."""

from __future__ import annotations

import pytest
from django.test import Client

from ehub.accounts import services as accounts
from ehub.catalog.models import Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.core.models import AuditEntry

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db

BASE = "/api/v1/inventory"


@pytest.fixture
def token(merchant_ctx) -> str:
    return accounts.create_token(merchant_ctx, "stock sync").secret


@pytest.fixture
def other_token(other_ctx) -> str:
    return accounts.create_token(other_ctx, "other").secret


@pytest.fixture
def api(token):
    client = Client()

    def call(method: str, path: str, body=None, secret=None, **params):
        headers = {"Authorization": f"Bearer {secret or token}"}
        if method == "get":
            return client.get(BASE + path, params, headers=headers)
        return client.post(BASE + path, body, content_type="application/json", headers=headers)

    return call


def test_stock_lists_levels_and_filters(api, merchant_ctx, make_sku, merchant_org, sku, hub):
    second = make_sku(merchant_org, code="DUR-MK-500G")
    inventory.adjust(merchant_ctx, sku, hub, 12)
    inventory.adjust(merchant_ctx, second, hub, 4)
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=5, key="chk-1")

    body = api("get", "/stock").json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first == {
        "sku": "DUR-MK-1KG",
        "product": sku.product.public_id,
        "hub": {"public_id": hub.public_id, "name": "KLIA Aeropolis eFulfilment Hub"},
        "on_hand": 12,
        "reserved": 5,
        "available": 7,
        "updated_at": first["updated_at"],
    }
    only = api("get", "/stock", sku="DUR-MK-500G", hub=hub.public_id).json()
    assert [i["sku"] for i in only["items"]] == ["DUR-MK-500G"]
    assert api("get", "/stock", limit=1, offset=1).json()["items"][0]["sku"] == "DUR-MK-500G"


def test_adjustments_by_delta_and_by_count(api, sku, hub):
    response = api("post", "/adjustments", {"sku": sku.code, "hub": hub.public_id, "delta": 20})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["changed"] is True
    assert body["movement"]["reason"] == "adjustment"
    assert (body["movement"]["on_hand_delta"], body["movement"]["on_hand_after"]) == (20, 20)
    assert body["stock"]["available"] == 20

    counted = api(
        "post",
        "/adjustments",
        {"sku": sku.code, "hub": hub.public_id, "on_hand": 17, "note": "count"},
    )
    assert counted.status_code == 201
    assert counted.json()["movement"]["on_hand_delta"] == -3
    same = api("post", "/adjustments", {"sku": sku.code, "hub": hub.public_id, "on_hand": 17})
    assert same.status_code == 200 and same.json() == same.json() | {
        "changed": False,
        "movement": None,
    }
    assert StockMovement.objects.count() == 2
    assert AuditEntry.objects.filter(action="inventory.adjusted", via="api").count() == 2


def test_adjustment_errors_name_the_field(api, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 5)
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=4, key="chk")
    cases = [
        ({"sku": sku.code, "hub": hub.public_id, "delta": -2}, 422, "body.delta", "below_reserved"),
        (
            {"sku": sku.code, "hub": hub.public_id, "on_hand": 3},
            422,
            "body.on_hand",
            "below_reserved",
        ),
        (
            {"sku": sku.code, "hub": hub.public_id, "delta": 0},
            422,
            "body.delta",
            "invalid_quantity",
        ),
        ({"sku": sku.code, "hub": hub.public_id}, 422, "body.delta", "one_of"),
        (
            {"sku": sku.code, "hub": hub.public_id, "delta": 1, "on_hand": 1},
            422,
            "body.delta",
            "one_of",
        ),
        ({"sku": sku.code, "hub": "ORG-NOPE", "delta": 1}, 422, "body.hub", "unknown_hub"),
        ({"sku": sku.code, "hub": hub.public_id, "delta": "x"}, 422, "body.delta", "int_parsing"),
        ({"sku": "NOPE", "hub": hub.public_id, "delta": 1}, 404, None, "not_found"),
    ]
    for body, status, field, code in cases:
        response = api("post", "/adjustments", body)
        assert response.status_code == status, (body, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        if field:
            assert {"field": field, "code": code} in [
                {"field": e["field"], "code": e["code"]} for e in problem["errors"]
            ], problem
        else:
            assert problem["code"] == code
    assert Stock.objects.get().on_hand == 5
    assert StockMovement.objects.count() == 2


def test_another_orgs_sku_is_404_everywhere(
    api, other_token, other_ctx, other_sku, sku, hub, merchant_ctx
):
    inventory.adjust(other_ctx, other_sku, hub, 9)
    inventory.adjust(merchant_ctx, sku, hub, 3)
    for path in ("/stock", "/movements", "/reservations"):
        response = api("get", path, sku=other_sku.code)
        assert response.status_code == 404, path
    response = api(
        "post", "/adjustments", {"sku": other_sku.code, "hub": hub.public_id, "delta": 1}
    )
    assert response.status_code == 404
    assert Stock.objects.get(sku=other_sku).on_hand == 9
    assert [i["sku"] for i in api("get", "/stock").json()["items"]] == ["DUR-MK-1KG"]
    theirs = api("get", "/stock", secret=other_token).json()["items"]
    assert [i["sku"] for i in theirs] == ["BATIK-SILK-01"]


def test_movements_and_reservations_are_readable(api, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 10)
    inventory.reserve(merchant_ctx, sku=sku, hub=hub, qty=3, key="chk-7", purpose="checkout")
    inventory.release(merchant_ctx, "chk-7", 1)

    moves = api("get", "/movements").json()
    assert [m["reason"] for m in moves["items"]] == ["release", "reservation", "adjustment"]
    holds = api("get", "/movements", reason="reservation").json()["items"]
    assert [(m["reference"], m["reserved_after"]) for m in holds] == [("chk-7", 3)]
    assert api("get", "/movements", reason="theft").status_code == 422

    (held,) = api("get", "/reservations", status="active").json()["items"]
    assert held | {"created_at": None} == {
        "key": "chk-7",
        "sku": "DUR-MK-1KG",
        "hub": {"public_id": hub.public_id, "name": hub.name},
        "qty": 3,
        "held": 2,
        "released_qty": 1,
        "consumed_qty": 0,
        "status": "active",
        "purpose": "checkout",
        "expires_at": None,
        "created_at": None,
        "closed_at": None,
    }
    assert api("get", "/reservations", status="expired").json()["count"] == 0


def test_reservations_cannot_be_made_through_the_api(api, sku, hub):
    response = api("post", "/reservations", {"sku": sku.code, "hub": hub.public_id, "qty": 1})
    assert response.status_code == 405


def test_api_query_counts(
    api, merchant_ctx, make_sku, merchant_org, hub, django_assert_max_num_queries
):
    for _ in range(20):
        s = make_sku(merchant_org)
        inventory.adjust(merchant_ctx, s, hub, 2)
        inventory.reserve(merchant_ctx, sku=s, hub=hub, qty=1, key=f"k{s.pk}")
    for path in ("/stock", "/movements", "/reservations"):
        with django_assert_max_num_queries(6):
            assert api("get", path).status_code == 200
