"""Hypothesis state machine: random create/post/void/linked/duplicate/expire sequences against
the database never break an invariant (``verify()`` after every step) and agree with a
simple model of the balances kept by the test itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from ehub.core import clock
from ehub.ledger import services
from ehub.ledger.domain import AccountFlags, Result, TransferFlags, TransferSpec

F = TransferFlags
CODES = ["plain", "wallet", "limit", "other"]
FLAGS = {
    "plain": AccountFlags.NONE,
    "wallet": AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    "limit": AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
    "other": AccountFlags.NONE,
}
accounts_st = st.sampled_from(CODES)
amounts = st.integers(1, 300)


class LedgerMachine(RuleBasedStateMachine):
    pendings = Bundle("pendings")
    done = Bundle("done")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = clock.frozen(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        self._clock.__enter__()
        for code in CODES:
            services.open_account(code, "MYR", flags=FLAGS[code])
        services.open_account("yuan", "CNY")
        self.model = {c: [0, 0, 0, 0] for c in CODES}  # dp, dpo, cp, cpo
        self.open: dict[str, tuple[str, str, int, dt.datetime | None]] = {}
        self.seq = 0

    def teardown(self) -> None:
        self._clock.__exit__(None, None, None)
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _id(self) -> str:
        self.seq += 1
        return f"t{self.seq}"

    def _allowed(self, debit: str, credit: str, amount: int) -> bool:
        d, c = self.model[debit], self.model[credit]
        if (
            FLAGS[debit] & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            and d[0] + d[1] + amount > d[3]
        ):
            return False
        return not (
            FLAGS[credit] & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
            and c[2] + c[3] + amount > c[1]
        )

    # -- rules -------------------------------------------------------------------------------

    @rule(target=done, debit=accounts_st, credit=accounts_st, amount=amounts)
    def create(self, debit, credit, amount):
        spec = TransferSpec(self._id(), debit, credit, amount, "MYR")
        [r] = services.create_transfers([spec])
        if debit == credit:
            assert r.result == Result.ACCOUNTS_MUST_BE_DIFFERENT
        elif self._allowed(debit, credit, amount):
            assert r.result == Result.OK
            self.model[debit][1] += amount
            self.model[credit][3] += amount
            return spec
        else:
            assert r.result in (Result.EXCEEDS_CREDITS, Result.EXCEEDS_DEBITS)
        return multiple()

    @rule(
        target=pendings,
        debit=accounts_st,
        credit=accounts_st,
        amount=amounts,
        timeout=st.sampled_from([0, 0, 30, 120]),
    )
    def create_pending(self, debit, credit, amount, timeout):
        spec = TransferSpec(self._id(), debit, credit, amount, flags=F.PENDING, timeout=timeout)
        [r] = services.create_transfers([spec])
        if debit != credit and self._allowed(debit, credit, amount):
            assert r.result == Result.OK
            self.model[debit][0] += amount
            self.model[credit][2] += amount
            until = clock.now() + dt.timedelta(seconds=timeout) if timeout else None
            self.open[spec.id] = (debit, credit, amount, until)
            return spec.id
        assert r.result != Result.OK
        return multiple()

    def _release(self, pid: str) -> tuple[str, str, int]:
        debit, credit, amount, _until = self.open.pop(pid)
        self.model[debit][0] -= amount
        self.model[credit][2] -= amount
        return debit, credit, amount

    def _is_open(self, pid: str) -> bool:
        if pid not in self.open:
            return False
        until = self.open[pid][3]
        return until is None or until > clock.now()

    @rule(target=done, pid=consumes(pendings), part=st.integers(0, 300))
    def post(self, pid, part):
        spec = TransferSpec(self._id(), flags=F.POST_PENDING, pending_id=pid, amount=part)
        [r] = services.create_transfers([spec])
        if not self._is_open(pid):
            assert r.result != Result.OK
            return multiple()
        if part > self.open[pid][2]:
            assert r.result == Result.EXCEEDS_PENDING_TRANSFER_AMOUNT
            return multiple()
        assert r.result == Result.OK
        debit, credit, amount = self._release(pid)
        posted = part or amount
        self.model[debit][1] += posted
        self.model[credit][3] += posted
        return spec

    @rule(target=done, pid=consumes(pendings))
    def void(self, pid):
        spec = TransferSpec(self._id(), flags=F.VOID_PENDING, pending_id=pid)
        [r] = services.create_transfers([spec])
        if self._is_open(pid):
            assert r.result == Result.OK
            self._release(pid)
            return spec
        assert r.result in (
            Result.PENDING_TRANSFER_NOT_FOUND,
            Result.PENDING_TRANSFER_EXPIRED,
            Result.PENDING_TRANSFER_ALREADY_POSTED,
            Result.PENDING_TRANSFER_ALREADY_VOIDED,
        )
        return multiple()

    @rule(
        moves=st.lists(st.tuples(accounts_st, accounts_st, amounts), min_size=1, max_size=4),
        cross_currency=st.booleans(),
    )
    def linked(self, moves, cross_currency):
        specs = [TransferSpec(self._id(), d, c, a) for d, c, a in moves]
        if cross_currency:  # a member that must fail: the whole chain goes
            specs.append(TransferSpec(self._id(), "plain", "yuan", 1))
        before = {c: list(v) for c, v in self.model.items()}
        try:
            services.transfer(*specs)
        except services.LedgerRejected:
            self.model = before
            return
        # succeeded: every move must have been allowed in sequence
        for d, c, a in moves:
            assert d != c and self._allowed(d, c, a)
            self.model[d][1] += a
            self.model[c][3] += a
        assert not cross_currency

    @rule(spec=done, tweak=st.booleans())
    def duplicate(self, spec, tweak):
        """Replaying a created transfer never moves money; other fields are told apart."""
        replay = TransferSpec(
            **{**spec.__dict__, "amount": spec.amount + tweak if spec.debit else spec.amount}
        )
        changed = tweak and bool(spec.debit)
        [r] = services.create_transfers([replay])
        assert r.result == (Result.EXISTS_WITH_DIFFERENT_FIELDS if changed else Result.EXISTS)

    @rule(pid=pendings)
    def duplicate_pending(self, pid):
        [r] = services.create_transfers([TransferSpec(pid, "plain", "other", 1)])
        assert r.result == Result.EXISTS_WITH_DIFFERENT_FIELDS

    @rule(seconds=st.sampled_from([10, 60, 200]))
    def expire(self, seconds):
        clock.advance(dt.timedelta(seconds=seconds))
        due = [p for p, (_d, _c, _a, until) in self.open.items() if until and until <= clock.now()]
        assert services.expire_pending() == len(due)
        for pid in due:
            self._release(pid)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def ledger_is_sound(self):
        assert services.verify() == []

    @invariant()
    def balances_match_the_model(self):
        for code in CODES:
            b = services.balance(code)
            stored = [b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted]
            assert stored == self.model[code], code


@pytest.mark.django_db
def test_random_ledger_histories_keep_every_invariant():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
