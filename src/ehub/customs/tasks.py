"""Background tasks of customs: the sandbox China customs answering an inventory list (CEB622
receipts, then the CEB816 tax bill on release) and the order, payment and waybill documents
(CEB312/412/512 receipts)."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from ehub.core.context import Context


@task()
def sandbox_answer(message_xml: str) -> list[str]:
    """Decide like customs would and apply the receipts, in order, in one transaction."""
    from ehub.customs import declarations, gateways
    from ehub.customs.domain.xmlcodec import from_xml, to_xml
    from ehub.customs.models import Declaration

    ctx = Context.system()
    answers = gateways.sandbox_decide(message_xml)
    head = from_xml(message_xml.encode("utf-8")).Inventory[0].InventoryHead
    with transaction.atomic():
        decl = Declaration.objects.filter(cop_no=head.copNo).first()
        if decl is None:
            return []
        for status, info in answers:
            declarations.apply_receipt(
                ctx, to_xml(declarations.receipt_message(decl, status, info))
            )
        decl.refresh_from_db()
        if decl.status == "800" and not decl.receipts.filter(kind="CEB816").exists():
            declarations.apply_receipt(ctx, to_xml(declarations.tax_bill_message(decl)))
    return [status for status, _info in answers]


@task()
def sandbox_document_answer(message_xml: str) -> list[str]:
    """Answer a filed order, payment or waybill with its CEB312/412/512 receipts, in order."""
    from ehub.customs import declarations, gateways
    from ehub.customs.domain.xmlcodec import to_xml

    ctx = Context.system()
    sent: list[str] = []
    with transaction.atomic():
        for kind, head, answers in gateways.sandbox_document_decide(message_xml):
            for status, info in answers:
                message = declarations.document_receipt_message(kind, head, status, info)
                declarations.apply_receipt(ctx, to_xml(message))
                sent.append(status)
    return sent
