"""Background tasks of campaigns: end an offer when its sale is over, and a catch-all sweep."""

from __future__ import annotations

from django_tasks import task

from ehub.core import clock
from ehub.core.context import Context


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
def close_ended_offers_task() -> int:
    """Sweep for offers whose end task was lost or never queued (run it from a scheduler)."""
    from .services.campaigns import close_ended_offers

    return close_ended_offers(Context.system())
