"""CSV import and export: dry run reporting every bad row and column, all-or-nothing, round trip."""

from __future__ import annotations

import csv
import io

import pytest

from ehub.catalog import importer
from ehub.catalog.models import Product, ProductTranslation, Sku
from ehub.catalog.services import products as services
from ehub.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

HEADER = (
    "product_ref,status,title_en,title_ms,title_zh_hans,description_en,hs_code,gcode,"
    "net_weight_g,gross_weight_g,sku_code,variant,barcode,price_myr\n"
)


def csv_of(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


GOOD = csv_of(
    "mk,active,Musang King frozen,Durian beku,猫山王榴莲,Whole fruit,081190,0811909000,1600,2100,"
    "MK-1,size=1 fruit,9551234000010,168.00",
    "mk,active,Musang King frozen,Durian beku,猫山王榴莲,Whole fruit,081190,0811909000,1600,2100,"
    "MK-2,size=2 fruits,,320.00",
    "scarf,,Batik silk scarf,,蜡染丝巾,,621410,,,,SC-1,,,189",
)


def catalog(ctx):
    """Everything an export shows, without the generated ids."""
    rows = list(csv.DictReader(io.StringIO(importer.export_csv(ctx).lstrip("\ufeff"))))
    return sorted(({k: v for k, v in r.items() if k != "product_ref"} for r in rows), key=str)


def test_dry_run_writes_nothing_and_counts(merchant_ctx):
    report = importer.check(merchant_ctx, GOOD)
    assert report.ok, report.errors
    assert (report.rows, report.products_created, report.skus_created) == (3, 2, 3)
    assert not Product.objects.exists()


def test_import_creates_then_updates_by_sku_code(merchant_ctx):
    importer.run(merchant_ctx, GOOD)
    assert Product.objects.count() == 2 and Sku.objects.count() == 3
    mk = Sku.objects.get(code="MK-1").product
    assert mk.status == "active" and mk.category == "food_drink"
    assert Sku.objects.get(code="MK-2").variant == {"size": "2 fruits"}
    assert Sku.objects.get(code="SC-1").product.status == "draft"

    changed = GOOD.replace(b"168.00", b"158.00").replace(b"mk,", b"whatever,")
    report = importer.run(merchant_ctx, changed)
    assert (report.products_created, report.products_updated, report.skus_updated) == (0, 2, 3)
    assert Sku.objects.get(code="MK-1").price_myr == 15800
    assert Product.objects.count() == 2


def test_every_bad_row_and_column_is_reported(merchant_ctx):
    bad = csv_of(
        "a,,Durian,,榴莲,,081099,,,,A-1,,9551234000011,12.90",  # unknown HS, bad check digit
        "b,,Scarf,,丝巾,,621410,6214100000x,,,B-1,,,-5.00",  # bad gcode, negative price
        "c,,Shirt,,衬衫,,620520,,500,100,C-1,size,,12.345",  # gross<net, variant, decimals
        "d,active,Gloves,,,,401519,,,,D-1,,,3.00",  # publish without Chinese title
        ",,No ref,,,,,,,,E-1,,,1",  # missing product_ref
        "f,,Dup,,,,,,,,A-1,,,1",  # duplicate SKU code in the file
    )
    report = importer.check(merchant_ctx, bad)
    found = {(e.row, e.column) for e in report.errors}
    assert found == {
        (2, "hs_code"),
        (2, "barcode"),
        (3, "gcode"),
        (3, "price_myr"),
        (4, "gross_weight_g"),
        (4, "variant"),
        (4, "price_myr"),
        (5, "title_zh_hans"),
        (6, "product_ref"),
        (7, "sku_code"),
    }
    assert all(str(e.message) for e in report.errors)
    assert not Product.objects.exists()


def test_header_problems(merchant_ctx):
    report = importer.check(merchant_ctx, b"product_ref,title_en,colour\nx,Durian,red\n")
    assert {(e.row, e.column) for e in report.errors} == {
        (1, "sku_code"),
        (1, "price_myr"),
        (1, "colour"),
    }


def test_inconsistent_product_columns_are_named(merchant_ctx):
    report = importer.check(
        merchant_ctx,
        csv_of(
            "mk,,Durian,,,,081190,,,,MK-1,,,1",
            "mk,,Durian,,,,081060,,,,MK-2,,,1",
        ),
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, "hs_code", "inconsistent")]


def test_import_is_all_or_nothing(merchant_ctx, make_product):
    make_product(merchant_ctx, sku="MK-1", price="100.00")
    file = GOOD + b"zz,,Broken,,,,,,,,Z-1,,,abc\n"
    with pytest.raises(ValidationFailed) as exc:
        importer.run(merchant_ctx, file)
    assert [e.field for e in exc.value.errors] == ["file.rows.5.price_myr"]
    assert Sku.objects.get(code="MK-1").price_myr == 10000
    assert Product.objects.count() == 1 and Sku.objects.count() == 1


def test_a_sku_of_another_product_is_refused(merchant_ctx, make_product):
    first = make_product(merchant_ctx, sku="MK-1")
    make_product(merchant_ctx, sku="SC-1")
    report = importer.check(
        merchant_ctx, csv_of(f"{first.public_id},,Durian,,,,081190,,,,SC-1,,,1")
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "sku_code", "other_product")]


def test_skus_of_another_org_are_never_touched(merchant_ctx, other_ctx, make_product):
    theirs = make_product(other_ctx, sku="MK-1", price="100.00")
    importer.run(merchant_ctx, csv_of(f"{theirs.public_id},,Mine,,,,081190,,,,MK-1,,,5"))
    assert Sku.objects.get(org=other_ctx.org).price_myr == 10000
    assert Sku.objects.get(org=merchant_ctx.org).price_myr == 500


def test_round_trip_export_then_import_gives_the_same_catalog(merchant_ctx, other_ctx):
    importer.run(merchant_ctx, GOOD)
    services.add_sku(
        merchant_ctx,
        Sku.objects.get(code="SC-1").product.public_id,
        services.SkuInput(
            code="SC-2",
            price_myr="0.50",
            variant={"colour": "blue"},
            variant_labels={"zh-hans": "蓝色"},
            is_active=False,
        ),
    )
    before = catalog(merchant_ctx)
    exported = importer.export_csv(merchant_ctx)

    report = importer.run(merchant_ctx, exported.encode("utf-8"))  # onto itself: no change
    assert (report.products_created, report.skus_created) == (0, 0)
    assert catalog(merchant_ctx) == before

    importer.run(other_ctx, exported.encode("utf-8"))  # into an empty catalog: a copy
    assert catalog(other_ctx) == before
    assert ProductTranslation.objects.filter(product__org=other_ctx.org, language="ms").count() == 1


def test_not_utf8_is_reported_on_the_file(merchant_ctx):
    with pytest.raises(ValidationFailed) as exc:
        importer.check(merchant_ctx, "product_ref,title_en\nx,榴莲\n".encode("gb18030"))
    assert exc.value.errors[0].field == "file"


def test_export_defuses_spreadsheet_formulas_and_import_restores_them(merchant_ctx, other_ctx):
    importer.run(merchant_ctx, GOOD)
    product = Sku.objects.get(code="SC-1").product
    services.update_product(
        merchant_ctx,
        product.public_id,
        services.ProductInput(
            translations={
                t.language: services.domain.Text(t.title, t.description)
                for t in product.translations.all()
            },
            brand='=HYPERLINK("http://evil.example","x")',
            origin_country=product.origin_country,
            hs_code=product.hs_code,
            gcode=product.gcode,
        ),
    )
    exported = importer.export_csv(merchant_ctx)
    brands = [row["brand"] for row in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))]
    assert '\'=HYPERLINK("http://evil.example","x")' in brands
    assert not any(b.startswith("=") for b in brands)

    report = importer.check(other_ctx, exported.encode("utf-8"))
    assert report.ok, report.errors
    importer.run(other_ctx, exported.encode("utf-8"))
    copied = Product.objects.get(org=other_ctx.org, brand__startswith="=")
    assert copied.brand == '=HYPERLINK("http://evil.example","x")'
