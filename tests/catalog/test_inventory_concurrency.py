"""Many threads holding the same stock at once: no oversell, every hold recorded.

Every thread has its own database connection (Django keeps one per thread) and closes it when
done. On PostgreSQL the threads really race and the conditional UPDATE is what keeps
``available`` from going negative.

SQLite: the suite's in-memory test database is shared between threads through SQLite's shared
cache, whose table locks fail at once ("database table is locked") instead of waiting, so no
multi-threaded test can run on it. The race therefore runs on a copy of the test database in a
temporary *file* (made with SQLite's backup API when the race starts), with the suite's own
connection options: IMMEDIATE transactions and the driver's busy timeout, exactly how eHub's
web and worker processes share one SQLite file in production. SQLite admits one writer at a
time, so this proves the same outcome with the writers queued on the database lock. The
in-memory database is left untouched and cleaned up as usual.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.models import Sum

from ehub.catalog.models import MovementReason, Reservation, Stock, StockMovement
from ehub.catalog.services import inventory
from ehub.catalog.services.inventory import ReserveLine
from ehub.core.context import Context
from ehub.core.errors import ValidationFailed

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
ATTEMPTS = 40


class Arena:
    """Runs work in THREADS threads started together, and reads results the same way."""

    def __init__(self, monkeypatch, tmp_dir: Path) -> None:
        self._monkeypatch = monkeypatch
        self._tmp_dir = tmp_dir
        self._prepared = False

    def _prepare(self) -> None:
        if self._prepared or connection.vendor != "sqlite":
            self._prepared = True
            return
        path = self._tmp_dir / "race.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        # Threads open their connections from these settings; the main thread's connection to
        # the in-memory database is already open and is not affected.
        self._monkeypatch.setitem(connections.settings["default"], "NAME", str(path))
        self._prepared = True

    def race(self, work, attempts: int = ATTEMPTS) -> list:
        """Call work(n) for n in range(attempts), spread over THREADS threads."""
        self._prepare()
        barrier = threading.Barrier(THREADS)
        results: list = [None] * attempts
        failures: list[BaseException] = []

        def worker(offset: int) -> None:
            try:
                barrier.wait(timeout=30)
                for n in range(offset, attempts, THREADS):
                    results[n] = work(n)
            except BaseException as exc:  # reported in the main thread
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a thread hung"
        if failures:
            raise failures[0]
        return results

    def read(self, query):
        """query() evaluated on the database the threads used."""
        return self.race(lambda n: query() if n == 0 else None, attempts=1)[0]


@pytest.fixture
def arena(monkeypatch):
    with tempfile.TemporaryDirectory() as tmp:
        yield Arena(monkeypatch, Path(tmp))


def summary(sku, hub) -> dict:
    stock = Stock.objects.get(sku=sku, hub=hub)
    moves = StockMovement.objects.filter(stock=stock)
    totals = moves.aggregate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    holds = moves.filter(reason=MovementReason.RESERVATION)
    return {
        "level": (stock.on_hand, stock.reserved),
        "ledger": (totals["on_hand"], totals["reserved"]),
        "reservations": Reservation.objects.filter(stock=stock).count(),
        "holds": holds.count(),
        "reserved_after": sorted(holds.values_list("reserved_after", flat=True)),
    }


def test_no_oversell_when_threads_race_for_the_same_sku(arena, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 25, "opening")
    ctx = Context.system()

    def attempt(n: int) -> bool:  # 40 buyers x 2 units for 25 units on hand
        try:
            inventory.reserve(ctx, sku=sku.pk, hub=hub.pk, qty=2, key=f"race-{n}")
        except ValidationFailed as exc:
            assert exc.errors[0].field == "qty"
            assert exc.errors[0].code == "insufficient_stock"
            return False
        return True

    won = sum(arena.race(attempt))
    got = arena.read(lambda: summary(sku, hub))

    assert won == 12  # floor(25 / 2): every pair that could be held was, and no more
    assert got["level"] == (25, 24)
    assert got["ledger"] == (25, 24)  # every change has its movement
    assert got["reservations"] == got["holds"] == won
    # Each hold saw the one before it: the movements form a gap-free chain.
    assert got["reserved_after"] == list(range(2, 25, 2))


def test_the_same_key_from_many_threads_holds_once(arena, merchant_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 25)
    ctx = Context.system()

    def attempt(n: int) -> int:
        return inventory.reserve(ctx, sku=sku.pk, hub=hub.pk, qty=3, key="one-checkout").pk

    ids = arena.race(attempt, attempts=THREADS * 2)
    got = arena.read(lambda: summary(sku, hub))
    assert len(set(ids)) == 1
    assert got["level"] == (25, 3)
    assert got["holds"] == got["reservations"] == 1


def test_carts_sharing_skus_in_opposite_order_neither_deadlock_nor_oversell(
    arena, merchant_ctx, make_sku, merchant_org, hub
):
    a, b = make_sku(merchant_org), make_sku(merchant_org)
    inventory.adjust(merchant_ctx, a, hub, 10)
    inventory.adjust(merchant_ctx, b, hub, 10)
    ctx = Context.system()

    def attempt(n: int) -> bool:
        lines = [ReserveLine(a.pk, hub.pk, 1), ReserveLine(b.pk, hub.pk, 1)]
        if n % 2:
            lines.reverse()
        try:
            inventory.reserve_many(ctx, lines, key_prefix=f"cart-{n}")
        except ValidationFailed:
            return False
        return True

    won = sum(arena.race(attempt))
    got_a = arena.read(lambda: summary(a, hub))
    got_b = arena.read(lambda: summary(b, hub))
    assert won == 10
    for got in (got_a, got_b):
        assert got["level"] == got["ledger"] == (10, 10)
        assert got["holds"] == got["reservations"] == 10


def test_releases_racing_the_expiry_sweep_give_back_each_unit_once(arena, merchant_ctx, sku, hub):
    import datetime as dt

    from ehub.core import clock

    inventory.adjust(merchant_ctx, sku, hub, 30)
    ctx = Context.system()
    soon = clock.now() + dt.timedelta(minutes=5)
    for n in range(10):
        inventory.reserve(ctx, sku=sku, hub=hub, qty=3, key=f"h{n}", expires_at=soon)

    def attempt(n: int) -> int:
        if n % 4 == 0:
            return inventory.expire_reservations(now=soon)
        inventory.release(ctx, f"h{n % 10}")
        return 0

    arena.race(attempt, attempts=THREADS * 4)
    got = arena.read(lambda: summary(sku, hub))
    assert got["level"] == got["ledger"] == (30, 0)
    releases = arena.read(
        lambda: StockMovement.objects.filter(reason=MovementReason.RELEASE).count()
    )
    assert releases == 10  # one per reservation, whoever got there first
