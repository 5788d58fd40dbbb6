"""Merchant finance pages (``/merchant/finance/``): balance, history, payouts, statements and
the bank account. Scoped to the active merchant organization."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.core import clock
from ehub.core.errors import PermissionDenied, ValidationFailed
from ehub.core.forms import add_service_errors

from . import payouts
from .models import BankAccount
from .statements import KL, render_statement

PAGE_SIZE = 25
merchant_page = portal_required(Portal.MERCHANT)


@require_GET
@merchant_page
def overview(request):
    ctx = context_of(request)
    org = ctx.org
    page = Paginator(payouts.history_of(org), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(t, payouts.signed_amount(t, org)) for t in page.object_list]
    now = clock.now().astimezone(KL)
    months = []
    year, month = now.year, now.month
    for _i in range(6):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return render(
        request,
        "payments/merchant_finance.html",
        {
            "portal": Portal.MERCHANT,
            "balance": payouts.balance_of(org),
            "rows": rows,
            "page_obj": page,
            "recent_payouts": list(payouts.payouts_of(ctx)[:10]),
            "bank": BankAccount.objects.filter(merchant_org=org).first(),
            "minimum": payouts.payout_minimum(),
            "months": months,
        },
    )


@require_GET
@merchant_page
def statement(request, month: str):
    ctx = context_of(request)
    try:
        parsed = dt.datetime.strptime(month, "%Y-%m")
    except ValueError as exc:
        raise Http404(_("No such month.")) from exc
    pdf = render_statement(ctx.org, parsed.year, parsed.month)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"ehub-statement-{ctx.org.public_id}-{month}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class BankAccountForm(forms.Form):
    bank_name = forms.CharField(label=gettext_lazy("Bank"), max_length=100)
    holder_name = forms.CharField(label=gettext_lazy("Account holder"), max_length=200)
    account_number = forms.CharField(label=gettext_lazy("Account number"), max_length=30)
    swift_code = forms.CharField(label=gettext_lazy("SWIFT code"), max_length=11, required=False)


@require_http_methods(["GET", "POST"])
@merchant_page
def bank_account(request):
    ctx = context_of(request)
    current = BankAccount.objects.filter(merchant_org=ctx.org).first()
    form = BankAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payouts.set_bank_account(ctx, **form.cleaned_data)
        except (ValidationFailed, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Bank account saved."))
            return redirect("payments_merchant:overview")
    return render(
        request,
        "payments/bank_account.html",
        {"portal": Portal.MERCHANT, "form": form, "current": current},
    )
