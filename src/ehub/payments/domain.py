"""Pure rules of payments: the intent state machine, the chart of accounts, and the arithmetic of
settlement and refunds. No ORM, no I/O: tested without a database.

Chart of accounts (ledger codes; ``services`` says which transfers move between them):

* ``provider:<provider>:CNY``: clearing with the wallet provider. Captures debit it (the
  provider owes eHub the buyer's money); refunds credit it back.
* ``escrow:CNY``: buyers' money held until the order completes (pending transfers).
* ``customs_tax:CNY``: import tax collected on the buyer's behalf, payable to customs.
* ``commission:MYR``: the platform's commission.
* ``merchant:<org public_id>:MYR``: what eHub owes a merchant.
* ``payouts:bank:MYR``: money sent to merchants' banks.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from dataclasses import dataclass
from decimal import Decimal

from ehub.core.fx import apply_rate
from ehub.core.money import Money, Rounding

SETTLEMENT_CURRENCY = "MYR"
PAYMENT_CURRENCY = "CNY"
TAX_REFUND_DAYS = 30  # import tax is refunded for goods returned within 30 days of release

ESCROW = "escrow:CNY"
CUSTOMS_TAX = "customs_tax:CNY"
COMMISSION = "commission:MYR"
PAYOUTS_BANK = "payouts:bank:MYR"


def provider_account(provider: str) -> str:
    return f"provider:{provider}:{PAYMENT_CURRENCY}"


def merchant_account(org_public_id: str) -> str:
    return f"merchant:{org_public_id}:{SETTLEMENT_CURRENCY}"


# -- ledger transfer ids (each ≤ 80 characters: public ids are 24) ----------------------------


def escrow_id(intent: str, reference: str, replaced: int = 0) -> str:
    """The pending transfer holding a part in escrow. Capture holds the whole part; each refund
    before settlement voids the hold and holds the remainder anew, so after ``replaced`` such
    refunds the hold is ``…:escrow:<replaced>``."""
    base = f"pay:{intent}:{reference}:escrow"
    return f"{base}:{replaced}" if replaced else base


def escrow_post_id(intent: str, reference: str) -> str:
    return f"pay:{intent}:{reference}:post"


# -- the intent state machine -----------------------------------------------------------------


class IntentStatus(enum.StrEnum):
    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    FAILED = "failed"


# Rank along the forward path. A transition is allowed only to a higher rank and only along an
# edge below; a late or repeated event that would move the intent back is ignored.
_RANK = {
    IntentStatus.CREATED: 0,
    IntentStatus.AUTHORIZED: 1,
    IntentStatus.CAPTURED: 2,
    IntentStatus.PARTIALLY_REFUNDED: 3,
    IntentStatus.REFUNDED: 4,
    IntentStatus.CANCELLED: 5,
    IntentStatus.FAILED: 5,
}

TRANSITIONS: dict[IntentStatus, frozenset[IntentStatus]] = {
    IntentStatus.CREATED: frozenset(
        {
            IntentStatus.AUTHORIZED,
            IntentStatus.CAPTURED,
            IntentStatus.CANCELLED,
            IntentStatus.FAILED,
        }
    ),
    IntentStatus.AUTHORIZED: frozenset(
        {IntentStatus.CAPTURED, IntentStatus.CANCELLED, IntentStatus.FAILED}
    ),
    IntentStatus.CAPTURED: frozenset({IntentStatus.PARTIALLY_REFUNDED, IntentStatus.REFUNDED}),
    IntentStatus.PARTIALLY_REFUNDED: frozenset(
        {IntentStatus.PARTIALLY_REFUNDED, IntentStatus.REFUNDED}
    ),
    IntentStatus.REFUNDED: frozenset(),
    IntentStatus.CANCELLED: frozenset(),
    IntentStatus.FAILED: frozenset(),
}

# Not paid yet: the wallet page still takes payment, the return page still waits.
AWAITING_PAYMENT = frozenset({IntentStatus.CREATED, IntentStatus.AUTHORIZED})
TERMINAL = frozenset({IntentStatus.REFUNDED, IntentStatus.CANCELLED, IntentStatus.FAILED})
PAID = frozenset({IntentStatus.CAPTURED, IntentStatus.PARTIALLY_REFUNDED, IntentStatus.REFUNDED})


def can_move(current: str, target: str) -> bool:
    """Whether ``current → target`` is a forward move of the state machine."""
    return IntentStatus(target) in TRANSITIONS[IntentStatus(current)]


def rank(status: str) -> int:
    return _RANK[IntentStatus(status)]


def refund_status(captured: int, refunded: int) -> IntentStatus:
    """The status of a paid intent given what has been refunded of it."""
    if refunded <= 0:
        return IntentStatus.CAPTURED
    if refunded >= captured:
        return IntentStatus.REFUNDED
    return IntentStatus.PARTIALLY_REFUNDED


# -- settlement and refunds -------------------------------------------------------------------


@dataclass(frozen=True)
class EscrowSplit:
    """How a part's money in escrow divides (all CNY): what is left of the capture, the tax
    still owed to customs out of it, and the goods + freight the merchant is paid for."""

    remaining: Money
    tax: Money
    goods: Money


def split_escrow(
    goods_freight: Money, tax: Money, refunded_goods: Money, refunded_tax: Money
) -> EscrowSplit:
    """Refunds before settlement come out of goods and freight first: the tax stays owed to
    customs while the parcel is declared, so only a refund beyond goods + freight (a full
    refund) or a tax refund eats into it."""
    remaining = goods_freight + tax - refunded_goods - refunded_tax
    if remaining.is_negative or refunded_tax > tax:
        raise ValueError("refunded more than was captured")
    tax_due = tax - refunded_tax
    tax_part = tax_due if remaining >= tax_due else remaining
    return EscrowSplit(remaining=remaining, tax=tax_part, goods=remaining - tax_part)


def commission_of(gross: Money, rate: Decimal) -> Money:
    """The platform's commission on a settled amount: half-up to the sen."""
    if rate < 0 or rate > 1:
        raise ValueError("a commission rate is between 0 and 1")
    return gross.multiply(rate, Rounding.HALF_UP)


def tax_refund_open(start: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the tax of goods released (or, lacking that, captured) at ``start`` may still be
    refunded at ``now``."""
    return start is not None and now - start <= dt.timedelta(days=TAX_REFUND_DAYS)


def merchant_refund(amount: Money, rate: Decimal) -> tuple[Money, Decimal]:
    """A refund of ``amount`` (CNY) after settlement, at ``rate`` (1 CNY = rate MYR): the MYR to
    take from the merchant (half-up, at least one sen) and the exact rate MYR→CNY (12 places,
    the FX transfer's rate) that turns it back into ``amount``."""
    myr = apply_rate(amount, SETTLEMENT_CURRENCY, rate, Rounding.HALF_UP)
    if myr.amount <= 0:
        myr = Money(1, SETTLEMENT_CURRENCY)  # a refund smaller than a sen still costs one sen
    with decimal.localcontext(decimal.Context(prec=60)):
        back = (amount.to_decimal() / myr.to_decimal()).quantize(Decimal(1).scaleb(-12))
    return myr, back
