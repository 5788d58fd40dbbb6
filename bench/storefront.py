"""Storefront benchmark: server time of the product page and the search page, 10,000 products.

Each database is built in a child process (so its Django settings never meet another
benchmark's): migrate, then bulk-load 10,000 active products from 20 merchants, each with
titles and descriptions in English, Malay and Chinese, 2 SKUs, a stock row per SKU and an
image row, plus the ECB exchange rates; then ``catalog.search.rebuild_index`` fills the search
index. Requests go through Django's test ``Client``, so the full middleware stack, URL
routing, the view, every query and template rendering are timed; the network is not.

Measured, after a warm-up: the product page (random products, a Chinese browser, so prices
are converted to CNY) and the search page (a mix of Chinese and English queries), 600
requests each, reported as p50/p95/p99 in milliseconds; also the queries each page makes.

Databases: SQLite in a temporary file always; PostgreSQL when ``EHUB_BENCH_DATABASE_URL``
is set, in a database of its own (``<name>_storefront``, created and dropped here).
Sizes: ``EHUB_BENCH_STOREFRONT_PRODUCTS`` (default 10,000), ``EHUB_BENCH_STOREFRONT_REQUESTS``
(default 600).

Run alone with ``EHUB_DEBUG=1 .venv/bin/python -m bench storefront``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time

from bench._databases import each_database

NAME = "storefront"
PRODUCTS = int(os.environ.get("EHUB_BENCH_STOREFRONT_PRODUCTS", "10000"))
REQUESTS = int(os.environ.get("EHUB_BENCH_STOREFRONT_REQUESTS", "600"))
WARMUP = 50
MERCHANTS = 20
TARGET_PRODUCT_P95_MS = 30
SEARCHES = ["榴莲", "燕窝", "durian", "batik", "white coffee", "咖啡", "猫山王", "sambal", "锡器"]

# (English, Malay, Chinese, category) of the goods the fake catalog is made of.
GOODS = [
    ("Musang King durian paste", "Pes durian Musang King", "猫山王榴莲酱", "food_drink"),
    ("Durian crepe", "Krep durian", "榴莲千层", "food_drink"),
    ("Edible bird's nest", "Sarang burung walit", "即食燕窝", "food_drink"),
    ("Ipoh white coffee", "Kopi putih Ipoh", "怡保白咖啡", "food_drink"),
    ("Bak kut teh spices", "Rempah bak kut teh", "肉骨茶香料", "food_drink"),
    ("Sarawak layer cake", "Kek lapis Sarawak", "砂拉越千层蛋糕", "food_drink"),
    ("Sambal belacan", "Sambal belacan", "马来辣椒虾酱", "food_drink"),
    ("Sarawak black pepper", "Lada hitam Sarawak", "砂拉越黑胡椒", "food_drink"),
    ("Hand-drawn batik scarf", "Selendang batik lukis", "手绘蜡染丝巾", "fashion"),
    ("Songket shawl", "Selendang songket", "宋吉锦披肩", "fashion"),
    ("Pewter tankard", "Kole piuter", "锡器酒杯", "home_crafts"),
    ("Rattan basket", "Bakul rotan", "藤编篮", "home_crafts"),
    ("Tongkat ali capsules", "Kapsul tongkat ali", "东革阿里胶囊", "health"),
    ("Palm oil soap", "Sabun minyak sawit", "棕榈油香皂", "beauty"),
    ("Bird's nest face mask", "Topeng muka sarang burung", "燕窝面膜", "beauty"),
]
ADJECTIVES = [
    ("Premium", "Premium", "优质"),
    ("Organic", "Organik", "有机"),
    ("Family pack", "Pek keluarga", "家庭装"),
    ("Gift box", "Kotak hadiah", "礼盒装"),
    ("Classic", "Klasik", "经典"),
]


# ---------------------------------------------------------------------------------------------
# Parent: one child process per database
# ---------------------------------------------------------------------------------------------


def run() -> list[dict]:
    return each_database(NAME)


# ---------------------------------------------------------------------------------------------
# Child: build, seed, measure
# ---------------------------------------------------------------------------------------------


def _django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory: not what production does


def _seed(rng: random.Random) -> dict:
    import datetime as dt

    from ehub.accounts.domain import OrgKind
    from ehub.accounts.models import Organization
    from ehub.catalog.models import (
        Product,
        ProductImage,
        ProductStatus,
        ProductTranslation,
        Sku,
        Stock,
    )
    from ehub.core.fx import seed_ecb_rates
    from ehub.core.ids import new_public_id

    seed_ecb_rates()
    merchants = Organization.objects.bulk_create(
        Organization(
            kind=OrgKind.MERCHANT,
            legal_name=f"Kedai {i:02d} Sdn. Bhd.",
            country="MY",
            public_id=new_public_id("ORG"),
        )
        for i in range(MERCHANTS)
    )
    hub = Organization.objects.create(
        kind=OrgKind.HUB_OPERATOR, legal_name="KLIA Aeropolis eFulfilment Hub", country="MY"
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    products = Product.objects.bulk_create(
        Product(
            org=merchants[i % MERCHANTS],
            public_id=new_public_id("PRD"),
            status=ProductStatus.ACTIVE,
            brand=f"Brand {i % 97}",
            category=GOODS[i % len(GOODS)][3],
            featured=i % 50 == 0,
            published_at=start + dt.timedelta(minutes=i),
            net_weight_g=250 + i % 750,
        )
        for i in range(PRODUCTS)
    )
    translations, skus = [], []
    for i, product in enumerate(products):
        en, ms, zh, _category = GOODS[i % len(GOODS)]
        adj_en, adj_ms, adj_zh = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
        for language, title, description in (
            ("en", f"{adj_en} {en} #{i}", f"{en}, made in Malaysia. " * 6),
            ("ms", f"{ms} {adj_ms} #{i}", f"{ms}, buatan Malaysia. " * 6),
            ("zh-hans", f"{adj_zh}{zh} {i}号", f"{zh}，马来西亚制造。" * 6),
        ):
            translations.append(
                ProductTranslation(
                    product=product, language=language, title=title, description=description
                )
            )
        for k, (size_en, size_zh) in enumerate((("250 g", "250克"), ("1 kg", "1公斤"))):
            skus.append(
                Sku(
                    product=product,
                    org=product.org,
                    code=f"P{i}-{k}",
                    price_myr=rng.randrange(500, 50_000) * (k + 1),
                    variant={"size": size_en},
                    variant_labels={"en": size_en, "zh-hans": size_zh},
                )
            )
    ProductTranslation.objects.bulk_create(translations, batch_size=2000)
    skus = Sku.objects.bulk_create(skus, batch_size=2000)
    Stock.objects.bulk_create(
        (
            Stock(sku=sku, hub=hub, org=sku.org, on_hand=rng.choice((0, 3, 40)), reserved=0)
            for sku in skus
        ),
        batch_size=2000,
    )
    ProductImage.objects.bulk_create(
        (
            ProductImage(
                product=p,
                image=f"products/{p.public_id}/front.jpg",
                thumbnail=f"products/{p.public_id}/front-thumb.jpg",
                width=800,
                height=800,
            )
            for p in products
        ),
        batch_size=2000,
    )
    return {"products": [p.public_id for p in products]}


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def _measure(client, paths: list[str], headers: dict) -> tuple[dict[str, float], int]:
    from django.db import connection

    for path in paths[:WARMUP]:
        client.get(path, headers=headers)
    # Counted with an execute wrapper: the test Client's request_started signal empties
    # Django's own query log in the middle of a request.
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        client.get(paths[0], headers=headers)
    samples = []
    for path in paths:
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return _percentiles(samples), len(queries)


def _main(label: str) -> None:
    _django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ehub.catalog import search

    rng = random.Random(20260101)
    call_command("migrate", verbosity=0, interactive=False)
    began = time.perf_counter()
    seeded = _seed(rng)
    seed_s = time.perf_counter() - began
    began = time.perf_counter()
    indexed = search.rebuild_index()
    index_s = time.perf_counter() - began
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    client = Client()
    chinese = {"accept-language": "zh-CN,zh;q=0.9"}
    product_paths = [f"/p/{rng.choice(seeded['products'])}/" for _ in range(REQUESTS)]
    search_paths = [f"/search/?q={SEARCHES[i % len(SEARCHES)]}" for i in range(REQUESTS)]
    product, product_queries = _measure(client, product_paths, chinese)
    found, search_queries = _measure(client, search_paths, chinese)

    rows = [
        {"metric": f"seed {PRODUCTS} products ({label})", "value": round(seed_s, 1),
         "unit": "s", "target": None},
        {"metric": f"index {indexed} products ({label})", "value": round(index_s, 1),
         "unit": "s", "target": None},
    ]  # fmt: skip
    for page, figures, queries, target in (
        ("product page", product, product_queries, TARGET_PRODUCT_P95_MS),
        ("search page", found, search_queries, None),
    ):
        for cut in ("p50", "p95", "p99"):
            rows.append(
                {
                    "metric": f"{page} {cut} ({label})",
                    "value": round(figures[cut], 2),
                    "unit": "ms",
                    "target": f"<= {target}" if target and cut == "p95" else None,
                    "requests": REQUESTS,
                    "products": PRODUCTS,
                }
            )
        rows.append(
            {"metric": f"{page} queries ({label})", "value": queries, "unit": "queries",
             "target": "<= 8"}
        )  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    _main(sys.argv[1])
