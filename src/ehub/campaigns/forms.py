"""Forms of the campaign pages: staff edit campaigns, merchants apply offers.

Dates are typed as local date and time in a named zone (a select beside them), so staff in
Kuala Lumpur can plan a sale for buyers in Shanghai without converting by hand.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from . import domain
from .models import CampaignStatus

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
ZONE_CHOICES = [(zone, zone) for zone in domain.TIMEZONES]


def aware(value: dt.datetime | None, zone: str) -> dt.datetime | None:
    """The wall-clock date-time typed by the user, read in the chosen ``zone``.

    Django's DateTimeField has already attached the *current* time zone to the typed value (with
    USE_TZ), so its wall-clock fields are what was typed: re-label them with ``zone``.
    """
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(zone))


def local_input(value: dt.datetime | None, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


class CampaignForm(forms.Form):
    name_en = forms.CharField(label=_("Name (English)"), max_length=120)
    name_ms = forms.CharField(label=_("Name (Malay)"), max_length=120, required=False)
    name_zh_hans = forms.CharField(label=_("Name (Chinese)"), max_length=120, required=False)
    slug = forms.SlugField(
        label=_("Web address"),
        max_length=80,
        required=False,
        help_text=_("Part of /campaigns/…/; made from the English name when left empty."),
    )
    banner_text_en = forms.CharField(
        label=_("Banner text (English)"), max_length=300, required=False
    )
    banner_text_ms = forms.CharField(label=_("Banner text (Malay)"), max_length=300, required=False)
    banner_text_zh_hans = forms.CharField(
        label=_("Banner text (Chinese)"), max_length=300, required=False
    )
    banner_image_en = forms.ImageField(label=_("Banner image (English)"), required=False)
    banner_image_ms = forms.ImageField(label=_("Banner image (Malay)"), required=False)
    banner_image_zh_hans = forms.ImageField(label=_("Banner image (Chinese)"), required=False)
    target_market = forms.ChoiceField(label=_("Target market"), choices=[("CN", _("China"))])
    timezone = forms.ChoiceField(
        label=_("Time zone of the dates"), choices=ZONE_CHOICES, initial="Asia/Shanghai"
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME_INPUT)
    status = forms.ChoiceField(label=_("Status"), choices=CampaignStatus.choices)
    min_readiness = forms.IntegerField(
        label=_("Minimum export-readiness score"),
        min_value=0,
        max_value=100,
        initial=0,
        required=False,
        help_text=_("Merchants below this score (0–100) cannot apply offers. 0: no minimum."),
    )

    def input_data(self):
        from .services import CampaignInput

        data = self.cleaned_data
        zone = data["timezone"]
        return CampaignInput(
            name_en=data["name_en"],
            name_ms=data["name_ms"],
            name_zh_hans=data["name_zh_hans"],
            slug=data["slug"],
            banner_text_en=data["banner_text_en"],
            banner_text_ms=data["banner_text_ms"],
            banner_text_zh_hans=data["banner_text_zh_hans"],
            target_market=data["target_market"],
            starts_at=aware(data["starts_at"], zone),
            ends_at=aware(data["ends_at"], zone),
            status=data["status"],
            min_readiness=data.get("min_readiness") or 0,
            banner_images={
                "en": data.get("banner_image_en"),
                "ms": data.get("banner_image_ms"),
                "zh-hans": data.get("banner_image_zh_hans"),
            },
        )


class OfferForm(forms.Form):
    sku = forms.ChoiceField(label=_("SKU"))
    hub = forms.ChoiceField(label=_("Hub"), required=False)
    promo_price = forms.CharField(
        label=_("Promo price (MYR)"),
        required=False,
        help_text=_("For example 79.90. Or leave empty and give a percentage off."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    percent_off = forms.CharField(
        label=_("Percentage off"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    allocated_units = forms.IntegerField(
        label=_("Allocated units"),
        min_value=1,
        help_text=_("Set aside from your available stock when the offer is approved."),
    )
    per_buyer_limit = forms.IntegerField(label=_("Limit per buyer"), min_value=1, initial=2)
    timezone = forms.ChoiceField(
        label=_("Time zone of the flash sale"), choices=ZONE_CHOICES, initial="Asia/Shanghai"
    )
    flash_starts_at = forms.DateTimeField(
        label=_("Flash sale starts"),
        required=False,
        widget=DATETIME_INPUT,
        help_text=_("Optional: a flash sale has its own start within the campaign."),
    )
    flash_ends_at = forms.DateTimeField(
        label=_("Flash sale ends"), required=False, widget=DATETIME_INPUT
    )

    def __init__(self, *args, skus=(), hubs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sku"].choices = [(s.code, f"{s.code} · {s.price}") for s in skus]
        self.fields["hub"].choices = [("", _("The hub with most of this SKU"))] + [
            (h.public_id, h.name) for h in hubs
        ]

    def input_data(self):
        from .services import OfferInput

        data = self.cleaned_data
        zone = data["timezone"]
        return OfferInput(
            sku_code=data["sku"],
            hub=data["hub"] or None,
            promo_price=data["promo_price"] or None,
            percent_off=data["percent_off"] or None,
            allocated_units=data["allocated_units"],
            per_buyer_limit=data["per_buyer_limit"],
            flash_starts_at=aware(data["flash_starts_at"], zone),
            flash_ends_at=aware(data["flash_ends_at"], zone),
        )


class RejectForm(forms.Form):
    note = forms.CharField(label=_("Reason"), max_length=300, required=False)
