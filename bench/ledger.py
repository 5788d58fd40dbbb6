"""Ledger benchmark: transfers per second, batched and one at a time, on SQLite and PostgreSQL.

Setup (not timed): fresh ledger tables in the bench database, ``EHUB_BENCH_LEDGER_ACCOUNTS``
(1,000) merchant accounts flagged ``debits_must_not_exceed_credits``, a clearing account and an
escrow account. The batched run then calls ``ledger.services.create_transfers`` with batches of
``EHUB_BENCH_LEDGER_BATCH`` (8,000) transfers, ``EHUB_BENCH_LEDGER_N`` (80,000) in all, in one
process: each batch is a realistic mix (per order: a pending escrow hold in a linked pair with
a fee, the post of an earlier hold, merchant-to-merchant moves that the flag may refuse, and a
few replayed ids). The single run calls ``services.transfer`` (one spec, one transaction, commit)
``EHUB_BENCH_LEDGER_SINGLE`` (2,000) times. ``verify()`` runs at the end (not timed); a problem is a
FAILURE row.

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench ledger``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import tempfile
import time
from pathlib import Path

NAME = "ledger"
TARGET_BATCHED_PER_S = 20_000
SEED = 5


def _django(url: str) -> None:
    os.environ["EHUB_DATABASE_URL"] = url
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ehub.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory


def _setup(n_accounts: int) -> list[str]:
    from django.core.management import call_command
    from django.db import connection

    from ehub.ledger.domain import AccountFlags
    from ehub.ledger.models import Account, PendingResolution, Transfer
    from ehub.ledger.services import open_account

    call_command("migrate", "ledger", verbosity=0, interactive=False)
    tables = [m._meta.db_table for m in (PendingResolution, Transfer, Account)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    open_account("provider:bench:CNY", "CNY")
    open_account("escrow:CNY", "CNY", flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    open_account("fees:CNY", "CNY")
    merchants = [f"merchant:M{i:05d}:CNY" for i in range(n_accounts)]
    Account.objects.bulk_create(
        [
            Account(code=code, currency="CNY", flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
            for code in merchants
        ]
    )
    return merchants


def _batches(merchants: list[str], n: int, size: int) -> list[list]:
    """Batches of specs, built before the clock starts."""
    from ehub.ledger.domain import TransferFlags as F
    from ehub.ledger.domain import TransferSpec

    rng = random.Random(SEED)
    batches, held, seq = [], [], 0
    while seq < n:
        batch: list[TransferSpec] = []
        while len(batch) < size and seq < n:
            kind = rng.random()
            seq += 1
            if kind < 0.30:  # a payment: escrow hold linked with its fee
                amount = rng.randint(1_000, 90_000)
                batch.append(
                    TransferSpec(
                        f"hold:{seq}",
                        "provider:bench:CNY",
                        "escrow:CNY",
                        amount,
                        "CNY",
                        flags=F.PENDING | F.LINKED,
                        code="escrow.capture",
                    )
                )
                batch.append(
                    TransferSpec(
                        f"fee:{seq}",
                        "provider:bench:CNY",
                        "fees:CNY",
                        30,
                        "CNY",
                        code="provider.fee",
                    )
                )
                held.append((f"hold:{seq}", rng.choice(merchants)))
                seq += 1
            elif kind < 0.55 and held:  # settlement: post a hold, pay a merchant
                hold, merchant = held.pop(rng.randrange(len(held)))
                batch.append(
                    TransferSpec(
                        f"post:{hold}",
                        flags=F.POST_PENDING | F.LINKED,
                        pending_id=hold,
                        code="escrow.release",
                    )
                )
                batch.append(
                    TransferSpec(f"pay:{hold}", "escrow:CNY", merchant, 900, "CNY", code="settle")
                )
                seq += 1
            elif kind < 0.97:  # merchant to merchant (refused when the payer lacks credits)
                a, b = rng.sample(merchants, 2)
                batch.append(TransferSpec(f"mm:{seq}", a, b, rng.randint(1, 500), "CNY"))
            else:  # a replayed id: answers exists, moves nothing
                batch.append(
                    TransferSpec(
                        f"fund:{seq}", "provider:bench:CNY", rng.choice(merchants), 10_000, "CNY"
                    )
                )
                batch.append(batch[-1])
                seq += 1
        batches.append(batch)
    return batches


def _run(url: str, n: int, size: int, single: int, n_accounts: int, out) -> None:
    _django(url)
    from django.db import connection

    from ehub.ledger import services
    from ehub.ledger.domain import TransferSpec

    merchants = _setup(n_accounts)
    # Fund the merchants so merchant-to-merchant moves mostly succeed.
    services.create_transfers(
        [TransferSpec(f"seed:{m}", "provider:bench:CNY", m, 50_000, "CNY") for m in merchants]
    )
    batches = _batches(merchants, n, size)
    total = sum(len(b) for b in batches)
    outcome: dict[str, int] = {}
    began = time.perf_counter()
    for batch in batches:
        for r in services.create_transfers(batch):
            outcome[r.result.value] = outcome.get(r.result.value, 0) + 1
    batched_s = time.perf_counter() - began

    specs = [
        TransferSpec(f"one:{i}", "provider:bench:CNY", merchants[i % len(merchants)], 100, "CNY")
        for i in range(single)
    ]
    began = time.perf_counter()
    for spec in specs:
        services.transfer(spec)
    single_s = time.perf_counter() - began
    problems = services.verify()
    out.put(
        {
            "vendor": connection.vendor,
            "total": total,
            "batched_s": batched_s,
            "single": single,
            "single_s": single_s,
            "outcome": outcome,
            "problems": problems[:5],
        }
    )


def databases() -> list[tuple[str, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="ehub-bench-ledger-"))
    dbs = [("sqlite", f"sqlite:///{tmp / 'ledger.sqlite3'}")]
    pg = os.environ.get("EHUB_BENCH_DATABASE_URL")
    if pg:
        from bench.flash_claim import _ensure_postgres_database

        _ensure_postgres_database(pg)
        dbs.append(("postgresql", pg))
    return dbs


def run() -> list[dict]:
    n = int(os.environ.get("EHUB_BENCH_LEDGER_N", "80000"))
    size = int(os.environ.get("EHUB_BENCH_LEDGER_BATCH", "8000"))
    single = int(os.environ.get("EHUB_BENCH_LEDGER_SINGLE", "2000"))
    n_accounts = int(os.environ.get("EHUB_BENCH_LEDGER_ACCOUNTS", "1000"))
    rows: list[dict] = []
    ctx = mp.get_context("spawn")
    for db, url in databases():
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(url, n, size, single, n_accounts, queue))
        proc.start()
        r = queue.get(timeout=3600)
        proc.join()
        ok = r["outcome"].get("ok", 0)
        rows += [
            {
                "metric": f"{db} batch={size}: transfers/s",
                "value": round(r["total"] / r["batched_s"]),
                "unit": "transfers/s",
                "target": TARGET_BATCHED_PER_S if db == "postgresql" else None,
            },
            {
                "metric": f"{db} batch={size}: created (ok)",
                "value": ok,
                "unit": "transfers",
                "target": None,
            },
            {
                "metric": f"{db} batch={size}: results",
                "value": ", ".join(f"{k} {v}" for k, v in sorted(r["outcome"].items())),
                "unit": "",
                "target": None,
            },
            {
                "metric": f"{db} single transfer(): transfers/s",
                "value": round(r["single"] / r["single_s"]),
                "unit": "transfers/s",
                "target": None,
            },
        ]
        if r["problems"]:
            rows.append(
                {
                    "metric": f"{db}: FAILURE verify",
                    "value": "; ".join(r["problems"]),
                    "unit": "",
                    "target": 0,
                }
            )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
