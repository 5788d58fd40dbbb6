"""Fixtures of the hub tests: a hub with bins and an operator, a merchant with SKUs, stock put
away through a received ASN, and a helper that books a shipment as ``orders`` would."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ehub.accounts.domain import OrgKind, Role
from ehub.catalog.models import Product, ProductTranslation, Sku
from ehub.catalog.services import inventory
from ehub.core import clock
from ehub.core.context import Context
from ehub.core.money import Money
from ehub.fulfillment import services

_seq = itertools.count(1)
BINS = ["A-01-01", "A-01-02", "B-01-01", "C-02-03"]


@pytest.fixture
def hub(make_org):
    org = make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub Sdn. Bhd.")
    services.ensure_bins(org, BINS)
    return org


@pytest.fixture
def operator(make_user, hub):
    return make_user("op@hub.example", org=hub, role=Role.OPERATOR, full_name="Aminah Operator")


@pytest.fixture
def op_ctx(operator, hub) -> Context:
    return Context(user=operator, org=hub, roles=frozenset({Role.OPERATOR}))


@pytest.fixture
def merchant_ctx(merchant_user, merchant_org) -> Context:
    return Context(user=merchant_user, org=merchant_org, roles=frozenset({Role.OWNER}))


@pytest.fixture
def other_merchant(make_org):
    return make_org(name="Batik Bravo Sdn. Bhd.", registration_number="202001054321")


@pytest.fixture
def other_ctx(make_user, other_merchant) -> Context:
    user = make_user("owner@bravo.example", org=other_merchant)
    return Context(user=user, org=other_merchant, roles=frozenset({Role.OWNER}))


@pytest.fixture
def system_ctx() -> Context:
    return Context.system()


@pytest.fixture
def make_sku(db):
    def make(org, code=None, barcode="", hs="081060", weight=1000, title=None):
        n = next(_seq)
        product = Product.objects.create(org=org, status="active", hs_code=hs)
        ProductTranslation.objects.create(
            product=product, language="en", title=title or f"Musang King durian {n}"
        )
        return Sku.objects.create(
            product=product,
            org=org,
            code=code or f"DUR-{n:04d}",
            barcode=barcode,
            price_myr=8800,
            gross_weight_g=weight,
        )

    return make


@pytest.fixture
def sku(make_sku, merchant_org):
    return make_sku(merchant_org, code="DUR-MK-1KG", barcode="9555000000017")


@pytest.fixture
def sku2(make_sku, merchant_org):
    return make_sku(merchant_org, code="WC-3IN1", barcode="9555000000024", hs="210111", weight=600)


def today():
    return clock.today_in("Asia/Kuala_Lumpur")


@pytest.fixture
def stocked(merchant_ctx, op_ctx, hub, sku, sku2):
    """An ASN of 10 × sku and 5 × sku2, received and put away: 15 units available."""
    asn = services.create_asn(
        merchant_ctx,
        hub=hub,
        expected_on=today(),
        lines=[services.AsnLineInput(sku.code, 10), services.AsnLineInput(sku2.code, 5)],
        cartons=2,
    )
    services.receive_scan(op_ctx, asn.public_id, sku.barcode, qty=10)
    services.receive_scan(op_ctx, asn.public_id, sku2.code, qty=5)
    services.finish_receiving(op_ctx, asn.public_id)
    services.put_away(op_ctx, asn.public_id, sku_code=sku.code, bin_code="A-01-01")
    services.put_away(op_ctx, asn.public_id, sku_code=sku2.code, bin_code="B-01-01")
    return asn


CONSIGNEE = services.Consignee(
    name="李伟",
    phone="13800138000",
    province="上海",
    city="上海市",
    district="浦东新区",
    street="世纪大道100号",
    postcode="200120",
)


@pytest.fixture
def book(merchant_org, hub):
    """book(lines=[(sku, qty)], reference=None) -> Shipment: reserve stock, request shipment."""

    def make(lines, reference=None, consignee=CONSIGNEE):
        reference = reference or f"ORD-TEST-{next(_seq):06d}"
        system = Context.system()
        out = []
        for i, (sku, qty) in enumerate(lines):
            key = f"order:{reference}:{i}"
            inventory.reserve(system, sku=sku, hub=hub, qty=qty, key=key, purpose="checkout")
            out.append(
                services.ShipmentLine(
                    sku_id=sku.pk,
                    sku_code=sku.code,
                    name=f"Item {sku.code}",
                    qty=qty,
                    unit_value=Money(8800, "MYR"),
                    hs_code=sku.product.hs_code,
                    weight_g=sku.gross_weight_g or 500,
                    reservation_key=key,
                )
            )
        req = services.ShipmentRequest(
            reference=reference,
            merchant_org_id=merchant_org.pk,
            hub_org_id=hub.pk,
            consignee=consignee,
            lines=out,
            declared_value=Money(8800 * sum(q for _s, q in lines), "MYR"),
        )
        return services.request_shipment(system, req)

    return make


@pytest.fixture
def tariff(db):
    from ehub.catalog.tariff import load_default_tariff

    load_default_tariff()


def level(sku, hub):
    return inventory.stock_for(Context.system(), sku, hub)


__all__ = ["CONSIGNEE", "dt", "level", "today"]
