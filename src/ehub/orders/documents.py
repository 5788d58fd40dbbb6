"""The customs documents an order files: order (CEB311), payment (CEB411) and waybill (CEB511).

Built from an order and its lines with the full (decrypted) identity of the buyer: these
documents are the one place the ID number, phone and address leave eHub unmasked. Amounts are
the order's CNY amounts, so ``acturalPaid`` = goods + freight + tax equals the payment's
``amountPaid`` and customs' own tax computation (the same engine) matches ``taxTotal``.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.conf import settings

from ehub.core import clock
from ehub.core.money import Money
from ehub.customs.domain import documents as d
from ehub.customs.domain.limits import BEIJING

CNY_CODE = "142"
UNIT_ARTICLE = "011"  # 件
ORIGIN_CODES = {"MY": "122", "CN": "142", "SG": "132"}


def seller_code(org) -> str:
    """The merchant's 10-character customs code: ``MY`` + the last 8 characters of its company
    number (or of its public id). Registering it with customs is part of onboarding."""
    source = re.sub(r"[^0-9A-Z]", "", (org.registration_number or "").upper())
    if len(source) < 8:
        source = re.sub(r"[^0-9A-Z]", "", org.public_id.split("-", 1)[-1].upper())
    return ("MY" + source[-8:]).ljust(10, "0")


def _fen(amount: int) -> Decimal:
    return Money(amount, "CNY").to_decimal()


def _stamp(moment=None) -> str:
    return (moment or clock.now()).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def _guid() -> str:
    return str(uuid.uuid4()).upper()


def _transfer() -> d.BaseTransfer:
    return d.BaseTransfer(
        copCode=settings.EHUB_ORDERS_EBP_CODE,
        copName=settings.EHUB_ORDERS_EBP_NAME,
        dxpMode="DXP",
        dxpId="DXPEHUB000000001",
    )


def address(order) -> str:
    return f"{order.province}{order.city}{order.district}{order.street}"[:200]


def order_message(order, lines, *, pay_transaction_id: str, buyer_email: str) -> d.CEB311Message:
    head = d.OrderHead(
        guid=_guid(),
        appType="1",
        appTime=_stamp(),
        appStatus="2",
        orderType="I",
        orderNo=order.public_id,
        ebpCode=settings.EHUB_ORDERS_EBP_CODE,
        ebpName=settings.EHUB_ORDERS_EBP_NAME[:100],
        ebcCode=seller_code(order.merchant),
        ebcName=order.merchant.name[:100],
        goodsValue=_fen(order.goods_cny),
        freight=_fen(order.freight_cny),
        discount=Decimal("0.00"),
        taxTotal=_fen(order.tax_cny),
        acturalPaid=_fen(order.total_cny),
        currency=CNY_CODE,
        buyerRegNo=(buyer_email or (order.buyer_id and str(order.buyer_id)))[:60],
        buyerName=order.buyer_name[:60],
        buyerTelephone=order.phone[:30],
        buyerIdType="1",
        buyerIdNumber=order.id_number,
        payCode=settings.EHUB_ORDERS_PAY_CODE,
        payName=settings.EHUB_ORDERS_PAY_NAME[:100],
        payTransactionId=pay_transaction_id[:60],
        consignee=order.buyer_name[:60],
        consigneeTelephone=order.phone[:50],
        consigneeAddress=address(order),
    )
    items = [
        d.OrderList(
            gnum=line.gnum,
            itemNo=line.sku_code[:30],
            itemName=line.name[:250],
            unit=UNIT_ARTICLE,
            qty=Decimal(line.qty),
            price=_fen(line.unit_price_cny),
            totalPrice=_fen(line.total_cny),
            currency=CNY_CODE,
            country=ORIGIN_CODES.get(getattr(line, "origin", "MY"), "122"),
        )
        for line in lines
    ]
    return d.CEB311Message(
        guid=head.guid, Order=[d.Order(OrderHead=head, OrderList=items)], BaseTransfer=_transfer()
    )


def payment_message(order, *, pay_transaction_id: str, paid_at=None) -> d.CEB411Message:
    head = d.PaymentHead(
        guid=_guid(),
        appType="1",
        appTime=_stamp(),
        appStatus="2",
        payCode=settings.EHUB_ORDERS_PAY_CODE,
        payName=settings.EHUB_ORDERS_PAY_NAME[:100],
        payTransactionId=pay_transaction_id[:60],
        orderNo=order.public_id,
        ebpCode=settings.EHUB_ORDERS_EBP_CODE,
        ebpName=settings.EHUB_ORDERS_EBP_NAME[:100],
        payerIdType="1",
        payerIdNumber=order.id_number,
        payerName=order.buyer_name[:60],
        telephone=order.phone[:50],
        amountPaid=_fen(order.total_cny),
        currency=CNY_CODE,
        payTime=_stamp(paid_at),
    )
    return d.CEB411Message(
        guid=head.guid, Payment=[d.Payment(PaymentHead=head)], BaseTransfer=_transfer()
    )


def waybill_message(order, booking: dict) -> d.CEB511Message:
    """``booking`` is the payload of ``fulfillment.waybill_booked``."""
    weight_g = int(booking.get("weight_g") or order.weight_g or 1000)
    head = d.LogisticsHead(
        guid=_guid(),
        appType="1",
        appTime=_stamp(),
        appStatus="2",
        logisticsCode=str(booking.get("logistics_code") or booking.get("carrier_code") or "")[:18],
        logisticsName=str(booking.get("logistics_name") or booking.get("carrier_name") or "")[:100],
        logisticsNo=str(booking.get("waybill_no") or "")[:60],
        orderNo=order.public_id,
        # The freight the buyer paid (declared on the order): customs taxes that one.
        freight=_fen(order.freight_cny),
        insuredFee=Decimal("0.00"),
        currency=CNY_CODE,
        weight=(Decimal(weight_g) / Decimal(1000)).quantize(Decimal("0.0001")),
        packNo=1,
        goodsInfo="",
        consignee=order.buyer_name[:60],
        consigneeAddress=address(order)[:255],
        consigneeTelephone=order.phone[:50],
    )
    return d.CEB511Message(
        guid=head.guid, Logistics=[d.Logistics(LogisticsHead=head)], BaseTransfer=_transfer()
    )
