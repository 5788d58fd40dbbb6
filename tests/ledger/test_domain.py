"""The ledger's pure rules, without a database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.ledger.domain import (
    AccountFlags,
    AccountState,
    PendingState,
    PendingStatus,
    Result,
    StoredTransfer,
    TransferFlags,
    TransferSpec,
    apply_batch,
    check_shape,
    expire,
    flag_problems,
    same_fields,
)

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
F = TransferFlags
DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def books(**balances):
    accounts = {
        "bank": AccountState(1, "bank", "MYR"),
        "shop": AccountState(2, "shop", "MYR"),
        "wallet": AccountState(3, "wallet", "MYR", DMNEC),
        "cny": AccountState(4, "cny", "CNY"),
    }
    for code, cp in balances.items():
        accounts[code].credits_posted = cp
    return accounts


def test_shape_checks():
    assert check_shape(TransferSpec("a", "x", "y", 1)) is None
    assert check_shape(TransferSpec("a", "x", "y", 1, flags=F(16))) == Result.FLAGS_UNKNOWN
    assert check_shape(TransferSpec("a", flags=F.POST_PENDING, pending_id="a")) == (
        Result.PENDING_ID_MUST_BE_DIFFERENT
    )
    assert check_shape(TransferSpec("a", "x", "y", 1, code="c" * 65)) == Result.FIELD_TOO_LONG
    assert check_shape(TransferSpec("a", "x", "y", 1, flags=F.PENDING, timeout=-1)) == (
        Result.TIMEOUT_INVALID
    )
    assert check_shape(TransferSpec("a", "", "y", 1)) == Result.DEBIT_ACCOUNT_MUST_NOT_BE_EMPTY
    assert check_shape(TransferSpec("a", "x", "", 1)) == Result.CREDIT_ACCOUNT_MUST_NOT_BE_EMPTY
    # a post may omit accounts and amount
    assert check_shape(TransferSpec("a", flags=F.POST_PENDING, pending_id="p")) is None


def test_batch_applies_in_order_and_reports_each():
    accounts = books()
    out = apply_batch(
        [
            TransferSpec("1", "bank", "wallet", 100),
            TransferSpec("2", "wallet", "shop", 60),
            TransferSpec("3", "wallet", "shop", 60),
            TransferSpec("4", "wallet", "shop", 40),
        ],
        accounts=accounts,
        now=NOW,
    )
    assert [r.result for r in out.results] == [
        Result.OK,
        Result.OK,
        Result.EXCEEDS_CREDITS,
        Result.OK,
    ]
    assert [t.id for t in out.created] == ["1", "2", "4"]
    assert accounts["wallet"].balances() == (0, 100, 0, 100)
    assert set(out.touched) == {"bank", "wallet", "shop"}
    assert out.created[0].currency == "MYR"  # resolved from the accounts


def test_failed_chain_restores_balances_and_pendings():
    accounts = books(wallet=50)
    pend = StoredTransfer("p", "bank", "shop", 30, "MYR", F.PENDING)
    accounts["bank"].debits_pending = accounts["shop"].credits_pending = 30
    pendings = {"p": PendingState(pend)}
    existing = {"p": pend}
    out = apply_batch(
        [
            TransferSpec("a", flags=F.POST_PENDING | F.LINKED, pending_id="p"),
            TransferSpec("b", "bank", "wallet", 10, flags=F.LINKED),
            TransferSpec("c", "wallet", "shop", 61),
        ],
        accounts=accounts,
        existing=existing,
        pendings=pendings,
        now=NOW,
    )
    assert [r.result for r in out.results] == [
        Result.LINKED_EVENT_FAILED,
        Result.LINKED_EVENT_FAILED,
        Result.EXCEEDS_CREDITS,
    ]
    assert out.created == [] and out.resolutions == []
    assert pendings["p"].status == PendingStatus.PENDING
    assert accounts["bank"].balances() == (30, 0, 0, 0)
    assert accounts["wallet"].balances() == (0, 0, 0, 50)
    assert "a" not in existing


def test_chain_after_a_failed_chain_still_runs():
    accounts = books()
    out = apply_batch(
        [
            TransferSpec("a", "bank", "shop", 1, flags=F.LINKED),
            TransferSpec("b", "bank", "nope", 1),
            TransferSpec("c", "bank", "shop", 2, flags=F.LINKED),
            TransferSpec("d", "bank", "shop", 3),
        ],
        accounts=accounts,
        now=NOW,
    )
    assert [r.result for r in out.results] == [
        Result.LINKED_EVENT_FAILED,
        Result.CREDIT_ACCOUNT_NOT_FOUND,
        Result.OK,
        Result.OK,
    ]
    assert accounts["shop"].credits_posted == 5


def test_pending_timeout_and_expiry():
    accounts = books()
    out = apply_batch(
        [TransferSpec("p", "bank", "shop", 10, flags=F.PENDING, timeout=60)],
        accounts=accounts,
        now=NOW,
    )
    stored = out.created[0]
    assert stored.timeout_at == NOW + dt.timedelta(seconds=60)
    state = PendingState(stored)
    assert not expire(state, accounts, NOW + dt.timedelta(seconds=59))
    assert expire(state, accounts, NOW + dt.timedelta(seconds=60))
    assert state.status == PendingStatus.EXPIRED
    assert accounts["bank"].balances() == (0, 0, 0, 0)
    assert not expire(state, accounts, NOW + dt.timedelta(days=1))  # once
    late = apply_batch(
        [TransferSpec("q", flags=F.POST_PENDING, pending_id="p")],
        accounts=accounts,
        existing={"p": stored},
        pendings={"p": state},
        now=NOW,
    )
    assert late.results[0].result == Result.PENDING_TRANSFER_EXPIRED


def test_same_fields_ignores_linked_and_accepts_omitted_fields():
    stored = StoredTransfer("x", "bank", "shop", 5, "MYR", F.LINKED, code="c")
    assert same_fields(TransferSpec("x", "bank", "shop", 5, "MYR", code="c"), stored)
    assert same_fields(TransferSpec("x", "bank", "shop", 5, code="c"), stored)
    assert not same_fields(TransferSpec("x", "bank", "shop", 5), stored)
    post = StoredTransfer("y", "bank", "shop", 5, "MYR", F.POST_PENDING, pending_id="p", code="c")
    assert same_fields(TransferSpec("y", flags=F.POST_PENDING, pending_id="p"), post)
    assert not same_fields(TransferSpec("y", flags=F.POST_PENDING, pending_id="p", amount=4), post)


def test_flag_problems():
    good = AccountState(1, "w", "MYR", DMNEC, 0, 5, 0, 5)
    assert flag_problems(good) == []
    assert flag_problems(AccountState(1, "w", "MYR", DMNEC, 1, 5, 0, 5)) == [
        "w: debits exceed credits"
    ]
    assert flag_problems(AccountState(1, "w", "MYR", AccountFlags(3))) == [
        "w: flags are mutually exclusive"
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["bank", "shop", "wallet", "cny"]),
            st.sampled_from(["bank", "shop", "wallet", "cny"]),
            st.integers(0, 200),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_any_batch_keeps_debits_equal_to_credits_and_flags(moves):
    accounts = books(wallet=100)
    accounts["bank"].debits_posted = 100
    specs = [
        TransferSpec(str(i), d, c, amount, flags=F.LINKED if linked else F.NONE)
        for i, (d, c, amount, linked) in enumerate(moves)
    ]
    out = apply_batch(specs, accounts=accounts, now=NOW)
    assert len(out.results) == len(specs)
    for state in accounts.values():
        assert flag_problems(state) == []
    myr = [a for a in accounts.values() if a.currency == "MYR"]
    assert sum(a.debits_posted for a in myr) == sum(a.credits_posted for a in myr)
    assert len(out.created) == sum(r.result == Result.OK for r in out.results)
    # every created transfer moved its amount once; nothing else moved
    created = sum(t.amount for t in out.created)
    assert sum(a.credits_posted for a in myr) == 100 + created
    assert all(t.currency == "MYR" for t in out.created)


@pytest.mark.parametrize("flags", [F.PENDING, F.NONE])
def test_overflow_refused(flags):
    accounts = books()
    accounts["bank"].debits_posted = 2**63 - 2
    out = apply_batch(
        [TransferSpec("o", "bank", "shop", 5, flags=flags)], accounts=accounts, now=NOW
    )
    assert out.results[0].result == Result.OVERFLOWS_DEBITS
