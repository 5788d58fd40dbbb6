"""Flash-sale checkout benchmark: 5,000 buyers, one 1,000-unit offer (limit 1), same second,
through the HTTP API of a real production server.

Set-up (a child process): migrate the bench database (PostgreSQL ``EHUB_BENCH_DATABASE_URL``,
database ``ehub_orders_bench`` by default; created if missing), a platform, a hub, a merchant's
durian SKU, an approved Malaysia Week offer of 1,000 units (limit 1 per buyer), an MYR→CNY
rate, China's tariff, and 5,000 buyers, each with a personal API token, a cart holding the
offer and a distinct valid resident ID number.

Then ``ehub serve`` (gunicorn, ``EHUB_BENCH_FLASH_WEB_WORKERS`` workers, default 2) runs with
the Redis gate on (``EHUB_REDIS_URL``, default redis://127.0.0.1:6379/14), and
``EHUB_BENCH_FLASH_CLIENTS`` client processes (default 4) × 32 threads each POST
``/api/v1/carts/<cart>/checkout`` (with an Idempotency-Key) for their share of the buyers,
all released at the same instant. Reported: orders placed per second (placed / time to the
last answer), p50 and p99 latency of every request, oversold (held claims beyond 1,000: must
be 0), unsold (1,000 − orders: must be 0, demand being 5× stock), and errors (answers other
than 201 or the expected 409 sold-out / limit).

The server runs ``EHUB_BENCH_FLASH_WEB_THREADS`` threads per worker (default 8, gthread)
without its access log. Also reported: the server's CPU seconds (its processes' user+system
time over the run, from /proc) per placed order and per request, and what that CPU cost
would give with both cores to the server — a figure a shared, busy machine disturbs less
than the wall-clock rate. Then (unless ``EHUB_BENCH_FLASH_FLOOR=0``) the floor: the same
5,000 requests from the same clients at one instant to ``GET /healthz``, a view that does no
work at all — the most any Django endpoint of this server can do on this machine. Database:
``EHUB_BENCH_FLASH_DATABASE`` (default ehub_flash_bench).

Run alone: ``EHUB_BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/ehub_orders_bench
.venv/bin/python -m bench flash_sale``. Without a PostgreSQL URL it is skipped (a one-writer
SQLite file cannot say anything about this target).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

NAME = "flash_sale"
UNITS = 1_000
BUYERS = 5_000
TARGET_ORDERS_PER_S = 1_000
TARGET_P99_MS = 500
THREADS = 32
FLOOR = os.environ.get("EHUB_BENCH_FLASH_FLOOR", "1") != "0"
ROOT = Path(__file__).resolve().parent.parent


def _env(url: str, redis_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        EHUB_DATABASE_URL=url,
        EHUB_REDIS_URL=redis_url,
        EHUB_REDIS_GATE_PREFIX="bench-" + uuid.uuid4().hex[:8],
        EHUB_DEBUG="0",
        EHUB_SECRET_KEY="bench-" + uuid.uuid4().hex,
        EHUB_ALLOWED_HOSTS="127.0.0.1,localhost",
        EHUB_SSL_REDIRECT="0",
        EHUB_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="ehub.settings",
    )
    return env


def _django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup(env: dict, out) -> None:
    _django(env)
    import datetime as dt
    import hashlib
    import secrets
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import ApiToken, Organization, User
    from ehub.campaigns.models import Campaign, CampaignStatus
    from ehub.campaigns.services import OfferInput, apply_offer, approve_offer
    from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core import clock
    from ehub.core.context import Context
    from ehub.core.ids import new_public_id
    from ehub.core.models import FxRate
    from ehub.customs.synthetic import _id_number
    from ehub.orders.models import Cart, CartLine

    call_command("migrate", verbosity=0, interactive=False)
    load_default_tariff()
    run = uuid.uuid4().hex[:8]
    now = clock.now()
    FxRate.objects.get_or_create(
        base="MYR",
        quote="CNY",
        source="bench",
        as_of=now.replace(hour=0, minute=0, second=0, microsecond=0),
        defaults={"rate": Decimal("1.55")},
    )
    Organization.objects.get_or_create(
        kind=OrgKind.PLATFORM, legal_name="eHub Platform (bench)", defaults={"country": "MY"}
    )
    merchant = Organization.objects.create(
        kind=OrgKind.MERCHANT, legal_name=f"Bench {run} Sdn. Bhd.", country="MY"
    )
    hub = Organization.objects.create(
        kind=OrgKind.HUB_OPERATOR, legal_name=f"Bench hub {run}", country="MY"
    )
    product = Product.objects.create(
        org=merchant, status=ProductStatus.ACTIVE, gcode="0811909000", gross_weight_g=1200
    )
    ProductTranslation.objects.create(product=product, language="en", title="Frozen durian")
    sku = Sku.objects.create(product=product, org=merchant, code=f"B-{run}", price_myr=10_000)
    Stock.objects.create(sku=sku, hub=hub, org=merchant, on_hand=UNITS)
    campaign = Campaign.objects.create(
        slug=f"bench-{run}",
        name_en="Malaysia Week (bench)",
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(hours=2),
        status=CampaignStatus.PUBLISHED,
    )
    staff = User.objects.create(email=f"staff-{run}@bench.example", is_staff=True)
    owner = User.objects.create(email=f"owner-{run}@bench.example")
    offer = apply_offer(
        Context(user=owner, org=merchant, roles=frozenset({"owner"})),
        campaign.public_id,
        OfferInput(
            sku_code=sku.code, allocated_units=UNITS, per_buyer_limit=1, promo_price="79.00"
        ),
    )
    offer = approve_offer(Context(user=staff), offer.public_id)
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [
            User(email=f"b{i}-{run}@bench.example", password=unusable, preferred_language="zh-hans")
            for i in range(BUYERS)
        ],
        batch_size=1000,
    )
    raws, tokens, carts = [], [], []
    for user in users:
        raw = f"ehub_{secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"
        raws.append(raw)
        tokens.append(
            ApiToken(
                org=None,  # a personal token: the buyer's own, as on the profile page
                created_by=user,
                name="bench",
                prefix=raw.split("_")[1],
                token_hash=hashlib.sha256(raw.encode()).hexdigest(),
                last_used_at=now,  # no "last used" write during the run
            )
        )
        carts.append(Cart(public_id=new_public_id("CRT"), user=user))
    ApiToken.objects.bulk_create(tokens, batch_size=1000)
    Cart.objects.bulk_create(carts, batch_size=1000)
    CartLine.objects.bulk_create(
        [CartLine(cart=c, sku=sku, offer=offer, qty=1) for c in carts], batch_size=1000
    )
    jobs = [
        {"token": raw, "cart": cart.public_id, "id_number": _id_number(1_000_000 + i)}
        for i, (raw, cart) in enumerate(zip(raws, carts, strict=True))
    ]
    out.put({"offer_id": offer.pk, "jobs": jobs})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(port: int, jobs: list[dict], start_at: float, out, floor: bool = False) -> None:
    """POST each job's checkout (or, with ``floor``, GET /healthz: the same number of requests
    from the same clients to a view that does nothing) and put [(status, t0, t1, code)]."""
    results: list[tuple[int, float, float, str]] = []
    lock = threading.Lock()
    chunks = [jobs[i::THREADS] for i in range(THREADS)]

    def run(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.time() < start_at:
            time.sleep(0.001)
        for job in chunk:
            body = json.dumps(
                {
                    "name": "买家",
                    "id_number": job["id_number"],
                    "phone": "13800138000",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "street": "文三路 1 号",
                }
            )
            headers = {
                "Authorization": f"Bearer {job['token']}",
                "Content-Type": "application/json",
                "Idempotency-Key": job["cart"],
            }
            t0 = time.time()
            code, kind = 0, ""
            try:
                if floor:
                    conn.request("GET", "/healthz", headers=headers)
                else:
                    conn.request("POST", f"/api/v1/carts/{job['cart']}/checkout", body, headers)
                response = conn.getresponse()
                data = response.read()
                code = response.status
                if code != (200 if floor else 201):
                    try:
                        kind = json.loads(data).get("code", "")
                    except ValueError:
                        kind = "?"
            except (OSError, http.client.HTTPException) as exc:
                kind = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append((code, t0, time.time(), kind))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


def _books(env: dict, offer_id: int, out) -> None:
    _django(env)
    from django.db.models import Sum

    from ehub.campaigns.models import Claim, OfferBucket
    from ehub.orders.models import Order, OrderLine

    held = Claim.objects.filter(offer_id=offer_id, status="held").aggregate(s=Sum("qty"))["s"] or 0
    left = OfferBucket.objects.filter(offer_id=offer_id).aggregate(s=Sum("remaining"))["s"] or 0
    orders = Order.objects.filter(lines__offer_id=offer_id).distinct().count()
    lines = OrderLine.objects.filter(offer_id=offer_id).aggregate(s=Sum("qty"))["s"] or 0
    out.put({"held": held, "left": left, "orders": orders, "units_ordered": lines})


def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not start")


def _cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) so far (Linux /proc) of the server and its worker processes
    (``pid``), or with None of the PostgreSQL and Redis server processes (which also serve
    the other users of a shared machine): the cost per order, which a busy machine changes
    less than the wall-clock rate."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid is None:
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            mine = name.startswith(("postgres", "redis-server"))
        else:
            mine = int(entry.name) == pid or int(fields[1]) == pid  # fields[1]: the parent
        if mine:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _floor(ctx, port: int, jobs: list[dict], clients: int, box) -> dict:
    """The same 5,000 requests from the same clients at the same instant, to /healthz (a view
    with no database, no session, no work): what this server and load generator can do at all
    on this machine. No Django endpoint can beat it, so it bounds the sale's rate and p99."""
    start_at = time.time() + 2.0
    procs = [
        ctx.Process(target=_client, args=(port, jobs[i::clients], start_at, box, True))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        results.extend(box.get())
    for p in procs:
        p.join()
    ok = [r for r in results if r[0] == 200]
    latencies = [(r[2] - r[1]) * 1000 for r in results]
    elapsed = max(r[2] for r in results) - start_at
    return {
        "rate": len(ok) / elapsed if elapsed > 0 else 0.0,
        "p99": _pct(latencies, 99),
        "failed": len(results) - len(ok),
    }


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> list[dict]:
    url = os.environ.get("EHUB_BENCH_DATABASE_URL", "")
    if not url.startswith("postgres"):
        return [
            {
                "metric": "skipped (set EHUB_BENCH_DATABASE_URL to PostgreSQL)",
                "value": "",
                "unit": "",
                "target": None,
            }
        ]
    name = os.environ.get("EHUB_BENCH_FLASH_DATABASE", "ehub_flash_bench")
    url = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    redis_url = os.environ.get("EHUB_BENCH_REDIS_URL") or "redis://127.0.0.1:6379/14"
    _ensure_database(url)
    env = _env(url, redis_url)
    ctx = mp.get_context("spawn")
    box = ctx.Queue()
    setup = ctx.Process(target=_setup, args=(env, box))
    setup.start()
    prepared = box.get()
    setup.join()

    port = _free_port()
    workers = os.environ.get("EHUB_BENCH_FLASH_WEB_WORKERS", "2")
    threads = os.environ.get("EHUB_BENCH_FLASH_WEB_THREADS", "8")
    server_log = open(ROOT / "bench" / "results" / "flash_sale_server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "ehub",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--threads",
            threads,
            "--no-collectstatic",
        ],
        env={**env, "EHUB_WEB_ACCESS_LOG": "0"},
        cwd=ROOT,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(port)
        clients = int(os.environ.get("EHUB_BENCH_FLASH_CLIENTS", "4"))
        jobs = prepared["jobs"]
        start_at = time.time() + 3.0
        procs = [
            ctx.Process(target=_client, args=(port, jobs[i::clients], start_at, box))
            for i in range(clients)
        ]
        for p in procs:
            p.start()
        while time.time() < start_at - 0.2:
            time.sleep(0.05)
        samples: list[tuple[float, float, float]] = []
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                samples.append((time.time(), _cpu_seconds(server.pid), _cpu_seconds(None)))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        results = []
        for _ in procs:
            results.extend(box.get())
        sampling.set()
        sampler.join()
        samples.append((time.time(), _cpu_seconds(server.pid), _cpu_seconds(None)))
        for p in procs:
            p.join()
        floor = _floor(ctx, port, jobs, clients, box) if FLOOR else None
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
    checker = ctx.Process(target=_books, args=(env, prepared["offer_id"], box))
    checker.start()
    books = box.get()
    checker.join()

    placed = [r for r in results if r[0] == 201]
    expected_refusals = {"sold_out", "buyer_limit_reached", "claim_refused"}
    errors = [r for r in results if r[0] != 201 and r[3] not in expected_refusals]
    latencies = [(r[2] - r[1]) * 1000 for r in results]
    elapsed = max(r[2] for r in placed) - start_at if placed else float("nan")
    last_order = start_at + (elapsed if placed else 0.0)

    def cpu_at(moment: float, column: int) -> float:
        before = [s for s in samples if s[0] <= moment]
        return (before[-1] if before else samples[0])[column]

    # The sale's own phase: from the start to the last order placed (refusals after it are
    # the sold-out tail and cost little each).
    web_cpu = cpu_at(last_order, 1) - samples[0][1]
    db_cpu = cpu_at(last_order, 2) - samples[0][2]
    cpu_used = samples[-1][1] - samples[0][1]
    rate = len(placed) / elapsed if placed else 0.0
    kinds: dict[str, int] = {}
    for r in errors:
        kinds[f"{r[0]} {r[3]}"] = kinds.get(f"{r[0]} {r[3]}", 0) + 1
    floor_rows = []
    if floor is not None:
        floor_rows = [
            {
                "metric": "floor: GET /healthz, same clients and load (requests/s)",
                "value": round(floor["rate"], 1),
                "unit": f"requests/s ({floor['failed']} failed)",
                "target": None,
            },
            {
                "metric": "floor: GET /healthz p99",
                "value": round(floor["p99"], 1),
                "unit": "ms",
                "target": None,
            },
        ]
    return [
        {
            "metric": "orders placed/s",
            "value": round(rate, 1),
            "unit": "orders/s",
            "target": TARGET_ORDERS_PER_S,
        },
        {
            "metric": "p50 latency (all requests)",
            "value": round(_pct(latencies, 50), 1),
            "unit": "ms",
            "target": None,
        },
        {
            "metric": "p99 latency (all requests)",
            "value": round(_pct(latencies, 99), 1),
            "unit": "ms",
            "target": TARGET_P99_MS,
        },
        {"metric": "orders placed", "value": len(placed), "unit": "orders", "target": UNITS},
        {
            "metric": "oversold",
            "value": max(books["held"] - UNITS, 0, books["units_ordered"] - UNITS),
            "unit": "units",
            "target": 0,
        },
        {"metric": "unsold", "value": UNITS - books["units_ordered"], "unit": "units", "target": 0},
        {"metric": "errors", "value": len(errors), "unit": json.dumps(kinds)[:80], "target": 0},
        {"metric": "time to last order", "value": round(elapsed, 2), "unit": "s", "target": None},
        {
            "metric": "web CPU per placed order (sale phase)",
            "value": round(web_cpu / len(placed) * 1000, 2) if placed else 0.0,
            "unit": "ms CPU (gunicorn, start → last order)",
            "target": None,
        },
        {
            "metric": "PostgreSQL+Redis CPU per placed order",
            "value": round(db_cpu / len(placed) * 1000, 2) if placed else 0.0,
            "unit": "ms CPU (machine-wide: includes others' load)",
            "target": None,
        },
        {
            "metric": "web CPU per request (whole run)",
            "value": round(cpu_used / max(len(results), 1) * 1000, 2),
            "unit": "ms CPU/request",
            "target": None,
        },
        {
            "metric": "idle 2-core estimate",
            "value": round(2 * len(placed) / (web_cpu + db_cpu), 1) if web_cpu + db_cpu else 0.0,
            "unit": "orders/s = 2 cores / (web + db CPU per order), load generator excluded",
            "target": None,
        },
        *floor_rows,
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
