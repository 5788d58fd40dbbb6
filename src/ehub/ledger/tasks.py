"""Background tasks of the ledger: the periodic sweep that expires timed-out pending transfers.

Like the catalog's reservation sweep, the chain keeps itself alive (django-tasks has no
scheduler): each run expires what is due and enqueues the next. ``create_transfers`` calls
:func:`schedule_expiry_sweep` whenever it creates a pending transfer with a timeout, and
``ehub worker`` calls it at start-up, so a lost chain restarts. Expiring is idempotent and
takes the account locks, so two chains cost an extra sweep, never a wrong balance.
"""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from ehub.core.tasks import schedule_once

from . import services

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_INTERVAL = dt.timedelta(seconds=60)


@task()
def sweep_expired_transfers(reschedule: bool = True) -> int:
    """Expire due pending transfers, then enqueue the next sweep (unless not ``reschedule``)."""
    expired = services.expire_pending()
    if expired:
        logger.info("expired %d pending ledger transfers", expired)
    if reschedule:
        schedule_expiry_sweep()
    return expired


def schedule_expiry_sweep(delay: dt.timedelta = EXPIRY_SWEEP_INTERVAL) -> bool:
    """Enqueue a sweep ``delay`` from now unless one is already waiting; True if enqueued."""
    return schedule_once(sweep_expired_transfers, delay)
