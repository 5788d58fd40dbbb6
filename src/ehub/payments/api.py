"""Payments API (``/api/v1/payments/``): payment intents, refunds, balances, payouts.

Scoped to the caller: an intent is visible to its buyer, the merchants of its parts and platform
staff; refunds, balance and payouts to the merchant organization (another one gets 404).
``POST /refunds`` honours ``Idempotency-Key``: the same key with the same body answers the
first response again; with another body, 409 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of
from ehub.core import clock
from ehub.core.errors import NotFound, ValidationFailed
from ehub.core.money import Money

from . import payouts, services
from .models import ApiIdempotency, Refund

router = Router(tags=["payments"])


class PartOut(Schema):
    reference: str
    merchant: str
    goods_minor: int
    freight_minor: int
    tax_minor: int
    status: str


class IntentOut(Schema):
    id: str
    status: str
    amount_minor: int
    currency: str
    refunded_minor: int
    checkout_url: str
    provider: str
    created_at: datetime
    captured_at: datetime | None
    parts: list[PartOut]


def _intent_out(intent) -> dict:
    return {
        "id": intent.public_id,
        "status": intent.status,
        "amount_minor": intent.amount,
        "currency": intent.currency,
        "refunded_minor": intent.refunded,
        "checkout_url": intent.checkout_url,
        "provider": intent.provider,
        "created_at": intent.created_at,
        "captured_at": intent.captured_at,
        "parts": [
            {
                "reference": p.reference,
                "merchant": p.merchant_org.public_id,
                "goods_minor": p.goods,
                "freight_minor": p.freight,
                "tax_minor": p.tax,
                "status": p.status,
            }
            for p in intent.parts.all()
        ],
    }


@router.get("/intents/{public_id}", response=IntentOut, summary="A payment intent")
def get_intent(request: HttpRequest, public_id: str):
    return _intent_out(services.get_intent(ctx_of(request), public_id))


class RefundIn(Schema):
    reference: str = Field(..., max_length=60, description="The order's public id.")
    amount_minor: int | None = Field(
        None, description="CNY fen to refund; omit for all that is left."
    )
    reason: str = Field("", max_length=300)


class RefundOut(Schema):
    id: str = Field(alias="public_id")
    reference: str
    kind: str
    amount_minor: int = Field(alias="amount")
    currency: str = "CNY"
    source: str
    merchant_amount_minor: int | None = Field(None, alias="merchant_amount")
    rate: str | None
    created_at: datetime

    @staticmethod
    def resolve_reference(obj) -> str:
        return obj["reference"] if isinstance(obj, dict) else obj.part.reference

    @staticmethod
    def resolve_rate(obj) -> str | None:
        rate = obj["rate"] if isinstance(obj, dict) else obj.rate
        return str(rate) if rate is not None else None


def _refund_out(refund: Refund) -> dict:
    # Stored for Idempotency-Key replays, so a retry gets byte-for-byte the same answer.
    return json.loads(RefundOut.from_orm(refund).model_dump_json())


@router.get("/refunds", response=list[RefundOut], summary="Refunds of my orders")
@paginate(Page)
def list_refunds(request: HttpRequest, reference: str = ""):
    return services.refunds_visible_to(ctx_of(request), reference)


@router.post(
    "/refunds",
    response={201: RefundOut},
    summary="Refund an order (Idempotency-Key header required)",
)
def create_refund(request: HttpRequest, body: RefundIn):
    ctx = ctx_of(request)
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed.single(
            "header.Idempotency-Key",
            _("Send an Idempotency-Key header (1-100 characters)."),
            "required",
        )
    digest = hashlib.sha256(
        json.dumps(body.dict(), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    scope = {
        "org_id": ctx.org_id,
        "user_id": ctx.user.pk if ctx.is_authenticated else None,
        "path": "payments.refunds",
        "key": key,
    }
    seen = ApiIdempotency.objects.filter(**scope).first()
    if seen is not None:
        if seen.body_hash != digest:
            raise services.IdempotencyKeyReused(
                _("This Idempotency-Key was used with a different request body.")
            )
        return JsonResponse(seen.response, status=seen.status)
    if not services.parts_visible_to(ctx).filter(reference=body.reference).exists():
        raise NotFound(_("No such order."))
    amount = None if body.amount_minor is None else Money(body.amount_minor, "CNY")
    request_id = f"api:{ctx.org_id}:{key}"
    with transaction.atomic():
        refund = services.refund(
            ctx, body.reference, amount, request_id=request_id, reason=body.reason
        )
        answer = _refund_out(refund)
        try:
            with transaction.atomic():
                ApiIdempotency.objects.create(
                    **scope, body_hash=digest, status=201, response=answer, created_at=clock.now()
                )
        except IntegrityError:
            pass  # a concurrent retry stored the same answer
    return JsonResponse(answer, status=201)


class BalanceOut(Schema):
    available_minor: int
    currency: str
    in_escrow_minor: int
    escrow_currency: str
    paid_out_minor: int


@router.get("/balance", response=BalanceOut, summary="My merchant balance")
def get_balance(request: HttpRequest):
    ctx = ctx_of(request)
    payouts.require_merchant(ctx)
    b = payouts.balance_of(ctx.org)
    return {
        "available_minor": b.available.amount,
        "currency": b.available.currency,
        "in_escrow_minor": b.in_escrow.amount,
        "escrow_currency": b.in_escrow.currency,
        "paid_out_minor": b.paid_out.amount,
    }


class PayoutOut(Schema):
    id: str = Field(alias="public_id")
    batch: str
    run_on: str
    amount_minor: int = Field(alias="amount")
    currency: str = "MYR"
    bank: str = Field(alias="bank_name")
    account: str = Field(alias="masked_number")

    @staticmethod
    def resolve_batch(obj) -> str:
        return obj.batch.public_id

    @staticmethod
    def resolve_run_on(obj) -> str:
        return obj.batch.run_on.isoformat()


@router.get("/payouts", response=list[PayoutOut], summary="My payouts")
@paginate(Page)
def list_payouts(request: HttpRequest):
    return payouts.payouts_of(ctx_of(request))
