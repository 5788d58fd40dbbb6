"""REST API of campaigns (mounted at /api/v1/campaigns): campaigns, offers, flash-sale claims.

Thin handlers over ``campaigns.services``. Scope: a merchant sees and changes only its own
offers (another merchant's is 404); campaign writes and offer review need platform staff;
a buyer releases only its own claims.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Mapped, Page, ctx_of
from ehub.core import clock

from . import domain, services
from .models import Campaign, Claim, Offer, OfferStatus

router = Router(tags=["campaigns"])


class MoneyOut(Schema):
    amount: int = Field(..., description="Minor units (sen for MYR).")
    currency: str


class CampaignIn(Schema):
    name_en: str = Field(..., max_length=120)
    name_ms: str = Field("", max_length=120)
    name_zh_hans: str = Field("", max_length=120)
    banner_text_en: str = Field("", max_length=300)
    banner_text_ms: str = Field("", max_length=300)
    banner_text_zh_hans: str = Field("", max_length=300)
    slug: str = Field("", max_length=80, description="Web address part; from the name if empty.")
    target_market: str = Field("CN", description="ISO 3166-1 alpha-2; CN for now.")
    starts_at: datetime = Field(..., description="Aware ISO 8601 instant.")
    ends_at: datetime
    status: str = Field("draft", description="draft, published or cancelled")
    min_readiness: int | None = Field(
        None,
        ge=0,
        le=100,
        description="Export-readiness score a merchant needs to apply offers; null keeps it.",
    )


class CampaignOut(Schema):
    public_id: str
    slug: str
    name: str = Field(..., description="In the request's language.")
    names: dict[str, str]
    banner_text: str
    target_market: str
    starts_at: datetime
    ends_at: datetime
    status: str
    phase: str = Field(..., description="upcoming, live or ended")
    min_readiness: int


def _campaign_out(campaign: Campaign) -> dict:
    language = get_language()
    return {
        "public_id": campaign.public_id,
        "slug": campaign.slug,
        "name": campaign.name_in(language),
        "names": {"en": campaign.name_en, "ms": campaign.name_ms, "zh-hans": campaign.name_zh_hans},
        "banner_text": campaign.banner_text_in(language),
        "target_market": campaign.target_market,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "status": campaign.status,
        "phase": domain.phase(clock.now(), campaign.starts_at, campaign.ends_at).value,
        "min_readiness": campaign.min_readiness,
    }


class OfferIn(Schema):
    sku: str = Field(..., description="Your SKU code.")
    promo_price: str | None = Field(None, description='MYR, e.g. "49.90"; or give percent_off.')
    percent_off: Decimal | None = Field(None, description="e.g. 20 or 12.5")
    allocated_units: int = Field(..., description="Units set aside from your available stock.")
    per_buyer_limit: int
    hub: str | None = Field(None, description="Hub public id; default: the hub with most stock.")
    flash_starts_at: datetime | None = None
    flash_ends_at: datetime | None = None


class OfferOut(Schema):
    public_id: str
    campaign: str
    sku: str
    hub: str
    promo_price: MoneyOut
    regular_price: MoneyOut
    percent_off: Decimal | None
    allocated_units: int
    per_buyer_limit: int
    flash_starts_at: datetime | None
    flash_ends_at: datetime | None
    sale_starts_at: datetime
    sale_ends_at: datetime
    status: str
    remaining: int | None = Field(..., description="Units left (approved offers).")
    returned_units: int
    review_note: str


def _offer_out(offer: Offer, remaining: int | None = None) -> dict:
    if remaining is None and offer.status in (OfferStatus.APPROVED, OfferStatus.ENDED):
        remaining = getattr(offer, "remaining", None)
        if remaining is None:
            remaining = services.remaining_units([offer.pk]).get(offer.pk, 0)
    return {
        "public_id": offer.public_id,
        "campaign": offer.campaign.public_id,
        "sku": offer.sku.code,
        "hub": offer.hub.public_id,
        "promo_price": offer.promo_price.as_json(),
        "regular_price": offer.regular_price.as_json(),
        "percent_off": offer.percent_off,
        "allocated_units": offer.allocated_units,
        "per_buyer_limit": offer.per_buyer_limit,
        "flash_starts_at": offer.flash_starts_at,
        "flash_ends_at": offer.flash_ends_at,
        "sale_starts_at": offer.sale_starts_at,
        "sale_ends_at": offer.sale_ends_at,
        "status": offer.status,
        "remaining": int(remaining) if remaining is not None else None,
        "returned_units": offer.returned_units,
        "review_note": offer.review_note,
    }


class PublicOfferOut(Schema):
    public_id: str
    title: str
    promo_price: MoneyOut
    regular_price: MoneyOut
    per_buyer_limit: int
    sale_starts_at: datetime
    sale_ends_at: datetime
    phase: str
    remaining: int


class ReviewIn(Schema):
    note: str = Field("", max_length=300)


class ClaimIn(Schema):
    qty: int = Field(..., ge=1, le=1000)
    key: str = Field(..., min_length=1, max_length=100, description="Your idempotency key.")


class ClaimOut(Schema):
    key: str
    offer: str
    qty: int
    status: str
    unit_price: MoneyOut
    created_at: datetime


def _claim_out(claim: Claim) -> dict:
    return {
        "key": claim.key,
        "offer": claim.offer.public_id,
        "qty": claim.qty,
        "status": claim.status,
        "unit_price": claim.offer.promo_price.as_json(),
        "created_at": claim.created_at,
    }


def _data(payload: CampaignIn) -> services.CampaignInput:
    return services.CampaignInput(**payload.dict())


# -- offers (fixed paths first, so they are not read as a campaign id) ----------------------


@router.get("/offers/mine", response=list[OfferOut], summary="Your organization's offers")
@paginate(Page)
def my_offers(request: HttpRequest):
    return Mapped(services.merchant_offers(ctx_of(request)), _offer_out)


def _visible_offer(request, public_id: str) -> Offer:
    return services.visible_offer(ctx_of(request), public_id)


@router.get("/offers/{public_id}", response=OfferOut, summary="One of your offers")
def get_offer(request: HttpRequest, public_id: str):
    return _offer_out(_visible_offer(request, public_id))


@router.post("/offers/{public_id}/withdraw", response=OfferOut, summary="Withdraw your offer")
def withdraw(request: HttpRequest, public_id: str):
    offer = services.withdraw_offer(ctx_of(request), public_id)
    return _offer_out(_visible_offer(request, offer.public_id))


@router.post(
    "/offers/{public_id}/approve",
    response=OfferOut,
    summary="Approve an offer (platform staff): takes the allocated units from stock",
)
def approve(request: HttpRequest, public_id: str):
    offer = services.approve_offer(ctx_of(request), public_id)
    return _offer_out(_visible_offer(request, offer.public_id))


@router.post("/offers/{public_id}/reject", response=OfferOut, summary="Reject an offer (staff)")
def reject(request: HttpRequest, public_id: str, payload: ReviewIn):
    offer = services.reject_offer(ctx_of(request), public_id, payload.note)
    return _offer_out(_visible_offer(request, offer.public_id))


@router.post(
    "/offers/{public_id}/end",
    response=OfferOut,
    summary="End an offer now (staff): unclaimed units go back to stock",
)
def end(request: HttpRequest, public_id: str):
    offer = services.end_offer_by_staff(ctx_of(request), public_id)
    return _offer_out(_visible_offer(request, offer.public_id))


@router.post(
    "/offers/{public_id}/claims",
    response={201: ClaimOut},
    summary="Claim units of a live offer for yourself (idempotent by key)",
)
def claim(request: HttpRequest, public_id: str, payload: ClaimIn):
    result = services.claim_for_buyer(ctx_of(request), public_id, payload.qty, key=payload.key)
    return Status(201, _claim_out(result))


@router.post("/claims/{key}/release", response=ClaimOut, summary="Release your claim")
def release(request: HttpRequest, key: str):
    return _claim_out(services.release_own_claim(ctx_of(request), key))


# -- campaigns ------------------------------------------------------------------------------


@router.get("", response=list[CampaignOut], summary="Campaigns (published; staff see all)")
@paginate(Page)
def list_campaigns(request: HttpRequest):
    return Mapped(services.visible_campaigns(ctx_of(request)), _campaign_out)


@router.post("", response={201: CampaignOut}, summary="Create a campaign (platform staff)")
def create(request: HttpRequest, payload: CampaignIn):
    campaign = services.create_campaign(ctx_of(request), _data(payload))
    return Status(201, _campaign_out(campaign))


@router.get("/{public_id}", response=CampaignOut, summary="One campaign")
def get_campaign(request: HttpRequest, public_id: str):
    return _campaign_out(services.visible_campaign(ctx_of(request), public_id))


@router.put("/{public_id}", response=CampaignOut, summary="Edit a campaign (platform staff)")
def update(request: HttpRequest, public_id: str, payload: CampaignIn):
    campaign = services.update_campaign(ctx_of(request), public_id, _data(payload))
    return _campaign_out(campaign)


@router.get(
    "/{public_id}/offers",
    response=list[PublicOfferOut],
    summary="A campaign's offers as buyers see them, with units left",
)
@paginate(Page)
def campaign_offers(request: HttpRequest, public_id: str):
    campaign = services.visible_campaign(ctx_of(request), public_id)
    page = services.campaign_page(campaign.slug, language=get_language() or "en")
    return [
        {
            "public_id": v.offer.public_id,
            "title": v.title,
            "promo_price": v.promo.as_json(),
            "regular_price": v.regular.as_json(),
            "per_buyer_limit": v.offer.per_buyer_limit,
            "sale_starts_at": v.offer.sale_starts_at,
            "sale_ends_at": v.offer.sale_ends_at,
            "phase": v.phase.value,
            "remaining": v.remaining,
        }
        for v in page.offers
    ]


@router.post(
    "/{public_id}/offers",
    response={201: OfferOut},
    summary="Apply one of your SKUs to a campaign (merchant); waits for approval",
)
def apply(request: HttpRequest, public_id: str, payload: OfferIn):
    data = services.OfferInput(
        sku_code=payload.sku,
        allocated_units=payload.allocated_units,
        per_buyer_limit=payload.per_buyer_limit,
        promo_price=payload.promo_price,
        percent_off=payload.percent_off,
        hub=payload.hub,
        flash_starts_at=payload.flash_starts_at,
        flash_ends_at=payload.flash_ends_at,
    )
    offer = services.apply_offer(ctx_of(request), public_id, data)
    return Status(201, _offer_out(services.merchant_offer(ctx_of(request), offer.public_id)))
