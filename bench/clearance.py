"""Clearance benchmark: N synthetic cross-border orders through the whole customs pipeline.

``customs.synthetic.generate`` makes N orders (``EHUB_BENCH_CLEARANCE_N``, default 10,000) with
their order, payment and waybill documents from a fixed seed, 5 % of them spoiled in known ways.
Each worker process (``EHUB_BENCH_CLEARANCE_WORKERS``: 2 on PostgreSQL, 1 on SQLite, whose
single writer would only queue a second one) takes the orders of its share of the buyers (a
buyer's orders stay in one worker, in order, as a partitioned deployment would run them),
serialises them to CEB XML before the clock starts, and then calls
``customs.batch.clear_batch`` on batches of ``EHUB_BENCH_CLEARANCE_BATCH`` (1,000) orders:
parse, validate, match, tax, quota, risk, persist declarations, documents and receipts.

Reported per database: declarations per second (wall clock, all workers), declarations per
second of worker CPU and worker CPU per declaration (the Python side), the PostgreSQL backends'
CPU per declaration when the server runs on this machine (read from ``/proc``), and the bad
orders caught with the expected reason against those generated; a ``missed`` row above 0 is a
failure. Each run starts from empty customs declaration and quota tables in the bench database.
Once its orders are generated, a worker freezes them out of the garbage collector's sight
(``gc.freeze``): they are the harness's input, held for the whole run, not the pipeline's work.

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench clearance``.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import tempfile
import time
import zlib
from pathlib import Path

NAME = "clearance"
TARGET_PER_S = 5_000
SEED = 2017


def _django(url: str) -> None:
    os.environ["EHUB_DATABASE_URL"] = url
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ehub.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory


def _setup(url: str, out) -> None:
    _django(url)
    from django.core.management import call_command
    from django.db import connection

    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import Organization
    from ehub.catalog.tariff import load_default_tariff
    from ehub.customs import synthetic
    from ehub.customs.models import BuyerQuota, Declaration, Enterprise, QuotaReservation

    call_command("migrate", verbosity=0, interactive=False)
    load_default_tariff()
    if connection.vendor == "postgresql":
        tables = ", ".join(m._meta.db_table for m in (Declaration, QuotaReservation, BuyerQuota))
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} CASCADE")
    else:
        Declaration.objects.all().delete()
        QuotaReservation.objects.all().delete()
        BuyerQuota.objects.all().delete()
    for code, name in synthetic.REGISTERED:
        Enterprise.objects.get_or_create(code=code, defaults={"name": name})
    org, _ = Organization.objects.get_or_create(
        legal_name="Bench clearance platform", defaults={"kind": OrgKind.PLATFORM, "country": "CN"}
    )
    out.put({"org_id": org.pk})


def _backend_cpu() -> float | None:
    """CPU seconds so far of this connection's PostgreSQL backend, when the server runs on
    this machine (``/proc``); None otherwise."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mine(buyer: str, worker: int, workers: int) -> bool:
    return zlib.crc32(buyer.encode()) % workers == worker


def _worker(url, org_id, n, worker, workers, batch_size, start, ready, out) -> None:
    _django(url)
    from ehub.accounts.models import Organization
    from ehub.catalog.tariff import line_rates
    from ehub.core import clock
    from ehub.core.context import Context
    from ehub.customs import synthetic
    from ehub.customs.batch import clear_batch
    from ehub.customs.domain.limits import BEIJING
    from ehub.customs.domain.xmlcodec import to_xml

    org = Organization.objects.get(pk=org_id)
    ctx = Context(org=org, roles=frozenset({"owner"}), via="bench")
    rates = line_rates("CN", synthetic.GCODES, clock.now().astimezone(BEIJING).date())
    orders = [
        o for o in synthetic.generate(n, seed=SEED, rates=rates) if _mine(o.buyer, worker, workers)
    ]
    batches = []
    for i in range(0, len(orders), batch_size):
        chunk = orders[i : i + batch_size]
        batches.append((chunk, [to_xml(m) for o in chunk for m in o.messages]))
    goods = synthetic.goods_mapping()
    # The generated orders and their XML stay in memory for the whole run; without this, every
    # full collection of the cyclic garbage collector would walk them again (about a tenth of
    # the CPU at N = 100,000), a cost of the harness, not of clearing.
    gc.collect()
    gc.freeze()
    ready.put(worker)
    start.wait()
    db_cpu = _backend_cpu()
    began, cpu = time.perf_counter(), time.process_time()
    results = [(chunk, clear_batch(ctx, messages, goods=goods)) for chunk, messages in batches]
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    db_after = _backend_cpu()
    db_cpu = db_after - db_cpu if db_cpu is not None and db_after is not None else None
    bad = caught = missed_clean = declared = 0
    for chunk, result in results:
        declared += result.declared
        refused = {r.order_no: {e["code"] for e in r.errors} for r in result.refused}
        for o in chunk:
            outcome = result.outcomes.get(o.order_no)
            if o.expect is None:
                missed_clean += outcome is None or outcome.status not in {"120", "500", "800"}
                continue
            bad += 1
            where, code = o.expect
            if where == "refused":
                caught += code in refused.get(o.order_no, set())
            else:
                caught += (
                    outcome is not None and outcome.status == "100" and code in outcome.reasons
                )
    out.put(
        {
            "orders": len(orders),
            "declared": declared,
            "bad": bad,
            "caught": caught,
            "clean_not_cleared": missed_clean,
            "began": began,
            "ended": ended,
            "cpu_s": cpu,
            "db_cpu_s": db_cpu,
        }
    )


def _child(target, *args):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=3600)
    proc.join()
    return result


def scenario(url: str, n: int, workers: int, batch_size: int) -> dict:
    ctx = mp.get_context("spawn")
    setup = _child(_setup, url)
    start = ctx.Event()
    queue = ctx.Queue()
    ready = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(url, setup["org_id"], n, w, workers, batch_size, start, ready, queue),
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    # Each worker generates and serialises its orders before the clock starts.
    for _ in procs:
        ready.get(timeout=3600)
    start.set()
    results = [queue.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    total = {k: sum(r[k] for r in results) for k in ("orders", "declared", "bad", "caught")}
    total["clean_not_cleared"] = sum(r["clean_not_cleared"] for r in results)
    cpu = sum(r["cpu_s"] for r in results)
    db_cpus = [r["db_cpu_s"] for r in results]
    db_cpu = None if None in db_cpus else sum(db_cpus)
    # Python CPU of the workers only (the database's own CPU is not in it): on a shared, busy
    # machine the wall-clock figure depends on the neighbours, this one much less.
    return {
        **total,
        "wall_s": wall,
        "per_s": total["orders"] / wall,
        "per_cpu_s": total["orders"] / cpu,
        "worker_ms": cpu / total["orders"] * 1000,
        "db_ms": None if db_cpu is None else db_cpu / total["orders"] * 1000,
    }


def databases() -> list[tuple[str, str, int]]:
    tmp = Path(tempfile.mkdtemp(prefix="ehub-bench-clearance-"))
    dbs = [("sqlite", f"sqlite:///{tmp / 'clearance.sqlite3'}", 1)]
    pg = os.environ.get("EHUB_BENCH_DATABASE_URL")
    if pg:
        from bench.flash_claim import _ensure_postgres_database

        _ensure_postgres_database(pg)
        dbs.append(("postgresql", pg, 2))
    return dbs


def run() -> list[dict]:
    n = int(os.environ.get("EHUB_BENCH_CLEARANCE_N", "10000"))
    batch_size = int(os.environ.get("EHUB_BENCH_CLEARANCE_BATCH", "1000"))
    rows: list[dict] = []
    for db, url, default_workers in databases():
        workers = int(os.environ.get("EHUB_BENCH_CLEARANCE_WORKERS", default_workers))
        r = scenario(url, n, workers, batch_size)
        tag = f"{db} N={n} w={workers}"
        rows += [
            {
                "metric": f"{tag}: declarations/s",
                "value": round(r["per_s"]),
                "unit": "decl/s",
                "target": TARGET_PER_S if db == "postgresql" else None,
            },
            {"metric": f"{tag}: wall", "value": round(r["wall_s"], 2), "unit": "s", "target": None},
            {
                "metric": f"{tag}: per worker CPU-second",
                "value": round(r["per_cpu_s"]),
                "unit": "decl/cpu-s",
                "target": None,
            },
            {
                "metric": f"{tag}: worker CPU per declaration",
                "value": round(r["worker_ms"], 3),
                "unit": "ms",
                "target": None,
            },
            *(
                []
                if r["db_ms"] is None
                else [
                    {
                        "metric": f"{tag}: PostgreSQL backend CPU per declaration",
                        "value": round(r["db_ms"], 3),
                        "unit": "ms",
                        "target": None,
                    }
                ]
            ),
            {
                "metric": f"{tag}: bad caught",
                "value": r["caught"],
                "unit": "orders",
                "target": r["bad"],
            },
            {
                "metric": f"{tag}: bad missed",
                "value": r["bad"] - r["caught"],
                "unit": "orders",
                "target": 0,
            },
            {
                "metric": f"{tag}: clean not cleared",
                "value": r["clean_not_cleared"],
                "unit": "orders",
                "target": 0,
            },
        ]
        if r["bad"] != r["caught"] or r["clean_not_cleared"]:
            rows.append(
                {"metric": f"{tag}: FAILURE", "value": "bad orders missed", "unit": "", "target": 0}
            )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
