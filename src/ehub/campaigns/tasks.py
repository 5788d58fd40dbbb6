"""Background tasks of campaigns: end an offer when its sale is over, and a catch-all sweep."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from ehub.core import clock
from ehub.core.context import Context
from ehub.core.tasks import schedule_once

CLOSE_SWEEP_INTERVAL = dt.timedelta(minutes=5)


@task()
def end_offer_task(offer_id: int) -> None:
    """Queued at approval to run when the sale ends. If the campaign's dates moved later in
    the meantime, it queues itself again for the new end instead of ending early."""
    from .models import Offer, OfferStatus
    from .services.campaigns import end_offer

    offer = Offer.objects.filter(pk=offer_id).only("status", "sale_ends_at").first()
    if offer is None or offer.status != OfferStatus.APPROVED:
        return
    if offer.sale_ends_at > clock.now():
        end_offer_task.using(run_after=offer.sale_ends_at).enqueue(offer_id)
        return
    end_offer(Context.system(), offer_id)


@task()
def close_ended_offers_task(reschedule: bool = True) -> int:
    """Sweep for offers whose end task was lost or never queued; then schedule the next sweep."""
    from .services.campaigns import close_ended_offers

    closed = close_ended_offers(Context.system())
    if reschedule:
        schedule_close_sweep()
    return closed


def schedule_close_sweep(delay: dt.timedelta = CLOSE_SWEEP_INTERVAL) -> bool:
    """Start the sweep chain unless a sweep is already waiting (``ehub worker`` calls this)."""
    return schedule_once(close_ended_offers_task, delay)
