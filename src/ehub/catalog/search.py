"""Full-text search over the catalog, in Chinese and in the Latin-script languages.

Why it is built this way (docs/decisions.md, "Product search"):

* Neither database's stock tokenizers handle Chinese, which is written without spaces:
  SQLite FTS5's ``unicode61`` takes a run of Han characters as one token, its ``trigram``
  tokenizer cannot match a query shorter than three characters (榴莲 has two), and PostgreSQL's
  parsers and ``pg_trgm`` treat CJK runs the same way. So eHub tokenizes text itself, once, in
  Python, and the databases only see space-separated tokens.
* ``Product.search_text`` holds those tokens: titles, descriptions, brand, merchant name, SKU
  variant labels and category labels, in every language, NFKC-normalised, case-folded and
  stripped of accents; each run of CJK characters is written as its characters (unigrams) and
  its overlapping pairs (bigrams). Titles are written three times, which is how a single
  column tells bm25 and ts_rank that a word in a title matters more than one in a description.
* A query goes through the same tokenizer: a CJK run of two or more characters becomes its
  bigrams (all required, so 猫山王 needs 猫山 and 山王), a lone character its unigram, and a
  Latin word of three letters or more is matched as a prefix ("duri" finds durian).
* SQLite: an FTS5 table ``catalog_product_fts`` (rowid = product id, ``unicode61`` over the
  prepared text) ranked with ``bm25``. It is a standalone table written by
  :func:`index_product`, not an external-content table kept in step by triggers: Django's
  SQLite schema editor rebuilds ``catalog_product`` for many later migrations, and dropping the
  old table would silently drop the triggers with it.
* PostgreSQL: ``search_vector``, a stored generated column ``to_tsvector('simple',
  search_text)`` with a GIN index (migration 0002; not a model field), ranked with
  ``ts_rank``; 'simple' because the tokens are already normalised and must not be stemmed.
  Stored, not an expression index: ranking reads the vector of every match, and an
  expression index would make PostgreSQL re-parse each matching product's text per search.
* Other databases fall back to ``LIKE`` on ``search_text`` (correct, not fast).

Services call :func:`index_product` after every change of a product, its translations or its
SKUs; :func:`index_merchant` after a merchant renames itself; :func:`rebuild_index` fills the
whole index (after a bulk load, or to repair it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction

FTS_TABLE = "catalog_product_fts"
PG_INDEX = "catalog_product_search_gin"
# Weight of a title against the rest of the text (see the module docstring).
TITLE_REPEAT = 3
# Bounds on what one query may cost: longer queries are cut, extra terms ignored.
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
# Latin words shorter than this are matched exactly: a one- or two-letter prefix would match
# most of the catalog and rank nothing.
MIN_PREFIX_CHARS = 3

# CJK ideographs (with extension A, compatibility ideographs and the supplementary planes)
# and Japanese kana: scripts written without spaces between words.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\U00020000-\U0003134f"
_TOKEN_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")


# ---------------------------------------------------------------------------------------------
# Tokenizing (pure: tested without a database)
# ---------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    # NFKC turns full-width Latin letters and digits (common in Chinese text) into ASCII.
    return unicodedata.normalize("NFKC", text).casefold()


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _runs(text: str) -> Iterator[tuple[str, str]]:
    """("cjk" | "word", run) for each run of CJK characters or of letters and digits."""
    for match in _TOKEN_RE.finditer(_fold(text or "")):
        if match["cjk"]:
            yield "cjk", match["cjk"]
        else:
            yield "word", _strip_accents(match["word"])


def index_tokens(text: str) -> list[str]:
    """Tokens written to the index: words, and CJK runs as unigrams plus bigrams."""
    tokens: list[str] = []
    for kind, run in _runs(text):
        if kind == "word":
            tokens.append(run)
            continue
        for i, char in enumerate(run):
            tokens.append(char)
            if i + 1 < len(run):
                tokens.append(run[i : i + 2])
    return tokens


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool


def query_terms(query: str) -> list[Term]:
    """The terms a query must all match, without duplicates, in order."""
    terms: dict[str, Term] = {}
    for kind, run in _runs((query or "")[:MAX_QUERY_CHARS]):
        if kind == "word":
            candidates = [Term(run, prefix=len(run) >= MIN_PREFIX_CHARS)]
        elif len(run) == 1:
            candidates = [Term(run, prefix=False)]
        else:
            candidates = [Term(run[i : i + 2], prefix=False) for i in range(len(run) - 1)]
        for term in candidates:
            known = terms.get(term.text)
            # "durian" typed twice, once as a prefix: the exact form is the stricter one.
            terms[term.text] = Term(term.text, term.prefix and (known is None or known.prefix))
    return list(terms.values())[:MAX_QUERY_TERMS]


def document_text(titles: Iterable[str], other: Iterable[str]) -> str:
    """``search_text`` for a product: titles (weighted by repetition), then everything else."""
    title_tokens = index_tokens(" ".join(t for t in titles if t))
    rest = index_tokens(" ".join(t for t in other if t))
    return " ".join(title_tokens * TITLE_REPEAT + rest)


def fts5_query(terms: list[Term]) -> str:
    # Terms hold only letters and digits; quoting still keeps FTS5 from reading a word such
    # as "and" or "near" as an operator.
    return " ".join(f'"{t.text}"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    return " & ".join(f"'{t.text}'" + (":*" if t.prefix else "") for t in terms)


# ---------------------------------------------------------------------------------------------
# Writing the index
# ---------------------------------------------------------------------------------------------


def _category_labels(code: str) -> list[str]:
    """The category's label in every storefront language, so "food" or 食品 find it."""
    if not code:
        return []
    from django.utils import translation

    from ehub.catalog.domain import LANGUAGES, Category

    if code not in Category.values:
        return [code]
    label = Category(code).label
    labels = []
    for language in LANGUAGES:
        with translation.override(language):
            labels.append(str(label))
    return labels


def text_for(product) -> str:
    """The ``search_text`` of a product whose org, translations and SKUs are loaded."""
    translations = list(product.translations.all())
    other: list[str] = [t.description for t in translations]
    other += [product.brand, product.org.display_name, product.org.legal_name]
    for sku in product.skus.all():
        other += [str(v) for v in (sku.variant or {}).values()]
        other += [str(v) for v in (sku.variant_labels or {}).values()]
    other += _category_labels(product.category)
    return document_text([t.title for t in translations], other)


def _products(ids: Iterable[int] | None = None):
    from ehub.catalog.models import Product

    qs = Product.objects.select_related("org").prefetch_related("translations", "skus")
    return qs if ids is None else qs.filter(pk__in=list(ids))


# The table name is a constant of this module; values are always bound parameters.
_FTS_DELETE = f"DELETE FROM {FTS_TABLE} WHERE rowid = %s"  # noqa: S608
_FTS_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, search_text) VALUES (%s, %s)"  # noqa: S608
_FTS_CLEAR = f"DELETE FROM {FTS_TABLE}"  # noqa: S608


def _write_fts(rows: list[tuple[int, str]]) -> None:
    if connection.vendor != "sqlite" or not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_FTS_DELETE, [(pk,) for pk, _ in rows])
        cursor.executemany(_FTS_INSERT, rows)


def _delete_fts(ids: list[int]) -> None:
    if connection.vendor != "sqlite" or not ids:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_FTS_DELETE, [(pk,) for pk in ids])


def index_product(product_id: int) -> None:
    """Refresh the search entry of one product. Services call it after changing a product.

    Runs in the caller's transaction, so a rolled-back change leaves the index as it was.
    A product that no longer exists is removed from the index.
    """
    _index([product_id])


def _index(ids: list[int]) -> int:
    from ehub.catalog.models import Product

    with transaction.atomic():
        products = list(_products(ids))
        rows = []
        for product in products:
            text = text_for(product)
            if text != product.search_text:
                Product.objects.filter(pk=product.pk).update(search_text=text)
            rows.append((product.pk, text))
        _write_fts(rows)
        _delete_fts(sorted(set(ids) - {p.pk for p in products}))
    return len(rows)


def index_merchant(org_id: int) -> int:
    """Re-index every product of a merchant (its name is part of each product's text)."""
    from ehub.catalog.models import Product

    return _index(list(Product.objects.filter(org_id=org_id).values_list("pk", flat=True)))


def rebuild_index(batch_size: int = 500) -> int:
    """Recompute ``search_text`` of every product and refill the SQLite FTS table."""
    from ehub.catalog.models import Product

    total = 0
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(_FTS_CLEAR)
        ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch_size):
            total += _index(ids[start : start + batch_size])
    return total


# ---------------------------------------------------------------------------------------------
# Querying
# ---------------------------------------------------------------------------------------------


class ProductSearch:
    """Ids of active products matching ``query``, best first; a sequence for ``Paginator``.

    ``count()`` is one query and each slice one more; nothing is read until then. Products of
    suspended merchants are left out like inactive ones.
    """

    def __init__(self, query: str, *, category: str = ""):
        self.query = query
        self.terms = query_terms(query)
        self.category = category
        self._count: int | None = None

    def __bool__(self) -> bool:
        return bool(self.terms)

    def _match(self) -> tuple[str, str, list]:
        """(tables, condition, params) that select the products matching every term."""
        vendor = connection.vendor
        if vendor == "sqlite":
            # CROSS JOIN fixes the join order (SQLite never reorders it): the full-text index
            # first, then products by rowid. Left to itself the planner may scan products
            # and run the full-text query once per product (seconds on 10,000 products).
            tables = f"{FTS_TABLE} f CROSS JOIN catalog_product p ON p.id = f.rowid"
            return tables, f"{FTS_TABLE} MATCH %s", [fts5_query(self.terms)]
        if vendor == "postgresql":
            # search_vector: the stored to_tsvector('simple', search_text) (migration 0002).
            condition = "p.search_vector @@ to_tsquery('simple', %s)"
            return "catalog_product p", condition, [tsquery(self.terms)]
        condition = " AND ".join(["p.search_text LIKE %s"] * len(self.terms))
        return "catalog_product p", condition, [f"%{t.text}%" for t in self.terms]

    def _from_where(self) -> tuple[str, list]:
        from ehub.accounts.domain import OrgStatus
        from ehub.catalog.models import ProductStatus

        tables, condition, params = self._match()
        where = [condition, "p.status = %s", "o.status = %s"]
        params = [*params, ProductStatus.ACTIVE, OrgStatus.ACTIVE]
        if self.category:
            where.append("p.category = %s")
            params.append(self.category)
        join = "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"  # see _match
        source = f"{tables} {join} accounts_organization o ON o.id = p.org_id"
        return f"FROM {source} WHERE {' AND '.join(where)}", params

    def _rank(self) -> tuple[str, list]:
        vendor = connection.vendor
        if vendor == "sqlite":
            return f"bm25({FTS_TABLE})", []  # lower is better
        if vendor == "postgresql":
            return (
                "-ts_rank(p.search_vector, to_tsquery('simple', %s))",
                [tsquery(self.terms)],
            )
        return "0", []

    def count(self) -> int:
        if not self.terms:
            return 0
        if self._count is None:
            from_where, params = self._from_where()
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) {from_where}", params)
                self._count = cursor.fetchone()[0]
        return self._count

    def __len__(self) -> int:
        return self.count()

    def ids(self, offset: int = 0, limit: int = 20) -> list[int]:
        if not self.terms or limit <= 0:
            return []
        from_where, params = self._from_where()
        rank, rank_params = self._rank()
        # Newest first among equals, then id: a stable order keeps pages from overlapping.
        sql = (
            f"SELECT p.id {from_where} "  # every value is a bound parameter
            f"ORDER BY {rank}, p.published_at DESC NULLS LAST, p.id DESC LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params + rank_params + [limit, offset])
            return [row[0] for row in cursor.fetchall()]

    def __getitem__(self, key):
        if isinstance(key, slice):
            start = key.start or 0
            stop = key.stop if key.stop is not None else start + 20
            return self.ids(start, stop - start)
        ids = self.ids(key, 1)
        if not ids:
            raise IndexError(key)
        return ids[0]


def search(query: str, *, limit: int = 20, category: str = "") -> list[int]:
    """Ids of the best ``limit`` active products for ``query`` (empty query: none)."""
    return ProductSearch(query, category=category).ids(0, limit)
