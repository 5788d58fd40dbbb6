"""Demo data of payments: a bank account for each demo merchant (idempotent).

Account numbers are fictitious (Maybank-like 12 digits, derived from the merchant's SSM number)
so payout files look real without pointing at anyone's account.
"""

from __future__ import annotations

from ehub.core import clock

from .models import BankAccount

DEMO_BANKS = {
    "durian": "Maybank",
    "batik": "CIMB Bank",
    "nest": "Public Bank",
    "kopi": "RHB Bank",
}


def seed(orgs: dict, out=print) -> int:
    """Give each demo merchant in ``orgs`` a bank account if it has none; returns how many."""
    created = 0
    for key, bank in DEMO_BANKS.items():
        org = orgs.get(key)
        if org is None or BankAccount.objects.filter(merchant_org=org).exists():
            continue
        digits = "".join(ch for ch in (org.registration_number or "") if ch.isdigit())
        number = ("5140" + digits)[-12:].rjust(12, "0")
        BankAccount.objects.create(
            merchant_org=org,
            bank_name=bank,
            holder_name=org.legal_name,
            account_number=number,
            updated_at=clock.now(),
        )
        created += 1
    if created:
        out(f"payments demo: {created} merchant bank accounts for payouts.")
    return created
