"""The ledger's pure rules: TigerBeetle's model of accounts and transfers, held in memory.

No ORM here. ``services`` loads the accounts, the transfers whose ids a batch repeats and the
pending transfers it posts or voids, hands them to :func:`apply_batch`, and writes back what it
returns. Because a whole batch is decided here, in memory, the database sees one insert of the
new transfers and one update of the touched balances, whatever the batch size.

Rules (after TigerBeetle's ``create_transfers``):

* A transfer debits one account and credits another of the same currency by an amount > 0.
  It is immutable; its client-chosen ``id`` makes it idempotent: a repeated id with the same
  fields answers ``exists`` and moves nothing; with other fields, ``exists_with_different_fields``.
* Account flags forbid a side from outgrowing the other: with
  ``DEBITS_MUST_NOT_EXCEED_CREDITS`` (money the platform holds for someone, e.g. escrow, a
  merchant's balance) ``debits_pending + debits_posted + amount`` may not exceed
  ``credits_posted``; ``CREDITS_MUST_NOT_EXCEED_DEBITS`` is the mirror image.
* Two-phase transfers: a ``PENDING`` transfer reserves the amount (``*_pending`` balances);
  ``POST_PENDING`` moves all of it or part of it (the rest is released) to ``*_posted``;
  ``VOID_PENDING`` releases it; a pending transfer with a timeout expires (released) when
  its time has come. A pending transfer is resolved once: posted, voided or expired.
* ``LINKED``: a run of transfers each flagged ``LINKED``, closed by the first one that is not,
  is a chain that succeeds or fails whole. The member that failed reports its own result, the
  others ``linked_event_failed``; a chain still open at the end of the batch fails with
  ``linked_event_chain_open``. A chain member whose id already exists with the same fields is
  not a failure (a replayed chain answers ``exists`` for each member).

eHub's deviations: ``LINKED`` is not compared when a repeated id is checked (a member replayed
alone is the same movement); empty/zero optional fields of a repeated spec match what the
ledger resolved them to (``currency``, accounts and amount of a post or void).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

ID_MAX = 80
CODE_MAX = 120  # account codes, e.g. "merchant:ORG-7K4M-9QX2-HT3P-V6XZ:MYR"
WHY_MAX = 64  # TransferSpec.code
REFERENCE_MAX = 80
MEMO_MAX = 200
AMOUNT_MAX = 2**63 - 1  # BigInteger columns
TIMEOUT_MAX = 366 * 24 * 3600


class AccountFlags(enum.IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


ACCOUNT_FLAGS_ALL = int(
    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
)


class TransferFlags(enum.IntFlag):
    NONE = 0
    LINKED = 1
    PENDING = 2
    POST_PENDING = 4
    VOID_PENDING = 8


TRANSFER_FLAGS_ALL = 15
PHASE_FLAGS = TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING

# Plain ints for the hot path: IntFlag arithmetic costs a method call and an enum lookup each.
_LINKED, _PENDING, _POST, _VOID = 1, 2, 4, 8
_RESOLVING = _POST | _VOID
_DMNEC, _CMNED = 1, 2


class Result(enum.StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    ID_MUST_NOT_BE_EMPTY = "id_must_not_be_empty"
    ID_TOO_LONG = "id_too_long"
    FIELD_TOO_LONG = "field_too_long"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    FLAGS_UNKNOWN = "flags_unknown"
    DEBIT_ACCOUNT_MUST_NOT_BE_EMPTY = "debit_account_must_not_be_empty"
    CREDIT_ACCOUNT_MUST_NOT_BE_EMPTY = "credit_account_must_not_be_empty"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_EMPTY = "pending_id_must_be_empty"
    PENDING_ID_MUST_NOT_BE_EMPTY = "pending_id_must_not_be_empty"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_INVALID = "timeout_invalid"
    AMOUNT_MUST_NOT_BE_ZERO = "amount_must_not_be_zero"
    AMOUNT_MUST_NOT_BE_NEGATIVE = "amount_must_not_be_negative"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT = "pending_transfer_has_different_debit_account"
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT = "pending_transfer_has_different_credit_account"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"

    @property
    def succeeded(self) -> bool:
        """True when the transfer exists after the call (created now or before)."""
        return self in (Result.OK, Result.EXISTS)


class PendingStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TransferSpec:
    """One transfer as a client asks for it (see the module docstring for the rules)."""

    id: str  # client-chosen idempotency id (≤ 80 chars), e.g. "pay:PAY-…:escrow"
    debit: str = ""  # account codes (may be omitted on POST/VOID: taken from the pending one)
    credit: str = ""
    amount: int = 0  # minor units, > 0; on POST_PENDING 0 means "the whole pending amount"
    currency: str = ""  # empty: the accounts' currency
    flags: TransferFlags = TransferFlags.NONE
    pending_id: str = ""  # for POST_PENDING / VOID_PENDING
    timeout: int = 0  # seconds, PENDING only (0 = never expires)
    code: str = ""  # why, e.g. "escrow.capture", "settlement.commission"
    reference: str = ""  # what it is about, e.g. an order or payment public id
    memo: str = ""  # free text kept with the transfer, e.g. the FX rate used


@dataclass(frozen=True)
class TransferResult:
    id: str
    result: Result

    @property
    def ok(self) -> bool:
        return self.result.succeeded


@dataclass
class AccountState:
    """An account's balances as the batch sees them (mutated in place by apply_batch)."""

    pk: int
    code: str
    currency: str
    flags: AccountFlags = AccountFlags.NONE
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def restore(self, balances: tuple[int, int, int, int]) -> None:
        (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
        ) = balances


@dataclass(frozen=True)
class StoredTransfer:
    """A transfer as the ledger keeps it: every field resolved (accounts, amount, currency)."""

    id: str
    debit: str
    credit: str
    amount: int
    currency: str
    flags: TransferFlags
    pending_id: str = ""
    timeout: int = 0
    timeout_at: dt.datetime | None = None
    code: str = ""
    reference: str = ""
    memo: str = ""


@dataclass
class PendingState:
    """A pending transfer and whether it has been resolved."""

    transfer: StoredTransfer
    status: PendingStatus = PendingStatus.PENDING


@dataclass(frozen=True)
class Resolution:
    """How a pending transfer ended: ``by`` is the posting/voiding transfer ("" if it expired)."""

    pending_id: str
    status: PendingStatus
    by: str = ""
    amount: int = 0  # posted amount (0 when voided or expired)


@dataclass
class Outcome:
    results: list[TransferResult]
    created: list[StoredTransfer] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    touched: dict[str, AccountState] = field(default_factory=dict)  # code → state

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


# ---------------------------------------------------------------------------------------------
# Field checks that need no state
# ---------------------------------------------------------------------------------------------


def check_shape(spec: TransferSpec) -> Result | None:
    """What is wrong with ``spec`` on its own (None when nothing is)."""
    if not spec.id:
        return Result.ID_MUST_NOT_BE_EMPTY
    if len(spec.id) > ID_MAX:
        return Result.ID_TOO_LONG
    if (
        len(spec.debit) > CODE_MAX
        or len(spec.credit) > CODE_MAX
        or len(spec.code) > WHY_MAX
        or len(spec.reference) > REFERENCE_MAX
        or len(spec.memo) > MEMO_MAX
        or len(spec.pending_id) > ID_MAX
    ):
        return Result.FIELD_TOO_LONG
    flags = int(spec.flags)
    if flags & ~TRANSFER_FLAGS_ALL:
        return Result.FLAGS_UNKNOWN
    phase = flags & (_PENDING | _RESOLVING)
    if phase & (phase - 1):  # more than one bit
        return Result.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    resolving = bool(flags & _RESOLVING)
    if resolving:
        if not spec.pending_id:
            return Result.PENDING_ID_MUST_NOT_BE_EMPTY
        if spec.pending_id == spec.id:
            return Result.PENDING_ID_MUST_BE_DIFFERENT
    elif spec.pending_id:
        return Result.PENDING_ID_MUST_BE_EMPTY
    if spec.timeout < 0 or spec.timeout > TIMEOUT_MAX:
        return Result.TIMEOUT_INVALID
    if spec.timeout and not flags & _PENDING:
        return Result.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
    if spec.amount < 0:
        return Result.AMOUNT_MUST_NOT_BE_NEGATIVE
    if spec.amount > AMOUNT_MAX:
        return Result.OVERFLOWS_DEBITS
    if not resolving:
        if not spec.debit:
            return Result.DEBIT_ACCOUNT_MUST_NOT_BE_EMPTY
        if not spec.credit:
            return Result.CREDIT_ACCOUNT_MUST_NOT_BE_EMPTY
        if spec.debit == spec.credit:
            return Result.ACCOUNTS_MUST_BE_DIFFERENT
        if spec.amount == 0:
            return Result.AMOUNT_MUST_NOT_BE_ZERO
    return None


def same_fields(spec: TransferSpec, stored: StoredTransfer) -> bool:
    """Whether ``spec`` asks for the transfer ``stored`` already is (for idempotent replays)."""
    linked = ~TransferFlags.LINKED & TRANSFER_FLAGS_ALL
    if int(spec.flags) & linked != int(stored.flags) & linked:
        return False
    optional = (
        (spec.debit, stored.debit),
        (spec.credit, stored.credit),
        (spec.currency, stored.currency),
    )
    if any(given and given != kept for given, kept in optional):
        return False
    if spec.amount and spec.amount != stored.amount:
        return False
    if spec.pending_id != stored.pending_id or spec.timeout != stored.timeout:
        return False
    inherited = bool(spec.flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING))
    for given, kept in ((spec.code, stored.code), (spec.reference, stored.reference)):
        # a post/void inherits code and reference from the pending transfer when left empty
        if given != kept and not (inherited and not given):
            return False
    return spec.memo == stored.memo


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------


class _Batch:
    """State of one apply_batch call; the undo log makes a failed chain leave no trace."""

    def __init__(self, accounts, existing, pendings, now) -> None:
        self.accounts: dict[str, AccountState] = accounts
        self.existing: dict[str, StoredTransfer] = existing
        self.pendings: dict[str, PendingState] = pendings
        self.now: dt.datetime = now
        self.outcome = Outcome(results=[])
        self._undo_balances: list[tuple[AccountState, tuple[int, int, int, int]]] = []
        self._undo_pendings: list[tuple[PendingState, PendingStatus]] = []
        self._created_mark = 0
        self._resolved_mark = 0

    # -- chain bookkeeping -------------------------------------------------------------------

    def begin(self) -> None:
        self._undo_balances.clear()
        self._undo_pendings.clear()
        self._created_mark = len(self.outcome.created)
        self._resolved_mark = len(self.outcome.resolutions)

    def rollback(self) -> None:
        for state, balances in reversed(self._undo_balances):
            state.restore(balances)
        for pending, status in reversed(self._undo_pendings):
            pending.status = status
        for stored in self.outcome.created[self._created_mark :]:
            self.existing.pop(stored.id, None)
            self.pendings.pop(stored.id, None)
        del self.outcome.created[self._created_mark :]
        del self.outcome.resolutions[self._resolved_mark :]
        self.begin()

    def _touch(self, state: AccountState) -> None:
        self._undo_balances.append((state, state.balances()))
        self.outcome.touched[state.code] = state

    # -- one transfer --------------------------------------------------------------------------

    def create(self, spec: TransferSpec) -> Result:
        problem = check_shape(spec)
        if problem is not None:
            return problem
        stored = self.existing.get(spec.id)
        if stored is not None:
            return (
                Result.EXISTS if same_fields(spec, stored) else Result.EXISTS_WITH_DIFFERENT_FIELDS
            )
        flags = int(spec.flags)
        if flags & _RESOLVING:
            return self._resolve(spec)
        debit = self.accounts.get(spec.debit)
        if debit is None:
            return Result.DEBIT_ACCOUNT_NOT_FOUND
        credit = self.accounts.get(spec.credit)
        if credit is None:
            return Result.CREDIT_ACCOUNT_NOT_FOUND
        currency = spec.currency or debit.currency
        if debit.currency != currency or credit.currency != currency:
            return Result.CURRENCY_MISMATCH
        amount = spec.amount
        pending = flags & _PENDING
        if debit.debits_pending + debit.debits_posted + amount > AMOUNT_MAX:
            return Result.OVERFLOWS_DEBITS
        if credit.credits_pending + credit.credits_posted + amount > AMOUNT_MAX:
            return Result.OVERFLOWS_CREDITS
        if debit.flags & _DMNEC and (
            debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
        ):
            return Result.EXCEEDS_CREDITS
        if credit.flags & _CMNED and (
            credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
        ):
            return Result.EXCEEDS_DEBITS
        self._touch(debit)
        self._touch(credit)
        if pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        timeout_at = self.now + dt.timedelta(seconds=spec.timeout) if spec.timeout else None
        self._record(
            StoredTransfer(
                id=spec.id,
                debit=debit.code,
                credit=credit.code,
                amount=amount,
                currency=currency,
                flags=spec.flags,
                timeout=spec.timeout,
                timeout_at=timeout_at,
                code=spec.code,
                reference=spec.reference,
                memo=spec.memo,
            )
        )
        return Result.OK

    def _resolve(self, spec: TransferSpec) -> Result:
        state = self.pendings.get(spec.pending_id)
        if state is None:
            # A transfer that exists but is not pending was loaded as existing, not pending.
            if spec.pending_id in self.existing:
                return Result.PENDING_TRANSFER_NOT_PENDING
            return Result.PENDING_TRANSFER_NOT_FOUND
        pending = state.transfer
        if not int(pending.flags) & _PENDING:
            return Result.PENDING_TRANSFER_NOT_PENDING
        if spec.debit and spec.debit != pending.debit:
            return Result.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT
        if spec.credit and spec.credit != pending.credit:
            return Result.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT
        if spec.currency and spec.currency != pending.currency:
            return Result.CURRENCY_MISMATCH
        posting = bool(int(spec.flags) & _POST)
        if posting:
            if spec.amount > pending.amount:
                return Result.EXCEEDS_PENDING_TRANSFER_AMOUNT
            amount = spec.amount or pending.amount
        else:
            if spec.amount and spec.amount != pending.amount:
                return Result.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
            amount = pending.amount
        if state.status == PendingStatus.POSTED:
            return Result.PENDING_TRANSFER_ALREADY_POSTED
        if state.status == PendingStatus.VOIDED:
            return Result.PENDING_TRANSFER_ALREADY_VOIDED
        if state.status == PendingStatus.EXPIRED or (
            pending.timeout_at is not None and pending.timeout_at <= self.now
        ):
            return Result.PENDING_TRANSFER_EXPIRED
        debit = self.accounts.get(pending.debit)
        credit = self.accounts.get(pending.credit)
        if debit is None:
            return Result.DEBIT_ACCOUNT_NOT_FOUND
        if credit is None:
            return Result.CREDIT_ACCOUNT_NOT_FOUND
        # Posting moves money from the pending to the posted column of the same side, so a
        # flag that held when the pending transfer was made still holds: nothing to check.
        self._touch(debit)
        self._touch(credit)
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if posting:
            debit.debits_posted += amount
            credit.credits_posted += amount
        self._undo_pendings.append((state, state.status))
        state.status = PendingStatus.POSTED if posting else PendingStatus.VOIDED
        self.outcome.resolutions.append(
            Resolution(
                pending_id=pending.id, status=state.status, by=spec.id, amount=amount * posting
            )
        )
        self._record(
            StoredTransfer(
                id=spec.id,
                debit=pending.debit,
                credit=pending.credit,
                amount=amount,
                currency=pending.currency,
                flags=spec.flags,
                pending_id=pending.id,
                code=spec.code or pending.code,
                reference=spec.reference or pending.reference,
                memo=spec.memo,
            )
        )
        return Result.OK

    def _record(self, stored: StoredTransfer) -> None:
        self.outcome.created.append(stored)
        self.existing[stored.id] = stored
        if int(stored.flags) & _PENDING:
            self.pendings[stored.id] = PendingState(stored)


def apply_batch(
    specs: Sequence[TransferSpec],
    *,
    accounts: dict[str, AccountState],
    existing: dict[str, StoredTransfer] | None = None,
    pendings: dict[str, PendingState] | None = None,
    now: dt.datetime,
) -> Outcome:
    """Apply ``specs`` in order to the in-memory ledger; one result per spec.

    ``accounts`` must hold every account the specs (and the pending transfers they resolve)
    name, keyed by code; a missing one is reported as not found. ``existing`` holds the stored
    transfers whose ids the specs use; ``pendings`` the pending transfers they post or void.
    All three are updated in place. The outcome lists the transfers to store, the pending
    transfers resolved and the accounts whose balances changed.
    """
    batch = _Batch(accounts, {} if existing is None else existing, pendings or {}, now)
    results: list[Result] = []
    chain_start: int | None = None  # index of the first member of the open chain
    chain_failed = False
    batch.begin()
    last = len(specs) - 1
    for i, spec in enumerate(specs):
        linked = int(spec.flags) & _LINKED
        if chain_start is None:
            if not linked:
                batch.begin()
                result = batch.create(spec)
                if result != Result.OK:
                    batch.rollback()
                results.append(result)
                continue
            chain_start, chain_failed = i, False
            batch.begin()
        if chain_failed:
            results.append(Result.LINKED_EVENT_FAILED)
        else:
            result = Result.LINKED_EVENT_CHAIN_OPEN if linked and i == last else batch.create(spec)
            results.append(result)
            if not result.succeeded:
                chain_failed = True
                batch.rollback()
                for j in range(chain_start, i):
                    results[j] = Result.LINKED_EVENT_FAILED
        if not linked or i == last:  # the chain closes here
            chain_start = None
    batch.outcome.results = [TransferResult(s.id, r) for s, r in zip(specs, results, strict=True)]
    return batch.outcome


def expire(pending: PendingState, accounts: dict[str, AccountState], now: dt.datetime) -> bool:
    """Release a pending transfer whose timeout has passed; False if it is not due or resolved."""
    t = pending.transfer
    if pending.status != PendingStatus.PENDING or t.timeout_at is None or t.timeout_at > now:
        return False
    accounts[t.debit].debits_pending -= t.amount
    accounts[t.credit].credits_pending -= t.amount
    pending.status = PendingStatus.EXPIRED
    return True


def flag_problems(state: AccountState) -> list[str]:
    """Broken account rules of ``state`` (for verify); empty when the account is sound."""
    problems = []
    if int(state.flags) & ~ACCOUNT_FLAGS_ALL:
        problems.append(f"{state.code}: unknown flags {int(state.flags)}")
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if state.flags & both == both:
        problems.append(f"{state.code}: flags are mutually exclusive")
    if min(state.balances()) < 0:
        problems.append(f"{state.code}: negative balance {state.balances()}")
    if state.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        state.debits_pending + state.debits_posted > state.credits_posted
    ):
        problems.append(f"{state.code}: debits exceed credits")
    if state.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        state.credits_pending + state.credits_posted > state.debits_posted
    ):
        problems.append(f"{state.code}: credits exceed debits")
    return problems
