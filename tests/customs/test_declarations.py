"""Declarations: filing, declaring, receipts moving only forward, officer decisions, scoping."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ehub.core import events
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry
from ehub.customs import declarations, gateways
from ehub.customs.declarations import DeclarationStateConflict, DocumentInvalid, mask_id
from ehub.customs.domain.validation import validate
from ehub.customs.domain.xmlcodec import MessageFormatError, from_xml, to_xml
from ehub.customs.models import BuyerQuota, CustomsDocument, Declaration, QuotaReservation, Receipt

from . import factories as f
from .decl_support import ceb411, ceb511, file_all

RECEIVED: list = []


def remember(event):
    RECEIVED.append(event)


def answer(decl, *statuses, info=""):
    for status in statuses:
        declarations.apply_receipt(
            declarations.Context.system(),
            to_xml(declarations.receipt_message(decl, status, info)),
        )
    decl.refresh_from_db()
    return decl


def three(order_no="ORD-7K4M-9QX2-HT3P-V6XZ", consignee="李伟", **order):
    return (
        f.ceb311(orderNo=order_no, consignee=consignee, **order),
        ceb411(orderNo=order_no),
        ceb511(orderNo=order_no, consignee=consignee, logisticsNo="MY" + order_no[-9:]),
    )


def test_mask_keeps_region_and_last_four():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("A1234") == "***34"


def test_clean_documents_are_declared_green_with_the_tax_and_a_valid_list(customs_world):
    w = customs_world
    decl, gateway = file_all(w.ctx, three())
    assert decl.status == "3" and decl.lane == "green" and decl.mismatches == []
    assert decl.tax["vat"] == 2315 and decl.tax_total == 2315 and decl.regime == "cbec"
    assert decl.buyer_id_masked == "110105********002X"
    sent = from_xml(gateway.sent[0])
    assert validate(sent) == []
    head = sent.Inventory[0].InventoryHead
    assert head.copNo == decl.cop_no and head.logisticsNo == "MY" + decl.order_no[-9:]
    assert [line.gcode for line in sent.Inventory[0].InventoryList] == [
        "0811909000",
        "2101120000",
    ]
    # The quota is held for the dutiable price, and documents keep the XML but mask the ID.
    assert QuotaReservation.objects.get(key=decl.quota_key).amount == 32000
    doc = CustomsDocument.objects.get(declaration=decl, kind="CEB311")
    assert f.BUYER_ID in doc.xml
    assert doc.fields["OrderHead"]["buyerIdNumber"] == "110105********002X"
    assert AuditEntry.objects.filter(action="customs.declared").count() == 1


def test_filing_completes_and_declares_automatically(customs_world, settings):
    w = customs_world
    for message in three():
        touched = declarations.file_document(w.ctx, message)
    # No classification given and no catalog SKU: the list names no tariff line, which the
    # match reports instead of failing the filing.
    decl = Declaration.objects.get(pk=touched[0].pk)
    assert decl.status == "3"
    assert any(m["code"] == "unknown_gcode" for m in decl.mismatches)


def test_a_wrong_total_names_the_element_and_writes_nothing(customs_world):
    bad = f.replace_head(f.ceb311(), acturalPaid=D("999.00"))
    with pytest.raises(DocumentInvalid) as caught:
        declarations.file_document(customs_world.ctx, bad)
    assert "CEB311Message/Order[1]/OrderHead/acturalPaid" in [e.field for e in caught.value.errors]
    assert Declaration.objects.count() == 0 and CustomsDocument.objects.count() == 0


def test_a_missing_field_and_malformed_xml_are_refused_precisely(customs_world):
    xml = to_xml(f.ceb311()).replace(
        b"<ceb:consignee>\xe6\x9d\x8e\xe4\xbc\x9f</ceb:consignee>", b""
    )
    with pytest.raises(DocumentInvalid) as caught:
        declarations.file_document(customs_world.ctx, xml)
    assert any(e.field.endswith("OrderHead/consignee") for e in caught.value.errors)
    with pytest.raises(MessageFormatError):
        declarations.file_document(customs_world.ctx, b"<ceb:CEB311Message")
    assert Declaration.objects.count() == 0


def test_receipts_are_rejected_when_the_consignee_differs(customs_world):
    w = customs_world
    order, payment, _waybill = three()
    waybill = ceb511(orderNo=f.order().OrderHead.orderNo, consignee="王芳")
    decl, gateway = file_all(w.ctx, (order, payment, waybill))
    assert "consignee_name" in {m["code"] for m in decl.mismatches}
    assert not decl.quota_key  # nothing held for goods that cannot clear
    answers = gateways.sandbox_decide(gateway.sent[0].decode())
    assert answers[0][0] == "100" and "consignee" in answers[0][1]


def test_receipts_are_idempotent_and_only_move_forward(customs_world):
    w = customs_world
    decl, _ = file_all(w.ctx, three())
    receipt = to_xml(declarations.receipt_message(decl, "120"))
    declarations.apply_receipt(w.ctx, receipt)
    assert declarations.apply_receipt(w.ctx, receipt) == []  # same guid: nothing new
    decl = answer(decl, "800")
    assert decl.status == "800" and decl.released_at is not None
    decl = answer(decl, "399")  # late: kept, ignored
    assert decl.status == "800"
    assert list(decl.receipts.values_list("return_status", "moved")) == [
        ("120", True),
        ("800", True),
        ("399", False),
    ]
    reservation = QuotaReservation.objects.get(key=decl.quota_key)
    assert reservation.status == "confirmed"
    assert BuyerQuota.objects.get().used == 32000


def test_rejection_is_final_and_gives_the_quota_back(customs_world):
    w = customs_world
    decl, _ = file_all(w.ctx, three())
    decl = answer(decl, "100", info="documents do not match")
    decl = answer(decl, "800")
    assert decl.status == "100" and decl.return_info == "documents do not match"
    assert QuotaReservation.objects.get(key=decl.quota_key).status == "released"
    assert Receipt.objects.filter(declaration=decl).count() == 2


def test_release_publishes_an_event(customs_world):
    events.subscribe("customs.released", "tests.customs.test_declarations.remember")
    try:
        decl, _ = file_all(customs_world.ctx, three())
        answer(decl, "120", "399", "800")
        RECEIVED.clear()
        events.run_pending_tasks(raise_errors=True)
    finally:
        events.unsubscribe("customs.released", "tests.customs.test_declarations.remember")
    assert [e.payload["declaration"] for e in RECEIVED] == [decl.public_id]


def test_officer_actions_need_a_customs_officer_and_a_reason(customs_world):
    w = customs_world
    decl, _ = file_all(w.ctx, three())
    decl = answer(decl, "120")
    with pytest.raises(PermissionDenied):
        declarations.release(w.ctx, decl, "looks fine")
    with pytest.raises(ValidationFailed) as caught:
        declarations.inspect(w.officer_ctx, decl, "  ")
    assert caught.value.errors[0].field == "reason"
    decl = declarations.inspect(w.officer_ctx, decl, "X-ray shows more items")
    assert decl.status == "500"
    decl = declarations.release(w.officer_ctx, decl, "contents match the list")
    assert decl.status == "800"
    assert decl.receipts.filter(kind="CEB622").last().return_info == "contents match the list"
    assert decl.receipts.last().kind == "CEB816"  # the release is billed
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"customs.officer_inspected", "customs.officer_released"} <= actions
    with pytest.raises(DeclarationStateConflict):
        declarations.reject(w.officer_ctx, decl, "too late")


def test_documents_cannot_change_once_declared(customs_world):
    w = customs_world
    order, payment, waybill = three()
    file_all(w.ctx, (order, payment, waybill))
    with pytest.raises(DeclarationStateConflict):
        declarations.file_document(w.ctx, payment)


def test_declarations_are_scoped_to_the_filing_org(customs_world):
    w = customs_world
    mine, _ = file_all(w.ctx, three())
    theirs, _ = file_all(w.other_ctx, three())  # the same orderNo at another platform
    assert mine.pk != theirs.pk
    with pytest.raises(NotFound):
        declarations.declaration_of(w.other_ctx, mine.public_id)
    assert declarations.declaration_of(w.officer_ctx, mine.public_id) == mine
    assert list(declarations.declarations_of(w.ctx)) == [mine]


def test_one_id_shipping_to_many_consignees_goes_amber(customs_world):
    w = customs_world
    for n, name in enumerate(["张三", "李四"]):
        file_all(w.ctx, three(order_no=f"ORD-SPLIT-00000000{n}", consignee=name))
    decl, _ = file_all(w.ctx, three(order_no="ORD-SPLIT-000000009", consignee="王五"))
    assert decl.lane == "amber"
    assert "quota_splitting_id" in {r["rule"] for r in decl.risk_reasons}


def test_a_restricted_seller_goes_red(customs_world):
    decl, _ = file_all(customs_world.ctx, three(ebcName="Red Mountain Pharma Limited"))
    assert decl.lane == "red"
    assert any(r["rule"] == "restricted_party" for r in decl.risk_reasons)


def test_inspection_pick_is_seeded_by_order_number():
    picks = [gateways.picked_for_inspection(f"ORD-{n}", 0.05) for n in range(2000)]
    assert picks == [gateways.picked_for_inspection(f"ORD-{n}", 0.05) for n in range(2000)]
    assert 50 < sum(picks) < 150
    assert not gateways.picked_for_inspection("ORD-1", 0.0)
    assert gateways.picked_for_inspection("ORD-1", 1.0)


def _declared_through_sandbox(w, settings, messages, rate="0"):
    from ehub.core.tasks import run_pending_tasks

    settings.EHUB_CUSTOMS_GATEWAY = "sandbox"
    settings.EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS = "0"
    settings.EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE = rate
    decl, _ = file_all(w.ctx, messages, gateway=gateways.get_gateway())
    run_pending_tasks(raise_errors=True)
    decl.refresh_from_db()
    return decl


def test_sandbox_releases_a_green_declaration(customs_world, settings):
    decl = _declared_through_sandbox(customs_world, settings, three())
    receipts = decl.receipts.filter(kind="CEB622").values_list("return_status", flat=True)
    assert list(receipts) == ["120", "399", "800"]
    assert decl.status == "800"


def test_sandbox_answers_each_document_and_sends_the_tax_bill_after_release(
    customs_world, settings
):
    decl = _declared_through_sandbox(customs_world, settings, three())
    by_kind: dict[str, list[str]] = {}
    for kind, status in decl.receipts.values_list("kind", "return_status"):
        by_kind.setdefault(kind, []).append(status)
    assert by_kind == {
        "CEB312": ["2", "120"],
        "CEB412": ["2", "120"],
        "CEB512": ["2", "120"],
        "CEB622": ["120", "399", "800"],
        "CEB816": ["1"],
    }
    assert decl.status == "800"  # document receipts never move the list's status
    bill = from_xml(decl.receipts.get(kind="CEB816").xml.encode())
    assert validate(bill) == []
    head = bill.Tax[0].TaxHeadRd
    assert head.invtNo == decl.invt_no and head.orderNo == decl.order_no
    assert head.valueAddedTax == D("23.15") and head.customsTax == D("0.00")
    assert [line.gcode for line in bill.Tax[0].TaxListRd] == [
        line["gcode"] for line in decl.tax["lines"]
    ]
    # The same receipts again change nothing.
    for receipt in list(decl.receipts.all()):
        assert declarations.apply_receipt(customs_world.ctx, receipt.xml) == []
    assert decl.receipts.count() == 10


def test_sandbox_refuses_a_document_of_an_unregistered_enterprise(customs_world, settings):
    from ehub.core.tasks import run_pending_tasks

    settings.EHUB_CUSTOMS_GATEWAY = "sandbox"
    settings.EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS = "0"
    (decl,) = declarations.file_document(
        customs_world.ctx, ceb411(payCode="9999999999"), declare_when_complete=False
    )
    run_pending_tasks(raise_errors=True)
    statuses = list(decl.receipts.values_list("kind", "return_status", "return_info"))
    assert statuses[0][:2] == ("CEB412", "2")
    assert statuses[1][:2] == ("CEB412", "100") and "9999999999" in statuses[1][2]
    decl.refresh_from_db()
    assert decl.status == ""


def test_a_document_receipt_for_an_unknown_order_names_the_key(customs_world):
    head = f.ceb311().Order[0].OrderHead
    message = declarations.document_receipt_message("CEB311", head, "120")
    with pytest.raises(NotFound) as missing:
        declarations.apply_receipt(customs_world.ctx, to_xml(message))
    assert missing.value.field == "orderNo"


def test_sandbox_inspects_red_and_random_picks(customs_world, settings):
    w = customs_world
    red = _declared_through_sandbox(w, settings, three(ebcName="Red Mountain Pharma Limited"))
    assert red.status == "500"
    picked = _declared_through_sandbox(w, settings, three(order_no="ORD-PICKED-1"), rate="1")
    assert picked.status == "500"


def test_sandbox_rejects_a_mismatch_with_the_reason(customs_world, settings):
    order, payment, _ = three()
    waybill = ceb511(orderNo=f.order().OrderHead.orderNo, consignee="王芳")
    decl = _declared_through_sandbox(customs_world, settings, (order, payment, waybill))
    assert decl.status == "100" and "consignee" in decl.return_info


def test_the_sandbox_waits_for_an_officer_on_amber(customs_world, settings):
    w = customs_world
    for n, name in enumerate(["张三", "李四"]):
        file_all(w.ctx, three(order_no=f"ORD-SPLIT-00000000{n}", consignee=name))
    decl = _declared_through_sandbox(
        w, settings, three(order_no="ORD-SPLIT-000000009", consignee="王五")
    )
    assert decl.lane == "amber" and decl.status == "120"


def test_gateway_default_is_the_sandbox(settings):
    settings.EHUB_CUSTOMS_GATEWAY = None
    assert isinstance(gateways.get_gateway(), gateways.SandboxChinaCustoms)


# -- a quota the filer already holds (orders reserved it at checkout) ------------------------


def _file_with_key(w, messages, key):
    from ehub.customs.gateways import RecordingGateway

    from .decl_support import GOODS

    for message in messages:
        touched = declarations.file_document(
            w.ctx, message, quota_key=key, declare_when_complete=False
        )
    return declarations.declare(w.ctx, touched[0], goods=GOODS, gateway=RecordingGateway())


def _hold(w, amount=32000, key="order:ORD-7K4M-9QX2-HT3P-V6XZ", id_number=None):
    from ehub.core.money import Money
    from ehub.customs import services

    order = f.ceb311().Order[0].OrderHead
    return services.reserve_quota(
        w.ctx, id_number or order.buyerIdNumber, Money(amount, "CNY"), key
    )


def test_an_adopted_quota_key_is_not_reserved_twice_and_is_confirmed_on_release(customs_world):
    w = customs_world
    held = _hold(w)
    decl = _file_with_key(w, three(), held.key)
    assert decl.quota_key == held.key and decl.status == "3" and decl.mismatches == []
    assert QuotaReservation.objects.count() == 1  # no second reservation
    quota = BuyerQuota.objects.get()
    assert (quota.reserved, quota.used) == (32000, 0)
    decl = answer(decl, "120", "399", "800")
    held.refresh_from_db()
    quota.refresh_from_db()
    assert held.status == "confirmed" and (quota.reserved, quota.used) == (0, 32000)


def test_an_adopted_quota_key_is_released_on_rejection(customs_world):
    w = customs_world
    held = _hold(w)
    decl = _file_with_key(w, three(), held.key)
    answer(decl, "100", info="no")
    held.refresh_from_db()
    assert held.status == "released" and BuyerQuota.objects.get().reserved == 0


def test_the_held_amount_is_not_counted_against_the_buyer_twice(customs_world):
    # The buyer holds 25,000 of the 26,000 annual limit for this very order: declaring it must
    # not see 25,000 used + this order's value, which would refuse it.
    w = customs_world
    held = _hold(w, amount=2_500_000)
    decl = _file_with_key(w, three(), held.key)
    assert decl.mismatches == [] and QuotaReservation.objects.count() == 1


def test_a_quota_key_must_name_a_held_reservation_of_the_buyer(customs_world):
    w = customs_world
    order, payment, _waybill = three()
    with pytest.raises(ValidationFailed) as missing:
        declarations.file_document(w.ctx, order, quota_key="order:nope")
    assert missing.value.errors[0].field == "quota_key"
    other = _hold(w, key="order:other-buyer", id_number="310101199001011234")
    with pytest.raises(ValidationFailed) as foreign:
        declarations.file_document(w.ctx, order, quota_key=other.key)
    assert foreign.value.errors[0].field == "quota_key"
    assert not Declaration.objects.exists()  # nothing half-written
    from ehub.customs import services

    services.release_quota(w.ctx, other.key)
    with pytest.raises(ValidationFailed) as released:
        declarations.file_document(w.ctx, payment, quota_key=other.key)
    assert released.value.errors[0].code == "not_held"
