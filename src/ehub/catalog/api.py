"""REST API of the merchant catalog, mounted at ``/api/v1/catalog``.

Products, SKUs and images of the caller's organization (another org's product is 404), the HS
finder, and the CSV import (dry run, then import) and export. Handlers are thin: they call
``catalog.services.products`` and ``catalog.importer``, whose errors become problem+json.
"""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ehub.accounts.api import Mapped, Page, ctx_of
from ehub.core.errors import NotFound, ValidationFailed
from ehub.core.images import too_large_message

from . import domain, hs, importer
from .models import ProductStatus
from .services import products as services

router = Router(tags=["catalog"])

# ---------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------

LANGUAGES_DOC = "Keys: en, ms, zh-hans. Publishing needs en and zh-hans titles."


class TextIn(Schema):
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=5000)


class SkuIn(Schema):
    code: str = Field(..., description="Your SKU code, unique in your catalog.", max_length=64)
    price_myr: str = Field(
        ..., description='Price in ringgit as a decimal string, e.g. "12.90".', max_length=20
    )
    variant: dict[str, str] = Field(
        default_factory=dict, description='e.g. {"size": "1 kg", "flavour": "Musang King"}'
    )
    variant_labels: dict[str, str] = Field(
        default_factory=dict, description="A label per language (en, ms, zh-hans)."
    )
    barcode: str = Field("", description="EAN-13, UPC-A or EAN-8.", max_length=20)
    net_weight_g: int | None = None
    gross_weight_g: int | None = None
    is_active: bool = True


class SkuPatch(Schema):
    code: str | None = Field(None, max_length=64)
    price_myr: str | None = Field(None, max_length=20, description='e.g. "12.90"')
    variant: dict[str, str] | None = None
    variant_labels: dict[str, str] | None = None
    barcode: str | None = Field(None, max_length=20)
    net_weight_g: int | None = None
    gross_weight_g: int | None = None
    is_active: bool | None = None


class ProductIn(Schema):
    translations: dict[str, TextIn] = Field(default_factory=dict, description=LANGUAGES_DOC)
    brand: str = Field("", max_length=120)
    origin_country: str = Field("MY", description="ISO 3166-1 alpha-2", max_length=2)
    hs_code: str = Field("", description="6-digit HS 2022 subheading, e.g. 081060")
    gcode: str = Field("", description="China 10-digit tariff line starting with hs_code")
    net_weight_g: int | None = None
    gross_weight_g: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    skus: list[SkuIn] = Field(default_factory=list, max_length=100)


class ProductPatch(Schema):
    translations: dict[str, TextIn] | None = Field(
        None,
        description=LANGUAGES_DOC + " Only the languages sent change; an empty title removes one.",
    )
    brand: str | None = Field(None, max_length=120)
    origin_country: str | None = Field(None, max_length=2)
    hs_code: str | None = None
    gcode: str | None = None
    net_weight_g: int | None = None
    gross_weight_g: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None


class MoneyOut(Schema):
    amount: int = Field(..., description="Minor units (sen).")
    currency: str


class SkuOut(Schema):
    code: str
    variant: dict[str, str]
    variant_labels: dict[str, str]
    barcode: str
    price_myr: str = Field(..., description='e.g. "12.90"')
    price: MoneyOut
    net_weight_g: int | None
    gross_weight_g: int | None
    is_active: bool


class ImageOut(Schema):
    id: int
    url: str
    thumbnail_url: str
    alt_text: str
    width: int | None
    height: int | None


class TextOut(Schema):
    title: str
    description: str


class HsOut(Schema):
    code: str
    description: str
    heading_code: str
    heading: str
    chapter_code: str
    chapter: str
    path: str = Field(..., description="Chapter › heading › subheading")


class TariffOut(Schema):
    code: str
    description: str
    description_zh: str
    vat_rate: str
    consumption_tax_rate: str
    cbec_positive: bool
    cbec_remark: str
    valid_from: str


class ProductSummaryOut(Schema):
    public_id: str
    status: str
    category: str
    hs_code: str
    titles: dict[str, str]
    sku_count: int
    updated_at: datetime


class ProductOut(Schema):
    public_id: str
    status: str
    category: str
    brand: str
    origin_country: str
    hs_code: str
    hs: HsOut | None
    gcode: str
    tariff: TariffOut | None
    net_weight_g: int | None
    gross_weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    translations: dict[str, TextOut]
    skus: list[SkuOut]
    images: list[ImageOut]
    publish_problems: list[dict[str, str]] = Field(
        ..., description="What stops a draft from being published (empty when it can be)."
    )
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class HsHitOut(HsOut):
    score: float


class RowErrorOut(Schema):
    row: int = Field(..., description="Row number as a spreadsheet shows it (header = 1).")
    column: str
    message: str
    code: str


class ImportReportOut(Schema):
    ok: bool
    rows: int
    products_created: int
    products_updated: int
    skus_created: int
    skus_updated: int
    errors: list[RowErrorOut]


class ProductFilter(Schema):
    status: ProductStatus | None = Field(None, description="draft, active or archived")
    q: str = Field("", max_length=100, description="Words of a title, or a SKU code")


# ---------------------------------------------------------------------------------------------
# Shaping
# ---------------------------------------------------------------------------------------------


def _hs_out(entry: hs.HsEntry | None) -> dict | None:
    if entry is None:
        return None
    return {
        "code": entry.code,
        "description": entry.description,
        "heading_code": entry.heading_code,
        "heading": entry.heading,
        "chapter_code": entry.chapter_code,
        "chapter": entry.chapter,
        "path": entry.path,
    }


def _sku_out(sku) -> dict:
    return {
        "code": sku.code,
        "variant": sku.variant or {},
        "variant_labels": sku.variant_labels or {},
        "barcode": sku.barcode,
        "price_myr": str(sku.price.to_decimal()),
        "price": sku.price.as_json(),
        "net_weight_g": sku.net_weight_g,
        "gross_weight_g": sku.gross_weight_g,
        "is_active": sku.is_active,
    }


def _product_out(view: services.ProductView) -> dict:
    product = view.product
    tariff = view.tariff
    return {
        **{name: getattr(product, name) for name in services.PRODUCT_FIELDS},
        "public_id": product.public_id,
        "status": product.status,
        "category": product.category,
        "hs": _hs_out(view.hs),
        "tariff": None
        if tariff is None
        else {
            "code": tariff.code,
            "description": tariff.description,
            "description_zh": tariff.description_zh,
            "vat_rate": str(tariff.vat_rate),
            "consumption_tax_rate": str(tariff.consumption_tax_rate),
            "cbec_positive": tariff.cbec_positive,
            "cbec_remark": tariff.cbec_remark,
            "valid_from": tariff.valid_from.isoformat(),
        },
        "translations": {
            lang: {"title": t.title, "description": t.description} for lang, t in view.texts.items()
        },
        "skus": [_sku_out(s) for s in product.skus.all()],
        "images": [
            {
                "id": image.pk,
                "url": image.image.url,
                "thumbnail_url": image.thumbnail.url if image.thumbnail else "",
                "alt_text": image.alt_text,
                "width": image.width,
                "height": image.height,
            }
            for image in product.images.all()
        ],
        "publish_problems": [e.as_dict() for e in view.problems],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "published_at": product.published_at,
    }


def _texts(translations: dict[str, TextIn] | None) -> dict[str, domain.Text] | None:
    if translations is None:
        return None
    return {lang: domain.Text(t.title, t.description) for lang, t in translations.items()}


def _sku_input(data: SkuIn | SkuPatch, *, partial: bool) -> services.SkuInput:
    given = data.model_dump(exclude_unset=partial)
    if partial:
        given = {k: v for k, v in given.items() if v is not None or k.endswith("weight_g")}
    return services.SkuInput(**given)


def _view(request: HttpRequest, public_id: str) -> dict:
    return _product_out(services.product_view(ctx_of(request), public_id))


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------


@router.get("/products", response=list[ProductSummaryOut], summary="Your products")
@paginate(Page)
def list_products(request: HttpRequest, filters: Query[ProductFilter]):
    qs = services.list_products(ctx_of(request), status=filters.status or "", q=filters.q)
    return Mapped(qs, _summary_out)


def _summary_out(p) -> dict:
    return {
        "public_id": p.public_id,
        "status": p.status,
        "category": p.category,
        "hs_code": p.hs_code,
        "titles": services.titles_of(p),
        "sku_count": p.sku_count,
        "updated_at": p.updated_at,
    }


@router.post("/products", response={201: ProductOut}, summary="Create a draft product")
def create_product(request: HttpRequest, payload: ProductIn):
    ctx = ctx_of(request)
    data = payload.model_dump(exclude={"translations", "skus"})
    product = services.create_product(
        ctx,
        services.ProductInput(translations=_texts(payload.translations), **data),
        [_sku_input(s, partial=False) for s in payload.skus],
    )
    return Status(201, _view(request, product.public_id))


@router.get("/products/{public_id}", response=ProductOut, summary="One of your products")
def get_product(request: HttpRequest, public_id: str):
    return _view(request, public_id)


@router.patch("/products/{public_id}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, public_id: str, payload: ProductPatch):
    given = payload.model_dump(exclude_unset=True, exclude={"translations"})
    for name in ("brand", "origin_country", "hs_code", "gcode"):
        if name in given and given[name] is None:
            given[name] = ""
    data = services.ProductInput(translations=_texts(payload.translations), **given)
    services.update_product(ctx_of(request), public_id, data)
    return _view(request, public_id)


@router.post(
    "/products/{public_id}/publish",
    response=ProductOut,
    summary="Publish (draft → active)",
    description="422 names every missing field, e.g. `translations.zh-hans.title`.",
)
def publish(request: HttpRequest, public_id: str):
    services.publish(ctx_of(request), public_id)
    return _view(request, public_id)


@router.post("/products/{public_id}/archive", response=ProductOut, summary="Archive")
def archive(request: HttpRequest, public_id: str):
    services.archive(ctx_of(request), public_id)
    return _view(request, public_id)


@router.post(
    "/products/{public_id}/draft", response=ProductOut, summary="Back to draft (from archived)"
)
def to_draft(request: HttpRequest, public_id: str):
    services.to_draft(ctx_of(request), public_id)
    return _view(request, public_id)


# ---------------------------------------------------------------------------------------------
# SKUs and images
# ---------------------------------------------------------------------------------------------


@router.get("/products/{public_id}/skus", response=list[SkuOut], summary="A product's SKUs")
def list_skus(request: HttpRequest, public_id: str):
    product = services.get_product(ctx_of(request), public_id)
    return [_sku_out(s) for s in product.skus.all()]


@router.post("/products/{public_id}/skus", response={201: SkuOut}, summary="Add a SKU")
def add_sku(request: HttpRequest, public_id: str, payload: SkuIn):
    sku = services.add_sku(ctx_of(request), public_id, _sku_input(payload, partial=False))
    return Status(201, _sku_out(sku))


@router.patch("/products/{public_id}/skus/{code}", response=SkuOut, summary="Change a SKU")
def update_sku(request: HttpRequest, public_id: str, code: str, payload: SkuPatch):
    sku = services.update_sku(ctx_of(request), public_id, code, _sku_input(payload, partial=True))
    return _sku_out(sku)


@router.post(
    "/products/{public_id}/images",
    response={201: ImageOut},
    summary="Upload an image",
    description="JPEG, PNG, WebP or GIF up to 5 MB; a 400 px thumbnail is made.",
)
def add_image(
    request: HttpRequest,
    public_id: str,
    image: File[UploadedFile],
    alt_text: Form[str] = "",
):
    if image.size > services.MAX_IMAGE_BYTES:  # named as django-ninja names the part
        raise ValidationFailed.single(
            "file.image", too_large_message(services.MAX_IMAGE_BYTES), "too_large"
        )
    row = services.add_image(ctx_of(request), public_id, image.read(), image.name, alt_text)
    return Status(
        201,
        {
            "id": row.pk,
            "url": row.image.url,
            "thumbnail_url": row.thumbnail.url,
            "alt_text": row.alt_text,
            "width": row.width,
            "height": row.height,
        },
    )


# ---------------------------------------------------------------------------------------------
# HS finder
# ---------------------------------------------------------------------------------------------


def _hits(found: list[hs.Hit]) -> list[dict]:
    return [{**_hs_out(hit.entry), "score": hit.score} for hit in found]


@router.get("/hs", response=list[HsHitOut], summary="Search HS 2022 subheadings by words")
def hs_search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=200, description="Words, or leading digits"),
    limit: int = Query(10, ge=1, le=50),
):
    return _hits(hs.search(q, k=limit))


@router.get("/hs/suggest", response=list[HsHitOut], summary="HS codes for a product")
def hs_suggest(
    request: HttpRequest,
    title: str = Query(..., min_length=1, max_length=200),
    description: str = Query("", max_length=2000),
    limit: int = Query(5, ge=1, le=20),
):
    return _hits(hs.suggest_hs(title, description, k=limit))


@router.get("/hs/{code}", response=HsOut, summary="One HS 2022 subheading with its path")
def hs_get(request: HttpRequest, code: str):
    entry = hs.lookup(domain.normalize_hs_code(code))
    if entry is None:
        raise NotFound(_("No such HS 2022 subheading."))
    return _hs_out(entry)


# ---------------------------------------------------------------------------------------------
# Import and export
# ---------------------------------------------------------------------------------------------


def _read_upload(file: UploadedFile) -> bytes:
    if file.size > importer.MAX_BYTES:
        raise ValidationFailed.single("file.file", _("The file is larger than 10 MB."), "too_large")
    return file.read()


@router.post(
    "/import/dry-run",
    response=ImportReportOut,
    summary="Check a CSV file without importing",
    description="Reports every bad row and column; writes nothing. Format: see `GET /export`.",
)
def import_dry_run(request: HttpRequest, file: File[UploadedFile]):
    return importer.check(ctx_of(request), _read_upload(file)).as_dict()


@router.post(
    "/import",
    response=ImportReportOut,
    summary="Import a CSV file (all rows or none)",
    description="422 `import_failed` with `errors[].field` = `file.rows.<row>.<column>` when "
    "any row is bad; nothing is written then.",
)
def import_file(request: HttpRequest, file: File[UploadedFile]):
    return importer.run(ctx_of(request), _read_upload(file)).as_dict()


@router.get(
    "/export",
    summary="Your catalog as CSV (one row per SKU)",
    response={200: str},
    openapi_extra={"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def export(request: HttpRequest):
    response = HttpResponse(
        importer.export_csv(ctx_of(request)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="ehub-catalog.csv"'
    return response
