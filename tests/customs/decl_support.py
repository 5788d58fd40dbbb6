"""Builders of the declaration tests: the three documents as CEB messages, and filing them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from ehub.customs import declarations
from ehub.customs.declarations import ListGoods
from ehub.customs.domain import documents as d
from ehub.customs.gateways import RecordingGateway

from . import factories as f

GOODS = {
    "SKU-MK-1KG": ListGoods("0811909000", "冷冻榴莲果肉", "1 kg/box"),
    "White coffee 3-in-1": ListGoods("2101120000", "白咖啡", "10 sachets", D("0.5"), "035"),
}


def ceb411(**head) -> d.CEB411Message:
    return d.CEB411Message(
        guid=f.GUID, Payment=[d.Payment(PaymentHead=f.payment(**head))], BaseTransfer=f.transfer()
    )


def ceb511(**head) -> d.CEB511Message:
    return d.CEB511Message(
        guid=f.GUID,
        Logistics=[d.Logistics(LogisticsHead=f.waybill(**head))],
        BaseTransfer=f.transfer(),
    )


def with_order_no(order_no: str):
    """The three messages of one more order (same buyer unless changed)."""
    return (
        f.ceb311(orderNo=order_no),
        ceb411(orderNo=order_no),
        ceb511(orderNo=order_no, logisticsNo="MY" + order_no[-9:]),
    )


def spoil_line_price(message: d.CEB311Message, price: str) -> d.CEB311Message:
    order = message.Order[0]
    line = dataclasses.replace(order.OrderList[0], price=D(price))
    return dataclasses.replace(message, Order=[dataclasses.replace(order, OrderList=[line])])


def file_all(ctx, messages, gateway=None):
    """File order, payment and waybill; return the declaration (declared via ``gateway``)."""
    gateway = gateway or RecordingGateway()
    touched = []
    for message in messages[:-1]:
        touched = declarations.file_document(ctx, message, declare_when_complete=False)
    touched = declarations.file_document(ctx, messages[-1], declare_when_complete=False)
    decl = touched[0]
    return declarations.declare(ctx, decl, goods=GOODS, gateway=gateway), gateway


def make_world(make_org, make_user, settings):
    """Tariff, registered enterprises, a platform that files, a customs authority and officer."""
    from ehub.accounts.domain import OrgKind
    from ehub.accounts.services import build_context
    from ehub.catalog.tariff import load_default_tariff
    from ehub.customs.models import Enterprise

    settings.EHUB_CUSTOMS_GATEWAY = "recording"
    load_default_tariff()
    for code in f.REGISTERED:
        Enterprise.objects.create(code=code, name=f"Enterprise {code}")
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    filer = make_user("filer@ehub.example", org=platform)
    other = make_org(kind=OrgKind.PLATFORM, name="Other Platform")
    other_user = make_user("other@platform.example", org=other)
    authority = make_org(kind=OrgKind.CUSTOMS_AUTHORITY, name="Hangzhou Customs", country="CN")
    officer = make_user("officer@customs.example", org=authority, full_name="Officer Wang")
    return dataclasses.make_dataclass(
        "World", ["platform", "filer", "ctx", "other", "other_ctx", "officer", "officer_ctx"]
    )(
        platform,
        filer,
        build_context(filer, platform.pk),
        other,
        build_context(other_user, other.pk),
        officer,
        build_context(officer, authority.pk),
    )
