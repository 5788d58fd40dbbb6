"""Persistence of orders: carts, checkout quotes, checkouts, orders, their lines and timeline.

Personal data (the buyer's ID number, phone, name and street) is stored encrypted
(``EncryptedTextField``); the ID number also as a keyed hash (``id_index``) so the buyer's
orders and quota can be found without decrypting. Amounts are integers in minor units with
the currency in the field name (``_cny`` fen, ``_myr`` sen).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.core.fields import EncryptedTextField, mask

from .domain import CANCELLABLE, CONFIRMABLE, RETURNABLE, STATUS_LABELS, OrderStatus

STATUS_CHOICES = [(s.value, STATUS_LABELS[s]) for s in OrderStatus]


class Cart(models.Model):
    """A buyer's cart: a signed-in user's (one open cart each) or an anonymous session's."""

    public_id = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
    )
    session_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="orders_cart_one_per_user"
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    # A campaign offer bought at its promo price (claimed through the flash-sale gate).
    offer = models.ForeignKey(
        "campaigns.Offer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    qty = models.PositiveIntegerField()
    added_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "sku"], condition=Q(offer__isnull=True), name="orders_line_sku"
            ),
            models.UniqueConstraint(
                fields=["cart", "offer"],
                condition=Q(offer__isnull=False),
                name="orders_line_offer",
            ),
            models.CheckConstraint(condition=Q(qty__gt=0), name="orders_line_qty_positive"),
        ]
        ordering = ["added_at", "pk"]

    def __str__(self) -> str:
        return f"{self.qty} × {self.sku_id}"


class Quote(models.Model):
    """What checkout showed: per-merchant goods, freight and tax in CNY at a locked FX rate.

    Valid until ``expires_at`` (15 minutes); placing an order with an expired quote is refused
    so the buyer never pays a rate they were not shown.
    """

    public_id = models.CharField(max_length=32, unique=True)
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="quotes")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    rate = models.DecimalField(max_digits=24, decimal_places=12)  # 1 MYR = rate CNY
    rate_source = models.CharField(max_length=32, blank=True)
    rate_as_of = models.DateTimeField(null=True, blank=True)
    id_index = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)  # groups, amounts in fen; see services.checkout
    total_cny = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.public_id


class Checkout(models.Model):
    """One placement: the orders it made (one per merchant) and the one payment intent."""

    public_id = models.CharField(max_length=32, unique=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100, blank=True, default="")
    request_hash = models.CharField(max_length=64, blank=True, default="")
    intent_public_id = models.CharField(max_length=40, blank=True, default="")
    checkout_url = models.CharField(max_length=300, blank=True, default="")
    total_cny = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="orders_checkout_idempotency",
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class Order(models.Model):
    """One merchant's part of a checkout: one parcel, one customs declaration (orderNo =
    ``public_id``), one part of the payment."""

    public_id = models.CharField(max_length=32, unique=True)
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    hub = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=20, choices=STATUS_CHOICES, default=OrderStatus.PLACED
    )
    language = models.CharField(max_length=10, default="zh-hans")
    # Money, CNY fen at the locked rate; the MYR goods value kept for settlement reports.
    rate = models.DecimalField(max_digits=24, decimal_places=12)
    goods_myr = models.BigIntegerField(default=0)
    goods_cny = models.BigIntegerField(default=0)
    freight_cny = models.BigIntegerField(default=0)
    duty_cny = models.BigIntegerField(default=0)
    consumption_tax_cny = models.BigIntegerField(default=0)
    vat_cny = models.BigIntegerField(default=0)
    tax_cny = models.BigIntegerField(default=0)
    total_cny = models.BigIntegerField(default=0)
    regime = models.CharField(max_length=16, blank=True)
    quota_cny = models.BigIntegerField(default=0)  # what counts toward the annual quota
    weight_g = models.PositiveIntegerField(default=0)
    # The declared buyer (= payer = consignee) and address.
    buyer_name = EncryptedTextField(_("real name"))
    id_number = EncryptedTextField(_("ID number"))
    id_index = models.CharField(max_length=64, db_index=True)
    phone = EncryptedTextField(_("phone"))
    province = models.CharField(_("province"), max_length=30)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30)
    street = EncryptedTextField(_("street"))
    postcode = models.CharField(max_length=6, blank=True)
    # Payment and logistics facts as the engines reported them.
    intent_public_id = models.CharField(max_length=40, blank=True)
    pay_transaction_id = models.CharField(max_length=60, blank=True)
    waybill_no = models.CharField(max_length=60, blank=True)
    documents_filed = models.JSONField(default=list, blank=True)  # ["CEB311", "CEB411", ...]
    # When things happened (None until they do).
    placed_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)  # customs release (return window)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-pk"]
        indexes = [
            models.Index(fields=["buyer", "-placed_at"], name="orders_buyer_recent"),
            models.Index(fields=["merchant", "status"], name="orders_merchant_status"),
            models.Index(fields=["status", "expires_at"], name="orders_status_expiry"),
            models.Index(fields=["status", "delivered_at"], name="orders_status_delivered"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[OrderStatus(self.status)])

    @property
    def quota_key(self) -> str:
        return f"quota:{self.public_id}"

    @property
    def stock_key(self) -> str:
        return f"order:{self.public_id}"

    # What the buyer may do now (the lifecycle services enforce the same sets).
    @property
    def pay_url(self) -> str:
        """Where the buyer pays, while the order awaits payment (reads the checkout)."""
        return self.checkout.checkout_url if self.status == OrderStatus.PLACED else ""

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE

    @property
    def can_confirm(self) -> bool:
        return self.status in CONFIRMABLE

    @property
    def can_request_return(self) -> bool:
        return self.status in RETURNABLE

    # Masked views for every page and API response (customs documents get the full values).
    @property
    def id_masked(self) -> str:
        number = self.id_number or ""
        return number[:2] + mask(number[2:], 2) if len(number) > 4 else mask(number)

    @property
    def phone_masked(self) -> str:
        return mask(self.phone, 4)

    @property
    def name_masked(self) -> str:
        name = self.buyer_name or ""
        return name[:1] + "*" * max(len(name) - 1, 1) if name else ""

    @property
    def address_masked(self) -> str:
        return f"{self.province} {self.city} {self.district} {mask(self.street, 0, '*')[:6]}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    gnum = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(
        "campaigns.Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sku_code = models.CharField(max_length=64)
    name = models.CharField(max_length=250)
    gcode = models.CharField(max_length=10, blank=True)
    qty = models.PositiveIntegerField()
    unit_price_myr = models.BigIntegerField()
    unit_price_cny = models.BigIntegerField()
    total_cny = models.BigIntegerField()
    weight_g = models.PositiveIntegerField(default=0)
    # Where the units are held: a stock reservation ("order:…") or the offer's allocation.
    reservation_key = models.CharField(max_length=100)
    claim_key = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["order", "gnum"]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.gnum}"


class OrderEvent(models.Model):
    """One step of an order's timeline: what changed, who did it, when and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)  # "status", "document", "refund", "email", "note"
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The engine event (or request) that caused it: a replay finds it and does nothing.
    source = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "source"], condition=~Q(source=""), name="orders_event_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.to_status}"
