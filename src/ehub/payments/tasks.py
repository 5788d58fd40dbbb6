"""Background work of payments: the daily payout batch (a self-rescheduling periodic task).

``ehub worker`` starts the chain through ``schedule_payout_sweep`` (listed in
``core.management.commands.worker.PERIODIC_STARTERS``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django_tasks import task

from ehub.core.context import Context
from ehub.core.tasks import schedule_once


def _interval() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "EHUB_PAYOUT_INTERVAL_HOURS", 24)))


@task()
def payout_sweep() -> str:
    from .payouts import run_payout_batch

    try:
        batch = run_payout_batch(Context.system())
        return f"{batch.public_id}: {batch.count} payouts"
    finally:
        schedule_payout_sweep()


def schedule_payout_sweep() -> bool:
    return schedule_once(payout_sweep, _interval())
