"""Platform finance pages (``/ops/finance/``): payout batches, running one, the bank file.

A service's NotFound / PermissionDenied becomes a 404 / 403 page in
``core.middleware.DomainErrorPagesMiddleware``."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal

from . import payouts

ops_page = portal_required(Portal.OPS)


@require_GET
@ops_page
def batches(request):
    ctx = context_of(request)
    page = Paginator(payouts.batches(ctx), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/ops_batches.html",
        {
            "portal": Portal.OPS,
            "page_obj": page,
            "figures": payouts.platform_figures(ctx),
            "minimum": payouts.payout_minimum(),
        },
    )


@require_POST
@ops_page
def run_batch(request):
    batch = payouts.run_payout_batch(context_of(request))
    messages.success(
        request,
        _("Payout batch %(id)s: %(count)d payouts.")
        % {"id": batch.public_id, "count": batch.count},
    )
    return redirect("payments_ops:batch", public_id=batch.public_id)


@require_GET
@ops_page
def batch_detail(request, public_id: str):
    batch = payouts.batch_of(context_of(request), public_id)
    rows = list(batch.payouts.select_related("merchant_org").order_by("pk"))
    return render(
        request, "payments/ops_batch.html", {"portal": Portal.OPS, "batch": batch, "rows": rows}
    )


@require_GET
@ops_page
def batch_csv(request, public_id: str):
    ctx = context_of(request)
    batch = payouts.batch_of(ctx, public_id)
    body = payouts.payout_csv(ctx, batch)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payouts-{batch.run_on}.csv"'
    return response
