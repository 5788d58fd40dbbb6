"""Running campaigns: staff create them, merchants apply offers, staff approve, offers end.

Approval takes the offer's allocated units out of the merchant's available stock (an
inventory reservation keyed ``offer:<public id>``, purpose ``campaign_allocation``) and
splits them into the gate's buckets; ending an offer drains the buckets and releases the
unclaimed units back to stock. Units held by buyers' claims stay reserved for checkout.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import Organization
from ehub.accounts.services import is_platform_staff, require_platform_staff
from ehub.catalog.models import ProductStatus, Sku, Stock
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.money import InvalidAmount, Money

from .. import domain
from ..models import (
    Campaign,
    CampaignStatus,
    Offer,
    OfferBucket,
    OfferStatus,
    Participation,
    ParticipationStatus,
)
from .gate import _writer_lock, forget_remaining

ALLOCATION_PURPOSE = "campaign_allocation"
CAMPAIGN_FIELDS = (
    "slug",
    "name_en",
    "name_ms",
    "name_zh_hans",
    "banner_text_en",
    "banner_text_ms",
    "banner_text_zh_hans",
    "target_market",
    "starts_at",
    "ends_at",
    "status",
    "min_readiness",
)
TARGET_MARKETS = ("CN",)


def configured_buckets() -> int:
    """K, the number of buckets per offer (``EHUB_CAMPAIGN_BUCKETS``, default 16)."""
    try:
        return int(os.environ.get("EHUB_CAMPAIGN_BUCKETS", domain.DEFAULT_BUCKETS))
    except ValueError:
        return domain.DEFAULT_BUCKETS


def _inventory():
    # Imported late: catalog's inventory services are written alongside this context.
    from ehub.catalog.services import inventory

    return inventory


def _on_behalf(ctx: Context, org) -> Context:
    """The context in which a campaign moves a merchant's stock: the acting person, for the
    merchant's organization (the merchant agreed to it by applying the offer)."""
    return Context(
        user=ctx.user,
        org=org,
        roles=frozenset({"system"}),
        via=ctx.via,
        request_id=ctx.request_id,
    )


# ---------------------------------------------------------------------------------------------
# Campaigns (platform staff)
# ---------------------------------------------------------------------------------------------


@dataclass
class CampaignInput:
    name_en: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    slug: str = ""
    name_ms: str = ""
    name_zh_hans: str = ""
    banner_text_en: str = ""
    banner_text_ms: str = ""
    banner_text_zh_hans: str = ""
    target_market: str = "CN"
    status: str = CampaignStatus.DRAFT
    banner_images: dict = field(default_factory=dict)  # {"en": File, ...}
    # Minimum export-readiness score (0-100); None keeps the campaign's current one (0 on create).
    min_readiness: int | None = None


def _check_campaign(data: CampaignInput, *, instance: Campaign | None = None) -> list[FieldError]:
    errors = []
    data.name_en = (data.name_en or "").strip()
    if not data.name_en:
        errors.append(FieldError("name_en", _("Give the campaign an English name."), "required"))
    data.slug = slugify(data.slug or data.name_en)[:80]
    if not data.slug:
        errors.append(FieldError("slug", _("Give a slug for the web address."), "required"))
    elif Campaign.objects.filter(slug=data.slug).exclude(pk=getattr(instance, "pk", None)).exists():
        errors.append(FieldError("slug", _("Another campaign uses this slug."), "duplicate"))
    if data.target_market not in TARGET_MARKETS:
        errors.append(FieldError("target_market", _("Choose a target market."), "invalid"))
    if data.status not in (
        CampaignStatus.DRAFT,
        CampaignStatus.PUBLISHED,
        CampaignStatus.CANCELLED,
    ):
        errors.append(FieldError("status", _("Choose a status."), "invalid"))
    errors += domain.check_campaign_window(data.starts_at, data.ends_at)
    if data.min_readiness is not None and not (
        isinstance(data.min_readiness, int) and 0 <= data.min_readiness <= 100
    ):
        errors.append(FieldError("min_readiness", _("Give a score from 0 to 100."), "out_of_range"))
    for name in ("name_ms", "name_zh_hans"):
        setattr(data, name, (getattr(data, name) or "").strip())
    return errors


def create_campaign(ctx: Context, data: CampaignInput) -> Campaign:
    require_platform_staff(ctx)
    errors = _check_campaign(data)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        campaign = Campaign(created_by=ctx.user if ctx.is_authenticated else None)
        _assign(campaign, data)
        try:
            with transaction.atomic():
                campaign.save()
        except IntegrityError:
            raise ValidationFailed.single(
                "slug", _("Another campaign uses this slug."), "duplicate"
            ) from None
        audit.record(
            ctx, "campaign.created", campaign, after=audit.snapshot(campaign, CAMPAIGN_FIELDS)
        )
    return campaign


def _assign(campaign: Campaign, data: CampaignInput) -> None:
    for name in CAMPAIGN_FIELDS:
        if name == "min_readiness" and data.min_readiness is None:
            continue  # not given: keep the campaign's (the model's default on create)
        setattr(campaign, name, getattr(data, name))
    for language, image in (data.banner_images or {}).items():
        if image:
            setattr(campaign, f"banner_image_{language.replace('-', '_')}", image)


def update_campaign(ctx: Context, public_id: str, data: CampaignInput) -> Campaign:
    """Edit a campaign. New dates move the sale window of its offers without a flash window;
    flash sales must still fit inside (else ``starts_at``/``ends_at`` is refused)."""
    require_platform_staff(ctx)
    with transaction.atomic():
        campaign = _campaign(public_id, lock=True)
        errors = _check_campaign(data, instance=campaign)
        if errors:
            raise ValidationFailed(errors)
        live_offers = list(
            campaign.offers.select_for_update().filter(
                status__in=[OfferStatus.PENDING, OfferStatus.APPROVED]
            )
        )
        for offer in live_offers:
            if offer.flash_starts_at is None:
                continue
            if domain.check_flash_window(
                data.starts_at, data.ends_at, offer.flash_starts_at, offer.flash_ends_at
            ):
                raise ValidationFailed(
                    [
                        FieldError(
                            "starts_at",
                            _("Flash sale %(offer)s would fall outside the campaign.")
                            % {"offer": offer.public_id},
                            "offer_outside",
                        )
                    ]
                )
        before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
        _assign(campaign, data)
        campaign.save()
        for offer in live_offers:
            window = domain.sale_window(
                campaign.starts_at, campaign.ends_at, offer.flash_starts_at, offer.flash_ends_at
            )
            if (offer.sale_starts_at, offer.sale_ends_at) != (window.starts_at, window.ends_at):
                offer.sale_starts_at, offer.sale_ends_at = window.starts_at, window.ends_at
                offer.save(update_fields=["sale_starts_at", "sale_ends_at"])
                if offer.status == OfferStatus.APPROVED:
                    _schedule_end(offer)
        audit.record(
            ctx,
            "campaign.updated",
            campaign,
            before=before,
            after=audit.snapshot(campaign, CAMPAIGN_FIELDS),
        )
    return campaign


def _campaign(public_id: str, *, lock: bool = False) -> Campaign:
    qs = Campaign.objects.select_for_update() if lock else Campaign.objects.all()
    try:
        return qs.get(public_id=public_id)
    except Campaign.DoesNotExist:
        raise NotFound(_("Campaign not found.")) from None


def visible_campaigns(ctx: Context) -> QuerySet:
    """The campaigns the caller may read: all for platform staff, else the published ones."""
    qs = Campaign.objects.order_by("-starts_at", "pk")
    if not is_platform_staff(ctx):
        qs = qs.filter(status=CampaignStatus.PUBLISHED)
    return qs


def visible_campaign(ctx: Context, public_id: str) -> Campaign:
    """One of ``visible_campaigns``; any other is NotFound."""
    campaign = visible_campaigns(ctx).filter(public_id=public_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    return campaign


def campaigns_for_staff(ctx: Context) -> QuerySet:
    require_platform_staff(ctx)
    return Campaign.objects.annotate(
        pending_offers=Count("offers", filter=Q(offers__status=OfferStatus.PENDING)),
        approved_offers=Count("offers", filter=Q(offers__status=OfferStatus.APPROVED)),
    ).order_by("-starts_at", "pk")


def campaign_for_staff(ctx: Context, public_id: str) -> Campaign:
    require_platform_staff(ctx)
    return _campaign(public_id)


def offers_for_staff(ctx: Context, campaign: Campaign) -> QuerySet:
    require_platform_staff(ctx)
    return (
        Offer.objects.filter(campaign=campaign)
        .select_related("org", "hub", "sku", "sku__product")
        .annotate(remaining=Sum("buckets__remaining"))
        .order_by("status", "sale_starts_at", "pk")
    )


# ---------------------------------------------------------------------------------------------
# Offers (merchants)
# ---------------------------------------------------------------------------------------------


@dataclass
class OfferInput:
    sku_code: str
    allocated_units: int | None
    per_buyer_limit: int | None
    promo_price: str | Money | None = None  # MYR, "49.90"
    percent_off: str | Decimal | None = None
    hub: str | None = None  # public id of the hub; default: the hub holding most of the SKU
    flash_starts_at: dt.datetime | None = None
    flash_ends_at: dt.datetime | None = None


def _require_merchant(ctx: Context) -> None:
    if not ctx.is_authenticated or ctx.org is None:
        raise PermissionDenied(_("Sign in as a merchant first."))
    if ctx.org_kind != OrgKind.MERCHANT:
        raise PermissionDenied(_("Only merchants apply offers."))
    if ctx.org.status != OrgStatus.ACTIVE:
        raise PermissionDenied(_("Your organization is waiting for approval."))
    if not ctx.has_role(Role.OWNER, Role.ADMIN, Role.STAFF):
        raise PermissionDenied(_("You are not allowed to do this."))


def open_campaigns(ctx: Context) -> QuerySet:
    """Published campaigns that have not ended: the ones a merchant can apply to."""
    return Campaign.objects.filter(
        status=CampaignStatus.PUBLISHED, ends_at__gt=clock.now()
    ).order_by("starts_at", "pk")


def merchant_skus(ctx: Context) -> QuerySet:
    _require_merchant(ctx)
    return (
        Sku.objects.filter(org=ctx.org, is_active=True, product__status=ProductStatus.ACTIVE)
        .select_related("product")
        .order_by("code")
    )


def hubs() -> QuerySet:
    return Organization.objects.filter(kind=OrgKind.HUB_OPERATOR, status=OrgStatus.ACTIVE)


def merchant_offers(ctx: Context, campaign: Campaign | None = None) -> QuerySet:
    _require_merchant(ctx)
    qs = Offer.objects.filter(org=ctx.org).select_related("campaign", "sku", "sku__product", "hub")
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return qs.annotate(remaining=Sum("buckets__remaining")).order_by("-created_at", "-pk")


def merchant_offer(ctx: Context, public_id: str) -> Offer:
    """One of the caller's offers; another merchant's is NotFound, as if it did not exist."""
    _require_merchant(ctx)
    offer = (
        merchant_offers(ctx).filter(public_id=public_id).first()
        if isinstance(public_id, str)
        else None
    )
    if offer is None:
        raise NotFound(_("Offer not found."))
    return offer


def visible_offer(ctx: Context, public_id: str) -> Offer:
    """Any offer for platform staff, else one of the caller's merchant's own (``merchant_offer``:
    another merchant's is NotFound)."""
    if not is_platform_staff(ctx):
        return merchant_offer(ctx, public_id)
    offer = (
        Offer.objects.select_related("campaign", "sku", "hub").filter(public_id=public_id).first()
    )
    if offer is None:
        raise NotFound(_("Offer not found."))
    return offer


def _parse_money(value, field_name: str) -> tuple[Money | None, list[FieldError]]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    if isinstance(value, Money):
        return value, []
    try:
        return Money.parse(str(value), "MYR", field=field_name), []
    except InvalidAmount as exc:
        return None, [FieldError(field_name, exc.message, exc.code)]


def _pick_hub(
    sku: Sku, hub_public_id: str | None
) -> tuple[Organization | None, Stock | None, list[FieldError]]:
    if hub_public_id:
        hub = hubs().filter(public_id=hub_public_id).first()
        if hub is None:
            return None, None, [FieldError("hub", _("Choose one of eHub's hubs."), "invalid")]
        return hub, Stock.objects.filter(sku=sku, hub=hub).first(), []
    stock = (
        Stock.objects.filter(sku=sku, hub__kind=OrgKind.HUB_OPERATOR)
        .select_related("hub")
        .annotate(free=F("on_hand") - F("reserved"))
        .order_by("-free", "pk")
        .first()
    )
    if stock is None:
        return (
            None,
            None,
            [FieldError("allocated_units", _("This SKU has no stock in any hub yet."), "no_stock")],
        )
    return stock.hub, stock, []


def apply_offer(ctx: Context, campaign_public_id: str, data: OfferInput) -> Offer:
    """A merchant offers one of its SKUs in a campaign; it waits for staff approval.

    Every field is checked and all problems are reported together; nothing is saved unless
    all pass.
    """
    _require_merchant(ctx)
    now = clock.now()
    campaign = open_campaigns(ctx).filter(public_id=campaign_public_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    errors: list[FieldError] = []
    if campaign.min_readiness:
        errors += _readiness_gate(ctx.org, campaign.min_readiness)
    sku = (
        Sku.objects.select_related("product")
        .filter(org=ctx.org, code=(data.sku_code or "").strip(), is_active=True)
        .first()
    )
    if sku is None:
        errors.append(FieldError("sku", _("Choose one of your SKUs."), "invalid"))
    elif sku.product.status != ProductStatus.ACTIVE:
        errors.append(FieldError("sku", _("Publish the product before offering it."), "not_active"))
    promo, money_errors = _parse_money(data.promo_price, "promo_price")
    errors += money_errors
    try:
        percent = domain.parse_percent(data.percent_off)
    except ValueError:
        percent = None
        errors.append(
            FieldError("percent_off", _("Enter a percentage such as 20 or 12.5."), "invalid")
        )
    price = None
    if sku is not None and not money_errors and not any(e.field == "percent_off" for e in errors):
        price, price_errors = domain.promo_price(sku.price, promo=promo, percent_off=percent)
        errors += price_errors
    errors += domain.check_units(data.allocated_units, data.per_buyer_limit)
    errors += domain.check_flash_window(
        campaign.starts_at, campaign.ends_at, data.flash_starts_at, data.flash_ends_at
    )
    window = domain.sale_window(
        campaign.starts_at, campaign.ends_at, data.flash_starts_at, data.flash_ends_at
    )
    if not any(e.field.startswith("flash_") for e in errors) and window.ends_at <= now:
        errors.append(FieldError("flash_ends_at", _("This sale would already be over."), "in_past"))
    hub = stock = None
    if sku is not None:
        hub, stock, hub_errors = _pick_hub(sku, data.hub)
        errors += hub_errors
        if Offer.objects.filter(
            campaign=campaign, sku=sku, status__in=[OfferStatus.PENDING, OfferStatus.APPROVED]
        ).exists():
            errors.append(
                FieldError("sku", _("This SKU is already offered in this campaign."), "duplicate")
            )
    if (
        stock is not None
        and isinstance(data.allocated_units, int)
        and data.allocated_units > stock.available
        and not any(e.field == "allocated_units" for e in errors)
    ):
        errors.append(_over_allocation(stock.available))
    elif hub is not None and stock is None and not any(e.field == "hub" for e in errors):
        errors.append(_over_allocation(0))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        offer = Offer.objects.create(
            campaign=campaign,
            org=ctx.org,
            sku=sku,
            hub=hub,
            promo_price_myr=price.amount,
            regular_price_myr=sku.price_myr,
            percent_off=percent,
            allocated_units=data.allocated_units,
            per_buyer_limit=data.per_buyer_limit,
            flash_starts_at=data.flash_starts_at,
            flash_ends_at=data.flash_ends_at,
            sale_starts_at=window.starts_at,
            sale_ends_at=window.ends_at,
        )
        Participation.objects.get_or_create(campaign=campaign, org=ctx.org)
        audit.record(ctx, "offer.applied", offer, after=_offer_snapshot(offer))
    return offer


@dataclass(frozen=True)
class ReadinessShortfall:
    """A campaign asks for more export readiness than the merchant has."""

    minimum: int
    score: int
    next_step: str


def _shortfalls(org, minimums: dict[int, int]) -> dict[int, ReadinessShortfall]:
    """By key, the minimum readiness scores ``org`` does not reach; scored once, if asked."""
    if not any(minimums.values()):
        return {}
    from ehub.academy.services import readiness

    result = readiness(org)
    step = str(result.next_step.next_step) if result.next_step is not None else ""
    return {
        key: ReadinessShortfall(minimum, result.score, step)
        for key, minimum in minimums.items()
        if minimum and result.score < minimum
    }


def readiness_shortfalls(ctx: Context, campaigns) -> dict[int, ReadinessShortfall]:
    """By campaign pk, the campaigns whose minimum readiness the caller's organization does
    not reach yet (for the merchant's campaign pages)."""
    _require_merchant(ctx)
    return _shortfalls(ctx.org, {c.pk: c.min_readiness for c in campaigns})


def _readiness_gate(org, minimum: int) -> list[FieldError]:
    """The campaign asks for a minimum export-readiness score (academy); say what is missing."""
    gap = _shortfalls(org, {0: minimum}).get(0)
    if gap is None:
        return []
    message = _(
        "This campaign needs an export-readiness score of at least %(minimum)d; yours is %(score)d."
    ) % {"minimum": gap.minimum, "score": gap.score}
    if gap.next_step:
        message += " " + _("Next step: %(step)s") % {"step": gap.next_step}
    return [FieldError("readiness", message, "readiness_below_minimum")]


def _over_allocation(available: int) -> FieldError:
    return FieldError(
        "allocated_units",
        _("Only %(available)d units are available in the hub.") % {"available": available},
        "above_available",
    )


def _offer_snapshot(offer: Offer) -> dict:
    return audit.snapshot(
        offer,
        (
            "public_id",
            "campaign_id",
            "sku_id",
            "hub_id",
            "promo_price_myr",
            "percent_off",
            "allocated_units",
            "per_buyer_limit",
            "flash_starts_at",
            "flash_ends_at",
            "status",
            "returned_units",
        ),
    )


def withdraw_offer(ctx: Context, public_id: str) -> Offer:
    """The merchant takes its offer back: a pending one is withdrawn, an approved one ends
    (its unclaimed units go back to stock)."""
    offer = merchant_offer(ctx, public_id)
    if offer.status == OfferStatus.APPROVED:
        return end_offer(ctx, offer.pk, reason="withdrawn")
    with transaction.atomic():
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if offer.status == OfferStatus.WITHDRAWN:
            return offer
        if offer.status != OfferStatus.PENDING:
            raise Conflict(_("Only a waiting or running offer can be withdrawn."))
        offer.status = OfferStatus.WITHDRAWN
        offer.save(update_fields=["status"])
        audit.record(ctx, "offer.withdrawn", offer, after={"status": offer.status})
    return offer


# ---------------------------------------------------------------------------------------------
# Review (platform staff) and the end of an offer
# ---------------------------------------------------------------------------------------------


def _locked_offer(public_id: str) -> Offer:
    try:
        return (
            Offer.objects.select_for_update(of=("self",))
            .select_related("campaign", "sku", "hub", "org")
            .get(public_id=public_id)
        )
    except Offer.DoesNotExist:
        raise NotFound(_("Offer not found.")) from None


def approve_offer(ctx: Context, public_id: str, *, buckets: int | None = None) -> Offer:
    """Approve a pending offer: reserve its allocated units from the merchant's available
    stock and open the gate. Allocation above what is available is refused on
    ``allocated_units`` and nothing is saved. Approving twice is harmless."""
    require_platform_staff(ctx)
    now = clock.now()
    with _writer_lock(), transaction.atomic():
        offer = _locked_offer(public_id)
        if offer.status == OfferStatus.APPROVED:
            return offer
        if offer.status != OfferStatus.PENDING:
            raise Conflict(_("Only an offer waiting for approval can be approved."))
        if offer.campaign.status == CampaignStatus.CANCELLED:
            raise Conflict(_("The campaign is cancelled."))
        if offer.sale_ends_at <= now:
            raise Conflict(_("This offer's sale is already over."))
        try:
            _inventory().reserve(
                _on_behalf(ctx, offer.org),
                sku=offer.sku,
                hub=offer.hub,
                qty=offer.allocated_units,
                key=offer.reservation_key,
                purpose=ALLOCATION_PURPOSE,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                [
                    FieldError("allocated_units", err.message, err.code)
                    if err.field in ("qty", "quantity")
                    else err
                    for err in exc.errors
                ]
                or [FieldError("allocated_units", exc.detail, exc.code)]
            ) from None
        count = domain.bucket_count_for(offer.allocated_units, buckets or configured_buckets())
        OfferBucket.objects.bulk_create(
            OfferBucket(offer=offer, index=i, remaining=units)
            for i, units in enumerate(domain.split_units(offer.allocated_units, count))
        )
        before = {"status": offer.status}
        offer.status = OfferStatus.APPROVED
        offer.bucket_count = count
        offer.reviewed_by = ctx.user if ctx.is_authenticated else None
        offer.reviewed_at = now
        offer.save(update_fields=["status", "bucket_count", "reviewed_by", "reviewed_at"])
        Participation.objects.update_or_create(
            campaign=offer.campaign,
            org=offer.org,
            defaults={"status": ParticipationStatus.APPROVED},
        )
        audit.record(ctx, "offer.approved", offer, before=before, after=_offer_snapshot(offer))
        _schedule_end(offer)
    forget_remaining(offer.pk)
    return offer


def _schedule_end(offer: Offer) -> None:
    from ..tasks import end_offer_task

    # Written in this transaction (django-tasks-db): if approval rolls back, so does this.
    end_offer_task.using(run_after=offer.sale_ends_at).enqueue(offer.pk)


def reject_offer(ctx: Context, public_id: str, note: str = "") -> Offer:
    require_platform_staff(ctx)
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationFailed.single("note", _("Use at most 300 characters."), "too_long")
    with transaction.atomic():
        offer = _locked_offer(public_id)
        if offer.status == OfferStatus.REJECTED:
            return offer
        if offer.status != OfferStatus.PENDING:
            raise Conflict(_("Only an offer waiting for approval can be rejected."))
        offer.status = OfferStatus.REJECTED
        offer.review_note = note
        offer.reviewed_by = ctx.user if ctx.is_authenticated else None
        offer.reviewed_at = clock.now()
        offer.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
        audit.record(ctx, "offer.rejected", offer, after={"status": offer.status, "note": note})
    return offer


def end_offer(ctx: Context, offer_id: int, *, reason: str = "ended") -> Offer:
    """Close an approved offer: drain its buckets and release the unclaimed units to stock.

    Claims already held stay reserved (checkout consumes or releases them). Idempotent.
    """
    if reason == "manual":
        require_platform_staff(ctx)
    with _writer_lock(), transaction.atomic():
        try:
            # NO KEY UPDATE: claims being inserted (FK checks take KEY SHARE on the offer) go
            # on; releases (FOR SHARE) wait, so none refills a bucket being drained.
            offer = (
                Offer.objects.select_for_update(no_key=True, of=("self",))
                .select_related("org")
                .get(pk=offer_id)
            )
        except Offer.DoesNotExist:
            raise NotFound(_("Offer not found.")) from None
        if offer.status != OfferStatus.APPROVED:
            return offer
        # Index order, as claims lock buckets: no deadlock with a claim spanning buckets.
        buckets = list(
            OfferBucket.objects.select_for_update().filter(offer=offer).order_by("index")
        )
        unclaimed = sum(b.remaining for b in buckets)
        OfferBucket.objects.filter(offer=offer).update(remaining=0)
        if unclaimed:
            _inventory().release(_on_behalf(ctx, offer.org), offer.reservation_key, qty=unclaimed)
        offer.status = OfferStatus.ENDED
        offer.ended_at = clock.now()
        offer.returned_units += unclaimed
        offer.save(update_fields=["status", "ended_at", "returned_units"])
        audit.record(
            ctx,
            "offer.ended",
            offer,
            after={"status": offer.status, "returned_units": unclaimed, "reason": reason},
        )
    forget_remaining(offer.pk)
    return offer


def end_offer_by_staff(ctx: Context, public_id: str) -> Offer:
    require_platform_staff(ctx)
    offer = Offer.objects.filter(public_id=public_id).only("pk").first()
    if offer is None:
        raise NotFound(_("Offer not found."))
    return end_offer(ctx, offer.pk, reason="manual")


def close_ended_offers(ctx: Context | None = None) -> int:
    """End every approved offer whose sale is over; expire pending ones. Returns how many."""
    ctx = ctx or Context.system()
    now = clock.now()
    ended = 0
    for offer_id in Offer.objects.filter(
        status=OfferStatus.APPROVED, sale_ends_at__lte=now
    ).values_list("pk", flat=True):
        end_offer(ctx, offer_id)
        ended += 1
    ended += Offer.objects.filter(status=OfferStatus.PENDING, sale_ends_at__lte=now).update(
        status=OfferStatus.ENDED, ended_at=now
    )
    Campaign.objects.filter(closed_at__isnull=True, ends_at__lte=now).exclude(
        offers__status__in=[OfferStatus.PENDING, OfferStatus.APPROVED]
    ).update(closed_at=now)
    return ended
