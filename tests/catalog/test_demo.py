"""Demo products: created once, active, with images, valid barcodes and real HS codes."""

from __future__ import annotations

import pytest

from ehub.catalog import demo, domain
from ehub.catalog.models import Product, ProductImage, Sku

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_products_are_publishable(make_org):
    orgs = {key: make_org(name=f"{key} Sdn. Bhd.") for key in ("durian", "batik", "nest")}
    assert demo.seed(orgs) == 12
    assert demo.seed(orgs) == 0
    assert Product.objects.count() == 12
    assert set(Product.objects.values_list("status", flat=True)) == {"active"}
    assert ProductImage.objects.count() == 12
    for sku in Sku.objects.all():
        assert domain.check_barcode(sku.barcode) == [], sku.code
    assert len(set(Sku.objects.values_list("barcode", flat=True))) == Sku.objects.count()
    for product in Product.objects.prefetch_related("translations"):
        assert {t.language for t in product.translations.all()} == {"en", "ms", "zh-hans"}
        assert domain.check_hs_code(product.hs_code) == []
