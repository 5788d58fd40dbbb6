"""Concurrency on PostgreSQL: threads draining one flagged account never overdraw it, and two
batches racing on the same new id move the money once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from ehub.ledger import services
from ehub.ledger.domain import AccountFlags, Result, TransferSpec

from .conftest import assert_ledger_sound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set EHUB_TEST_DATABASE_URL to PostgreSQL)")


def _threads(target, n):
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i):
        try:
            barrier.wait()
            out[i] = target(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def test_two_threads_draining_one_account_cannot_overdraw(pg):
    services.open_account("bank:MYR", "MYR")
    services.open_account("wallet:MYR", "MYR", flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    services.open_account("shop:MYR", "MYR")
    services.open_account("shop2:MYR", "MYR")
    services.transfer(TransferSpec("fund", "bank:MYR", "wallet:MYR", 1000))

    def drain(i):
        won = 0
        for k in range(40):
            # batches and single transfers mixed; accounts named in opposite orders
            credit = "shop:MYR" if (i + k) % 2 else "shop2:MYR"
            specs = [TransferSpec(f"d{i}-{k}-{j}", "wallet:MYR", credit, 10) for j in range(3)]
            won += sum(r.result == Result.OK for r in services.create_transfers(specs))
        return won

    won = _threads(drain, 2)
    assert sum(won) == 100  # 1000 / 10, not one more
    b = services.balance("wallet:MYR")
    assert (b.debits_posted, b.credits_posted) == (1000, 1000)
    assert_ledger_sound()


def test_racing_same_id_moves_money_once(pg):
    services.open_account("bank:MYR", "MYR")
    services.open_account("shop:MYR", "MYR")
    services.open_account("shop2:MYR", "MYR")

    def create(i):
        # same id, disjoint accounts for the second field set: no shared lock to queue on
        spec = TransferSpec("same", "bank:MYR", "shop:MYR", 5)
        return [r.result for r in services.create_transfers([spec] * 2)]

    results = _threads(create, 4)
    flat = [r for rs in results for r in rs]
    assert flat.count(Result.OK) == 1 and flat.count(Result.EXISTS) == 7
    assert services.balance("shop:MYR").credits_posted == 5
    assert_ledger_sound()


def test_concurrent_post_and_void_resolve_once(pg):
    from ehub.ledger.domain import TransferFlags as F

    services.open_account("bank:MYR", "MYR")
    services.open_account("shop:MYR", "MYR")
    for n in range(20):
        services.transfer(TransferSpec(f"h{n}", "bank:MYR", "shop:MYR", 7, flags=F.PENDING))

    def resolve(i):
        flag = F.POST_PENDING if i == 0 else F.VOID_PENDING
        specs = [TransferSpec(f"r{i}-{n}", flags=flag, pending_id=f"h{n}") for n in range(20)]
        return sum(r.result == Result.OK for r in services.create_transfers(specs))

    assert sum(_threads(resolve, 2)) == 20
    assert services.balance("shop:MYR").credits_pending == 0
    assert_ledger_sound()
