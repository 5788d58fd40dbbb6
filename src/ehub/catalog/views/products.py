"""Merchant pages for products (``/merchant/products/``): list, create, edit, SKUs, images,
publishing, the HS finder and the bulk import/export. Thin: services do the work.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.core.errors import Conflict, ValidationFailed
from ehub.core.forms import add_service_errors
from ehub.core.images import read_upload

from .. import domain, hs, importer
from ..forms import (
    ImageForm,
    ImportForm,
    NewProductForm,
    ProductFilterForm,
    ProductForm,
    SkuForm,
)
from ..models import ProductStatus
from ..services import products as services

PAGE_SIZE = 25
IMPORT_SESSION_KEY = "ehub_catalog_import"
MAX_IMPORT_IN_SESSION = 2 * 1024 * 1024

merchant_page = portal_required(Portal.MERCHANT)


def _language() -> str:
    lang = (get_language() or "en").lower()
    return lang if lang in domain.LANGUAGES else "en"


# ---------------------------------------------------------------------------------------------
# List
# ---------------------------------------------------------------------------------------------


@require_GET
@merchant_page
def product_list(request):
    filters = ProductFilterForm(request.GET or None)
    status = q = ""
    if filters.is_valid():
        status, q = filters.cleaned_data["status"], filters.cleaned_data["q"]
    qs = services.list_products(context_of(request), status=status, q=q)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    language = _language()
    rows = [(p, services.display_title(p, language)) for p in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/product_list.html",
        {
            "portal": Portal.MERCHANT,
            "filters": filters,
            "page_obj": page,
            "rows": rows,
            "page_query": f"{query.urlencode()}&" if query else "",
        },
    )


# ---------------------------------------------------------------------------------------------
# Create and edit
# ---------------------------------------------------------------------------------------------


def _product_input(form: ProductForm) -> services.ProductInput:
    data = form.cleaned_data
    return services.ProductInput(
        translations=form.texts(),
        brand=data["brand"],
        origin_country=data["origin_country"],
        hs_code=data["hs_code"],
        gcode=data["gcode"],
        net_weight_g=data["net_weight_g"],
        gross_weight_g=data["gross_weight_g"],
        length_mm=data["length_mm"],
        width_mm=data["width_mm"],
        height_mm=data["height_mm"],
    )


@require_http_methods(["GET", "POST"])
@merchant_page
def product_create(request):
    ctx = context_of(request)
    services.require_merchant(ctx)
    form = NewProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        skus, errors = [], []
        if form.has_sku():
            data = form.cleaned_data
            variant, errors = domain.parse_variant(data["sku_variant"], "skus.0.variant")
            skus.append(
                services.SkuInput(
                    code=data["sku_code"],
                    price_myr=data["sku_price_myr"],
                    variant=variant,
                    barcode=data["sku_barcode"],
                )
            )
        try:
            if errors:
                raise ValidationFailed(errors)
            product = services.create_product(ctx, _product_input(form), skus)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The product is saved as a draft."))
            return redirect("catalog:edit", public_id=product.public_id)
    return render(
        request,
        "catalog/product_form.html",
        {"portal": Portal.MERCHANT, "form": form, "creating": True},
        status=422 if request.method == "POST" else 200,
    )


def _initial(view: services.ProductView) -> dict:
    product = view.product
    initial = {name: getattr(product, name) for name in services.PRODUCT_FIELDS}
    for lang, suffix in domain.LANG_SUFFIX.items():
        text = view.texts.get(lang, domain.Text())
        initial[f"title_{suffix}"] = text.title
        initial[f"description_{suffix}"] = text.description
    return initial


def _edit_page(request, view, form, *, status=200, image_form=None, sku_form=None):
    product = view.product
    suggestions = []
    if not product.hs_code:
        title = view.texts.get("en", domain.Text()).title
        description = view.texts.get("en", domain.Text()).description
        suggestions = hs.suggest_hs(title, description) if title else []
    return render(
        request,
        "catalog/product_form.html",
        {
            "portal": Portal.MERCHANT,
            "form": form,
            "creating": False,
            "view": view,
            "product": product,
            "title": services.display_title(product, _language()),
            "category_label": (
                domain.Category(product.category).label
                if product.category in domain.Category.values
                else ""
            ),
            "skus": list(product.skus.all()),
            "images": list(product.images.all()),
            "suggestions": suggestions,
            "image_form": image_form or ImageForm(),
            "sku_form": sku_form or SkuForm(initial={"is_active": True}),
            "statuses": ProductStatus,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@merchant_page
def product_edit(request, public_id: str):
    ctx = context_of(request)
    view = services.product_view(ctx, public_id)
    if request.method == "POST":
        form = ProductForm(request.POST)
        if form.is_valid():
            try:
                services.update_product(ctx, public_id, _product_input(form))
            except ValidationFailed as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("catalog:edit", public_id=view.product.public_id)
        return _edit_page(request, view, form, status=422)
    return _edit_page(request, view, ProductForm(initial=_initial(view)))


@require_POST
@merchant_page
def product_status(request, public_id: str, action: str):
    ctx = context_of(request)
    call = {"publish": services.publish, "archive": services.archive, "draft": services.to_draft}
    if action not in call:
        raise Http404
    try:
        call[action](ctx, public_id)
    except ValidationFailed as exc:
        # Show what stops publishing on the fields themselves.
        view = services.product_view(ctx, public_id)
        form = ProductForm(data=_initial(view))
        form.is_valid()
        add_service_errors(form, exc)
        messages.error(request, _("The product cannot be published yet; see below."))
        return _edit_page(request, view, form, status=422)
    except Conflict as exc:
        messages.error(request, str(exc.detail))
        return redirect("catalog:edit", public_id=public_id)
    notes = {
        "publish": _("The product is on sale."),
        "archive": _("The product is archived."),
        "draft": _("The product is a draft again."),
    }
    messages.success(request, notes[action])
    return redirect("catalog:edit", public_id=public_id)


# ---------------------------------------------------------------------------------------------
# SKUs and images
# ---------------------------------------------------------------------------------------------


def _sku_input(form: SkuForm) -> services.SkuInput:
    data = form.cleaned_data
    return services.SkuInput(
        code=data["code"],
        price_myr=data["price_myr"],
        variant=data["variant"],
        variant_labels=form.labels(),
        barcode=data["barcode"],
        net_weight_g=data["net_weight_g"],
        gross_weight_g=data["gross_weight_g"],
        is_active=data["is_active"],
    )


@require_POST
@merchant_page
def sku_add(request, public_id: str):
    ctx = context_of(request)
    form = SkuForm(request.POST)
    if form.is_valid():
        try:
            services.add_sku(ctx, public_id, _sku_input(form))
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("SKU added."))
            return redirect(reverse("catalog:edit", args=[public_id]) + "#skus")
    view = services.product_view(ctx, public_id)
    return _edit_page(request, view, ProductForm(initial=_initial(view)), sku_form=form, status=422)


@require_http_methods(["GET", "POST"])
@merchant_page
def sku_edit(request, public_id: str, code: str):
    ctx = context_of(request)
    sku = services.get_sku(ctx, public_id, code)
    if request.method == "POST":
        form = SkuForm(request.POST)
        if form.is_valid():
            try:
                services.update_sku(ctx, public_id, code, _sku_input(form))
            except ValidationFailed as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("SKU saved."))
                return redirect(reverse("catalog:edit", args=[public_id]) + "#skus")
    else:
        labels = sku.variant_labels or {}
        form = SkuForm(
            initial={
                "code": sku.code,
                "variant": domain.format_variant(sku.variant or {}),
                "barcode": sku.barcode,
                "price_myr": str(sku.price.to_decimal()),
                "net_weight_g": sku.net_weight_g,
                "gross_weight_g": sku.gross_weight_g,
                "is_active": sku.is_active,
                **{
                    f"variant_label_{s}": labels.get(lang, "")
                    for lang, s in domain.LANG_SUFFIX.items()
                },
            }
        )
    return render(
        request,
        "catalog/sku_form.html",
        {"portal": Portal.MERCHANT, "form": form, "sku": sku, "public_id": public_id},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@merchant_page
def image_add(request, public_id: str):
    ctx = context_of(request)
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["image"]
        try:
            services.add_image(
                ctx,
                public_id,
                read_upload(upload, services.MAX_IMAGE_BYTES),
                upload.name,
                form.cleaned_data["alt_text"],
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Image added."))
            return redirect(reverse("catalog:edit", args=[public_id]) + "#images")
    view = services.product_view(ctx, public_id)
    return _edit_page(
        request, view, ProductForm(initial=_initial(view)), image_form=form, status=422
    )


@require_POST
@merchant_page
def image_remove(request, public_id: str, image_id: int):
    services.remove_image(context_of(request), public_id, image_id)
    messages.success(request, _("Image removed."))
    return redirect(reverse("catalog:edit", args=[public_id]) + "#images")


# ---------------------------------------------------------------------------------------------
# HS finder
# ---------------------------------------------------------------------------------------------


@require_GET
@merchant_page
def hs_finder(request):
    q = (request.GET.get("q") or "").strip()[:200]
    hits = hs.search(q, k=20) if q else []
    template = (
        "catalog/_hs_results.html"
        if request.headers.get("HX-Request")
        else "catalog/hs_finder.html"
    )
    return render(request, template, {"portal": Portal.MERCHANT, "q": q, "hits": hits})


@require_GET
@merchant_page
def hs_suggest(request):
    """Suggestions for the product being typed (htmx, from the product form)."""
    title = (request.GET.get("title_en") or "").strip()[:200]
    description = (request.GET.get("description_en") or "").strip()[:1000]
    hits = hs.suggest_hs(title, description) if title else []
    return render(
        request, "catalog/_hs_results.html", {"hits": hits, "q": title, "suggesting": True}
    )


# ---------------------------------------------------------------------------------------------
# Import and export
# ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@merchant_page
def import_page(request):
    ctx = context_of(request)
    services.require_merchant(ctx)
    form = ImportForm()
    report = None
    token = ""
    status = 200
    if request.method == "POST" and request.POST.get("confirm"):
        stored = request.session.get(IMPORT_SESSION_KEY) or {}
        if not stored or stored.get("token") != request.POST.get("confirm"):
            messages.error(request, _("Upload the file again: the checked file has expired."))
            return redirect("catalog:import")
        try:
            report = importer.run(ctx, stored["content"])
        except ValidationFailed as exc:
            # The catalog changed since the dry run; show the new report.
            report = importer.check(ctx, stored["content"])
            status = 422
            if report.ok:
                messages.error(request, str(exc.detail))
        else:
            request.session.pop(IMPORT_SESSION_KEY, None)
            messages.success(
                request,
                _(
                    "Imported: %(pc)d products created, %(pu)d updated; "
                    "%(sc)d SKUs created, %(su)d updated."
                )
                % {
                    "pc": report.products_created,
                    "pu": report.products_updated,
                    "sc": report.skus_created,
                    "su": report.skus_updated,
                },
            )
            return redirect("catalog:list")
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read(importer.MAX_BYTES + 1)
            try:
                report = importer.check(ctx, content)
            except ValidationFailed as exc:
                add_service_errors(form, exc)
                status = 422
            else:
                if report.ok and len(content) <= MAX_IMPORT_IN_SESSION:
                    text = importer._decode(content)
                    token = hashlib.sha256(content).hexdigest()[:32]
                    request.session[IMPORT_SESSION_KEY] = {"token": token, "content": text}
                elif report.ok:
                    form.add_error("file", _("Files above 2 MB are imported through the API."))
                status = 200 if report.ok else 422
        else:
            status = 422
    return render(
        request,
        "catalog/import.html",
        {
            "portal": Portal.MERCHANT,
            "form": form,
            "report": report,
            "token": token,
            "columns": importer.COLUMNS,
        },
        status=status,
    )


@require_GET
@merchant_page
def export_csv(request):
    ctx = context_of(request)
    content = importer.export_csv(ctx)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ehub-catalog.csv"'
    return response
