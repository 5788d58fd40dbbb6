"""Label benchmark: shipping-label PDFs per second in one process (target ≥ 200/s per core).

Builds ``EHUB_BENCH_LABELS_N`` (default 2,000) distinct labels - each its own waybill number,
consignee, address and QR payload, so no cache can serve a label twice - and times
``labels.shipping_label`` (one PDF per parcel, as the pack station prints it) after a warm-up
that registers the fonts. Also reports the batch form (``shipping_labels``, one PDF for a wave
of 100) and commercial invoices. Single process, single thread: the figure is per core.

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench labels``.
"""

from __future__ import annotations

import os
import random
import time
from datetime import date

NAME = "labels"
TARGET_PER_S = 200
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
PLACES = [
    ("上海市", "浦东新区", "世纪大道", "PVG-1-SH"),
    ("广东省", "深圳市南山区", "科技园南路", "CAN-1-GD"),
    ("北京市", "朝阳区", "建国路", "PEK-2-BJ"),
    ("四川省", "成都市武侯区", "天府大道", "CTU-3-SC"),
    ("浙江省", "杭州市西湖区", "文三路", "PVG-1-ZJ"),
]


def _django() -> None:
    os.environ.setdefault("EHUB_DEBUG", "1")
    os.environ.setdefault("EHUB_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehub.settings")
    import django

    django.setup()


def _labels(n: int):
    from ehub.fulfillment.carriers.waybill import make_waybill_no
    from ehub.fulfillment.labels import LabelData, Party

    rng = random.Random(2017)
    sender = Party(
        "Durian Raja Sdn. Bhd.",
        ("c/o eHub KLIA Aeropolis, Lot PT 12345", "64000 Sepang, Selangor, Malaysia"),
        "+60 3-8787 1234",
    )
    out = []
    for i in range(n):
        province, district, road, routing = PLACES[i % len(PLACES)]
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        address = f"{province} {district} {road} {rng.randint(1, 999)} 号 {rng.randint(1, 30)} 楼"
        out.append(
            LabelData(
                waybill_no=make_waybill_no("EX", 1_000_000 + i),
                routing_code=routing,
                carrier_name="eHub Express",
                service="express",
                sender=sender,
                consignee=Party(name, (address, f"{rng.randint(100000, 899999)}"), f"139{i:08d}"),
                weight_g=rng.randint(200, 5000),
                order_no=f"ORD-{i:08d}",
                shipped_on=date(2025, 3, 3),
            )
        )
    return out


def _invoice(i: int):
    from ehub.core.money import Money
    from ehub.fulfillment.labels import InvoiceData, InvoiceLine, Party

    line = InvoiceLine(
        "Musang King durian paste 200 g", "猫山王榴莲酱 200 克", "2008999000", 3,
        Money(4500, "CNY"), 220,
    )  # fmt: skip
    return InvoiceData(
        f"INV-{i:06d}",
        date(2025, 3, 3),
        Party("Durian Raja Sdn. Bhd.", ("Lot 1, Jalan Sepang", "64000 Sepang")),
        Party("张伟", ("上海市浦东新区世纪大道100号",), "13800138000"),
        [line, line, line],
        order_no=f"ORD-{i:08d}",
        freight=Money(1200, "CNY"),
    )


def run() -> list[dict]:
    _django()
    from ehub.core.pdf import cjk_font_source
    from ehub.fulfillment.labels import commercial_invoice, shipping_label, shipping_labels

    n = int(os.environ.get("EHUB_BENCH_LABELS_N", "2000"))
    labels = _labels(n)
    shipping_label(labels[0])  # warm-up: font registration and parsing happen once per process

    # Wall clock, and CPU time of this process: on a shared machine the second is the fairer
    # "per core" figure (it excludes time the scheduler gave to other processes).
    began, cpu = time.perf_counter(), time.process_time()
    size = sum(len(shipping_label(label)) for label in labels)
    single, single_cpu = time.perf_counter() - began, time.process_time() - cpu

    began = time.perf_counter()
    for i in range(0, n, 100):
        shipping_labels(labels[i : i + 100])
    batch = time.perf_counter() - began

    m = max(1, n // 4)
    began = time.perf_counter()
    for i in range(m):
        commercial_invoice(_invoice(i))
    invoices = time.perf_counter() - began

    return [
        {
            "metric": f"N={n} shipping_label: labels/s",
            "value": round(n / single),
            "unit": "labels/s",
            "target": TARGET_PER_S,
        },
        {
            "metric": f"N={n} shipping_label: labels per CPU-second",
            "value": round(n / single_cpu),
            "unit": "labels/s",
            "target": TARGET_PER_S,
        },
        {
            "metric": "shipping_labels (batches of 100): labels/s",
            "value": round(n / batch),
            "unit": "labels/s",
            "target": None,
        },
        {
            "metric": f"N={m} commercial_invoice: PDFs/s",
            "value": round(m / invoices),
            "unit": "PDFs/s",
            "target": None,
        },
        {"metric": "label PDF size", "value": round(size / n), "unit": "bytes", "target": None},
        {"metric": "CJK font", "value": cjk_font_source(), "unit": "", "target": None},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
