"""Read side of the storefront: what a buyer sees of the catalog, in a few queries per page.

Public reads, so no ``Context``: every visitor sees the same thing, namely active products of
active merchants, never a draft, an archived product or a suspended merchant's goods, and
never the customs data (HS code, tariff line) that is for the merchant and customs only.

Each page is a fixed number of queries whatever the number of products or SKUs: lists are one
query for the page (title, price, stock and thumbnail come from correlated subqueries on the
rows of that page only) plus the paginator's count; the product page is one query each for
the product, its translations, its SKUs with their stock, and its images. Prices go through
one :class:`Pricer` per request, which reads one exchange rate, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache

from babel import Locale
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils.translation import gettext_lazy as _

from ehub.accounts.domain import OrgKind, OrgStatus
from ehub.accounts.models import Organization
from ehub.catalog import search
from ehub.catalog.domain import Category
from ehub.catalog.models import (
    Product,
    ProductImage,
    ProductStatus,
    ProductTranslation,
    Sku,
    Stock,
)
from ehub.core import clock, fx
from ehub.core.errors import NotFound
from ehub.core.formatting import babel_locale
from ehub.core.money import Money, Rounding

logger = logging.getLogger(__name__)

PAGE_SIZE = 24
HOME_PRODUCTS = 8
HOME_MERCHANTS = 6
FALLBACK_LANGUAGE = "en"
BASE_CURRENCY = "MYR"

# Where the web layer keeps a buyer's chosen currency (any page showing prices reads it).
CURRENCY_SESSION_KEY = "ehub_currency"
# At or below this many units available (summed over hubs) a product shows "only a few left".
LOW_STOCK = 5


def currencies() -> tuple[str, ...]:
    """Currencies a buyer may choose (settings.EHUB_STOREFRONT_CURRENCIES)."""
    return tuple(settings.EHUB_STOREFRONT_CURRENCIES)


def default_currency(language: str | None) -> str:
    """The currency shown first in ``language`` (EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE)."""
    mapping = settings.EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE
    code = mapping.get((language or "").lower(), BASE_CURRENCY)
    return code if code in currencies() else BASE_CURRENCY


def display_currency(chosen: str | None, language: str | None) -> str:
    """The currency to show prices in: the buyer's choice if allowed, else their language's."""
    if chosen in currencies():
        return chosen
    return default_currency(language)


# ---------------------------------------------------------------------------------------------
# Prices and stock levels
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """A price as shown: in the buyer's currency, with the MYR price it came from."""

    shown: Money
    myr: Money

    @property
    def converted(self) -> bool:
        return self.shown.currency != self.myr.currency


class Pricer:
    """Converts MYR prices into one currency at the latest rate, read once (one query).

    Uses the same rate lookup and rounding as ``core.fx.convert`` (half-up to the minor
    unit), but applies the rate it found to every price on the page instead of looking it up
    again per price. Without a rate it shows MYR rather than failing the page.
    """

    def __init__(self, currency: str, at: dt.datetime | None = None):
        self.requested = currency
        self.at = at or clock.now()

    @cached_property
    def rate(self) -> fx.Rate | None:
        if self.requested == BASE_CURRENCY:
            return None
        try:
            return fx.find_rate(BASE_CURRENCY, self.requested, self.at)
        except fx.RateNotFound:
            logger.warning("no %s/%s rate: showing MYR prices", BASE_CURRENCY, self.requested)
            return None

    @property
    def currency(self) -> str:
        """The currency prices are actually shown in."""
        return self.requested if self.rate is not None else BASE_CURRENCY

    def price(self, sen: int | None) -> Price | None:
        if sen is None:
            return None
        myr = Money(int(sen), BASE_CURRENCY)
        if self.rate is None:
            return Price(myr, myr)
        return Price(fx.apply_rate(myr, self.requested, self.rate.rate, Rounding.HALF_UP), myr)


class StockLevel:
    IN_STOCK = "in_stock"
    LOW = "low"
    OUT = "out"

    LABELS = {
        IN_STOCK: _("In stock"),
        LOW: _("Only a few left"),
        OUT: _("Out of stock"),
    }


def stock_level(available: int | None, low: int = LOW_STOCK) -> str:
    """In stock, low (1..low units) or out (none, or no stock row at all)."""
    if available is None or available <= 0:
        return StockLevel.OUT
    if available <= low:
        return StockLevel.LOW
    return StockLevel.IN_STOCK


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def category_label(code: str) -> str:
    if code in Category.values:
        return str(Category(code).label)
    return code.replace("_", " ").capitalize()


@lru_cache(maxsize=32)
def _territories(language: str) -> dict[str, str]:
    return dict(Locale.parse(babel_locale(language)).territories)


def country_name(code: str, language: str) -> str:
    return _territories(language).get((code or "").upper(), code)


def _media_url(name: str | None) -> str:
    return default_storage.url(name) if name else ""


# ---------------------------------------------------------------------------------------------
# Lists of products
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductCard:
    public_id: str
    title: str
    title_language: str
    merchant_name: str
    merchant_public_id: str
    category: str
    category_label: str
    featured: bool
    price: Price | None  # the cheapest active SKU ("from ...")
    several_prices: bool
    stock: str
    thumbnail_url: str


def visible_products() -> QuerySet:
    """Active products of active merchants: all a buyer may ever see."""
    return Product.objects.filter(status=ProductStatus.ACTIVE, org__status=OrgStatus.ACTIVE)


def _title(language: str):
    return Subquery(
        ProductTranslation.objects.filter(product=OuterRef("pk"), language=language).values(
            "title"
        )[:1]
    )


def card_queryset(language: str, qs: QuerySet | None = None) -> QuerySet:
    """Products annotated with everything a card shows; evaluate one page of it at a time."""
    qs = visible_products() if qs is None else qs
    active_skus = Sku.objects.filter(product=OuterRef("pk"), is_active=True)
    available = (
        Stock.objects.filter(sku__product=OuterRef("pk"), sku__is_active=True)
        .order_by()
        .values("sku__product")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )
    first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "pk")
    return qs.select_related("org").annotate(
        title_local=_title(language),
        title_fallback=_title(FALLBACK_LANGUAGE),
        min_price=Subquery(active_skus.order_by("price_myr").values("price_myr")[:1]),
        max_price=Subquery(active_skus.order_by("-price_myr").values("price_myr")[:1]),
        available=Subquery(available, output_field=IntegerField()),
        thumb=Subquery(first_image.values("thumbnail")[:1]),
        image=Subquery(first_image.values("image")[:1]),
    )


def _card(product: Product, language: str, pricer: Pricer) -> ProductCard:
    if product.title_local:
        title, title_language = product.title_local, language
    else:
        title, title_language = product.title_fallback or product.public_id, FALLBACK_LANGUAGE
    return ProductCard(
        public_id=product.public_id,
        title=title,
        title_language=title_language,
        merchant_name=product.org.name,
        merchant_public_id=product.org.public_id,
        category=product.category,
        category_label=category_label(product.category) if product.category else "",
        featured=product.featured,
        price=pricer.price(product.min_price),
        several_prices=product.max_price is not None and product.max_price != product.min_price,
        stock=stock_level(product.available),
        thumbnail_url=_media_url(product.thumb or product.image),
    )


def cards(qs: QuerySet, language: str, pricer: Pricer) -> list[ProductCard]:
    """Cards for an (already sliced) annotated queryset, in its order: one query."""
    return [_card(p, language, pricer) for p in qs]


def cards_for_ids(ids: list[int], language: str, pricer: Pricer) -> list[ProductCard]:
    """Cards for products given by id, in the order of ``ids`` (search results); one query.

    Looked up by primary key, then checked in Python: filtering on status in SQL makes
    SQLite walk the status index over the whole catalog instead of fetching 24 rows.
    """
    if not ids:
        return []
    found = {
        p.pk: p
        for p in card_queryset(language, Product.objects.filter(pk__in=ids))
        if p.status == ProductStatus.ACTIVE and p.org.status == OrgStatus.ACTIVE
    }
    return [_card(found[pk], language, pricer) for pk in ids if pk in found]


NEWEST_EXPR = (F("published_at").desc(nulls_last=True), F("pk").desc())
NEWEST = NEWEST_EXPR


def _paginate(qs: QuerySet, language: str, pricer: Pricer, page: str | int | None) -> Page:
    """One page of cards for the bare, ordered product queryset ``qs``: two queries.

    The page is chosen on bare rows and only its rows are annotated (a subquery with LIMIT):
    SQLite computes a result's columns before sorting, so annotating the whole list would
    run every correlated subquery once per product in the category, not once per card.
    """
    result = Paginator(qs, PAGE_SIZE).get_page(page)
    chosen = result.object_list.values("pk")
    ordering = qs.query.order_by
    result.object_list = cards(
        card_queryset(language, Product.objects.filter(pk__in=chosen)).order_by(*ordering),
        language,
        pricer,
    )
    return result


@dataclass(frozen=True)
class CategoryEntry:
    code: str
    label: str
    count: int


def categories() -> list[CategoryEntry]:
    """Categories that hold at least one visible product, in the order of the browse tree."""
    counts = dict(
        visible_products()
        .exclude(category="")
        .order_by()
        .values_list("category")
        .annotate(n=Count("pk"))
    )
    order = {code: i for i, code in enumerate(Category.values)}
    return [
        CategoryEntry(code, category_label(code), n)
        for code, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    ]


def category_products(category: str, language: str, pricer: Pricer, page=None) -> Page:
    """Featured first, then newest. Raises NotFound for a category that does not exist."""
    if category not in Category.values:
        raise NotFound(_("There is no such category."), field="category")
    qs = visible_products().filter(category=category).order_by("-featured", *NEWEST)
    return _paginate(qs, language, pricer, page)


def search_products(
    query: str, language: str, pricer: Pricer, page=None, *, category: str = ""
) -> Page:
    """Best matches first (bm25 / ts_rank): the count, one page of ids, then their cards."""
    hits = Paginator(search.ProductSearch(query, category=category), PAGE_SIZE).get_page(page)
    hits.object_list = cards_for_ids(list(hits.object_list), language, pricer)
    return hits


# ---------------------------------------------------------------------------------------------
# Merchants
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantCard:
    public_id: str
    name: str
    country: str
    country_name: str
    since: dt.datetime
    product_count: int | None = None


def _merchant_card(org: Organization, language: str, count: int | None = None) -> MerchantCard:
    return MerchantCard(
        public_id=org.public_id,
        name=org.name,
        country=org.country,
        country_name=country_name(org.country, language),
        since=org.approved_at or org.created_at,
        product_count=count,
    )


def merchants() -> QuerySet:
    return Organization.objects.filter(kind=OrgKind.MERCHANT, status=OrgStatus.ACTIVE)


def featured_merchants(language: str, limit: int = HOME_MERCHANTS) -> list[MerchantCard]:
    """Merchants with the most featured, then the most, active products: one query."""
    active = Q(products__status=ProductStatus.ACTIVE)
    rows = (
        merchants()
        .annotate(
            featured_count=Count("products", filter=active & Q(products__featured=True)),
            product_count=Count("products", filter=active),
        )
        .filter(product_count__gt=0)
        .order_by("-featured_count", "-product_count", "legal_name")[:limit]
    )
    return [_merchant_card(org, language, org.product_count) for org in rows]


def merchant(public_id: str, language: str) -> MerchantCard:
    try:
        org = merchants().get(public_id=public_id)
    except Organization.DoesNotExist:
        raise NotFound(_("There is no such merchant."), field="merchant") from None
    return _merchant_card(org, language)


def merchant_products(public_id: str, language: str, pricer: Pricer, page=None) -> Page:
    qs = visible_products().filter(org__public_id=public_id).order_by("-featured", *NEWEST)
    return _paginate(qs, language, pricer, page)


# ---------------------------------------------------------------------------------------------
# Home
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    featured: list[ProductCard]
    newest: list[ProductCard]
    merchants: list[MerchantCard]
    categories: list[CategoryEntry]


def home(language: str, pricer: Pricer) -> Home:
    """Four queries: featured and new products (one), featured merchants, categories.

    A window numbers the featured and the other products apart, newest first, so one query
    returns the newest few of each: "new arrivals" never repeats a featured product. The
    window runs over bare product rows; cards are annotated for the chosen rows only.
    """
    ranked = (
        visible_products()
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("featured")], order_by=list(NEWEST_EXPR))
        )
        .filter(rank__lte=HOME_PRODUCTS)
        .values("pk")
    )
    chosen = cards(
        card_queryset(language, Product.objects.filter(pk__in=Subquery(ranked))).order_by(*NEWEST),
        language,
        pricer,
    )
    return Home(
        featured=[c for c in chosen if c.featured],
        newest=[c for c in chosen if not c.featured],
        merchants=featured_merchants(language),
        categories=categories(),
    )


# ---------------------------------------------------------------------------------------------
# The product page
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuOption:
    code: str
    label: str
    price: Price | None
    available: int
    stock: str


@dataclass(frozen=True)
class Image:
    url: str
    thumbnail_url: str
    alt: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class ProductDetail:
    public_id: str
    title: str
    title_language: str
    description: str
    description_language: str
    brand: str
    origin_country: str
    origin_name: str
    category: str
    category_label: str
    merchant: MerchantCard
    images: list[Image]
    skus: list[SkuOption]
    selected: SkuOption | None
    stock: str
    net_weight_g: int | None


def _variant_label(sku: Sku, language: str) -> str:
    labels = sku.variant_labels or {}
    label = labels.get(language) or labels.get(FALLBACK_LANGUAGE)
    if label:
        return str(label)
    if sku.variant:
        return ", ".join(str(v) for v in sku.variant.values())
    return sku.code


def _pick(product: Product, language: str, attr: str) -> tuple[str, str]:
    """The text in the buyer's language, else in English (required to publish)."""
    for code in (language, FALLBACK_LANGUAGE):
        text = getattr(product, f"{attr}_{code}", None)
        if text:
            return text, code
    return "", language


def product_detail(
    public_id: str, language: str, pricer: Pricer, sku_code: str | None = None
) -> ProductDetail:
    """Three queries: product with merchant and texts, SKUs with their stock, images."""
    texts = {}
    for code in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        mine = ProductTranslation.objects.filter(product=OuterRef("pk"), language=code)
        texts[f"title_{code}"] = Subquery(mine.values("title")[:1])
        texts[f"description_{code}"] = Subquery(mine.values("description")[:1])
    try:
        product = (
            visible_products().select_related("org").annotate(**texts).get(public_id=public_id)
        )
    except Product.DoesNotExist:
        raise NotFound(_("There is no such product."), field="product") from None
    available = (
        Stock.objects.filter(sku=OuterRef("pk"))
        .order_by()
        .values("sku")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )
    skus = [
        SkuOption(
            code=sku.code,
            label=_variant_label(sku, language),
            price=pricer.price(sku.price_myr),
            available=max(sku.available, 0),
            stock=stock_level(sku.available),
        )
        for sku in product.skus.filter(is_active=True)
        .annotate(available=Coalesce(Subquery(available, output_field=IntegerField()), 0))
        .order_by("price_myr", "pk")
    ]
    images = [
        Image(
            url=_media_url(img.image.name),
            thumbnail_url=_media_url(img.thumbnail.name or img.image.name),
            alt=img.alt_text,
            width=img.width,
            height=img.height,
        )
        for img in product.images.all()
    ]
    title, title_language = _pick(product, language, "title")
    description, description_language = _pick(product, language, "description")
    selected = next((s for s in skus if s.code == sku_code), None)
    if selected is None:
        selected = next((s for s in skus if s.stock != StockLevel.OUT), skus[0] if skus else None)
    return ProductDetail(
        public_id=product.public_id,
        title=title or product.public_id,
        title_language=title_language,
        description=description,
        description_language=description_language,
        brand=product.brand,
        origin_country=product.origin_country,
        origin_name=country_name(product.origin_country, language),
        category=product.category,
        category_label=category_label(product.category) if product.category else "",
        merchant=_merchant_card(product.org, language),
        images=images,
        skus=skus,
        selected=selected,
        stock=stock_level(sum(s.available for s in skus)),
        net_weight_g=product.net_weight_g,
    )
