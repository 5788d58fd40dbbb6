"""Portal pages: one landing page per portal, operations' merchant approval, merchant settings.

The storefront's pages are in ``web.storefront``.

Views stay thin: the rules are in ``accounts.domain`` and ``accounts.services``. A service's
NotFound / PermissionDenied becomes the 404 / 403 page in ``core.middleware``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehub.accounts import services
from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import OrgStatus, Portal
from ehub.accounts.forms import TokenForm, TrainerForm
from ehub.core.errors import Conflict, ValidationFailed
from ehub.core.forms import add_service_errors

PAGE_SIZE = 25


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# ---------------------------------------------------------------------------------------------
# Landing pages
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.MERCHANT)
def merchant(request):
    org = context_of(request).org
    pending = org is not None and org.status == OrgStatus.PENDING
    return render(request, "web/merchant.html", {"portal": Portal.MERCHANT, "org_pending": pending})


@require_GET
@portal_required(Portal.HUB)
def hub(request):
    return render(request, "web/hub.html", {"portal": Portal.HUB})


@require_GET
@portal_required(Portal.CUSTOMS)
def customs(request):
    return render(request, "web/customs.html", {"portal": Portal.CUSTOMS})


@require_GET
@portal_required(Portal.ACADEMY)
def academy(request):
    return render(request, "web/academy.html", {"portal": Portal.ACADEMY})


@require_GET
@portal_required(Portal.OPS)
def ops(request):
    return render(request, "web/ops.html", {"portal": Portal.OPS})


# ---------------------------------------------------------------------------------------------
# Operations: approve merchants
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.OPS)
def ops_merchants(request):
    pending = services.pending_merchants(context_of(request))
    return render(
        request,
        "web/ops_merchants.html",
        {"portal": Portal.OPS, "page_obj": _page(request, pending)},
    )


@require_POST
@portal_required(Portal.OPS)
def ops_approve(request, org_id: int):
    org = services.approve_org(context_of(request), org_id)
    messages.success(request, _("%(name)s is approved and may now sell.") % {"name": org.name})
    return redirect("web:ops_merchants")


# ---------------------------------------------------------------------------------------------
# Operations: the academy's trainers
# ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_required(Portal.OPS)
def ops_trainers(request):
    ctx = context_of(request)
    form = TrainerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.appoint_trainer(ctx, form.cleaned_data["email"])
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request,
                _("%(name)s is a trainer now.")
                % {"name": membership.user.get_full_name() or membership.user.email},
            )
            return redirect("web:ops_trainers")
    return render(
        request,
        "web/ops_trainers.html",
        {"portal": Portal.OPS, "trainers": services.trainers(ctx), "form": form},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@portal_required(Portal.OPS)
def ops_trainer_dismiss(request, membership_id: int):
    services.dismiss_trainer(context_of(request), membership_id)
    messages.success(request, _("Trainer role removed."))
    return redirect("web:ops_trainers")


# ---------------------------------------------------------------------------------------------
# Merchant settings: API tokens
# ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_required(Portal.MERCHANT)
def merchant_settings(request):
    ctx = context_of(request)
    issued = None
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.create_token(ctx, form.cleaned_data["name"])
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            form = TokenForm()
    tokens = services.list_tokens(ctx)
    response = render(
        request,
        "web/merchant_settings.html",
        {
            "portal": Portal.MERCHANT,
            "form": form,
            "issued": issued,
            "page_obj": _page(request, tokens),
        },
        status=422 if request.method == "POST" and issued is None else 200,
    )
    if issued is not None:
        # The secret is in this page only: keep it out of every cache and the history.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_required(Portal.MERCHANT)
def token_revoke(request, token_id: int):
    token = services.revoke_token(context_of(request), token_id)
    messages.success(request, _("Token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("web:merchant_settings")
