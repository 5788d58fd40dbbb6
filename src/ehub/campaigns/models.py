"""Persistence of campaigns: campaigns, merchants' participation, offers and the flash-sale gate.

The gate's tables are built for the hot path (see ``services.gate``):

* ``OfferBucket`` splits an offer's allocated units into K rows, so concurrent claims lock
  different rows instead of queueing on one counter; ``remaining >= 0`` is a check
  constraint, so even a bug cannot take a bucket below zero;
* ``BuyerAllowance`` holds how many units one buyer claimed on one offer (unique per pair),
  raised with one conditional upsert that refuses to pass the per-buyer limit;
* ``Claim`` is a buyer's hold on units, unique by the caller's idempotency key.

Sums, not single rows, are the truth: ``sum(remaining) + held claims == allocated`` while an
offer is open.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ehub.core.money import Money

from .domain import localized


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


def banner_path(instance: Campaign, filename: str) -> str:
    return f"campaigns/{instance.slug}/{filename}"


class Campaign(models.Model):
    """A time-boxed promotion such as Malaysia Week, for one target market."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_ms = models.CharField(_("name (Malay)"), max_length=120, blank=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    banner_text_en = models.CharField(_("banner text (English)"), max_length=300, blank=True)
    banner_text_ms = models.CharField(_("banner text (Malay)"), max_length=300, blank=True)
    banner_text_zh_hans = models.CharField(_("banner text (Chinese)"), max_length=300, blank=True)
    banner_image_en = models.ImageField(
        _("banner image (English)"), upload_to=banner_path, blank=True
    )
    banner_image_ms = models.ImageField(
        _("banner image (Malay)"), upload_to=banner_path, blank=True
    )
    banner_image_zh_hans = models.ImageField(
        _("banner image (Chinese)"), upload_to=banner_path, blank=True
    )
    target_market = models.CharField(_("target market"), max_length=2, default="CN")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # Export-readiness score (academy) a merchant needs before it may apply offers; 0 = none.
    min_readiness = models.PositiveSmallIntegerField(
        _("minimum export-readiness score"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("0 to 100; merchants below it cannot apply offers. 0 means no minimum."),
    )
    # Set by the closing task once every offer's unclaimed units went back to stock.
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="campaign_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["status", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return self.name_en

    def save(self, *args, **kwargs):
        if not self.public_id:
            from ehub.core.ids import new_public_id

            self.public_id = new_public_id("CMP")
        super().save(*args, **kwargs)

    def name_in(self, language: str | None) -> str:
        return localized(
            {"en": self.name_en, "ms": self.name_ms, "zh-hans": self.name_zh_hans}, language
        )

    def banner_text_in(self, language: str | None) -> str:
        return localized(
            {
                "en": self.banner_text_en,
                "ms": self.banner_text_ms,
                "zh-hans": self.banner_text_zh_hans,
            },
            language,
        )

    def banner_image_in(self, language: str | None):
        images = {
            "en": self.banner_image_en,
            "ms": self.banner_image_ms,
            "zh-hans": self.banner_image_zh_hans,
        }
        code = (language or "en").lower()
        return images.get(code) or self.banner_image_en or None


class ParticipationStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    APPROVED = "approved", _("Approved")


class Participation(models.Model):
    """A merchant taking part in a campaign: created with its first offer, approved with it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="participations")
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=ParticipationStatus.choices, default=ParticipationStatus.APPLIED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("participating merchant")
        verbose_name_plural = _("participating merchants")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "org"], name="participation_unique_org")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} in {self.campaign_id}"


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ENDED = "ended", _("Ended")


class Offer(models.Model):
    """A merchant's SKU in a campaign at a promo price, with units set aside from its stock."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="offers")
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="offers")
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    # The promo price is resolved when the offer is made (percent_off kept to show "-20 %").
    promo_price_myr = models.BigIntegerField(_("promo price (sen)"))
    regular_price_myr = models.BigIntegerField(_("regular price (sen)"))
    percent_off = models.DecimalField(
        _("percentage off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    allocated_units = models.PositiveIntegerField(_("allocated units"))
    per_buyer_limit = models.PositiveIntegerField(_("limit per buyer"))
    flash_starts_at = models.DateTimeField(_("flash sale starts"), null=True, blank=True)
    flash_ends_at = models.DateTimeField(_("flash sale ends"), null=True, blank=True)
    # Copied from the campaign (or the flash window) so the gate reads no other row.
    sale_starts_at = models.DateTimeField()
    sale_ends_at = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=16, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    bucket_count = models.PositiveSmallIntegerField(default=0)
    returned_units = models.PositiveIntegerField(default=0)
    review_note = models.CharField(_("note"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["sale_starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(promo_price_myr__gt=0), name="offer_price_positive"),
            models.CheckConstraint(
                condition=Q(promo_price_myr__lt=models.F("regular_price_myr")),
                name="offer_price_below_regular",
            ),
            models.CheckConstraint(condition=Q(allocated_units__gt=0), name="offer_units_positive"),
            models.CheckConstraint(
                condition=Q(per_buyer_limit__gt=0)
                & Q(per_buyer_limit__lte=models.F("allocated_units")),
                name="offer_limit_within_allocation",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["org", "campaign"]),
            models.Index(fields=["status", "sale_ends_at"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            from ehub.core.ids import new_public_id

            self.public_id = new_public_id("OFR")
        super().save(*args, **kwargs)

    @property
    def promo_price(self) -> Money:
        return Money(self.promo_price_myr, "MYR")

    @property
    def regular_price(self) -> Money:
        return Money(self.regular_price_myr, "MYR")

    @property
    def is_flash_sale(self) -> bool:
        return self.flash_starts_at is not None

    @property
    def reservation_key(self) -> str:
        return f"offer:{self.public_id}"


class OfferBucket(models.Model):
    """One shard of an offer's allocation: claims decrement ``remaining`` conditionally."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="buckets", db_index=False
    )  # the unique (offer, index) index covers it
    index = models.PositiveSmallIntegerField()
    remaining = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offer", "index"], name="bucket_unique_index"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="bucket_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id}#{self.index}: {self.remaining}"


class BuyerAllowance(models.Model):
    """Units one buyer holds on one offer; raised atomically only while within the limit."""

    # No separate indexes: the unique (offer, buyer) index serves every lookup, and each
    # index less is one write less per claim.
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+", db_index=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    claimed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offer", "buyer"], name="allowance_unique_buyer"),
            models.CheckConstraint(condition=Q(claimed__gte=0), name="allowance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} on {self.offer_id}: {self.claimed}"


class ClaimStatus(models.TextChoices):
    HELD = "held", _("Held")
    RELEASED = "released", _("Released")


class Claim(models.Model):
    """Units of an offer held for a buyer (by checkout), identified by the caller's key."""

    key = models.CharField(max_length=100, unique=True)
    # Indexed by (offer, status) and (buyer, offer) below; plain FK indexes would only add writes.
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, related_name="claims", db_index=False
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    qty = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.HELD)
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        indexes = [
            models.Index(fields=["offer", "status"]),
            models.Index(fields=["buyer", "offer"]),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def unit_price(self) -> Money:
        return self.offer.promo_price
