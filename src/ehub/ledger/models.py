"""Ledger persistence: accounts with their balances, immutable transfers, pending resolutions.

The rules live in ``domain``; the database holds what it can enforce on its own too: balances
are never negative, an account's flags hold (``debits_must_not_exceed_credits`` as a CHECK on
the balance columns), a transfer's amount is positive and its accounts differ, a client id is
used once, and a pending transfer is resolved at most once (the resolution's primary key is
the pending transfer's id).

Transfers are never changed or deleted: there is no update path (``save`` of an existing row
and the queryset's ``update``/``delete`` refuse). Whether a pending transfer was posted, voided
or expired is a separate row (:class:`PendingResolution`), so the original keeps its fields.
Foreign keys between transfers use the client id (``to_field``), so a batch can be written
with one COPY without waiting for generated primary keys.

A transfer's two account columns carry no database FOREIGN KEY constraint (``db_constraint=
False``), as TigerBeetle has none: the ledger writes a transfer only for account rows it holds
locked, accounts are never deleted (``PROTECT`` in the ORM), and ``verify()`` reports any
transfer whose account is missing. The per-row constraint triggers cost about a third of a
PostgreSQL batch's time (measured with ``bench/ledger``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.core.errors import Conflict

from .domain import (
    ACCOUNT_FLAGS_ALL,
    AccountFlags,
    PendingStatus,
    TransferFlags,
)


class ImmutableTransfer(Conflict):
    code = "ledger_transfer_immutable"
    title = _("Ledger transfers cannot be changed or deleted.")


class Account(models.Model):
    code = models.CharField(
        _("code"), max_length=120, unique=True, help_text=_('e.g. "escrow:CNY"')
    )
    currency = models.CharField(_("currency"), max_length=3)
    flags = models.PositiveSmallIntegerField(_("flags"), default=0)
    name = models.CharField(_("name"), max_length=200, blank=True)
    org = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    debits_pending = models.BigIntegerField(_("debits pending"), default=0)
    debits_posted = models.BigIntegerField(_("debits posted"), default=0)
    credits_pending = models.BigIntegerField(_("credits pending"), default=0)
    credits_posted = models.BigIntegerField(_("credits posted"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0)
                & Q(debits_posted__gte=0)
                & Q(credits_pending__gte=0)
                & Q(credits_posted__gte=0),
                name="ledger_account_balances_not_negative",
            ),
            # The two flags exclude each other; unknown bits are refused.
            models.CheckConstraint(
                condition=Q(flags__in=[0, 1, 2]), name="ledger_account_flags_known"
            ),
            models.CheckConstraint(
                condition=~Q(flags=int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS))
                | Q(credits_posted__gte=F("debits_pending") + F("debits_posted")),
                name="ledger_account_debits_within_credits",
            ),
            models.CheckConstraint(
                condition=~Q(flags=int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS))
                | Q(debits_posted__gte=F("credits_pending") + F("credits_posted")),
                name="ledger_account_credits_within_debits",
            ),
        ]
        indexes = [models.Index(fields=["org"], name="ledger_account_org")]

    def __str__(self) -> str:
        return self.code

    @property
    def account_flags(self) -> AccountFlags:
        return AccountFlags(self.flags & ACCOUNT_FLAGS_ALL)


class TransferQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableTransfer()

    def delete(self):
        raise ImmutableTransfer()


class Transfer(models.Model):
    client_id = models.CharField(_("transfer id"), max_length=80, unique=True)
    debit_account = models.ForeignKey(
        Account,
        verbose_name=_("debit account"),
        on_delete=models.PROTECT,
        related_name="debit_transfers",
        db_index=False,  # covered by ledger_transfer_debit (account, id)
        db_constraint=False,  # see the module docstring
    )
    credit_account = models.ForeignKey(
        Account,
        verbose_name=_("credit account"),
        on_delete=models.PROTECT,
        related_name="credit_transfers",
        db_index=False,  # covered by ledger_transfer_credit (account, id)
        db_constraint=False,  # see the module docstring
    )
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    flags = models.PositiveSmallIntegerField(_("flags"), default=0)
    pending = models.ForeignKey(
        "self",
        verbose_name=_("pending transfer"),
        to_field="client_id",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolving_transfers",
        db_index=False,  # resolutions are found through PendingResolution, keyed by pending id
    )
    timeout = models.PositiveIntegerField(_("timeout (seconds)"), default=0)
    timeout_at = models.DateTimeField(_("times out at"), null=True, blank=True)
    code = models.CharField(_("code"), max_length=64, blank=True)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now, editable=False)

    objects = TransferQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="ledger_transfer_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="ledger_transfer_accounts_differ",
            ),
            models.CheckConstraint(
                condition=Q(flags__gte=0) & Q(flags__lte=15), name="ledger_transfer_flags_known"
            ),
        ]
        indexes = [
            models.Index(fields=["debit_account", "id"], name="ledger_transfer_debit"),
            models.Index(fields=["credit_account", "id"], name="ledger_transfer_credit"),
            models.Index(
                fields=["reference"],
                name="ledger_transfer_reference",
                condition=~Q(reference=""),
            ),
            models.Index(
                fields=["timeout_at"],
                name="ledger_transfer_timeout",
                condition=Q(timeout_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.client_id

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableTransfer()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableTransfer()

    @property
    def transfer_flags(self) -> TransferFlags:
        return TransferFlags(self.flags)

    @property
    def is_pending(self) -> bool:
        return bool(self.flags & TransferFlags.PENDING)


class PendingResolution(models.Model):
    """How a pending transfer ended. Its primary key is the pending transfer: at most once."""

    pending = models.OneToOneField(
        Transfer,
        verbose_name=_("pending transfer"),
        to_field="client_id",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="resolution",
    )
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=[(s.value, s.value) for s in PendingStatus if s != PendingStatus.PENDING],
    )
    resolved_by = models.OneToOneField(
        Transfer,
        verbose_name=_("resolved by"),
        to_field="client_id",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved",
    )
    amount = models.BigIntegerField(_("posted amount"), default=0)
    resolved_at = models.DateTimeField(_("resolved at"), default=clock.now)

    class Meta:
        verbose_name = _("pending resolution")
        verbose_name_plural = _("pending resolutions")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["posted", "voided", "expired"]),
                name="ledger_resolution_status",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="ledger_resolution_amount"),
            # posted/voided name the transfer that did it; expiry is the ledger's own act
            models.CheckConstraint(
                condition=Q(status="expired", resolved_by__isnull=True)
                | (~Q(status="expired") & Q(resolved_by__isnull=False)),
                name="ledger_resolution_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pending_id}: {self.status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableTransfer()
        super().save(*args, **kwargs)
