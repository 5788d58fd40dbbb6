"""The undervaluation rule's reference: the catalog price of the line's SKU, in CNY at the
day's rate, looked up once per declaration (per call) or once per batch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from ehub.accounts.domain import OrgKind
from ehub.catalog.models import Product, Sku
from ehub.core import clock
from ehub.core.models import FxRate
from ehub.core.money import Money
from ehub.customs import batch, services

from . import factories as f
from .decl_support import GOODS, ceb411, ceb511, file_all


@pytest.fixture
def priced(customs_world, make_org):
    """SKU-MK-1KG at MYR 100.00 (and a second merchant's SKU of the same code at MYR 120.00);
    1 MYR = 1.5 CNY, so the reference is CNY 150.00 and the floor (70 %) CNY 105.00."""
    FxRate.objects.create(
        base="MYR", quote="CNY", rate=D("1.5"), source="test", as_of=clock.now() - timedelta(1)
    )
    for n, price in enumerate((10000, 12000)):
        org = make_org(kind=OrgKind.MERCHANT, name=f"Durian merchant {n}")
        product = Product.objects.create(org=org, status="active", gcode="0811909000")
        Sku.objects.create(product=product, org=org, code="SKU-MK-1KG", price_myr=price)
    return customs_world


def three(order_no="ORD-REF-0001"):
    return (
        f.ceb311(orderNo=order_no),  # SKU-MK-1KG declared at CNY 100.00 a unit
        ceb411(orderNo=order_no),
        ceb511(orderNo=order_no, logisticsNo="MY" + order_no[-9:]),
    )


def test_reference_is_the_lowest_catalog_price_in_cny_in_two_queries(
    priced, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the SKUs, the rate: whatever the number of codes
        found = services.reference_prices(["SKU-MK-1KG", "NO-SUCH", "", *map(str, range(50))])
    assert found == {"SKU-MK-1KG": Money(15000, "CNY")}


def test_no_rate_or_no_sku_gives_no_reference(customs_world, django_assert_num_queries):
    assert services.reference_prices(["SKU-MK-1KG"]) == {}
    with django_assert_num_queries(0):
        assert services.reference_prices([]) == {}


def test_a_line_declared_below_70_percent_of_the_catalog_price_is_flagged(priced):
    decl, _ = file_all(priced.ctx, three())
    (reason,) = [r for r in decl.risk_reasons if r["rule"] == "undervaluation"]
    assert "100.00" in reason["message"] and "150.00" in reason["message"]
    assert "66 %" in reason["message"]
    assert decl.lane == "amber"


def test_a_price_at_the_floor_is_not_flagged(priced):
    Sku.objects.filter(price_myr=10000).update(price_myr=9524)  # CNY 142.86: floor 100.002
    Sku.objects.filter(price_myr=12000).update(price_myr=9000)  # CNY 135.00: floor 94.50
    decl, _ = file_all(priced.ctx, three())
    assert [r["rule"] for r in decl.risk_reasons] == []


def test_the_batch_flags_it_too_with_one_sku_query(priced):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    messages = [m for n in range(3) for m in three(f"ORD-REF-000{n}")]
    with CaptureQueriesContext(connection) as queries:
        result = batch.clear_batch(priced.ctx, messages, goods=GOODS)
    sku_table = Sku._meta.db_table
    assert sum(sku_table in q["sql"] for q in queries.captured_queries) == 1
    assert {o.lane for o in result.outcomes.values()} == {"amber"}
