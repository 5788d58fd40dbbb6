"""A task left RUNNING by a worker that died is queued again once its lease has passed."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from ehub.core.tasks import requeue_orphaned_tasks, sweep_orphaned_tasks


def _running(started_minutes_ago: int) -> DBTaskResult:
    result = sweep_orphaned_tasks.using(run_after=None).enqueue(reschedule=False)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=started_minutes_ago)
    DBTaskResult.objects.filter(pk=result.id).update(status="RUNNING", started_at=started)
    return DBTaskResult.objects.get(pk=result.id)


@pytest.mark.django_db
def test_a_task_running_past_its_lease_is_requeued_and_a_fresh_one_is_not():
    stale = _running(started_minutes_ago=10)
    fresh = _running(started_minutes_ago=1)
    assert requeue_orphaned_tasks(dt.timedelta(minutes=5)) == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.started_at) == ("READY", None)
    assert fresh.status == "RUNNING"
    assert requeue_orphaned_tasks(dt.timedelta(minutes=5)) == 0  # nothing left to requeue
