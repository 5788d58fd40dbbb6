"""Batch clearance: the same decisions as the per-call path, every bad document caught."""

from __future__ import annotations

import pytest

from ehub.catalog.tariff import line_rates
from ehub.core import clock
from ehub.core.errors import PermissionDenied
from ehub.core.models import AuditEntry
from ehub.customs import batch, declarations, gateways, synthetic
from ehub.customs.domain.limits import BEIJING
from ehub.customs.domain.xmlcodec import from_xml, to_xml
from ehub.customs.models import (
    BuyerQuota,
    CustomsDocument,
    Declaration,
    Enterprise,
    QuotaReservation,
    Receipt,
)


@pytest.fixture
def world(customs_world):
    for code, name in synthetic.REGISTERED:
        Enterprise.objects.get_or_create(code=code, defaults={"name": name})
    return customs_world


def _orders(n, seed=7, bad_share=0.3):
    day = clock.now().astimezone(BEIJING).date()
    rates = line_rates("CN", synthetic.GCODES, day)
    return synthetic.generate(n, seed=seed, rates=rates, bad_share=bad_share)


def _messages(orders, xml=False):
    out = []
    for o in orders:
        out.extend(to_xml(m) if xml else m for m in o.messages)
    return out


def _per_call(ctx, orders):
    """File each order's documents one call at a time, declare, let the sandbox answer."""
    goods = synthetic.goods_mapping()
    found = {}
    for o in orders:
        touched = []
        refused = None
        for message in o.messages:
            try:
                touched = declarations.file_document(
                    ctx, message, goods=goods, declare_when_complete=False
                )
            except declarations.DocumentInvalid as exc:
                refused = tuple(e.code for e in exc.errors)
        decl = Declaration.objects.get(filing_org=ctx.org, order_no=o.order_no)
        if refused is None and touched:
            recorder = gateways.RecordingGateway()
            decl = declarations.declare(ctx, decl, goods=goods, gateway=recorder)
            xml = recorder.sent[0].decode("utf-8")
            for status, info in gateways.sandbox_decide(xml):
                declarations.apply_receipt(
                    ctx, to_xml(declarations.receipt_message(decl, status, info))
                )
            decl.refresh_from_db()
        found[o.order_no] = (
            decl.status,
            decl.lane,
            tuple(m["code"] for m in decl.mismatches),
            decl.tax_total,
            refused,
        )
    return found


def _wipe():
    Declaration.objects.all().delete()
    QuotaReservation.objects.all().delete()
    BuyerQuota.objects.all().delete()


def test_the_batch_decides_as_the_per_call_path_does(world):
    orders = _orders(40)
    assert {o.flaw for o in orders} >= {None, "over_annual_limit", "amount_paid"}
    expected = _per_call(world.ctx, orders)
    # The sample holds releases, rejections and a refused document, not one kind only.
    assert {"800", "100", ""} <= {e[0] for e in expected.values()}
    used_per_call = sorted(BuyerQuota.objects.values_list("id_index", "used", "reserved"))
    _wipe()

    result = batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())

    refused = {r.order_no: tuple(e["code"] for e in r.errors) for r in result.refused}
    for o in orders:
        outcome = result.outcomes[o.order_no]
        decl = Declaration.objects.get(public_id=outcome.declaration)
        got = (
            outcome.status,
            outcome.lane,
            outcome.reasons,
            decl.tax_total,
            refused.get(o.order_no),
        )
        assert got == expected[o.order_no], o.order_no
    used_batch = sorted(
        (i, u, r)
        for i, u, r in BuyerQuota.objects.values_list("id_index", "used", "reserved")
        if u or r
    )
    assert used_batch == [row for row in used_per_call if row[1] or row[2]]


def test_every_bad_document_is_caught_with_its_reason(world):
    orders = _orders(120, seed=11, bad_share=0.25)
    flaws = {o.flaw for o in orders if o.flaw}
    assert flaws == set(synthetic.FLAWS)  # each kind of spoiling is exercised
    result = batch.clear_batch(
        world.ctx, _messages(orders, xml=True), goods=synthetic.goods_mapping()
    )
    refused = {r.order_no: {e["code"] for e in r.errors} for r in result.refused}
    for o in orders:
        outcome = result.outcomes[o.order_no]
        if o.expect is None:
            assert outcome.status in {"120", "500", "800"}, (o.order_no, outcome)
            assert outcome.reasons == ()
        elif o.expect[0] == "refused":
            assert o.expect[1] in refused[o.order_no]
            assert outcome.status == ""  # the order waits for a corrected document
        else:
            assert outcome.status == "100" and o.expect[1] in outcome.reasons, outcome
    assert result.declared + result.waiting == len(orders)


def test_the_batch_persists_documents_receipts_quota_and_one_audit_entry(world):
    orders = [o for o in _orders(30, seed=3, bad_share=0) if o.flaw is None][:10]
    result = batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
    assert result.declared == 10 and not result.refused
    decls = Declaration.objects.filter(filing_org=world.platform)
    assert decls.count() == 10
    assert CustomsDocument.objects.filter(declaration__in=decls).count() == 40
    released = decls.filter(status="800")
    assert released.exists()
    for decl in released:
        statuses = list(decl.receipts.values_list("return_status", flat=True))
        assert statuses == ["120", "399", "800"]
        assert decl.released_at is not None and decl.invt_no
        reservation = QuotaReservation.objects.get(key=decl.quota_key)
        assert reservation.status == "confirmed" and reservation.amount == decl.dutiable
    # The stored list and receipts are real CEB XML that reads back.
    doc = CustomsDocument.objects.filter(kind="CEB621").first()
    assert from_xml(doc.xml.encode()).Inventory[0].InventoryHead.copNo == doc.declaration.cop_no
    assert from_xml(Receipt.objects.first().xml.encode()).ROOT == "CEB622Message"
    assert AuditEntry.objects.filter(action="customs.batch_cleared").count() == 1
    # The declarations serve the officer console like any other.
    assert declarations.declaration_of(world.ctx, decls.first().public_id)


def test_orders_already_on_file_are_refused_and_nothing_is_doubled(world):
    orders = [o for o in _orders(10, seed=5, bad_share=0)][:3]
    batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
    again = batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
    assert again.outcomes == {}
    assert {r.order_no for r in again.refused} == {o.order_no for o in orders}
    assert {e["code"] for r in again.refused for e in r.errors} == {"already_filed"}
    assert Declaration.objects.count() == 3


def test_malformed_xml_is_refused_with_its_problem_and_the_rest_clears(world):
    orders = _orders(2, seed=9, bad_share=0)
    messages = [b"<not-xml", *_messages(orders, xml=True)]
    result = batch.clear_batch(world.ctx, messages, goods=synthetic.goods_mapping())
    assert result.refused[0].index == 0 and result.refused[0].errors
    assert result.declared == 2


def test_a_message_that_cannot_be_filed_is_refused_as_file_document_refuses_it(world):
    orders = _orders(1, seed=9, bad_share=0)
    head = orders[0].messages[0].Order[0].OrderHead
    decl = declarations.new_declaration(world.platform, "ORD-RECEIPT-ONLY", clock.now())
    decl.ebp_code, decl.ebc_code = head.ebpCode, head.ebcCode  # a valid receipt, not fileable
    receipt = declarations.receipt_message(decl, "120")
    with pytest.raises(declarations.DocumentInvalid) as caught:
        declarations.file_document(world.ctx, receipt)
    expected = tuple({"path": e.field, "code": e.code, "message": str(e.message)}
                     for e in caught.value.errors)  # fmt: skip
    result = batch.clear_batch(
        world.ctx, [receipt, *_messages(orders)], goods=synthetic.goods_mapping()
    )
    assert [(r.index, r.root, r.errors) for r in result.refused] == [(0, "CEB622Message", expected)]
    assert expected[0]["code"] == "not_fileable"
    assert result.declared == 1


def test_missing_documents_leave_the_order_waiting(world):
    (o,) = _orders(1, seed=13, bad_share=0)
    result = batch.clear_batch(world.ctx, list(o.messages[:2]), goods=synthetic.goods_mapping())
    assert result.outcomes[o.order_no].status == "" and result.waiting == 1
    assert CustomsDocument.objects.count() == 2


def test_another_organization_cannot_see_batch_declarations(world):
    orders = _orders(1, seed=17, bad_share=0)
    result = batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
    public_id = result.outcomes[orders[0].order_no].declaration
    from ehub.core.errors import NotFound

    with pytest.raises(NotFound):
        declarations.declaration_of(world.other_ctx, public_id)


def test_a_batch_needs_an_organization(world):
    from ehub.core.context import Context

    with pytest.raises(PermissionDenied):
        batch.clear_batch(Context.system(), [])


def test_batch_receipts_are_queued_for_the_filing_platforms_webhook(world):
    from ehub.customs import webhooks
    from ehub.customs.models import WebhookDelivery

    endpoint, _secret = webhooks.add_endpoint(world.ctx, "https://platform.example/hooks")
    orders = [o for o in _orders(12, seed=5, bad_share=0) if o.flaw is None][:3]
    batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
    receipts = Receipt.objects.filter(declaration__filing_org=world.platform)
    assert receipts.exists()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == receipts.count()


HEARD: list = []


def hear(event):
    HEARD.append((event.name, event.payload["declaration"], event.payload["status"]))


def test_batch_decisions_reach_subscribers_as_events(world):
    from ehub.core import events
    from ehub.core.tasks import run_pending_tasks

    path = "tests.customs.test_batch.hear"
    for name in ("customs.released", "customs.rejected", "customs.inspection"):
        events.subscribe(name, path)
    try:
        orders = _orders(30, seed=5)
        result = batch.clear_batch(world.ctx, _messages(orders), goods=synthetic.goods_mapping())
        HEARD.clear()
        run_pending_tasks(raise_errors=True)
    finally:
        for name in ("customs.released", "customs.rejected", "customs.inspection"):
            events.unsubscribe(name, path)
    expected = {
        (declarations.EVENT_OF[o.status], o.declaration, o.status)
        for o in result.outcomes.values()
        if o.status in declarations.EVENT_OF
    }
    assert expected and set(HEARD) == expected and len(HEARD) == len(expected)
