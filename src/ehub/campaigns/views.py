"""Campaign pages: the buyers' campaign page and live fragment, merchants' offers, staff review.

Thin: every rule is in ``campaigns.services``. Times are shown in the viewer's time zone
(``viewer_timezone``: a choice kept in the session, else the language's default - Chinese
readers get Asia/Shanghai).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.catalog.services.storefront import CURRENCY_SESSION_KEY, display_currency
from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, ValidationFailed
from ehub.core.forms import add_service_errors

from . import domain, services
from .forms import CampaignForm, OfferForm, RejectForm, local_input
from .models import Offer

TIMEZONE_SESSION_KEY = "ehub_timezone"
PAGE_SIZE = 25
POLL_SECONDS = 3


def viewer_timezone(request) -> str:
    chosen = request.session.get(TIMEZONE_SESSION_KEY) if hasattr(request, "session") else None
    return domain.timezone_for(get_language(), chosen)


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# ---------------------------------------------------------------------------------------------
# Buyers
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.STOREFRONT)
def campaign_detail(request, slug: str):
    language = get_language() or "en"
    zone = viewer_timezone(request)
    # The storefront's currency switcher (session) wins, else the language's currency.
    currency = display_currency(request.session.get(CURRENCY_SESSION_KEY), language)
    page = services.campaign_page(slug, language=language, currency=currency)
    with timezone.override(zone):
        return render(
            request,
            "campaigns/campaign_detail.html",
            {
                "portal": Portal.STOREFRONT,
                "page": page,
                "campaign": page.campaign,
                "server_now": clock.now(),
                "viewer_timezone": zone,
                "timezones": domain.TIMEZONES,
                "poll_seconds": POLL_SECONDS,
                "Phase": domain.Phase,
            },
        )


@require_GET
def campaign_live(request, slug: str):
    """The polled fragment: per offer, its countdown, units left, or sold out / ended.

    One query at most (and none while the second-long cache is warm)."""
    states = services.offer_states(slug)
    return render(
        request,
        "campaigns/_live_states.html",
        {"states": states, "server_now": clock.now(), "Phase": domain.Phase},
    )


@require_POST
def set_timezone(request):
    zone = request.POST.get("timezone", "")
    if zone in domain.TIMEZONES:
        request.session[TIMEZONE_SESSION_KEY] = zone
    else:
        request.session.pop(TIMEZONE_SESSION_KEY, None)
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return HttpResponseRedirect(target)


# ---------------------------------------------------------------------------------------------
# Merchants
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.MERCHANT)
def merchant_index(request):
    ctx = context_of(request)
    offers = services.merchant_offers(ctx)
    campaigns = list(services.open_campaigns(ctx))
    shortfalls = services.readiness_shortfalls(ctx, campaigns)
    with timezone.override(viewer_timezone(request)):
        return render(
            request,
            "campaigns/merchant_index.html",
            {
                "portal": Portal.MERCHANT,
                "campaigns": [(c, shortfalls.get(c.pk)) for c in campaigns],
                "page_obj": _page(request, offers),
                "language": get_language(),
            },
        )


@require_http_methods(["GET", "POST"])
@portal_required(Portal.MERCHANT)
def merchant_apply(request, public_id: str):
    ctx = context_of(request)
    campaign = services.open_campaigns(ctx).filter(public_id=public_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    skus = list(services.merchant_skus(ctx))
    form = OfferForm(
        request.POST if request.method == "POST" else None, skus=skus, hubs=services.hubs()
    )
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.apply_offer(ctx, public_id, form.input_data())
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Offer %(offer)s sent: platform staff will review it.")
                % {"offer": offer.public_id},
            )
            return redirect("campaigns_merchant:index")
    with timezone.override(viewer_timezone(request)):
        return render(
            request,
            "campaigns/merchant_apply.html",
            {
                "portal": Portal.MERCHANT,
                "campaign": campaign,
                "campaign_name": campaign.name_in(get_language()),
                "form": form,
                "has_skus": bool(skus),
                "shortfall": services.readiness_shortfalls(ctx, [campaign]).get(campaign.pk),
            },
            status=422 if request.method == "POST" else 200,
        )


@require_POST
@portal_required(Portal.MERCHANT)
def merchant_withdraw(request, public_id: str):
    try:
        offer = services.withdraw_offer(context_of(request), public_id)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Offer %(offer)s withdrawn.") % {"offer": offer.public_id})
    return redirect("campaigns_merchant:index")


# ---------------------------------------------------------------------------------------------
# Operations (platform staff)
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.OPS)
def ops_index(request):
    campaigns = services.campaigns_for_staff(context_of(request))
    with timezone.override(viewer_timezone(request)):
        return render(
            request,
            "campaigns/ops_index.html",
            {"portal": Portal.OPS, "page_obj": _page(request, campaigns)},
        )


def _campaign_form_page(request, campaign=None):
    ctx = context_of(request)
    services.campaigns_for_staff(ctx)  # permission check before showing the form
    initial = {}
    if campaign is not None:
        zone = "Asia/Shanghai"
        initial = {
            name: getattr(campaign, name)
            for name in (
                "name_en",
                "name_ms",
                "name_zh_hans",
                "slug",
                "banner_text_en",
                "banner_text_ms",
                "banner_text_zh_hans",
                "target_market",
                "status",
                "min_readiness",
            )
        }
        initial |= {
            "timezone": zone,
            "starts_at": local_input(campaign.starts_at, zone),
            "ends_at": local_input(campaign.ends_at, zone),
        }
    if request.method == "POST":
        form = CampaignForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                if campaign is None:
                    saved = services.create_campaign(ctx, form.input_data())
                else:
                    saved = services.update_campaign(ctx, campaign.public_id, form.input_data())
            except ValidationFailed as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("campaigns_ops:detail", public_id=saved.public_id)
    else:
        form = CampaignForm(initial=initial)
    return render(
        request,
        "campaigns/ops_form.html",
        {"portal": Portal.OPS, "form": form, "campaign": campaign},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_required(Portal.OPS)
def ops_create(request):
    return _campaign_form_page(request)


@require_http_methods(["GET", "POST"])
@portal_required(Portal.OPS)
def ops_edit(request, public_id: str):
    campaign = services.campaign_for_staff(context_of(request), public_id)
    return _campaign_form_page(request, campaign)


@require_GET
@portal_required(Portal.OPS)
def ops_detail(request, public_id: str):
    ctx = context_of(request)
    campaign = services.campaign_for_staff(ctx, public_id)
    offers = services.offers_for_staff(ctx, campaign)
    with timezone.override(viewer_timezone(request)):
        return render(
            request,
            "campaigns/ops_detail.html",
            {
                "portal": Portal.OPS,
                "campaign": campaign,
                "page_obj": _page(request, offers),
                "reject_form": RejectForm(),
            },
        )


def _review(request, public_id: str, action):
    offer = Offer.objects.filter(public_id=public_id).select_related("campaign").first()
    if offer is None:
        raise Http404(_("Offer not found."))
    try:
        action(context_of(request), offer)
    except ValidationFailed as exc:
        for err in exc.errors or []:
            messages.error(request, f"{offer.public_id} · {_label(err.field)}: {err.message}")
        if not exc.errors:
            messages.error(request, exc.detail)
    except Conflict as exc:
        messages.error(request, f"{offer.public_id}: {exc.detail}")
    return redirect(reverse("campaigns_ops:detail", kwargs={"public_id": offer.campaign.public_id}))


def _label(field: str) -> str:
    labels = {"allocated_units": _("Allocated units"), "note": _("Reason")}
    return str(labels.get(field, field))


@require_POST
@portal_required(Portal.OPS)
def ops_approve(request, public_id: str):
    def act(ctx, offer):
        services.approve_offer(ctx, offer.public_id)
        messages.success(request, _("Offer %(offer)s approved.") % {"offer": offer.public_id})

    return _review(request, public_id, act)


@require_POST
@portal_required(Portal.OPS)
def ops_reject(request, public_id: str):
    def act(ctx, offer):
        services.reject_offer(ctx, offer.public_id, request.POST.get("note", ""))
        messages.success(request, _("Offer %(offer)s rejected.") % {"offer": offer.public_id})

    return _review(request, public_id, act)


@require_POST
@portal_required(Portal.OPS)
def ops_end(request, public_id: str):
    def act(ctx, offer):
        ended = services.end_offer_by_staff(ctx, offer.public_id)
        messages.success(
            request,
            _("Offer %(offer)s ended; %(units)d units went back to stock.")
            % {"offer": offer.public_id, "units": ended.returned_units},
        )

    return _review(request, public_id, act)
