"""Fulfilment benchmark: a simulated hub day of N orders through wave, pick, pack, label (PDF
included), manifest and handover, on SQLite and (with ``EHUB_BENCH_DATABASE_URL``) PostgreSQL.

Setup (timed apart, not in the day): a hub with bins, a merchant with 20 SKUs put away through
an ASN, then N single-line orders booked in batches of ``BOOK_BATCH``: the stock held with
``inventory.reserve_batch`` (one hold per order, as checkout makes them) and the waybills
booked with ``batch.request_shipments`` (rate shopping + a waybill each).

The day, step by step over all N parcels, through the hub's batch services
(``ehub.fulfillment.batch``), as a hub works its floor: ``release_many`` (cleared orders into
waves by carrier cut-off, ``BATCH`` per call), ``pick_many`` per wave (every unit confirmed),
``pack_many`` (measured parcels), ``print_labels`` (one 100×150 mm PDF per parcel, in one
process), ``services.create_manifest`` (per carrier, ``MANIFEST_SIZE`` parcels each, with the
K2 export declaration) and ``services.handover`` (every hold consumed in one batch). Each step
reports parcels/s of wall time and the CPU seconds of the process (SQLite runs in-process, so
its CPU is in there; PostgreSQL's server CPU is not). Before handover, ``POOL_SAMPLE`` labels
are printed again with ``workers`` = the machine's cores (a reprint: same PDFs, print counted)
to show the pool's total rate and its CPU per label (parent + workers, whose CPU is read from
the process's ended children once the pool is closed, so it includes their start-up).

Rows: bare label PDFs per second and per CPU-second (``labels.shipping_label``, one process:
the issue's target is >= 200/s per core); per database, parcels/hour over the day's steps,
the slowest step, each step, labels per CPU-second through the service, the pool's figures,
and a check that every parcel shipped and every hold was consumed. Load average is reported:
the figures are only comparable on a quiet machine.

``EHUB_BENCH_FULFILLMENT_N`` (default 50,000) sets the day's orders. Each database runs in a
child process. Run alone: ``EHUB_DEBUG=1 .venv/bin/python -m bench fulfillment``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import resource
import tempfile
import time
from pathlib import Path

NAME = "fulfillment"
LABEL_TARGET_PER_S = 200
STEP_TARGET_PER_S = 2_000  # "the rest far faster" than labels
MANIFEST_SIZE = 500
BOOK_BATCH = 1_000
BATCH = 1_000
LABEL_BATCH = 500
POOL_SAMPLE = 10_000  # parcels reprinted through the worker pool
BARE_LABELS = 1_500


def _django(url: str) -> None:
    os.environ["EHUB_DATABASE_URL"] = url
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ehub.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _day(url: str, n: int, out) -> None:
    _django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import Organization
    from ehub.catalog.models import Product, ProductTranslation, Reservation, Sku, Stock
    from ehub.catalog.services import inventory
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core import clock
    from ehub.core.context import Context
    from ehub.core.ids import new_public_id
    from ehub.core.money import Money
    from ehub.fulfillment import batch, gateway, services
    from ehub.fulfillment.models import Shipment

    load_default_tariff()
    tag = new_public_id("BENCH").split("-", 1)[1].replace("-", "")[:8]
    hub = Organization.objects.create(
        kind=OrgKind.HUB_OPERATOR, legal_name=f"Bench hub {tag}", status="active", country="MY"
    )
    merchant = Organization.objects.create(
        kind=OrgKind.MERCHANT,
        legal_name=f"Bench merchant {tag}",
        status="active",
        country="MY",
        # Unique per run: the PostgreSQL database keeps earlier runs' organizations.
        registration_number=f"201901{random.randrange(10**6):06d}",
    )
    services.ensure_bins(hub, [f"{z}-{a:02d}-01" for z in "ABCD" for a in range(1, 6)])
    hub_ctx = Context(user=None, org=hub, roles=frozenset({"operator"}), via="cli")
    m_ctx = Context(user=None, org=merchant, roles=frozenset({"owner"}), via="cli")
    system = Context.system("cli")
    skus = []
    for i in range(20):
        product = Product.objects.create(org=merchant, status="active", hs_code="081060")
        ProductTranslation.objects.create(product=product, language="en", title=f"Durian {i}")
        skus.append(
            Sku.objects.create(
                product=product,
                org=merchant,
                code=f"B{tag}-{i:02d}",
                price_myr=5000,
                gross_weight_g=800,
            )
        )
    per_sku = n // len(skus) + 1
    today = clock.today_in("Asia/Kuala_Lumpur")
    asn = services.create_asn(
        m_ctx,
        hub=hub,
        expected_on=today,
        lines=[services.AsnLineInput(s.code, per_sku) for s in skus],
    )
    for i, s in enumerate(skus):
        services.receive_scan(hub_ctx, asn.public_id, s.code, qty=per_sku)
        services.put_away(
            hub_ctx, asn.public_id, sku_code=s.code, bin_code=f"{'ABCD'[i % 4]}-{i % 5 + 1:02d}-01"
        )
    provinces = [
        ("广东", "广州市", "天河区", "体育西路1号"),
        ("上海", "上海市", "浦东新区", "世纪大道100号"),
        ("北京", "北京市", "朝阳区", "建国路88号"),
        ("四川", "成都市", "武侯区", "天府大道北段1700号"),
    ]
    refs = [f"ORD-{tag}-{i:06d}" for i in range(n)]

    def request(i: int, ref: str):
        sku = skus[i % len(skus)]
        province, city, district, street = provinces[i % len(provinces)]
        consignee = services.Consignee(
            f"李{'伟芳娜敏静'[i % 5]}", f"138{i:08d}", province, city, district, street
        )
        line = services.ShipmentLine(
            sku.pk, sku.code, "Durian", 1, Money(5000, "MYR"), "081060", 800, f"order:{ref}:0"
        )
        return services.ShipmentRequest(
            ref, merchant.pk, hub.pk, consignee, [line], Money(5000, "MYR")
        )

    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, n, BOOK_BATCH):
        chunk = refs[start : start + BOOK_BATCH]
        inventory.reserve_batch(
            system,
            [
                inventory.Hold(skus[(start + j) % len(skus)], hub, 1, f"order:{ref}:0")
                for j, ref in enumerate(chunk)
            ],
            purpose="checkout",
        )
        batch.request_shipments(system, [request(start + j, r) for j, r in enumerate(chunk)])
    booking = (time.perf_counter() - t0, time.process_time() - c0)

    timings: dict[str, tuple[float, float]] = {}
    io: dict[str, float] = {}  # MB this process wrote to storage (SQLite's file and WAL)

    def step(name, fn):
        start, cpu, written = time.perf_counter(), time.process_time(), _written()
        fn()
        timings[name] = (time.perf_counter() - start, time.process_time() - cpu)
        io[name] = (_written() - written) / 1e6

    def waybills_by_wave(status: str) -> list[list[str]]:
        by_wave: dict[int, list[str]] = {}
        for wave_id, wb in (
            Shipment.objects.filter(hub=hub, status=status)
            .order_by("wave_id", "pk")
            .values_list("wave_id", "waybill_no")
        ):
            by_wave.setdefault(wave_id, []).append(wb)
        return [chunk for wbs in by_wave.values() for chunk in _chunks(wbs, BATCH)]

    def release():
        for chunk in _chunks(refs, BATCH):
            batch.release_many(system, chunk)

    def pick():
        for chunk in waybills_by_wave("released"):
            batch.pick_many(hub_ctx, chunk)

    def pack():
        for chunk in waybills_by_wave("picked"):
            batch.pack_many(hub_ctx, [batch.PackInput(wb, 950, 250, 180, 120) for wb in chunk])

    def label(workers: int, status: str):
        def run():
            for chunk in _chunks(
                [wb for wave in waybills_by_wave(status) for wb in wave], LABEL_BATCH
            ):
                result = batch.print_labels(hub_ctx, chunk, workers=workers)
                assert len(result.pdfs) == len(chunk) and result.pdfs[0][:4] == b"%PDF"

        return run

    step("wave (release)", release)
    step("pick", pick)
    step("pack", pack)
    step("label (PDF)", label(1, "packed"))

    manifests = []

    def manifest_all():
        by_carrier: dict[str, list[str]] = {}
        for code, wb in (
            Shipment.objects.filter(hub=hub, status="labelled")
            .order_by("pk")
            .values_list("carrier_code", "waybill_no")
        ):
            by_carrier.setdefault(code, []).append(wb)
        for code, wbs in by_carrier.items():
            for chunk in _chunks(wbs, MANIFEST_SIZE):
                m = services.create_manifest(
                    hub_ctx,
                    carrier_code=code,
                    flight_no="MH388",
                    departure_date=today,
                    waybills=chunk,
                )
                manifests.append((m.public_id, chunk))

    step("manifest + K2", manifest_all)

    # The pool's reprint, before handover (a manifested parcel's label may be reprinted).
    workers = os.cpu_count() or 1
    children = _children_cpu()
    gateway.label_pool(workers).submit(gateway._warm).result()  # workers started, fonts loaded
    sample = list(
        Shipment.objects.filter(hub=hub, status="manifested")
        .order_by("pk")
        .values_list("waybill_no", flat=True)[:POOL_SAMPLE]
    )
    start, cpu = time.perf_counter(), time.process_time()
    for chunk in _chunks(sample, LABEL_BATCH):
        batch.print_labels(hub_ctx, chunk, workers=workers)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    gateway.close_label_pool()  # the workers end: their CPU joins this process's children's
    pool = {
        "n": len(sample),
        "workers": workers,
        "wall": wall,
        "cpu": cpu + _children_cpu() - children,
    }

    step("handover", lambda: [services.handover(hub_ctx, m, chunk) for m, chunk in manifests])
    shipped = Shipment.objects.filter(hub=hub, status="shipped").count()
    open_holds = Reservation.objects.filter(stock__hub=hub, status="active").count()
    reserved = sum(Stock.objects.filter(hub=hub).values_list("reserved", flat=True))
    out.put(
        {
            "vendor": connection.vendor,
            "booking": booking,
            "timings": timings,
            "io": io,
            "load": _load(),
            "pool": pool,
            "n": n,
            "check": (shipped, open_holds, reserved),
        }
    )


def _bare_labels(out) -> None:
    """Bare ``labels.shipping_label`` on distinct labels (``bench.labels``' generator: each its
    own waybill, consignee and QR, so no cache serves a label twice), wall and CPU."""
    _django(os.environ.get("EHUB_BENCH_LABEL_DB", "sqlite:///:memory:"))
    from bench.labels import _labels
    from ehub.fulfillment import labels

    data = _labels(BARE_LABELS)
    labels.shipping_label(data[0])  # fonts registered once
    start, cpu = time.perf_counter(), time.process_time()
    for d in data[1:]:
        labels.shipping_label(d)
    n = len(data) - 1
    out.put((n / (time.perf_counter() - start), n / (time.process_time() - cpu)))


def _child(target, *args):
    queue = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _written() -> int:
    """Bytes this process has caused to be written to storage (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("write_bytes"))
    except (OSError, StopIteration):
        return 0


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the label workers, once the
    pool is closed: their start, fonts, unpickling and drawing)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run() -> list[dict]:
    n = int(os.environ.get("EHUB_BENCH_FULFILLMENT_N", "50000"))
    tmp = Path(tempfile.mkdtemp(prefix="ehub-bench-fulfillment-"))
    dbs = [("sqlite", f"sqlite:///{tmp / 'fulfillment.sqlite3'}")]
    if os.environ.get("EHUB_BENCH_DATABASE_URL"):
        dbs.append(("postgresql", os.environ["EHUB_BENCH_DATABASE_URL"]))
    rows: list[dict] = [
        {"metric": "load average at start", "value": _load(), "unit": "", "target": None}
    ]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehub.settings")
    wall, per_cpu = _child(_bare_labels)
    rows.append(
        {
            "metric": "bare label PDFs per second (1 process)",
            "value": round(wall, 1),
            "unit": "labels/s",
            "target": LABEL_TARGET_PER_S,
        }
    )
    rows.append(
        {
            "metric": "bare label PDFs per CPU-second",
            "value": round(per_cpu, 1),
            "unit": "labels/s",
            "target": LABEL_TARGET_PER_S,
        }
    )
    for name, url in dbs:
        result = _child(_day, url, n)
        timings = result["timings"]
        total = sum(wall for wall, _cpu in timings.values())
        slowest = max(timings, key=lambda k: timings[k][0])
        rows.append(
            {
                "metric": f"{name}: parcels per hour (wave→handover, N={n})",
                "value": round(n / total * 3600),
                "unit": "parcels/h",
                "target": None,
            }
        )
        rows.append(
            {
                "metric": f"{name}: the day's steps, wall / CPU",
                "value": f"{total:.1f} s / {sum(c for _w, c in timings.values()):.1f} s",
                "unit": "",
                "target": None,
            }
        )
        rows.append(
            {
                "metric": f"{name}: slowest step",
                "value": f"{slowest} {n / timings[slowest][0]:.0f}/s",
                "unit": "",
                "target": None,
            }
        )
        for step_name, (seconds, cpu) in timings.items():
            is_label = step_name.startswith("label")
            rows.append(
                {
                    "metric": f"{name}: {step_name} (wall {seconds:.1f} s, CPU {cpu:.1f} s, "
                    f"{result['io'][step_name]:.0f} MB written)",
                    "value": round(n / seconds, 1),
                    "unit": "parcels/s",
                    "target": LABEL_TARGET_PER_S if is_label else STEP_TARGET_PER_S,
                }
            )
        _wall, label_cpu = timings["label (PDF)"]
        rows.append(
            {
                "metric": f"{name}: labels per CPU-second through print_labels (1 process)",
                "value": round(n / label_cpu, 1),
                "unit": "labels/s",
                "target": LABEL_TARGET_PER_S,
            }
        )
        pool = result["pool"]
        rows.append(
            {
                "metric": f"{name}: print_labels with {pool['workers']} worker processes "
                f"(reprint of {pool['n']}), total",
                "value": round(pool["n"] / pool["wall"], 1),
                "unit": "labels/s",
                "target": None,
            }
        )
        rows.append(
            {
                "metric": f"{name}: print_labels with workers, per CPU-second (parent + workers, "
                "their start included)",
                "value": round(pool["n"] / pool["cpu"], 1),
                "unit": "labels/s",
                "target": LABEL_TARGET_PER_S,
            }
        )
        book_wall, book_cpu = result["booking"]
        rows.append(
            {
                "metric": f"{name}: booking, reserve_batch + request_shipments (setup; CPU "
                f"{book_cpu:.1f} s)",
                "value": round(n / book_wall, 1),
                "unit": "parcels/s",
                "target": None,
            }
        )
        rows.append(
            {
                "metric": f"{name}: load average when the day ended",
                "value": result["load"],
                "unit": "",
                "target": None,
            }
        )
        shipped, open_holds, reserved = result["check"]
        rows.append(
            {
                "metric": f"{name}: check shipped / holds still open / units still reserved",
                "value": f"{shipped} / {open_holds} / {reserved}",
                "unit": "",
                "target": None,
            }
        )
    rows.append({"metric": "load average at end", "value": _load(), "unit": "", "target": None})
    return rows
