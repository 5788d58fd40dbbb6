"""Pure rules of the merchant catalog: what makes a product valid, publishable and findable.

No ORM and no I/O here (the HS nomenclature is read from ``catalog.hs``, an offline table), so
every rule is tested without a database:

* languages a product is written in, and which of them are required to publish;
* HS 2022 subheading and China tariff line (``gcode``) checks;
* barcodes (EAN-13, UPC-A, EAN-8) with their check digit;
* prices in MYR typed as text (``"12.90"``), refused when negative or over-precise;
* the status machine draft → active → archived → draft;
* the storefront category derived from the HS chapter (``CATEGORY_BY_CHAPTER``).

Validators return ``FieldError`` lists instead of raising, so a form, the API and the bulk
importer can report every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from babel import Locale
from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum import ean
from stdnum import exceptions as stdnum_exc

from ehub.core.errors import FieldError
from ehub.core.money import Money, MoneyError

from . import hs

# ---------------------------------------------------------------------------------------------
# Languages
# ---------------------------------------------------------------------------------------------

LANGUAGES: tuple[str, ...] = ("en", "ms", "zh-hans")
# A buyer in China reads Chinese, the platform's staff and customs English: both are needed
# before a product may be shown; Malay is welcome but optional.
REQUIRED_TO_PUBLISH: tuple[str, ...] = ("en", "zh-hans")
LANGUAGE_LABELS = {"en": _("English"), "ms": _("Malay"), "zh-hans": _("Chinese (simplified)")}
# The suffix of each language's form fields and CSV columns (``title_zh_hans``).
LANG_SUFFIX = {"en": "en", "ms": "ms", "zh-hans": "zh_hans"}

TITLE_MAX = 200
DESCRIPTION_MAX = 5000


def title_field(language: str) -> str:
    return f"translations.{language}.title"


def description_field(language: str) -> str:
    return f"translations.{language}.description"


# ---------------------------------------------------------------------------------------------
# Status machine
# ---------------------------------------------------------------------------------------------


class Status(models.TextChoices):
    # Same values as models.ProductStatus; the domain keeps its own copy to stay ORM-free.
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.ACTIVE, Status.ARCHIVED}),
    Status.ACTIVE: frozenset({Status.ARCHIVED, Status.DRAFT}),
    Status.ARCHIVED: frozenset({Status.DRAFT}),
}


def may_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


# ---------------------------------------------------------------------------------------------
# Categories derived from the HS chapter
# ---------------------------------------------------------------------------------------------


class Category(models.TextChoices):
    FOOD_DRINK = "food_drink", _("Food & drink")
    BEAUTY = "beauty", _("Beauty & personal care")
    HEALTH = "health", _("Health")
    FASHION = "fashion", _("Fashion & textiles")
    HOME_CRAFTS = "home_crafts", _("Home & crafts")
    OTHER = "other", _("Other")


def _chapters(*spans: tuple[int, int]) -> list[int]:
    return [chapter for low, high in spans for chapter in range(low, high + 1)]


# The storefront's browse tree, from the HS chapter (the first two digits). Buyers browse by
# what a thing is for; HS sections group by material, so the table regroups them:
#   01–24 food, drink, tobacco (incl. 13 plant extracts such as tongkat ali)
#   30 pharmaceuticals, 90 medical and optical instruments
#   33 cosmetics and perfumes, 34 soaps
#   41–43 leather, bags, furs; 50–67 textiles, garments, footwear, headgear; 71 jewellery
#   44–46 wood, cork, basketry; 57 carpets stay in textiles; 69 ceramics; 70 glass;
#   73–83 articles of base metal (80: pewter); 92 instruments; 94 furniture, lamps;
#   95 toys and games; 96 brooms, pens, combs; 97 works of art
# Chapters not listed (chemicals, plastics, machinery, vehicles...) are "other".
CATEGORY_BY_CHAPTER: dict[int, str] = {
    **{c: Category.FOOD_DRINK for c in _chapters((1, 24))},
    **{c: Category.HEALTH for c in (30, 90)},
    **{c: Category.BEAUTY for c in (33, 34)},
    **{c: Category.FASHION for c in _chapters((41, 43), (50, 67), (71, 71))},
    **{
        c: Category.HOME_CRAFTS for c in _chapters((44, 46), (69, 70), (73, 83), (92, 92), (94, 97))
    },
}


def category_for_hs(hs_code: str) -> str:
    """The storefront category of an HS code ("" when there is no code yet)."""
    if not hs_code or len(hs_code) < 2 or not hs_code[:2].isdigit():
        return ""
    return str(CATEGORY_BY_CHAPTER.get(int(hs_code[:2]), Category.OTHER))


# ---------------------------------------------------------------------------------------------
# Field checks
# ---------------------------------------------------------------------------------------------

HS6_RE = re.compile(r"^\d{6}$")
GCODE_RE = re.compile(r"^\d{10}$")
SKU_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_SEPARATORS = re.compile(r"[\s.\-]")


def normalize_hs_code(text: str) -> str:
    """``"0810.60"`` / ``"0810 60"`` → ``"081060"``; other text is returned stripped."""
    return _SEPARATORS.sub("", text or "")


def check_hs_code(code: str, field_name: str = "hs_code") -> list[FieldError]:
    """A 6-digit subheading that exists in HS 2022 (empty is allowed for a draft)."""
    if not code:
        return []
    if not HS6_RE.match(code):
        return [
            FieldError(field_name, _("An HS code has exactly 6 digits, e.g. 081060."), "format")
        ]
    if hs.lookup(code) is None:
        return [
            FieldError(
                field_name,
                _("%(code)s is not an HS 2022 subheading.") % {"code": code},
                "unknown_hs_code",
            )
        ]
    return []


def check_gcode(gcode: str, hs_code: str, field_name: str = "gcode") -> list[FieldError]:
    """China's 10-digit tariff line, which must refine the product's HS subheading."""
    if not gcode:
        return []
    if not GCODE_RE.match(gcode):
        return [
            FieldError(
                field_name,
                _("A China tariff line has exactly 10 digits, e.g. 0811909000."),
                "format",
            )
        ]
    if not hs_code:
        return [FieldError(field_name, _("Enter the HS code first."), "needs_hs_code")]
    if not gcode.startswith(hs_code):
        return [
            FieldError(
                field_name,
                _("The tariff line must start with the HS code %(hs)s.") % {"hs": hs_code},
                "hs_mismatch",
            )
        ]
    return []


def normalize_barcode(text: str) -> str:
    return re.sub(r"[\s\-]", "", text or "")


def check_barcode(code: str, field_name: str = "barcode") -> list[FieldError]:
    """EAN-13, UPC-A (12 digits) or EAN-8 with a correct check digit (empty allowed)."""
    if not code:
        return []
    if not code.isdigit() or len(code) not in (8, 12, 13):
        return [
            FieldError(
                field_name,
                _("A barcode is an EAN-13, UPC-A (12 digits) or EAN-8 number."),
                "format",
            )
        ]
    try:
        ean.validate(code)
    except stdnum_exc.ValidationError:
        return [FieldError(field_name, _("The barcode's check digit is wrong."), "checksum")]
    return []


def check_sku_code(code: str, field_name: str = "code") -> list[FieldError]:
    if not code:
        return [FieldError(field_name, _("Enter a SKU code."), "required")]
    if not SKU_CODE_RE.match(code):
        return [
            FieldError(
                field_name,
                _("Use up to 64 letters, digits and . _ - (starting with a letter or digit)."),
                "format",
            )
        ]
    return []


def parse_price(text: str | None, field_name: str = "price_myr") -> tuple[Money | None, list]:
    """``"12.90"`` → Money(1290, "MYR"). Negative, non-numeric or sub-sen amounts are refused."""
    text = (text or "").strip()
    if not text:
        return None, [
            FieldError(field_name, _("Enter a price in ringgit, e.g. 12.90."), "required")
        ]
    try:
        price = Money.parse(text, "MYR", field=field_name)
    except MoneyError as exc:
        return None, [FieldError(field_name, str(exc.detail), exc.code)]
    if price.is_negative:
        return None, [FieldError(field_name, _("A price cannot be negative."), "negative")]
    return price, []


def _territories() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories if re.match(r"^[A-Z]{2}$", code))


COUNTRIES = _territories()


def check_country(code: str, field_name: str = "origin_country") -> list[FieldError]:
    if not code:
        return [FieldError(field_name, _("Enter the country of origin."), "required")]
    if code not in COUNTRIES:
        return [
            FieldError(
                field_name,
                _("Use a two-letter ISO 3166 country code, e.g. MY."),
                "unknown_country",
            )
        ]
    return []


def check_measure(value: int | None, field_name: str) -> list[FieldError]:
    """Weights (g) and dimensions (mm) are whole positive numbers when given."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return [FieldError(field_name, _("Enter a whole number above zero."), "positive")]
    if value > 10_000_000:
        return [FieldError(field_name, _("This is too large."), "too_large")]
    return []


def check_weights(net: int | None, gross: int | None, prefix: str = "") -> list[FieldError]:
    errors = check_measure(net, f"{prefix}net_weight_g") + check_measure(
        gross, f"{prefix}gross_weight_g"
    )
    if not errors and net is not None and gross is not None and gross < net:
        errors.append(
            FieldError(
                f"{prefix}gross_weight_g",
                _("The gross weight includes the packing: it cannot be below the net weight."),
                "below_net",
            )
        )
    return errors


def parse_variant(text: str, field_name: str = "variant") -> tuple[dict[str, str], list]:
    """``"size=1 kg; flavour=Musang King"`` → ``{"size": "1 kg", "flavour": "Musang King"}``."""
    result: dict[str, str] = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key or not value:
            return {}, [
                FieldError(
                    field_name,
                    _("Write variants as name=value pairs separated by ;, e.g. size=1 kg."),
                    "format",
                )
            ]
        result[key] = value
    return result, []


def format_variant(variant: Mapping[str, str]) -> str:
    return "; ".join(f"{key}={value}" for key, value in variant.items())


# ---------------------------------------------------------------------------------------------
# Translations and publishability
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    title: str = ""
    description: str = ""


def check_translations(texts: Mapping[str, Text]) -> list[FieldError]:
    errors: list[FieldError] = []
    for language, text in texts.items():
        if language not in LANGUAGES:
            errors.append(
                FieldError(
                    f"translations.{language}",
                    _("Products are written in English, Malay or Chinese (en, ms, zh-hans)."),
                    "unknown_language",
                )
            )
            continue
        if len(text.title) > TITLE_MAX:
            errors.append(
                FieldError(
                    title_field(language),
                    _("Use at most %(n)d characters.") % {"n": TITLE_MAX},
                    "too_long",
                )
            )
        if len(text.description) > DESCRIPTION_MAX:
            errors.append(
                FieldError(
                    description_field(language),
                    _("Use at most %(n)d characters.") % {"n": DESCRIPTION_MAX},
                    "too_long",
                )
            )
        if text.description and not text.title:
            errors.append(
                FieldError(
                    title_field(language),
                    _("A description needs a title in the same language."),
                    "required",
                )
            )
    if not any(text.title for text in texts.values()):
        errors.append(FieldError(title_field("en"), _("Give the product a title."), "required"))
    return errors


@dataclass(frozen=True)
class SkuState:
    code: str
    is_active: bool
    price: Money | None


@dataclass(frozen=True)
class ProductState:
    """What publishing looks at, independent of how it is stored."""

    titles: Mapping[str, str]
    hs_code: str
    skus: Iterable[SkuState] = field(default_factory=tuple)


def publish_problems(state: ProductState) -> list[FieldError]:
    """Everything that stops a product from going on sale, each naming its field."""
    errors: list[FieldError] = []
    for language in REQUIRED_TO_PUBLISH:
        if not (state.titles.get(language) or "").strip():
            errors.append(
                FieldError(
                    title_field(language),
                    _("A title in %(language)s is needed to publish.")
                    % {"language": LANGUAGE_LABELS[language]},
                    "required_to_publish",
                )
            )
    if not state.hs_code:
        errors.append(FieldError("hs_code", _("An HS code is needed to publish."), "required"))
    else:
        errors.extend(check_hs_code(state.hs_code))
    if not any(sku.is_active and sku.price is not None for sku in state.skus):
        errors.append(
            FieldError(
                "skus", _("At least one active SKU with a price is needed to publish."), "required"
            )
        )
    return errors
