"""Crash safety (issue 5): a real ``ehub worker`` process is SIGKILLed in the middle of a batch
of payment webhooks and customs receipts, restarted, and the queue drained. Every order must
end CLEARED, with exactly one escrow hold each, no ledger transfer missing or doubled, and no
customs document filed twice.

PostgreSQL only: the worker is another process and must see the test database (SQLite's
in-memory test database is invisible to it). The worker gets the test database's name through
EHUB_TEST_DATABASE_URL and ``ehub.test_settings`` (same secret, so the same PII key).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from .conftest import DETAILS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 30
KILLS = 6
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a worker subprocess cannot see SQLite's in-memory test DB")


def _worker(env, log):
    return subprocess.Popen(
        [sys.executable, "-m", "ehub", "worker", "--interval", "0.05", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _env():
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    url = f"postgres://{s['USER']}:{s['PASSWORD']}@{host}:{port}/{s['NAME']}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="ehub.test_settings",
        EHUB_TEST_DATABASE_URL=url,
        EHUB_CUSTOMS_GATEWAY="sandbox",
        EHUB_CUSTOMS_SANDBOX_DELAY_SECONDS="0",
        EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE="0",
        # Only one worker runs at a time here, so whatever is RUNNING when one starts was
        # orphaned by the one just killed: a zero lease lets start-up requeue it at once
        # (in production the lease is minutes, so a live worker's task is never taken).
        EHUB_TASK_LEASE_SECONDS="0",
        PYTHONPATH=str(ROOT / "src"),
    )
    return env


def _count(status_in):
    from ehub.orders.models import Order

    return Order.objects.filter(status__in=status_in).count()


def _pending_tasks():
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    return (
        DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
        .exclude(status="READY", run_after__gt=timezone.now())
        .count()
    )


def _orphaned() -> int:
    """Tasks a killed worker left RUNNING: the next worker requeues them at start-up."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status="RUNNING").count()


def test_worker_killed_mid_batch_then_restarted(world, place_order, tmp_path):
    from ehub.catalog.models import Stock
    from ehub.core.models import AuditEntry
    from ehub.customs.models import Declaration
    from ehub.ledger import services as ledger
    from ehub.ledger.models import Transfer
    from ehub.orders.models import Order
    from ehub.payments.gateways import sandbox
    from ehub.payments.models import PaymentIntent

    Stock.objects.filter(sku=world.durian).update(on_hand=ORDERS + 10)
    orders = [place_order(durian=1) for _ in range(ORDERS)]
    # Every buyer pays on the wallet page: 2 signed webhooks each, queued, not yet delivered.
    for order in orders:
        intent = PaymentIntent.objects.get(public_id=order.intent_public_id)
        sandbox().pay(intent.public_id, intent.money, DETAILS["name"])
    assert _count(["placed"]) == ORDERS

    env = _env()
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    # Kill the worker several times at random moments (after it has made progress), so some
    # kills land inside a task, not only between two.
    rng = random.Random(5)
    kills, orphans, cleared_at_kill = 0, 0, []
    for _ in range(KILLS):
        worker = _worker(env, log)
        start = _count(["cleared"])
        deadline = time.monotonic() + 60
        try:
            while _count(["cleared"]) == start and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        kills += 1
        cleared_at_kill.append(_count(["cleared"]))
        orphans += _orphaned()
        if cleared_at_kill[-1] == ORDERS:
            break
    print(f"killed {kills}x at {cleared_at_kill}/{ORDERS} cleared; {orphans} task(s) orphaned")
    assert 0 < cleared_at_kill[0] < ORDERS, (tmp_path / "worker.log").read_text()[-3000:]
    moved = cleared_at_kill

    second = _worker(env, log)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if _count(["cleared"]) == ORDERS and _pending_tasks() == 0:
                break
            time.sleep(0.2)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
    log.close()
    text = (tmp_path / "worker.log").read_text()
    statuses = dict(Order.objects.values_list("public_id", "status"))
    assert set(statuses.values()) == {"cleared"}, (moved, orphans, statuses, text[-3000:])

    assert ledger.verify() == []
    for order in orders:
        holds = Transfer.objects.filter(reference=order.public_id, code="escrow.capture")
        assert holds.count() == 1, order.public_id
        assert holds.get().amount == order.total_cny
        decl = Declaration.objects.get(order_no=order.public_id)
        assert decl.status == "800"
        kinds = list(
            AuditEntry.objects.filter(
                action="customs.document_filed",
                object_id__in=[str(decl.pk), decl.public_id],
            ).values_list("after__kind", flat=True)
        )
        assert sorted(kinds) == ["CEB311", "CEB411", "CEB511"], (order.public_id, kinds)
    assert PaymentIntent.objects.filter(status="captured").count() == ORDERS
