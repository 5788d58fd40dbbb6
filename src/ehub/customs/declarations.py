"""Declaration use cases: filing the three documents, declaring the inventory list, receipts,
and the officer's decisions. (Services of the customs context, kept beside ``services.py``,
which holds quotes and quotas.)

* ``file_document(ctx, message)`` — an order (CEB311), payment (CEB411), waybill (CEB511) or an
  agent's own inventory list (CEB621), as XML bytes or a parsed message. Checked whole first
  (``MessageFormatError`` / ``DocumentInvalid`` naming every element path); then each record is
  stored on the filing organization's declaration for its orderNo, all in one transaction.
  When order, payment and waybill are in, the declaration is declared.
* ``declare(ctx, declaration)`` — builds the CEB621 (unless an agent filed one), matches the
  four documents, recomputes the tax, holds the buyer's quota, scores the risk lane, and
  submits the list through the customs gateway.
* ``apply_receipt(ctx, receipt)`` — a CEB622 answer: kept (idempotent by guid), and it moves
  the status only forward (``codes.status_moves_forward``). Release confirms the buyer's quota,
  rejection releases it; ``customs.released`` / ``customs.rejected`` / ``customs.inspection``
  events are published for whoever listens (orders, later).
* ``release`` / ``inspect`` / ``reject(ctx, declaration, reason)`` — an officer of a customs
  authority decides; the reason is required and audited, and the decision is sent as the
  matching receipt, so the timeline reads the same whoever decided.

The rules themselves are pure (``domain``); ``evaluate`` puts them together for one set of
documents and is also what the sandbox customs and the clearance benchmark run.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from ehub.catalog.tariff import LineRates, line_rates
from ehub.core import audit, clock, events
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.fields import blind_index
from ehub.core.ids import new_public_id
from ehub.core.money import Money, Rounding
from ehub.customs import webhooks
from ehub.customs.domain import documents as d
from ehub.customs.domain.codes import CNY as CNY_CODE
from ehub.customs.domain.codes import FINAL_RETURN_STATUSES, status_moves_forward
from ehub.customs.domain.limits import BEIJING, limits_on
from ehub.customs.domain.matching import GoodsFacts, Mismatch, match_documents
from ehub.customs.domain.risk import RiskAssessment, RiskFacts, RiskLine, Screen, assess
from ehub.customs.domain.tax import OrderLine, TaxRates, TaxResult, compute_tax
from ehub.customs.domain.validation import validate
from ehub.customs.domain.xmlcodec import from_xml, to_xml
from ehub.customs.models import (
    BuyerQuota,
    CustomsDocument,
    Declaration,
    DocumentKind,
    Enterprise,
    Receipt,
)

CNY = "CNY"
_ZERO = Money(0, CNY)
FILEABLE = {
    "CEB311Message": DocumentKind.ORDER,
    "CEB411Message": DocumentKind.PAYMENT,
    "CEB511Message": DocumentKind.WAYBILL,
    "CEB621Message": DocumentKind.INVENTORY,
}
NEEDED = (DocumentKind.ORDER, DocumentKind.PAYMENT, DocumentKind.WAYBILL)
CUSTOMS_AUTHORITY = "customs_authority"
HISTORY_DAYS = 30  # look-back of the quota-splitting counts
# Customs and agent codes eHub declares with (the Hangzhou CBEC zone in the sandbox).
CUSTOMS_CODE = "2991"


class DocumentInvalid(ValidationFailed):
    code = "document_invalid"
    title = _("The customs document has errors.")


class DeclarationStateConflict(Conflict):
    code = "declaration_state_conflict"
    title = _("The declaration is not in a state that allows this.")


def new_guid() -> str:
    """A random (version 4) GUID in upper case, as CEB messages carry them; the same as
    ``new_guid()`` without building a UUID object (one per document and receipt
    of a batch)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def mask_id(number: str) -> str:
    """A resident ID number as officers see it: region (6) and last 4 kept, e.g.
    ``110105********002X``; shorter numbers keep only their last 2."""
    number = (number or "").strip()
    if len(number) >= 14:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) > 2:
        return "*" * (len(number) - 2) + number[-2:]
    return "*" * len(number)


def _address_key(address: str) -> str:
    return blind_index(" ".join((address or "").split()))


_PERSONAL = frozenset({"buyerIdNumber", "payerIdNumber"})


def document_fields(record: Any) -> Any:
    """A document record as JSON for ``CustomsDocument.fields``: decimals as text, ID numbers
    masked. Walks the dataclass directly (``dataclasses.asdict`` deep-copies, four times slower:
    it runs once per filed document), with a converter generated per record class."""
    if type(record) is str or record is None:
        return record
    convert = _converter(type(record))
    if convert is not None:
        return convert(record)
    if isinstance(record, list | tuple):
        return [document_fields(v) for v in record]
    if isinstance(record, Decimal):
        return format(record, "f")
    return record


@functools.cache
def _converter(cls: type) -> Any:
    """``document_fields`` of one dataclass as a single dict display (None for other types):
    each field's usual type is handled inline, anything else goes to ``document_fields``."""
    names = _field_names(cls)
    if names is None:
        return None
    items = []
    for name in names:
        get = f"r.{name}"
        if name in _PERSONAL:
            items.append(f"{name!r}: _mask({get}) if _type({get}) is _str else _walk({get})")
        else:
            items.append(
                f"{name!r}: {get} if _type({get}) is _str "
                f"else _format({get}, 'f') if _type({get}) is _Decimal else _walk({get})"
            )
    env = {
        "_mask": mask_id,
        "_type": type,
        "_str": str,
        "_Decimal": Decimal,
        "_format": format,
        "_walk": document_fields,
    }
    code = "def convert(r):\n    return {" + ", ".join(items) + "}"
    exec(code, env)  # noqa: S102 - built from dataclass field names
    return env["convert"]


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _head(kind: str, record: Any) -> Any:
    return {
        DocumentKind.ORDER: lambda r: r.OrderHead,
        DocumentKind.PAYMENT: lambda r: r.PaymentHead,
        DocumentKind.WAYBILL: lambda r: r.LogisticsHead,
        DocumentKind.INVENTORY: lambda r: r.InventoryHead,
    }[kind](record)


def _record(kind: str, record: Any) -> Any:
    """What the rules take: the order and list whole, the payment and waybill heads."""
    return _head(kind, record) if kind in (DocumentKind.PAYMENT, DocumentKind.WAYBILL) else record


# -- evaluation (pure, given the facts the database holds) --------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules need from the database, gathered in bulk by the caller."""

    rates: Mapping[str, LineRates]
    registered: frozenset[str] | set[str]
    buyer_verified: bool = False
    quota_used: Money = _ZERO
    consignees_for_id: int = 1
    ids_for_address: int = 1
    on: date | None = None
    # itemNo → the catalog's unit price in CNY (``services.reference_prices``), for the
    # undervaluation rule; lines without one are not judged on price.
    reference_prices: Mapping[str, Money] = dataclasses.field(default_factory=dict)
    # ``tariff_facts(rates)``, when the caller evaluates many declarations with the same rates.
    tariff: Mapping[str, GoodsFacts] | None = None


def tariff_facts(rates: Mapping[str, LineRates]) -> dict[str, GoodsFacts]:
    """What matching needs of each tariff line in ``rates``."""
    return {
        code: GoodsFacts(r.cbec_positive, r.qty_limit, r.qty_limit_unit)
        for code, r in rates.items()
    }


@dataclass(frozen=True)
class Evaluation:
    mismatches: list[Mismatch]
    tax: TaxResult
    risk: RiskAssessment

    @property
    def clear(self) -> bool:
        return not self.mismatches and not self.tax.is_refused


def _cny(value: Decimal | None) -> Money:
    """A document amount in fen, half up. An amount with at most two decimal places (almost
    all of them) is converted exactly without ``Money.from_decimal``'s rounding context."""
    if type(value) is Decimal:
        _sign, digits, exponent = value.as_tuple()
        if type(exponent) is int and exponent >= -2 and len(digits) + exponent <= 20:
            amount = int(value.scaleb(2))  # exact: at most 22 digits, no fraction left
            return Money(amount, CNY)
    return Money.from_decimal(value or Decimal(0), CNY, Rounding.HALF_UP)


def evaluate(
    order: d.Order,
    payment: d.PaymentHead,
    waybill: d.LogisticsHead,
    inventory: d.Inventory,
    facts: Facts,
    *,
    screen: Screen | None = None,
) -> Evaluation:
    """Match, tax and risk of one declaration's documents (no database access). ``screen`` is
    the restricted-party list to use (the shipped one by default; batches pass a memoising one)."""
    goods = facts.tariff if facts.tariff is not None else tariff_facts(facts.rates)
    mismatches = match_documents(
        order,
        payment,
        waybill,
        inventory,
        registered=facts.registered,
        tariff=goods,
        buyer_verified=facts.buyer_verified,
    )
    day = facts.on or clock.now().astimezone(BEIJING).date()
    lines = []
    for line in inventory.InventoryList:
        r = facts.rates.get(line.gcode)
        rates = (
            TaxRates(
                vat=r.vat_rate,
                consumption=r.consumption_tax_rate,
                duty=r.duty_rate,
                positive_list=r.cbec_positive,
                qty_limit=r.qty_limit,
                qty_limit_unit=r.qty_limit_unit,
            )
            if r is not None
            else TaxRates(vat=Decimal(0), positive_list=False)
        )
        limit_qty = line.qty1 if r is not None and r.qty_limit is not None else None
        lines.append(OrderLine(line.gcode, line.qty, _cny(line.price), rates, limit_qty))
    head = order.OrderHead
    tax = compute_tax(
        lines,
        limits=limits_on(day),
        quota_used=facts.quota_used,
        freight=_cny(head.freight),
        insurance=_cny(waybill.insuredFee),
        discount=_cny(head.discount),
    )
    if tax.is_refused:
        mismatches.append(
            Mismatch(f"tax_{tax.refusal.code}", tax.refusal.message, ("CEB621/Inventory",))
        )
    elif _cny(head.taxTotal) != tax.tax_total:
        mismatches.append(
            Mismatch(
                "tax_total",
                _("The order declares tax of %(declared)s; customs computes %(computed)s.")
                % {"declared": _cny(head.taxTotal), "computed": tax.tax_total},
                ("CEB311/Order/OrderHead/taxTotal",),
            )
        )
    risk = assess(
        RiskFacts(
            lines=[
                RiskLine(
                    gcode=line.gcode,
                    qty=line.qty,
                    unit_price=_cny(line.price),
                    reference_price=facts.reference_prices.get(line.itemNo),
                    qty_limit=(facts.rates[line.gcode].qty_limit)
                    if line.gcode in facts.rates
                    else None,
                    limit_qty=line.qty1,
                    qty_limit_unit=(facts.rates[line.gcode].qty_limit_unit)
                    if line.gcode in facts.rates
                    else "",
                )
                for line in inventory.InventoryList
            ],
            dutiable=tax.dutiable,
            parties={
                "buyer": head.buyerName,
                "consignee": head.consignee,
                "payer": payment.payerName,
                "seller": head.ebcName,
            },
            consignees_for_id=facts.consignees_for_id,
            ids_for_address=facts.ids_for_address,
        ),
        screen=screen,
    )
    return Evaluation(mismatches, tax, risk)


def tax_breakdown(tax: TaxResult) -> dict[str, Any]:
    """The tax result as JSON (amounts in fen) for the declaration and the officer page."""
    return {
        "regime": str(tax.regime),
        "refusal": str(tax.refusal) if tax.refusal else "",
        "goods_value": tax.goods_value.amount,
        "freight": tax.freight.amount,
        "insurance": tax.insurance.amount,
        "discount": tax.discount.amount,
        "dutiable": tax.dutiable.amount,
        "duty": tax.duty.amount,
        "consumption_tax": tax.consumption_tax.amount,
        "vat": tax.vat.amount,
        "total": tax.tax_total.amount,
        "lines": [
            {
                "gcode": line.gcode,
                "qty": format(line.qty, "f"),
                "dutiable": line.dutiable.amount,
                "duty": line.duty.amount,
                "consumption_tax": line.consumption_tax.amount,
                "vat": line.vat.amount,
            }
            for line in tax.lines
        ],
    }


def record_evaluation(decl: Declaration, evaluation: Evaluation) -> None:
    """Copy the outcome of ``evaluate`` onto the declaration (unsaved)."""
    decl.mismatches = [m.as_dict() for m in evaluation.mismatches]
    decl.regime = str(evaluation.tax.regime)
    decl.tax = tax_breakdown(evaluation.tax)
    decl.dutiable = evaluation.tax.dutiable.amount
    decl.tax_total = evaluation.tax.tax_total.amount
    decl.risk_score = evaluation.risk.score
    decl.lane = str(evaluation.risk.lane)
    decl.risk_reasons = [r.as_dict() for r in evaluation.risk.reasons]


# -- building the inventory list ---------------------------------------------------------------


@dataclass(frozen=True)
class ListGoods:
    """How one order line is declared: its China tariff line and legal quantity."""

    gcode: str
    gname: str
    gmodel: str = ""
    qty1: Decimal | None = None  # legal quantity; the order quantity when None
    unit1: str = ""  # legal unit; the order line's unit when empty


def _catalog_goods(item_nos: Sequence[str]) -> dict[str, ListGoods]:
    from ehub.catalog.models import Sku

    found: dict[str, ListGoods] = {}
    for code, gcode, name in Sku.objects.filter(code__in=set(item_nos)).values_list(
        "code", "product__gcode", "product__hs_code"
    ):
        if gcode:
            found.setdefault(code, ListGoods(gcode=gcode, gname=name or gcode))
    return found


def build_inventory(
    declaration: Declaration,
    order: d.Order,
    waybill: d.LogisticsHead,
    goods: Mapping[str, ListGoods],
    *,
    agent: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> d.Inventory:
    """The CEB621 list eHub declares as agent, from the order and waybill; each order line's
    tariff line comes from ``goods`` by itemNo (else by item name)."""
    head = order.OrderHead
    moment = (now or clock.now()).astimezone(BEIJING)
    stamp14, date8, _stamp17 = _stamps(moment, moment.utcoffset())
    agent_code, agent_name = agent or (head.ebpCode, head.ebpName)
    lines = []
    for line in order.OrderList:
        g = goods.get(line.itemNo) or goods.get(line.itemName)
        lines.append(
            d.InventoryList(
                gnum=line.gnum,
                itemNo=line.itemNo,
                itemName=line.itemName,
                gcode=g.gcode if g else "",
                gname=g.gname if g else line.itemName,
                gmodel=(g.gmodel if g else "") or line.gmodel or line.itemName,
                barCode=line.barCode,
                country=line.country,
                currency=CNY_CODE,
                qty=line.qty,
                unit=line.unit,
                qty1=(g.qty1 if g and g.qty1 is not None else line.qty),
                unit1=(g.unit1 if g and g.unit1 else line.unit),
                price=line.price,
                totalPrice=line.totalPrice,
            )
        )
    return d.Inventory(
        InventoryHead=d.InventoryHead(
            guid=new_guid(),
            appType="1",
            appTime=stamp14,
            appStatus="2",
            orderNo=head.orderNo,
            ebpCode=head.ebpCode,
            ebpName=head.ebpName,
            ebcCode=head.ebcCode,
            ebcName=head.ebcName,
            logisticsNo=waybill.logisticsNo,
            logisticsCode=waybill.logisticsCode,
            logisticsName=waybill.logisticsName,
            copNo=declaration.cop_no,
            assureCode=head.ebpCode,
            ieFlag="I",
            declTime=date8,
            ieDate=date8,
            customsCode=CUSTOMS_CODE,
            portCode=CUSTOMS_CODE,
            buyerIdType=head.buyerIdType,
            buyerIdNumber=head.buyerIdNumber,
            buyerName=head.buyerName,
            buyerTelephone=head.buyerTelephone,
            consigneeAddress=head.consigneeAddress,
            agentCode=agent_code,
            agentName=agent_name,
            tradeMode="9610",
            trafMode="5",  # air
            country=order.OrderList[0].country if order.OrderList else "",
            freight=waybill.freight,
            insuredFee=waybill.insuredFee,
            currency=CNY_CODE,
            packNo=waybill.packNo,
            grossWeight=waybill.weight,
            netWeight=waybill.weight,
        ),
        InventoryList=lines,
    )


def inventory_message(inventory: d.Inventory, transfer: d.BaseTransfer) -> d.CEB621Message:
    return d.CEB621Message(
        guid=inventory.InventoryHead.guid, Inventory=[inventory], BaseTransfer=transfer
    )


# -- filing ------------------------------------------------------------------------------------


def _parse(message: d.Message | bytes | str) -> tuple[d.Message, str]:
    if isinstance(message, str):
        message = message.encode("utf-8")
    if isinstance(message, bytes | bytearray):
        raw = bytes(message)
        return from_xml(raw), raw.decode("utf-8")
    if not isinstance(message, d.Message):
        raise TypeError("file_document takes a CEB message or its XML")
    return message, to_xml(message).decode("utf-8")


def filing_issues(parsed: d.Message) -> list[d.Issue]:
    """Why a parsed message cannot be filed (empty when it can): every validation problem,
    else ``not_fileable`` for a message that is not an order, payment, waybill or list."""
    issues = validate(parsed)
    if issues or parsed.ROOT in FILEABLE:
        return issues
    return [
        d.Issue(
            parsed.ROOT,
            "not_fileable",
            _(
                "Only orders (CEB311), payments (CEB411), waybills (CEB511) and inventory "
                "lists (CEB621) can be filed."
            ),
        )
    ]


def check_document(message: d.Message | bytes | str) -> tuple[d.Message, str]:
    """Parse and validate; raise with every problem's element path, or return (message, xml)."""
    parsed, xml = _parse(message)
    issues = filing_issues(parsed)
    if issues:
        raise DocumentInvalid([FieldError(i.path, i.message, i.code) for i in issues])
    return parsed, xml


def new_declaration_ids() -> tuple[str, str]:
    """A fresh public id for a declaration and the copNo derived from it."""
    public_id = new_public_id("CDL")
    return public_id, "D" + public_id.split("-", 1)[1].replace("-", "")


def new_declaration(filing_org, order_no: str, now: datetime) -> Declaration:
    """An unsaved declaration for ``order_no``, with a fresh public id and copNo."""
    public_id, cop_no = new_declaration_ids()
    return Declaration(
        public_id=public_id,
        cop_no=cop_no,
        filing_org=filing_org,
        order_no=order_no,
        created_at=now,
    )


def _locked(filing_org, order_no: str, now: datetime) -> Declaration:
    query = Declaration.objects.select_for_update().filter(filing_org=filing_org, order_no=order_no)
    found = query.first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            decl = new_declaration(filing_org, order_no, now)
            decl.save(force_insert=True)
            return decl
    except IntegrityError:
        return query.get()  # a concurrent filing created it first


def _copy_keys(decl: Declaration, kind: str, head: Any) -> None:
    if kind == DocumentKind.ORDER:
        decl.ebp_code, decl.ebc_code = head.ebpCode, head.ebcCode
        decl.pay_transaction_id = head.payTransactionId
        decl.buyer_name, decl.consignee = head.buyerName, head.consignee
        decl.buyer_id_masked = mask_id(head.buyerIdNumber)
        decl.buyer_id_index = blind_index(head.buyerIdNumber)
        decl.address_index = _address_key(head.consigneeAddress)
    elif kind == DocumentKind.WAYBILL:
        decl.logistics_no = head.logisticsNo


def _held_quota(key: str, parsed: d.Message):
    """The reservation ``key`` names, still held; else a field error on ``quota_key``."""
    from ehub.customs.models import QuotaReservation, QuotaStatus

    if len(parsed.records) != 1:
        raise ValidationFailed.single(
            "quota_key",
            _("A quota key belongs to one order: file this order's documents on their own."),
            "one_order_only",
        )
    held = QuotaReservation.objects.select_related("quota").filter(key=key).first()
    if held is None:
        raise ValidationFailed.single(
            "quota_key", _("No quota reservation with this key."), "not_found"
        )
    if held.status != QuotaStatus.RESERVED:
        raise ValidationFailed.single(
            "quota_key",
            _("This quota reservation is no longer held (it is %(status)s).")
            % {"status": held.get_status_display()},
            "not_held",
        )
    return held


def _adopt_quota(decl: Declaration, held) -> None:
    if decl.quota_key and decl.quota_key != held.key:
        raise DeclarationStateConflict(
            _("This order's declaration already holds another quota reservation."),
            field="quota_key",
        )
    decl.quota_key = held.key


def _check_quota_buyer(decl: Declaration) -> None:
    """An adopted reservation must be the ordering buyer's (checked once the order is in)."""
    if not decl.quota_key or not decl.buyer_id_index:
        return
    from ehub.customs.models import QuotaReservation

    index = (
        QuotaReservation.objects.filter(key=decl.quota_key)
        .values_list("quota__id_index", flat=True)
        .first()
    )
    if index is not None and index != decl.buyer_id_index:
        raise ValidationFailed.single(
            "quota_key",
            _("The quota reservation is not the ordering buyer's."),
            "other_buyer",
        )


def file_document(
    ctx: Context,
    message: d.Message | bytes | str,
    *,
    quota_key: str | None = None,
    goods: Mapping[str, ListGoods] | None = None,
    declare_when_complete: bool = True,
    gateway=None,
) -> list[Declaration]:
    """File a CEB311/411/511/621 message for ``ctx.org``; returns the declarations it touched.

    Orders, payments and waybills are also sent on to customs through the gateway (customs
    answers each with a CEB312/412/512 receipt); a list filed by an agent goes with ``declare``.

    ``quota_key``: the filer (the orders context) already holds the buyer's annual quota under
    this key (``services.reserve_quota`` at checkout). The declaration adopts it and ``declare``
    reserves nothing more; release confirms it and rejection releases it, as for its own keys.
    Only for a message about one order, and only a reservation still held.
    """
    if ctx.org is None:
        raise PermissionDenied(_("File documents as an organization."))
    parsed, xml = check_document(message)
    kind = FILEABLE[parsed.ROOT]
    held = _held_quota(quota_key, parsed) if quota_key else None
    now = clock.now()
    touched: list[Declaration] = []
    with transaction.atomic():
        for record in parsed.records:
            head = _head(kind, record)
            decl = _locked(ctx.org, head.orderNo, now)
            if decl.status:
                raise DeclarationStateConflict(
                    _("Order %(no)s is already declared; its documents can no longer change.")
                    % {"no": head.orderNo},
                    field=f"{parsed.ROOT}/{parsed.BODY}/orderNo",
                )
            if held is not None:
                _adopt_quota(decl, held)
            CustomsDocument.objects.update_or_create(
                declaration=decl,
                kind=kind,
                defaults={
                    "guid": head.guid,
                    "xml": xml,
                    "fields": document_fields(record),
                    "filed_at": now,
                },
            )
            _copy_keys(decl, kind, head)
            _check_quota_buyer(decl)
            decl.save()
            audit.record(
                ctx, "customs.document_filed", decl, after={"kind": kind, "guid": head.guid}
            )
            touched.append(decl)
        if kind != DocumentKind.INVENTORY:
            from ehub.customs.gateways import get_gateway

            gateway = gateway or get_gateway()
            gateway.submit(xml.encode("utf-8"))
        if declare_when_complete:
            for decl in touched:
                kinds = set(decl.documents.values_list("kind", flat=True))
                if all(k in kinds for k in NEEDED):
                    declare(ctx, decl, goods=goods, gateway=gateway)
    return touched


# -- declaring ---------------------------------------------------------------------------------


def documents_of(decl: Declaration) -> dict[str, Any]:
    """The declaration's parsed records by kind (order and list whole, payment/waybill heads)."""
    found: dict[str, Any] = {}
    for doc in decl.documents.all():
        message = from_xml(doc.xml.encode("utf-8"))
        for record in message.records:
            if _head(doc.kind, record).orderNo == decl.order_no:
                found[doc.kind] = _record(doc.kind, record)
                break
    return found


def gather_facts(order: d.Order, inventory: d.Inventory, decl: Declaration | None) -> Facts:
    """Tariff lines, registrations, identity and the buyer's history, from the database."""
    head = order.OrderHead
    day = clock.now().astimezone(BEIJING).date()
    rates = line_rates("CN", {line.gcode for line in inventory.InventoryList}, day)
    codes = {head.ebpCode, head.ebcCode, head.payCode, inventory.InventoryHead.logisticsCode}
    codes.add(inventory.InventoryHead.agentCode)
    registered = set(Enterprise.objects.filter(code__in=codes).values_list("code", flat=True))
    index = blind_index(head.buyerIdNumber)
    from ehub.accounts.models import BuyerProfile

    verified = BuyerProfile.objects.filter(id_number_index=index, id_verified=True).exists()
    quota = BuyerQuota.objects.filter(id_index=index, year=day.year).values_list("used", "reserved")
    used = sum(quota.first() or (0, 0))
    if decl is not None and decl.quota_key:
        from ehub.customs.models import QuotaReservation

        own = QuotaReservation.objects.filter(key=decl.quota_key, status="reserved")
        used -= sum(own.values_list("amount", flat=True))
    since = clock.now() - timedelta(days=HISTORY_DAYS)
    others = Declaration.objects.filter(created_at__gte=since)
    if decl is not None:
        others = others.exclude(pk=decl.pk)
    consignees = set(
        others.filter(buyer_id_index=index).values_list("consignee", flat=True).distinct()
    )
    consignees.add(head.consignee)
    ids = set(
        others.filter(address_index=_address_key(head.consigneeAddress))
        .values_list("buyer_id_index", flat=True)
        .distinct()
    )
    ids.add(index)
    from ehub.customs.services import reference_prices

    return Facts(
        rates=rates,
        registered=registered,
        buyer_verified=verified,
        quota_used=Money(max(used, 0), CNY),
        consignees_for_id=len(consignees),
        ids_for_address=len(ids),
        on=day,
        reference_prices=reference_prices(line.itemNo for line in inventory.InventoryList),
    )


def _transfer(decl: Declaration, inventory: d.Inventory) -> d.BaseTransfer:
    head = inventory.InventoryHead
    return d.BaseTransfer(
        copCode=head.agentCode, copName=head.agentName, dxpMode="DXP", dxpId="DXPEHUB000000001"
    )


def declare(
    ctx: Context,
    declaration: Declaration,
    *,
    goods: Mapping[str, ListGoods] | None = None,
    gateway=None,
) -> Declaration:
    """Declare the inventory list of ``declaration`` (idempotent: a declared one is returned)."""
    from ehub.customs import services as quota_services
    from ehub.customs.gateways import get_gateway

    with transaction.atomic():
        decl = Declaration.objects.select_for_update().get(pk=declaration.pk)
        if decl.status:
            return decl
        docs = documents_of(decl)
        missing = [str(DocumentKind(k).label) for k in NEEDED if k not in docs]
        if missing:
            raise DeclarationStateConflict(
                _("The declaration still needs: %(docs)s.") % {"docs": ", ".join(missing)}
            )
        order, payment, waybill = (docs[k] for k in NEEDED)
        inventory = docs.get(DocumentKind.INVENTORY)
        now = clock.now()
        if inventory is None:
            item_nos = [line.itemNo or line.itemName for line in order.OrderList]
            found = dict(goods) if goods else _catalog_goods(item_nos)
            inventory = build_inventory(decl, order, waybill, found, now=now)
            message = inventory_message(inventory, _transfer(decl, inventory))
            CustomsDocument.objects.create(
                declaration=decl,
                kind=DocumentKind.INVENTORY,
                guid=inventory.InventoryHead.guid,
                xml=to_xml(message).decode("utf-8"),
                fields=document_fields(inventory),
                filed_at=now,
            )
        else:
            message = inventory_message(inventory, _transfer(decl, inventory))
            decl.cop_no = inventory.InventoryHead.copNo or decl.cop_no
        facts = gather_facts(order, inventory, decl)
        result = evaluate(order, payment, waybill, inventory, facts)
        record_evaluation(decl, result)
        if result.clear and not decl.quota_key and result.tax.quota_amount.is_positive:
            key = f"customs:{decl.cop_no}"
            try:
                quota_services.reserve_quota(
                    ctx, order.OrderHead.buyerIdNumber, result.tax.quota_amount, key
                )
                decl.quota_key = key
            except quota_services.QuotaExceeded as exc:
                decl.mismatches.append(
                    {"code": "quota_exceeded", "message": str(exc.message), "paths": []}
                )
        decl.status = "3"  # sent
        decl.declared_at = decl.status_at = now
        decl.save()
        audit.record(
            ctx,
            "customs.declared",
            decl,
            after={"lane": decl.lane, "score": decl.risk_score, "mismatches": len(decl.mismatches)},
        )
        (gateway or get_gateway()).submit(to_xml(message))
    return decl


# -- receipts ----------------------------------------------------------------------------------

EVENT_OF = {"800": "customs.released", "100": "customs.rejected", "500": "customs.inspection"}


def decision_payload(decl: Declaration, status: str, info: str) -> dict[str, Any]:
    """The payload of the ``EVENT_OF`` events (per-call receipts and batches alike)."""
    return {
        "declaration": decl.public_id,
        "order_no": decl.order_no,
        "filing_org_id": decl.filing_org_id,
        "status": status,
        "info": info,
    }


def _time17(moment: datetime) -> str:
    """A receipt's ``returnTime``: YYYYMMDDhhmmss and milliseconds."""
    return _stamps(moment, moment.utcoffset())[2]


@functools.lru_cache(maxsize=64)
def _stamps(moment: datetime, offset: timedelta | None) -> tuple[str, str, str]:
    """``moment`` as YYYYMMDDhhmmss, YYYYMMDD and YYYYMMDDhhmmssSSS, remembered for the last
    few moments (a batch stamps all its lists and receipts with one). Equal aware datetimes
    can differ in zone, so the offset is part of the key."""
    time14 = moment.strftime("%Y%m%d%H%M%S")
    return time14, moment.strftime("%Y%m%d"), time14 + f"{moment.microsecond // 1000:03d}"


def _invt_no(decl: Declaration) -> str:
    """The list number customs gave, or the one the sandbox derives from the copNo."""
    return decl.invt_no or (CUSTOMS_CODE + decl.cop_no[-14:])


def inventory_return(
    decl: Declaration, status: str, info: str = "", *, now: datetime | None = None
) -> d.InventoryReturn:
    """One CEB622 answer for ``decl``, with a fresh guid."""
    moment = (now or clock.now()).astimezone(BEIJING)
    return d.InventoryReturn(
        guid=new_guid(),
        customsCode=CUSTOMS_CODE,
        ebpCode=decl.ebp_code,
        ebcCode=decl.ebc_code,
        agentCode=decl.ebp_code,
        copNo=decl.cop_no,
        preNo="",
        invtNo=_invt_no(decl),
        returnStatus=status,
        returnTime=_time17(moment),
        returnInfo=info[:1000],
    )


def receipt_message(
    decl: Declaration, status: str, info: str = "", *, now: datetime | None = None
) -> d.CEB622Message:
    """A CEB622 receipt for ``decl`` (what customs, or the officer console, answers)."""
    item = inventory_return(decl, status, info, now=now)
    return d.CEB622Message(guid=item.guid, InventoryReturn=[item])


RECEIPT_KINDS = {
    "CEB312Message": "CEB312",
    "CEB412Message": "CEB412",
    "CEB512Message": "CEB512",
    "CEB622Message": "CEB622",
    "CEB816Message": "CEB816",
}


def apply_receipt(ctx: Context, receipt: d.Message | bytes | str) -> list[Receipt]:
    """Keep a customs answer on its declaration's timeline; returns the new receipts (a repeated
    guid adds nothing). A CEB622 (inventory list) moves the declaration forward; the receipts
    of the order, payment and waybill (CEB312/412/512) and the tax bill (CEB816) are kept and
    delivered to webhooks but do not change the list's status."""
    parsed, xml = _parse(receipt)
    issues = validate(parsed)
    if issues:
        raise DocumentInvalid([FieldError(i.path, i.message, i.code) for i in issues])
    if parsed.ROOT not in RECEIPT_KINDS:
        raise DocumentInvalid(
            [
                FieldError(
                    parsed.ROOT,
                    _("Only customs receipts (CEB312, 412, 512, 622) and tax bills (CEB816)."),
                    "not_receipt",
                )
            ]
        )
    if not isinstance(parsed, d.CEB622Message):
        return _keep_side_receipts(ctx, parsed, xml)
    now = clock.now()
    kept: list[Receipt] = []
    with transaction.atomic():
        for item in parsed.InventoryReturn:
            decl = Declaration.objects.select_for_update().filter(cop_no=item.copNo).first()
            if decl is None:
                raise NotFound(
                    _("No declaration with copNo %(no)s.") % {"no": item.copNo}, field="copNo"
                )
            if decl.receipts.filter(guid=item.guid).exists():
                continue
            moved = status_moves_forward(decl.status or None, item.returnStatus)
            kept.append(
                Receipt.objects.create(
                    declaration=decl,
                    kind="CEB622",
                    guid=item.guid,
                    return_status=item.returnStatus,
                    return_time=item.returnTime,
                    return_info=item.returnInfo,
                    xml=xml,
                    received_at=now,
                    moved=moved,
                )
            )
            if moved:
                _advance(ctx, decl, item, now)
        webhooks.enqueue_receipt_deliveries(kept)
    return kept


def _declaration_for(item: Any) -> Declaration:
    """The declaration a document receipt or tax bill is about (locked), else NotFound."""
    query = Declaration.objects.select_for_update()
    if isinstance(item, d.OrderReturn):
        found = query.filter(order_no=item.orderNo, ebp_code=item.ebpCode).first()
        field, value = "orderNo", item.orderNo
    elif isinstance(item, d.PaymentReturn):
        found = (
            query.filter(pay_transaction_id=item.payTransactionId).first()
            or query.filter(
                documents__kind=DocumentKind.PAYMENT,
                documents__fields__PaymentHead__payTransactionId=item.payTransactionId,
            ).first()
        )
        field, value = "payTransactionId", item.payTransactionId
    elif isinstance(item, d.LogisticsReturn):
        found = query.filter(logistics_no=item.logisticsNo).first()
        field, value = "logisticsNo", item.logisticsNo
    else:  # TaxHeadRd
        found = (item.invtNo and query.filter(invt_no=item.invtNo).first()) or query.filter(
            order_no=item.orderNo, logistics_no=item.logisticsNo
        ).first()
        field, value = "invtNo", item.invtNo
    if found is None:
        raise NotFound(
            _("No declaration with %(field)s %(no)s.") % {"field": field, "no": value},
            field=field,
        )
    return found


def _tax_info(head: d.TaxHeadRd) -> str:
    return (
        f"taxNo {head.taxNo}: customsTax {_fmt(head.customsTax)}, valueAddedTax "
        f"{_fmt(head.valueAddedTax)}, consumptionTax {_fmt(head.consumptionTax)}"
    )


def _fmt(value: Decimal | None) -> str:
    return format(_cny(value).to_decimal(), "f")


def _keep_side_receipts(ctx: Context, parsed: d.Message, xml: str) -> list[Receipt]:
    kind = RECEIPT_KINDS[parsed.ROOT]
    now = clock.now()
    kept: list[Receipt] = []
    with transaction.atomic():
        for record in parsed.records:
            item = record.TaxHeadRd if isinstance(record, d.Tax) else record
            decl = _declaration_for(item)
            if decl.receipts.filter(guid=item.guid).exists():
                continue
            if isinstance(item, d.TaxHeadRd):
                status, info = item.status, _tax_info(item)
            else:
                status, info = item.returnStatus, item.returnInfo
            kept.append(
                Receipt.objects.create(
                    declaration=decl,
                    kind=kind,
                    guid=item.guid,
                    return_status=status,
                    return_time=item.returnTime,
                    return_info=info[:1000],
                    xml=xml,
                    received_at=now,
                    moved=False,
                )
            )
            if isinstance(item, d.TaxHeadRd):
                events.publish(
                    "customs.tax_assessed",
                    {
                        "declaration": decl.public_id,
                        "order_no": decl.order_no,
                        "filing_org_id": decl.filing_org_id,
                        "tax_no": item.taxNo,
                        "customs_tax_minor": _cny(item.customsTax).amount,
                        "vat_minor": _cny(item.valueAddedTax).amount,
                        "consumption_tax_minor": _cny(item.consumptionTax).amount,
                        "currency": CNY,
                    },
                    ctx=ctx,
                )
        webhooks.enqueue_receipt_deliveries(kept)
    return kept


def document_receipt_message(
    kind: str, head: Any, status: str, info: str = "", *, now: datetime | None = None
) -> d.Message:
    """Customs' CEB312/412/512 answer to a filed order, payment or waybill head."""
    moment = (now or clock.now()).astimezone(BEIJING)
    common = {
        "guid": new_guid(),
        "returnStatus": status,
        "returnTime": _time17(moment),
        "returnInfo": info[:1000],
    }
    if kind == DocumentKind.ORDER:
        item = d.OrderReturn(
            ebpCode=head.ebpCode, ebcCode=head.ebcCode, orderNo=head.orderNo, **common
        )
        return d.CEB312Message(guid=item.guid, OrderReturn=[item])
    if kind == DocumentKind.PAYMENT:
        item = d.PaymentReturn(
            payCode=head.payCode, payTransactionId=head.payTransactionId, **common
        )
        return d.CEB412Message(guid=item.guid, PaymentReturn=[item])
    if kind == DocumentKind.WAYBILL:
        item = d.LogisticsReturn(
            logisticsCode=head.logisticsCode, logisticsNo=head.logisticsNo, **common
        )
        return d.CEB512Message(guid=item.guid, LogisticsReturn=[item])
    raise ValueError(f"no document receipt for {kind}")


def _yuan(fen: int) -> Decimal:
    return Money(int(fen), CNY).to_decimal()


def tax_bill_message(decl: Declaration, *, now: datetime | None = None) -> d.CEB816Message:
    """The CEB816 tax bill of a released declaration, from its recomputed tax (per line; the
    head is the sum of the lines, as the bill requires)."""
    moment = (now or clock.now()).astimezone(BEIJING)
    listed = (
        decl.documents.filter(kind=DocumentKind.INVENTORY).values_list("fields", flat=True).first()
    ) or {}
    inv = listed.get("InventoryHead") or {}
    tax_lines = (decl.tax or {}).get("lines", [])
    lines = [
        d.TaxListRd(
            gnum=n,
            gcode=line["gcode"],
            taxPrice=_yuan(line["dutiable"]),
            customsTax=_yuan(line["duty"]),
            valueAddedTax=_yuan(line["vat"]),
            consumptionTax=_yuan(line["consumption_tax"]),
        )
        for n, line in enumerate(tax_lines, start=1)
    ]
    invt_no = _invt_no(decl)
    head = d.TaxHeadRd(
        guid=new_guid(),
        returnTime=_time17(moment),
        invtNo=invt_no,
        taxNo=f"{invt_no}01",
        customsTax=sum((ln.customsTax for ln in lines), Decimal("0.00")),
        valueAddedTax=sum((ln.valueAddedTax for ln in lines), Decimal("0.00")),
        consumptionTax=sum((ln.consumptionTax for ln in lines), Decimal("0.00")),
        status="1",
        assureCode=inv.get("assureCode") or decl.ebp_code,
        ebcCode=decl.ebc_code,
        logisticsCode=inv.get("logisticsCode", ""),
        agentCode=inv.get("agentCode") or decl.ebp_code,
        customsCode=inv.get("customsCode") or CUSTOMS_CODE,
        orderNo=decl.order_no,
        logisticsNo=decl.logistics_no,
    )
    return d.CEB816Message(guid=head.guid, Tax=[d.Tax(TaxHeadRd=head, TaxListRd=lines)])


def _advance(ctx: Context, decl: Declaration, item: d.InventoryReturn, now: datetime) -> None:
    from ehub.customs import services as quota_services

    before = decl.status
    decl.status = item.returnStatus
    decl.status_at = now
    decl.return_info = item.returnInfo
    if item.invtNo:
        decl.invt_no = item.invtNo
    if item.returnStatus == "800":
        decl.released_at = now
        if decl.quota_key:
            quota_services.confirm_quota(ctx, decl.quota_key)
    elif item.returnStatus == "100" and decl.quota_key:
        quota_services.release_quota(ctx, decl.quota_key)
    decl.save()
    audit.record(
        ctx,
        "customs.status_changed",
        decl,
        before={"status": before},
        after={"status": decl.status, "info": item.returnInfo},
    )
    name = EVENT_OF.get(item.returnStatus)
    if name:
        events.publish(name, decision_payload(decl, decl.status, item.returnInfo), ctx=ctx)


# -- officer decisions -------------------------------------------------------------------------


def _officer_action(ctx: Context, declaration: Declaration, reason: str, status: str, verb: str):
    if ctx.org_kind != CUSTOMS_AUTHORITY:
        raise PermissionDenied(_("Only a customs authority decides on declarations."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.single("reason", _("Give the reason for this decision."), "required")
    if len(reason) > 900:
        raise ValidationFailed.single("reason", _("Keep the reason under 900 characters."))
    with transaction.atomic():
        decl = Declaration.objects.select_for_update().get(pk=declaration.pk)
        if not decl.status or decl.status in FINAL_RETURN_STATUSES or decl.status == "800":
            raise DeclarationStateConflict(
                _("This declaration cannot be decided now (status %(status)s).")
                % {"status": decl.status or "—"},
                field="reason",
            )
        if not status_moves_forward(decl.status, status):
            raise DeclarationStateConflict(
                _("The declaration is already past this step."), field="reason"
            )
        audit.record(ctx, f"customs.officer_{verb}", decl, after={"reason": reason})
        apply_receipt(ctx, to_xml(receipt_message(decl, status, reason)))
        decl.refresh_from_db()
        if status == "800":  # customs bills the tax of what it released
            apply_receipt(ctx, to_xml(tax_bill_message(decl)))
    return decl


def release(ctx: Context, declaration: Declaration, reason: str) -> Declaration:
    """The officer releases the goods (800)."""
    return _officer_action(ctx, declaration, reason, "800", "released")


def inspect(ctx: Context, declaration: Declaration, reason: str) -> Declaration:
    """The officer orders a physical inspection (500)."""
    return _officer_action(ctx, declaration, reason, "500", "inspected")


def reject(ctx: Context, declaration: Declaration, reason: str) -> Declaration:
    """The officer rejects the declaration (100, final)."""
    return _officer_action(ctx, declaration, reason, "100", "rejected")


# -- reading -----------------------------------------------------------------------------------

QUEUE_STATUSES = ("3", "120", "300", "399", "500", "501", "502", "503", "599")


def officer_queue(lane: str = "", status: str = ""):
    """Declarations waiting for an officer: amber/red lanes and inspections, oldest first."""
    from django.db.models import Q

    query = Declaration.objects.filter(status__in=QUEUE_STATUSES).filter(
        Q(lane__in=("amber", "red")) | Q(status__in=("500", "501", "502", "503", "599"))
    )
    if lane:
        query = query.filter(lane=lane)
    if status:
        query = query.filter(status=status)
    return query.select_related("filing_org").order_by("declared_at", "pk")


def declarations_of(ctx: Context):
    """The filing organization's own declarations, newest first."""
    if ctx.org is None:
        return Declaration.objects.none()
    return Declaration.objects.filter(filing_org=ctx.org).order_by("-created_at", "-pk")


def declaration_of(ctx: Context, public_id: str) -> Declaration:
    """One declaration visible to ``ctx``: its filer's, or any for a customs authority."""
    query = Declaration.objects.filter(public_id=public_id)
    if ctx.org_kind != CUSTOMS_AUTHORITY:
        query = query.filter(filing_org_id=ctx.org_id) if ctx.org is not None else query.none()
    found = query.first()
    if found is None:
        raise NotFound(_("No such declaration."))
    return found


def lane_counts() -> dict[str, int]:
    rows = officer_queue().values("lane").annotate(n=Count("pk"))
    return {row["lane"]: row["n"] for row in rows}
