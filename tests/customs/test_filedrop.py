"""The file-drop gateway: messages out as files, receipts in from files (``ehub customs poll``)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from ehub.customs import declarations, gateways
from ehub.customs.domain.xmlcodec import MessageFormatError, from_xml, to_xml
from ehub.customs.models import Receipt

from . import factories as f
from .decl_support import with_order_no


@pytest.fixture
def drop(tmp_path, settings):
    settings.EHUB_CUSTOMS_OUTBOX = str(tmp_path / "outbox")
    settings.EHUB_CUSTOMS_INBOX = str(tmp_path / "inbox")
    return tmp_path


def test_submit_writes_one_whole_file_named_by_type_and_guid(drop):
    gateway = gateways.FileDropGateway()
    xml = to_xml(f.ceb311())
    gateway.submit(xml)
    files = list((drop / "outbox").iterdir())
    assert [p.name for p in files] == [f"CEB311_{f.GUID}.xml"]  # no temporary file left
    assert files[0].read_bytes() == xml
    assert from_xml(files[0].read_bytes()).ROOT == "CEB311Message"


def test_submit_refuses_what_is_not_a_message_and_writes_nothing(drop):
    with pytest.raises(MessageFormatError):
        gateways.FileDropGateway().submit(b"<nope/>")
    assert not (drop / "outbox").exists() or not any((drop / "outbox").iterdir())


def test_filedrop_is_chosen_by_setting(drop, settings):
    settings.EHUB_CUSTOMS_GATEWAY = "filedrop"
    gateway = gateways.get_gateway()
    assert isinstance(gateway, gateways.FileDropGateway)
    assert gateway.outbox == drop / "outbox"


def test_declaring_through_filedrop_writes_the_list_and_poll_applies_receipts(customs_world, drop):
    from .decl_support import file_all

    decl, _ = file_all(
        customs_world.ctx, with_order_no("ORD-FILE-0001"), gateway=gateways.FileDropGateway()
    )
    (written,) = (drop / "outbox").glob("CEB621_*.xml")
    assert from_xml(written.read_bytes()).Inventory[0].InventoryHead.copNo == decl.cop_no
    inbox = drop / "inbox"
    inbox.mkdir()
    for n, status in enumerate(("120", "399", "800")):
        receipt = to_xml(declarations.receipt_message(decl, status, "ok"))
        (inbox / f"CEB622_{n}.xml").write_bytes(receipt)
    (inbox / "CEB622_9_broken.xml").write_bytes(b"<ceb:CEB622Message")
    out, err = StringIO(), StringIO()
    call_command("customs", "poll", stdout=out, stderr=err)
    assert "3 processed, 1 failed" in out.getvalue()
    decl.refresh_from_db()
    assert decl.status == "800"
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == [
        "CEB622_0.xml",
        "CEB622_1.xml",
        "CEB622_2.xml",
    ]
    failed = inbox / "failed"
    assert (failed / "CEB622_9_broken.xml").exists()
    assert "MessageFormatError" in (failed / "CEB622_9_broken.xml.error").read_text()
    assert not list(inbox.glob("*.xml"))
    # Polling again finds nothing; the same receipt dropped twice is kept once.
    (inbox / "again.xml").write_bytes((inbox / "processed" / "CEB622_2.xml").read_bytes())
    result = gateways.FileDropGateway().poll(
        lambda raw: declarations.apply_receipt(customs_world.ctx, raw)
    )
    assert result.processed == ["again.xml"]
    assert Receipt.objects.filter(declaration=decl).count() == 3


def test_a_receipt_for_an_unknown_declaration_fails_with_its_reason(customs_world, drop):
    decl, _ = file_all_for(customs_world)
    receipt = declarations.receipt_message(decl, "800", "released")
    receipt.InventoryReturn[0].copNo = "DNOSUCHCOPNO"
    inbox = drop / "inbox"
    inbox.mkdir()
    (inbox / "r.xml").write_bytes(to_xml(receipt))
    result = gateways.FileDropGateway().poll(
        lambda raw: declarations.apply_receipt(customs_world.ctx, raw)
    )
    assert result.failed == ["r.xml"]
    text = (inbox / "failed" / "r.xml.error").read_text()
    assert "NotFound" in text and "DNOSUCHCOPNO" in text


def file_all_for(world):
    from .decl_support import file_all

    return file_all(world.ctx, with_order_no("ORD-FILE-0002"))


def test_poll_reads_document_receipts_and_tax_bills(customs_world, drop):
    decl, _ = file_all_for(customs_world)
    declarations.apply_receipt(
        customs_world.ctx, to_xml(declarations.receipt_message(decl, "800", "released"))
    )
    decl.refresh_from_db()
    order_head = f.ceb311(orderNo=decl.order_no).Order[0].OrderHead
    inbox = drop / "inbox"
    inbox.mkdir()
    (inbox / "1_CEB312.xml").write_bytes(
        to_xml(declarations.document_receipt_message("CEB311", order_head, "120"))
    )
    (inbox / "2_CEB816.xml").write_bytes(to_xml(declarations.tax_bill_message(decl)))
    result = gateways.FileDropGateway().poll(
        lambda raw: declarations.apply_receipt(customs_world.ctx, raw)
    )
    assert result.processed == ["1_CEB312.xml", "2_CEB816.xml"] and result.failed == []
    kinds = list(Receipt.objects.filter(declaration=decl).values_list("kind", flat=True))
    assert kinds == ["CEB622", "CEB312", "CEB816"]


def test_filing_sends_the_documents_to_the_outbox(customs_world, drop, settings):
    settings.EHUB_CUSTOMS_GATEWAY = "filedrop"
    order, payment, waybill = with_order_no("ORD-FILE-0003")
    for message in (order, payment, waybill):
        declarations.file_document(customs_world.ctx, message, declare_when_complete=False)
    names = sorted(p.name.split("_")[0] for p in (drop / "outbox").iterdir())
    assert names == ["CEB311", "CEB411", "CEB511"]
