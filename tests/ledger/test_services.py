"""Ledger services on the database: idempotency, chains, two-phase transfers, flags, FX."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, ValidationFailed
from ehub.core.money import Money, Rounding
from ehub.ledger import services
from ehub.ledger.domain import AccountFlags, Result, TransferFlags, TransferSpec
from ehub.ledger.models import ImmutableTransfer, PendingResolution, Transfer
from ehub.ledger.services import LedgerRejected

from .conftest import assert_ledger_sound

pytestmark = pytest.mark.django_db

DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def results(specs):
    return [r.result for r in services.create_transfers(specs)]


@pytest.fixture
def books(accounts):
    accounts("bank:MYR", "sales:MYR")
    accounts("wallet:MYR", flags=DMNEC)
    accounts("bank:CNY", "escrow:CNY", currency="CNY")
    yield
    assert_ledger_sound()


def test_open_account_is_idempotent_and_refuses_changes(db):
    a = services.open_account("escrow:CNY", "CNY", flags=DMNEC, name="Escrow")
    assert services.open_account("escrow:CNY", "CNY", flags=DMNEC).pk == a.pk
    with pytest.raises(Conflict):
        services.open_account("escrow:CNY", "MYR", flags=DMNEC)
    with pytest.raises(Conflict):
        services.open_account("escrow:CNY", "CNY")
    with pytest.raises(ValidationFailed) as exc:
        services.open_account("x", "CNY", flags=3)
    assert exc.value.errors[0].field == "flags"
    with pytest.raises(ValidationFailed):
        services.open_account("", "CNY")
    with pytest.raises(NotFound):
        services.get_account("nope")


def test_open_accounts_opens_many_in_few_queries(db, django_assert_num_queries):
    spec = services.AccountSpec
    wanted = [spec("escrow:CNY", "CNY", DMNEC, "Escrow"), spec("fee:MYR", "MYR")]
    with django_assert_num_queries(3):  # look up, insert the missing, read them back
        opened = services.open_accounts(wanted)
    assert {code: (a.currency, a.flags) for code, a in opened.items()} == {
        "escrow:CNY": ("CNY", int(DMNEC)),
        "fee:MYR": ("MYR", 0),
    }
    with django_assert_num_queries(1):  # all exist: one lookup
        again = services.open_accounts([*wanted, spec("escrow:CNY", "CNY", DMNEC)])
    assert {a.pk for a in again.values()} == {a.pk for a in opened.values()}
    with pytest.raises(Conflict):
        services.open_accounts([spec("fee:MYR", "MYR", DMNEC), spec("new:MYR", "MYR")])
    assert not services.Account.objects.filter(code="new:MYR").exists()  # nothing half-opened


def test_simple_transfer_moves_balances(books):
    assert results([TransferSpec("t1", "bank:MYR", "sales:MYR", 1500, "MYR")]) == [Result.OK]
    b = services.balance("sales:MYR")
    assert (b.credits_posted, b.credit_balance, b.debits_posted) == (1500, 1500, 0)
    assert services.balance("bank:MYR").debit_balance == 1500
    assert b.money(b.credit_balance) == Money(1500, "MYR")


def test_repeated_id_returns_exists_and_never_moves_twice(books):
    spec = TransferSpec("t1", "bank:MYR", "sales:MYR", 1500, "MYR", code="sale", reference="O-1")
    assert results([spec]) == [Result.OK]
    assert results([spec, spec]) == [Result.EXISTS, Result.EXISTS]
    assert services.balance("sales:MYR").credits_posted == 1500
    assert Transfer.objects.count() == 1
    # the same id in one batch: the second answers exists
    twice = TransferSpec("t2", "bank:MYR", "sales:MYR", 5, "MYR")
    assert results([twice, twice]) == [Result.OK, Result.EXISTS]
    assert services.balance("sales:MYR").credits_posted == 1505


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 1501},
        {"credit": "wallet:MYR"},
        {"code": "other"},
        {"reference": "O-2"},
        {"flags": TransferFlags.PENDING},
    ],
)
def test_reused_id_with_other_fields(books, change):
    spec = TransferSpec("t1", "bank:MYR", "sales:MYR", 1500, "MYR", code="sale", reference="O-1")
    services.create_transfers([spec])
    fields = {**spec.__dict__, **change}
    assert results([TransferSpec(**fields)]) == [Result.EXISTS_WITH_DIFFERENT_FIELDS]
    assert services.balance("sales:MYR").credits_posted == 1500


def test_validation_results(books):
    specs = [
        TransferSpec("", "bank:MYR", "sales:MYR", 1),
        TransferSpec("x" * 81, "bank:MYR", "sales:MYR", 1),
        TransferSpec("a", "bank:MYR", "bank:MYR", 1),
        TransferSpec("b", "bank:MYR", "sales:MYR", 0),
        TransferSpec("c", "nope", "sales:MYR", 1),
        TransferSpec("d", "bank:MYR", "nope", 1),
        TransferSpec("e", "bank:MYR", "escrow:CNY", 1),
        TransferSpec("f", "bank:MYR", "sales:MYR", 1, "CNY"),
        TransferSpec(
            "g",
            "bank:MYR",
            "sales:MYR",
            1,
            flags=TransferFlags.PENDING | TransferFlags.POST_PENDING,
        ),
        TransferSpec("h", "bank:MYR", "sales:MYR", 1, timeout=10),
        TransferSpec("i", "bank:MYR", "sales:MYR", -1),
        TransferSpec("j", flags=TransferFlags.POST_PENDING),
        TransferSpec("k", "bank:MYR", "sales:MYR", 1, pending_id="zz"),
    ]
    assert results(specs) == [
        Result.ID_MUST_NOT_BE_EMPTY,
        Result.ID_TOO_LONG,
        Result.ACCOUNTS_MUST_BE_DIFFERENT,
        Result.AMOUNT_MUST_NOT_BE_ZERO,
        Result.DEBIT_ACCOUNT_NOT_FOUND,
        Result.CREDIT_ACCOUNT_NOT_FOUND,
        Result.CURRENCY_MISMATCH,
        Result.CURRENCY_MISMATCH,
        Result.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        Result.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER,
        Result.AMOUNT_MUST_NOT_BE_NEGATIVE,
        Result.PENDING_ID_MUST_NOT_BE_EMPTY,
        Result.PENDING_ID_MUST_BE_EMPTY,
    ]
    assert Transfer.objects.count() == 0
    with pytest.raises(TypeError):
        services.create_transfers([TransferSpec("m", "bank:MYR", "sales:MYR", Money(1, "MYR"))])


def test_flag_debits_must_not_exceed_credits_refuses(books):
    assert results([TransferSpec("fund", "bank:MYR", "wallet:MYR", 1000)]) == [Result.OK]
    assert results([TransferSpec("over", "wallet:MYR", "sales:MYR", 1001)]) == [
        Result.EXCEEDS_CREDITS
    ]
    # pending debits count against what is available
    assert results(
        [
            TransferSpec("hold", "wallet:MYR", "sales:MYR", 600, flags=TransferFlags.PENDING),
            TransferSpec("more", "wallet:MYR", "sales:MYR", 401),
            TransferSpec("rest", "wallet:MYR", "sales:MYR", 400),
        ]
    ) == [Result.OK, Result.EXCEEDS_CREDITS, Result.OK]
    b = services.balance("wallet:MYR")
    assert b.available_credit == 0 and b.pending_debit == 600
    # voiding the hold makes its 600 available again
    assert results(
        [TransferSpec("unhold", flags=TransferFlags.VOID_PENDING, pending_id="hold")]
    ) == [Result.OK]
    assert services.balance("wallet:MYR").available_credit == 600


def test_credits_must_not_exceed_debits(accounts):
    accounts("limit:MYR", flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    accounts("other:MYR")
    assert results([TransferSpec("a", "other:MYR", "limit:MYR", 1)]) == [Result.EXCEEDS_DEBITS]
    assert results(
        [
            TransferSpec("b", "limit:MYR", "other:MYR", 5),
            TransferSpec("c", "other:MYR", "limit:MYR", 5),
        ]
    ) == [Result.OK, Result.OK]
    assert_ledger_sound()


def test_linked_chain_failure_rolls_back_all(books):
    L = TransferFlags.LINKED
    specs = [
        TransferSpec("c1", "bank:MYR", "wallet:MYR", 100, flags=L),
        TransferSpec("c2", "wallet:MYR", "sales:MYR", 100, flags=L),
        TransferSpec("c3", "wallet:MYR", "sales:MYR", 1),  # exceeds: wallet is empty again
        TransferSpec("solo", "bank:MYR", "sales:MYR", 7),
    ]
    assert results(specs) == [
        Result.LINKED_EVENT_FAILED,
        Result.LINKED_EVENT_FAILED,
        Result.EXCEEDS_CREDITS,
        Result.OK,
    ]
    assert list(Transfer.objects.values_list("client_id", flat=True)) == ["solo"]
    assert services.balance("wallet:MYR").credits_posted == 0
    # ids of a failed chain are free to use again
    assert (
        results([*specs[:2], TransferSpec("c3", "bank:MYR", "sales:MYR", 100)]) == [Result.OK] * 3
    )


def test_open_chain_at_end_of_batch_fails(books):
    L = TransferFlags.LINKED
    specs = [
        TransferSpec("a", "bank:MYR", "sales:MYR", 1, flags=L),
        TransferSpec("b", "bank:MYR", "sales:MYR", 1, flags=L),
    ]
    assert results(specs) == [Result.LINKED_EVENT_FAILED, Result.LINKED_EVENT_CHAIN_OPEN]
    assert Transfer.objects.count() == 0


def test_transfer_all_or_nothing_and_replay(books):
    a = TransferSpec("x1", "bank:MYR", "wallet:MYR", 50)
    b = TransferSpec("x2", "wallet:MYR", "sales:MYR", 80)
    with pytest.raises(LedgerRejected) as exc:
        services.transfer(a, b)
    assert exc.value.result == Result.EXCEEDS_CREDITS and exc.value.transfer_id == "x2"
    assert exc.value.status == 409
    assert Transfer.objects.count() == 0
    b = TransferSpec("x2", "wallet:MYR", "sales:MYR", 50)
    made = services.transfer(a, b)
    assert [t.client_id for t in made] == ["x1", "x2"]
    assert made[0].transfer_flags & TransferFlags.LINKED
    again = services.transfer(a, b)
    assert [t.pk for t in again] == [t.pk for t in made]
    assert services.balance("sales:MYR").credits_posted == 50


def test_pending_post_whole(books):
    P = TransferFlags.PENDING
    services.transfer(TransferSpec("fund", "bank:CNY", "escrow:CNY", 10_000, "CNY"))
    services.transfer(
        TransferSpec(
            "hold", "escrow:CNY", "bank:CNY", 3000, "CNY", flags=P, code="escrow", reference="O-9"
        )
    )
    b = services.balance("escrow:CNY")
    assert (b.debits_pending, b.debits_posted) == (3000, 0)
    [post] = services.transfer(
        TransferSpec("post", flags=TransferFlags.POST_PENDING, pending_id="hold")
    )
    assert (post.amount, post.code, post.reference) == (3000, "escrow", "O-9")
    assert post.debit_account.code == "escrow:CNY"
    b = services.balance("escrow:CNY")
    assert (b.debits_pending, b.debits_posted) == (0, 3000)
    r = PendingResolution.objects.get(pending_id="hold")
    assert (r.status, r.resolved_by_id, r.amount) == ("posted", "post", 3000)
    # resolved once
    again = [TransferSpec("post2", flags=TransferFlags.POST_PENDING, pending_id="hold")]
    assert results(again) == [Result.PENDING_TRANSFER_ALREADY_POSTED]
    again = [TransferSpec("void2", flags=TransferFlags.VOID_PENDING, pending_id="hold")]
    assert results(again) == [Result.PENDING_TRANSFER_ALREADY_POSTED]
    # replaying the post is idempotent
    assert results([TransferSpec("post", flags=TransferFlags.POST_PENDING, pending_id="hold")]) == [
        Result.EXISTS
    ]


def test_partial_post_releases_the_rest(books):
    P = TransferFlags.PENDING
    services.transfer(TransferSpec("hold", "bank:CNY", "escrow:CNY", 3000, "CNY", flags=P))
    assert results(
        [TransferSpec("too much", amount=3001, flags=TransferFlags.POST_PENDING, pending_id="hold")]
    ) == [Result.EXCEEDS_PENDING_TRANSFER_AMOUNT]
    services.transfer(
        TransferSpec("part", amount=1200, flags=TransferFlags.POST_PENDING, pending_id="hold")
    )
    b = services.balance("escrow:CNY")
    assert (b.credits_pending, b.credits_posted) == (0, 1200)


def test_void_and_wrong_pending_references(books):
    P = TransferFlags.PENDING
    services.transfer(TransferSpec("plain", "bank:CNY", "escrow:CNY", 10, "CNY"))
    services.transfer(TransferSpec("hold", "bank:CNY", "escrow:CNY", 30, "CNY", flags=P))
    V = TransferFlags.VOID_PENDING
    assert results(
        [
            TransferSpec("v0", flags=V, pending_id="missing"),
            TransferSpec("v1", flags=V, pending_id="plain"),
            TransferSpec("v2", flags=V, pending_id="hold", amount=29),
            TransferSpec("v3", flags=V, pending_id="hold", debit="escrow:CNY"),
            TransferSpec("v4", flags=V, pending_id="hold"),
            TransferSpec("v5", flags=TransferFlags.POST_PENDING, pending_id="hold"),
        ]
    ) == [
        Result.PENDING_TRANSFER_NOT_FOUND,
        Result.PENDING_TRANSFER_NOT_PENDING,
        Result.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
        Result.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT,
        Result.OK,
        Result.PENDING_TRANSFER_ALREADY_VOIDED,
    ]
    b = services.balance("escrow:CNY")
    assert (b.credits_pending, b.credits_posted) == (0, 10)


def test_pending_in_same_batch_as_its_post(books):
    P = TransferFlags.PENDING
    assert results(
        [
            TransferSpec("h", "bank:CNY", "escrow:CNY", 30, "CNY", flags=P),
            TransferSpec("p", amount=10, flags=TransferFlags.POST_PENDING, pending_id="h"),
        ]
    ) == [Result.OK, Result.OK]
    assert services.balance("escrow:CNY").credits_posted == 10


def test_expire_pending(books):
    P = TransferFlags.PENDING
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    with clock.frozen(start):
        services.transfer(
            TransferSpec("h1", "bank:CNY", "escrow:CNY", 30, "CNY", flags=P, timeout=60)
        )
        services.transfer(
            TransferSpec("h2", "bank:CNY", "escrow:CNY", 40, "CNY", flags=P, timeout=600)
        )
        services.transfer(TransferSpec("h3", "bank:CNY", "escrow:CNY", 50, "CNY", flags=P))
        assert services.expire_pending() == 0
        clock.advance(dt.timedelta(seconds=61))
        # past its timeout a pending transfer can no longer be posted, even before the sweep
        assert results([TransferSpec("p1", flags=TransferFlags.POST_PENDING, pending_id="h1")]) == [
            Result.PENDING_TRANSFER_EXPIRED
        ]
        assert services.expire_pending() == 1
        assert services.expire_pending() == 0
        assert services.balance("escrow:CNY").credits_pending == 90
        assert PendingResolution.objects.get(pending_id="h1").status == "expired"
        assert results([TransferSpec("p1", flags=TransferFlags.POST_PENDING, pending_id="h1")]) == [
            Result.PENDING_TRANSFER_EXPIRED
        ]
        clock.advance(dt.timedelta(days=400))
        assert services.expire_pending() == 1  # h3 never expires
    assert services.balance("escrow:CNY").credits_pending == 50


def test_expiry_sweep_task_is_scheduled_for_timeouts(books):
    from django_tasks_db.models import DBTaskResult

    from ehub.ledger.tasks import sweep_expired_transfers

    services.transfer(
        TransferSpec(
            "h", "bank:CNY", "escrow:CNY", 30, "CNY", flags=TransferFlags.PENDING, timeout=5
        )
    )
    assert DBTaskResult.objects.filter(task_path=sweep_expired_transfers.module_path).count() == 1
    with clock.frozen(clock.now() + dt.timedelta(seconds=10)):
        assert sweep_expired_transfers.call(reschedule=False) == 1


def test_exchange_specs_converts_through_fx_accounts(accounts):
    accounts("escrow:CNY", currency="CNY")
    accounts("bank:CNY", currency="CNY")
    accounts("merchant:MYR")
    services.transfer(TransferSpec("fund", "bank:CNY", "escrow:CNY", 10_001, "CNY"))
    specs, converted = services.exchange_specs(
        "settle:O-1",
        debit="escrow:CNY",
        credit="merchant:MYR",
        amount=Money(10_001, "CNY"),
        to_currency="MYR",
        rate=Decimal("0.6125"),
        rounding=Rounding.HALF_UP,
        reference="O-1",
    )
    assert converted == Money(6126, "MYR")  # 100.01 × 0.6125 = 61.256125 → 61.26
    assert [s.id for s in specs] == ["settle:O-1:from", "settle:O-1:to"]
    assert specs[0].flags & TransferFlags.LINKED and not specs[1].flags & TransferFlags.LINKED
    made = services.transfer(*specs)
    assert "0.6125" in made[0].memo and "HALF_UP" in made[0].memo
    assert services.balance("merchant:MYR").credit_balance == 6126
    assert services.balance("fx:CNY").credit_balance == 10_001
    assert services.balance("fx:MYR").debit_balance == 6126
    assert services.transfer(*specs)[1].pk == made[1].pk  # replay
    with pytest.raises(ValidationFailed):
        services.exchange_specs(
            "x", debit="a", credit="b", amount=Money(1, "CNY"), to_currency="MYR", rate=Decimal(0)
        )
    assert_ledger_sound()


def test_transfers_are_immutable(books):
    services.transfer(TransferSpec("t", "bank:MYR", "sales:MYR", 5))
    t = Transfer.objects.get()
    t.amount = 6
    with pytest.raises(ImmutableTransfer):
        t.save()
    with pytest.raises(ImmutableTransfer):
        Transfer.objects.filter(pk=t.pk).update(amount=7)
    with pytest.raises(ImmutableTransfer):
        Transfer.objects.all().delete()


def test_nested_in_outer_transaction_rolls_back_with_it(books):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.transfer(TransferSpec("t", "bank:MYR", "sales:MYR", 5))
        raise RuntimeError
    assert Transfer.objects.count() == 0
    assert services.balance("sales:MYR").credits_posted == 0


def test_batch_query_count(books, django_assert_max_num_queries):
    specs = [TransferSpec(f"b{i}", "bank:MYR", "sales:MYR", i + 1) for i in range(500)]
    # load known ids, lock accounts, insert, update balances (+ savepoint bookkeeping)
    with django_assert_max_num_queries(6):
        assert all(r.ok for r in services.create_transfers(specs))
    assert services.balance("sales:MYR").credits_posted == sum(range(1, 501))
