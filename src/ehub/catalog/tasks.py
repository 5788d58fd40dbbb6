"""Background tasks of the catalog: the periodic sweep that expires stock reservations.

django-tasks has no scheduler (no cron, no beat), so the sweep keeps itself alive: each run
expires what is due and then enqueues the next run with ``run_after = now + interval``. The
chain is started by :func:`schedule_expiry_sweep`, which is safe to call any number of times:
it enqueues only when no sweep is already waiting. ``inventory.reserve`` calls it whenever a
hold with an expiry is taken, so a fresh deployment starts the chain on its first such hold, and
a chain lost with a crashed worker restarts the same way (the worker or ``ehub demo`` may also
call it at start-up).

Two chains can exist only if two sweeps finish at the same instant on two workers; that costs
an extra sweep per interval, never a wrong count, because expiring is idempotent and takes a
row lock per reservation.
"""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from ehub.core.tasks import schedule_once

from .services import inventory

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_INTERVAL = dt.timedelta(seconds=60)


@task()
def sweep_expired_reservations(reschedule: bool = True) -> int:
    """Expire due reservations; then enqueue the next sweep (unless ``reschedule`` is False)."""
    expired = inventory.expire_reservations()
    if expired:
        logger.info("expired %d stock reservations", expired)
    if reschedule:
        schedule_expiry_sweep()
    return expired


def schedule_expiry_sweep(delay: dt.timedelta = EXPIRY_SWEEP_INTERVAL) -> bool:
    """Enqueue a sweep ``delay`` from now unless one is already waiting; True if enqueued.

    The enqueued row joins the caller's transaction (database backend), so a rolled-back hold
    schedules nothing.
    """
    return schedule_once(sweep_expired_reservations, delay)
