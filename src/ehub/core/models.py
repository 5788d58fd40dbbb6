"""Kernel persistence: FX rates and the audit log.

Neither table has a foreign key to another eHub app: core sits below accounts, so actors
and organizations are stored as plain ids plus a label that survives their deletion.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from ehub.core import clock
from ehub.core.errors import Conflict


class AppendOnlyViolation(Conflict):
    """Raised on any attempt to change or delete an audit entry."""

    code = "audit_append_only"
    title = _("The audit log is append-only.")


class FxRate(models.Model):
    """``1 base = rate quote`` as published by ``source`` at ``as_of``. Rows are facts: a
    newer rate is a new row, so every past conversion can name the rate it used."""

    base = models.CharField(_("base currency"), max_length=3)
    quote = models.CharField(_("quote currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=12)
    source = models.CharField(_("source"), max_length=32, help_text=_("e.g. ecb"))
    as_of = models.DateTimeField(_("valid from"))
    created_at = models.DateTimeField(_("created at"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("FX rate")
        verbose_name_plural = _("FX rates")
        ordering = ["base", "quote", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "source", "as_of"], name="core_fxrate_unique_observation"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="core_fxrate_positive"),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("quote")), name="core_fxrate_distinct_pair"
            ),
        ]
        # "latest rate for this pair not after T" is the lookup every conversion makes.
        indexes = [models.Index(fields=["base", "quote", "-as_of"], name="core_fxrate_lookup")]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.source}, {self.as_of:%Y-%m-%d})"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: the audit log is only ever appended to."""

    def update(self, **kwargs):
        raise AppendOnlyViolation(_("Audit entries cannot be changed."))

    def delete(self):
        raise AppendOnlyViolation(_("Audit entries cannot be deleted."))

    update.queryset_only = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class AuditEntry(models.Model):
    """Who did what to which object, with the state before and after. Append-only."""

    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    org_id = models.BigIntegerField(_("organization id"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=100)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=clock.now)
    via = models.CharField(_("via"), max_length=16, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="core_audit_object"),
            models.Index(fields=["org_id", "at"], name="core_audit_org_at"),
        ]

    def __str__(self) -> str:
        target = f" {self.object_type}:{self.object_id}" if self.object_type else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}{target}"

    def save(self, *args, **kwargs):
        if not self._state.adding or kwargs.get("force_update"):
            raise AppendOnlyViolation(_("Audit entries cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation(_("Audit entries cannot be deleted."))
