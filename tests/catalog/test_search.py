"""Product search: the tokenizer (pure), and the index on SQLite (FTS5) and PostgreSQL (GIN).

Every database test runs on whichever database the suite uses (EHUB_TEST_DATABASE_URL), so
the same expectations hold for FTS5 + bm25 and for tsvector + ts_rank.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from ehub.accounts.domain import OrgStatus
from ehub.catalog import search
from ehub.catalog.models import Product, ProductStatus, ProductTranslation, Sku

_seq = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Tokenizer (no database)
# ---------------------------------------------------------------------------------------------


def test_cjk_runs_become_unigrams_and_bigrams():
    assert search.index_tokens("猫山王榴莲") == [
        "猫", "猫山", "山", "山王", "王", "王榴", "榴", "榴莲", "莲",
    ]  # fmt: skip


def test_latin_words_are_folded_and_stripped_of_accents():
    assert search.index_tokens("Musang-King DURIAN Café ＢＡＴＩＫ") == [
        "musang", "king", "durian", "cafe", "batik",
    ]  # fmt: skip


def test_mixed_scripts_are_split_at_the_script_boundary():
    assert search.index_tokens("Durian榴莲2kg") == ["durian", "榴", "榴莲", "莲", "2kg"]


def test_query_terms_two_chinese_characters_are_one_bigram():
    assert search.query_terms("榴莲") == [search.Term("榴莲", prefix=False)]


def test_query_terms_longer_chinese_needs_every_bigram_and_one_char_its_unigram():
    assert [t.text for t in search.query_terms("猫山王")] == ["猫山", "山王"]
    assert search.query_terms("茶") == [search.Term("茶", prefix=False)]


def test_query_terms_latin_words_are_prefixes_from_three_letters():
    assert search.query_terms("Durian ab") == [
        search.Term("durian", prefix=True),
        search.Term("ab", prefix=False),
    ]


def test_query_without_letters_has_no_terms():
    assert search.query_terms("  !!! ??? ") == []
    assert search.query_terms("") == []


def test_query_terms_are_bounded():
    assert len(search.query_terms(" ".join(f"word{i}" for i in range(100)))) == (
        search.MAX_QUERY_TERMS
    )


def test_operators_cannot_be_injected():
    terms = search.query_terms('durian" OR "x* NEAR(a b) \'; DROP TABLE')
    assert all(t.text.isalnum() for t in terms)
    assert search.fts5_query(terms).count('"') == 2 * len(terms)
    assert "'" not in search.tsquery(terms).replace("'", "", 2 * len(terms))


@given(st.text(max_size=60))
def test_every_query_term_is_found_in_the_index_tokens_of_its_own_text(text):
    """Whatever is typed, a document with exactly that text matches every query term."""
    tokens = set(search.index_tokens(text))
    for term in search.query_terms(text):
        if term.prefix:
            assert any(token.startswith(term.text) for token in tokens)
        else:
            assert term.text in tokens


def test_titles_weigh_more_than_the_rest():
    text = search.document_text(["Durian"], ["cake"])
    assert text.split().count("durian") == search.TITLE_REPEAT
    assert text.split().count("cake") == 1


# ---------------------------------------------------------------------------------------------
# The index
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def make_product(make_org):
    """make_product(titles={lang: title}, descriptions={}, status=..., org=...) -> Product,
    indexed the way the products service does it (index_product after the change)."""
    default_org = {}

    def make(titles, descriptions=None, status=ProductStatus.ACTIVE, org=None, brand="", **kw):
        if org is None:
            if "org" not in default_org:
                default_org["org"] = make_org(name="Kedai Raja Sdn. Bhd.")
            org = default_org["org"]
        product = Product.objects.create(org=org, status=status, brand=brand, **kw)
        for language, title in titles.items():
            ProductTranslation.objects.create(
                product=product,
                language=language,
                title=title,
                description=(descriptions or {}).get(language, ""),
            )
        Sku.objects.create(product=product, org=org, code=f"SKU-{next(_seq)}", price_myr=1000)
        search.index_product(product.pk)
        return product

    return make


@pytest.fixture
def catalog(make_product):
    return {
        "durian": make_product(
            {"en": "Musang King durian paste", "zh-hans": "猫山王榴莲酱", "ms": "Pes durian"},
            {"en": "Frozen D197 durian from Pahang.", "zh-hans": "来自彭亨州的冷冻榴莲。"},
        ),
        "cake": make_product(
            {"en": "Layer cake", "zh-hans": "千层蛋糕"},
            {"en": "Sarawak layer cake, with a hint of durian.", "zh-hans": "砂拉越千层蛋糕。"},
        ),
        "birdnest": make_product(
            {"en": "Edible bird's nest", "zh-hans": "即食燕窝"},
            {"en": "Swiftlet nest from Terengganu.", "zh-hans": "来自登嘉楼的燕窝。"},
        ),
        "batik": make_product(
            {"en": "Hand-drawn batik scarf", "zh-hans": "手绘蜡染丝巾"},
            {"en": "Silk, from Kelantan.", "zh-hans": "丝绸，来自吉兰丹。"},
        ),
        "lotus": make_product({"en": "Lotus seed paste", "zh-hans": "莲蓉"}),
    }


def names(catalog, ids):
    by_pk = {p.pk: name for name, p in catalog.items()}
    return [by_pk.get(pk, pk) for pk in ids]


pytestmark = pytest.mark.django_db


def test_chinese_two_characters_find_the_durian(catalog):
    assert names(catalog, search.search("榴莲")) == ["durian"]


def test_chinese_birds_nest(catalog):
    assert names(catalog, search.search("燕窝")) == ["birdnest"]


def test_a_chinese_phrase_needs_all_its_bigrams(catalog):
    assert names(catalog, search.search("猫山王")) == ["durian"]
    # Both characters occur in the durian's title, but never side by side.
    assert names(catalog, search.search("猫王")) == []


def test_one_chinese_character_matches_its_unigram(catalog):
    # 莲 is in 榴莲 (durian) and 莲蓉 (lotus paste).
    assert sorted(names(catalog, search.search("莲"))) == ["durian", "lotus"]


def test_english_words_and_ranking(catalog):
    # The durian paste has durian in its titles; the cake only mentions it once.
    assert names(catalog, search.search("durian")) == ["durian", "cake"]
    assert names(catalog, search.search("batik")) == ["batik"]
    assert names(catalog, search.search("BATIK scarf")) == ["batik"]


def test_prefix_and_malay(catalog):
    assert names(catalog, search.search("duri")) == ["durian", "cake"]
    assert names(catalog, search.search("pes")) == ["durian"]


def test_every_word_must_match(catalog):
    assert names(catalog, search.search("durian scarf")) == []


def test_brand_and_merchant_name_are_searchable(make_product, make_org):
    org = make_org(name="Borneo Pepper Trading Sdn. Bhd.")
    product = make_product({"en": "White pepper", "zh-hans": "白胡椒"}, org=org, brand="Sarakup")
    assert search.search("sarakup") == [product.pk]
    assert search.search("borneo") == [product.pk]


def test_variant_labels_are_searchable(make_product):
    product = make_product({"en": "Durian", "zh-hans": "榴莲"})
    sku = product.skus.get()
    sku.variant_labels = {"en": "Black Thorn", "zh-hans": "黑刺"}
    sku.save()
    search.index_product(product.pk)
    assert search.search("黑刺") == [product.pk]
    assert search.search("thorn") == [product.pk]


def test_inactive_products_and_suspended_merchants_are_never_found(make_product, make_org):
    make_product({"en": "Draft durian", "zh-hans": "草稿榴莲"}, status=ProductStatus.DRAFT)
    make_product({"en": "Old durian", "zh-hans": "旧榴莲"}, status=ProductStatus.ARCHIVED)
    suspended = make_org(name="Gone Sdn. Bhd.", status=OrgStatus.SUSPENDED)
    make_product({"en": "Suspended durian", "zh-hans": "停售榴莲"}, org=suspended)
    live = make_product({"en": "Live durian", "zh-hans": "榴莲"})
    assert search.search("榴莲") == [live.pk]
    assert search.search("durian") == [live.pk]
    assert search.ProductSearch("durian").count() == 1


def test_reindexing_follows_a_changed_title(make_product):
    product = make_product({"en": "Durian", "zh-hans": "榴莲"})
    ProductTranslation.objects.filter(product=product, language="en").update(title="Mangosteen")
    ProductTranslation.objects.filter(product=product, language="zh-hans").update(title="山竹")
    search.index_product(product.pk)
    assert search.search("durian") == []
    assert search.search("榴莲") == []
    assert search.search("山竹") == [product.pk]
    product.refresh_from_db()
    assert "山竹" in product.search_text.split()


def test_a_deleted_product_leaves_the_index(make_product):
    product = make_product({"en": "Durian", "zh-hans": "榴莲"})
    pk = product.pk
    product.skus.all().delete()
    product.delete()
    search.index_product(pk)
    assert search.search("durian") == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM catalog_product_fts WHERE rowid = %s", [pk])
            assert cursor.fetchone()[0] == 0


def test_rebuild_index_fills_what_bulk_loads_left_empty(make_org):
    org = make_org()
    product = Product.objects.create(org=org, status=ProductStatus.ACTIVE)
    ProductTranslation.objects.create(product=product, language="zh-hans", title="燕窝")
    assert search.search("燕窝") == []
    assert search.rebuild_index() == 1
    assert search.search("燕窝") == [product.pk]


def test_category_filter_and_paging(make_product):
    products = [
        make_product({"en": f"Durian {i}", "zh-hans": "榴莲"}, category="food_drink")
        for i in range(5)
    ]
    make_product({"en": "Durian soap", "zh-hans": "榴莲皂"}, category="beauty")
    hits = search.ProductSearch("durian", category="food_drink")
    assert hits.count() == 5
    pages = hits[0:2] + hits[2:4] + hits[4:6]
    assert sorted(pages) == sorted(p.pk for p in products)  # no overlap, nothing lost


def test_empty_query_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert search.search("   ") == []
        assert search.ProductSearch("???").count() == 0


def test_a_search_is_two_queries_whatever_the_catalog_size(make_product, django_assert_num_queries):
    for i in range(30):
        make_product({"en": f"Durian {i}", "zh-hans": "榴莲"})
    hits = search.ProductSearch("榴莲")
    with django_assert_num_queries(2):
        assert hits.count() == 30
        assert len(hits[0:24]) == 24


def test_the_query_plan_uses_the_search_index(make_product):
    """SQLite answers from the FTS5 table, PostgreSQL from the GIN index on search_vector."""
    make_product({"en": "Durian", "zh-hans": "榴莲"})
    tables, condition, params = search.ProductSearch("榴莲")._match()
    sql = f"SELECT p.id FROM {tables} WHERE {condition}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            expected = search.PG_INDEX
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            expected = "VIRTUAL TABLE INDEX"
        plan = "\n".join(str(row) for row in cursor.fetchall())
    assert expected in plan
