"""The intent state machine: random event sequences only ever move an intent forward."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ehub.payments import domain
from ehub.payments.domain import IntentStatus

STATUSES = list(IntentStatus)


@given(st.lists(st.sampled_from(STATUSES), max_size=30))
def test_random_events_only_move_forward(targets):
    status = IntentStatus.CREATED
    history = [status]
    for target in targets:
        if domain.can_move(status, target):
            assert domain.rank(target) >= domain.rank(status)
            status = target
            history.append(status)
    # once terminal, nothing moves
    for target in STATUSES:
        if status in domain.TERMINAL:
            assert not domain.can_move(status, target)
    # captured is never followed by authorized or created
    if IntentStatus.CAPTURED in history:
        after = history[history.index(IntentStatus.CAPTURED) :]
        assert IntentStatus.AUTHORIZED not in after and IntentStatus.CREATED not in after
        assert IntentStatus.CANCELLED not in after


def test_paid_intents_cannot_be_cancelled():
    for status in domain.PAID:
        assert not domain.can_move(status, IntentStatus.CANCELLED)


@given(st.integers(1, 10**9), st.integers(0, 10**9))
def test_refund_status(captured, refunded):
    status = domain.refund_status(captured, refunded)
    if refunded == 0:
        assert status == IntentStatus.CAPTURED
    elif refunded >= captured:
        assert status == IntentStatus.REFUNDED
    else:
        assert status == IntentStatus.PARTIALLY_REFUNDED


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(0, 10**7), st.integers(0, 10**6))
def test_split_escrow_conserves(goods, tax, refunded_goods, refunded_tax):
    from ehub.core.money import Money

    def cny(n):
        return Money(n, "CNY")

    total = goods + tax
    if refunded_goods + refunded_tax > total or refunded_tax > tax:
        return
    split = domain.split_escrow(cny(goods), cny(tax), cny(refunded_goods), cny(refunded_tax))
    assert split.remaining.amount == total - refunded_goods - refunded_tax
    assert split.tax.amount + split.goods.amount == split.remaining.amount
    assert 0 <= split.tax.amount <= tax - refunded_tax
    assert split.goods.amount >= 0


def test_escrow_hold_ids_count_the_holds_replaced():
    assert domain.escrow_id("PAY-1", "ORD-1") == "pay:PAY-1:ORD-1:escrow"
    assert domain.escrow_id("PAY-1", "ORD-1", 2) == "pay:PAY-1:ORD-1:escrow:2"


def test_tax_refund_window_is_30_days():
    from datetime import UTC, datetime, timedelta

    released = datetime(2025, 3, 1, tzinfo=UTC)
    assert domain.tax_refund_open(released, released + timedelta(days=30))
    assert not domain.tax_refund_open(released, released + timedelta(days=30, seconds=1))
    assert not domain.tax_refund_open(None, released)


@given(st.integers(1, 10**8), st.decimals("0.1", "2", places=6))
def test_merchant_refund_converts_back_exactly(fen, rate):
    from ehub.core.fx import apply_rate
    from ehub.core.money import Money, Rounding

    amount = Money(fen, "CNY")
    myr, back = domain.merchant_refund(amount, rate)
    assert myr.currency == "MYR" and myr.amount >= 1
    assert apply_rate(myr, "CNY", back, Rounding.HALF_UP) == amount
