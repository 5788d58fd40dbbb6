"""Use cases of the merchant catalog: products, their translations, SKUs, images and status.

Every public function takes the caller's ``Context``, works only on the caller's organization
(another org's product is ``NotFound``, as if it did not exist), checks the input with
``catalog.domain`` (all errors at once, each naming its field), runs in one transaction,
writes an audit entry and refreshes the product's search entry (``catalog.search``).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from PIL import Image

from ehub.accounts.domain import OrgKind, OrgStatus
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.images import IMAGE_FORMATS, read_image
from ehub.core.money import Money

from .. import domain, hs, search
from ..models import Product, ProductImage, ProductStatus, ProductTranslation, Sku, TariffLine

PRODUCT_FIELDS = (
    "brand",
    "origin_country",
    "hs_code",
    "gcode",
    "net_weight_g",
    "gross_weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
)
MEASURES = ("net_weight_g", "gross_weight_g", "length_mm", "width_mm", "height_mm")
AUDITED = ("status", "category", *PRODUCT_FIELDS)

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

_UNSET: Any = object()


@dataclass
class ProductInput:
    """What a merchant sends for a product. On update, fields left ``_UNSET`` stay as they are;
    ``translations`` replaces the languages it names (an empty title removes that language).
    """

    translations: Mapping[str, domain.Text] | None = None
    brand: str = _UNSET
    origin_country: str = _UNSET
    hs_code: str = _UNSET
    gcode: str = _UNSET
    net_weight_g: int | None = _UNSET
    gross_weight_g: int | None = _UNSET
    length_mm: int | None = _UNSET
    width_mm: int | None = _UNSET
    height_mm: int | None = _UNSET

    def given(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in PRODUCT_FIELDS
            if getattr(self, name) is not _UNSET
        }


@dataclass
class SkuInput:
    code: str = _UNSET
    price_myr: str | Money = _UNSET  # "12.90" as typed, or Money
    variant: Mapping[str, str] = _UNSET
    variant_labels: Mapping[str, str] = _UNSET
    barcode: str = _UNSET
    net_weight_g: int | None = _UNSET
    gross_weight_g: int | None = _UNSET
    is_active: bool = _UNSET


@dataclass(frozen=True)
class TariffRates:
    """A China tariff line as shown beside a product's gcode."""

    code: str
    description: str
    description_zh: str
    vat_rate: Decimal
    consumption_tax_rate: Decimal
    cbec_positive: bool
    cbec_remark: str
    valid_from: dt.date


# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------


def require_merchant(ctx: Context) -> None:
    """Products belong to merchant organizations; any member of one may manage them."""
    if not ctx.is_authenticated and not ctx.has_role("system"):
        raise PermissionDenied(_("Sign in first."))
    if ctx.org is None or ctx.org_kind != OrgKind.MERCHANT:
        raise PermissionDenied(_("Only a merchant organization has products."))


def _translations_prefetch() -> Prefetch:
    return Prefetch("translations", queryset=ProductTranslation.objects.order_by("language"))


def products_of(ctx: Context) -> QuerySet:
    require_merchant(ctx)
    return Product.objects.filter(org=ctx.org)


def list_products(ctx: Context, *, status: str = "", q: str = "") -> QuerySet:
    """The org's products, newest first, with translations and SKU counts loaded in 2 queries."""
    qs = products_of(ctx)
    if status:
        if status not in ProductStatus.values:
            raise ValidationFailed.single("status", _("Unknown status."), "invalid_choice")
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(translations__title__icontains=q) | Q(skus__code__iexact=q) | Q(public_id=q.upper())
        ).distinct()
    return (
        qs.annotate(sku_count=Count("skus", distinct=True))
        .prefetch_related(_translations_prefetch())
        .order_by("-created_at", "-pk")
    )


def get_product(ctx: Context, public_id: str, *, for_update: bool = False) -> Product:
    qs = products_of(ctx)
    if for_update:
        qs = qs.select_for_update()
    product = (
        qs.filter(public_id=(public_id or "").strip().upper())
        .prefetch_related(
            _translations_prefetch(),
            Prefetch("skus", queryset=Sku.objects.order_by("code")),
            "images",
        )
        .first()
    )
    if product is None:
        raise NotFound(_("Product not found."))
    return product


def titles_of(product: Product) -> dict[str, str]:
    return {t.language: t.title for t in product.translations.all()}


def texts_of(product: Product) -> dict[str, domain.Text]:
    return {t.language: domain.Text(t.title, t.description) for t in product.translations.all()}


def display_title(product: Product, language: str = "en") -> str:
    """The title in ``language``, else English, else any (uses prefetched translations)."""
    titles = titles_of(product)
    return titles.get(language) or titles.get("en") or next(iter(titles.values()), "")


def hs_entry(product: Product) -> hs.HsEntry | None:
    return hs.lookup(product.hs_code) if product.hs_code else None


def tariff_rates(gcode: str, on: dt.date | None = None) -> TariffRates | None:
    """The China tariff line for ``gcode`` in force on ``on`` (default today), or None."""
    if not gcode:
        return None
    on = on or clock.today_in("Asia/Shanghai")
    line = (
        TariffLine.objects.filter(country="CN", code=gcode, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if line is None:
        return None
    return TariffRates(
        code=line.code,
        description=line.description,
        description_zh=line.description_zh,
        vat_rate=line.vat_rate,
        consumption_tax_rate=line.consumption_tax_rate,
        cbec_positive=line.cbec_positive,
        cbec_remark=line.cbec_remark,
        valid_from=line.valid_from,
    )


# ---------------------------------------------------------------------------------------------
# Checking input
# ---------------------------------------------------------------------------------------------


def _clean_product_fields(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    for name in ("brand",):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    if "origin_country" in cleaned:
        cleaned["origin_country"] = (cleaned["origin_country"] or "").strip().upper()
    for name in ("hs_code", "gcode"):
        if name in cleaned:
            cleaned[name] = domain.normalize_hs_code(cleaned[name] or "")
    return cleaned


def check_product(values: dict[str, Any], texts: Mapping[str, domain.Text]) -> list[FieldError]:
    """Field errors of a product's full state (after merging an update into what exists)."""
    errors = domain.check_translations(texts)
    if len(values.get("brand") or "") > 120:
        errors.append(FieldError("brand", _("Use at most 120 characters."), "too_long"))
    errors += domain.check_country(values.get("origin_country") or "")
    errors += domain.check_hs_code(values.get("hs_code") or "")
    errors += domain.check_gcode(values.get("gcode") or "", values.get("hs_code") or "")
    errors += domain.check_weights(values.get("net_weight_g"), values.get("gross_weight_g"))
    for name in ("length_mm", "width_mm", "height_mm"):
        errors += domain.check_measure(values.get(name), name)
    return errors


def _clean_texts(texts: Mapping[str, domain.Text]) -> dict[str, domain.Text]:
    return {
        language: domain.Text((text.title or "").strip(), (text.description or "").strip())
        for language, text in texts.items()
    }


def _product_values(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in PRODUCT_FIELDS}


def _save_translations(product: Product, texts: Mapping[str, domain.Text]) -> None:
    existing = {t.language: t for t in ProductTranslation.objects.filter(product=product)}
    for language, text in texts.items():
        row = existing.get(language)
        if not text.title:
            if row is not None:
                row.delete()
            continue
        if row is None:
            ProductTranslation.objects.create(
                product=product, language=language, title=text.title, description=text.description
            )
        elif (row.title, row.description) != (text.title, text.description):
            row.title, row.description = text.title, text.description
            row.save(update_fields=["title", "description"])


def _state(product: Product, texts: Mapping[str, domain.Text]) -> domain.ProductState:
    skus = [
        domain.SkuState(s.code, s.is_active, s.price)
        for s in Sku.objects.filter(product=product).only("code", "is_active", "price_myr")
    ]
    return domain.ProductState(
        titles={lang: text.title for lang, text in texts.items()},
        hs_code=product.hs_code,
        skus=skus,
    )


def _after_change(ctx: Context, action: str, product: Product, before: dict | None) -> None:
    audit.record(ctx, action, product, before=before, after=audit.snapshot(product, AUDITED))
    search.index_product(product.pk)


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------


def create_product(ctx: Context, data: ProductInput, skus: list[SkuInput] | tuple = ()) -> Product:
    """A new draft product (optionally with its first SKUs). Raises ValidationFailed."""
    require_merchant(ctx)
    values = _clean_product_fields(data.given())
    values.setdefault("origin_country", "MY")
    texts = _clean_texts(data.translations or {})
    errors = check_product(values, texts)
    sku_rows = []
    for i, sku in enumerate(skus):
        cleaned, sku_errors = _check_sku(sku, None, prefix=f"skus.{i}.")
        errors += sku_errors
        sku_rows.append(cleaned)
    errors += _duplicate_codes(ctx, [row.get("code", "") for row in sku_rows], "skus.{i}.code")
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        product = Product(org=ctx.org, status=ProductStatus.DRAFT, **values)
        product.category = domain.category_for_hs(product.hs_code)
        product.save()
        _save_translations(product, texts)
        for row in sku_rows:
            Sku.objects.create(product=product, org=ctx.org, **row)
        _after_change(ctx, "product.created", product, None)
    return product


def update_product(ctx: Context, public_id: str, data: ProductInput) -> Product:
    """Change a product's fields and texts. An active product must stay publishable."""
    require_merchant(ctx)
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        before = audit.snapshot(product, AUDITED)
        values = {**_product_values(product), **_clean_product_fields(data.given())}
        texts = texts_of(product)
        if data.translations is not None:
            texts.update(_clean_texts(data.translations))
        errors = check_product(values, texts)
        if errors:
            raise ValidationFailed(errors)
        for name, value in values.items():
            setattr(product, name, value)
        product.category = domain.category_for_hs(product.hs_code)
        if product.status == ProductStatus.ACTIVE:
            problems = domain.publish_problems(_state(product, texts))
            if problems:
                raise ValidationFailed(problems)
        product.save()
        _save_translations(product, texts)
        _after_change(ctx, "product.updated", product, before)
    return get_product(ctx, product.public_id)


def publish_problems(product: Product) -> list[FieldError]:
    return domain.publish_problems(_state(product, texts_of(product)))


def _transition(ctx: Context, public_id: str, target: str, action: str) -> Product:
    require_merchant(ctx)
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        if product.status == target:
            return product  # idempotent: publishing twice is one publish
        if not domain.may_transition(product.status, target):
            raise Conflict(
                _("A product that is %(current)s cannot become %(target)s.")
                % {
                    "current": ProductStatus(product.status).label,
                    "target": ProductStatus(target).label,
                },
                code="invalid_transition",
            )
        before = audit.snapshot(product, AUDITED)
        if target == ProductStatus.ACTIVE:
            if ctx.org.status != OrgStatus.ACTIVE:
                raise Conflict(
                    _("Your company must be approved before its products go on sale."),
                    code="org_not_approved",
                )
            problems = publish_problems(product)
            if problems:
                raise ValidationFailed(problems, code="not_publishable")
            product.published_at = clock.now()
        product.status = target
        product.save(update_fields=["status", "published_at", "updated_at"])
        _after_change(ctx, action, product, before)
    return product


def publish(ctx: Context, public_id: str) -> Product:
    """draft → active: needs English and Chinese titles, an HS code and a priced active SKU."""
    return _transition(ctx, public_id, ProductStatus.ACTIVE, "product.published")


def archive(ctx: Context, public_id: str) -> Product:
    """Take a product off sale for good (it can come back as a draft)."""
    return _transition(ctx, public_id, ProductStatus.ARCHIVED, "product.archived")


def to_draft(ctx: Context, public_id: str) -> Product:
    """archived (or active) → draft, to edit and publish again."""
    return _transition(ctx, public_id, ProductStatus.DRAFT, "product.unpublished")


# ---------------------------------------------------------------------------------------------
# SKUs
# ---------------------------------------------------------------------------------------------


def _check_sku(
    data: SkuInput, existing: Sku | None, prefix: str = ""
) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    row: dict[str, Any] = {}
    if data.code is not _UNSET or existing is None:
        code = "" if data.code is _UNSET else (data.code or "").strip()
        errors += domain.check_sku_code(code, f"{prefix}code")
        row["code"] = code
    if data.price_myr is not _UNSET or existing is None:
        price = None if data.price_myr is _UNSET else data.price_myr
        if isinstance(price, Money):
            if price.currency != "MYR" or price.is_negative:
                errors.append(
                    FieldError(f"{prefix}price_myr", _("A price cannot be negative."), "negative")
                )
            row["price_myr"] = price.amount
        else:
            money, price_errors = domain.parse_price(price, f"{prefix}price_myr")
            errors += price_errors
            if money is not None:
                row["price_myr"] = money.amount
    if data.variant is not _UNSET:
        variant = {str(k).strip(): str(v).strip() for k, v in (data.variant or {}).items()}
        if any(
            not k or not v or len(k) > 40 or len(v) > 100 or ";" in k + v or "=" in k + v
            for k, v in variant.items()
        ):
            errors.append(
                FieldError(
                    f"{prefix}variant",
                    _(
                        "Each variant needs a name (≤ 40 characters) and a value (≤ 100), "
                        "without ; or =."
                    ),
                    "format",
                )
            )
        row["variant"] = variant
    if data.variant_labels is not _UNSET:
        labels = {k: str(v).strip() for k, v in (data.variant_labels or {}).items() if v}
        unknown = [k for k in labels if k not in domain.LANGUAGES]
        if unknown or any(len(v) > 200 for v in labels.values()):
            errors.append(
                FieldError(
                    f"{prefix}variant_labels",
                    _("Labels are per language (en, ms, zh-hans), up to 200 characters."),
                    "format",
                )
            )
        row["variant_labels"] = labels
    if data.barcode is not _UNSET:
        barcode = domain.normalize_barcode(data.barcode or "")
        errors += domain.check_barcode(barcode, f"{prefix}barcode")
        row["barcode"] = barcode
    net = (
        data.net_weight_g
        if data.net_weight_g is not _UNSET
        else getattr(existing, "net_weight_g", None)
    )
    gross = (
        data.gross_weight_g
        if data.gross_weight_g is not _UNSET
        else getattr(existing, "gross_weight_g", None)
    )
    if data.net_weight_g is not _UNSET or data.gross_weight_g is not _UNSET:
        errors += domain.check_weights(net, gross, prefix)
        row["net_weight_g"], row["gross_weight_g"] = net, gross
    if data.is_active is not _UNSET:
        row["is_active"] = bool(data.is_active)
    return row, errors


def _duplicate_codes(
    ctx: Context, codes: list[str], field_pattern: str, exclude_pk: int | None = None
) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    taken_qs = Sku.objects.filter(org=ctx.org, code__in=[c for c in codes if c])
    if exclude_pk is not None:
        taken_qs = taken_qs.exclude(pk=exclude_pk)
    taken = set(taken_qs.values_list("code", flat=True))
    for i, code in enumerate(codes):
        if not code:
            continue
        if code in taken or code in seen:
            errors.append(
                FieldError(
                    field_pattern.format(i=i),
                    _("SKU code %(code)s is already used in your catalog.") % {"code": code},
                    "duplicate",
                )
            )
        seen.add(code)
    return errors


def get_sku(ctx: Context, public_id: str, code: str) -> Sku:
    product = get_product(ctx, public_id)
    sku = next((s for s in product.skus.all() if s.code == code), None)
    if sku is None:
        raise NotFound(_("SKU not found."))
    return sku


def add_sku(ctx: Context, public_id: str, data: SkuInput) -> Sku:
    require_merchant(ctx)
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        row, errors = _check_sku(data, None)
        errors += _duplicate_codes(ctx, [row.get("code", "")], "code")
        if errors:
            raise ValidationFailed(errors)
        sku = Sku.objects.create(product=product, org=ctx.org, **row)
        audit.record(ctx, "sku.created", sku, after=audit.snapshot(sku, _SKU_AUDITED))
        search.index_product(product.pk)
    return sku


_SKU_AUDITED = ("code", "price_myr", "variant", "barcode", "is_active", "net_weight_g")


def update_sku(ctx: Context, public_id: str, code: str, data: SkuInput) -> Sku:
    """Change a SKU. On an active product the last priced active SKU cannot be switched off."""
    require_merchant(ctx)
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        sku = next((s for s in product.skus.all() if s.code == code), None)
        if sku is None:
            raise NotFound(_("SKU not found."))
        before = audit.snapshot(sku, _SKU_AUDITED)
        row, errors = _check_sku(data, sku)
        if "code" in row and row["code"] != sku.code:
            errors += _duplicate_codes(ctx, [row["code"]], "code", exclude_pk=sku.pk)
        if errors:
            raise ValidationFailed(errors)
        for name, value in row.items():
            setattr(sku, name, value)
        sku.save()
        if product.status == ProductStatus.ACTIVE:
            problems = publish_problems(product)
            if problems:
                raise ValidationFailed(problems)
        audit.record(
            ctx, "sku.updated", sku, before=before, after=audit.snapshot(sku, _SKU_AUDITED)
        )
        search.index_product(product.pk)
    return sku


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

MAX_IMAGE_BYTES = 5 * 1024 * 1024
THUMBNAIL_PX = 400
MAX_IMAGES = 12


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if thumb.mode not in ("RGB", "L"):
        background = Image.new("RGB", thumb.size, "white")
        rgba = thumb.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        thumb = background
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def add_image(
    ctx: Context, public_id: str, content: bytes, filename: str = "", alt_text: str = ""
) -> ProductImage:
    """Store an uploaded image and a 400 px JPEG thumbnail through the default storage."""
    require_merchant(ctx)
    alt_text = (alt_text or "").strip()
    if len(alt_text) > 200:
        raise ValidationFailed.single("alt_text", _("Use at most 200 characters."), "too_long")
    image = read_image(content, "image", MAX_IMAGE_BYTES)
    extension = IMAGE_FORMATS[image.format]
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        count = len(product.images.all())
        if count >= MAX_IMAGES:
            raise ValidationFailed.single(
                "image", _("A product has at most 12 images."), "too_many"
            )
        stem = os.path.splitext(os.path.basename(filename or ""))[0][:40] or "image"
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)
        row = ProductImage(
            product=product,
            alt_text=alt_text,
            position=count,
            width=image.width,
            height=image.height,
        )
        row.image.save(f"{stem}.{extension}", ContentFile(content), save=False)
        row.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(_thumbnail(image)), save=False)
        row.save()
        audit.record(ctx, "product.image_added", product, after={"image": row.image.name})
        search.index_product(product.pk)
    return row


def remove_image(ctx: Context, public_id: str, image_id: int) -> None:
    require_merchant(ctx)
    with transaction.atomic():
        product = get_product(ctx, public_id, for_update=True)
        row = next((i for i in product.images.all() if i.pk == image_id), None)
        if row is None:
            raise NotFound(_("Image not found."))
        names = [row.image.name, row.thumbnail.name]
        storage = row.image.storage
        row.delete()
        audit.record(ctx, "product.image_removed", product, before={"image": names[0]})
        search.index_product(product.pk)
        # Files go only once the row is gone for good.
        transaction.on_commit(lambda: [storage.delete(n) for n in names if n])


@dataclass
class ProductView:
    """A product as pages and the API show it: texts per language, path of its HS code."""

    product: Product
    texts: dict[str, domain.Text] = field(default_factory=dict)
    hs: hs.HsEntry | None = None
    tariff: TariffRates | None = None
    problems: list[FieldError] = field(default_factory=list)


def product_view(ctx: Context, public_id: str) -> ProductView:
    product = get_product(ctx, public_id)
    texts = texts_of(product)
    state = domain.ProductState(
        titles={k: v.title for k, v in texts.items()},
        hs_code=product.hs_code,
        skus=[domain.SkuState(s.code, s.is_active, s.price) for s in product.skus.all()],
    )
    return ProductView(
        product=product,
        texts=texts,
        hs=hs_entry(product),
        tariff=tariff_rates(product.gcode),
        problems=domain.publish_problems(state) if product.status == ProductStatus.DRAFT else [],
    )
