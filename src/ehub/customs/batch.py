"""Clearing many cross-border orders at once: ``clear_batch(ctx, messages) -> BatchResult``.

The per-call path (``declarations.file_document`` → ``declare`` → the sandbox's receipts) costs
dozens of queries per order. A platform that files a day's orders in bulk, and the clearance
benchmark, go through this module instead: one transaction per batch that

1. parses and validates every message (XML or parsed), refusing a bad one with every element
   path, exactly as ``file_document`` would (the order's other documents are still filed);
2. loads the facts of the whole batch in a handful of queries (tariff lines, registered
   enterprises, verified buyers, the buyers' quota rows *locked* in primary-key order, and the
   30-day history of consignees per ID number and ID numbers per address);
3. runs the pure rules per declaration (``declarations.evaluate``: matching, tax, risk) and the
   sandbox customs' decision (``gateways.sandbox_answers``), keeping quota and history running
   in memory so the 10th order of a buyer in one batch sees the first nine;
4. writes declarations, documents, receipts and quota reservations as plain rows
   (``core.db.insert_rows``: COPY on PostgreSQL), the quota rows with one UPDATE, and one audit
   entry for the batch.

Per order nothing goes through the ORM: declarations are filled in as ``_Draft`` objects and
quota rows as ``_Quota`` (a model instance per order cost more than the rules). The codec,
validator, tax and screen it calls have their own fast paths (see their modules).

Decisions are those of the per-call path (tested side by side). What differs: a batch takes only
orders not filed before (an orderNo already on file is refused with ``already_filed``), the
receipts are written at once instead of by a delayed task, and the audit log gets one entry
per batch rather than one per step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from ehub.catalog.tariff import line_rates
from ehub.core import audit, clock, events
from ehub.core.context import Context
from ehub.core.db import insert_rows
from ehub.core.errors import PermissionDenied
from ehub.core.fields import encrypt
from ehub.core.money import Money
from ehub.customs import declarations as D
from ehub.customs import webhooks
from ehub.customs.domain import documents as d
from ehub.customs.domain.limits import BEIJING, limits_on
from ehub.customs.domain.risk import shipped_screen
from ehub.customs.domain.xmlcodec import MessageFormatError, to_xml
from ehub.customs.gateways import sandbox_answers
from ehub.customs.models import (
    BuyerQuota,
    CustomsDocument,
    Declaration,
    DocumentKind,
    Enterprise,
    QuotaReservation,
    QuotaStatus,
    Receipt,
)
from ehub.customs.services import reference_prices

CNY = "CNY"


@dataclass(frozen=True)
class RefusedDocument:
    """A message (or one record of it) the batch did not file, and why."""

    index: int  # position in the batch
    root: str  # e.g. CEB311Message ("" when unreadable)
    order_no: str
    errors: tuple[dict[str, str], ...]  # {"path", "code", "message"}


@dataclass(frozen=True)
class Outcome:
    """What became of one order of the batch."""

    order_no: str
    declaration: str  # public id
    status: str  # "" documents incomplete, else the last returnStatus
    lane: str
    reasons: tuple[str, ...]  # mismatch codes (why it was rejected)


@dataclass
class BatchResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    refused: list[RefusedDocument] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)

    @property
    def declared(self) -> int:
        return sum(1 for o in self.outcomes.values() if o.status)

    @property
    def released(self) -> int:
        return self.count("800")

    @property
    def rejected(self) -> int:
        return self.count("100")

    @property
    def waiting(self) -> int:
        """Orders whose documents are not all in (nothing declared yet)."""
        return self.count("")


class _MemoScreen:
    """The restricted-party screen, remembering each name's answer: in a batch the same buyer,
    consignee and seller names come back again and again, and fuzzy matching is the costliest
    rule."""

    def __init__(self) -> None:
        self._screen = shipped_screen()
        self._seen: dict[str, Any] = {}

    def hit(self, name: str):
        try:
            return self._seen[name]
        except KeyError:
            found = self._seen[name] = self._screen.hit(name)
            return found


class _Draft:
    """A new declaration as the batch fills it in: the attributes of an unsaved ``Declaration``
    (its field defaults, ``filing_org_id``, ``pk`` once written) without building a model
    instance per order. The declaration helpers (``_copy_keys``, ``build_inventory``,
    ``record_evaluation``, ``inventory_return``...) read and set the same attribute names."""

    def __init__(self, defaults: dict[str, Any], filing_org_id: int, order_no: str, now) -> None:
        self.__dict__.update(defaults)
        self.risk_reasons, self.mismatches, self.tax = [], [], {}  # fresh mutable defaults
        self.public_id, self.cop_no = D.new_declaration_ids()
        self.filing_org_id = filing_org_id
        self.order_no = order_no
        self.created_at = now
        self.pk = None


def _declaration_defaults() -> dict[str, Any]:
    return {
        field.attname: field.get_default()
        for field in Declaration._meta.concrete_fields
        if not field.primary_key
    }


@dataclass
class _Order:
    order_no: str
    docs: dict[str, tuple[Any, str, str]] = field(
        default_factory=dict
    )  # kind → (record, xml, guid)


def _issues(errors) -> tuple[dict[str, str], ...]:
    return tuple(i.as_dict() for i in errors)


def _collect(messages: Sequence[d.Message | bytes | str], result: BatchResult):
    """Parse and validate; group the valid records by orderNo (first appearance first)."""
    orders: dict[str, _Order] = {}
    for index, message in enumerate(messages):
        try:
            parsed, xml = D._parse(message)
        except MessageFormatError as exc:
            result.refused.append(RefusedDocument(index, "", "", _issues(exc.issues)))
            continue
        issues = D.filing_issues(parsed)
        order_no = ""
        records = parsed.records
        if records and parsed.ROOT in D.FILEABLE:
            order_no = D._head(D.FILEABLE[parsed.ROOT], records[0]).orderNo or ""
        if issues:
            result.refused.append(RefusedDocument(index, parsed.ROOT, order_no, _issues(issues)))
            continue
        kind = D.FILEABLE[parsed.ROOT]
        for record in parsed.records:
            head = D._head(kind, record)
            entry = orders.setdefault(head.orderNo, _Order(head.orderNo))
            entry.docs[kind] = (record, xml, head.guid)
    return orders


def _window_history(indexes: set[str], addresses: set[str], since):
    consignees: dict[str, set[str]] = {}
    ids: dict[str, set[str]] = {}
    recent = Declaration.objects.filter(created_at__gte=since)
    for index, consignee in (
        recent.filter(buyer_id_index__in=indexes).values_list("buyer_id_index", "consignee")
    ).distinct():
        consignees.setdefault(index, set()).add(consignee)
    for address, index in (
        recent.filter(address_index__in=addresses).values_list("address_index", "buyer_id_index")
    ).distinct():
        ids.setdefault(address, set()).add(index)
    return consignees, ids


class _Quota:
    """A locked ``BuyerQuota`` row, as the batch reads and updates it."""

    __slots__ = ("pk", "reserved", "updated_at", "used")

    def __init__(self, pk: int, used: int, reserved: int, updated_at) -> None:
        self.pk, self.used, self.reserved, self.updated_at = pk, used, reserved, updated_at


def _lock_quotas(indexes: set[str], year: int, now) -> dict[str, _Quota]:
    """The buyers' quota rows for ``year``, created if missing and locked in pk order (two
    batches sharing buyers then wait for each other instead of deadlocking)."""
    if not indexes:
        return {}
    meta = BuyerQuota._meta
    table = _qn(meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    index_col, year_col = (_qn(meta.get_field(name).column) for name in ("id_index", "year"))
    # Only quoted names are interpolated; values are parameters. ON CONFLICT DO NOTHING is what
    # bulk_create(ignore_conflicts=True) sends.
    insert = f"INSERT INTO {table} ({index_col}, {year_col}, used, reserved, updated_at) "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for the batch (one per buyer cost PostgreSQL ~20 µs each).
            cursor.execute(
                insert  # noqa: S608
                + "SELECT i, %s, 0, 0, %s FROM unnest(%s::text[]) AS i ON CONFLICT DO NOTHING",
                [year, at, sorted(indexes)],
            )
        else:
            cursor.executemany(
                insert + "VALUES (%s, %s, 0, 0, %s) ON CONFLICT DO NOTHING",
                [(i, year, at) for i in sorted(indexes)],
            )
    rows = (
        BuyerQuota.objects.select_for_update()
        .filter(id_index__in=indexes, year=year)
        .order_by("pk")
        .values_list("id_index", "pk", "used", "reserved", "updated_at")
    )
    return {
        index: _Quota(pk, used, reserved, updated) for index, pk, used, reserved, updated in rows
    }


def _save_quotas(quotas: Sequence[_Quota]) -> None:
    """Write the changed quota rows (locked by this transaction): on PostgreSQL one UPDATE
    from arrays, elsewhere one executemany (``bulk_update`` builds a CASE per column and was
    the slowest statement of a batch)."""
    if not quotas:
        return
    table = _qn(BuyerQuota._meta.db_table)
    with connection.cursor() as cursor:
        # Only the quoted table name is interpolated; values are parameters.
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS q SET used = v.used, reserved = v.reserved, "  # noqa: S608
                "updated_at = v.updated_at FROM unnest(%s::bigint[], %s::bigint[], "
                "%s::bigint[], %s::timestamptz[]) AS v(id, used, reserved, updated_at) "
                "WHERE q.id = v.id",
                [
                    [q.pk for q in quotas],
                    [q.used for q in quotas],
                    [q.reserved for q in quotas],
                    [q.updated_at for q in quotas],
                ],
            )
            return
        cursor.executemany(
            f"UPDATE {table} SET used = %s, reserved = %s, updated_at = %s WHERE id = %s",  # noqa: S608
            [(q.used, q.reserved, q.updated_at, q.pk) for q in quotas],
        )


def _receipts(decl: _Draft, answers, now) -> tuple[list[tuple], str]:
    """One CEB622 message holding every answer of the sandbox customs, kept as receipts:
    (declaration, guid, returnStatus, returnTime, returnInfo, xml) per answer."""
    returns = [D.inventory_return(decl, status, info, now=now) for status, info in answers]
    xml = to_xml(d.CEB622Message(guid=returns[0].guid, InventoryReturn=returns)).decode("utf-8")
    rows = [
        (decl, item.guid, item.returnStatus, item.returnTime, item.returnInfo, xml)
        for item in returns
    ]
    return rows, returns[0].invtNo


# -- writing in bulk ---------------------------------------------------------------------------
# The ORM's bulk_create builds and compiles every row's SQL in Python and was most of a batch's
# time. Rows are written here as plain tuples with ``ehub.core.db.insert_rows`` (COPY on
# PostgreSQL, one executemany on SQLite). Values are prepared once per batch where they repeat
# (the batch's single timestamp) and per field kind otherwise (JSON text, ciphertext).


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _ids_by(model, key: str, values: Sequence[str]) -> dict[str, int]:
    """``key`` value → primary key of the rows just inserted (one query per 900 keys)."""
    found: dict[str, int] = {}
    table, column = _qn(model._meta.db_table), _qn(model._meta.get_field(key).column)
    with connection.cursor() as cursor:
        for i in range(0, len(values), 900):
            chunk = list(values[i : i + 900])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                # Only quoted names are interpolated; values are parameters.
                f"SELECT {column}, id FROM {table} WHERE {column} IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update(cursor.fetchall())
    return found


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` with one encoder for
    all (``dumps`` with options builds a new encoder per call)."""
    return _ENCODER.encode(value)


_DECLARATION_FIELDS = (
    "public_id",
    "cop_no",
    "filing_org",
    "order_no",
    "ebp_code",
    "ebc_code",
    "logistics_no",
    "pay_transaction_id",
    "buyer_name",
    "buyer_id_masked",
    "buyer_id_index",
    "consignee",
    "address_index",
    "status",
    "lane",
    "risk_score",
    "risk_reasons",
    "mismatches",
    "regime",
    "tax",
    "dutiable",
    "tax_total",
    "quota_key",
    "invt_no",
    "return_info",
    "created_at",
    "declared_at",
    "status_at",
    "released_at",
)
_JSON_FIELDS = frozenset({"risk_reasons", "mismatches", "tax"})
_TIME_FIELDS = frozenset({"created_at", "declared_at", "status_at", "released_at"})


def _write_declarations(decls: Sequence[_Draft], stamp) -> None:
    """Insert the declarations and give each its primary key."""
    rows = []
    for decl in decls:
        row = []
        for name in _DECLARATION_FIELDS:
            value = getattr(decl, "filing_org_id" if name == "filing_org" else name)
            if name in _JSON_FIELDS:
                value = _json(value)
            elif name in _TIME_FIELDS:
                value = stamp(value)
            row.append(value)
        rows.append(tuple(row))
    insert_rows(Declaration, _DECLARATION_FIELDS, rows)
    ids = _ids_by(Declaration, "cop_no", [decl.cop_no for decl in decls])
    for decl in decls:
        decl.pk = ids[decl.cop_no]


def _publish_decisions(ctx: Context, answered) -> None:
    """``customs.released`` / ``rejected`` / ``inspection`` for each decided declaration, written
    together in the batch's transaction (``events.publish_many``)."""
    events.publish_many(
        (
            (D.EVENT_OF[final], D.decision_payload(decl, final, info))
            for decl, final, info in answered
            if final in D.EVENT_OF
        ),
        ctx=ctx,
    )


def clear_batch(
    ctx: Context,
    messages: Sequence[d.Message | bytes | str],
    *,
    goods: Mapping[str, D.ListGoods] | None = None,
    inspection_rate: float | None = None,
) -> BatchResult:
    """File, declare and clear the orders in ``messages`` for ``ctx.org`` in one transaction.
    ``inspection_rate`` overrides the sandbox's random inspection rate (the demo raises it)."""
    if ctx.org is None:
        raise PermissionDenied(_("File documents as an organization."))
    result = BatchResult()
    orders = _collect(messages, result)
    if not orders:
        return result
    now = clock.now()
    day = now.astimezone(BEIJING).date()
    limit = limits_on(day).annual.amount
    with transaction.atomic():
        taken = set(
            Declaration.objects.filter(filing_org=ctx.org, order_no__in=list(orders)).values_list(
                "order_no", flat=True
            )
        )
        for order_no in sorted(taken):
            del orders[order_no]
            message = _("Order %(no)s is already on file; a batch takes new orders only.") % {
                "no": order_no
            }
            result.refused.append(
                RefusedDocument(
                    -1,
                    "",
                    order_no,
                    ({"path": "orderNo", "code": "already_filed", "message": str(message)},),
                )
            )
        complete = [o for o in orders.values() if all(k in o.docs for k in D.NEEDED)]
        # -- facts of the whole batch, in bulk ---------------------------------------------------
        item_nos = {
            line.itemNo or line.itemName
            for o in complete
            for line in o.docs[DocumentKind.ORDER][0].OrderList
        }
        found_goods = dict(goods) if goods is not None else D._catalog_goods(sorted(item_nos))
        inventories: dict[str, d.Inventory] = {}
        decls: dict[str, _Draft] = {}
        defaults = _declaration_defaults()
        for o in orders.values():
            decl = _Draft(defaults, ctx.org.pk, o.order_no, now)
            for kind, (record, _xml, _guid) in o.docs.items():
                D._copy_keys(decl, kind, D._head(kind, record))
            decls[o.order_no] = decl
        for o in complete:
            filed = o.docs.get(DocumentKind.INVENTORY)
            if filed is not None:
                inventories[o.order_no] = filed[0]
                decls[o.order_no].cop_no = filed[0].InventoryHead.copNo or decls[o.order_no].cop_no
            else:
                inventories[o.order_no] = D.build_inventory(
                    decls[o.order_no],
                    o.docs[DocumentKind.ORDER][0],
                    o.docs[DocumentKind.WAYBILL][0].LogisticsHead,
                    found_goods,
                    now=now,
                )
        gcodes = {line.gcode for inv in inventories.values() for line in inv.InventoryList}
        rates = line_rates("CN", gcodes, day)
        codes: set[str] = set()
        for o in complete:
            head = o.docs[DocumentKind.ORDER][0].OrderHead
            inv_head = inventories[o.order_no].InventoryHead
            codes |= {head.ebpCode, head.ebcCode, head.payCode}
            codes |= {inv_head.logisticsCode, inv_head.agentCode}
        registered = set(Enterprise.objects.filter(code__in=codes).values_list("code", flat=True))
        buyers = {decls[o.order_no].buyer_id_index for o in complete}
        addresses = {decls[o.order_no].address_index for o in complete}
        from ehub.accounts.models import BuyerProfile

        verified = set(
            BuyerProfile.objects.filter(id_number_index__in=buyers, id_verified=True).values_list(
                "id_number_index", flat=True
            )
        )
        consignees, ids = _window_history(buyers, addresses, now - timedelta(days=D.HISTORY_DAYS))
        quotas = _lock_quotas(buyers, day.year, now)
        references = reference_prices(
            {line.itemNo for inv in inventories.values() for line in inv.InventoryList}, at=now
        )
        screen = _MemoScreen()
        tariff = D.tariff_facts(rates)
        # -- the rules, one declaration at a time (pure) ----------------------------------------
        receipts: list[tuple] = []
        reservations: list[tuple[str, int, int, bool]] = []  # key, quota, amount, released
        answered: list[tuple[_Draft, str, str]] = []
        changed: set[str] = set()
        for o in complete:
            decl = decls[o.order_no]
            order = o.docs[DocumentKind.ORDER][0]
            payment = o.docs[DocumentKind.PAYMENT][0].PaymentHead
            waybill = o.docs[DocumentKind.WAYBILL][0].LogisticsHead
            inventory = inventories[o.order_no]
            index, address = decl.buyer_id_index, decl.address_index
            quota = quotas[index]
            seen_consignees = consignees.setdefault(index, set())
            seen_ids = ids.setdefault(address, set())
            facts = D.Facts(
                rates=rates,
                registered=registered,
                buyer_verified=index in verified,
                quota_used=Money(quota.used + quota.reserved, CNY),
                consignees_for_id=len(seen_consignees | {decl.consignee}),
                ids_for_address=len(seen_ids | {index}),
                on=day,
                reference_prices=references,
                tariff=tariff,
            )
            evaluation = D.evaluate(order, payment, waybill, inventory, facts, screen=screen)
            seen_consignees.add(decl.consignee)
            seen_ids.add(index)
            mismatches = [m.as_dict() for m in evaluation.mismatches]
            amount = evaluation.tax.quota_amount.amount
            hold = evaluation.clear and amount > 0
            if hold and quota.used + quota.reserved + amount > limit:
                # compute_tax already refuses past the limit; this is the backstop.
                mismatches.append(
                    {"code": "quota_exceeded", "message": "annual limit", "paths": []}
                )
                hold = False
            answers = sandbox_answers(evaluation, o.order_no, rate=inspection_rate)
            final, info = answers[-1]
            D.record_evaluation(decl, evaluation)
            decl.mismatches = mismatches
            decl.status = final
            decl.return_info = info
            decl.declared_at = decl.status_at = now
            if final == "800":
                decl.released_at = now
            if hold:
                decl.quota_key = f"customs:{decl.cop_no}"
                released = final == "800"
                reservations.append((decl.quota_key, quota.pk, amount, released))
                if released:
                    quota.used += amount
                else:
                    quota.reserved += amount
                quota.updated_at = now
                changed.add(index)
            rows, decl.invt_no = _receipts(decl, answers, now)
            receipts.extend(rows)
            answered.append((decl, final, info))
        # -- persist, in bulk -------------------------------------------------------------------
        adapted: dict[Any, Any] = {}

        def stamp(moment):
            # One timestamp per batch: adapt it to the database once.
            if moment is None:
                return None
            try:
                return adapted[moment]
            except KeyError:
                value = adapted[moment] = connection.ops.adapt_datetimefield_value(moment)
                return value

        at = stamp(now)
        _write_declarations(list(decls.values()), stamp)
        documents: list[tuple] = []
        for o in orders.values():
            decl = decls[o.order_no]
            for kind, (record, xml, guid) in o.docs.items():
                documents.append(
                    (decl.pk, kind, guid, encrypt(xml), _json(D.document_fields(record)), at)
                )
            inventory = inventories.get(o.order_no)
            if inventory is not None and DocumentKind.INVENTORY not in o.docs:
                message = D.inventory_message(inventory, D._transfer(decl, inventory))
                documents.append(
                    (
                        decl.pk,
                        DocumentKind.INVENTORY,
                        inventory.InventoryHead.guid,
                        encrypt(to_xml(message).decode("utf-8")),
                        _json(D.document_fields(inventory)),
                        at,
                    )
                )
        insert_rows(
            CustomsDocument,
            ("declaration", "kind", "guid", "xml", "fields", "filed_at"),
            documents,
        )
        insert_rows(
            Receipt,
            (
                "declaration",
                "kind",
                "guid",
                "return_status",
                "return_time",
                "return_info",
                "xml",
                "received_at",
                "moved",
            ),
            # moved: a fresh declaration, so each answer is further on than the last.
            [
                (decl.pk, "CEB622", guid, status, time, info, xml, at, True)
                for decl, guid, status, time, info, xml in receipts
            ],
        )
        # Filing platforms that registered a webhook hear of every receipt (one query if none).
        if webhooks.has_endpoints(ctx.org_id):
            stored = Receipt.objects.filter(
                declaration_id__in=[decl.pk for decl in decls.values()]
            ).select_related("declaration")
            webhooks.enqueue_receipt_deliveries(list(stored))
        insert_rows(
            QuotaReservation,
            ("key", "quota", "amount", "status", "created_at", "confirmed_at"),
            [
                (
                    key,
                    quota_pk,
                    amount,
                    QuotaStatus.CONFIRMED if released else QuotaStatus.RESERVED,
                    at,
                    at if released else None,
                )
                for key, quota_pk, amount, released in reservations
            ],
        )
        _save_quotas([quotas[i] for i in sorted(changed)])
        _publish_decisions(ctx, answered)
        for decl in decls.values():
            result.outcomes[decl.order_no] = Outcome(
                order_no=decl.order_no,
                declaration=decl.public_id,
                status=decl.status,
                lane=decl.lane,
                reasons=tuple(m["code"] for m in decl.mismatches),
            )
        audit.record(
            ctx,
            "customs.batch_cleared",
            after={
                "orders": len(decls),
                "declared": result.declared,
                "released": result.released,
                "rejected": result.rejected,
                "waiting": result.waiting,
                "refused_documents": len(result.refused),
            },
        )
    return result
