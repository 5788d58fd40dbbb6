"""Merchant balances, payouts and their bank file; merchants' bank accounts.

``run_payout_batch`` (daily, ``tasks.payout_sweep``; or from /ops/finance/) pays every merchant
whose available balance is at least ``EHUB_PAYOUT_MINIMUM`` (MYR) and who has a bank account:
one ledger transfer ``merchant:<org>:MYR → payouts:bank:MYR`` each (id
``payout:<batch>:<org>``), one ``Payout`` row, and a CSV for the bank. One batch per Kuala
Lumpur day: running it again the same day returns that batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from ehub.accounts.services import is_platform_staff
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.money import Money
from ehub.ledger import services as ledger

from . import domain
from .models import BankAccount, PartStatus, PaymentPart, Payout, PayoutBatch
from .services import _open_accounts

MYR = domain.SETTLEMENT_CURRENCY
TIMEZONE = "Asia/Kuala_Lumpur"


def payout_minimum() -> Money:
    return Money.parse(str(getattr(settings, "EHUB_PAYOUT_MINIMUM", "50.00")), MYR)


def require_platform(ctx: Context) -> None:
    if not is_platform_staff(ctx, allow_system=True):
        raise PermissionDenied(_("Only platform staff may do this."))


def require_merchant(ctx: Context) -> None:
    if ctx.org is None or ctx.org_kind != "merchant":
        raise PermissionDenied(_("Choose a merchant organization first."))


# -- balances ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantBalance:
    available: Money  # MYR, may be paid out
    in_escrow: Money  # CNY captured for this merchant's orders, not yet settled
    paid_out: Money  # MYR, all time


def balance_of(org) -> MerchantBalance:
    code = domain.merchant_account(org.public_id)
    merchant = ledger.balances([code]).get(code)
    available = merchant.available_credit if merchant else 0
    escrow = 0
    for part in PaymentPart.objects.filter(merchant_org=org, status=PartStatus.ESCROW).only(
        "goods", "freight", "tax", "refunded_before", "refunded_tax_before"
    ):
        escrow += part.total - part.refunded_before - part.refunded_tax_before
    paid = Payout.objects.filter(merchant_org=org).aggregate(s=Sum("amount"))["s"] or 0
    return MerchantBalance(Money(available, MYR), Money(escrow, "CNY"), Money(paid, MYR))


def history_of(org) -> QuerySet:
    """Ledger transfers on the merchant's account, newest first (a queryset: paginate it)."""
    code = domain.merchant_account(org.public_id)
    return (
        ledger.account_transfers(code)
        .select_related("debit_account", "credit_account")
        .order_by("-created_at", "-id")
    )


def signed_amount(transfer, org) -> Money:
    """A transfer as seen from the merchant's account: credits positive, debits negative."""
    code = domain.merchant_account(org.public_id)
    sign = 1 if transfer.credit_account.code == code else -1
    return Money(sign * transfer.amount, transfer.currency)


# -- bank accounts ------------------------------------------------------------------------------


def set_bank_account(
    ctx: Context, *, bank_name: str, holder_name: str, account_number: str, swift_code: str = ""
) -> BankAccount:
    require_merchant(ctx)
    if not ctx.has_role("owner", "admin"):
        raise PermissionDenied(_("Only an owner or administrator may change the bank account."))
    number = "".join(account_number.split()).replace("-", "")
    errors = []
    if not bank_name.strip():
        errors.append(("bank_name", _("Name the bank.")))
    if not holder_name.strip():
        errors.append(("holder_name", _("Give the account holder's name.")))
    if not number.isdigit() or not 6 <= len(number) <= 20:
        errors.append(("account_number", _("Give the account number: 6 to 20 digits.")))
    if errors:
        from ehub.core.errors import FieldError

        raise ValidationFailed([FieldError(f, m) for f, m in errors])
    with transaction.atomic():
        account, _created = BankAccount.objects.update_or_create(
            merchant_org=ctx.org,
            defaults={
                "bank_name": bank_name.strip()[:100],
                "holder_name": holder_name.strip()[:200],
                "account_number": number,
                "swift_code": swift_code.strip().upper()[:11],
                "updated_at": clock.now(),
            },
        )
        audit.record(
            ctx,
            "payments.bank_account_set",
            account,
            after={"bank": account.bank_name, "number": account.masked_number},
        )
    return account


# -- batches ----------------------------------------------------------------------------------


def run_payout_batch(ctx: Context, on: dt.date | None = None) -> PayoutBatch:
    """Pay every merchant at or above the minimum; one batch per day (idempotent)."""
    require_platform(ctx)
    on = on or clock.today_in(TIMEZONE)
    minimum = payout_minimum()
    with transaction.atomic():
        batch, created = PayoutBatch.objects.get_or_create(
            run_on=on,
            defaults={
                "minimum": minimum.amount,
                "created_at": clock.now(),
                "created_by_id": ctx.user.pk if ctx.is_authenticated else None,
            },
        )
        if not created:
            return batch
        _open_accounts("sandbox")
        accounts = {
            a.merchant_org.public_id: a for a in BankAccount.objects.select_related("merchant_org")
        }
        merchant_of = {domain.merchant_account(pid): pid for pid in accounts}
        specs, rows = [], []
        for code, merchant in ledger.balances(merchant_of).items():
            available = merchant.available_credit
            if available < minimum.amount or available <= 0:
                continue
            public_id = merchant_of[code]
            bank = accounts[public_id]
            transfer_id = f"payout:{batch.public_id}:{public_id}"
            specs.append(
                ledger.TransferSpec(
                    id=transfer_id,
                    debit=code,
                    credit=domain.PAYOUTS_BANK,
                    amount=available,
                    currency=MYR,
                    code="payout",
                    reference=batch.public_id,
                )
            )
            rows.append(
                Payout(
                    batch=batch,
                    merchant_org=bank.merchant_org,
                    amount=available,
                    bank_name=bank.bank_name,
                    holder_name=bank.holder_name,
                    account_number=bank.account_number,
                    transfer_id=transfer_id,
                    created_at=clock.now(),
                )
            )
        if specs:
            # Each payout on its own: one merchant's refusal must not hold up the others.
            results = ledger.create_transfers(specs)
            rows = [row for row, r in zip(rows, results, strict=True) if r.ok]
            for row in rows:
                row.save()
        batch.total = sum(r.amount for r in rows)
        batch.count = len(rows)
        batch.save(update_fields=["total", "count"])
        audit.record(
            ctx,
            "payments.payout_batch_run",
            batch,
            after={"count": batch.count, "total": Money(batch.total, MYR)},
        )
    return batch


def platform_figures(ctx: Context) -> dict[str, Money | None]:
    """What the platform holds, by label: escrow still pending, customs tax payable and the
    commission earned (None for an account not opened yet)."""
    require_platform(ctx)
    found = ledger.balances([domain.ESCROW, domain.CUSTOMS_TAX, domain.COMMISSION])

    def figure(code: str) -> Money | None:
        b = found.get(code)
        if b is None:
            return None
        return b.money(b.pending_credit if code == domain.ESCROW else b.credit_balance)

    return {
        _("In escrow (CNY, pending)"): figure(domain.ESCROW),
        _("Customs tax payable (CNY)"): figure(domain.CUSTOMS_TAX),
        _("Commission earned (MYR)"): figure(domain.COMMISSION),
    }


def batches(ctx: Context) -> QuerySet:
    require_platform(ctx)
    return PayoutBatch.objects.order_by("-run_on")


def batch_of(ctx: Context, public_id: str) -> PayoutBatch:
    require_platform(ctx)
    batch = PayoutBatch.objects.filter(public_id=public_id).first()
    if batch is None:
        raise NotFound(_("No such payout batch."))
    return batch


CSV_HEADER = [
    "payout",
    "merchant",
    "ssm_no",
    "bank",
    "account_holder",
    "account_number",
    "amount",
    "currency",
]


def payout_csv(ctx: Context, batch: PayoutBatch) -> str:
    """The bank file: one row per payout, full account numbers (read is audited)."""
    require_platform(ctx)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in batch.payouts.select_related("merchant_org").order_by("pk"):
        writer.writerow(
            [
                p.public_id,
                p.merchant_org.legal_name,
                p.merchant_org.registration_number,
                p.bank_name,
                p.holder_name,
                p.account_number,
                str(Money(p.amount, MYR).to_decimal()),
                MYR,
            ]
        )
    audit.record(ctx, "payments.payout_file_exported", batch, after={"count": batch.count})
    return out.getvalue()


def payouts_of(ctx: Context) -> QuerySet:
    require_merchant(ctx)
    return (
        Payout.objects.filter(merchant_org=ctx.org)
        .select_related("batch")
        .order_by("-created_at", "-pk")
    )
