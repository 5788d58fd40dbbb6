"""Fulfilment benchmark: a simulated hub day of N orders through wave, pick, pack, label (PDF
included), manifest and handover, on SQLite and (with ``EHUB_BENCH_DATABASE_URL``) PostgreSQL.

Setup (not timed): a hub with bins, a merchant with 20 SKUs put away through ASNs, N orders
reserved and booked (``request_shipment``: rate shopping + waybill). Timed, step by step over
all N parcels, through the same services the portal calls: ``release_for_picking`` (waves by
cut-off), ``pick_all`` (one scan per unit), ``pack``, ``print_label`` (a 100×150 mm PDF each),
``create_manifest`` (per carrier, 500 parcels each, with the K2 export declaration) and
``handover`` (consumes every reservation). A separate row measures bare label PDFs per second
(``labels.shipping_label``) on one core: the issue's target is >= 200/s.

``EHUB_BENCH_FULFILLMENT_N`` (default 50,000) sets the day's orders. Each database runs in a
child process. Run alone: ``EHUB_DEBUG=1 .venv/bin/python -m bench fulfillment``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

NAME = "fulfillment"
LABEL_TARGET_PER_S = 200
MANIFEST_SIZE = 500


def _django(url: str) -> None:
    os.environ["EHUB_DATABASE_URL"] = url
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ehub.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False


def _day(url: str, n: int, out) -> None:
    _django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import Organization
    from ehub.catalog.models import Product, ProductTranslation, Sku
    from ehub.catalog.services import inventory
    from ehub.catalog.tariff import load_default_tariff
    from ehub.core import clock
    from ehub.core.context import Context
    from ehub.core.ids import new_public_id
    from ehub.core.money import Money
    from ehub.fulfillment import services
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
        registration_number="201901012345",
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
    consignee = services.Consignee("李伟", "13800138000", "广东", "广州市", "天河区", "体育西路1号")
    t0 = time.perf_counter()
    refs = []
    for i in range(n):
        sku = skus[i % len(skus)]
        ref = f"ORD-{tag}-{i:06d}"
        key = f"order:{ref}:0"
        inventory.reserve(system, sku=sku, hub=hub, qty=1, key=key, purpose="checkout")
        services.request_shipment(
            system,
            services.ShipmentRequest(
                ref,
                merchant.pk,
                hub.pk,
                consignee,
                [
                    services.ShipmentLine(
                        sku.pk, sku.code, "Durian", 1, Money(5000, "MYR"), "081060", 800, key
                    )
                ],
                Money(5000, "MYR"),
            ),
        )
        refs.append(ref)
    booking_s = time.perf_counter() - t0
    waybills = dict(
        Shipment.objects.filter(reference__in=refs).values_list("reference", "waybill_no")
    )
    timings: dict[str, float] = {}

    def step(name, fn):
        start = time.perf_counter()
        fn()
        timings[name] = time.perf_counter() - start

    step("wave (release)", lambda: [services.release_for_picking(system, r) for r in refs])
    step("pick", lambda: [services.pick_all(hub_ctx, waybills[r]) for r in refs])
    step(
        "pack",
        lambda: [
            services.pack(
                hub_ctx, waybills[r], weight_g=950, length_mm=250, width_mm=180, height_mm=120
            )
            for r in refs
        ],
    )
    step("label (PDF)", lambda: [services.print_label(hub_ctx, waybills[r]) for r in refs])

    manifests = []

    def manifest_all():
        by_carrier: dict[str, list[str]] = {}
        for code, wb in Shipment.objects.filter(reference__in=refs).values_list(
            "carrier_code", "waybill_no"
        ):
            by_carrier.setdefault(code, []).append(wb)
        for code, wbs in by_carrier.items():
            for i in range(0, len(wbs), MANIFEST_SIZE):
                chunk = wbs[i : i + MANIFEST_SIZE]
                m = services.create_manifest(
                    hub_ctx,
                    carrier_code=code,
                    flight_no="MH388",
                    departure_date=today,
                    waybills=chunk,
                )
                manifests.append((m.public_id, chunk))

    step("manifest + K2", manifest_all)
    step("handover", lambda: [services.handover(hub_ctx, m, chunk) for m, chunk in manifests])
    out.put({"vendor": connection.vendor, "booking_s": booking_s, "timings": timings, "n": n})


def _labels(out) -> None:
    import datetime as dt

    from ehub.fulfillment import labels

    data = labels.LabelData(
        waybill_no="EH12345678",
        routing_code="CAN-2-GD",
        carrier_name="eHub Express",
        service="Air",
        sender=labels.Party("Bench merchant", ("KLIA Aeropolis",)),
        consignee=labels.Party("李伟", ("广东广州市天河区", "体育西路1号"), "13800138000"),
        weight_g=950,
        order_no="ORD-BENCH",
        shipped_on=dt.date(2026, 1, 1),
    )
    labels.shipping_label(data)  # fonts registered once
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 5:
        labels.shipping_label(data)
        count += 1
    out.put(count / (time.perf_counter() - start))


def _child(target, *args):
    queue = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def run() -> list[dict]:
    n = int(os.environ.get("EHUB_BENCH_FULFILLMENT_N", "50000"))
    tmp = Path(tempfile.mkdtemp(prefix="ehub-bench-fulfillment-"))
    dbs = [("sqlite", f"sqlite:///{tmp / 'fulfillment.sqlite3'}")]
    if os.environ.get("EHUB_BENCH_DATABASE_URL"):
        dbs.append(("postgresql", os.environ["EHUB_BENCH_DATABASE_URL"]))
    rows: list[dict] = []
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehub.settings")
    rows.append(
        {
            "metric": "label PDFs per second (1 core)",
            "value": round(_child(_lambda_labels), 1),
            "unit": "labels/s",
            "target": LABEL_TARGET_PER_S,
        }
    )
    for name, url in dbs:
        result = _child(_day, url, n)
        timings = result["timings"]
        total = sum(timings.values())
        slowest = max(timings, key=timings.get)
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
                "metric": f"{name}: slowest step",
                "value": f"{slowest} {n / timings[slowest]:.0f}/s",
                "unit": "",
                "target": None,
            }
        )
        for step_name, seconds in timings.items():
            rows.append(
                {
                    "metric": f"{name}: {step_name}",
                    "value": round(n / seconds, 1),
                    "unit": "parcels/s",
                    "target": None,
                }
            )
        rows.append(
            {
                "metric": f"{name}: booking (setup, not in the day)",
                "value": round(n / result["booking_s"], 1),
                "unit": "parcels/s",
                "target": None,
            }
        )
    return rows


def _lambda_labels(out) -> None:
    _django(os.environ.get("EHUB_BENCH_LABEL_DB", "sqlite:///:memory:"))
    _labels(out)
