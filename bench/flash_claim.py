"""Flash-sale gate benchmark: 1,000 units, 5,000 buyers claiming at once.

Each database is set up in a child process (migrate, one merchant, one hub, one offer of
1,000 units split into K buckets, 5,000 buyers), then N worker processes, each with its own
database connection, call ``campaigns.services.claim_offer_units`` for their share of the
buyers as fast as they can, all starting together. A last child checks the books:

* oversold = units handed out beyond the allocation (must be 0);
* lost = allocated - (units left in buckets + units in held claims) (must be 0);
* buyers over their limit (must be 0).

Two runs per database: the contest (5,000 buyers for 1,000 units, so 4,000 are refused) and
a plain-throughput run where every claim succeeds (5,000 units). When a Redis server answers
(``EHUB_BENCH_REDIS_URL``, else ``EHUB_REDIS_URL``, else redis://127.0.0.1:6379/14), the contest
runs a third time with the Redis gate on (``EHUB_REDIS_URL`` set in the children, keys under a
prefix of the run, deleted afterwards); the first two always run without it. Workers of the
gated run: ``EHUB_BENCH_FLASH_REDIS_WORKERS`` (default 4 on PostgreSQL, 2 on SQLite): with most
attempts answered by Redis the clients are CPU-bound, and 8 processes on 2 cores only add
switching (measured: 3 workers ~6,600, 4 ~5,500, 8 ~4,700 claims/s). Databases: SQLite in a
temporary file always; PostgreSQL when ``EHUB_BENCH_DATABASE_URL`` is set (created if
missing). Workers: ``EHUB_BENCH_FLASH_WORKERS`` (default 8 on PostgreSQL, 2 on SQLite).

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench flash_claim``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

NAME = "flash_claim"
UNITS = 1_000
BUYERS = 5_000
TARGET_CLAIMS_PER_S = 5_000


def _django(url: str) -> None:
    """Configure Django in this (child) process for ``url``; no query logging.

    ``url`` may carry the Redis gate as ``<database url>|<redis url>|<key prefix>``."""
    url, _, gate = url.partition("|")
    redis_url, _, prefix = gate.partition("|")
    os.environ["EHUB_DATABASE_URL"] = url
    os.environ["EHUB_REDIS_URL"] = redis_url
    os.environ["EHUB_REDIS_GATE_PREFIX"] = prefix or "ehub"
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ehub.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory and slows the hot loop


def _ensure_postgres_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup(url: str, units: int, buyers: int, buckets: int, out) -> None:
    _django(url)
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import Organization, User
    from ehub.campaigns.models import Campaign, CampaignStatus
    from ehub.campaigns.services import OfferInput, apply_offer, approve_offer
    from ehub.catalog.models import Product, ProductStatus, Sku, Stock
    from ehub.core import clock
    from ehub.core.context import Context

    call_command("migrate", verbosity=0, interactive=False)
    run = uuid.uuid4().hex[:10]
    merchant = Organization.objects.create(
        kind=OrgKind.MERCHANT, legal_name=f"Bench {run} Sdn. Bhd.", country="MY"
    )
    hub = Organization.objects.create(
        kind=OrgKind.HUB_OPERATOR, legal_name=f"Bench hub {run}", country="MY"
    )
    product = Product.objects.create(org=merchant, status=ProductStatus.ACTIVE)
    sku = Sku.objects.create(product=product, org=merchant, code=f"B-{run}", price_myr=10_000)
    Stock.objects.create(sku=sku, hub=hub, org=merchant, on_hand=units)
    now = clock.now()
    campaign = Campaign.objects.create(
        slug=f"bench-{run}",
        name_en="Bench week",
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(hours=1),
        status=CampaignStatus.PUBLISHED,
    )
    staff = User.objects.create(email=f"staff-{run}@bench.example", is_staff=True)
    owner = User.objects.create(email=f"owner-{run}@bench.example")
    merchant_ctx = Context(user=owner, org=merchant, roles=frozenset({"owner"}))
    offer = apply_offer(
        merchant_ctx,
        campaign.public_id,
        OfferInput(
            sku_code=sku.code, allocated_units=units, per_buyer_limit=1, promo_price="59.00"
        ),
    )
    offer = approve_offer(Context(user=staff), offer.public_id, buckets=buckets)
    unusable = make_password(None)  # buyers never sign in
    first = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    User.objects.bulk_create(
        [User(email=f"b{i}-{run}@bench.example", password=unusable) for i in range(buyers)],
        batch_size=1000,
    )
    ids = list(
        User.objects.filter(pk__gt=first, email__endswith=f"-{run}@bench.example")
        .exclude(pk__in=[staff.pk, owner.pk])
        .values_list("pk", flat=True)
    )
    out.put({"offer_id": offer.pk, "buyer_ids": ids, "run": run})


def _worker(url: str, offer_id: int, buyer_ids: list[int], run: str, start, out) -> None:
    _django(url)
    from django.db import connection

    from ehub.campaigns.models import Offer
    from ehub.campaigns.services import ClaimRefused, claim_offer_units

    offer = Offer.objects.get(pk=offer_id)
    connection.ensure_connection()
    start.wait()
    began = time.perf_counter()
    won = refused = errors = 0
    for buyer_id in buyer_ids:
        try:
            claim_offer_units(buyer_id, offer, 1, key=f"bench:{run}:{buyer_id}")
            won += 1
        except ClaimRefused:
            refused += 1
        except Exception:
            errors += 1
    ended = time.perf_counter()
    out.put({"won": won, "refused": refused, "errors": errors, "began": began, "ended": ended})


def _verify(url: str, offer_id: int, out) -> None:
    _django(url)
    from django.db.models import Max, Sum

    from ehub.campaigns.models import BuyerAllowance, Claim, ClaimStatus, Offer, OfferBucket

    offer = Offer.objects.get(pk=offer_id)
    left = OfferBucket.objects.filter(offer=offer).aggregate(s=Sum("remaining"))["s"] or 0
    held = (
        Claim.objects.filter(offer=offer, status=ClaimStatus.HELD).aggregate(s=Sum("qty"))["s"] or 0
    )
    worst = BuyerAllowance.objects.filter(offer=offer).aggregate(m=Max("claimed"))["m"] or 0
    over_limit = BuyerAllowance.objects.filter(offer=offer, claimed__gt=offer.per_buyer_limit)
    out.put(
        {
            "allocated": offer.allocated_units,
            "left": left,
            "held": held,
            "oversold": max(0, held - offer.allocated_units),
            "lost": offer.allocated_units - (left + held),
            "over_limit": over_limit.count(),
            "max_per_buyer": worst,
        }
    )


def _child(target, *args):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=600)
    proc.join()
    return result


def scenario(url: str, label: str, *, units: int, buyers: int, workers: int, buckets: int):
    ctx = mp.get_context("spawn")
    setup = _child(_setup, url, units, buyers, buckets)
    ids = setup["buyer_ids"]
    start = ctx.Event()
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(url, setup["offer_id"], ids[i::workers], setup["run"], start, queue),
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(3 + workers * 0.5)  # let every child finish importing Django before the gun
    start.set()
    results = [queue.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    books = _child(_verify, url, setup["offer_id"])
    attempts = sum(r["won"] + r["refused"] + r["errors"] for r in results)
    won = sum(r["won"] for r in results)
    return {
        "label": label,
        "attempts": attempts,
        "won": won,
        "errors": sum(r["errors"] for r in results),
        "wall_s": wall,
        "attempts_per_s": attempts / wall,
        "won_per_s": won / wall,
        **books,
    }


def _rows(db: str, result: dict, target) -> list[dict]:
    tag = f"{db} {result['label']}"
    return [
        {
            "metric": f"{tag}: claims/s (all attempts)",
            "value": round(result["attempts_per_s"]),
            "unit": "claims/s",
            "target": target,
        },
        {
            "metric": f"{tag}: units claimed",
            "value": result["won"],
            "unit": "units",
            "target": result["allocated"] if result["attempts"] > result["allocated"] else None,
        },
        {"metric": f"{tag}: oversold", "value": result["oversold"], "unit": "units", "target": 0},
        {"metric": f"{tag}: lost", "value": result["lost"], "unit": "units", "target": 0},
        {
            "metric": f"{tag}: buyers over limit",
            "value": result["over_limit"],
            "unit": "buyers",
            "target": 0,
        },
        {"metric": f"{tag}: errors", "value": result["errors"], "unit": "claims", "target": 0},
    ]


def databases() -> list[tuple[str, str, int]]:
    dbs = []
    tmp = Path(tempfile.mkdtemp(prefix="ehub-bench-flash-"))
    dbs.append(("sqlite", f"sqlite:///{tmp / 'flash.sqlite3'}", 2))
    pg = os.environ.get("EHUB_BENCH_DATABASE_URL")
    if pg:
        _ensure_postgres_database(pg)
        dbs.append(("postgresql", pg, 8))
    return dbs


def redis_url() -> str | None:
    """A reachable Redis for the gated run, or None."""
    url = (
        os.environ.get("EHUB_BENCH_REDIS_URL")
        or os.environ.get("EHUB_REDIS_URL")
        or "redis://127.0.0.1:6379/14"
    )
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


def _drop_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def run() -> list[dict]:
    rows: list[dict] = []
    buckets = int(os.environ.get("EHUB_CAMPAIGN_BUCKETS", "16"))
    gate_redis = redis_url()
    for db, url, default_workers in databases():
        workers = int(os.environ.get("EHUB_BENCH_FLASH_WORKERS", default_workers))
        target = TARGET_CLAIMS_PER_S if db == "postgresql" else None
        contest = scenario(
            url,
            "1000 units/5000 buyers",
            units=UNITS,
            buyers=BUYERS,
            workers=workers,
            buckets=buckets,
        )
        rows += _rows(db, contest, target)
        plain = scenario(
            url,
            "5000 units/5000 buyers",
            units=BUYERS,
            buyers=BUYERS,
            workers=workers,
            buckets=buckets,
        )
        rows += _rows(db, plain, target)
        if gate_redis:
            prefix = f"ehub-bench-{uuid.uuid4().hex[:10]}"
            try:
                gated = scenario(
                    f"{url}|{gate_redis}|{prefix}",
                    "1000 units/5000 buyers, Redis gate",
                    units=UNITS,
                    buyers=BUYERS,
                    workers=int(
                        os.environ.get(
                            "EHUB_BENCH_FLASH_REDIS_WORKERS", 4 if db == "postgresql" else 2
                        )
                    ),
                    buckets=buckets,
                )
            finally:
                _drop_keys(gate_redis, prefix)
            rows += _rows(db, gated, target)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
