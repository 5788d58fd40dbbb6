"""Product use cases: validation naming fields, status machine, SKUs, images, scoping, audit."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from PIL import Image

from ehub.catalog import domain
from ehub.catalog.models import Product, ProductImage, Sku, TariffLine
from ehub.catalog.services import products as services
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def fields(exc):
    return [e.field for e in exc.value.errors]


def png(size=(800, 600), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "#c9a227").save(out, fmt)
    return out.getvalue()


def test_create_saves_texts_category_skus_and_audit(merchant_ctx, make_product, monkeypatch):
    indexed = []
    monkeypatch.setattr(services.search, "index_product", indexed.append)
    product = make_product(merchant_ctx)
    assert product.status == "draft"
    assert product.category == "food_drink"
    assert (
        services.titles_of(Product.objects.get(pk=product.pk))["zh-hans"] == "猫山王榴莲 整颗冷冻"
    )
    assert Sku.objects.get(product=product).price_myr == 16800
    assert AuditEntry.objects.filter(action="product.created", object_id=str(product.pk)).exists()
    assert indexed == [product.pk]


def test_create_reports_every_bad_field_and_saves_nothing(merchant_ctx):
    data = services.ProductInput(
        translations={"en": domain.Text("Durian")},
        hs_code="081099",
        gcode="1234567890",
        origin_country="XX",
        net_weight_g=500,
        gross_weight_g=100,
    )
    with pytest.raises(ValidationFailed) as exc:
        services.create_product(
            merchant_ctx, data, [services.SkuInput(code="A-1", price_myr="-1.00", barcode="123")]
        )
    assert set(fields(exc)) == {
        "hs_code",
        "gcode",
        "origin_country",
        "gross_weight_g",
        "skus.0.price_myr",
        "skus.0.barcode",
    }
    assert not Product.objects.exists()


def test_publish_needs_chinese_title(merchant_ctx, make_product):
    product = make_product(merchant_ctx, texts={"en": ("Durian", "")})
    with pytest.raises(ValidationFailed) as exc:
        services.publish(merchant_ctx, product.public_id)
    assert fields(exc) == ["translations.zh-hans.title"]
    product.refresh_from_db()
    assert product.status == "draft"


def test_status_machine(merchant_ctx, make_product):
    product = make_product(merchant_ctx, publish=True)
    assert product.status == "active" and product.published_at is not None
    assert services.publish(merchant_ctx, product.public_id).status == "active"  # idempotent
    assert services.archive(merchant_ctx, product.public_id).status == "archived"
    with pytest.raises(Conflict):
        services.publish(merchant_ctx, product.public_id)
    assert services.to_draft(merchant_ctx, product.public_id).status == "draft"


def test_a_pending_merchant_cannot_publish(make_org, make_user, make_product):
    from tests.catalog.conftest import context_for

    org = make_org(status="pending")
    ctx = context_for(make_user(org=org), org)
    product = make_product(ctx)
    with pytest.raises(Conflict):
        services.publish(ctx, product.public_id)


def test_an_active_product_stays_publishable(merchant_ctx, make_product):
    product = make_product(merchant_ctx, publish=True)
    with pytest.raises(ValidationFailed) as exc:
        services.update_product(
            merchant_ctx,
            product.public_id,
            services.ProductInput(translations={"zh-hans": domain.Text("")}),
        )
    assert fields(exc) == ["translations.zh-hans.title"]
    with pytest.raises(ValidationFailed) as exc:
        services.update_sku(
            merchant_ctx, product.public_id, "MK-1", services.SkuInput(is_active=False)
        )
    assert fields(exc) == ["skus"]
    assert Sku.objects.get(code="MK-1").is_active


def test_update_changes_only_what_is_given(merchant_ctx, make_product):
    product = make_product(merchant_ctx, brand="Raja")
    updated = services.update_product(
        merchant_ctx, product.public_id, services.ProductInput(hs_code="6214.10")
    )
    assert updated.hs_code == "621410" and updated.category == "fashion"
    assert updated.brand == "Raja"
    assert services.titles_of(updated)["en"].startswith("Musang King")


def test_sku_codes_are_unique_per_org_only(merchant_ctx, other_ctx, make_product):
    product = make_product(merchant_ctx)
    with pytest.raises(ValidationFailed) as exc:
        services.add_sku(
            merchant_ctx, product.public_id, services.SkuInput(code="MK-1", price_myr="1")
        )
    assert fields(exc) == ["code"]
    make_product(other_ctx)  # the same code in another org is fine
    sku = services.add_sku(
        merchant_ctx,
        product.public_id,
        services.SkuInput(
            code="MK-2",
            price_myr="320.00",
            variant={"size": "2 fruits"},
            variant_labels={"zh-hans": "2颗"},
            barcode="9551234000010",
        ),
    )
    assert sku.price_myr == 32000 and sku.variant == {"size": "2 fruits"}


def test_other_orgs_products_are_not_found(merchant_ctx, other_ctx, make_product):
    product = make_product(merchant_ctx)
    for call in (
        lambda: services.get_product(other_ctx, product.public_id),
        lambda: services.publish(other_ctx, product.public_id),
        lambda: services.update_product(
            other_ctx, product.public_id, services.ProductInput(brand="x")
        ),
        lambda: services.add_image(other_ctx, product.public_id, png()),
    ):
        with pytest.raises(NotFound):
            call()
    assert list(services.list_products(other_ctx)) == []


def test_only_merchants_have_products(make_org, make_user):
    from tests.catalog.conftest import context_for

    hub = make_org(kind="hub_operator")
    with pytest.raises(PermissionDenied):
        services.list_products(context_for(make_user(org=hub), hub))


def test_list_filters_by_status_and_title(merchant_ctx, make_product):
    make_product(merchant_ctx, publish=True)
    make_product(
        merchant_ctx, sku="B-1", texts={"en": ("Batik scarf", ""), "zh-hans": ("蜡染丝巾", "")}
    )
    assert services.list_products(merchant_ctx, status="active").count() == 1
    assert services.list_products(merchant_ctx, q="batik").count() == 1
    assert services.list_products(merchant_ctx, q="丝巾").count() == 1
    with pytest.raises(ValidationFailed):
        services.list_products(merchant_ctx, status="sold")


def test_image_is_stored_with_a_400px_thumbnail(merchant_ctx, make_product):
    product = make_product(merchant_ctx)
    row = services.add_image(merchant_ctx, product.public_id, png(), "durian photo.png", "Durian")
    assert (row.width, row.height) == (800, 600)
    with row.thumbnail.open("rb") as f:
        thumb = Image.open(f)
        assert max(thumb.size) == 400 and thumb.format == "JPEG"
    assert row.image.storage.exists(row.image.name)
    services.remove_image(merchant_ctx, product.public_id, row.pk)
    assert not ProductImage.objects.exists()


def test_image_must_be_a_real_image_under_5mb(merchant_ctx, make_product):
    product = make_product(merchant_ctx)
    with pytest.raises(ValidationFailed) as exc:
        services.add_image(merchant_ctx, product.public_id, b"GIF89a not really", "x.gif")
    assert exc.value.errors[0].code == "not_an_image"
    with pytest.raises(ValidationFailed) as exc:
        services.add_image(merchant_ctx, product.public_id, b"0" * (5 * 1024 * 1024 + 1))
    assert exc.value.errors[0].code == "too_large"
    assert not ProductImage.objects.exists()


def test_tariff_rates_use_the_latest_line_in_force(merchant_ctx):
    for valid_from, vat in ((dt.date(2023, 1, 1), "0.13"), (dt.date(2024, 1, 1), "0.09")):
        TariffLine.objects.create(
            country="CN",
            code="0811909000",
            hs6="081190",
            description="Other frozen fruit",
            vat_rate=Decimal(vat),
            cbec_positive=True,
            cbec_remark="",
            valid_from=valid_from,
        )
    assert services.tariff_rates("0811909000", on=dt.date(2023, 6, 1)).vat_rate == Decimal("0.13")
    assert services.tariff_rates("0811909000", on=dt.date(2024, 6, 1)).vat_rate == Decimal("0.09")
    assert services.tariff_rates("0811909000", on=dt.date(2022, 6, 1)) is None
    assert services.tariff_rates("") is None
