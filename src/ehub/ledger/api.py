"""Ledger API, mounted at ``/api/v1/ledger``: accounts, balances and transfers, for platform staff.

Read-only: money moves through the engines above (payments), never through this API. Anyone
but platform staff gets 403 problem+json; an unknown account code is 404.
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from ehub.accounts.api import Mapped, Page, ctx_of

from . import services
from .domain import AccountFlags, TransferFlags

router = Router(tags=["ledger"])


class AccountOut(Schema):
    code: str = Field(..., description='e.g. "escrow:CNY", "merchant:ORG-…:MYR"')
    name: str
    currency: str
    flags: list[str] = Field(..., description="debits_must_not_exceed_credits, …")
    org: str | None = Field(None, description="Public id of the organization it belongs to.")
    debits_pending: int = Field(..., description="Minor units.")
    debits_posted: int
    credits_pending: int
    credits_posted: int
    credit_balance: int = Field(..., description="credits_posted − debits_posted")
    debit_balance: int = Field(..., description="debits_posted − credits_posted")
    created_at: datetime


class TransferOut(Schema):
    id: str = Field(..., description="The client-chosen transfer id.")
    debit: str
    credit: str
    amount: int = Field(..., description="Minor units.")
    currency: str
    flags: list[str]
    pending_id: str | None
    status: str | None = Field(
        None, description="For a pending transfer: pending, posted, voided or expired."
    )
    timeout_at: datetime | None
    code: str
    reference: str
    memo: str
    created_at: datetime


class AccountFilter(Schema):
    currency: str = Field("", max_length=3, description="ISO 4217, e.g. CNY")
    prefix: str = Field("", max_length=120, description='Codes starting with, e.g. "merchant:"')


def _flag_names(flags: int, enum) -> list[str]:
    return [f.name.lower() for f in enum if f.value and flags & f.value]


def _account_out(a) -> dict:
    return {
        "code": a.code,
        "name": a.name,
        "currency": a.currency,
        "flags": _flag_names(a.flags, AccountFlags),
        "org": a.org.public_id if a.org_id else None,
        "debits_pending": a.debits_pending,
        "debits_posted": a.debits_posted,
        "credits_pending": a.credits_pending,
        "credits_posted": a.credits_posted,
        "credit_balance": a.credits_posted - a.debits_posted,
        "debit_balance": a.debits_posted - a.credits_posted,
        "created_at": a.created_at,
    }


def _transfer_out(t) -> dict:
    status = None
    if t.flags & TransferFlags.PENDING:
        resolution = getattr(t, "resolution", None)
        status = resolution.status if resolution is not None else "pending"
    return {
        "id": t.client_id,
        "debit": t.debit_account.code,
        "credit": t.credit_account.code,
        "amount": t.amount,
        "currency": t.currency,
        "flags": _flag_names(t.flags, TransferFlags),
        "pending_id": t.pending_id,
        "status": status,
        "timeout_at": t.timeout_at,
        "code": t.code,
        "reference": t.reference,
        "memo": t.memo,
        "created_at": t.created_at,
    }


@router.get("/accounts", response=list[AccountOut], summary="Ledger accounts with balances")
@paginate(Page)
def list_accounts(request: HttpRequest, filters: Query[AccountFilter]):
    qs = services.list_accounts(ctx_of(request), currency=filters.currency, prefix=filters.prefix)
    return Mapped(qs, _account_out)


@router.get("/accounts/{code}", response=AccountOut, summary="One ledger account")
def get_account(request: HttpRequest, code: str):
    return _account_out(services.account_for(ctx_of(request), code))


@router.get(
    "/accounts/{code}/transfers",
    response=list[TransferOut],
    summary="Transfers of one account, newest first",
)
@paginate(Page)
def account_transfers(request: HttpRequest, code: str):
    return Mapped(services.transfers_of(ctx_of(request), code), _transfer_out)
