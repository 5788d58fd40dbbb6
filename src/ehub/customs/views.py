"""The customs officer console: the queue of declarations to decide and one declaration's page
(documents side by side with mismatches marked, tax, risk reasons, the buyer's quota, the
3-hour handling clock, and the release / inspect / reject form). Thin: services decide."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.core import clock
from ehub.core.errors import DomainError
from ehub.core.money import Money
from ehub.customs import declarations, services
from ehub.customs.domain.codes import RECEIPT_KINDS, RETURN_STATUSES, TAX_BILL_STATUSES
from ehub.customs.models import Lane

HANDLING_TARGET = timedelta(hours=3)


def _timeline(decl) -> list[dict]:
    """Every customs answer in arrival order: list receipts (CEB622), the receipts of the
    order, payment and waybill (CEB312/412/512) and the tax bill (CEB816), each labelled."""
    rows = []
    for r in decl.receipts.all():
        labels = TAX_BILL_STATUSES if r.kind == "CEB816" else RETURN_STATUSES
        rows.append(
            {
                "time": r.return_time,
                "kind": r.kind,
                "kind_label": RECEIPT_KINDS.get(r.kind, r.kind),
                "status": r.return_status,
                "status_label": labels.get(r.return_status, ""),
                "info": r.return_info,
                "ignored": r.kind == "CEB622" and not r.moved,
            }
        )
    return rows


TAX_KEYS = ("dutiable", "duty", "consumption_tax", "vat")
PER_PAGE = 25
REGIME_LABELS = {
    "cbec": _("Cross-border e-commerce, within the limits"),
    "cbec_full": _("Cross-border e-commerce, single item taxed in full"),
    "refused": _("Refused: cannot clear as cross-border e-commerce"),
}
ACTIONS = {
    "release": (declarations.release, _("Release")),
    "inspect": (declarations.inspect, _("Inspect")),
    "reject": (declarations.reject, pgettext_lazy("customs decision", "Reject")),
}
QUEUE_STATUS_CHOICES = [("", _("Any status"))] + [
    # format_lazy keeps the label translatable (an f-string would freeze it in English).
    (code, format_lazy("{} {}", code, RETURN_STATUSES[code]))
    for code in declarations.QUEUE_STATUSES
]


class QueueFilter(forms.Form):
    lane = forms.ChoiceField(
        label=_("Lane"), required=False, choices=[("", _("Amber and red")), *Lane.choices[1:]]
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=QUEUE_STATUS_CHOICES)


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Decision"), choices=[(k, label) for k, (_fn, label) in ACTIONS.items()]
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=900, widget=forms.Textarea(attrs={"rows": 3})
    )


def _officer(request):
    ctx = context_of(request)
    if ctx.org_kind != declarations.CUSTOMS_AUTHORITY:
        raise Http404
    return ctx


@portal_required(Portal.CUSTOMS)
def queue(request):
    _officer(request)
    form = QueueFilter(request.GET or None)
    lane = status = ""
    if form.is_valid():
        lane, status = form.cleaned_data["lane"], form.cleaned_data["status"]
    page = Paginator(declarations.officer_queue(lane, status), PER_PAGE).get_page(
        request.GET.get("page")
    )
    now = clock.now()
    rows = [(decl, _clock(decl, now)) for decl in page.object_list]
    query = "&".join(f"{k}={v}" for k, v in (("lane", lane), ("status", status)) if v)
    return render(
        request,
        "customs/queue.html",
        {
            "portal": Portal.CUSTOMS,
            "form": form,
            "page_obj": page,
            "rows": rows,
            "page_query": query + "&" if query else "",
        },
    )


def _clock(decl, now) -> dict:
    start = decl.declared_at or decl.created_at
    end = decl.released_at if decl.status in ("800", "100") and decl.released_at else now
    elapsed = max(end - start, timedelta(0))
    minutes = int(elapsed.total_seconds() // 60)
    target = int(HANDLING_TARGET.total_seconds() // 60)
    return {
        "hours": minutes // 60,
        "minutes": minutes % 60,
        "elapsed": minutes,
        "target": target,
        "late": elapsed > HANDLING_TARGET,
    }


# Fields compared side by side: (label, order field, payment field, waybill field).
COMPARED = [
    (_("Order number"), "orderNo", "orderNo", "orderNo"),
    (_("Payment transaction"), "payTransactionId", "payTransactionId", ""),
    (_("Payment company"), "payCode", "payCode", ""),
    (_("Amount paid"), "acturalPaid", "amountPaid", ""),
    (_("Buyer / payer"), "buyerName", "payerName", ""),
    (_("ID number"), "buyerIdNumber", "payerIdNumber", ""),
    (_("Freight"), "freight", "", "freight"),
    (_("Consignee"), "consignee", "", "consignee"),
    (_("Consignee telephone"), "consigneeTelephone", "", "consigneeTelephone"),
    (_("Consignee address"), "consigneeAddress", "", "consigneeAddress"),
]
PATHS = (
    "CEB311/Order/OrderHead/",
    "CEB411/Payment/PaymentHead/",
    "CEB511/Logistics/LogisticsHead/",
)


def _comparison(decl, docs: dict) -> list[dict]:
    flagged = {path for m in decl.mismatches for path in m.get("paths", [])}
    heads = (
        (docs.get("CEB311") or {}).get("OrderHead") or {},
        (docs.get("CEB411") or {}).get("PaymentHead") or {},
        (docs.get("CEB511") or {}).get("LogisticsHead") or {},
    )
    rows = []
    for label, *names in COMPARED:
        cells = []
        for prefix, head, name in zip(PATHS, heads, names, strict=True):
            cells.append(
                {
                    "value": head.get(name, "") if name else None,
                    "mismatch": bool(name) and prefix + name in flagged,
                }
            )
        rows.append({"label": label, "cells": cells, "mismatch": any(c["mismatch"] for c in cells)})
    return rows


def _money_rows(tax: dict) -> list[tuple]:
    keys = [
        ("goods_value", _("Goods value")),
        ("freight", _("Freight")),
        ("insurance", _("Insurance")),
        ("discount", _("Non-cash discount")),
        ("dutiable", _("Dutiable price")),
        ("duty", _("Customs duty")),
        ("consumption_tax", _("Consumption tax")),
        ("vat", _("Import VAT")),
        ("total", _("Tax total")),
    ]
    return [(label, Money(tax.get(key, 0), "CNY")) for key, label in keys]


@portal_required(Portal.CUSTOMS)
def detail(request, public_id: str):
    ctx = _officer(request)
    decl = declarations.declaration_of(ctx, public_id)  # NotFound becomes a 404 page
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action, _label = ACTIONS[form.cleaned_data["action"]]
        try:
            action(ctx, decl, form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.detail)
        else:
            return redirect("customs:detail", public_id=decl.public_id)
    docs = {doc.kind: doc.fields for doc in decl.documents.all()}
    tax = decl.tax or {}
    lines = [
        {**line, **{k: Money(line[k], "CNY") for k in TAX_KEYS}} for line in tax.get("lines", [])
    ]
    inventory = docs.get("CEB621") or {}
    return render(
        request,
        "customs/detail.html",
        {
            "portal": Portal.CUSTOMS,
            "decl": decl,
            "regime_label": REGIME_LABELS.get(decl.regime, decl.regime),
            "status_label": RETURN_STATUSES.get(decl.status, decl.status),
            "comparison": _comparison(decl, docs),
            "order_lines": (docs.get("CEB311") or {}).get("OrderList", []),
            "list_lines": inventory.get("InventoryList", []),
            "tax_rows": _money_rows(tax),
            "tax_lines": lines,
            "quota": services.declaration_quota_usage(decl),
            "clock": _clock(decl, clock.now()),
            "receipts": _timeline(decl),
            "form": form,
            "decidable": decl.status in declarations.QUEUE_STATUSES,
        },
    )
