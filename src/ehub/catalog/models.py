"""Persistence of the catalog: products, SKUs, translations, images, tariff lines, inventory.

Products belong to a merchant organization (``org``). SKUs and stock rows carry ``org`` too, so
every query can be scoped to the caller's organization without a join. Prices are integer sen.

Inventory: one ``Stock`` row per (SKU, hub) with ``on_hand`` and ``reserved``; ``available`` is
their difference. Check constraints forbid negative stock and over-reservation, so even a bug
in a service cannot take ``available`` below zero; every change is an append-only
``StockMovement``. A hub is an organization of kind ``hub_operator`` (the eFulfilment hub's
own bins, cut-offs and carriers come with the fulfilment context).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ehub.core.money import Money


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class Product(models.Model):
    org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="products"
    )
    public_id = models.CharField(max_length=32, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.DRAFT
    )
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    origin_country = models.CharField(_("origin country"), max_length=2, default="MY")
    hs_code = models.CharField(
        _("HS code"), max_length=6, blank=True, help_text=_("6-digit HS 2022")
    )
    gcode = models.CharField(
        _("China tariff line"), max_length=10, blank=True, help_text=_("10-digit China HS code")
    )
    # Storefront category, derived from the HS chapter (catalog.domain.categories).
    category = models.CharField(_("category"), max_length=32, blank=True, db_index=True)
    net_weight_g = models.PositiveIntegerField(_("net weight (g)"), null=True, blank=True)
    gross_weight_g = models.PositiveIntegerField(_("gross weight (g)"), null=True, blank=True)
    length_mm = models.PositiveIntegerField(_("length (mm)"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width (mm)"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height (mm)"), null=True, blank=True)
    featured = models.BooleanField(_("featured"), default=False)
    # Normalised text of titles, descriptions, brand and merchant for search (catalog.search).
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["status", "category"]),
            models.Index(fields=["org", "status"]),
            models.Index(fields=["status", "-published_at"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            from ehub.core.ids import new_public_id

            self.public_id = new_public_id("PRD")
        super().save(*args, **kwargs)


class ProductTranslation(models.Model):
    """Title and description in one language (en, ms, zh-hans)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("product translation")
        verbose_name_plural = _("product translations")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "language"], name="product_translation_unique_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.language}"


class Sku(models.Model):
    """A sellable variant of a product (size, flavour, pack) with its own price and barcode."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64)
    # {"size": "1 kg", "flavour": "Musang King"}; labels per language live in variant_labels.
    variant = models.JSONField(_("variant"), default=dict, blank=True)
    variant_labels = models.JSONField(default=dict, blank=True)  # {"en": "...", "zh-hans": "..."}
    barcode = models.CharField(_("barcode"), max_length=14, blank=True)
    price_myr = models.BigIntegerField(_("price (sen)"))
    net_weight_g = models.PositiveIntegerField(_("net weight (g)"), null=True, blank=True)
    gross_weight_g = models.PositiveIntegerField(_("gross weight (g)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="sku_unique_code_per_org"),
            models.CheckConstraint(condition=Q(price_myr__gte=0), name="sku_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def price(self) -> Money:
        return Money(self.price_myr, "MYR")


def product_image_path(instance: ProductImage, filename: str) -> str:
    return f"products/{instance.product.public_id}/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to=product_image_path)
    thumbnail = models.ImageField(upload_to=product_image_path, blank=True)
    alt_text = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position}"


class TariffLine(models.Model):
    """A national tariff line with its rates, valid from a date (eHub's own dated data files).

    China (``CN``): 10-digit code (``gcode``), VAT, consumption tax, general-trade duty, CBEC
    positive-list flag and remark (incl. a quantity limit per person per year where set).
    Malaysia (``MY``): export lines with their export duty (nil for most goods).
    A new row with a later ``valid_from`` supersedes the old one for dates on or after it.
    """

    country = models.CharField(max_length=2)
    code = models.CharField(max_length=12)
    hs6 = models.CharField(max_length=6, db_index=True)
    description = models.CharField(max_length=300)
    description_zh = models.CharField(max_length=300, blank=True)
    unit = models.CharField(
        max_length=3, blank=True, help_text=_("customs unit code, e.g. 035 kg, 007 piece")
    )
    vat_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    consumption_tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    duty_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    export_duty_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    cbec_positive = models.BooleanField(default=False)
    cbec_remark = models.CharField(max_length=300, blank=True)
    qty_limit = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    qty_limit_unit = models.CharField(max_length=8, blank=True)
    valid_from = models.DateField()
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("tariff line")
        verbose_name_plural = _("tariff lines")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "code", "valid_from"], name="tariff_line_unique_version"
            )
        ]
        indexes = [models.Index(fields=["country", "code", "-valid_from"])]

    def __str__(self) -> str:
        return f"{self.country} {self.code} from {self.valid_from}"


# ----------------------------------------------------------------------------------------------
# Inventory
# ----------------------------------------------------------------------------------------------


class Stock(models.Model):
    """Stock of one SKU at one hub. available = on_hand - reserved, never below zero."""

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="stock")
    hub = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="hub_stock"
    )
    org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="merchant_stock"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["sku", "hub"], name="stock_unique_sku_hub"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["org", "hub"])]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.hub_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", pgettext_lazy("stock movement", "Release")
    SHIPMENT = "shipment", _("Shipment")
    ADJUSTMENT = "adjustment", _("Adjustment")
    RETURN = "return", _("Return")


class StockMovement(models.Model):
    """One change to a Stock row. Append-only: never updated or deleted."""

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="movements")
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=MovementReason.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    on_hand_after = models.IntegerField()
    reserved_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True)  # e.g. a reservation or order ref
    note = models.CharField(max_length=300, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["stock", "at"]), models.Index(fields=["org", "at"])]

    def __str__(self) -> str:
        return f"{self.reason} {self.on_hand_delta:+}/{self.reserved_delta:+}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    CONSUMED = "consumed", _("Shipped")
    EXPIRED = "expired", _("Expired")


class Reservation(models.Model):
    """Units held for a purpose (a checkout, a campaign allocation) until released or shipped.

    ``key`` is the caller's idempotency key: reserving twice with the same key holds once.
    ``qty`` is what was asked for and never changes; partial releases and shipments count up
    ``released_qty`` and ``consumed_qty``, so ``held`` is what the hold still covers. The check
    constraint stops a double release from giving back more than was held.
    """

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100, unique=True)
    qty = models.PositiveIntegerField()
    released_qty = models.PositiveIntegerField(default=0)
    consumed_qty = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    purpose = models.CharField(max_length=32, blank=True)  # checkout, campaign_allocation …
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(released_qty__lte=F("qty") - F("consumed_qty")),
                name="reservation_closed_within_qty",
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def held(self) -> int:
        return self.qty - self.released_qty - self.consumed_qty
