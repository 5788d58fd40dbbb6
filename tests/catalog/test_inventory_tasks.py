"""The expiry sweep task: it expires what is due and keeps exactly one next run queued."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ehub.catalog import tasks
from ehub.catalog.models import Reservation, ReservationStatus
from ehub.catalog.services import inventory
from ehub.core import clock
from ehub.core.tasks import run_pending_tasks

from .inventory_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db

SWEEP = "ehub.catalog.tasks.sweep_expired_reservations"


def waiting_sweeps():
    return DBTaskResult.objects.filter(task_path=SWEEP, status=TaskResultStatus.READY)


def test_schedule_is_idempotent_and_in_the_future():
    before = dt.datetime.now(dt.UTC)
    assert tasks.schedule_expiry_sweep() is True
    assert tasks.schedule_expiry_sweep() is False
    (queued,) = waiting_sweeps()
    assert queued.run_after >= before + tasks.EXPIRY_SWEEP_INTERVAL
    assert run_pending_tasks() == 0  # not due yet


def test_a_hold_with_expiry_starts_the_chain_once(merchant_ctx, system_ctx, sku, hub):
    inventory.adjust(merchant_ctx, sku, hub, 5)
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=1, key="no-expiry")
    assert not waiting_sweeps().exists()
    soon = clock.now() + dt.timedelta(minutes=15)
    inventory.reserve(system_ctx, sku=sku, hub=hub, qty=1, key="e1", expires_at=soon)
    inventory.reserve_many(system_ctx, [(sku, hub, 1)], "cart", expires_at=soon)
    assert waiting_sweeps().count() == 1


def test_the_sweep_expires_due_holds_and_requeues_itself(merchant_ctx, system_ctx, sku, hub):
    with clock.frozen(dt.datetime(2026, 9, 9, 10, 0, tzinfo=dt.UTC)):
        inventory.adjust(merchant_ctx, sku, hub, 5)
        inventory.reserve(
            system_ctx,
            sku=sku,
            hub=hub,
            qty=2,
            key="k",
            expires_at=clock.now() + dt.timedelta(minutes=1),
        )
        waiting_sweeps().delete()  # start from an empty queue
        clock.advance(dt.timedelta(minutes=2))
        assert tasks.sweep_expired_reservations.call() == 1
        assert Reservation.objects.get(key="k").status == ReservationStatus.EXPIRED
        assert waiting_sweeps().count() == 1  # the next run
        assert tasks.sweep_expired_reservations.call(reschedule=False) == 0
        assert waiting_sweeps().count() == 1
