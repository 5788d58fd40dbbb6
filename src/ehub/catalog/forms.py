"""Forms of the merchant catalog pages. They only shape input: the rules live in
``catalog.domain`` and are applied by ``catalog.services.products``, whose field errors are
shown inline through ``add_service_errors`` (service field names → form field names).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ehub.core.forms import ImageUploadForm

from . import domain
from .models import ProductStatus
from .services.products import MAX_IMAGE_BYTES

LANG_SUFFIX = domain.LANG_SUFFIX
LANG_NAMES = {
    "en": _("English"),
    "ms": _("Malay"),
    "zh-hans": _("Chinese"),
}


def _digits(label, help_text, max_length):
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length + 4,  # room for dots and spaces, removed by the service
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


def _measure(label):
    return forms.IntegerField(label=label, required=False, min_value=1)


class ProductForm(forms.Form):
    """A product's texts (en, ms, zh-Hans), trade data and, when creating, its first SKU."""

    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    description_en = forms.CharField(
        label=_("Description (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    title_ms = forms.CharField(label=_("Title (Malay)"), max_length=200, required=False)
    description_ms = forms.CharField(
        label=_("Description (Malay)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    title_zh_hans = forms.CharField(label=_("Title (Chinese)"), max_length=200, required=False)
    description_zh_hans = forms.CharField(
        label=_("Description (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    brand = forms.CharField(label=_("Brand"), max_length=120, required=False)
    origin_country = forms.CharField(
        label=_("Country of origin"),
        max_length=2,
        initial="MY",
        help_text=_("Two-letter code, e.g. MY."),
    )
    hs_code = _digits(
        _("HS code"), _("6-digit HS 2022 subheading, e.g. 081060. Use the HS finder."), 6
    )
    gcode = _digits(
        _("China tariff line (optional)"),
        _("10 digits starting with the HS code, e.g. 0811909000."),
        10,
    )
    net_weight_g = _measure(_("Net weight (g)"))
    gross_weight_g = _measure(_("Gross weight (g)"))
    length_mm = _measure(_("Length (mm)"))
    width_mm = _measure(_("Width (mm)"))
    height_mm = _measure(_("Height (mm)"))

    FIELD_OF = {
        **{domain.title_field(lang): f"title_{s}" for lang, s in LANG_SUFFIX.items()},
        **{domain.description_field(lang): f"description_{s}" for lang, s in LANG_SUFFIX.items()},
    }

    def texts(self) -> dict[str, domain.Text]:
        data = self.cleaned_data
        return {
            lang: domain.Text(data.get(f"title_{s}", ""), data.get(f"description_{s}", ""))
            for lang, s in LANG_SUFFIX.items()
        }


class NewProductForm(ProductForm):
    """Creating a product can include its first SKU, so it can be published straight away."""

    sku_code = forms.CharField(
        label=_("SKU code"),
        max_length=64,
        required=False,
        help_text=_("Your own code for this variant, unique in your catalog."),
    )
    sku_variant = forms.CharField(
        label=_("Variant"),
        required=False,
        help_text=_("e.g. size=1 kg; pack=2 boxes"),
    )
    sku_barcode = forms.CharField(label=_("Barcode (EAN/UPC)"), max_length=20, required=False)
    sku_price_myr = forms.CharField(
        label=_("Price (MYR)"),
        max_length=20,
        required=False,
        help_text=_("e.g. 12.90"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    FIELD_OF = {
        **ProductForm.FIELD_OF,
        "skus.0.code": "sku_code",
        "skus.0.variant": "sku_variant",
        "skus.0.barcode": "sku_barcode",
        "skus.0.price_myr": "sku_price_myr",
    }

    def has_sku(self) -> bool:
        return any(
            self.cleaned_data.get(name)
            for name in ("sku_code", "sku_variant", "sku_barcode", "sku_price_myr")
        )


class SkuForm(forms.Form):
    code = forms.CharField(label=_("SKU code"), max_length=64)
    variant = forms.CharField(
        label=_("Variant"), required=False, help_text=_("e.g. size=1 kg; flavour=Musang King")
    )
    variant_label_en = forms.CharField(
        label=_("Variant label (English)"), max_length=200, required=False
    )
    variant_label_ms = forms.CharField(
        label=_("Variant label (Malay)"), max_length=200, required=False
    )
    variant_label_zh_hans = forms.CharField(
        label=_("Variant label (Chinese)"), max_length=200, required=False
    )
    barcode = forms.CharField(label=_("Barcode (EAN/UPC)"), max_length=20, required=False)
    price_myr = forms.CharField(
        label=_("Price (MYR)"),
        max_length=20,
        help_text=_("e.g. 12.90"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    net_weight_g = _measure(_("Net weight (g)"))
    gross_weight_g = _measure(_("Gross weight (g)"))
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    FIELD_OF = {"variant_labels": "variant_label_en"}

    def clean_variant(self):
        variant, errors = domain.parse_variant(self.cleaned_data.get("variant", ""))
        if errors:
            raise forms.ValidationError(str(errors[0].message), code=errors[0].code)
        return variant

    def labels(self) -> dict[str, str]:
        return {
            lang: self.cleaned_data.get(f"variant_label_{s}", "")
            for lang, s in LANG_SUFFIX.items()
            if self.cleaned_data.get(f"variant_label_{s}")
        }


class ImageForm(ImageUploadForm):
    max_bytes = MAX_IMAGE_BYTES
    alt_text_help = _("What the picture shows, e.g. “Two frozen Musang King durians”.")


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One row per SKU, in the format of the export (UTF-8)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Search titles"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *ProductStatus.choices],
    )
