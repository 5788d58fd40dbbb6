"""Campaign use cases: apply, approve with allocation, refusals, end of offers, scoping."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.campaigns import services
from ehub.campaigns.models import Campaign, Offer, OfferBucket, OfferStatus, Participation
from ehub.catalog.models import Reservation, Stock
from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry

from .conftest import ctx_for


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_staff_create_a_campaign_and_merchants_cannot(platform_ctx, merchant_ctx):
    now = clock.now()
    data = services.CampaignInput(
        name_en="Malaysia Week",
        name_zh_hans="马来西亚周",
        starts_at=now,
        ends_at=now + dt.timedelta(days=3),
    )
    campaign = services.create_campaign(platform_ctx, data)
    assert campaign.slug == "malaysia-week" and campaign.public_id.startswith("CMP-")
    assert AuditEntry.objects.filter(action="campaign.created").count() == 1
    with pytest.raises(PermissionDenied):
        services.create_campaign(merchant_ctx, data)


def test_campaign_dates_and_slug_are_checked(platform_ctx, campaign):
    now = clock.now()
    with pytest.raises(ValidationFailed) as exc:
        services.create_campaign(
            platform_ctx,
            services.CampaignInput(name_en="X", slug=campaign.slug, starts_at=now, ends_at=now),
        )
    assert _fields(exc) == {"slug", "ends_at"}
    assert Campaign.objects.count() == 1


def test_apply_then_approve_reserves_allocated_units_from_stock(make_offer, sku, hub, platform_ctx):
    offer = make_offer(units=30, limit=2, approve=False)
    assert offer.status == OfferStatus.PENDING
    assert Stock.objects.get(sku=sku, hub=hub).reserved == 0
    offer = services.approve_offer(platform_ctx, offer.public_id, buckets=8)
    stock = Stock.objects.get(sku=sku, hub=hub)
    assert (stock.on_hand, stock.reserved) == (100, 30)
    reservation = Reservation.objects.get(key=f"offer:{offer.public_id}")
    assert (reservation.qty, reservation.purpose) == (30, "campaign_allocation")
    buckets = list(OfferBucket.objects.filter(offer=offer).values_list("remaining", flat=True))
    assert len(buckets) == 8 and sum(buckets) == 30
    assert Participation.objects.get(org=offer.org).status == "approved"
    # Approving again changes nothing.
    services.approve_offer(platform_ctx, offer.public_id)
    assert Stock.objects.get(sku=sku, hub=hub).reserved == 30


def test_promo_price_from_percentage(make_offer):
    offer = make_offer(approve=False, promo_price=None, percent_off="20")
    assert offer.promo_price_myr == 8000 and offer.percent_off == 20


def test_bad_offer_input_names_every_field_and_saves_nothing(merchant_ctx, campaign, sku):
    data = services.OfferInput(
        sku_code=sku.code,
        promo_price="120.00",  # above the regular 100.00
        allocated_units=0,
        per_buyer_limit=0,
        flash_starts_at=campaign.ends_at + dt.timedelta(hours=1),
    )
    with pytest.raises(ValidationFailed) as exc:
        services.apply_offer(merchant_ctx, campaign.public_id, data)
    assert _fields(exc) == {"promo_price", "allocated_units", "per_buyer_limit", "flash_starts_at"}
    assert not Offer.objects.exists()


def test_application_above_available_stock_is_refused_on_allocated_units(
    merchant_ctx, campaign, sku
):
    data = services.OfferInput(
        sku_code=sku.code, promo_price="79.00", allocated_units=101, per_buyer_limit=1
    )
    with pytest.raises(ValidationFailed) as exc:
        services.apply_offer(merchant_ctx, campaign.public_id, data)
    assert _fields(exc) == {"allocated_units"}
    assert not Offer.objects.exists()


def test_approval_above_available_stock_is_refused_and_nothing_saved(
    make_offer, sku, hub, platform_ctx
):
    offer = make_offer(units=80, approve=False)
    # Meanwhile checkout reserved stock: only 50 remain available.
    Stock.objects.filter(sku=sku, hub=hub).update(reserved=50)
    with pytest.raises(ValidationFailed) as exc:
        services.approve_offer(platform_ctx, offer.public_id)
    assert _fields(exc) == {"allocated_units"}
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING
    assert not OfferBucket.objects.exists()
    assert not Reservation.objects.filter(key=f"offer:{offer.public_id}").exists()
    assert Stock.objects.get(sku=sku, hub=hub).reserved == 50


def test_a_sku_is_offered_once_per_campaign(make_offer):
    make_offer(approve=False)
    with pytest.raises(ValidationFailed) as exc:
        make_offer(approve=False)
    assert _fields(exc) == {"sku"}


def test_ending_an_offer_returns_unclaimed_units_to_stock(make_offer, make_buyer, sku, hub):
    offer = make_offer(units=10, limit=3)
    services.claim_offer_units(make_buyer(), offer, 3, key="c1")
    with clock.frozen(offer.sale_ends_at + dt.timedelta(seconds=1)):
        assert services.close_ended_offers() == 1
    offer.refresh_from_db()
    assert (offer.status, offer.returned_units) == (OfferStatus.ENDED, 7)
    assert sum(OfferBucket.objects.filter(offer=offer).values_list("remaining", flat=True)) == 0
    stock = Stock.objects.get(sku=sku, hub=hub)
    assert stock.reserved == 3  # the buyer's claim stays held for checkout
    # Releasing the claim after the end gives the units back to stock, not to the offer.
    services.release_offer_units("c1")
    offer.refresh_from_db()
    assert offer.returned_units == 10
    assert Stock.objects.get(sku=sku, hub=hub).reserved == 0


def test_the_end_task_runs_when_the_sale_ends(make_offer, sku, hub):
    from ehub.core.tasks import run_pending_tasks

    offer = make_offer(units=10)
    run_pending_tasks()  # not due yet
    offer.refresh_from_db()
    assert offer.status == OfferStatus.APPROVED
    with clock.frozen(offer.sale_ends_at + dt.timedelta(minutes=1)):
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.update(run_after=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        run_pending_tasks(raise_errors=True)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ENDED
    assert Stock.objects.get(sku=sku, hub=hub).reserved == 0


def test_reject_and_withdraw(
    make_offer, platform_ctx, merchant_ctx, make_sku, merchant_org, sku, hub
):
    offer = make_offer(approve=False)
    rejected = services.reject_offer(platform_ctx, offer.public_id, "Price too close to regular")
    assert rejected.status == OfferStatus.REJECTED
    with pytest.raises(Conflict):
        services.approve_offer(platform_ctx, offer.public_id)
    other = make_offer(units=5, the_sku=make_sku(merchant_org))
    ended = services.withdraw_offer(merchant_ctx, other.public_id)
    assert ended.status == OfferStatus.ENDED and ended.returned_units == 5


def test_moving_the_campaign_moves_offers_and_keeps_flash_sales_inside(
    make_offer, platform_ctx, campaign
):
    offer = make_offer(units=5)
    new_end = campaign.ends_at + dt.timedelta(days=2)
    data = services.CampaignInput(
        name_en=campaign.name_en,
        slug=campaign.slug,
        starts_at=campaign.starts_at,
        ends_at=new_end,
        status="published",
    )
    services.update_campaign(platform_ctx, campaign.public_id, data)
    offer.refresh_from_db()
    assert offer.sale_ends_at == new_end


def test_flash_sale_outside_new_dates_blocks_the_change(make_offer, platform_ctx, campaign):
    start = clock.now() + dt.timedelta(days=5)
    make_offer(units=5, flash_starts_at=start, flash_ends_at=start + dt.timedelta(hours=1))
    data = services.CampaignInput(
        name_en=campaign.name_en,
        slug=campaign.slug,
        starts_at=campaign.starts_at,
        ends_at=clock.now() + dt.timedelta(days=1),
        status="published",
    )
    with pytest.raises(ValidationFailed) as exc:
        services.update_campaign(platform_ctx, campaign.public_id, data)
    assert _fields(exc) == {"starts_at"}


def test_merchant_b_cannot_see_or_touch_merchant_a_offers(
    make_offer, make_org, make_user, make_sku, campaign
):
    offer = make_offer(approve=False)
    other_org = make_org(name="Kopi Kampung Sdn. Bhd.")
    ctx_b = ctx_for(make_user(org=other_org))
    assert list(services.merchant_offers(ctx_b)) == []
    with pytest.raises(NotFound):
        services.merchant_offer(ctx_b, offer.public_id)
    with pytest.raises(NotFound):
        services.withdraw_offer(ctx_b, offer.public_id)
    # Nor offer A's SKU as its own.
    data = services.OfferInput(
        sku_code=offer.sku.code, promo_price="50.00", allocated_units=1, per_buyer_limit=1
    )
    with pytest.raises(ValidationFailed) as exc:
        services.apply_offer(ctx_b, campaign.public_id, data)
    assert "sku" in _fields(exc)


def test_merchants_cannot_approve(make_offer, merchant_ctx):
    offer = make_offer(approve=False)
    with pytest.raises(PermissionDenied):
        services.approve_offer(merchant_ctx, offer.public_id)


def test_drafts_are_not_open_for_offers(make_campaign, merchant_ctx, sku):
    draft = make_campaign(status="draft")
    data = services.OfferInput(
        sku_code=sku.code, promo_price="50.00", allocated_units=1, per_buyer_limit=1
    )
    with pytest.raises(NotFound):
        services.apply_offer(merchant_ctx, draft.public_id, data)


def test_demo_skips_without_products_then_seeds_malaysia_week(
    make_sku, merchant_org, merchant_user, staff_user, hub
):
    from ehub.campaigns import demo

    said = []
    assert demo.seed(out=said.append) == 0
    assert "skipped" in said[0]
    make_sku(merchant_org, code="RMK-MK-1600", price_sen=16800, on_hand=None)
    make_sku(merchant_org, code="RMK-MK-2X1600", price_sen=32000, on_hand=10)
    assert demo.seed(out=said.append) == 2
    campaign = Campaign.objects.get(slug="malaysia-week")
    assert campaign.name_zh_hans == "马来西亚周"
    assert campaign.min_readiness == 50  # the readiness gate is on, and the merchant passed it
    flash = Offer.objects.get(sku__code="RMK-MK-2X1600")
    assert flash.status == OfferStatus.APPROVED and flash.sale_starts_at > clock.now()
    assert demo.seed(out=said.append) == 0  # safe to run again


@pytest.mark.django_db
def test_the_close_sweep_keeps_one_run_waiting():
    from django_tasks_db.models import DBTaskResult

    from ehub.campaigns.tasks import close_ended_offers_task, schedule_close_sweep

    assert schedule_close_sweep() is True
    assert schedule_close_sweep() is False  # one is already waiting
    waiting = DBTaskResult.objects.filter(task_path=close_ended_offers_task.module_path)
    assert waiting.count() == 1


def test_drafts_and_their_offers_are_for_staff_and_claims_for_their_buyer(
    campaign, make_campaign, make_offer, make_buyer, platform_ctx, merchant_ctx
):
    from ehub.core.context import Context

    draft = make_campaign(status="draft")
    buyer_ctx = ctx_for(make_buyer())
    ids = {c.public_id for c in services.visible_campaigns(platform_ctx)}
    assert ids == {campaign.public_id, draft.public_id}
    assert [c.public_id for c in services.visible_campaigns(buyer_ctx)] == [campaign.public_id]
    assert services.visible_campaign(platform_ctx, draft.public_id) == draft
    with pytest.raises(NotFound):
        services.visible_campaign(buyer_ctx, draft.public_id)

    offer = make_offer()
    assert services.visible_offer(platform_ctx, offer.public_id) == offer
    assert services.visible_offer(merchant_ctx, offer.public_id) == offer
    with pytest.raises(PermissionDenied):
        services.visible_offer(buyer_ctx, offer.public_id)

    with pytest.raises(PermissionDenied):
        services.claim_for_buyer(Context(), offer.public_id, 1, key="anon-1")
    assert services.claim_for_buyer(buyer_ctx, offer.public_id, 1, key="cart-1").qty == 1
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")
    with pytest.raises(NotFound):
        services.claim_for_buyer(buyer_ctx, offer.public_id, 1, key="cart-2")
    with pytest.raises(NotFound):
        services.release_own_claim(ctx_for(make_buyer()), "cart-1")
    assert services.release_own_claim(buyer_ctx, "cart-1").status == "released"
