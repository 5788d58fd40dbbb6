"""Bulk import and export of a merchant's catalog as CSV: one row per SKU.

Format (UTF-8; a byte-order mark is written on export so spreadsheet programs show Chinese
correctly, and accepted on import). The first row names the columns, in any order:

    product_ref, status, title_en, title_ms, title_zh_hans, description_en, description_ms,
    description_zh_hans, brand, origin_country, hs_code, gcode, net_weight_g, gross_weight_g,
    length_mm, width_mm, height_mm, sku_code, variant, variant_label_en, variant_label_ms,
    variant_label_zh_hans, barcode, price_myr, sku_net_weight_g, sku_gross_weight_g, sku_active

* ``product_ref`` groups rows into one product. Export writes the product's public id there;
  a reference eHub does not know (e.g. ``durian-1``) makes a new product. The product columns
  are repeated on each row of a product and must agree.
* SKUs are matched by ``sku_code`` within the organization: a known code updates that SKU,
  a new one creates it. A row with an empty ``sku_code`` carries a product without SKUs.
* The file states the whole product: an empty ``title_ms`` removes the Malay text. SKUs that
  are not in the file are left alone (import never deletes).
* ``status`` (draft, active, archived; empty keeps it, new products start as drafts):
  ``active`` publishes, with the same checks as the Publish button.

``check`` is the dry run: it reports every bad row and column (row numbers as a spreadsheet
shows them, the header being row 1) and writes nothing. ``run`` checks again and applies the
whole file in one transaction, or nothing.
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from ehub.accounts.domain import OrgStatus
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import FieldError, ValidationFailed

from . import domain, search
from .models import Product, ProductStatus, ProductTranslation, Sku
from .services.products import PRODUCT_FIELDS, require_merchant

LANG_SUFFIX = domain.LANG_SUFFIX
PRODUCT_COLUMNS = (
    "product_ref",
    "status",
    *(f"title_{s}" for s in LANG_SUFFIX.values()),
    *(f"description_{s}" for s in LANG_SUFFIX.values()),
    *PRODUCT_FIELDS,
)
SKU_COLUMNS = (
    "sku_code",
    "variant",
    *(f"variant_label_{s}" for s in LANG_SUFFIX.values()),
    "barcode",
    "price_myr",
    "sku_net_weight_g",
    "sku_gross_weight_g",
    "sku_active",
)
COLUMNS = PRODUCT_COLUMNS + SKU_COLUMNS
REQUIRED_COLUMNS = ("product_ref", "title_en", "sku_code", "price_myr")
MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}
# Where publish_problems' fields are in the file.
_COLUMN_OF_FIELD = {
    domain.title_field(lang): f"title_{suffix}" for lang, suffix in LANG_SUFFIX.items()
} | {"hs_code": "hs_code", "skus": "price_myr"}


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "message": str(self.message),
            "code": self.code,
        }


@dataclass
class _SkuRow:
    row: int
    code: str
    values: dict[str, Any]


@dataclass
class _Group:
    ref: str
    first_row: int
    product_values: dict[str, Any]
    texts: dict[str, domain.Text]
    status: str
    compare: tuple
    skus: list[_SkuRow] = field(default_factory=list)
    product: Product | None = None


@dataclass
class Report:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    skus_created: int = 0
    skus_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "products_created": self.products_created,
            "products_updated": self.products_updated,
            "skus_created": self.skus_created,
            "skus_updated": self.skus_updated,
            "errors": [e.as_dict() for e in self.errors],
        }


class ImportFailed(ValidationFailed):
    code = "import_failed"
    title = _("The file has errors; nothing was imported.")


# ---------------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------------


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    if len(content) > MAX_BYTES:
        raise ValidationFailed.single("file", _("The file is larger than 10 MB."), "too_large")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed.single(
            "file", _("Save the file as CSV in UTF-8 encoding."), "encoding"
        ) from None


def read_rows(content: bytes | str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The data rows with their spreadsheet row numbers, and errors about the header."""
    text = _decode(content)
    if not text.strip():
        return [], [RowError(1, "file", _("The file is empty."), "empty")]
    # Only the delimiter is sniffed (from the header); quoting stays Excel's, because a header
    # without quotes makes the sniffer turn off doubled quotes and break every quoted cell.
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        errors = []
        for name in REQUIRED_COLUMNS:
            if name not in header:
                errors.append(RowError(1, name, _("This column is missing."), "missing_column"))
        for name in header:
            if name and name not in COLUMNS:
                errors.append(RowError(1, name, _("Unknown column."), "unknown_column"))
        seen: set[str] = set()
        for name in header:
            if name in seen:
                errors.append(RowError(1, name, _("This column appears twice."), "duplicate"))
            seen.add(name)
        rows = []
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                errors.append(
                    RowError(number, "file", _("This row has more cells than the header."), "cells")
                )
                continue
            rows.append(
                (
                    number,
                    {
                        h: _restore((v or "").strip())
                        for h, v in zip(header, values, strict=False)
                        if h
                    },
                )
            )
            if len(rows) > MAX_ROWS:
                errors.append(
                    RowError(number, "file", _("Import at most 5000 rows at once."), "too_many")
                )
                break
    except csv.Error as exc:
        return [], [
            RowError(
                reader.line_num, "file", _("Not a readable CSV file: %(e)s") % {"e": exc}, "csv"
            )
        ]
    return rows, errors


def _int(value: str, column: str, row: int, errors: list[RowError]) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        errors.append(RowError(row, column, _("Enter a whole number."), "not_a_number"))
        return None
    for error in domain.check_measure(number, column):
        errors.append(RowError(row, column, error.message, error.code))
    return number


def _add(errors: list[RowError], row: int, field_errors: Iterable[FieldError], column=None) -> None:
    for error in field_errors:
        errors.append(RowError(row, column or error.field, error.message, error.code))


def _parse_row(
    number: int, cells: dict[str, str], errors: list[RowError]
) -> tuple[dict, dict, str]:
    """(product values + texts + status, SKU values, product_ref) of one row."""
    get = cells.get
    product: dict[str, Any] = {
        "brand": get("brand", ""),
        "origin_country": (get("origin_country", "") or "MY").upper(),
        "hs_code": domain.normalize_hs_code(get("hs_code", "")),
        "gcode": domain.normalize_hs_code(get("gcode", "")),
    }
    if len(product["brand"]) > 120:
        errors.append(RowError(number, "brand", _("Use at most 120 characters."), "too_long"))
    _add(errors, number, domain.check_country(product["origin_country"]))
    _add(errors, number, domain.check_hs_code(product["hs_code"]))
    _add(errors, number, domain.check_gcode(product["gcode"], product["hs_code"]))
    for name in ("net_weight_g", "gross_weight_g", "length_mm", "width_mm", "height_mm"):
        product[name] = _int(get(name, ""), name, number, errors)
    if not any(e.row == number and e.column in ("net_weight_g", "gross_weight_g") for e in errors):
        _add(
            errors, number, domain.check_weights(product["net_weight_g"], product["gross_weight_g"])
        )
    texts = {
        lang: domain.Text(get(f"title_{suffix}", ""), get(f"description_{suffix}", ""))
        for lang, suffix in LANG_SUFFIX.items()
    }
    for error in domain.check_translations(texts):
        errors.append(RowError(number, _text_column(error.field), error.message, error.code))
    status = get("status", "").lower()
    if status and status not in ProductStatus.values:
        errors.append(
            RowError(number, "status", _("Use draft, active or archived."), "invalid_choice")
        )
    product["_texts"] = texts
    product["_status"] = status

    sku: dict[str, Any] = {}
    code = get("sku_code", "")
    if code:
        _add(errors, number, domain.check_sku_code(code, "sku_code"))
        money, price_errors = domain.parse_price(get("price_myr", ""), "price_myr")
        _add(errors, number, price_errors)
        sku["price_myr"] = money.amount if money is not None else None
        variant, variant_errors = domain.parse_variant(get("variant", ""), "variant")
        _add(errors, number, variant_errors)
        sku["variant"] = variant
        sku["variant_labels"] = {
            lang: get(f"variant_label_{suffix}", "")
            for lang, suffix in LANG_SUFFIX.items()
            if get(f"variant_label_{suffix}", "")
        }
        barcode = domain.normalize_barcode(get("barcode", ""))
        _add(errors, number, domain.check_barcode(barcode, "barcode"))
        sku["barcode"] = barcode
        net = _int(get("sku_net_weight_g", ""), "sku_net_weight_g", number, errors)
        gross = _int(get("sku_gross_weight_g", ""), "sku_gross_weight_g", number, errors)
        if net is not None and gross is not None and gross < net:
            errors.append(
                RowError(
                    number,
                    "sku_gross_weight_g",
                    _("The gross weight cannot be below the net weight."),
                    "below_net",
                )
            )
        sku["net_weight_g"], sku["gross_weight_g"] = net, gross
        active = get("sku_active", "").lower()
        if active and active not in _TRUE | _FALSE:
            errors.append(RowError(number, "sku_active", _("Use yes or no."), "invalid_choice"))
        sku["is_active"] = active not in _FALSE
        sku["code"] = code
    else:
        for column in SKU_COLUMNS:
            if get(column, ""):
                errors.append(
                    RowError(number, "sku_code", _("Enter the SKU code of this row."), "required")
                )
                break
    ref = get("product_ref", "")
    if not ref:
        errors.append(RowError(number, "product_ref", _("Enter a product reference."), "required"))
    elif len(ref) > 64:
        errors.append(RowError(number, "product_ref", _("Use at most 64 characters."), "too_long"))
    return product, sku, ref


def _text_column(field_name: str) -> str:
    # "translations.zh-hans.title" -> "title_zh_hans"
    _prefix, lang, kind = field_name.split(".")
    return f"{kind}_{LANG_SUFFIX.get(lang, lang)}"


# ---------------------------------------------------------------------------------------------
# Dry run
# ---------------------------------------------------------------------------------------------


def check(ctx: Context, content: bytes | str) -> Report:
    """Validate the whole file against the org's catalog; write nothing."""
    require_merchant(ctx)
    rows, errors = read_rows(content)
    report = Report(rows=len(rows), errors=errors)
    groups: OrderedDict[str, _Group] = OrderedDict()
    sku_rows: dict[str, int] = {}
    for number, cells in rows:
        row_errors: list[RowError] = []
        product, sku, ref = _parse_row(number, cells, row_errors)
        report.errors.extend(row_errors)
        if not ref:
            continue
        texts, status = product.pop("_texts"), product.pop("_status")
        compare = (tuple(sorted(product.items())), tuple(sorted(texts.items())), status)
        group = groups.get(ref)
        if group is None:
            group = groups[ref] = _Group(ref, number, product, texts, status, compare)
        elif group.compare != compare:
            differing = _first_difference(group, product, texts, status)
            report.errors.append(
                RowError(
                    number,
                    differing,
                    _("Differs from row %(row)d of the same product_ref.")
                    % {"row": group.first_row},
                    "inconsistent",
                )
            )
        if sku.get("code"):
            if sku["code"] in sku_rows:
                report.errors.append(
                    RowError(
                        number,
                        "sku_code",
                        _("This SKU code is also on row %(row)d.") % {"row": sku_rows[sku["code"]]},
                        "duplicate",
                    )
                )
            sku_rows[sku["code"]] = number
            group.skus.append(_SkuRow(number, sku["code"], sku))
    _resolve(ctx, list(groups.values()), report)
    report.groups = list(groups.values())
    report.errors.sort(
        key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1)
    )
    return report


def _first_difference(group: _Group, product: dict, texts: dict, status: str) -> str:
    for name, value in product.items():
        if group.product_values.get(name) != value:
            return name
    for lang, text in texts.items():
        other = group.texts.get(lang, domain.Text())
        if other.title != text.title:
            return f"title_{LANG_SUFFIX[lang]}"
        if other.description != text.description:
            return f"description_{LANG_SUFFIX[lang]}"
    return "status"


def _resolve(ctx: Context, groups: list[_Group], report: Report) -> None:
    """Match groups to existing products and SKUs; check what depends on the stored catalog."""
    refs = [g.ref.upper() for g in groups]
    codes = [s.code for g in groups for s in g.skus]
    products = {
        p.public_id: p
        for p in Product.objects.filter(org=ctx.org, public_id__in=refs).prefetch_related(
            Prefetch("skus", queryset=Sku.objects.order_by("code"))
        )
    }
    existing_skus = {
        s.code: s for s in Sku.objects.filter(org=ctx.org, code__in=codes).select_related("product")
    }
    for group in groups:
        product = products.get(group.ref.upper())
        owners = {existing_skus[s.code].product for s in group.skus if s.code in existing_skus}
        if product is None and len(owners) == 1:
            product = owners.pop()
        for sku in group.skus:
            found = existing_skus.get(sku.code)
            if found is not None and product is not None and found.product_id != product.pk:
                report.errors.append(
                    RowError(
                        sku.row,
                        "sku_code",
                        _("This SKU belongs to product %(ref)s.")
                        % {"ref": found.product.public_id},
                        "other_product",
                    )
                )
        group.product = product
        if product is None:
            report.products_created += 1
        else:
            report.products_updated += 1
        for sku in group.skus:
            if sku.code in existing_skus:
                report.skus_updated += 1
            else:
                report.skus_created += 1
        _check_status(ctx, group, existing_skus, report)


def _check_status(ctx: Context, group: _Group, existing: dict[str, Sku], report: Report) -> None:
    current = group.product.status if group.product is not None else ProductStatus.DRAFT
    target = group.status or current
    if target != current and not domain.may_transition(current, target):
        report.errors.append(
            RowError(
                group.first_row,
                "status",
                _("A product that is %(current)s cannot become %(target)s.")
                % {"current": current, "target": target},
                "invalid_transition",
            )
        )
        return
    if target != ProductStatus.ACTIVE:
        return
    if ctx.org.status != OrgStatus.ACTIVE:
        report.errors.append(
            RowError(
                group.first_row,
                "status",
                _("Your company must be approved before its products go on sale."),
                "org_not_approved",
            )
        )
        return
    in_file = {s.code for s in group.skus}
    skus = [
        domain.SkuState(s.code, s.is_active, s.price)
        for s in (group.product.skus.all() if group.product is not None else [])
        if s.code not in in_file
    ]
    for row in group.skus:
        price = row.values.get("price_myr")
        skus.append(
            domain.SkuState(row.code, row.values["is_active"], None if price is None else price)
        )
    state = domain.ProductState(
        titles={lang: text.title for lang, text in group.texts.items()},
        hs_code=group.product_values["hs_code"],
        skus=skus,
    )
    for error in domain.publish_problems(state):
        column = _COLUMN_OF_FIELD.get(error.field, "status")
        if any(e.row == group.first_row and e.column == column for e in report.errors):
            continue  # already reported as a bad value
        report.errors.append(RowError(group.first_row, column, error.message, error.code))


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def run(ctx: Context, content: bytes | str) -> Report:
    """Check the file and apply all of it in one transaction; ImportFailed (nothing written)."""
    require_merchant(ctx)
    with transaction.atomic():
        report = check(ctx, content)
        if not report.ok:
            raise ImportFailed(
                [
                    FieldError(f"file.rows.{e.row}.{e.column}", e.message, e.code)
                    for e in report.errors
                ]
            )
        # Lock the products the file updates, so two imports do not interleave.
        ids = [g.product.pk for g in report.groups if g.product is not None]
        list(Product.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        existing = {s.code: s for s in Sku.objects.filter(org=ctx.org)}
        for group in report.groups:
            _apply(ctx, group, existing)
        audit.record(
            ctx,
            "catalog.imported",
            None,
            after={k: v for k, v in report.as_dict().items() if k != "errors"},
        )
    return report


def _apply(ctx: Context, group: _Group, existing: dict[str, Sku]) -> None:
    product = group.product
    created = product is None
    before = None if created else audit.snapshot(product, ("status", "hs_code", "gcode"))
    if created:
        product = Product(org=ctx.org, status=ProductStatus.DRAFT)
    for name, value in group.product_values.items():
        setattr(product, name, value)
    product.category = domain.category_for_hs(product.hs_code)
    target = group.status or product.status
    if target == ProductStatus.ACTIVE and product.status != ProductStatus.ACTIVE:
        product.published_at = clock.now()
    product.status = target
    product.save()
    translations = {t.language: t for t in ProductTranslation.objects.filter(product=product)}
    for lang, text in group.texts.items():
        row = translations.get(lang)
        if not text.title:
            if row is not None:
                row.delete()
        elif row is None:
            ProductTranslation.objects.create(
                product=product, language=lang, title=text.title, description=text.description
            )
        elif (row.title, row.description) != (text.title, text.description):
            row.title, row.description = text.title, text.description
            row.save(update_fields=["title", "description"])
    for sku_row in group.skus:
        values = dict(sku_row.values)
        sku = existing.get(sku_row.code)
        if sku is None:
            Sku.objects.create(product=product, org=ctx.org, **values)
        else:
            changed = [k for k, v in values.items() if getattr(sku, k) != v]
            for name in changed:
                setattr(sku, name, values[name])
            if changed:
                sku.save(update_fields=changed)
    audit.record(
        ctx,
        "product.created" if created else "product.updated",
        product,
        before=before,
        after={**audit.snapshot(product, ("status", "hs_code", "gcode")), "via": "import"},
    )
    search.index_product(product.pk)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def export_rows(ctx: Context) -> Iterable[dict[str, str]]:
    """The org's catalog, one dict per SKU (products without SKUs: one row)."""
    require_merchant(ctx)
    products = (
        Product.objects.filter(org=ctx.org)
        .order_by("created_at", "pk")
        .prefetch_related("translations", Prefetch("skus", queryset=Sku.objects.order_by("code")))
    )
    for product in products.iterator(chunk_size=500):
        texts = {t.language: t for t in product.translations.all()}
        base = {
            "product_ref": product.public_id,
            "status": product.status,
            "brand": product.brand,
            "origin_country": product.origin_country,
            "hs_code": product.hs_code,
            "gcode": product.gcode,
        }
        for name in ("net_weight_g", "gross_weight_g", "length_mm", "width_mm", "height_mm"):
            value = getattr(product, name)
            base[name] = "" if value is None else str(value)
        for lang, suffix in LANG_SUFFIX.items():
            text = texts.get(lang)
            base[f"title_{suffix}"] = text.title if text else ""
            base[f"description_{suffix}"] = text.description if text else ""
        skus = list(product.skus.all())
        if not skus:
            yield {column: base.get(column, "") for column in COLUMNS}
        for sku in skus:
            row = dict(base)
            row.update(
                {
                    "sku_code": sku.code,
                    "variant": domain.format_variant(sku.variant or {}),
                    "barcode": sku.barcode,
                    "price_myr": str(sku.price.to_decimal()),
                    "sku_net_weight_g": "" if sku.net_weight_g is None else str(sku.net_weight_g),
                    "sku_gross_weight_g": ""
                    if sku.gross_weight_g is None
                    else str(sku.gross_weight_g),
                    "sku_active": "yes" if sku.is_active else "no",
                }
            )
            for lang, suffix in LANG_SUFFIX.items():
                row[f"variant_label_{suffix}"] = (sku.variant_labels or {}).get(lang, "")
            yield {column: row.get(column, "") for column in COLUMNS}


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); export
# prefixes such cells with an apostrophe, which spreadsheets hide and import strips again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _restore(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def export_csv(ctx: Context) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in export_rows(ctx):
        writer.writerow({k: _defuse(v) for k, v in row.items()})
    return out.getvalue()
