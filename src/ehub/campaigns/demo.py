"""Demo data: a live "Malaysia Week" (马来西亚周) with offers and a flash sale about to start.

``seed()`` is called by the demo command after the catalog's demo products exist. It works
through the services, as staff and merchants would: the merchants apply offers, platform
staff approve them (which reserves the allocated units from stock). Products are found by
their demo SKU codes; when none exist yet it does nothing and says so. Safe to run again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import Membership, Organization, User
from ehub.accounts.services import build_context
from ehub.catalog.models import ProductStatus, Sku, Stock
from ehub.core import clock
from ehub.core.context import Context

from .models import Campaign, Offer, OfferStatus
from .services import CampaignInput, OfferInput, apply_offer, approve_offer, create_campaign

SLUG = "malaysia-week"


@dataclass(frozen=True)
class DemoOffer:
    sku_code: str
    units: int
    limit: int
    promo_price: str | None = None
    percent_off: str | None = None
    flash: bool = False


OFFERS = (
    DemoOffer("RMK-MK-1600", units=200, limit=2, percent_off="20"),
    DemoOffer("SE-NEST-50", units=100, limit=1, promo_price="338.00"),
    DemoOffer("RMK-PASTE-500", units=150, limit=3, promo_price="62.00"),
    # The flash sale: a countdown first, then units going fast.
    DemoOffer("RMK-MK-2X1600", units=50, limit=1, promo_price="238.00", flash=True),
)


def _staff_context() -> Context | None:
    staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk").first()
    return build_context(staff, via="cli") if staff is not None else None


def _merchant_context(org: Organization) -> Context | None:
    member = (
        Membership.objects.filter(org=org, role__in=[Role.OWNER, Role.ADMIN])
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if member is None:
        return None
    return build_context(member.user, org.pk, via="cli")


def _top_up(sku: Sku, hub: Organization, units: int) -> None:
    """Make sure the hub holds enough of the SKU for the allocation (demo stock only)."""
    from ehub.catalog.services import inventory

    stock = Stock.objects.filter(sku=sku, hub=hub).first()
    available = stock.available if stock is not None else 0
    if available < units:
        system = Context(user=None, org=sku.org, roles=frozenset({"system"}), via="cli")
        inventory.adjust(system, sku.pk, hub.pk, units - available, "Demo stock for Malaysia Week")


def seed(*, flash_in: dt.timedelta = dt.timedelta(minutes=5), out=print) -> int:
    """Create Malaysia Week with its offers if missing; returns how many offers were created."""
    skus = {
        s.code: s
        for s in Sku.objects.filter(
            code__in=[o.sku_code for o in OFFERS], product__status=ProductStatus.ACTIVE
        ).select_related("org")
    }
    if not skus:
        out("campaigns demo: no demo products yet (run the catalog demo first); skipped.")
        return 0
    staff = _staff_context()
    hub = Organization.objects.filter(kind=OrgKind.HUB_OPERATOR, status=OrgStatus.ACTIVE).first()
    if staff is None or hub is None:
        out("campaigns demo: needs a platform staff user and an active hub; skipped.")
        return 0
    now = clock.now()
    created = 0
    with transaction.atomic():
        campaign = Campaign.objects.filter(slug=SLUG).first()
        if campaign is None:
            campaign = create_campaign(
                staff,
                CampaignInput(
                    slug=SLUG,
                    name_en="Malaysia Week",
                    name_ms="Minggu Malaysia",
                    name_zh_hans="马来西亚周",
                    banner_text_en="Musang King, bird's nest and more from Malaysian SMEs, "
                    "at Malaysia Week prices.",
                    banner_text_ms="Musang King, sarang burung dan banyak lagi daripada PKS "
                    "Malaysia, pada harga Minggu Malaysia.",
                    banner_text_zh_hans="猫山王榴莲、燕窝等马来西亚中小企业好物，马来西亚周特惠价。",
                    target_market="CN",
                    starts_at=now - dt.timedelta(hours=1),
                    ends_at=now + dt.timedelta(days=9),
                    status="published",
                    # Shows the academy's export-readiness gate: the demo merchants pass it.
                    min_readiness=50,
                ),
            )
        for item in OFFERS:
            sku = skus.get(item.sku_code)
            if sku is None:
                continue
            if Offer.objects.filter(
                campaign=campaign, sku=sku, status__in=[OfferStatus.PENDING, OfferStatus.APPROVED]
            ).exists():
                continue
            merchant = _merchant_context(sku.org)
            if merchant is None:
                continue
            _top_up(sku, hub, item.units)
            flash_start = max(now + flash_in, campaign.starts_at) if item.flash else None
            offer = apply_offer(
                merchant,
                campaign.public_id,
                OfferInput(
                    sku_code=sku.code,
                    hub=hub.public_id,
                    allocated_units=item.units,
                    per_buyer_limit=item.limit,
                    promo_price=item.promo_price,
                    percent_off=item.percent_off,
                    flash_starts_at=flash_start,
                    flash_ends_at=(flash_start + dt.timedelta(hours=2)) if flash_start else None,
                ),
            )
            approve_offer(staff, offer.public_id)
            created += 1
    out(f"campaigns demo: Malaysia Week at /campaigns/{SLUG}/ with {created} new offers.")
    return created
