"""The catalog API: products, SKUs, images, HS finder, import/export; scoped by token."""

from __future__ import annotations

import pytest
from django.test import Client

from ehub.accounts import services as accounts
from ehub.catalog.models import Product, Sku

from .test_importer import GOOD, csv_of
from .test_products_services import png

pytestmark = pytest.mark.django_db

BODY = {
    "translations": {
        "en": {"title": "Musang King durian, frozen", "description": "Whole fruit."},
        "ms": {"title": "Durian Musang King beku"},
        "zh-hans": {"title": "猫山王榴莲 冷冻"},
    },
    "hs_code": "081190",
    "gcode": "0811909000",
    "net_weight_g": 1600,
    "skus": [
        {
            "code": "MK-1",
            "price_myr": "168.00",
            "barcode": "9551234000010",
            "variant": {"size": "1 fruit"},
        }
    ],
}


def api_client(ctx) -> Client:
    issued = accounts.create_token(ctx, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


@pytest.fixture
def api(merchant_ctx):
    return api_client(merchant_ctx)


@pytest.fixture
def other_api(other_ctx):
    return api_client(other_ctx)


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_create_get_publish_archive(api):
    response = post(api, "/api/v1/catalog/products", BODY)
    assert response.status_code == 201, response.json()
    product = response.json()
    pid = product["public_id"]
    assert product["status"] == "draft" and product["category"] == "food_drink"
    assert product["hs"]["path"].startswith("08 Fruit and nuts")
    assert product["skus"][0]["price"] == {"amount": 16800, "currency": "MYR"}
    assert product["publish_problems"] == []
    assert (
        api.get(f"/api/v1/catalog/products/{pid}").json()["translations"]["zh-hans"]["title"]
        == "猫山王榴莲 冷冻"
    )
    assert api.post(f"/api/v1/catalog/products/{pid}/publish").json()["status"] == "active"
    assert api.post(f"/api/v1/catalog/products/{pid}/archive").json()["status"] == "archived"
    response = api.post(f"/api/v1/catalog/products/{pid}/publish")
    assert response.status_code == 409 and response["Content-Type"].startswith(
        "application/problem+json"
    )
    assert api.post(f"/api/v1/catalog/products/{pid}/draft").json()["status"] == "draft"


def test_errors_are_problem_json_naming_fields(api):
    bad = {**BODY, "hs_code": "081099", "skus": [{"code": "MK-1", "price_myr": "-1.00"}]}
    response = post(api, "/api/v1/catalog/products", bad)
    assert response.status_code == 422 and response["Content-Type"].startswith(
        "application/problem+json"
    )
    assert {e["field"] for e in response.json()["errors"]} == {
        "body.hs_code",
        "body.gcode",
        "body.skus.0.price_myr",
    }
    assert not Product.objects.exists()
    response = post(
        api, "/api/v1/catalog/products", {**BODY, "skus": [{"code": "A", "price_myr": 12.9}]}
    )
    assert response.status_code == 422  # a JSON number is refused: prices are decimal strings


def test_publish_without_chinese_title(api):
    body = {**BODY, "translations": {"en": {"title": "Durian"}}}
    pid = post(api, "/api/v1/catalog/products", body).json()["public_id"]
    response = api.post(f"/api/v1/catalog/products/{pid}/publish")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.translations.zh-hans.title"]


def test_patch_product_and_skus(api):
    pid = post(api, "/api/v1/catalog/products", BODY).json()["public_id"]
    response = api.patch(
        f"/api/v1/catalog/products/{pid}",
        {"brand": "Raja", "translations": {"ms": {"title": ""}}},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["brand"] == "Raja" and "ms" not in response.json()["translations"]
    response = post(
        api, f"/api/v1/catalog/products/{pid}/skus", {"code": "MK-2", "price_myr": "320"}
    )
    assert response.status_code == 201
    response = api.patch(
        f"/api/v1/catalog/products/{pid}/skus/MK-2",
        {"price_myr": "300.50"},
        content_type="application/json",
    )
    assert response.json()["price_myr"] == "300.50"
    assert [s["code"] for s in api.get(f"/api/v1/catalog/products/{pid}/skus").json()] == [
        "MK-1",
        "MK-2",
    ]


def test_image_upload(api):
    pid = post(api, "/api/v1/catalog/products", BODY).json()["public_id"]
    response = api.post(
        f"/api/v1/catalog/products/{pid}/images",
        {"image": __import__("io").BytesIO(png()), "alt_text": "Durian"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["thumbnail_url"].endswith("-thumb.jpg")
    assert len(api.get(f"/api/v1/catalog/products/{pid}").json()["images"]) == 1


def test_another_org_gets_404(api, other_api):
    pid = post(api, "/api/v1/catalog/products", BODY).json()["public_id"]
    for method, url, body in [
        ("get", f"/api/v1/catalog/products/{pid}", None),
        ("patch", f"/api/v1/catalog/products/{pid}", {"brand": "x"}),
        ("post", f"/api/v1/catalog/products/{pid}/publish", None),
        ("get", f"/api/v1/catalog/products/{pid}/skus", None),
        ("post", f"/api/v1/catalog/products/{pid}/skus", {"code": "X", "price_myr": "1"}),
        ("patch", f"/api/v1/catalog/products/{pid}/skus/MK-1", {"price_myr": "1"}),
    ]:
        kwargs = {"content_type": "application/json"} if body is not None else {}
        response = (
            getattr(other_api, method)(url, body, **kwargs)
            if body is not None
            else getattr(other_api, method)(url)
        )
        assert response.status_code == 404, url
    assert other_api.get("/api/v1/catalog/products").json()["count"] == 0
    assert "MK-1" not in other_api.get("/api/v1/catalog/export").content.decode()
    assert Sku.objects.get().price_myr == 16800


@pytest.mark.parametrize("count", [1, 30])
def test_list_query_count(api, merchant_ctx, make_product, django_assert_max_num_queries, count):
    for i in range(count):
        make_product(merchant_ctx, sku=f"S-{i}")
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/catalog/products?status=draft&limit=50")
    body = response.json()
    assert body["count"] == count and len(body["items"]) == count
    assert body["items"][0]["titles"]["zh-hans"] == "猫山王榴莲 整颗冷冻"


def test_hs_endpoints(api):
    hits = api.get("/api/v1/catalog/hs?q=batik+silk+scarf").json()
    assert hits[0]["code"] == "621410" and " › " in hits[0]["path"]
    assert api.get("/api/v1/catalog/hs/suggest?title=Pewter+tankard").json()[0]["code"] == "800700"
    assert api.get("/api/v1/catalog/hs/0810.60").json()["code"] == "081060"
    assert api.get("/api/v1/catalog/hs/081099").status_code == 404
    assert api.get("/api/v1/catalog/hs?q=").status_code == 422


def test_import_dry_run_import_and_export(api):
    bad = csv_of("a,,Durian,,榴莲,,081099,,,,A-1,,,-1")
    report = api.post(
        "/api/v1/catalog/import/dry-run", {"file": __import__("io").BytesIO(bad)}
    ).json()
    assert not report["ok"]
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(2, "hs_code"), (2, "price_myr")}
    response = api.post("/api/v1/catalog/import", {"file": __import__("io").BytesIO(bad)})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "file.rows.2.hs_code",
        "file.rows.2.price_myr",
    }
    assert not Product.objects.exists()
    response = api.post("/api/v1/catalog/import", {"file": __import__("io").BytesIO(GOOD)})
    assert response.status_code == 200 and response.json()["skus_created"] == 3
    export = api.get("/api/v1/catalog/export")
    assert export["Content-Type"].startswith("text/csv") and "MK-2" in export.content.decode()
