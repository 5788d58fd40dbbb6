"""What buyers read: live campaigns for banners, a campaign's offers, live offer states.

Reads only, no Context needed (the storefront is public); each function costs a fixed
number of queries whatever the number of offers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Prefetch, Sum

from ehub.catalog.models import ProductImage, ProductTranslation
from ehub.core import clock, fx
from ehub.core.errors import NotFound
from ehub.core.money import Money, Rounding

from .. import domain
from ..models import Campaign, CampaignStatus, Offer, OfferStatus

STATES_TTL = 1.0
VISIBLE_OFFERS = (OfferStatus.APPROVED, OfferStatus.ENDED)


def live_campaigns(limit: int = 5, now=None) -> list[Campaign]:
    """Published campaigns running now, soonest-ending first (one query)."""
    now = now or clock.now()
    return list(
        Campaign.objects.filter(
            status=CampaignStatus.PUBLISHED, starts_at__lte=now, ends_at__gt=now
        ).order_by("ends_at", "pk")[:limit]
    )


def live_banners(language: str, now=None, limit: int = 3) -> list[dict]:
    """What ``campaigns/_home_banners.html`` shows: per live campaign its name, banner text
    and image in ``language`` (one query)."""
    banners = []
    for campaign in live_campaigns(limit, now):
        image = campaign.banner_image_in(language)
        banners.append(
            {
                "campaign": campaign,
                "name": campaign.name_in(language),
                "text": campaign.banner_text_in(language),
                "image_url": image.url if image else "",
            }
        )
    return banners


@dataclass
class OfferView:
    offer: Offer
    title: str
    variant: str
    image: ProductImage | None
    promo: Money
    regular: Money
    promo_local: Money | None
    regular_local: Money | None
    phase: domain.Phase
    remaining: int


@dataclass
class CampaignPage:
    campaign: Campaign
    name: str
    banner_text: str
    phase: domain.Phase
    offers: list[OfferView]
    currency: str
    rate: fx.Rate | None


def _local(rate: fx.Rate | None, money: Money) -> Money | None:
    if rate is None:
        return None
    return fx.apply_rate(money, rate.quote, rate.rate, Rounding.HALF_UP)


def campaign_page(slug: str, *, language: str, currency: str = "MYR") -> CampaignPage:
    """A published campaign with its offers priced in ``currency`` (MYR kept beside it).

    One rate is looked up for all offers (``core.fx.find_rate``) and applied to each, the
    same arithmetic as ``fx.convert`` without a query per price.
    """
    now = clock.now()
    campaign = Campaign.objects.filter(slug=slug, status=CampaignStatus.PUBLISHED).first()
    if campaign is None:
        raise NotFound("campaign")
    languages = list(dict.fromkeys([language, "en"]))
    offers = list(
        Offer.objects.filter(campaign=campaign, status__in=VISIBLE_OFFERS)
        .select_related("sku", "sku__product")
        .prefetch_related(
            Prefetch(
                "sku__product__translations",
                queryset=ProductTranslation.objects.filter(language__in=languages),
            ),
            "sku__product__images",
        )
        .annotate(left=Sum("buckets__remaining"))
        .order_by("sale_starts_at", "pk")
    )
    rate = None
    if currency != "MYR":
        try:
            rate = fx.find_rate("MYR", currency)
        except fx.RateNotFound:
            rate = None
    views = []
    for offer in offers:
        product = offer.sku.product
        titles = {t.language: t.title for t in product.translations.all()}
        images = list(product.images.all())
        labels = offer.sku.variant_labels or {}
        views.append(
            OfferView(
                offer=offer,
                title=domain.localized(titles, language) or offer.sku.code,
                variant=domain.localized(labels, language) if isinstance(labels, dict) else "",
                image=images[0] if images else None,
                promo=offer.promo_price,
                regular=offer.regular_price,
                promo_local=_local(rate, offer.promo_price),
                regular_local=_local(rate, offer.regular_price),
                phase=_offer_phase(offer.status, offer.sale_starts_at, offer.sale_ends_at, now),
                remaining=int(offer.left or 0),
            )
        )
    return CampaignPage(
        campaign=campaign,
        name=campaign.name_in(language),
        banner_text=campaign.banner_text_in(language),
        phase=domain.phase(now, campaign.starts_at, campaign.ends_at),
        offers=views,
        currency=currency,
        rate=rate,
    )


def _offer_phase(status: str, starts_at, ends_at, now) -> domain.Phase:
    if status != OfferStatus.APPROVED:
        return domain.Phase.ENDED
    return domain.phase(now, starts_at, ends_at)


@dataclass(frozen=True)
class OfferState:
    public_id: str
    phase: domain.Phase
    remaining: int
    allocated: int
    starts_at: object
    ends_at: object


def offer_states(slug: str) -> list[OfferState]:
    """Phase and remaining units of every visible offer of a campaign: one query, cached
    for a second so a crowd polling the page costs the database next to nothing."""
    key = f"campaigns:states:{slug}"
    rows = cache.get(key)
    if rows is None:
        rows = list(
            Offer.objects.filter(
                campaign__slug=slug,
                campaign__status=CampaignStatus.PUBLISHED,
                status__in=VISIBLE_OFFERS,
            )
            .annotate(left=Sum("buckets__remaining"))
            .values_list(
                "public_id", "status", "sale_starts_at", "sale_ends_at", "allocated_units", "left"
            )
            .order_by("sale_starts_at", "pk")
        )
        cache.set(key, rows, STATES_TTL)
    now = clock.now()
    return [
        OfferState(
            public_id=public_id,
            phase=_offer_phase(status, starts, ends, now),
            remaining=int(left or 0),
            allocated=allocated,
            starts_at=starts,
            ends_at=ends,
        )
        for public_id, status, starts, ends, allocated, left in rows
    ]
