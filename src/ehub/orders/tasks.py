"""Background work of orders: customs filing after payment, e-mails, and the periodic sweeps.

Tasks are thin: they call services. The two sweeps keep themselves alive with
``core.tasks.schedule_once`` (django-tasks has no scheduler); ``ehub worker`` starts them
through ``schedule_sweeps`` (listed in core's PERIODIC_STARTERS).
"""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from ehub.core.tasks import schedule_once

from .services import lifecycle

logger = logging.getLogger(__name__)

EXPIRY_INTERVAL = dt.timedelta(seconds=60)
AUTO_CONFIRM_INTERVAL = dt.timedelta(hours=1)


@task()
def after_payment(public_id: str) -> None:
    """File the order and payment documents with customs and ask the hub to ship."""
    lifecycle.file_payment_documents(public_id)


@task()
def send_order_email(public_id: str, kind: str) -> bool:
    return lifecycle.send_email(public_id, kind)


@task()
def sweep_unpaid_orders(reschedule: bool = True) -> int:
    """Expire orders not paid in time (releasing stock, flash-sale units and quota)."""
    expired = lifecycle.expire_unpaid()
    if expired:
        logger.info("expired %d unpaid orders", expired)
    if reschedule:
        schedule_once(sweep_unpaid_orders, EXPIRY_INTERVAL)
    return expired


@task()
def sweep_auto_confirm(reschedule: bool = True) -> int:
    """Complete orders delivered EHUB_AUTO_CONFIRM_DAYS ago that the buyer did not confirm."""
    done = lifecycle.auto_confirm()
    if reschedule:
        schedule_once(sweep_auto_confirm, AUTO_CONFIRM_INTERVAL)
    return done


def schedule_sweeps() -> bool:
    """Start both periodic sweeps unless they are already waiting (for ``ehub worker``)."""
    a = schedule_once(sweep_unpaid_orders, EXPIRY_INTERVAL)
    b = schedule_once(sweep_auto_confirm, AUTO_CONFIRM_INTERVAL)
    return a or b
