"""Demo data of orders: register the platform, the sandbox wallet and every merchant with
customs (their codes are what orders declare with), so demo orders clear. Idempotent."""

from __future__ import annotations

from django.conf import settings

from ehub.accounts.domain import OrgKind
from ehub.accounts.models import Organization
from ehub.customs.models import Enterprise

from .documents import seller_code


def seed(orgs: dict, out=print) -> int:
    """Register the customs codes orders files with; returns how many were added."""
    codes = [
        (settings.EHUB_ORDERS_EBP_CODE, settings.EHUB_ORDERS_EBP_NAME, "platform"),
        (settings.EHUB_ORDERS_PAY_CODE, settings.EHUB_ORDERS_PAY_NAME, "payer"),
    ]
    for org in Organization.objects.filter(kind=OrgKind.MERCHANT):
        codes.append((seller_code(org), org.name[:100], "seller"))
    added = 0
    for code, name, role in codes:
        _obj, created = Enterprise.objects.get_or_create(
            code=code, defaults={"name": name, "role": role}
        )
        added += int(created)
    if added:
        out(f"orders: registered {added} customs codes (platform, wallet, merchants)")
    return added
