"""Use cases of payments: intents, capture into escrow, settlement, refunds.

Every function is one transaction and idempotent (intents by the buyer's idempotency key,
refunds by ``request_id``, settlement by the order reference, ledger transfers by their ids).
Money moves only through ``ehub.ledger`` transfers:

* capture (provider webhook): per part a PENDING transfer ``provider:<p>:CNY → escrow:CNY``
  (id ``pay:<intent>:<reference>:escrow``);
* settle: post what is left of it, move the tax to ``customs_tax:CNY``, convert goods + freight
  to MYR at the day's rate into ``merchant:<org>:MYR`` (``ledger.exchange_specs``), take the
  commission to ``commission:MYR``; one linked chain;
* refund before settlement: the provider refunds now; the pending transfer is voided when all
  of it is refunded, or posted only in part at settlement;
* refund after settlement: ``merchant:<org>:MYR → provider:<p>:CNY`` through FX at the refund
  day's rate (a new rate, DOMAIN.md §5); the tax refund goes ``customs_tax:CNY → provider``.

Engines never import orders: callers pass :class:`PaymentPart` dataclasses and listen to the
``payments.*`` events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ehub.accounts.services import is_platform_staff
from ehub.core import audit, clock, events, fx
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.ids import new_public_id
from ehub.core.money import Money
from ehub.ledger import services as ledger
from ehub.ledger.services import AccountFlags, TransferFlags, TransferSpec

from . import domain
from .domain import IntentStatus
from .gateways import ProviderEvent, get_provider
from .models import (
    CommissionRate,
    PartStatus,
    PaymentIntent,
    Refund,
    RefundKind,
    Settlement,
)
from .models import PaymentPart as PartRow

logger = logging.getLogger(__name__)

CNY = domain.PAYMENT_CURRENCY
MYR = domain.SETTLEMENT_CURRENCY


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used before for a different request."""

    code = "idempotency_key_reused"


class LedgerRefused(Conflict):
    """The ledger refused the movement (e.g. a merchant balance too small for a refund)."""

    code = "ledger_refused"


@dataclass(frozen=True)
class PaymentPart:
    """One order's share of a payment (the contract with orders)."""

    reference: str  # the order's public id
    merchant_org_id: int
    goods: Money  # CNY, after discount
    freight: Money  # CNY
    tax: Money  # CNY
    category: str = ""  # product category, for the commission rate

    @property
    def total(self) -> Money:
        return self.goods + self.freight + self.tax


# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------


def _may_see(ctx: Context, intent: PaymentIntent, merchant_ids: set[int]) -> bool:
    if is_platform_staff(ctx, allow_system=True):
        return True
    if ctx.is_authenticated and ctx.user.pk == intent.buyer_id:
        return True
    return ctx.org_id is not None and ctx.org_id in merchant_ids


def parts_visible_to(ctx: Context):
    """Order parts the caller may see and refund: all for platform staff, else its merchant's."""
    if is_platform_staff(ctx, allow_system=True):
        return PartRow.objects.all()
    if ctx.org is None:
        return PartRow.objects.none()
    return PartRow.objects.filter(merchant_org=ctx.org)


def refunds_visible_to(ctx: Context, reference: str = ""):
    """Refunds of the parts ``parts_visible_to(ctx)``, newest first (a queryset: paginate it)."""
    rows = Refund.objects.filter(part__in=parts_visible_to(ctx)).select_related("part")
    if reference:
        rows = rows.filter(part__reference=reference)
    return rows.order_by("-created_at", "-pk")


def _require_refunder(ctx: Context, part: PartRow) -> None:
    """Refunds are ordered by orders (system), platform staff, or the part's merchant."""
    if is_platform_staff(ctx, allow_system=True) or (
        ctx.org_id is not None and ctx.org_id == part.merchant_org_id
    ):
        return
    raise PermissionDenied(_("Only the merchant or the platform may refund this payment."))


# ---------------------------------------------------------------------------------------------
# Intents
# ---------------------------------------------------------------------------------------------


def _check_return_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    # Same-site paths only: the wallet sends the buyer here, so it must not be an open redirect.
    if url and (parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//")):
        raise ValidationFailed.single(
            "return_url", _("Give a path on this site, starting with /."), "invalid"
        )
    if len(url) > 500:
        raise ValidationFailed.single("return_url", _("Use at most 500 characters."), "too_long")
    return url


def _check_parts(parts: list[PaymentPart]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not parts:
        return [FieldError("parts", _("A payment needs at least one part."), "required")]
    seen: set[str] = set()
    for i, part in enumerate(parts):
        where = f"parts[{i}]"
        if not part.reference or len(part.reference) > 60:
            errors.append(FieldError(f"{where}.reference", _("Give the order reference.")))
        elif part.reference in seen:
            errors.append(
                FieldError(f"{where}.reference", _("Each order appears once."), "duplicate")
            )
        seen.add(part.reference)
        for name in ("goods", "freight", "tax"):
            money = getattr(part, name)
            if not isinstance(money, Money) or money.currency != CNY:
                errors.append(FieldError(f"{where}.{name}", _("Amounts are in CNY."), "currency"))
            elif money.is_negative:
                errors.append(FieldError(f"{where}.{name}", _("Must not be negative.")))
    if not errors and Money.total((p.total for p in parts), CNY).amount <= 0:
        errors.append(FieldError("parts", _("The amount to pay must be positive."), "invalid"))
    return errors


def _request_hash(parts: list[PaymentPart], return_url: str, description: str) -> str:
    canon = json.dumps(
        [
            [p.reference, p.merchant_org_id, p.goods.amount, p.freight.amount, p.tax.amount]
            for p in parts
        ]
        + [return_url, description],
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode()).hexdigest()


def create_intent(
    ctx: Context,
    *,
    buyer,
    parts: list[PaymentPart],
    idempotency_key: str,
    return_url: str,
    description: str = "",
    provider: str = "sandbox",
) -> PaymentIntent:
    """A new intent (status "created") for ``parts``; the same key and parts return the first."""
    from ehub.accounts.models import Organization

    if not (ctx.is_authenticated and ctx.user.pk == getattr(buyer, "pk", None)) and not (
        is_platform_staff(ctx, allow_system=True)
    ):
        raise PermissionDenied(_("Only the buyer may start this payment."))
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationFailed.single(
            "idempotency_key", _("Give an idempotency key of 1 to 100 characters."), "required"
        )
    errors = _check_parts(parts)
    if errors:
        raise ValidationFailed(errors)
    return_url = _check_return_url(return_url)
    description = (description or "")[:200]
    get_provider(provider)  # unknown providers fail before anything is written
    digest = _request_hash(parts, return_url, description)
    merchants = set(
        Organization.objects.filter(
            pk__in={p.merchant_org_id for p in parts}, kind="merchant"
        ).values_list("pk", flat=True)
    )
    unknown = [i for i, p in enumerate(parts) if p.merchant_org_id not in merchants]
    if unknown:
        existing = _existing_intent(buyer, idempotency_key, digest)
        if existing is not None:
            return existing
        raise ValidationFailed(
            [
                FieldError(f"parts[{i}].merchant_org_id", _("No such merchant."), "not_found")
                for i in unknown
            ]
        )
    now = clock.now()
    # Four statements and no savepoint (checkout calls this inside its one transaction):
    # the intent is inserted unless the buyer's key exists (ON CONFLICT DO NOTHING, so a
    # repeated key never spoils the caller's transaction), then its parts and audit entry.
    with transaction.atomic(savepoint=False):
        intent = PaymentIntent(
            buyer=buyer,
            amount=Money.total((p.total for p in parts), CNY).amount,
            currency=CNY,
            provider=provider,
            idempotency_key=idempotency_key,
            request_hash=digest,
            return_url=return_url,
            description=description,
            created_at=now,
        )
        inserted = _insert_unless_key_exists(intent)
        if inserted:
            _insert_parts(ctx, intent, parts)
    if not inserted:
        # Looked up once the block is left: a reused key's Conflict must not spoil a caller's
        # transaction (no savepoint was taken).
        existing = _existing_intent(buyer, idempotency_key, digest)
        if existing is None:  # pragma: no cover - the twin rolled back between statements
            raise Conflict(
                _("One of these orders already has a payment in progress."),
                code="already_paying",
            )
        return existing
    return intent


def _insert_parts(ctx: Context, intent: PaymentIntent, parts: list[PaymentPart]) -> None:
    try:
        # A part whose order already has a live payment breaks a unique constraint: the
        # transaction is then spoiled, and the Conflict rolls it back whole.
        PartRow.objects.bulk_create(
            [
                PartRow(
                    intent=intent,
                    reference=p.reference,
                    merchant_org_id=p.merchant_org_id,
                    category=p.category[:32],
                    goods=p.goods.amount,
                    freight=p.freight.amount,
                    tax=p.tax.amount,
                )
                for p in parts
            ]
        )
    except IntegrityError:
        raise Conflict(
            _("One of these orders already has a payment in progress."), code="already_paying"
        ) from None
    audit.record(
        ctx,
        "payments.intent_created",
        intent,
        after={"amount": intent.money, "references": [p.reference for p in parts]},
    )


def _existing_intent(buyer, idempotency_key: str, digest: str) -> PaymentIntent | None:
    existing = PaymentIntent.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if existing is not None and existing.request_hash != digest:
        raise IdempotencyKeyReused(_("This idempotency key was used for a different payment."))
    return existing


def _insert_unless_key_exists(intent: PaymentIntent) -> bool:
    """INSERT the intent … ON CONFLICT (buyer, idempotency_key) DO NOTHING RETURNING id (the
    same SQL on PostgreSQL and SQLite 3.35+). False when the buyer's key already exists."""
    if not intent.public_id:
        intent.public_id = new_public_id("PAY")
    fields = [f for f in PaymentIntent._meta.local_concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(intent, True), connection) for f in fields]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(PaymentIntent._meta.db_table)} "  # noqa: S608
        f"({', '.join(qn(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT (buyer_id, idempotency_key) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    intent.pk = row[0]
    intent._state.adding = False
    intent._state.db = "default"
    return True


def get_intent(ctx: Context, public_id: str) -> PaymentIntent:
    """The intent, for its buyer, the merchants of its parts and platform staff (else 404)."""
    intent = (
        PaymentIntent.objects.filter(public_id=public_id)
        .prefetch_related("parts__merchant_org")
        .first()
    )
    if intent is None or not _may_see(ctx, intent, {p.merchant_org_id for p in intent.parts.all()}):
        raise NotFound(_("No such payment."))
    return intent


def _references(intent: PaymentIntent) -> list[str]:
    return list(intent.parts.order_by("pk").values_list("reference", flat=True))


def _close(intent: PaymentIntent, status: IntentStatus, reason: str, ctx: Context) -> None:
    before = intent.status
    intent.status = status
    intent.failure_reason = reason[:300]
    intent.closed_at = clock.now()
    intent.save(update_fields=["status", "failure_reason", "closed_at"])
    intent.parts.update(status=PartStatus.CANCELLED)
    audit.record(
        ctx,
        f"payments.intent_{status.value}",
        intent,
        before={"status": before},
        after={"status": status.value, "reason": reason},
    )
    events.publish(
        f"payments.{status.value}",
        {"intent": intent.public_id, "references": _references(intent), "reason": reason},
        ctx=ctx,
    )


def cancel_intent(ctx: Context, public_id: str, reason: str) -> PaymentIntent:
    """created/authorized → cancelled (idempotent); a captured payment needs a refund instead."""
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().filter(public_id=public_id).first()
        if intent is None or not _may_see(
            ctx, intent, set(intent.parts.values_list("merchant_org_id", flat=True))
        ):
            raise NotFound(_("No such payment."))
        if intent.status == IntentStatus.CANCELLED:
            return intent
        if not domain.can_move(intent.status, IntentStatus.CANCELLED):
            raise Conflict(
                _("This payment is %(status)s; refund it instead of cancelling.")
                % {"status": intent.status},
                code="payment_not_cancellable",
            )
        _close(intent, IntentStatus.CANCELLED, reason or "cancelled", ctx)
    return intent


# ---------------------------------------------------------------------------------------------
# Provider events (called by webhooks.receive, inside its transaction)
# ---------------------------------------------------------------------------------------------


def _open_accounts(provider: str, merchant_public_ids: set[str] = frozenset()) -> None:
    held = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    Spec = ledger.AccountSpec
    ledger.open_accounts(
        [
            Spec(domain.provider_account(provider), CNY, name=f"Provider {provider}"),
            Spec(domain.ESCROW, CNY, held, "Escrow"),
            Spec(domain.CUSTOMS_TAX, CNY, held, "Customs tax payable"),
            Spec(domain.COMMISSION, MYR, held, "Platform commission"),
            Spec(domain.PAYOUTS_BANK, MYR, name="Payouts to banks"),
            *(Spec(domain.merchant_account(p), MYR, held) for p in sorted(merchant_public_ids)),
        ]
    )


def _capture(intent: PaymentIntent, event: ProviderEvent, ctx: Context) -> None:
    parts = list(intent.parts.select_related("merchant_org").order_by("pk"))
    _open_accounts(intent.provider, {p.merchant_org.public_id for p in parts})
    specs = [
        TransferSpec(
            id=domain.escrow_id(intent.public_id, part.reference),
            debit=domain.provider_account(intent.provider),
            credit=domain.ESCROW,
            amount=part.total,
            currency=CNY,
            flags=TransferFlags.PENDING,
            code="escrow.capture",
            reference=part.reference,
        )
        for part in parts
        if part.total > 0
    ]
    if specs:
        ledger.transfer(*specs)
    before = intent.status
    now = clock.now()
    intent.status = IntentStatus.CAPTURED
    intent.captured_at = now
    intent.authorized_at = intent.authorized_at or now
    intent.provider_txn_id = event.txn_id
    intent.payer_name = event.payer_name
    intent.save(
        update_fields=["status", "captured_at", "authorized_at", "provider_txn_id", "payer_name"]
    )
    intent.parts.update(status=PartStatus.ESCROW)
    audit.record(
        ctx,
        "payments.captured",
        intent,
        before={"status": before},
        after={"status": intent.status, "txn": event.txn_id},
    )
    events.publish(
        "payments.captured",
        {
            "intent": intent.public_id,
            "references": [p.reference for p in parts],
            "provider_txn_id": event.txn_id,
            "payer_name": event.payer_name,
            "captured_at": now.isoformat(),
            "amount_minor": intent.amount,
            "currency": intent.currency,
            "provider": intent.provider,
        },
        ctx=ctx,
    )


def apply_provider_event(event: ProviderEvent, provider: str) -> str:
    """Move the intent as ``event`` says, if that is a forward move; returns the outcome."""
    ctx = Context.system(via="webhook")
    intent = PaymentIntent.objects.select_for_update().filter(public_id=event.intent).first()
    if intent is None or intent.provider != provider:
        return "ignored:unknown_intent"
    if event.type == "refund.succeeded":
        updated = Refund.objects.filter(
            public_id=event.refund_ref, part__intent=intent, confirmed_at__isnull=True
        ).update(confirmed_at=clock.now())
        return "applied" if updated else "ignored:refund_known"
    target = {
        "payment.authorized": IntentStatus.AUTHORIZED,
        "payment.captured": IntentStatus.CAPTURED,
        "payment.cancelled": IntentStatus.CANCELLED,
        "payment.failed": IntentStatus.FAILED,
    }[event.type]
    if not domain.can_move(intent.status, target):
        return f"ignored:{intent.status}"  # late, repeated or out of order: nothing moves back
    if target in (IntentStatus.AUTHORIZED, IntentStatus.CAPTURED) and (
        event.amount != intent.amount or event.currency != intent.currency
    ):
        logger.error(
            "provider %s reported %s %s for %s (expected %s)",
            provider,
            event.amount,
            event.currency,
            intent.public_id,
            intent.money,
        )
        return "ignored:amount_mismatch"
    if target == IntentStatus.AUTHORIZED:
        intent.status = IntentStatus.AUTHORIZED
        intent.authorized_at = clock.now()
        intent.provider_txn_id = event.txn_id
        intent.save(update_fields=["status", "authorized_at", "provider_txn_id"])
        audit.record(ctx, "payments.authorized", intent, after={"txn": event.txn_id})
    elif target == IntentStatus.CAPTURED:
        _capture(intent, event, ctx)
    else:
        _close(intent, target, event.reason or target.value, ctx)
    return "applied"


# ---------------------------------------------------------------------------------------------
# Settlement
# ---------------------------------------------------------------------------------------------


def commission_rate(merchant_org_id: int, category: str = "") -> Decimal:
    """The most specific rate: merchant + category, merchant, category, then the default."""
    rows = {
        (r.merchant_org_id, r.category): r.rate
        for r in CommissionRate.objects.filter(
            Q(merchant_org_id=merchant_org_id) | Q(merchant_org__isnull=True),
            category__in={category, ""},
        )
    }
    for key in ((merchant_org_id, category), (merchant_org_id, ""), (None, category), (None, "")):
        if key in rows:
            return rows[key]
    return Decimal(str(getattr(settings, "EHUB_PAYMENTS_COMMISSION_RATE", "0.05")))


def _part_for_update(reference: str) -> PartRow:
    part = (
        PartRow.objects.select_for_update()
        .filter(reference=reference)
        .exclude(status=PartStatus.CANCELLED)
        .first()
    )
    if part is None:
        raise NotFound(_("No payment for order %(ref)s.") % {"ref": reference})
    return part


def _split(part: PartRow) -> domain.EscrowSplit:
    return domain.split_escrow(
        Money(part.goods + part.freight, CNY),
        Money(part.tax, CNY),
        Money(part.refunded_before, CNY),
        Money(part.refunded_tax_before, CNY),
    )


def _hold_id(part: PartRow, replaced: int | None = None) -> str:
    """Id of the pending transfer that holds ``part``'s money in escrow after ``replaced``
    refunds before settlement (None: as many as are recorded; ``domain.escrow_id``)."""
    if replaced is None:
        replaced = part.refunds.filter(source="escrow").count()
    return domain.escrow_id(part.intent.public_id, part.reference, replaced)


def settle(ctx: Context, reference: str) -> Settlement:
    """The order completed: release its escrow to customs tax and the merchant (idempotent)."""
    with transaction.atomic():
        part = _part_for_update(reference)
        if part.status == PartStatus.SETTLED:
            return part.settlement
        if part.status != PartStatus.ESCROW:
            raise Conflict(
                _("Order %(ref)s has no money in escrow to settle.") % {"ref": reference},
                code="nothing_to_settle",
            )
        intent = part.intent
        org = part.merchant_org
        split = _split(part)
        now = clock.now()
        rate = fx.find_rate(CNY, MYR, now)
        merchant = domain.merchant_account(org.public_id)
        _open_accounts(intent.provider, {org.public_id})
        specs = [
            TransferSpec(
                id=domain.escrow_post_id(intent.public_id, reference),
                amount=split.remaining.amount,
                flags=TransferFlags.POST_PENDING,
                pending_id=_hold_id(part),
                code="escrow.post",
                reference=reference,
            )
        ]
        if split.tax:
            specs.append(
                TransferSpec(
                    id=f"settle:{reference}:tax",
                    debit=domain.ESCROW,
                    credit=domain.CUSTOMS_TAX,
                    amount=split.tax.amount,
                    currency=CNY,
                    code="settlement.tax",
                    reference=reference,
                )
            )
        gross = Money.zero(MYR)
        if split.goods:
            fx_specs, gross = ledger.exchange_specs(
                f"settle:{reference}:fx",
                debit=domain.ESCROW,
                credit=merchant,
                amount=split.goods,
                to_currency=MYR,
                rate=rate.rate,
                code="settlement.fx",
                reference=reference,
            )
            specs.extend(fx_specs)
        commission_pct = commission_rate(org.pk, part.category)
        commission = domain.commission_of(gross, commission_pct)
        if commission:
            specs.append(
                TransferSpec(
                    id=f"settle:{reference}:commission",
                    debit=merchant,
                    credit=domain.COMMISSION,
                    amount=commission.amount,
                    currency=MYR,
                    code="settlement.commission",
                    reference=reference,
                )
            )
        ledger.transfer(*specs)
        settlement = Settlement.objects.create(
            part=part,
            merchant_org=org,
            posted=split.remaining.amount,
            tax=split.tax.amount,
            goods=split.goods.amount,
            rate=rate.rate,
            rate_source=rate.source,
            rate_as_of=rate.as_of,
            gross=gross.amount,
            commission_rate=commission_pct,
            commission=commission.amount,
            net=(gross - commission).amount,
            settled_at=now,
        )
        part.status = PartStatus.SETTLED
        part.save(update_fields=["status"])
        audit.record(
            ctx,
            "payments.settled",
            settlement,
            after={
                "reference": reference,
                "rate": rate.rate,
                "gross": gross,
                "commission": commission,
                "tax": split.tax,
            },
        )
        events.publish(
            "payments.settled",
            {
                "reference": reference,
                "merchant_org_id": org.pk,
                "net_minor": settlement.net,
                "currency": MYR,
            },
            ctx=ctx,
        )
    return settlement


# ---------------------------------------------------------------------------------------------
# Refunds
# ---------------------------------------------------------------------------------------------


def _check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > 100:
        raise ValidationFailed.single(
            "request_id", _("Give a request id of 1 to 100 characters."), "required"
        )


def _replay(request_id: str, reference: str, kind: str, amount: Money | None) -> Refund | None:
    existing = Refund.objects.select_related("part").filter(request_id=request_id).first()
    if existing is None:
        return None
    same = existing.part.reference == reference and existing.kind == kind
    if same and (amount is None or amount == existing.money):
        return existing
    raise IdempotencyKeyReused(_("This request id was used for a different refund."))


def _apply_refund(
    ctx: Context,
    part: PartRow,
    kind: str,
    amount: Money,
    request_id: str,
    reason: str,
) -> Refund:
    intent = part.intent
    settled = part.status == PartStatus.SETTLED
    refund = Refund(
        part=part,
        request_id=request_id,
        kind=kind,
        amount=amount.amount,
        reason=(reason or "")[:300],
        source="escrow"
        if not settled
        else ("customs_tax" if kind == RefundKind.TAX else "merchant"),
        created_at=clock.now(),
        created_by_id=ctx.user.pk if ctx.is_authenticated else None,
    )
    refund.save()
    provider = get_provider(intent.provider)
    result = provider.refund(
        txn_id=intent.provider_txn_id, amount=amount, merchant_refund_ref=refund.public_id
    )
    refund.provider_refund_id = result.refund_id
    provider_acct = domain.provider_account(intent.provider)
    if not settled:
        # The escrow hold is replaced, not left stale: void it and, unless all went back, hold
        # the remainder anew (linked, so both happen or neither). The ledger then shows at any
        # moment exactly what escrow still holds for this order. This refund's row is saved
        # above, so it is counted: the hold it voids is the one before.
        replaced = part.refunds.filter(source="escrow").count()
        current = _hold_id(part, replaced - 1)
        if kind == RefundKind.TAX:
            part.refunded_tax_before += amount.amount
        else:
            part.refunded_before += amount.amount
        remaining = _split(part).remaining
        specs = [
            TransferSpec(
                id=f"{current}:void",
                flags=TransferFlags.VOID_PENDING,
                pending_id=current,
                code="escrow.void",
                reference=part.reference,
            )
        ]
        if remaining.is_zero:
            part.status = PartStatus.REFUNDED  # nothing will ever reach the merchant
        else:
            specs.append(
                TransferSpec(
                    id=_hold_id(part, replaced),
                    debit=provider_acct,
                    credit=domain.ESCROW,
                    amount=remaining.amount,
                    currency=CNY,
                    flags=TransferFlags.PENDING,
                    code="escrow.hold_remainder",
                    reference=part.reference,
                )
            )
        ledger.transfer(*specs)
    elif kind == RefundKind.TAX:
        ledger.transfer(
            TransferSpec(
                id=f"refund:{refund.public_id}",
                debit=domain.CUSTOMS_TAX,
                credit=provider_acct,
                amount=amount.amount,
                currency=CNY,
                code="refund.tax",
                reference=part.reference,
            )
        )
        part.refunded_tax_after += amount.amount
    else:
        org = part.merchant_org
        rate = fx.find_rate(CNY, MYR, clock.now())
        myr, back = domain.merchant_refund(amount, rate.rate)
        specs, converted = ledger.exchange_specs(
            f"refund:{refund.public_id}",
            debit=domain.merchant_account(org.public_id),
            credit=provider_acct,
            amount=myr,
            to_currency=CNY,
            rate=back,
            code="refund.goods",
            reference=part.reference,
        )
        if converted != amount:  # the 12-place rate makes this exact; refuse rather than drift
            raise LedgerRefused(_("The refund could not be converted exactly."))
        try:
            ledger.transfer(*specs)
        except Conflict as exc:
            raise LedgerRefused(
                _(
                    "The merchant's balance cannot cover this refund (%(myr)s); "
                    "it has been paid out already."
                )
                % {"myr": myr},
                field="amount",
            ) from exc
        refund.merchant_amount = myr.amount
        refund.rate = rate.rate
        refund.rate_source = rate.source
        part.refunded_goods_after += amount.amount
    refund.save(update_fields=["provider_refund_id", "merchant_amount", "rate", "rate_source"])
    part.save(
        update_fields=[
            "status",
            "refunded_before",
            "refunded_tax_before",
            "refunded_goods_after",
            "refunded_tax_after",
        ]
    )
    intent.refunded += amount.amount
    status = domain.refund_status(intent.amount, intent.refunded)
    if intent.status != status and domain.can_move(intent.status, status):
        intent.status = status
    intent.save(update_fields=["refunded", "status"])
    audit.record(
        ctx,
        "payments.refunded",
        refund,
        after={
            "reference": part.reference,
            "amount": amount,
            "kind": kind,
            "source": refund.source,
        },
    )
    events.publish(
        "payments.refunded",
        {
            "intent": intent.public_id,
            "reference": part.reference,
            "refund": refund.public_id,
            "amount_minor": amount.amount,
            "currency": CNY,
            "kind": kind,
        },
        ctx=ctx,
    )
    return refund


def refundable_of(part: PartRow) -> Money:
    """What a goods refund may still take from ``part``."""
    if part.status == PartStatus.ESCROW:
        return _split(part).remaining
    if part.status == PartStatus.SETTLED:
        return Money(part.settlement.goods - part.refunded_goods_after, CNY)
    return Money.zero(CNY)


def tax_refundable_of(part: PartRow) -> Money:
    """What a tax refund may still take from ``part``."""
    if part.status == PartStatus.ESCROW:
        return _split(part).tax
    if part.status == PartStatus.SETTLED:
        return Money(part.settlement.tax - part.refunded_tax_after, CNY)
    return Money.zero(CNY)


def refund(
    ctx: Context, reference: str, amount: Money | None, *, request_id: str, reason: str
) -> Refund:
    """Refund ``amount`` (None: all that is left) of order ``reference`` to the buyer.

    Before settlement it comes out of escrow (tax included when all is refunded); after it,
    out of the merchant's balance at today's rate. Idempotent by ``request_id``.
    """
    _check_request_id(request_id)
    if amount is not None and (not isinstance(amount, Money) or amount.currency != CNY):
        raise ValidationFailed.single("amount", _("Refunds are in CNY."), "currency")
    with transaction.atomic():
        replay = _replay(request_id, reference, RefundKind.GOODS, amount)
        if replay is not None:
            return replay
        part = _part_for_update(reference)
        _require_refunder(ctx, part)
        left = refundable_of(part)
        wanted = left if amount is None else amount
        if wanted.amount <= 0 or wanted > left:
            raise ValidationFailed.single(
                "amount",
                _("At most %(left)s can be refunded for order %(ref)s.")
                % {"left": left, "ref": reference},
                "exceeds_refundable" if wanted.amount > 0 else "invalid",
            )
        return _apply_refund(ctx, part, RefundKind.GOODS, wanted, request_id, reason)


def refund_tax(
    ctx: Context, reference: str, *, request_id: str, released_at: dt.datetime | None = None
) -> Refund:
    """Give back the import tax of goods returned within 30 days of release.

    ``released_at`` is customs' release time (orders knows it); without it the window is
    counted from the capture, which is earlier and so never too generous.
    """
    _check_request_id(request_id)
    with transaction.atomic():
        replay = _replay(request_id, reference, RefundKind.TAX, None)
        if replay is not None:
            return replay
        part = _part_for_update(reference)
        _require_refunder(ctx, part)
        if not domain.tax_refund_open(released_at or part.intent.captured_at, clock.now()):
            raise Conflict(
                _("Tax is refunded only for goods returned within 30 days of release."),
                code="tax_refund_window_closed",
            )
        left = tax_refundable_of(part)
        if left.amount <= 0:
            raise ValidationFailed.single(
                "amount", _("There is no tax left to refund for this order."), "nothing_left"
            )
        return _apply_refund(ctx, part, RefundKind.TAX, left, request_id, "tax refund")
