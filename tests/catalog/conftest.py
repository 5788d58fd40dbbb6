"""Fixtures of the catalog tests: merchants with contexts, a product factory, a media folder."""

from __future__ import annotations

import pytest

from ehub.accounts.domain import OrgKind
from ehub.core.context import Context


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded images go to a temporary folder, not the project's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


def context_for(user, org) -> Context:
    from ehub.accounts.services import build_context

    return build_context(user, org.pk)


@pytest.fixture
def merchant_ctx(merchant_user, merchant_org) -> Context:
    return context_for(merchant_user, merchant_org)


@pytest.fixture
def other_org(make_org):
    return make_org(kind=OrgKind.MERCHANT, name="Batik Lain Sdn. Bhd.")


@pytest.fixture
def other_user(make_user, other_org):
    return make_user("owner@batik.example", org=other_org, full_name="Siti Aminah")


@pytest.fixture
def other_ctx(other_user, other_org) -> Context:
    return context_for(other_user, other_org)


TEXTS = {
    "en": ("Musang King durian, frozen whole fruit", "Flash-frozen, from Raub."),
    "ms": ("Durian Musang King beku", "Dibekukan segera, dari Raub."),
    "zh-hans": ("猫山王榴莲 整颗冷冻", "急冻，产自劳勿。"),
}


@pytest.fixture
def make_product():
    """make_product(ctx, publish=False, sku="MK-1", price="168.00", **fields) -> Product."""
    from ehub.catalog import domain
    from ehub.catalog.services import products as services

    def make(ctx, *, publish=False, sku="MK-1", price="168.00", texts=None, **fields):
        fields.setdefault("hs_code", "081190")
        data = services.ProductInput(
            translations={k: domain.Text(*v) for k, v in (texts or TEXTS).items()}, **fields
        )
        skus = [services.SkuInput(code=sku, price_myr=price)] if sku else []
        product = services.create_product(ctx, data, skus)
        if publish:
            services.publish(ctx, product.public_id)
            product.refresh_from_db()
        return product

    return make
