"""Ledger use cases: open accounts, create transfers (batched), balances, FX, expiry, verify.

Engines above (payments) call these with plain :class:`~ehub.ledger.domain.TransferSpec`
values; the ledger knows nothing of orders or payments, only account codes and client ids.

How a batch is written (``create_transfers``), in one transaction (a savepoint when nested):

1. one query loads the transfers whose ids the batch uses or posts/voids (idempotency);
2. one query locks every account involved, in primary-key order (``SELECT … ORDER BY id FOR
   UPDATE``), so two batches touching the same accounts queue instead of deadlocking;
3. one query reads, under those locks, whether the pending transfers are already resolved;
4. the whole batch is applied in memory by ``domain.apply_batch``;
5. the new transfers are written with ``core.db.insert_rows`` (one ``COPY`` on PostgreSQL, one
   ``executemany`` on SQLite), the resolutions likewise, and the balances with one
   ``UPDATE … FROM unnest(…)``.

Raw SQL here interpolates only table and column names taken from the models (hence the S608
waivers); every value goes as a parameter.

A failed transfer or chain writes nothing. Two batches racing to create the same new id meet
on the unique index; the loser is retried once from step 1 and then answers ``exists``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ehub.accounts.services import require_platform_staff
from ehub.core import clock
from ehub.core.db import insert_rows
from ehub.core.errors import Conflict, NotFound, ValidationFailed
from ehub.core.fx import apply_rate
from ehub.core.money import Money, Rounding
from ehub.core.money import currency as iso_currency

from . import domain
from .domain import (
    AccountFlags,
    AccountState,
    PendingState,
    PendingStatus,
    Result,
    StoredTransfer,
    TransferFlags,
    TransferResult,
    TransferSpec,
)
from .models import Account, PendingResolution, Transfer

__all__ = [
    "AccountFlags",
    "Balance",
    "LedgerRejected",
    "Result",
    "TransferFlags",
    "TransferResult",
    "TransferSpec",
    "balance",
    "balances",
    "create_transfers",
    "exchange_specs",
    "expire_pending",
    "get_account",
    "open_account",
    "transfer",
    "verify",
]

_CHUNK = 5000  # ids per IN (…) on SQLite (its variable limit is 32,766)
_RETRIES = 2


class LedgerRejected(Conflict):
    """``transfer()`` could not move the money: ``result`` says why, for ``transfer_id``."""

    code = "ledger_rejected"
    title = _("The ledger refused the transfer.")

    def __init__(self, result: Result, transfer_id: str, message: Any = None) -> None:
        self.result = Result(result)
        self.transfer_id = transfer_id
        super().__init__(
            message
            or _("Ledger transfer %(id)s was refused: %(result)s.")
            % {"id": transfer_id, "result": self.result.value}
        )


@dataclass(frozen=True)
class Balance:
    """An account's four balances (minor units) and the views services usually want."""

    currency: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def credit_balance(self) -> int:
        """What the account holds for someone (liability/income accounts): credits − debits."""
        return self.credits_posted - self.debits_posted

    @property
    def debit_balance(self) -> int:
        """What the account is owed / holds as an asset: debits − credits."""
        return self.debits_posted - self.credits_posted

    @property
    def available_credit(self) -> int:
        """Credit balance less what pending debits have reserved (what may still be debited
        from a ``debits_must_not_exceed_credits`` account)."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def available_debit(self) -> int:
        return self.debits_posted - self.credits_posted - self.credits_pending

    @property
    def pending_credit(self) -> int:
        """Credits reserved by pending transfers (e.g. escrow awaiting completion)."""
        return self.credits_pending

    @property
    def pending_debit(self) -> int:
        return self.debits_pending

    def money(self, amount: int) -> Money:
        """``amount`` (one of the figures above) as Money in the account's currency."""
        return Money(amount, self.currency)


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSpec:
    """An account to open: its code, currency, flags, and (for display) a name and an org."""

    code: str
    currency: str
    flags: AccountFlags | int = AccountFlags.NONE
    name: str = ""
    org: Any = None


def _checked(spec: AccountSpec) -> AccountSpec:
    code = spec.code
    if not isinstance(code, str) or not code.strip() or code != code.strip():
        raise ValidationFailed.single("code", _("An account code must not be empty."))
    if len(code) > domain.CODE_MAX:
        raise ValidationFailed.single(
            "code", _("An account code has at most %(n)d characters.") % {"n": domain.CODE_MAX}
        )
    iso_currency(spec.currency)
    flags = int(spec.flags)
    if flags not in (0, 1, 2):
        raise ValidationFailed.single(
            "flags",
            _(
                "Unknown flags, or both debits_must_not_exceed_credits "
                "and credits_must_not_exceed_debits."
            ),
        )
    return dataclasses.replace(spec, flags=flags)


def open_accounts(specs: Iterable[AccountSpec]) -> dict[str, Account]:
    """The accounts of ``specs`` by code, each created on first use (idempotent by code).

    One query when they all exist (the usual case on a payment's hot path), three when some
    are new. Opening an existing code with another currency or other flags is a Conflict: an
    account's currency and rules never change under the transfers already made on it.
    """
    wanted = {spec.code: spec for spec in map(_checked, specs)}
    found = Account.objects.in_bulk(list(wanted), field_name="code")
    _same_definition(wanted, found)  # before creating anything: a refusal writes nothing
    missing = [spec for code, spec in wanted.items() if code not in found]
    if missing:
        # Opened concurrently by another transaction: theirs stands (ignore_conflicts), and
        # is held to the same definition below.
        Account.objects.bulk_create(
            [
                Account(
                    code=spec.code,
                    currency=spec.currency,
                    flags=spec.flags,
                    name=spec.name[:200],
                    org=spec.org,
                )
                for spec in missing
            ],
            ignore_conflicts=True,
        )
        created = Account.objects.in_bulk([spec.code for spec in missing], field_name="code")
        _same_definition(wanted, created)
        found.update(created)
    return found


def _same_definition(wanted: dict[str, AccountSpec], accounts: dict[str, Account]) -> None:
    for code, account in accounts.items():
        spec = wanted[code]
        if account.currency != spec.currency or account.flags != spec.flags:
            raise Conflict(
                _("Ledger account %(code)s exists with currency %(currency)s and flags %(flags)d.")
                % {"code": code, "currency": account.currency, "flags": account.flags},
                code="ledger_account_exists",
            )


def open_account(
    code: str,
    currency: str,
    *,
    flags: AccountFlags | int = AccountFlags.NONE,
    name: str = "",
    org: Any = None,
) -> Account:
    """The account ``code``, created on first call (see :func:`open_accounts`)."""
    spec = AccountSpec(code, currency, flags, name, org)
    return open_accounts([spec])[code]


def get_account(code: str) -> Account:
    account = Account.objects.filter(code=code).first()
    if account is None:
        raise NotFound(_("Ledger account %(code)s not found.") % {"code": code})
    return account


def balances(codes: Iterable[str]) -> dict[str, Balance]:
    """The balances of the accounts named, by code, in one query (unknown codes left out)."""
    rows = Account.objects.filter(code__in=list(codes)).values_list(
        "code", "currency", "debits_pending", "debits_posted", "credits_pending", "credits_posted"
    )
    return {code: Balance(*figures) for code, *figures in rows}


def balance(code: str) -> Balance:
    found = balances([code]).get(code)
    if found is None:
        raise NotFound(_("Ledger account %(code)s not found.") % {"code": code})
    return found


# ---------------------------------------------------------------------------------------------
# Transfers
# ---------------------------------------------------------------------------------------------


def _check_types(specs: Sequence[TransferSpec]) -> list[TransferSpec]:
    checked = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, TransferSpec):
            raise TypeError(f"specs[{i}] must be a TransferSpec, not {type(spec).__name__}")
        if isinstance(spec.amount, bool) or not isinstance(spec.amount, int):
            raise TypeError(
                f"specs[{i}].amount must be an int of minor units, not {type(spec.amount).__name__}"
            )
        if not isinstance(spec.flags, TransferFlags):
            spec = dataclasses.replace(spec, flags=TransferFlags(int(spec.flags)))
        checked.append(spec)
    return checked


def create_transfers(specs: Sequence[TransferSpec]) -> list[TransferResult]:
    """Create a batch of transfers; one result per spec, in order. See the module docstring.

    Never raises for a business failure (it is a result); raises TypeError for specs that are
    not TransferSpec with int amounts.
    """
    specs = _check_types(specs)
    if not specs:
        return []
    for attempt in range(_RETRIES + 1):
        try:
            with transaction.atomic():
                return _create_batch(specs, clock.now())
        except IntegrityError:
            # Another batch created one of our new ids between our read and our write; the
            # retry reads it and answers exists / exists_with_different_fields.
            if attempt == _RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def transfer(*specs: TransferSpec) -> list[Transfer]:
    """All-or-nothing: link ``specs`` into one chain and create it; raise LedgerRejected if not.

    A replay (every id already exists with the same fields) returns the existing transfers.
    """
    if not specs:
        raise ValueError("transfer() needs at least one TransferSpec")
    specs = tuple(_check_types(specs))
    last = len(specs) - 1
    chained = [
        dataclasses.replace(
            spec,
            flags=spec.flags | TransferFlags.LINKED
            if i < last
            else spec.flags & ~TransferFlags.LINKED,
        )
        for i, spec in enumerate(specs)
    ]
    results = create_transfers(chained)
    failed = [r for r in results if not r.ok]
    if failed:
        cause = next((r for r in failed if r.result != Result.LINKED_EVENT_FAILED), failed[0])
        raise LedgerRejected(cause.result, cause.id)
    by_id = Transfer.objects.select_related("debit_account", "credit_account").in_bulk(
        [s.id for s in specs], field_name="client_id"
    )
    return [by_id[s.id] for s in specs]


def _chunks(values: Sequence, size: int = _CHUNK):
    for i in range(0, len(values), size):
        yield values[i : i + size]


_T = Transfer._meta.db_table
_A = Account._meta.db_table
_R = PendingResolution._meta.db_table
_TRANSFER_COLUMNS = (
    "client_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "flags",
    "pending_id",
    "timeout",
    "timeout_at",
    "code",
    "reference",
    "memo",
    "created_at",
)
_RESOLUTION_COLUMNS = ("pending_id", "status", "resolved_by_id", "amount", "resolved_at")
# What a stored transfer is read back as (the row ``_stored`` takes): all but created_at.
_STORED_COLUMNS = tuple(c for c in _TRANSFER_COLUMNS if c != "created_at")


def _in_rows(cursor, sql: str, values: Sequence) -> list[tuple]:
    """Run ``sql`` (with one ``{in}`` placeholder) for ``values``: one query on PostgreSQL."""
    if not values:
        return []
    if connection.vendor == "postgresql":
        cursor.execute(sql.format(cond="= ANY(%s)"), [list(values)])
        return cursor.fetchall()
    rows: list[tuple] = []
    for part in _chunks(list(values)):
        cursor.execute(sql.format(cond="IN (" + ",".join(["%s"] * len(part)) + ")"), part)
        rows.extend(cursor.fetchall())
    return rows


def _load_transfers(cursor, ids: Iterable[str]) -> list[tuple]:
    return _in_rows(
        cursor,
        f"SELECT {', '.join(_STORED_COLUMNS)} FROM {_T} WHERE client_id {{cond}}",  # noqa: S608
        list(ids),
    )


def _lock_accounts(cursor, codes: Iterable[str], pks: Iterable[int]) -> list[tuple]:
    """Lock and load the accounts named by code or pk, in pk order (no deadlocks)."""
    codes, pks = list(codes), list(pks)
    cols = (
        "id, code, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted"
    )
    if connection.vendor == "postgresql":
        cursor.execute(
            f"SELECT {cols} FROM {_A} WHERE code = ANY(%s) OR id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
            [codes, pks],
        )
        return cursor.fetchall()
    # SQLite: the IMMEDIATE transaction already holds the database's single write lock.
    rows = {}
    for part in _chunks(codes):
        q = f"SELECT {cols} FROM {_A} WHERE code IN ({','.join(['%s'] * len(part))})"  # noqa: S608
        cursor.execute(q, part)
        rows.update({r[0]: r for r in cursor.fetchall()})
    for part in _chunks(pks):
        q = f"SELECT {cols} FROM {_A} WHERE id IN ({','.join(['%s'] * len(part))})"  # noqa: S608
        cursor.execute(q, part)
        rows.update({r[0]: r for r in cursor.fetchall()})
    return [rows[pk] for pk in sorted(rows)]


def _state(row: tuple) -> AccountState:
    pk, code, ccy, flags, dp, dpo, cp, cpo = row
    return AccountState(pk, code, ccy, flags, dp, dpo, cp, cpo)  # int: hot path


def _stored(row: tuple, code_of: dict[int, str]) -> StoredTransfer:
    cid, debit, credit, amount, ccy, flags, pending, timeout, timeout_at, code, ref, memo = row
    return StoredTransfer(
        id=cid,
        debit=code_of.get(debit, ""),
        credit=code_of.get(credit, ""),
        amount=amount,
        currency=ccy,
        flags=TransferFlags(flags),
        pending_id=pending or "",
        timeout=timeout,
        timeout_at=_aware(timeout_at),
        code=code,
        reference=ref,
        memo=memo,
    )


def _aware(value):
    # raw SQLite rows give naive UTC datetimes (or strings) where PostgreSQL gives aware ones
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _create_batch(specs: list[TransferSpec], now: dt.datetime) -> list[TransferResult]:
    ids = {s.id for s in specs if s.id}
    pending_ids = {s.pending_id for s in specs if s.pending_id}
    with connection.cursor() as cursor:
        known = _load_transfers(cursor, ids | pending_ids)
        codes = {c for s in specs for c in (s.debit, s.credit) if c}
        pks = {pk for row in known for pk in (row[1], row[2])}
        states = [_state(row) for row in _lock_accounts(cursor, codes, pks)]
        code_of = {s.pk: s.code for s in states}
        existing = {row[0]: _stored(row, code_of) for row in known}
        pendings: dict[str, PendingState] = {}
        wanted = [
            pid
            for pid in pending_ids
            if pid in existing and existing[pid].flags & TransferFlags.PENDING
        ]
        if wanted:
            resolved = dict(
                _in_rows(
                    cursor,
                    f"SELECT pending_id, status FROM {_R} WHERE pending_id {{cond}}",  # noqa: S608
                    wanted,
                )
            )
            for pid in wanted:
                pendings[pid] = PendingState(
                    existing[pid], PendingStatus(resolved.get(pid, PendingStatus.PENDING))
                )
        accounts = {s.code: s for s in states}
        outcome = domain.apply_batch(
            specs, accounts=accounts, existing=existing, pendings=pendings, now=now
        )
        if outcome.created:
            pk_of = {s.code: s.pk for s in states}
            _write(cursor, outcome, pk_of, now)
    if any(t.timeout for t in outcome.created):
        from .tasks import schedule_expiry_sweep

        schedule_expiry_sweep()
    return outcome.results


def _write(cursor, outcome: domain.Outcome, pk_of: dict[str, int], now: dt.datetime) -> None:
    transfers = [
        (
            t.id,
            pk_of[t.debit],
            pk_of[t.credit],
            t.amount,
            t.currency,
            int(t.flags),
            t.pending_id or None,
            t.timeout,
            t.timeout_at,
            t.code,
            t.reference,
            t.memo,
            now,
        )
        for t in outcome.created
    ]
    resolutions = [
        (r.pending_id, str(r.status), r.by or None, r.amount, now) for r in outcome.resolutions
    ]
    # COPY / executemany; a duplicate id raises Django's IntegrityError (→ retry) on both
    insert_rows(_T, _TRANSFER_COLUMNS, transfers)
    insert_rows(_R, _RESOLUTION_COLUMNS, resolutions)
    _update_balances(cursor, outcome.touched.values())


def _update_balances(cursor, states: Iterable[AccountState]) -> None:
    states = list(states)
    if not states:
        return
    cols = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    if connection.vendor == "postgresql":
        cursor.execute(
            f"UPDATE {_A} AS a SET "  # noqa: S608
            + ", ".join(f"{c} = v.{c}" for c in cols)
            + " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
            f" AS v(id, {', '.join(cols)}) WHERE a.id = v.id",
            [[s.pk for s in states], *([getattr(s, c) for s in states] for c in cols)],
        )
        return
    cursor.executemany(
        f"UPDATE {_A} SET " + ", ".join(f"{c} = %s" for c in cols) + " WHERE id = %s",  # noqa: S608
        [(*s.balances(), s.pk) for s in states],
    )


# ---------------------------------------------------------------------------------------------
# Currency conversion
# ---------------------------------------------------------------------------------------------


def fx_account(currency: str) -> str:
    return f"fx:{currency}"


def exchange_specs(
    id: str,
    *,
    debit: str,
    credit: str,
    amount: Money,
    to_currency: str,
    rate: Decimal,
    rounding: Rounding = Rounding.HALF_UP,
    code: str = "fx",
    reference: str = "",
) -> tuple[list[TransferSpec], Money]:
    """Two linked specs converting ``amount`` at ``rate`` (1 from = rate to), and the result.

    ``debit`` (in ``amount.currency``) pays ``fx:<FROM>``; ``fx:<TO>`` pays ``credit`` (in
    ``to_currency``) the converted amount, rounded once as named. The FX accounts are opened
    on demand; the rate and rounding are recorded in both transfers' memo. Ids are
    ``<id>:from`` and ``<id>:to``. The first spec is LINKED to the second, so the pair is one
    chain; ``transfer()`` links it with whatever else it is given.
    """
    if not isinstance(amount, Money):
        raise TypeError("exchange_specs takes the amount as Money")
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ValidationFailed.single("rate", _("The exchange rate must be a positive decimal."))
    if amount.amount <= 0:
        raise ValidationFailed.single("amount", _("The amount to convert must be positive."))
    iso_currency(to_currency)
    if to_currency == amount.currency:
        raise ValidationFailed.single(
            "to_currency", _("Converting needs two different currencies.")
        )
    rounding = Rounding(rounding)
    converted = apply_rate(amount, to_currency, rate, rounding)
    if converted.amount <= 0:
        raise ValidationFailed.single("amount", _("The amount converts to nothing at this rate."))
    source, target = fx_account(amount.currency), fx_account(to_currency)
    open_accounts(
        [
            AccountSpec(source, amount.currency, name=f"FX position {amount.currency}"),
            AccountSpec(target, to_currency, name=f"FX position {to_currency}"),
        ]
    )
    memo = f"rate {amount.currency}/{to_currency} {rate} {rounding.name}"
    specs = [
        TransferSpec(
            id=f"{id}:from",
            debit=debit,
            credit=source,
            amount=amount.amount,
            currency=amount.currency,
            flags=TransferFlags.LINKED,
            code=code,
            reference=reference,
            memo=memo,
        ),
        TransferSpec(
            id=f"{id}:to",
            debit=target,
            credit=credit,
            amount=converted.amount,
            currency=to_currency,
            code=code,
            reference=reference,
            memo=memo,
        ),
    ]
    return specs, converted


# ---------------------------------------------------------------------------------------------
# Expiry
# ---------------------------------------------------------------------------------------------


def expire_pending(now: dt.datetime | None = None, *, batch_size: int = 1000) -> int:
    """Release every pending transfer whose timeout has passed; returns how many expired."""
    now = now or clock.now()
    total = 0
    while True:
        with transaction.atomic():
            due = list(
                Transfer.objects.filter(
                    timeout_at__lte=now,
                    resolution__isnull=True,
                    flags__in=[f for f in range(16) if f & TransferFlags.PENDING],
                )
                .order_by("timeout_at", "id")
                .values_list(*_STORED_COLUMNS)[:batch_size]
            )
            if not due:
                return total
            with connection.cursor() as cursor:
                pks = {pk for row in due for pk in (row[1], row[2])}
                states = [_state(r) for r in _lock_accounts(cursor, [], pks)]
                code_of = {s.pk: s.code for s in states}
                accounts = {s.code: s for s in states}
                # Re-read under the locks: a post or void may have won meanwhile.
                resolved = {
                    r[0]
                    for r in _in_rows(
                        cursor,
                        f"SELECT pending_id FROM {_R} WHERE pending_id {{cond}}",  # noqa: S608
                        [row[0] for row in due],
                    )
                }
                expired = []
                for row in due:
                    if row[0] in resolved:
                        continue
                    pending = PendingState(_stored(row, code_of))
                    if domain.expire(pending, accounts, now):
                        expired.append((row[0], str(PendingStatus.EXPIRED), None, 0, now))
                insert_rows(_R, _RESOLUTION_COLUMNS, expired)
                _update_balances(cursor, states)
            total += len(expired)
        if len(due) < batch_size:
            return total


# ---------------------------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------------------------


def verify(limit: int = 50) -> list[str]:
    """Check the ledger's invariants; returns the problems found (empty when all hold).

    * per currency, Σ debits = Σ credits (posted, and pending);
    * every account's stored balances equal the sums of its transfers (posted: plain and
      posting transfers; pending: pending transfers not yet resolved);
    * every account's flags hold and no balance is negative;
    * a transfer's currency is its accounts'; a resolution matches the transfer that made it.
    """
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, code, currency, flags, debits_pending, debits_posted, credits_pending, "  # noqa: S608
            f"credits_posted FROM {_A} ORDER BY id"
        )
        states = [_state(row) for row in cursor.fetchall()]
        totals: dict[str, list[int]] = {}
        for s in states:
            problems.extend(domain.flag_problems(s))
            t = totals.setdefault(s.currency, [0, 0, 0, 0])
            for i, v in enumerate(s.balances()):
                t[i] += v
        for ccy, (dp, dpo, cp, cpo) in sorted(totals.items()):
            if dpo != cpo:
                problems.append(f"{ccy}: Σ debits posted {dpo} ≠ Σ credits posted {cpo}")
            if dp != cp:
                problems.append(f"{ccy}: Σ debits pending {dp} ≠ Σ credits pending {cp}")

        sums: dict[int, list[int]] = {s.pk: [0, 0, 0, 0] for s in states}
        posted = f"(t.flags & {int(TransferFlags.PENDING | TransferFlags.VOID_PENDING)}) = 0"
        open_pending = f"(t.flags & {int(TransferFlags.PENDING)}) <> 0 AND r.pending_id IS NULL"
        for side, col in (("debit", 0), ("credit", 2)):
            cursor.execute(
                f"SELECT t.{side}_account_id, SUM(t.amount) FROM {_T} t "  # noqa: S608
                f"WHERE {posted} GROUP BY t.{side}_account_id"
            )
            for pk, total in cursor.fetchall():
                sums.setdefault(pk, [0, 0, 0, 0])[col + 1] = int(total)
            cursor.execute(
                f"SELECT t.{side}_account_id, SUM(t.amount) FROM {_T} t "  # noqa: S608
                f"LEFT JOIN {_R} r ON r.pending_id = t.client_id "
                f"WHERE {open_pending} GROUP BY t.{side}_account_id"
            )
            for pk, total in cursor.fetchall():
                sums.setdefault(pk, [0, 0, 0, 0])[col] = int(total)
        for s in states:
            expected = tuple(sums.get(s.pk, [0, 0, 0, 0]))
            if s.balances() != expected:
                problems.append(
                    f"{s.code}: stored balances (dp, dpo, cp, cpo) {s.balances()} "
                    f"≠ sums of transfers {expected}"
                )

        cursor.execute(
            f"SELECT t.client_id FROM {_T} t LEFT JOIN {_A} d ON d.id = t.debit_account_id "  # noqa: S608
            f"LEFT JOIN {_A} c ON c.id = t.credit_account_id "
            f"WHERE d.id IS NULL OR c.id IS NULL "
            f"OR t.currency <> d.currency OR t.currency <> c.currency "
            f"OR t.debit_account_id = t.credit_account_id OR t.amount <= 0 LIMIT {int(limit)}"
        )
        problems.extend(
            f"transfer {cid}: accounts or amount invalid" for (cid,) in cursor.fetchall()
        )

        post, void = int(TransferFlags.POST_PENDING), int(TransferFlags.VOID_PENDING)
        # Every post/void is the recorded resolution of its pending transfer, with its amount.
        cursor.execute(
            f"SELECT t.client_id FROM {_T} t LEFT JOIN {_R} r ON r.resolved_by_id = t.client_id "  # noqa: S608
            f"LEFT JOIN {_T} p ON p.client_id = t.pending_id "
            f"WHERE (t.flags & {post | void}) <> 0 AND ("
            f"r.pending_id IS NULL OR r.pending_id <> t.pending_id "
            f"OR p.debit_account_id <> t.debit_account_id "
            f"OR p.credit_account_id <> t.credit_account_id "
            f"OR ((t.flags & {post}) <> 0 AND (r.status <> 'posted' OR r.amount <> t.amount "
            f"OR t.amount > p.amount)) "
            f"OR ((t.flags & {void}) <> 0 AND (r.status <> 'voided' OR t.amount <> p.amount))"
            f") LIMIT {int(limit)}"
        )
        problems.extend(
            f"transfer {cid}: does not match the resolution of its pending transfer"
            for (cid,) in cursor.fetchall()
        )
        cursor.execute(
            f"SELECT r.pending_id FROM {_R} r JOIN {_T} p ON p.client_id = r.pending_id "  # noqa: S608
            f"WHERE (p.flags & {int(TransferFlags.PENDING)}) = 0 LIMIT {int(limit)}"
        )
        problems.extend(
            f"resolution of {pid}: the transfer is not pending" for (pid,) in cursor.fetchall()
        )
    return problems


# ---------------------------------------------------------------------------------------------
# Reads for platform staff (API, ops pages)
# ---------------------------------------------------------------------------------------------


def list_accounts(ctx, *, currency: str = "", prefix: str = ""):
    """Accounts with their balances, by code; platform staff only."""
    require_platform_staff(ctx)
    qs = Account.objects.select_related("org").order_by("code")
    if currency:
        qs = qs.filter(currency=currency)
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    return qs


def account_for(ctx, code: str) -> Account:
    """One account; platform staff only (others get PermissionDenied before any lookup)."""
    require_platform_staff(ctx)
    account = Account.objects.select_related("org").filter(code=code).first()
    if account is None:
        raise NotFound(_("Ledger account %(code)s not found.") % {"code": code})
    return account


def account_transfers(code: str) -> QuerySet:
    """The transfers debiting or crediting account ``code`` (unordered; callers scope who may
    read them). For contexts that show an account's movements to its owner."""
    return Transfer.objects.filter(Q(debit_account__code=code) | Q(credit_account__code=code))


def transfers_of(ctx, code: str):
    """The transfers debiting or crediting ``code``, newest first; platform staff only."""
    account_for(ctx, code)
    return (
        account_transfers(code)
        .select_related("debit_account", "credit_account", "resolution")
        .order_by("-id")
    )
