"""Persistence of the customs engine: buyers' annual CBEC quotas and their reservations.

A buyer is known only by the keyed hash (``core.fields.blind_index``) of their ID number: the
quota needs equality, never the number itself. One ``BuyerQuota`` row per buyer per calendar
year (Beijing time) holds ``used`` (released orders) and ``reserved`` (orders between checkout
and release) in fen. Check constraints keep both non-negative; the annual limit itself is data
(``customs/data/cbec_limits.csv``), enforced by the conditional update in ``services``.

Each checkout's hold is a ``QuotaReservation`` keyed by the caller's idempotency key, moving
reserved → confirmed (released by customs) → restored (returned within 30 days), or
reserved → released (cancelled or rejected).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ehub.core.fields import EncryptedTextField


class BuyerQuota(models.Model):
    id_index = models.CharField(max_length=64)  # blind index of the buyer's ID number
    year = models.PositiveSmallIntegerField()
    used = models.BigIntegerField(default=0)  # fen
    reserved = models.BigIntegerField(default=0)  # fen
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("buyer quota")
        verbose_name_plural = _("buyer quotas")
        constraints = [
            models.UniqueConstraint(fields=["id_index", "year"], name="buyer_quota_unique_year"),
            models.CheckConstraint(condition=Q(used__gte=0), name="buyer_quota_used_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="buyer_quota_reserved_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id_index[:8]}…/{self.year}"


class QuotaStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    CONFIRMED = "confirmed", _("Confirmed")
    RELEASED = "released", _("Released")
    RESTORED = "restored", _("Restored")


class QuotaReservation(models.Model):
    key = models.CharField(max_length=100, unique=True)
    quota = models.ForeignKey(BuyerQuota, on_delete=models.PROTECT, related_name="reservations")
    amount = models.BigIntegerField()  # fen
    status = models.CharField(
        max_length=16, choices=QuotaStatus.choices, default=QuotaStatus.RESERVED
    )
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("quota reservation")
        verbose_name_plural = _("quota reservations")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="quota_reservation_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return self.key


# -- declarations ------------------------------------------------------------------------------
# One Declaration per cross-border order and filing organization. Its documents keep the XML as
# filed (encrypted: it names the buyer and their ID number) plus a masked copy of the parsed
# fields for display; its receipts are every answer customs sent, kept even when they did not
# move the status (duplicates by guid are dropped, late ones are kept but ignored).


class Enterprise(models.Model):
    """An enterprise registered with customs (platform, seller, payer, carrier, agent)."""

    code = models.CharField(_("customs code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("registered enterprise")
        verbose_name_plural = _("registered enterprises")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Lane(models.TextChoices):
    GREEN = "green", _("Green")
    AMBER = "amber", _("Amber")
    RED = "red", _("Red")


class Declaration(models.Model):
    public_id = models.CharField(max_length=32, unique=True)
    cop_no = models.CharField(max_length=20, unique=True)  # the list's copNo: links receipts
    # Looked up through the (filing_org, order_no) unique index: no index of its own.
    filing_org = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="customs_declarations",
        db_index=False,
    )
    order_no = models.CharField(max_length=60)
    ebp_code = models.CharField(max_length=18, blank=True)
    ebc_code = models.CharField(max_length=18, blank=True)
    logistics_no = models.CharField(max_length=60, blank=True)
    pay_transaction_id = models.CharField(max_length=60, blank=True)
    buyer_name = models.CharField(max_length=60, blank=True)
    buyer_id_masked = models.CharField(max_length=60, blank=True)
    buyer_id_index = models.CharField(max_length=64, blank=True, db_index=True)
    consignee = models.CharField(max_length=60, blank=True)
    address_index = models.CharField(max_length=64, blank=True, db_index=True)
    # "" while documents are being collected; then the latest returnStatus (codes.RETURN_STATUSES).
    status = models.CharField(max_length=4, blank=True, default="")
    lane = models.CharField(max_length=8, choices=Lane.choices, blank=True)
    risk_score = models.IntegerField(default=0)
    risk_reasons = models.JSONField(default=list, blank=True)
    mismatches = models.JSONField(default=list, blank=True)
    regime = models.CharField(max_length=16, blank=True)
    tax = models.JSONField(default=dict, blank=True)  # breakdown, amounts in fen
    dutiable = models.BigIntegerField(default=0)  # fen
    tax_total = models.BigIntegerField(default=0)  # fen
    quota_key = models.CharField(max_length=100, blank=True)
    invt_no = models.CharField(max_length=18, blank=True)
    return_info = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField()
    declared_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customs declaration")
        verbose_name_plural = _("customs declarations")
        constraints = [
            models.UniqueConstraint(
                fields=["filing_org", "order_no"], name="declaration_unique_order_per_filer"
            )
        ]
        indexes = [
            models.Index(fields=["lane", "status"], name="declaration_lane_status"),
            models.Index(fields=["status", "declared_at"], name="declaration_status_time"),
        ]

    def __str__(self) -> str:
        return self.public_id


class DocumentKind(models.TextChoices):
    ORDER = "CEB311", _("Order")
    PAYMENT = "CEB411", _("Payment")
    WAYBILL = "CEB511", _("Waybill")
    INVENTORY = "CEB621", _("Inventory list")


class CustomsDocument(models.Model):
    # Looked up through the (declaration, kind) unique index: no index of its own.
    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="documents", db_index=False
    )
    kind = models.CharField(max_length=6, choices=DocumentKind.choices)
    guid = models.CharField(max_length=36)
    xml = EncryptedTextField()  # the message as filed
    fields = models.JSONField(default=dict)  # the record's fields, personal ID numbers masked
    filed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("customs document")
        verbose_name_plural = _("customs documents")
        constraints = [
            models.UniqueConstraint(fields=["declaration", "kind"], name="customs_document_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.guid}"


class Receipt(models.Model):
    # Looked up through the (declaration, guid) unique index: no index of its own.
    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="receipts", db_index=False
    )
    kind = models.CharField(max_length=6)  # CEB622, CEB312...
    guid = models.CharField(max_length=36)
    return_status = models.CharField(max_length=4)
    return_time = models.CharField(max_length=17)
    return_info = models.CharField(max_length=1000, blank=True)
    xml = models.TextField()
    received_at = models.DateTimeField()
    moved = models.BooleanField(default=False)  # whether it advanced the declaration's status

    class Meta:
        verbose_name = _("customs receipt")
        verbose_name_plural = _("customs receipts")
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "guid"], name="receipt_unique_guid")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.return_status}"


# -- Malaysian export declarations (K2-like) ---------------------------------------------------
# One per consignment leaving Malaysia, owned by the exporting merchant. Amounts in sen (MYR),
# weights in kg. The rules live in ``customs.domain.export``; ``customs.export`` is the service.


class ExportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RELEASED = "released", pgettext_lazy("by customs", "Released")
    REFUSED = "refused", _("Refused")


class ExportDeclaration(models.Model):
    public_id = models.CharField(max_length=32, unique=True)
    exporter_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="export_declarations"
    )
    exporter_ssm = models.CharField(_("SSM number"), max_length=12)
    exporter_name = models.CharField(_("exporter name"), max_length=200)
    exporter_address = models.CharField(_("exporter address"), max_length=400)
    consignee_name = models.CharField(_("consignee name"), max_length=200)
    consignee_address = models.CharField(_("consignee address"), max_length=400)
    consignee_country = models.CharField(_("consignee country"), max_length=2)
    declarant = models.CharField(_("declarant"), max_length=200)
    transport_mode = models.CharField(_("transport mode"), max_length=1)
    port_of_loading = models.CharField(_("port of loading"), max_length=3)
    destination_country = models.CharField(_("destination country"), max_length=2)
    destination_port = models.CharField(_("destination port"), max_length=3)
    departure_date = models.DateField(_("departure date"))
    transport_reference = models.CharField(_("airway bill / consignment no."), max_length=40)
    fob_total = models.BigIntegerField(default=0)  # sen
    duty_total = models.BigIntegerField(default=0)  # sen
    net_kg = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    gross_kg = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.DRAFT
    )
    customs_reference = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=1000, blank=True)  # why customs refused it
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export declaration")
        verbose_name_plural = _("export declarations")
        indexes = [
            models.Index(fields=["exporter_org", "status"], name="export_decl_org_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(fob_total__gte=0), name="export_decl_fob_nonneg"),
            models.CheckConstraint(condition=Q(duty_total__gte=0), name="export_decl_duty_nonneg"),
        ]

    def __str__(self) -> str:
        return self.public_id


class ExportDeclarationLine(models.Model):
    declaration = models.ForeignKey(
        ExportDeclaration, on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveSmallIntegerField()
    hs_code = models.CharField(_("HS code"), max_length=6)
    tariff_code = models.CharField(_("tariff code"), max_length=10, blank=True)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10)
    fob = models.BigIntegerField(_("FOB value"))  # sen
    net_kg = models.DecimalField(_("net weight (kg)"), max_digits=14, decimal_places=3)
    gross_kg = models.DecimalField(_("gross weight (kg)"), max_digits=14, decimal_places=3)
    origin = models.CharField(_("country of origin"), max_length=2, default="MY")
    duty_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    duty = models.BigIntegerField(default=0)  # sen

    class Meta:
        verbose_name = _("export declaration line")
        verbose_name_plural = _("export declaration lines")
        ordering = ["line_no"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "line_no"], name="export_line_no"),
            models.CheckConstraint(condition=Q(fob__gt=0), name="export_line_fob_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}/{self.line_no}"


# -- Webhooks: receipts pushed to the filing organization ---------------------------------------
# An endpoint belongs to one organization; each new receipt of that organization's declarations
# becomes one delivery per active endpoint, retried with backoff (``customs.webhooks``).


class WebhookEndpoint(models.Model):
    org = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="customs_webhooks"
    )
    url = models.URLField(max_length=500)
    secret = EncryptedTextField()  # HMAC key for signatures; shown once, at creation
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=36, unique=True)  # the same on every retry
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "receipt"], name="webhook_delivery_once_per_endpoint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.status}"
