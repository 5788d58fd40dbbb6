"""Merchant product pages: forms in three languages, inline errors naming fields, scoping,
query counts, the HS finder and the import page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ehub.catalog.models import Product, Sku

from .test_importer import GOOD, csv_of

pytestmark = pytest.mark.django_db

FORM = {
    "title_en": "Musang King durian, frozen whole fruit",
    "description_en": "Flash-frozen.",
    "title_ms": "Durian Musang King beku",
    "description_ms": "Dibekukan segera.",
    "title_zh_hans": "猫山王榴莲 整颗冷冻",
    "description_zh_hans": "急冻。",
    "brand": "Raja",
    "origin_country": "MY",
    "hs_code": "0811.90",
    "gcode": "",
    "sku_code": "MK-1",
    "sku_variant": "size=1 fruit",
    "sku_barcode": "9551234000010",
    "sku_price_myr": "168.00",
}


@pytest.fixture
def merchant_client(client, merchant_user):
    client.force_login(merchant_user)
    return client


@pytest.fixture
def other_client(other_user):
    from django.test import Client

    c = Client()
    c.force_login(other_user)
    return c


def test_create_in_three_languages_then_publish(merchant_client):
    response = merchant_client.post("/merchant/products/new/", FORM)
    product = Product.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{product.public_id}/")
    page = merchant_client.get(response["Location"]).content.decode()
    assert "猫山王榴莲 整颗冷冻" in page and "Durian Musang King beku" in page
    assert "081190 Fruit, edible; fruit and nuts n.e.c. in heading no. 0811" in page
    assert "08 Fruit and nuts" in page
    response = merchant_client.post(f"/merchant/products/{product.public_id}/status/publish/")
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == "active" and product.category == "food_drink"
    assert Sku.objects.get().price_myr == 16800


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"hs_code": "081099"}, "id_hs_code", "is not an HS 2022 subheading"),
        ({"hs_code": "0811"}, "id_hs_code", "exactly 6 digits"),
        ({"sku_price_myr": "-12.90"}, "id_sku_price_myr", "cannot be negative"),
        ({"sku_price_myr": "12.999"}, "id_sku_price_myr", "at most 2 decimal places"),
        ({"sku_barcode": "9551234000011"}, "id_sku_barcode", "check digit"),
        ({"gcode": "0810600000"}, "id_gcode", "must start with the HS code"),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_saved(
    merchant_client, change, field_id, message
):
    response = merchant_client.post("/merchant/products/new/", {**FORM, **change})
    assert response.status_code == 422
    html = response.content.decode()
    assert f'<a href="#{field_id}">' in html and message in html
    assert f'id="{field_id}"' in html and 'aria-invalid="true"' in html
    assert not Product.objects.exists() and not Sku.objects.exists()


def test_publish_without_chinese_title_names_the_field(merchant_client):
    merchant_client.post(
        "/merchant/products/new/", {**FORM, "title_zh_hans": "", "description_zh_hans": ""}
    )
    product = Product.objects.get()
    response = merchant_client.post(f"/merchant/products/{product.public_id}/status/publish/")
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        '<a href="#id_title_zh_hans">Title (Chinese): '
        "A title in Chinese (simplified) is needed to publish." in html
    )
    product.refresh_from_db()
    assert product.status == "draft"


def test_add_and_edit_sku_and_image(merchant_client):
    merchant_client.post(
        "/merchant/products/new/",
        {**FORM, "sku_code": "", "sku_variant": "", "sku_barcode": "", "sku_price_myr": ""},
    )
    pid = Product.objects.get().public_id
    response = merchant_client.post(
        f"/merchant/products/{pid}/skus/",
        {
            "code": "MK-2",
            "variant": "size=2 fruits",
            "variant_label_zh_hans": "2颗",
            "price_myr": "-1",
            "is_active": "on",
        },
    )
    assert response.status_code == 422 and "cannot be negative" in response.content.decode()
    assert not Sku.objects.exists()
    merchant_client.post(
        f"/merchant/products/{pid}/skus/",
        {
            "code": "MK-2",
            "variant": "size=2 fruits",
            "variant_label_zh_hans": "2颗",
            "price_myr": "320",
            "is_active": "on",
        },
    )
    sku = Sku.objects.get()
    assert sku.variant_labels == {"zh-hans": "2颗"} and sku.price_myr == 32000
    assert merchant_client.get(f"/merchant/products/{pid}/skus/MK-2/").status_code == 200
    merchant_client.post(
        f"/merchant/products/{pid}/skus/MK-2/", {"code": "MK-2", "price_myr": "300.50"}
    )
    sku.refresh_from_db()
    assert sku.price_myr == 30050 and not sku.is_active

    from .test_products_services import png

    response = merchant_client.post(
        f"/merchant/products/{pid}/images/",
        {"image": SimpleUploadedFile("d.png", png(), "image/png"), "alt_text": "Durian"},
    )
    assert response.status_code == 302
    response = merchant_client.post(
        f"/merchant/products/{pid}/images/",
        {"image": SimpleUploadedFile("d.png", b"not an image", "image/png")},
    )
    assert response.status_code == 422 and "not an image" in response.content.decode()


def test_another_merchant_gets_404_everywhere(merchant_client, other_client):
    merchant_client.post("/merchant/products/new/", FORM)
    pid = Product.objects.get().public_id
    for method, url in [
        ("get", f"/merchant/products/{pid}/"),
        ("post", f"/merchant/products/{pid}/"),
        ("post", f"/merchant/products/{pid}/status/publish/"),
        ("post", f"/merchant/products/{pid}/skus/"),
        ("get", f"/merchant/products/{pid}/skus/MK-1/"),
        ("post", f"/merchant/products/{pid}/images/"),
    ]:
        assert getattr(other_client, method)(url).status_code == 404, url
    assert pid not in other_client.get("/merchant/products/").content.decode()
    assert "MK-1" not in other_client.get("/merchant/products/export.csv").content.decode()
    assert Product.objects.get().status == "draft"


def test_anonymous_and_non_merchants_are_kept_out(client, make_user, make_org):
    assert client.get("/merchant/products/").status_code == 302
    client.force_login(make_user(org=make_org(kind="hub_operator")))
    assert client.get("/merchant/products/").status_code == 403


@pytest.mark.parametrize("count", [1, 30])
def test_list_page_query_count_does_not_grow(
    merchant_client, merchant_ctx, make_product, django_assert_max_num_queries, count
):
    for i in range(count):
        make_product(merchant_ctx, sku=f"S-{i}")
    with django_assert_max_num_queries(8):
        response = merchant_client.get("/merchant/products/?status=draft&q=durian")
    assert response.status_code == 200
    assert response.content.decode().count("Musang King durian") == min(count, 25)
    if count > 25:  # the next-page link keeps the filters
        assert "?status=draft&amp;q=durian&amp;page=2" in response.content.decode()


def test_hs_finder_page_and_htmx_results(merchant_client):
    page = merchant_client.get("/merchant/products/hs/?q=frozen+durian")
    assert page.status_code == 200 and "081190" in page.content.decode()
    assert "<html" in page.content.decode()
    partial = merchant_client.get("/merchant/products/hs/?q=batik+scarf", HTTP_HX_REQUEST="true")
    assert "621410" in partial.content.decode() and "<html" not in partial.content.decode()
    suggest = merchant_client.get("/merchant/products/hs/suggest/?title_en=Pewter+tankard")
    assert "800700" in suggest.content.decode()


def test_import_page_dry_run_then_confirm(merchant_client):
    bad = csv_of("a,,Durian,,榴莲,,081099,,,,A-1,,,-1")
    response = merchant_client.post(
        "/merchant/products/import/", {"file": SimpleUploadedFile("c.csv", bad)}
    )
    html = response.content.decode()
    assert response.status_code == 422 and 'id="import-errors"' in html
    assert "<td>2</td><td><code>hs_code</code></td>" in html
    assert "<td>2</td><td><code>price_myr</code></td>" in html
    assert not Product.objects.exists()

    response = merchant_client.post(
        "/merchant/products/import/", {"file": SimpleUploadedFile("c.csv", GOOD)}
    )
    assert response.status_code == 200 and not Product.objects.exists()
    token = response.context["token"]
    response = merchant_client.post("/merchant/products/import/", {"confirm": token})
    assert response.status_code == 302
    assert Product.objects.count() == 2 and Sku.objects.count() == 3
    assert merchant_client.post("/merchant/products/import/", {"confirm": token}).status_code == 302
    assert Sku.objects.count() == 3


def test_export_download(merchant_client):
    merchant_client.post("/merchant/products/new/", FORM)
    response = merchant_client.get("/merchant/products/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "猫山王榴莲 整颗冷冻" in response.content.decode("utf-8-sig")
