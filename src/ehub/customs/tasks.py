"""Background tasks of customs: the sandbox China customs answering an inventory list."""

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
    return [status for status, _info in answers]
