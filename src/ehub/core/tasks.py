"""Background tasks of the kernel: event delivery, and running the queue in-process.

``deliver_event`` is the one task behind ``core.events``. ``run_pending_tasks`` drains the
database queue synchronously, for tests and the demo, using django-tasks-db's own worker
code for each task so behaviour matches ``ehub db_worker``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task, task_backends

from ehub.core import clock
from ehub.core.db import insert_rows
from ehub.core.events import Event

logger = logging.getLogger(__name__)


@task()
def deliver_event(
    event_name: str,
    handler_path: str,
    payload: dict[str, Any],
    event_id: str,
    occurred_at: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Call one subscriber with one event. A failing handler fails only its own task."""
    handler = import_string(handler_path)
    event = Event(
        name=event_name,
        payload=payload,
        id=event_id,
        occurred_at=dt.datetime.fromisoformat(occurred_at) if occurred_at else clock.now(),
        meta=meta or {},
    )
    # One transaction per delivery: a handler that fails half-way leaves nothing behind.
    with transaction.atomic():
        handler(event)


def _is_database_backend(alias: str) -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[alias], DatabaseBackend)


def enqueue_in_transaction(event: Event, handler_path: str) -> None:
    """Queue delivery of ``event`` to ``handler_path`` so it exists only if the caller commits.

    With the database backend the task row is written in the caller's transaction. Other
    backends (immediate, dummy) cannot join it, so they are handed the task on commit.
    """
    args = (event.name, handler_path, event.payload, event.id)
    kwargs = {"occurred_at": event.occurred_at.isoformat(), "meta": event.meta}
    if _is_database_backend(deliver_event.backend):
        deliver_event.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: deliver_event.enqueue(*args, **kwargs))


def enqueue_many_in_transaction(deliveries: Sequence[tuple[Event, str]]) -> None:
    """``enqueue_in_transaction`` for many (event, handler path) pairs.

    With the database backend the task rows are built here and written with one bulk insert
    (COPY on PostgreSQL, one executemany on SQLite) in the caller's transaction: the ORM's
    per-row ``enqueue`` was most of the cost of a clearance batch's events. The rows are what
    ``deliver_event.enqueue`` writes (the ``task_enqueued`` signal is not sent). Other
    backends get each delivery through ``enqueue_in_transaction``.
    """
    if not deliveries:
        return
    if not _is_database_backend(deliver_event.backend):
        for event, handler_path in deliveries:
            enqueue_in_transaction(event, handler_path)
        return
    from django.db import connection
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    adapt = connection.ops.adapt_datetimefield_value
    enqueued_at = adapt(clock.now())
    run_after = adapt(deliver_event.run_after or get_date_max())
    native_uuid = connection.features.has_native_uuid_field
    ready = TaskResultStatus.READY.value
    rows = []
    for event, handler_path in deliveries:
        task_id = uuid.uuid4()
        args_kwargs = {
            "args": [event.name, handler_path, event.payload, event.id],
            "kwargs": {"occurred_at": event.occurred_at.isoformat(), "meta": event.meta},
        }
        rows.append(
            (
                task_id if native_uuid else task_id.hex,
                ready,
                enqueued_at,
                json.dumps(args_kwargs, ensure_ascii=False, separators=(",", ":")),
                deliver_event.priority,
                deliver_event.module_path,
                "[]",
                deliver_event.queue_name,
                deliver_event.backend,
                run_after,
                "",
                "",
            )
        )
    insert_rows(DBTaskResult, _TASK_ROW_FIELDS, rows)


_TASK_ROW_FIELDS = (
    "id",
    "status",
    "enqueued_at",
    "args_kwargs",
    "priority",
    "task_path",
    "worker_ids",
    "queue_name",
    "backend_name",
    "run_after",
    "exception_class_path",
    "traceback",
)


def schedule_once(periodic_task, delay: dt.timedelta) -> bool:
    """Enqueue ``periodic_task`` to run ``delay`` from now unless a run is already waiting.

    django-tasks has no scheduler, so periodic jobs keep themselves alive: each run ends by
    calling this again, and ``ehub worker`` calls it at start-up to (re)start a lost chain.
    Returns True if it enqueued. The row joins the caller's transaction. Other backends than
    the database one are left alone: an immediate backend would run the job inside this call
    and reschedule it forever.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if not _is_database_backend(periodic_task.backend):
        return False
    with transaction.atomic():
        waiting = DBTaskResult.objects.filter(
            task_path=periodic_task.module_path, status=TaskResultStatus.READY
        ).exists()
        if waiting:
            return False
        # The worker compares run_after with the wall clock, not eHub's (freezable) clock: a
        # frozen test clock in the past would otherwise make the chain run back-to-back.
        run_after = dt.datetime.now(dt.UTC) + delay
        periodic_task.using(run_after=run_after).enqueue()
    return True


ORPHAN_SWEEP_INTERVAL = dt.timedelta(seconds=60)


def requeue_orphaned_tasks(lease: dt.timedelta | None = None) -> int:
    """Put back on the queue tasks whose worker died while running them; returns how many.

    django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again,
    so a worker killed mid-task (OOM, deploy, power) would leave that task - and whatever order
    it was moving - stuck for ever. A task still RUNNING ``lease`` after it started is taken
    to be orphaned and made READY again. eHub's tasks are short (seconds) and idempotent (they
    are event deliveries and sweeps keyed by ids), so running one twice is harmless; a task
    that may take longer than the lease must not be written for this queue.
    """
    from django.conf import settings
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if lease is None:
        lease = dt.timedelta(seconds=getattr(settings, "EHUB_TASK_LEASE_SECONDS", 300))
    cutoff = dt.datetime.now(dt.UTC) - lease  # the worker's wall clock, as in schedule_once
    count = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=cutoff
    ).update(status=TaskResultStatus.READY, started_at=None)
    if count:
        logger.warning("requeued %d task(s) orphaned by a stopped worker", count)
    return count


@task()
def sweep_orphaned_tasks(reschedule: bool = True) -> int:
    """Requeue orphaned tasks; then enqueue the next sweep."""
    count = requeue_orphaned_tasks()
    if reschedule:
        schedule_orphan_sweep()
    return count


def schedule_orphan_sweep(delay: dt.timedelta = ORPHAN_SWEEP_INTERVAL) -> bool:
    """Start (once) the periodic orphan sweep; ``ehub worker`` calls this at start-up."""
    return schedule_once(sweep_orphaned_tasks, delay)


class TaskFailed(RuntimeError):
    """Raised by ``run_pending_tasks(raise_errors=True)`` when a task failed."""


def run_pending_tasks(
    max_tasks: int | None = None,
    *,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    raise_errors: bool = False,
) -> int:
    """Run ready tasks from the database queue in this process until it is empty.

    Returns how many ran (failed ones included; their errors are stored on the task result
    as a worker would). Tasks enqueued by the tasks themselves run too, so one call settles
    a chain of events. With ``raise_errors`` a failure raises TaskFailed after the run.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    if not _is_database_backend(backend):
        raise ValueError(f"task backend {backend!r} is not django_tasks_db's DatabaseBackend")
    worker_id = "inprocess-" + get_random_string(16)
    # The worker's own run() loop closes "old" connections between tasks, which inside a
    # test transaction would break it; only its per-task run_task() is reused here.
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend,
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    ran = 0
    failed: list[str] = []
    while max_tasks is None or ran < max_tasks:
        ready = DBTaskResult.objects.ready().filter(backend_name=backend)
        with exclusive_transaction(ready.db):
            db_result = ready.get_locked()
            if db_result is None:
                break
            db_result.claim(worker_id)
        worker.run_task(db_result)  # updates db_result's status in place
        ran += 1
        if db_result.status == TaskResultStatus.FAILED:
            logger.error("task %s (%s) failed", db_result.task_path, db_result.id)
            failed.append(f"{db_result.task_path} ({db_result.id})")
    if raise_errors and failed:
        raise TaskFailed("failed tasks: " + ", ".join(failed))
    return ran
