"""Storefront pages: what a buyer sees, in which language and currency, at what query cost."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from ehub.accounts.domain import OrgKind, OrgStatus
from ehub.catalog import search
from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku, Stock
from ehub.catalog.services import storefront
from ehub.core.models import FxRate
from ehub.core.money import Money
from ehub.web import storefront as views

pytestmark = pytest.mark.django_db

ZH = {"accept-language": "zh-CN,zh;q=0.9"}
RATE_AS_OF = dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def rates(db):
    """Known rates: 1 MYR = 1.55 CNY = 0.2125 USD = 0.30 SGD (and an older, wrong CNY rate)."""
    for quote, rate in (("CNY", "1.55"), ("USD", "0.2125"), ("SGD", "0.30")):
        FxRate.objects.create(
            base="MYR", quote=quote, rate=Decimal(rate), source="test", as_of=RATE_AS_OF
        )
    FxRate.objects.create(
        base="MYR",
        quote="CNY",
        rate=Decimal("9"),
        source="test",
        as_of=RATE_AS_OF - dt.timedelta(days=30),
    )


@pytest.fixture
def hub(make_org):
    return make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA Aeropolis eFulfilment Hub")


@pytest.fixture
def make_product(merchant_org, hub):
    """make_product(titles, descriptions=None, skus=[(sen, on_hand, reserved)], **fields)."""

    def make(titles, descriptions=None, skus=((2500, 10, 0),), org=None, **fields):
        org = org or merchant_org
        fields.setdefault("status", ProductStatus.ACTIVE)
        fields.setdefault("published_at", RATE_AS_OF + dt.timedelta(minutes=next(_seq)))
        product = Product.objects.create(org=org, **fields)
        for language, title in titles.items():
            ProductTranslation.objects.create(
                product=product,
                language=language,
                title=title,
                description=(descriptions or {}).get(language, ""),
            )
        for i, (sen, on_hand, reserved) in enumerate(skus):
            n = next(_seq)
            sku = Sku.objects.create(
                product=product,
                org=org,
                code=f"SKU-{n}",
                price_myr=sen,
                variant_labels={"en": f"Pack {i + 1}", "zh-hans": f"{i + 1}号装"},
            )
            if on_hand is not None:
                Stock.objects.create(sku=sku, hub=hub, org=org, on_hand=on_hand, reserved=reserved)
        search.index_product(product.pk)
        return product

    return make


@pytest.fixture
def shop(make_product, rates):
    durian = make_product(
        {"en": "Musang King durian paste", "zh-hans": "猫山王榴莲酱", "ms": "Pes durian"},
        {
            "en": "Frozen Musang King durian from Pahang.",
            "zh-hans": "来自彭亨州的冷冻猫山王榴莲。",
            "ms": "Durian sejuk beku dari Pahang.",
        },
        skus=[(2500, 10, 2), (4800, 0, 0)],
        featured=True,
        category="food_drink",
        hs_code="081060",
        gcode="0810600000",
        brand="Raja Durian",
    )
    batik = make_product(
        {"en": "Hand-drawn batik scarf", "zh-hans": "手绘蜡染丝巾"},
        {"en": "Silk batik from Kelantan."},
        skus=[(12000, 3, 0)],
        category="fashion",
    )
    nest = make_product(
        {"en": "Edible bird's nest", "zh-hans": "即食燕窝"},
        skus=[(9900, 4, 4)],
        category="food_drink",
    )
    draft = make_product(
        {"en": "Secret durian draft", "zh-hans": "秘密榴莲草稿"},
        status=ProductStatus.DRAFT,
        category="food_drink",
    )
    return {"durian": durian, "batik": batik, "nest": nest, "draft": draft}


def text_of(response) -> str:
    return response.content.decode()


def visible(text: str) -> str:
    """The page's text without tags, whitespace collapsed (to match what people read)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


# ---------------------------------------------------------------------------------------------
# Pure rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "level"),
    [(None, "out"), (-1, "out"), (0, "out"), (1, "low"), (5, "low"), (6, "in_stock")],
)
def test_stock_levels(available, level):
    assert storefront.stock_level(available) == level


@given(st.integers(min_value=-5, max_value=10_000), st.integers(min_value=0, max_value=50))
def test_stock_level_never_promises_what_is_not_there(available, low):
    level = storefront.stock_level(available, low)
    assert (level == "out") == (available <= 0)
    if level == "in_stock":
        assert available > low


@override_settings(EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE={"en": "USD", "zh-hans": "XXX"})
def test_the_language_to_currency_map_is_configurable():
    assert storefront.default_currency("en") == "USD"
    assert storefront.default_currency("zh-hans") == "MYR"  # not a storefront currency
    assert storefront.default_currency("ms") == "MYR"


def test_default_currencies():
    assert storefront.default_currency("zh-hans") == "CNY"
    assert storefront.default_currency("en") == "MYR"


def test_a_chosen_currency_wins_over_the_language_unless_it_is_not_offered():
    assert storefront.display_currency("SGD", "zh-hans") == "SGD"
    assert storefront.display_currency("EUR", "zh-hans") == "CNY"
    assert storefront.display_currency(None, "en") == "MYR"


# ---------------------------------------------------------------------------------------------
# Prices
# ---------------------------------------------------------------------------------------------


def test_pricer_reads_the_latest_rate_once(rates, django_assert_num_queries):
    pricer = storefront.Pricer("CNY")
    with django_assert_num_queries(1):
        prices = [pricer.price(sen) for sen in (2500, 4800, 1, 12000)]
    assert [p.shown for p in prices] == [
        Money(3875, "CNY"),
        Money(7440, "CNY"),
        Money(2, "CNY"),  # 0.0155 rounds half-up to 0.02
        Money(18600, "CNY"),
    ]
    assert prices[0].myr == Money(2500, "MYR") and prices[0].converted


def test_pricer_in_myr_needs_no_rate(django_assert_num_queries):
    with django_assert_num_queries(0):
        price = storefront.Pricer("MYR").price(2500)
    assert price.shown == price.myr == Money(2500, "MYR")
    assert not price.converted


def test_pricer_without_a_rate_shows_myr(db):
    pricer = storefront.Pricer("SGD")
    assert pricer.price(2500).shown == Money(2500, "MYR")
    assert pricer.currency == "MYR"


# ---------------------------------------------------------------------------------------------
# Home
# ---------------------------------------------------------------------------------------------


def test_a_chinese_browser_sees_the_home_page_in_chinese_with_cny_and_myr_beside(client, shop):
    response = client.get("/", headers=ZH)
    assert response.status_code == 200
    text = text_of(response)
    assert '<html lang="zh-hans"' in text
    assert "猫山王榴莲酱" in text
    assert "Musang King durian paste" not in text
    # 25.00 MYR x 1.55 = 38.75 CNY, with the ringgit price beside it.
    assert '<span class="price-shown">¥38.75</span> <span class="price-myr">(MYR25.00)</span>' in (
        text
    )
    assert "¥186.00" in text  # the batik scarf, 120.00 MYR
    assert "秘密榴莲草稿" not in text  # a draft is never shown
    assert "Durian Raja Sdn. Bhd." in text  # featured merchant


def test_an_english_visitor_sees_ringgit_only(client, shop):
    text = text_of(client.get("/"))
    assert '<span class="price-shown">RM25.00</span>' in text
    assert "price-myr" not in text
    assert "Musang King durian paste" in text


def test_home_shows_categories_with_counts_of_visible_products(client, shop):
    text = visible(text_of(client.get("/")))
    assert "Food & drink 2" in text  # durian and bird's nest; the draft is not counted
    assert "Fashion & textiles 1" in text


def test_home_without_products_says_the_catalogue_is_empty(client):
    text = text_of(client.get("/"))
    assert "The catalogue is not open yet" in text
    assert "Malaysia Week" in text


def test_home_shows_live_campaign_banners_in_the_buyers_language(client, shop):
    from ehub.campaigns.models import Campaign
    from ehub.core import clock

    now = clock.now()
    for slug, starts in (
        ("malaysia-week", now - dt.timedelta(hours=1)),
        ("later", now + dt.timedelta(days=3)),
    ):
        Campaign.objects.create(
            slug=slug,
            name_en="Malaysia Week",
            name_zh_hans="马来西亚周",
            starts_at=starts,
            ends_at=now + dt.timedelta(days=7),
            status="published",
        )
    text = text_of(client.get("/", headers=ZH))
    assert "campaign-banners" in text
    assert "<h3>马来西亚周</h3>" in text
    assert "/campaigns/malaysia-week/" in text
    assert "/campaigns/later/" not in text


def test_home_without_live_campaigns_has_no_banner_section(client, shop):
    assert "campaign-banners" not in text_of(client.get("/"))


# ---------------------------------------------------------------------------------------------
# Currency switcher
# ---------------------------------------------------------------------------------------------


def test_the_currency_switcher_keeps_the_choice_in_the_session(client, shop):
    response = client.post("/currency/", {"currency": "USD", "next": "/c/food_drink/"})
    assert response.status_code == 302
    assert response["Location"] == "/c/food_drink/"
    text = text_of(client.get("/"))
    # 25.00 MYR x 0.2125 = 5.3125 -> US$5.31 (half-up), beside RM25.00.
    assert '<span class="price-shown">US$5.31</span> <span class="price-myr">(RM25.00)</span>' in (
        text
    )
    assert '<option value="USD" selected>' in text
    # The choice wins over the browser's language.
    text = text_of(client.get("/", headers=ZH))
    assert "US$5.31" in text and "¥38.75" not in text


def test_an_unknown_currency_is_refused_with_a_message(client, shop):
    response = client.post("/currency/", {"currency": "XAU", "next": "/"}, follow=True)
    text = text_of(response)
    assert "Prices cannot be shown in XAU" in text
    assert "CNY, MYR, SGD, USD" in text
    assert views.SESSION_CURRENCY_KEY not in client.session


def test_the_currency_switcher_does_not_redirect_to_another_host(client):
    response = client.post("/currency/", {"currency": "SGD", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_currency_switcher_needs_csrf(rates):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/currency/", {"currency": "SGD"})
    assert response.status_code == 403


def test_the_currency_switcher_is_post_only(client):
    assert client.get("/currency/").status_code == 405


# ---------------------------------------------------------------------------------------------
# Product page
# ---------------------------------------------------------------------------------------------


def test_product_page_in_chinese(client, shop):
    durian = shop["durian"]
    response = client.get(f"/p/{durian.public_id}/", headers=ZH)
    assert response.status_code == 200
    text = text_of(response)
    assert '<h1 id="product-title">猫山王榴莲酱</h1>' in text
    assert "来自彭亨州的冷冻猫山王榴莲。" in text
    assert "马来西亚" in text  # origin and merchant country in Chinese
    assert "Durian Raja Sdn. Bhd." in text
    assert "Raja Durian" in text
    # The buyer's view has no customs data.
    assert "081060" not in text and "0810600000" not in text
    # Two SKUs; the cheaper one (8 available over hubs: 10 on hand - 2 reserved) is selected.
    assert "1号装" in text and "2号装" in text
    assert "¥38.75" in text and "¥74.40" in text
    assert 'value="SKU-' in text and " checked" in text


def test_product_page_stock_levels(client, shop):
    text = text_of(client.get(f"/p/{shop['durian'].public_id}/"))
    assert "In stock" in text and "Out of stock" in text  # pack 1 has 8, pack 2 none
    assert "Only a few left" in text_of(client.get(f"/p/{shop['batik'].public_id}/"))
    assert "Out of stock" in text_of(client.get(f"/p/{shop['nest'].public_id}/"))


def test_stock_is_summed_across_hubs(client, shop, make_org):
    other_hub = make_org(kind=OrgKind.HUB_OPERATOR, name="Penang Hub")
    batik = shop["batik"]
    sku = batik.skus.get()
    Stock.objects.create(sku=sku, hub=other_hub, org=batik.org, on_hand=30, reserved=0)
    text = text_of(client.get(f"/p/{batik.public_id}/"))
    assert "In stock" in text and "Only a few left" not in text


def test_choosing_a_sku_shows_its_price(client, shop):
    durian = shop["durian"]
    dear = durian.skus.get(price_myr=4800)
    text = text_of(client.get(f"/p/{durian.public_id}/?sku={dear.code}"))
    assert '<p class="product-price"><span class="price"><span class="price-shown">RM48.00' in (
        text
    )
    assert f'value="{dear.code}" checked' in text


def test_missing_language_falls_back_to_english_marked_as_english(client, shop):
    batik = shop["batik"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ms"
    text = text_of(client.get(f"/p/{batik.public_id}/"))
    assert '<html lang="ms"' in text
    assert '<h1 id="product-title" lang="en">Hand-drawn batik scarf</h1>' in text
    assert 'lang="en"><p>Silk batik from Kelantan.</p>' in text


def test_chinese_page_shows_english_description_when_there_is_no_chinese(client, shop):
    text = text_of(client.get(f"/p/{shop['batik'].public_id}/", headers=ZH))
    assert '<h1 id="product-title">手绘蜡染丝巾</h1>' in text
    assert 'lang="en"><p>Silk batik from Kelantan.</p>' in text


def test_a_product_is_shown_only_while_active_and_its_merchant_active(client, shop):
    assert client.get(f"/p/{shop['draft'].public_id}/").status_code == 404
    durian = shop["durian"]
    Product.objects.filter(pk=durian.pk).update(status=ProductStatus.ARCHIVED)
    assert client.get(f"/p/{durian.public_id}/").status_code == 404
    batik = shop["batik"]
    batik.org.status = OrgStatus.SUSPENDED
    batik.org.save()
    assert client.get(f"/p/{batik.public_id}/").status_code == 404
    assert "Hand-drawn batik scarf" not in text_of(client.get("/"))
    assert client.get("/p/PRD-NOT-A-REAL-ID/").status_code == 404


def test_product_images_and_thumbnails(client, shop):
    from ehub.catalog.models import ProductImage

    durian = shop["durian"]
    ProductImage.objects.create(
        product=durian,
        image="products/x/durian.jpg",
        thumbnail="products/x/durian-thumb.jpg",
        alt_text="Durian paste jar",
        position=0,
        width=800,
        height=800,
    )
    ProductImage.objects.create(product=durian, image="products/x/back.jpg", position=1)
    text = text_of(client.get(f"/p/{durian.public_id}/"))
    assert 'src="/media/products/x/durian.jpg" alt="Durian paste jar"' in text
    assert 'src="/media/products/x/back.jpg" alt="Musang King durian paste"' in text
    home = text_of(client.get("/"))
    assert 'src="/media/products/x/durian-thumb.jpg"' in home


# ---------------------------------------------------------------------------------------------
# Browse: category, merchant, search
# ---------------------------------------------------------------------------------------------


def test_category_page(client, shop):
    response = client.get("/c/food_drink/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Musang King durian paste" in text and "Edible bird&#x27;s nest" in text
    assert "Hand-drawn batik scarf" not in text
    assert "Secret durian draft" not in text
    assert 'aria-current="page">Food &amp; drink' in text


def test_unknown_category_is_404_and_an_empty_one_is_a_page(client, shop):
    assert client.get("/c/weapons/").status_code == 404
    response = client.get("/c/health/")
    assert response.status_code == 200
    assert "No products in this category yet." in text_of(response)


def test_merchant_page(client, shop, make_org, make_product):
    other = make_org(name="Batik Terengganu Sdn. Bhd.")
    make_product({"en": "Songket cloth", "zh-hans": "宋吉锦"}, org=other)
    org = shop["durian"].org
    text = text_of(client.get(f"/m/{org.public_id}/"))
    assert "Durian Raja Sdn. Bhd." in text
    assert "Musang King durian paste" in text
    assert "Songket cloth" not in text  # another merchant's product
    assert "Secret durian draft" not in text


def test_merchant_page_only_for_active_merchants(client, shop, make_org, hub):
    pending = make_org(name="Pending Sdn. Bhd.", status=OrgStatus.PENDING)
    assert client.get(f"/m/{pending.public_id}/").status_code == 404
    assert client.get(f"/m/{hub.public_id}/").status_code == 404
    assert client.get("/m/ORG-NOPE/").status_code == 404


def test_search_in_chinese_and_english(client, shop):
    zh = text_of(client.get("/search/", {"q": "榴莲"}, headers=ZH))
    assert "猫山王榴莲酱" in zh and "秘密榴莲草稿" not in zh and "手绘蜡染丝巾" not in zh
    assert "¥38.75" in zh
    assert "即食燕窝" in text_of(client.get("/search/", {"q": "燕窝"}, headers=ZH))
    en = text_of(client.get("/search/", {"q": "batik"}))
    assert "Hand-drawn batik scarf" in en and "Musang King durian paste" not in en
    assert "Musang King durian paste" in text_of(client.get("/search/", {"q": "durian"}))


def test_search_without_results_or_query(client, shop):
    text = text_of(client.get("/search/", {"q": "rambutan"}))
    assert "Nothing matches your search." in text
    assert 'value="rambutan"' in text
    assert "Type a product, brand or merchant" in text_of(client.get("/search/"))


def test_pagination_keeps_the_query(client, make_product, rates):
    for i in range(30):
        make_product({"en": f"Durian cake {i}", "zh-hans": f"榴莲蛋糕{i}"}, category="food_drink")
    first = text_of(client.get("/search/", {"q": "durian cake"}))
    assert "30 products" in first
    assert first.count('class="product-card"') == storefront.PAGE_SIZE
    assert 'href="?q=durian+cake&amp;page=2" rel="next"' in first
    second = text_of(client.get("/search/", {"q": "durian cake", "page": "2"}))
    assert second.count('class="product-card"') == 30 - storefront.PAGE_SIZE
    category = text_of(client.get("/c/food_drink/", {"page": "2"}))
    assert category.count('class="product-card"') == 30 - storefront.PAGE_SIZE
    assert 'href="?page=1" rel="prev"' in category


def test_search_ranks_title_matches_first(client, make_product, rates):
    make_product({"en": "Layer cake", "zh-hans": "千层蛋糕"}, {"en": "With a hint of durian."})
    make_product({"en": "Durian chips", "zh-hans": "榴莲片"})
    text = text_of(client.get("/search/", {"q": "durian"}))
    assert text.index("Durian chips") < text.index("Layer cake")


# ---------------------------------------------------------------------------------------------
# Access and query counts
# ---------------------------------------------------------------------------------------------


def test_every_storefront_page_is_open_to_anonymous_visitors(client, shop):
    org = shop["durian"].org
    for path in ("/", "/c/food_drink/", f"/m/{org.public_id}/", "/search/?q=durian"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/p/{shop['durian'].public_id}/").status_code == 200


def _pages(shop):
    durian = shop["durian"]
    return [
        "/",
        "/c/food_drink/",
        f"/m/{durian.org.public_id}/",
        "/search/?q=榴莲",
        "/search/?q=durian",
        f"/p/{durian.public_id}/",
    ]


@pytest.mark.parametrize("count", [1, 30])
def test_query_counts_do_not_grow_with_the_catalog(
    client, make_product, rates, count, django_assert_max_num_queries
):
    products = [
        make_product(
            {"en": f"Durian {i}", "zh-hans": f"榴莲{i}", "ms": f"Durian {i}"},
            {"en": "Creamy.", "zh-hans": "香浓。"},
            skus=[(2500 + i, 10, 1), (4000 + i, 3, 0), (9000, 0, 0)],
            category="food_drink",
            featured=True,
        )
        for i in range(count)
    ]
    shop = {"durian": products[0]}
    for path in _pages(shop):
        with django_assert_max_num_queries(8):
            response = client.get(path, headers=ZH)
        assert response.status_code == 200, path
        assert "¥" in text_of(response), path


def test_query_counts_for_a_signed_in_buyer_with_a_chosen_currency(
    client, shop, buyer_user, django_assert_max_num_queries
):
    client.force_login(buyer_user)
    client.post("/currency/", {"currency": "SGD", "next": "/"})
    for path in _pages(shop):
        with django_assert_max_num_queries(8):
            response = client.get(path)
        assert response.status_code == 200, path
        assert "SGD" in text_of(response), path
