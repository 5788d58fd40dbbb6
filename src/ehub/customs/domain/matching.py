"""The three-document match customs makes before an inventory list (CEB621) is verified.

Pure: ``match_documents`` takes the order (CEB311 ``Order``), the payment (CEB411
``PaymentHead``), the waybill (CEB511 ``LogisticsHead``), the inventory list (CEB621
``Inventory``), the set of registered enterprise codes, whether the buyer's identity is
verified, and the tariff facts of the gcodes; it returns every mismatch, each with a stable
reason code, a translated sentence and the paths of the fields involved (for highlighting
side by side). An empty list means the documents agree. Rules (DOMAIN.md §3, §2):

* links: order, payment, waybill and list share ``orderNo``; ``payTransactionId`` links order
  and payment; ``logisticsNo`` (and the logistics company) links waybill and list; the list
  names the order's platform and seller;
* money: the order's ``acturalPaid`` equals the payment's ``amountPaid``; the list's goods
  total equals the order's ``goodsValue``;
* people: where the buyer's identity is not verified the payer is the buyer (same ID number
  and name); the list declares the order's buyer; consignee name, telephone and address agree
  on order and waybill (compared after collapsing white space);
* lines: the list has the order's lines, in gnum order, with the same quantity and price;
* goods: each gcode is a China tariff line on the CBEC positive list, and the buyer stays
  within its quantity limit (legal quantity ``qty1`` when declared, else ``qty``);
* enterprises: every enterprise code on the documents is registered with customs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.customs.domain.documents import Inventory, LogisticsHead, Order, PaymentHead

ORDER = "CEB311/Order/OrderHead"
PAYMENT = "CEB411/Payment/PaymentHead"
WAYBILL = "CEB511/Logistics/LogisticsHead"
LIST = "CEB621/Inventory/InventoryHead"


@dataclass(frozen=True)
class GoodsFacts:
    """What matching needs of a China tariff line."""

    positive_list: bool
    qty_limit: Decimal | None = None
    qty_limit_unit: str = ""


@dataclass(frozen=True)
class Mismatch:
    code: str
    message: Any  # translated sentence
    paths: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.message), "paths": list(self.paths)}


def _norm(value: str) -> str:
    return " ".join((value or "").split())


def _links(order, payment, waybill, inventory, out: list[Mismatch]) -> None:
    head = inventory.InventoryHead
    pairs = [
        ("payment_order_no", payment.orderNo, f"{PAYMENT}/orderNo", _("payment")),
        ("waybill_order_no", waybill.orderNo, f"{WAYBILL}/orderNo", _("waybill")),
        ("inventory_order_no", head.orderNo, f"{LIST}/orderNo", _("inventory list")),
    ]
    for code, value, path, label in pairs:
        if value != order.orderNo:
            out.append(
                Mismatch(
                    code,
                    _("The %(doc)s names order %(value)s, not %(order)s.")
                    % {"doc": label, "value": value or "—", "order": order.orderNo},
                    (f"{ORDER}/orderNo", path),
                )
            )
    if payment.payTransactionId != order.payTransactionId:
        out.append(
            Mismatch(
                "pay_transaction_id",
                _("The payment's transaction %(pay)s is not the order's %(order)s.")
                % {"pay": payment.payTransactionId or "—", "order": order.payTransactionId or "—"},
                (f"{ORDER}/payTransactionId", f"{PAYMENT}/payTransactionId"),
            )
        )
    if order.payCode and payment.payCode != order.payCode:
        out.append(
            Mismatch(
                "pay_code",
                _("The order names payment company %(order)s, the payment %(pay)s.")
                % {"order": order.payCode, "pay": payment.payCode or "—"},
                (f"{ORDER}/payCode", f"{PAYMENT}/payCode"),
            )
        )
    if head.logisticsNo != waybill.logisticsNo:
        out.append(
            Mismatch(
                "logistics_no",
                _("The inventory list names waybill %(list)s, the waybill is %(waybill)s.")
                % {"list": head.logisticsNo or "—", "waybill": waybill.logisticsNo or "—"},
                (f"{LIST}/logisticsNo", f"{WAYBILL}/logisticsNo"),
            )
        )
    if head.logisticsCode != waybill.logisticsCode:
        out.append(
            Mismatch(
                "logistics_code",
                _("The inventory list and the waybill name different logistics companies."),
                (f"{LIST}/logisticsCode", f"{WAYBILL}/logisticsCode"),
            )
        )
    for field, label in (("ebpCode", _("platform")), ("ebcCode", _("seller"))):
        if getattr(head, field) != getattr(order, field):
            out.append(
                Mismatch(
                    f"inventory_{field.lower()}",
                    _("The inventory list and the order name different %(who)s.") % {"who": label},
                    (f"{ORDER}/{field}", f"{LIST}/{field}"),
                )
            )


def _money(order, payment, inventory, out: list[Mismatch]) -> None:
    if order.acturalPaid is None or payment.amountPaid is None:
        return
    if order.acturalPaid != payment.amountPaid:
        out.append(
            Mismatch(
                "amount_paid",
                _("The order's acturalPaid %(order)s is not the payment's amountPaid %(pay)s.")
                % {"order": order.acturalPaid, "pay": payment.amountPaid},
                (f"{ORDER}/acturalPaid", f"{PAYMENT}/amountPaid"),
            )
        )
    totals = [line.totalPrice for line in inventory.InventoryList]
    if order.goodsValue is not None and totals and None not in totals:
        listed = sum(totals, Decimal(0))
        if listed != order.goodsValue:
            out.append(
                Mismatch(
                    "goods_value",
                    _("The inventory list's goods total %(list)s is not the order's %(order)s.")
                    % {"list": listed, "order": order.goodsValue},
                    (f"{ORDER}/goodsValue", "CEB621/Inventory/InventoryList/totalPrice"),
                )
            )


def _people(order, payment, waybill, inventory, verified: bool, out: list[Mismatch]) -> None:
    head = inventory.InventoryHead
    if not verified and (
        payment.payerIdNumber.upper() != order.buyerIdNumber.upper()
        or _norm(payment.payerName) != _norm(order.buyerName)
    ):
        out.append(
            Mismatch(
                "payer_not_buyer",
                _(
                    "The buyer's identity is not verified, so the payer must be the buyer "
                    "(same name and ID number)."
                ),
                (
                    f"{ORDER}/buyerName",
                    f"{ORDER}/buyerIdNumber",
                    f"{PAYMENT}/payerName",
                    f"{PAYMENT}/payerIdNumber",
                ),
            )
        )
    if head.buyerIdNumber.upper() != order.buyerIdNumber.upper() or _norm(head.buyerName) != _norm(
        order.buyerName
    ):
        out.append(
            Mismatch(
                "inventory_buyer",
                _("The inventory list declares a different buyer from the order."),
                (f"{ORDER}/buyerIdNumber", f"{LIST}/buyerIdNumber", f"{LIST}/buyerName"),
            )
        )
    for field, code, label in (
        ("consignee", "consignee_name", _("name")),
        ("consigneeTelephone", "consignee_telephone", _("telephone")),
        ("consigneeAddress", "consignee_address", _("address")),
    ):
        if _norm(getattr(order, field)) != _norm(getattr(waybill, field)):
            out.append(
                Mismatch(
                    code,
                    _("The consignee's %(what)s differs between order and waybill.")
                    % {"what": label},
                    (f"{ORDER}/{field}", f"{WAYBILL}/{field}"),
                )
            )


def _lines(order: Order, inventory: Inventory, out: list[Mismatch]) -> None:
    ordered, listed = order.OrderList, inventory.InventoryList
    if len(ordered) != len(listed):
        out.append(
            Mismatch(
                "line_count",
                _("The order has %(order)d lines, the inventory list %(list)d.")
                % {"order": len(ordered), "list": len(listed)},
                ("CEB311/Order/OrderList", "CEB621/Inventory/InventoryList"),
            )
        )
        return
    for i, (mine, theirs) in enumerate(zip(ordered, listed, strict=True), start=1):
        for field, code in (("qty", "line_qty"), ("price", "line_price")):
            if getattr(mine, field) != getattr(theirs, field):
                out.append(
                    Mismatch(
                        code,
                        _("Line %(n)d: %(field)s is %(order)s on the order, %(list)s listed.")
                        % {
                            "n": i,
                            "field": field,
                            "order": getattr(mine, field),
                            "list": getattr(theirs, field),
                        },
                        (
                            f"CEB311/Order/OrderList[{i}]/{field}",
                            f"CEB621/Inventory/InventoryList[{i}]/{field}",
                        ),
                    )
                )


def _goods(
    inventory: Inventory,
    tariff: Mapping[str, GoodsFacts],
    used_qty: Mapping[str, Decimal],
    out: list[Mismatch],
) -> None:
    totals: dict[str, Decimal] = {}
    first_line: dict[str, int] = {}
    for i, line in enumerate(inventory.InventoryList, start=1):
        path = f"CEB621/Inventory/InventoryList[{i}]/gcode"
        facts = tariff.get(line.gcode)
        if facts is None:
            out.append(
                Mismatch(
                    "unknown_gcode",
                    _("Line %(n)d: %(gcode)s is not a China tariff line.")
                    % {"n": i, "gcode": line.gcode or "—"},
                    (path,),
                )
            )
            continue
        if not facts.positive_list:
            out.append(
                Mismatch(
                    "not_on_positive_list",
                    _("Line %(n)d: %(gcode)s is not on the CBEC positive list.")
                    % {"n": i, "gcode": line.gcode},
                    (path,),
                )
            )
        if facts.qty_limit is not None:
            qty = line.qty1 if line.qty1 is not None else line.qty
            totals[line.gcode] = totals.get(line.gcode, Decimal(0)) + (qty or Decimal(0))
            first_line.setdefault(line.gcode, i)
    for gcode, qty in totals.items():
        facts = tariff[gcode]
        already = Decimal(used_qty.get(gcode, 0))
        if already + qty > facts.qty_limit:
            out.append(
                Mismatch(
                    "over_quantity_limit",
                    _(
                        "%(gcode)s is limited to %(limit)s %(unit)s per person per year; "
                        "with this list the buyer reaches %(total)s."
                    )
                    % {
                        "gcode": gcode,
                        "limit": facts.qty_limit.normalize(),
                        "unit": facts.qty_limit_unit,
                        "total": (already + qty).normalize(),
                    },
                    (f"CEB621/Inventory/InventoryList[{first_line[gcode]}]/qty1",),
                )
            )


def _enterprises(order, payment, waybill, inventory, registered, out: list[Mismatch]) -> None:
    head = inventory.InventoryHead
    roles = [
        (order.ebpCode, f"{ORDER}/ebpCode", _("platform")),
        (order.ebcCode, f"{ORDER}/ebcCode", _("seller")),
        (payment.payCode, f"{PAYMENT}/payCode", _("payment company")),
        (waybill.logisticsCode, f"{WAYBILL}/logisticsCode", _("logistics company")),
        (head.agentCode, f"{LIST}/agentCode", _("declaring agent")),
        (head.assureCode, f"{LIST}/assureCode", _("guarantor")),
    ]
    seen: set[str] = set()
    for code, path, role in roles:
        if code in registered or code in seen:
            continue
        seen.add(code)
        out.append(
            Mismatch(
                "unregistered_enterprise",
                _("The %(role)s %(code)s is not registered with customs.")
                % {"role": role, "code": code or "—"},
                (path,),
            )
        )


def match_documents(
    order: Order | None,
    payment: PaymentHead | None,
    waybill: LogisticsHead | None,
    inventory: Inventory | None,
    *,
    registered: Collection[str],
    tariff: Mapping[str, GoodsFacts],
    buyer_verified: bool = False,
    used_qty: Mapping[str, Decimal] | None = None,
) -> list[Mismatch]:
    """Every disagreement between the four documents (see the module docstring)."""
    missing = [
        (name, label)
        for name, label, doc in (
            ("CEB311", _("order"), order and order.OrderHead),
            ("CEB411", _("payment"), payment),
            ("CEB511", _("waybill"), waybill),
            ("CEB621", _("inventory list"), inventory and inventory.InventoryHead),
        )
        if not doc
    ]
    if missing:
        return [
            Mismatch(
                "missing_document",
                _("The %(doc)s (%(type)s) has not been filed.") % {"doc": label, "type": name},
                (name,),
            )
            for name, label in missing
        ]
    head = order.OrderHead
    out: list[Mismatch] = []
    _links(head, payment, waybill, inventory, out)
    _money(head, payment, inventory, out)
    _people(head, payment, waybill, inventory, buyer_verified, out)
    _lines(order, inventory, out)
    _goods(inventory, tariff, used_qty or {}, out)
    _enterprises(head, payment, waybill, inventory, set(registered), out)
    return out
