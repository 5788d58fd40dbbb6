"""Audit log: who/what/before/after is recorded; entries cannot be changed or deleted."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.models import AppendOnlyViolation, AuditEntry, FxRate
from ehub.core.money import Money, Rounding

T0 = datetime(2025, 9, 9, 1, 2, 3, tzinfo=UTC)


@dataclass
class FakeUser:
    pk: int
    email: str
    is_authenticated: bool = True

    def get_username(self):
        return self.email


@dataclass
class FakeOrg:
    pk: int


@pytest.fixture
def target(db):
    return FxRate.objects.create(
        base="MYR", quote="CNY", rate=Decimal("1.6"), source="test", as_of=T0
    )


@pytest.mark.django_db
def test_record_writes_who_what_before_and_after(target):
    ctx = Context(user=FakeUser(7, "ops@ehub.test"), org=FakeOrg(3), via="api", request_id="req-1")
    with clock.frozen(T0):
        entry = audit.record(
            ctx,
            "fx.rate_corrected",
            target,
            before={"rate": Decimal("1.5")},
            after=audit.snapshot(target, ["rate", "as_of", "base"]),
        )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.actor_label, entry.org_id) == (7, "ops@ehub.test", 3)
    assert (entry.action, entry.object_type, entry.object_id) == (
        "fx.rate_corrected",
        "core.fxrate",
        str(target.pk),
    )
    assert entry.before == {"rate": "1.5"}
    assert entry.after == {"rate": "1.6", "as_of": T0.isoformat(), "base": "MYR"}
    assert entry.at == T0
    assert (entry.via, entry.request_id) == ("api", "req-1")
    assert list(audit.history(target)) == [entry]


@pytest.mark.django_db
def test_record_for_the_system_and_without_object():
    entry = audit.record(Context.system(via="cli"), "fx.seeded")
    assert (entry.actor_id, entry.actor_label, entry.org_id) == (None, "system", None)
    assert (entry.object_type, entry.object_id, entry.via) == ("", "", "cli")
    assert entry.before is None and entry.after is None


@pytest.mark.django_db
def test_record_validates_its_input(target):
    with pytest.raises(ValueError):
        audit.record(Context.system(), "Approved", target)
    with pytest.raises(TypeError):
        audit.record(None, "org.approved", target)
    with pytest.raises(ValueError):
        audit.record(Context.system(), "org.approved", FxRate(base="MYR", quote="CNY"))
    with pytest.raises(TypeError):
        audit.record(Context.system(), "org.approved", after={"x": object()})
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_entries_cannot_be_updated_or_deleted(target):
    entry = audit.record(Context.system(), "fx.seeded", target, after={"n": 1})
    entry.action = "fx.tampered"
    with pytest.raises(AppendOnlyViolation):
        entry.save()
    with pytest.raises(AppendOnlyViolation):
        entry.delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEntry.objects.filter(pk=entry.pk).update(action="fx.tampered")
    with pytest.raises(AppendOnlyViolation):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "fx.seeded"


def test_snapshot_is_json_safe():
    class Thing:
        price = Money(1234, "MYR")
        rate = Decimal("1.50")
        when = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
        day = date(2025, 1, 2)
        rounding = Rounding.HALF_UP
        tags = ("a", "b")
        nothing = None
        nested = {"qty": 2, "unit": Money(5, "CNY")}

    snap = audit.snapshot(
        Thing(), ["price", "rate", "when", "day", "rounding", "tags", "nothing", "nested"]
    )
    assert snap == {
        "price": {"amount": 1234, "currency": "MYR"},
        "rate": "1.50",
        "when": "2025-01-02T03:04:00+00:00",
        "day": "2025-01-02",
        "rounding": "ROUND_HALF_UP",
        "tags": ["a", "b"],
        "nothing": None,
        "nested": {"qty": 2, "unit": {"amount": 5, "currency": "CNY"}},
    }
    assert audit.snapshot(None, ["x"]) == {}


@pytest.mark.django_db
def test_record_many_writes_what_record_writes_for_each(target):
    other = FxRate.objects.create(
        base="MYR", quote="HKD", rate=Decimal("1.7"), source="test", as_of=T0
    )
    ctx = Context(user=FakeUser(7, "ops@ehub.test"), org=FakeOrg(3), via="api", request_id="r-2")
    fields = ("actor_id", "actor_label", "org_id", "action", "object_type", "object_id")
    fields += ("before", "after", "via", "request_id", "at")
    with clock.frozen(T0):
        for rate in (target, other):
            audit.record(ctx, "fx.rate_checked", rate, after={"quote": rate.quote})
        audit.record_many(ctx, "fx.rate_checked", [target, other], lambda r: {"quote": r.quote})
    rows = list(AuditEntry.objects.order_by("pk").values_list(*fields))
    assert rows[2:] == rows[:2] and rows[0][5] == str(target.pk)
    with pytest.raises(ValueError):
        audit.record_many(ctx, "Not An Action", [target])
    with pytest.raises(ValueError):  # an unsaved object has no id to name
        audit.record_many(ctx, "fx.rate_checked", [FxRate(base="MYR", quote="SGD")])
    assert AuditEntry.objects.count() == 4
