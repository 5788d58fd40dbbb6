"""Persistence of payments.

eHub's side: ``PaymentIntent`` (one per checkout) with a ``PaymentPart`` per order, the
``WebhookEvent`` log that makes provider callbacks idempotent, ``Refund``, ``Settlement``,
``PayoutBatch`` / ``Payout``, a merchant's ``BankAccount`` and ``CommissionRate`` overrides, and
``ApiIdempotency`` (responses kept per Idempotency-Key).

The sandbox wallet's side (it stands in for the provider, which keeps its own books):
``SandboxCharge``, ``SandboxRefund`` and ``SandboxWebhook`` (its outbox of signed callbacks).

Amounts are integers of minor units; the currency is in a sibling field or implied (parts and
refunds are CNY, settlements and payouts MYR).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ehub.core.fields import EncryptedTextField, mask
from ehub.core.ids import new_public_id
from ehub.core.money import Money

from .domain import IntentStatus


class PaymentIntent(models.Model):
    """What a buyer pays in one checkout: the sum of its parts, in CNY."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_intents"
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=[(s.value, s.value) for s in IntentStatus],
        default=IntentStatus.CREATED,
    )
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3, default="CNY")
    refunded = models.BigIntegerField(default=0)
    provider = models.CharField(max_length=32, default="sandbox")
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    return_url = models.CharField(max_length=500, blank=True)
    description = models.CharField(max_length=200, blank=True)
    provider_txn_id = models.CharField(max_length=64, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # cancelled / failed

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="payments_intent_unique_key"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_intent_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            self.public_id = new_public_id("PAY")
        super().save(*args, **kwargs)

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def checkout_url(self) -> str:
        return f"/pay/{self.public_id}/"


class PartStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    ESCROW = "escrow", _("In escrow")
    SETTLED = "settled", _("Settled")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentPart(models.Model):
    """One order's share of an intent: goods (after discount), freight and tax, in CNY."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="parts")
    reference = models.CharField(max_length=60)  # the order's public id
    merchant_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payment_parts"
    )
    category = models.CharField(max_length=32, blank=True)
    goods = models.BigIntegerField()
    freight = models.BigIntegerField()
    tax = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=PartStatus.choices, default=PartStatus.PENDING)
    # Refunds taken before settlement (they shrink what is posted from escrow) and after it.
    refunded_before = models.BigIntegerField(default=0)
    refunded_tax_before = models.BigIntegerField(default=0)
    refunded_goods_after = models.BigIntegerField(default=0)
    refunded_tax_after = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["merchant_org", "status"])]
        constraints = [
            # An order is paid by one live intent; a cancelled attempt does not block a new one.
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(status="cancelled"),
                name="payments_part_one_live_reference",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def total(self) -> int:
        return self.goods + self.freight + self.tax

    @property
    def refunded_total(self) -> int:
        return (
            self.refunded_before
            + self.refunded_tax_before
            + self.refunded_goods_after
            + self.refunded_tax_after
        )


class WebhookEvent(models.Model):
    """Every provider callback eHub accepted (signature valid), once per provider event id."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=50)
    intent_public_id = models.CharField(max_length=32, blank=True, db_index=True)
    payload = models.JSONField()
    outcome = models.CharField(max_length=32)  # applied | ignored:<why>
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payments_webhook_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class RefundKind(models.TextChoices):
    GOODS = "goods", _("Goods")
    TAX = "tax", _("Tax")


class Refund(models.Model):
    """Money given back to the buyer through the provider, idempotent by ``request_id``."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    part = models.ForeignKey(PaymentPart, on_delete=models.PROTECT, related_name="refunds")
    request_id = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=RefundKind.choices)
    amount = models.BigIntegerField()  # CNY
    reason = models.CharField(max_length=300, blank=True)
    # escrow: taken before settlement (the escrow post shrinks); merchant / customs_tax after.
    source = models.CharField(max_length=16)
    # After settlement: the MYR debited from the merchant at the refund day's rate.
    merchant_amount = models.BigIntegerField(null=True, blank=True)
    rate = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    rate_source = models.CharField(max_length=32, blank=True)
    provider_refund_id = models.CharField(max_length=64, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # the provider's webhook
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_refund_amount_positive"
            )
        ]
        indexes = [models.Index(fields=["part", "created_at"])]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            self.public_id = new_public_id("RFD")
        super().save(*args, **kwargs)

    @property
    def money(self) -> Money:
        return Money(self.amount, "CNY")


class Settlement(models.Model):
    """A part paid out of escrow to its merchant, with the rate and commission used."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    part = models.OneToOneField(PaymentPart, on_delete=models.PROTECT, related_name="settlement")
    merchant_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="settlements"
    )
    posted = models.BigIntegerField()  # CNY posted from escrow
    tax = models.BigIntegerField()  # CNY to customs_tax
    goods = models.BigIntegerField()  # CNY converted for the merchant
    rate = models.DecimalField(max_digits=24, decimal_places=12)  # 1 CNY = rate MYR
    rate_source = models.CharField(max_length=32)
    rate_as_of = models.DateTimeField()
    gross = models.BigIntegerField()  # MYR
    commission_rate = models.DecimalField(max_digits=6, decimal_places=4)
    commission = models.BigIntegerField()  # MYR
    net = models.BigIntegerField()  # MYR
    settled_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant_org", "settled_at"])]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            self.public_id = new_public_id("STL")
        super().save(*args, **kwargs)


class CommissionRate(models.Model):
    """Commission overrides: per merchant, per category, or both (most specific wins)."""

    merchant_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True
    )
    category = models.CharField(max_length=32, blank=True)
    rate = models.DecimalField(max_digits=6, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_org", "category"], name="payments_commission_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lte=1), name="payments_commission_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_org_id or '*'}/{self.category or '*'}: {self.rate}"


class BankAccount(models.Model):
    """Where a merchant's payouts go. The account number is encrypted and shown masked."""

    merchant_org = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="bank_account"
    )
    bank_name = models.CharField(_("bank"), max_length=100)
    holder_name = models.CharField(_("account holder"), max_length=200)
    account_number = EncryptedTextField(_("account number"))
    swift_code = models.CharField(_("SWIFT code"), max_length=11, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.bank_name} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        return mask(self.account_number)


class PayoutBatch(models.Model):
    public_id = models.CharField(max_length=32, unique=True, editable=False)
    run_on = models.DateField(unique=True)  # one batch per (Kuala Lumpur) day
    minimum = models.BigIntegerField()  # MYR
    total = models.BigIntegerField(default=0)
    count = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-run_on"]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            self.public_id = new_public_id("PYB")
        super().save(*args, **kwargs)

    @property
    def total_money(self) -> Money:
        return Money(self.total, "MYR")


class Payout(models.Model):
    public_id = models.CharField(max_length=32, unique=True, editable=False)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    merchant_org = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.BigIntegerField()  # MYR
    bank_name = models.CharField(max_length=100)
    holder_name = models.CharField(max_length=200)
    account_number = EncryptedTextField()  # as paid, even if the merchant changes it later
    transfer_id = models.CharField(max_length=80)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "merchant_org"], name="payments_payout_once_per_batch"
            )
        ]
        indexes = [models.Index(fields=["merchant_org", "created_at"])]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            self.public_id = new_public_id("PYO")
        super().save(*args, **kwargs)

    @property
    def masked_number(self) -> str:
        return mask(self.account_number)

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, "MYR")


class ApiIdempotency(models.Model):
    """The first answer to a POST made with an ``Idempotency-Key``, replayed for retries."""

    org_id = models.BigIntegerField(null=True)
    user_id = models.BigIntegerField(null=True)
    key = models.CharField(max_length=100)
    path = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    status = models.IntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org_id", "user_id", "path", "key"], name="payments_api_idempotency"
            )
        ]

    def __str__(self) -> str:
        return self.key


# -- the sandbox wallet's own books -------------------------------------------------------------


class SandboxCharge(models.Model):
    """The provider's record of a payment for one merchant order (eHub's intent)."""

    txn_id = models.CharField(max_length=64, unique=True)
    merchant_ref = models.CharField(max_length=32, unique=True)  # the intent's public id
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)  # captured | cancelled
    payer_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.txn_id


class SandboxRefund(models.Model):
    charge = models.ForeignKey(SandboxCharge, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=64, unique=True)
    merchant_refund_ref = models.CharField(max_length=100, unique=True)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.refund_id


class SandboxWebhook(models.Model):
    """The provider's outbox: one signed callback to eHub per event, retried until accepted."""

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=50)
    body = models.TextField()  # exactly the bytes that are signed and sent (UTF-8)
    status = models.CharField(max_length=16, default="pending")  # pending | delivered | failed
    attempts = models.IntegerField(default=0)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.event_id
