"""Fixtures for the inventory tests: a hub, two merchants, their SKUs, and their Contexts.

Imported explicitly by the inventory test modules (``from .inventory_fixtures import *``) so
they stay out of the shared conftest files.
"""

from __future__ import annotations

import itertools

import pytest

from ehub.accounts.domain import OrgKind, Role
from ehub.accounts.models import Organization
from ehub.catalog.models import Product, ProductTranslation, Sku
from ehub.core.context import Context

__all__ = [
    "hub",
    "make_sku",
    "merchant_ctx",
    "other_ctx",
    "other_org",
    "other_sku",
    "other_user",
    "sku",
    "system_ctx",
]

_seq = itertools.count(1)


@pytest.fixture
def hub(make_org) -> Organization:
    return make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")


@pytest.fixture
def make_sku(db):
    """make_sku(org, code=None, title=None, price=1990) -> Sku (with an active product)."""

    def make(org, code=None, title=None, price=1990, zh_title=None):
        n = next(_seq)
        product = Product.objects.create(org=org, status="active", hs_code="081060")
        ProductTranslation.objects.create(
            product=product, language="en", title=title or f"Musang King durian {n}"
        )
        if zh_title:
            ProductTranslation.objects.create(product=product, language="zh-hans", title=zh_title)
        return Sku.objects.create(
            product=product, org=org, code=code or f"DUR-{n:04d}", price_myr=price
        )

    return make


@pytest.fixture
def sku(make_sku, merchant_org) -> Sku:
    return make_sku(merchant_org, code="DUR-MK-1KG", title="Musang King durian, frozen 1 kg")


@pytest.fixture
def other_org(make_org) -> Organization:
    return make_org(name="Batik Bravo Sdn. Bhd.")


@pytest.fixture
def other_user(make_user, other_org):
    return make_user("owner@bravo.example", org=other_org, full_name="Bala Bravo")


@pytest.fixture
def other_sku(make_sku, other_org) -> Sku:
    return make_sku(other_org, code="BATIK-SILK-01", title="Silk batik scarf")


@pytest.fixture
def merchant_ctx(merchant_user, merchant_org) -> Context:
    return Context(user=merchant_user, org=merchant_org, roles=frozenset({Role.OWNER}))


@pytest.fixture
def other_ctx(other_user, other_org) -> Context:
    return Context(user=other_user, org=other_org, roles=frozenset({Role.OWNER}))


@pytest.fixture
def system_ctx() -> Context:
    return Context.system()
