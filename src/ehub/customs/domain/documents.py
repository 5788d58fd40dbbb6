"""The GACC CEB messages as dataclasses: order (311), payment (411), waybill (511), inventory list
(621), their receipts (312/412/512/622), tax bill (816), cancel (623) and return (625).

Attribute names are the CEB element names (``acturalPaid`` keeps the standard's spelling), and
field order is element order, so the XML codec (``xmlcodec``) and the validator
(``validation``) are driven by these declarations alone. Each field carries its rule in
``metadata``: kind (text, decimal, int, one child record, list of records), whether it is
required, its maximum length, a format name and a code list. Text is kept as the wire text
(codes stay codes, times stay ``YYYYMMDDhhmmss``); amounts and quantities are ``Decimal``.
A missing optional text is ``""`` and a missing number ``None``.

Sources: DOMAIN.md §3 (field lists), the public GACC samples it names (element order, which
fields are optional). Lengths follow the GACC interface standard as those samples record it.
"""

# The field helpers below (text, amount, one, many...) return dataclasses.field(...) objects,
# which ruff cannot see through.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from ehub.customs.domain.codes import (
    APP_STATUSES,
    APP_TYPES,
    BUYER_ID_TYPES,
    IE_FLAGS,
    ORDER_TYPES,
    TRADE_MODES,
    VERSION,
)

_CNY_ONLY = {"142": "CNY"}
_TAX_STATUSES = {"1": "generated", "2": "summarised", "3": "void"}


def text(
    max_length: int, *, required: bool = True, fmt: str | None = None, codes: Any = None
) -> Any:
    return field(
        default="",
        metadata={
            "kind": "text",
            "max": max_length,
            "required": required,
            "fmt": fmt,
            "codes": codes,
        },
    )


def amount(*, required: bool = True, places: int = 2) -> Any:
    return field(default=None, metadata={"kind": "decimal", "required": required, "places": places})


def integer(*, required: bool = True) -> Any:
    return field(default=None, metadata={"kind": "int", "required": required})


def one(record: type, *, required: bool = True) -> Any:
    return field(default=None, metadata={"kind": "one", "record": record, "required": required})


def many(record: type, *, min_items: int = 1) -> Any:
    return field(
        default_factory=list, metadata={"kind": "list", "record": record, "min": min_items}
    )


def attribute(max_length: int, fmt: str | None = None, default: str = "") -> Any:
    return field(default=default, metadata={"kind": "attr", "max": max_length, "fmt": fmt})


# -- records shared by every declaration ---------------------------------------------------


@dataclass
class BaseTransfer:
    copCode: str = text(18, fmt="enterprise")
    copName: str = text(100)
    dxpMode: str = text(3, codes={"DXP": "DXP"})
    dxpId: str = text(30)
    note: str = text(1000, required=False)


# -- CEB311 order ----------------------------------------------------------------------------


@dataclass
class OrderHead:
    guid: str = text(36, fmt="guid")
    appType: str = text(1, codes=APP_TYPES)
    appTime: str = text(14, fmt="time14")
    appStatus: str = text(1, codes=APP_STATUSES)
    orderType: str = text(1, codes=ORDER_TYPES)
    orderNo: str = text(60)
    ebpCode: str = text(18, fmt="enterprise")
    ebpName: str = text(100)
    ebcCode: str = text(18, fmt="enterprise")
    ebcName: str = text(100)
    goodsValue: Decimal | None = amount(places=5)
    freight: Decimal | None = amount(places=5)
    discount: Decimal | None = amount(places=5)
    taxTotal: Decimal | None = amount(places=5)
    acturalPaid: Decimal | None = amount(places=5)
    currency: str = text(3, codes=_CNY_ONLY)
    buyerRegNo: str = text(60)
    buyerName: str = text(60)
    buyerTelephone: str = text(30)
    buyerIdType: str = text(1, codes=BUYER_ID_TYPES)
    buyerIdNumber: str = text(60)
    payCode: str = text(18, required=False, fmt="enterprise")
    payName: str = text(100, required=False)
    payTransactionId: str = text(60, required=False)
    batchNumbers: str = text(100, required=False)
    consignee: str = text(60)
    consigneeTelephone: str = text(50)
    consigneeAddress: str = text(200)
    consigneeDistrict: str = text(6, required=False, fmt="district")
    note: str = text(1000, required=False)


@dataclass
class OrderList:
    gnum: int | None = integer()
    itemNo: str = text(30, required=False)
    itemName: str = text(250)
    gmodel: str = text(250, required=False)
    itemDescribe: str = text(1000, required=False)
    barCode: str = text(50, required=False)
    unit: str = text(3, fmt="unit")
    qty: Decimal | None = amount(places=5)
    price: Decimal | None = amount(places=5)
    totalPrice: Decimal | None = amount(places=5)
    currency: str = text(3, codes=_CNY_ONLY)
    country: str = text(3, fmt="country")
    note: str = text(1000, required=False)


@dataclass
class Order:
    OrderHead: OrderHead | None = one(OrderHead)
    OrderList: list[OrderList] = many(OrderList)


# -- CEB411 payment --------------------------------------------------------------------------


@dataclass
class PaymentHead:
    guid: str = text(36, fmt="guid")
    appType: str = text(1, codes=APP_TYPES)
    appTime: str = text(14, fmt="time14")
    appStatus: str = text(1, codes=APP_STATUSES)
    payCode: str = text(18, fmt="enterprise")
    payName: str = text(100)
    payTransactionId: str = text(60)
    orderNo: str = text(60)
    ebpCode: str = text(18, fmt="enterprise")
    ebpName: str = text(100)
    payerIdType: str = text(1, codes=BUYER_ID_TYPES)
    payerIdNumber: str = text(60)
    payerName: str = text(60)
    telephone: str = text(50)
    amountPaid: Decimal | None = amount(places=5)
    currency: str = text(3, codes=_CNY_ONLY)
    payTime: str = text(14, fmt="time14")
    note: str = text(1000, required=False)


@dataclass
class Payment:
    PaymentHead: PaymentHead | None = one(PaymentHead)


# -- CEB511 waybill --------------------------------------------------------------------------


@dataclass
class LogisticsHead:
    guid: str = text(36, fmt="guid")
    appType: str = text(1, codes=APP_TYPES)
    appTime: str = text(14, fmt="time14")
    appStatus: str = text(1, codes=APP_STATUSES)
    logisticsCode: str = text(18, fmt="enterprise")
    logisticsName: str = text(100)
    logisticsNo: str = text(60)
    billNo: str = text(37, required=False)
    orderNo: str = text(60)
    freight: Decimal | None = amount(places=5)
    insuredFee: Decimal | None = amount(places=5)
    currency: str = text(3, codes=_CNY_ONLY)
    weight: Decimal | None = amount(places=4)
    packNo: int | None = integer()
    goodsInfo: str = text(200, required=False)
    consignee: str = text(60)
    consigneeAddress: str = text(255)
    consigneeTelephone: str = text(50)
    note: str = text(1000, required=False)


@dataclass
class Logistics:
    LogisticsHead: LogisticsHead | None = one(LogisticsHead)


# -- CEB621 inventory list -------------------------------------------------------------------


@dataclass
class InventoryHead:
    guid: str = text(36, fmt="guid")
    appType: str = text(1, codes=APP_TYPES)
    appTime: str = text(14, fmt="time14")
    appStatus: str = text(1, codes=APP_STATUSES)
    orderNo: str = text(60)
    ebpCode: str = text(18, fmt="enterprise")
    ebpName: str = text(100)
    ebcCode: str = text(18, fmt="enterprise")
    ebcName: str = text(100)
    logisticsNo: str = text(60)
    logisticsCode: str = text(18, fmt="enterprise")
    logisticsName: str = text(100)
    copNo: str = text(20)
    preNo: str = text(18, required=False)
    invtNo: str = text(18, required=False)  # assigned by customs
    assureCode: str = text(18, fmt="enterprise")
    emsNo: str = text(12, required=False)
    ieFlag: str = text(1, codes=IE_FLAGS)
    declTime: str = text(8, fmt="date8")
    ieDate: str = text(8, fmt="date8")
    customsCode: str = text(4, fmt="digits4")
    portCode: str = text(4, fmt="digits4")
    buyerIdType: str = text(1, codes=BUYER_ID_TYPES)
    buyerIdNumber: str = text(60)
    buyerName: str = text(60)
    buyerTelephone: str = text(30)
    consigneeAddress: str = text(200)
    agentCode: str = text(18, fmt="enterprise")
    agentName: str = text(100)
    areaCode: str = text(18, required=False)
    areaName: str = text(100, required=False)
    tradeMode: str = text(4, codes=TRADE_MODES)
    trafMode: str = text(1)
    trafNo: str = text(100, required=False)
    voyageNo: str = text(32, required=False)
    billNo: str = text(37, required=False)
    loctNo: str = text(10, required=False)
    licenseNo: str = text(19, required=False)
    country: str = text(3, fmt="country")
    freight: Decimal | None = amount(places=5)
    insuredFee: Decimal | None = amount(places=5)
    currency: str = text(3, codes=_CNY_ONLY)
    wrapType: str = text(1, required=False)
    packNo: int | None = integer()
    grossWeight: Decimal | None = amount(places=5)
    netWeight: Decimal | None = amount(places=5)
    note: str = text(1000, required=False)


@dataclass
class InventoryList:
    gnum: int | None = integer()
    itemRecordNo: str = text(30, required=False)
    itemNo: str = text(30, required=False)
    itemName: str = text(250, required=False)
    gcode: str = text(10, fmt="gcode")
    gname: str = text(250)
    gmodel: str = text(250)
    barCode: str = text(50, required=False)
    country: str = text(3, fmt="country")
    tradeCountry: str = text(3, required=False, fmt="country")
    currency: str = text(3, codes=_CNY_ONLY)
    qty: Decimal | None = amount(places=5)
    unit: str = text(3, fmt="unit")
    qty1: Decimal | None = amount(places=5)
    unit1: str = text(3, fmt="unit")
    qty2: Decimal | None = amount(required=False, places=5)
    unit2: str = text(3, required=False, fmt="unit")
    price: Decimal | None = amount(places=5)
    totalPrice: Decimal | None = amount(places=5)
    note: str = text(1000, required=False)


@dataclass
class Inventory:
    InventoryHead: InventoryHead | None = one(InventoryHead)
    InventoryList: list[InventoryList] = many(InventoryList)


# -- receipts --------------------------------------------------------------------------------


@dataclass
class OrderReturn:
    guid: str = text(36, fmt="guid")
    ebpCode: str = text(18, fmt="enterprise")
    ebcCode: str = text(18, fmt="enterprise")
    orderNo: str = text(60)
    returnStatus: str = text(4, fmt="return_status")
    returnTime: str = text(17, fmt="time17")
    returnInfo: str = text(1000, required=False)


@dataclass
class PaymentReturn:
    guid: str = text(36, fmt="guid")
    payCode: str = text(18, fmt="enterprise")
    payTransactionId: str = text(60)
    returnStatus: str = text(4, fmt="return_status")
    returnTime: str = text(17, fmt="time17")
    returnInfo: str = text(1000, required=False)


@dataclass
class LogisticsReturn:
    guid: str = text(36, fmt="guid")
    logisticsCode: str = text(18, fmt="enterprise")
    logisticsNo: str = text(60)
    returnStatus: str = text(4, fmt="return_status")
    returnTime: str = text(17, fmt="time17")
    returnInfo: str = text(1000, required=False)


@dataclass
class InventoryReturn:
    guid: str = text(36, fmt="guid")
    customsCode: str = text(4, fmt="digits4")
    ebpCode: str = text(18, fmt="enterprise")
    ebcCode: str = text(18, fmt="enterprise")
    agentCode: str = text(18, fmt="enterprise")
    copNo: str = text(20)
    preNo: str = text(18, required=False)
    invtNo: str = text(18, required=False)
    returnStatus: str = text(4, fmt="return_status")
    returnTime: str = text(17, fmt="time17")
    returnInfo: str = text(1000, required=False)


# -- CEB816 tax bill -------------------------------------------------------------------------


@dataclass
class TaxHeadRd:
    guid: str = text(36, fmt="guid")
    returnTime: str = text(17, fmt="time17")
    invtNo: str = text(18)
    taxNo: str = text(30)
    customsTax: Decimal | None = amount()
    valueAddedTax: Decimal | None = amount()
    consumptionTax: Decimal | None = amount()
    status: str = text(1, codes=_TAX_STATUSES)
    entDutyNo: str = text(30, required=False)
    note: str = text(1000, required=False)
    assureCode: str = text(18, fmt="enterprise")
    ebcCode: str = text(18, fmt="enterprise")
    logisticsCode: str = text(18, fmt="enterprise")
    agentCode: str = text(18, fmt="enterprise")
    customsCode: str = text(4, fmt="digits4")
    orderNo: str = text(60)
    logisticsNo: str = text(60)


@dataclass
class TaxListRd:
    gnum: int | None = integer()
    gcode: str = text(10, fmt="gcode")
    taxPrice: Decimal | None = amount()
    customsTax: Decimal | None = amount()
    valueAddedTax: Decimal | None = amount()
    consumptionTax: Decimal | None = amount()


@dataclass
class Tax:
    TaxHeadRd: TaxHeadRd | None = one(TaxHeadRd)
    TaxListRd: list[TaxListRd] = many(TaxListRd)


# -- CEB623 cancel and CEB625 return ---------------------------------------------------------


@dataclass
class _InvtRequestHead:
    """The elements CEB623 and CEB625 share: which declared list the request is about, and why."""

    guid: str = text(36, fmt="guid")
    appType: str = text(1, codes=APP_TYPES)
    appTime: str = text(14, fmt="time14")
    appStatus: str = text(1, codes=APP_STATUSES)
    customsCode: str = text(4, fmt="digits4")
    orderNo: str = text(60)
    ebpCode: str = text(18, fmt="enterprise")
    ebpName: str = text(100)
    ebcCode: str = text(18, fmt="enterprise")
    ebcName: str = text(100)
    logisticsNo: str = text(60)
    logisticsCode: str = text(18, fmt="enterprise")
    logisticsName: str = text(100)
    copNo: str = text(20)
    preNo: str = text(18, required=False)
    invtNo: str = text(18)
    buyerIdType: str = text(1, codes=BUYER_ID_TYPES)
    buyerIdNumber: str = text(60)
    buyerName: str = text(60)
    buyerTelephone: str = text(30)
    agentCode: str = text(18, fmt="enterprise")
    agentName: str = text(100)
    reason: str = text(1000)
    note: str = text(1000, required=False)


@dataclass
class InvtCancel(_InvtRequestHead):
    """CEB623: withdraw a declared inventory list."""


@dataclass
class InvtRefundHead(_InvtRequestHead):
    """CEB625: the goods of a released list are returned."""


@dataclass
class InvtRefundList:
    gnum: int | None = integer()
    gcode: str = text(10, fmt="gcode")
    gname: str = text(250)
    qty: Decimal | None = amount(places=5)
    unit: str = text(3, fmt="unit")
    note: str = text(1000, required=False)


@dataclass
class InvtRefund:
    InvtRefundHead: InvtRefundHead | None = one(InvtRefundHead)
    InvtRefundList: list[InvtRefundList] = many(InvtRefundList)


# -- messages --------------------------------------------------------------------------------


@dataclass
class Message:
    """Base of every CEB message: the root element's ``guid`` and ``version`` attributes."""

    ROOT: ClassVar[str] = ""
    guid: str = attribute(36, fmt="guid")
    version: str = attribute(10, fmt="version", default=VERSION)

    BODY: ClassVar[str] = ""

    @property
    def records(self) -> list[Any]:
        """The message's business records (orders, payments, receipts...)."""
        return list(getattr(self, self.BODY))


@dataclass
class CEB311Message(Message):
    ROOT: ClassVar[str] = "CEB311Message"
    BODY: ClassVar[str] = "Order"
    Order: list[Order] = many(Order)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB411Message(Message):
    ROOT: ClassVar[str] = "CEB411Message"
    BODY: ClassVar[str] = "Payment"
    Payment: list[Payment] = many(Payment)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB511Message(Message):
    ROOT: ClassVar[str] = "CEB511Message"
    BODY: ClassVar[str] = "Logistics"
    Logistics: list[Logistics] = many(Logistics)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB621Message(Message):
    ROOT: ClassVar[str] = "CEB621Message"
    BODY: ClassVar[str] = "Inventory"
    Inventory: list[Inventory] = many(Inventory)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB623Message(Message):
    ROOT: ClassVar[str] = "CEB623Message"
    BODY: ClassVar[str] = "InvtCancel"
    InvtCancel: list[InvtCancel] = many(InvtCancel)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB625Message(Message):
    ROOT: ClassVar[str] = "CEB625Message"
    BODY: ClassVar[str] = "InvtRefund"
    InvtRefund: list[InvtRefund] = many(InvtRefund)
    BaseTransfer: BaseTransfer | None = one(BaseTransfer)


@dataclass
class CEB312Message(Message):
    ROOT: ClassVar[str] = "CEB312Message"
    BODY: ClassVar[str] = "OrderReturn"
    OrderReturn: list[OrderReturn] = many(OrderReturn)


@dataclass
class CEB412Message(Message):
    ROOT: ClassVar[str] = "CEB412Message"
    BODY: ClassVar[str] = "PaymentReturn"
    PaymentReturn: list[PaymentReturn] = many(PaymentReturn)


@dataclass
class CEB512Message(Message):
    ROOT: ClassVar[str] = "CEB512Message"
    BODY: ClassVar[str] = "LogisticsReturn"
    LogisticsReturn: list[LogisticsReturn] = many(LogisticsReturn)


@dataclass
class CEB622Message(Message):
    ROOT: ClassVar[str] = "CEB622Message"
    BODY: ClassVar[str] = "InventoryReturn"
    InventoryReturn: list[InventoryReturn] = many(InventoryReturn)


@dataclass
class CEB816Message(Message):
    ROOT: ClassVar[str] = "CEB816Message"
    BODY: ClassVar[str] = "Tax"
    Tax: list[Tax] = many(Tax)


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.ROOT: cls
    for cls in (
        CEB311Message,
        CEB411Message,
        CEB511Message,
        CEB621Message,
        CEB623Message,
        CEB625Message,
        CEB312Message,
        CEB412Message,
        CEB512Message,
        CEB622Message,
        CEB816Message,
    )
}


@dataclass(frozen=True)
class Issue:
    """One problem in a message: the element path (``CEB311Message/Order[1]/OrderHead/
    acturalPaid``), a stable code and a translated sentence."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": str(self.message)}
