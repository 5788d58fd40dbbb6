"""Escrow, settlement and refunds against the real ledger; verify() is clean after each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import FxRate
from ehub.ledger import services as ledger
from ehub.ledger.domain import TransferFlags
from ehub.ledger.models import Transfer
from ehub.payments import domain, services
from ehub.payments.models import CommissionRate, Refund

from .conftest import cny


def _bal(code):
    return ledger.balance(code)


def test_capture_holds_each_part_pending_in_escrow(make_intent, pay, merchants, ledger_clean):
    intent = pay(make_intent(parts=[(0, 10000, 1500, 1050), (1, 5000, 800, 500)]))
    assert intent.status == "captured"
    escrow = _bal(domain.ESCROW)
    assert escrow.credits_pending == intent.amount and escrow.credits_posted == 0
    provider = _bal(domain.provider_account("sandbox"))
    assert provider.debits_pending == intent.amount
    first = intent.parts.order_by("pk")[0]
    assert first.status == "escrow" and first.total == 12550
    ledger_clean()


def test_settle_posts_escrow_pays_tax_converts_and_takes_commission(
    make_intent, pay, merchants, system, ledger_clean
):
    intent = pay(make_intent(parts=[(0, 10000, 1500, 1050)]))
    ref = intent.parts.get().reference
    settlement = services.settle(system, ref)
    # goods + freight 115.00 CNY × 0.65 = 74.75 MYR; 5 % commission = 3.74 (half-up of 3.7375)
    assert settlement.tax == 1050 and settlement.goods == 11500
    assert settlement.gross == 7475 and settlement.commission == 374 and settlement.net == 7101
    assert settlement.rate == Decimal("0.65")
    assert _bal(domain.ESCROW).credit_balance == 0
    assert _bal(domain.ESCROW).credits_pending == 0
    assert _bal(domain.CUSTOMS_TAX).credit_balance == 1050
    assert _bal(domain.COMMISSION).credit_balance == 374
    assert _bal(domain.merchant_account(merchants[0].public_id)).credit_balance == 7101
    # idempotent
    assert services.settle(system, ref).pk == settlement.pk
    assert _bal(domain.merchant_account(merchants[0].public_id)).credit_balance == 7101
    ledger_clean()


def test_commission_rate_per_merchant_and_category(make_intent, pay, merchants, system):
    CommissionRate.objects.create(merchant_org=None, category="food", rate=Decimal("0.08"))
    CommissionRate.objects.create(merchant_org=merchants[0], category="", rate=Decimal("0.03"))
    CommissionRate.objects.create(merchant_org=merchants[0], category="food", rate=Decimal("0.02"))
    assert services.commission_rate(merchants[0].pk, "food") == Decimal("0.02")
    assert services.commission_rate(merchants[0].pk, "textile") == Decimal("0.03")
    assert services.commission_rate(merchants[1].pk, "food") == Decimal("0.08")
    assert services.commission_rate(merchants[1].pk, "textile") == Decimal("0.05")
    intent = pay(make_intent(parts=[(0, 10000, 0, 0)], category="food"))
    settlement = services.settle(system, intent.parts.get().reference)
    assert settlement.commission_rate == Decimal("0.02") and settlement.commission == 130


def test_full_refund_before_settlement_voids_escrow(make_intent, pay, system, ledger_clean):
    intent = pay(make_intent())
    ref = intent.parts.get().reference
    refund = services.refund(system, ref, None, request_id="rej-1", reason="customs rejected")
    assert refund.amount == intent.amount and refund.source == "escrow"
    assert _bal(domain.ESCROW).credits_pending == 0
    assert _bal(domain.provider_account("sandbox")).debits_pending == 0
    intent.refresh_from_db()
    assert intent.status == "refunded"
    with pytest.raises(Conflict):
        services.settle(system, ref)
    # idempotent by request id
    assert services.refund(system, ref, None, request_id="rej-1", reason="again").pk == refund.pk
    assert Refund.objects.count() == 1
    ledger_clean()


def test_partial_refund_before_settlement_posts_only_the_rest(
    make_intent, pay, merchants, system, ledger_clean
):
    intent = pay(make_intent(parts=[(0, 10000, 1500, 1050)]))
    ref = intent.parts.get().reference
    services.refund(system, ref, cny(2000), request_id="p-1", reason="one item missing")
    intent.refresh_from_db()
    assert intent.status == "partially_refunded"
    # The ledger shows the refund at once: escrow holds only the remainder, pending.
    held = _bal(domain.ESCROW)
    assert (held.credits_pending, held.credits_posted) == (12550 - 2000, 0)
    services.refund(system, ref, cny(500), request_id="p-2", reason="and one more")
    assert _bal(domain.ESCROW).credits_pending == 12550 - 2500
    ledger_clean()
    services.refund(system, ref, cny(500), request_id="p-2", reason="and one more")  # replay
    assert _bal(domain.ESCROW).credits_pending == 12550 - 2500
    settlement = services.settle(system, ref)
    assert settlement.posted == 12550 - 2500 and settlement.tax == 1050
    assert settlement.goods == 9000
    assert _bal(domain.provider_account("sandbox")).debit_balance == 10050
    assert _bal(domain.ESCROW).credit_balance == 0
    ledger_clean()


def test_over_refund_names_amount_and_writes_nothing(make_intent, pay, system):
    intent = pay(make_intent())
    ref = intent.parts.get().reference
    with pytest.raises(ValidationFailed) as exc:
        services.refund(system, ref, cny(intent.amount + 1), request_id="big", reason="")
    assert exc.value.errors[0].field == "amount"
    assert not Refund.objects.exists()
    intent.refresh_from_db()
    assert intent.refunded == 0


def test_reused_request_id_for_other_amount_conflicts(make_intent, pay, system):
    intent = pay(make_intent())
    ref = intent.parts.get().reference
    services.refund(system, ref, cny(100), request_id="same", reason="")
    with pytest.raises(Conflict):
        services.refund(system, ref, cny(200), request_id="same", reason="")


def test_refund_after_settlement_debits_merchant_at_new_rate(
    make_intent, pay, merchants, system, ledger_clean
):
    intent = pay(make_intent(parts=[(0, 10000, 1500, 1050)]))
    ref = intent.parts.get().reference
    services.settle(system, ref)
    FxRate.objects.create(
        base="CNY", quote="MYR", rate=Decimal("0.6"), source="test", as_of=clock.now()
    )
    refund = services.refund(system, ref, cny(3333), request_id="ret-1", reason="returned")
    assert refund.source == "merchant" and refund.rate == Decimal("0.6")
    assert refund.merchant_amount == 2000  # 33.33 × 0.6 = 19.998 → 20.00
    merchant = _bal(domain.merchant_account(merchants[0].public_id))
    assert merchant.credit_balance == 7101 - 2000
    # the provider got exactly the CNY refunded
    assert _bal(domain.provider_account("sandbox")).debit_balance == 12550 - 3333
    # what is left to refund is goods + freight less this refund
    assert services.refundable_of(intent.parts.get()) == cny(11500 - 3333)
    with pytest.raises(ValidationFailed):
        services.refund(system, ref, cny(11500), request_id="ret-2", reason="")
    ledger_clean()


def test_tax_refund_after_settlement_within_30_days(make_intent, pay, system, ledger_clean):
    intent = pay(make_intent(parts=[(0, 10000, 1500, 1050)]))
    ref = intent.parts.get().reference
    services.settle(system, ref)
    refund = services.refund_tax(system, ref, request_id="tax-1", released_at=clock.now())
    assert refund.kind == "tax" and refund.amount == 1050 and refund.source == "customs_tax"
    assert _bal(domain.CUSTOMS_TAX).credit_balance == 0
    with pytest.raises(ValidationFailed):
        services.refund_tax(system, ref, request_id="tax-2", released_at=clock.now())
    ledger_clean()


def test_tax_refund_window_closes_after_30_days(make_intent, pay, system):
    intent = pay(make_intent())
    ref = intent.parts.get().reference
    services.settle(system, ref)
    with pytest.raises(Conflict) as exc:
        services.refund_tax(
            system, ref, request_id="late", released_at=clock.now() - timedelta(days=31)
        )
    assert exc.value.code == "tax_refund_window_closed"


def test_merchant_may_refund_own_order_only(make_intent, pay, merchants, make_user):
    from ehub.core.context import Context

    intent = pay(make_intent())
    ref = intent.parts.get().reference
    other = make_user(org=merchants[1])
    ctx = Context(user=other, org=merchants[1], roles=frozenset({"owner"}))
    with pytest.raises(PermissionDenied):
        services.refund(ctx, ref, cny(1), request_id="x", reason="")
    owner = make_user(org=merchants[0])
    ctx = Context(user=owner, org=merchants[0], roles=frozenset({"owner"}))
    assert services.refund(ctx, ref, cny(1), request_id="y", reason="").amount == 1


def test_unknown_reference_is_not_found(system, db):
    with pytest.raises(NotFound):
        services.settle(system, "ORD-NOPE")


def test_cancel_intent_before_capture_and_conflict_after(make_intent, pay, buyer_ctx):
    intent = make_intent()
    assert services.cancel_intent(buyer_ctx, intent.public_id, "changed mind").status == "cancelled"
    assert services.cancel_intent(buyer_ctx, intent.public_id, "again").status == "cancelled"
    paid = pay(make_intent())
    with pytest.raises(Conflict):
        services.cancel_intent(buyer_ctx, paid.public_id, "too late")


def test_create_intent_is_idempotent_by_key(make_intent, buyer, buyer_ctx, merchants):
    first = make_intent(key="k1")
    again = services.create_intent(
        buyer_ctx,
        buyer=buyer,
        parts=[
            services.PaymentPart(
                reference=p.reference,
                merchant_org_id=p.merchant_org_id,
                goods=cny(p.goods),
                freight=cny(p.freight),
                tax=cny(p.tax),
            )
            for p in first.parts.all()
        ],
        idempotency_key="k1",
        return_url="/orders/",
    )
    assert again.pk == first.pk
    with pytest.raises(Conflict):
        make_intent(key="k1")


def test_create_intent_validates_fields(buyer, buyer_ctx, merchants, db):
    with pytest.raises(ValidationFailed) as exc:
        services.create_intent(
            buyer_ctx,
            buyer=buyer,
            parts=[
                services.PaymentPart(
                    reference="ORD-1",
                    merchant_org_id=merchants[0].pk,
                    goods=Money_myr(),
                    freight=cny(0),
                    tax=cny(-1),
                )
            ],
            idempotency_key="k",
            return_url="https://evil.example/",
        )
    fields = {e.field for e in exc.value.errors}
    assert {"parts[0].goods", "parts[0].tax"} <= fields


def Money_myr():
    from ehub.core.money import Money

    return Money(100, "MYR")


# ---------------------------------------------------------------------------------------------
# Property: money is conserved whatever the sequence of refunds and settlement
# ---------------------------------------------------------------------------------------------

part_amounts = st.tuples(st.integers(1, 500_000), st.integers(0, 50_000), st.integers(0, 80_000))
actions = st.lists(
    st.one_of(
        st.tuples(st.just("refund"), st.integers(1, 600_000)),
        st.tuples(st.just("refund_all"), st.just(0)),
        st.tuples(st.just("settle"), st.just(0)),
        st.tuples(st.just("tax"), st.just(0)),
    ),
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(amounts=part_amounts, steps=actions)
def test_money_is_conserved(make_intent, pay, merchants, system, amounts, steps):
    goods, freight, tax = amounts
    intent = pay(make_intent(parts=[(0, goods, freight, tax)]))
    ref = intent.parts.get().reference
    for n, (kind, value) in enumerate(steps):
        request_id = f"{intent.public_id}-{n}"
        try:
            if kind == "refund":
                services.refund(system, ref, cny(value), request_id=request_id, reason="")
            elif kind == "refund_all":
                services.refund(system, ref, None, request_id=request_id, reason="")
            elif kind == "settle":
                services.settle(system, ref)
            else:
                services.refund_tax(system, ref, request_id=request_id)
        except (ValidationFailed, Conflict):
            pass  # refused: must have written nothing (checked by the balance below)
    part = intent.parts.get()
    refunds = sum(r.amount for r in Refund.objects.filter(part=part))
    settlement = getattr(part, "settlement", None)
    captured = goods + freight + tax
    if settlement is None:
        # not settled: what is left is still held, in escrow's open pending transfers for this
        # order (none when all was refunded). Other examples' holds share the escrow account.
        holds = Transfer.objects.filter(
            reference=ref,
            credit_account__code=domain.ESCROW,
            flags__in=[f for f in range(16) if f & TransferFlags.PENDING],
            resolution__isnull=True,
        )
        held = sum(holds.values_list("amount", flat=True))
        left = captured - refunds
        assert part.status in ("escrow", "refunded")
        assert held == left and (left > 0) == (part.status == "escrow")
    else:
        # captured = settled goods (in CNY) + tax to customs + refunds taken before settlement
        assert settlement.goods + settlement.tax + (captured - settlement.posted) == captured
        assert settlement.gross - settlement.commission == settlement.net
        refunded_after = part.refunded_goods_after + part.refunded_tax_after
        assert refunds == captured - settlement.posted + refunded_after
    assert intent.amount == captured
    assert ledger.verify() == []
