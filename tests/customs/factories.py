"""A consistent, valid set of CEB documents for one cross-border order, for tests to spoil."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from ehub.customs.domain import documents as d

BUYER_ID = "11010519491231002X"
PLATFORM = "3301961234"
SELLER = "3301965678"
ALIPAY = "31222699S7"
CARRIER = "3301969999"
AGENT = "3301960001"
REGISTERED = {PLATFORM, SELLER, ALIPAY, CARRIER, AGENT}
GUID = "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"


def order(**head) -> d.Order:
    fields = dict(
        guid=GUID,
        appType="1",
        appTime="20250601120000",
        appStatus="2",
        orderType="I",
        orderNo="ORD-7K4M-9QX2-HT3P-V6XZ",
        ebpCode=PLATFORM,
        ebpName="eHub Platform",
        ebcCode=SELLER,
        ebcName="Durian Raja Sdn. Bhd.",
        goodsValue=D("300.00"),
        freight=D("20.00"),
        discount=D("10.00"),
        taxTotal=D("23.15"),
        acturalPaid=D("333.15"),
        currency="142",
        buyerRegNo="buyer@example.cn",
        buyerName="李伟",
        buyerTelephone="13800000000",
        buyerIdType="1",
        buyerIdNumber=BUYER_ID,
        payCode=ALIPAY,
        payName="Alipay",
        payTransactionId="2025060122001",
        consignee="李伟",
        consigneeTelephone="13800000000",
        consigneeAddress="浙江省杭州市西湖区文三路 1 号",
        consigneeDistrict="330106",
    )
    fields.update(head)
    return d.Order(
        OrderHead=d.OrderHead(**fields),
        OrderList=[
            d.OrderList(
                gnum=1,
                itemNo="SKU-MK-1KG",
                itemName="Musang King durian, frozen, 1 kg",
                unit="035",
                qty=D("2"),
                price=D("100.00"),
                totalPrice=D("200.00"),
                currency="142",
                country="122",
            ),
            d.OrderList(
                gnum=2,
                itemName="White coffee 3-in-1",
                unit="125",
                qty=D("4"),
                price=D("25.00"),
                totalPrice=D("100.00"),
                currency="142",
                country="122",
            ),
        ],
    )


def payment(**head) -> d.PaymentHead:
    fields = dict(
        guid=GUID,
        appType="1",
        appTime="20250601120100",
        appStatus="2",
        payCode=ALIPAY,
        payName="Alipay",
        payTransactionId="2025060122001",
        orderNo="ORD-7K4M-9QX2-HT3P-V6XZ",
        ebpCode=PLATFORM,
        ebpName="eHub Platform",
        payerIdType="1",
        payerIdNumber=BUYER_ID,
        payerName="李伟",
        telephone="13800000000",
        amountPaid=D("333.15"),
        currency="142",
        payTime="20250601120030",
    )
    fields.update(head)
    return d.PaymentHead(**fields)


def waybill(**head) -> d.LogisticsHead:
    fields = dict(
        guid=GUID,
        appType="1",
        appTime="20250602090000",
        appStatus="2",
        logisticsCode=CARRIER,
        logisticsName="KLIA Express",
        logisticsNo="MY123456789CN",
        orderNo="ORD-7K4M-9QX2-HT3P-V6XZ",
        freight=D("20.00"),
        insuredFee=D("0"),
        currency="142",
        weight=D("2.8"),
        packNo=1,
        consignee="李伟",
        consigneeAddress="浙江省杭州市西湖区文三路 1 号",
        consigneeTelephone="13800000000",
    )
    fields.update(head)
    return d.LogisticsHead(**fields)


def inventory(**head) -> d.Inventory:
    fields = dict(
        guid=GUID,
        appType="1",
        appTime="20250602091500",
        appStatus="2",
        orderNo="ORD-7K4M-9QX2-HT3P-V6XZ",
        ebpCode=PLATFORM,
        ebpName="eHub Platform",
        ebcCode=SELLER,
        ebcName="Durian Raja Sdn. Bhd.",
        logisticsNo="MY123456789CN",
        logisticsCode=CARRIER,
        logisticsName="KLIA Express",
        copNo="INV-0001",
        assureCode=PLATFORM,
        ieFlag="I",
        declTime="20250602",
        ieDate="20250602",
        customsCode="2991",
        portCode="2991",
        buyerIdType="1",
        buyerIdNumber=BUYER_ID,
        buyerName="李伟",
        buyerTelephone="13800000000",
        consigneeAddress="浙江省杭州市西湖区文三路 1 号",
        agentCode=AGENT,
        agentName="Hangzhou Clearance Agent Co.",
        tradeMode="9610",
        trafMode="5",
        country="122",
        freight=D("20.00"),
        insuredFee=D("0"),
        currency="142",
        packNo=1,
        grossWeight=D("2.8"),
        netWeight=D("2.5"),
    )
    fields.update(head)
    return d.Inventory(
        InventoryHead=d.InventoryHead(**fields),
        InventoryList=[
            d.InventoryList(
                gnum=1,
                itemNo="SKU-MK-1KG",
                gcode="0811909000",
                gname="冷冻榴莲果肉",
                gmodel="1 kg/box",
                country="122",
                currency="142",
                qty=D("2"),
                unit="035",
                qty1=D("2"),
                unit1="035",
                price=D("100.00"),
                totalPrice=D("200.00"),
            ),
            d.InventoryList(
                gnum=2,
                gcode="2101120000",
                gname="白咖啡",
                gmodel="3-in-1, 10 sachets",
                country="122",
                currency="142",
                qty=D("4"),
                unit="125",
                qty1=D("0.5"),
                unit1="035",
                price=D("25.00"),
                totalPrice=D("100.00"),
            ),
        ],
    )


def transfer() -> d.BaseTransfer:
    return d.BaseTransfer(
        copCode=PLATFORM, copName="eHub Platform", dxpMode="DXP", dxpId="DXPENT0000000001"
    )


def ceb311(**head) -> d.CEB311Message:
    return d.CEB311Message(guid=GUID, version="1.0", Order=[order(**head)], BaseTransfer=transfer())


def replace_head(message: d.CEB311Message, **changes) -> d.CEB311Message:
    first = message.Order[0]
    new = dataclasses.replace(first, OrderHead=dataclasses.replace(first.OrderHead, **changes))
    return dataclasses.replace(message, Order=[new, *message.Order[1:]])
