"""Merchant pages for stock (``/merchant/stock/``): levels per SKU per hub, adjustments, and the
movement history of a SKU. Thin: ``services.inventory`` does the work and the scoping.

The adjustment form works with and without JavaScript. With htmx it posts in place and the
view answers with the panel it replaces (form, message, levels); without, it is a normal
post-redirect-get. Invalid input is answered 422 either way (the page's htmx config swaps 422
responses so the errors appear inline).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.core.errors import FieldError, ValidationFailed
from ehub.core.forms import add_service_errors

from ..models import MovementReason
from ..services import inventory
from ..services.products import display_title

PAGE_SIZE = 25
merchant_page = portal_required(Portal.MERCHANT)


def title_of(product, language: str | None = None) -> str:
    """The product title in the active language, else English, else any (prefetched)."""
    return display_title(product, (language or get_language() or "en").lower())


class SkuChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        title = title_of(obj.product)
        return f"{obj.code} · {title}" if title else obj.code


class HubChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


class AdjustmentForm(forms.Form):
    ADD, REMOVE, SET = "add", "remove", "set"
    MODES = [
        (ADD, gettext_lazy("Add units (goods arrived)")),
        (REMOVE, gettext_lazy("Remove units (damaged, lost)")),
        (SET, gettext_lazy("Set the counted quantity (stock take)")),
    ]

    sku = SkuChoice(queryset=None, label=gettext_lazy("SKU"), empty_label=None)
    hub = HubChoice(queryset=None, label=gettext_lazy("Hub"), empty_label=None)
    mode = forms.ChoiceField(
        label=gettext_lazy("Change"), choices=MODES, initial=ADD, widget=forms.RadioSelect
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), min_value=0, max_value=1_000_000_000
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Why the stock changes, e.g. “stock take 9 Sep”."),
    )

    def __init__(self, ctx, *args, fixed_sku=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if fixed_sku is not None:
            self.fields["sku"].queryset = inventory.skus(ctx).filter(pk=fixed_sku.pk)
            self.fields["sku"].initial = fixed_sku.pk
            self.fields["sku"].widget = forms.HiddenInput()
        else:
            self.fields["sku"].queryset = inventory.skus(ctx).prefetch_related(
                "product__translations"
            )
        self.fields["hub"].queryset = inventory.hubs()
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric", "size": 8})

    def clean(self):
        data = super().clean()
        if data.get("mode") in (self.ADD, self.REMOVE) and data.get("quantity") == 0:
            self.add_error("quantity", _("Enter a quantity of at least 1."))
        return data

    def save(self, ctx):
        """Apply the adjustment through the service; service errors land on form fields."""
        data = self.cleaned_data
        try:
            if data["mode"] == self.SET:
                return inventory.set_on_hand(
                    ctx, data["sku"], data["hub"], data["quantity"], data["note"]
                )
            delta = data["quantity"] if data["mode"] == self.ADD else -data["quantity"]
            return inventory.adjust(ctx, data["sku"], data["hub"], delta, data["note"])
        except ValidationFailed as exc:
            # The service names its own inputs; this form asks for one quantity.
            renamed = [
                FieldError(
                    "quantity" if e.field in ("delta", "on_hand") else e.field, e.message, e.code
                )
                for e in exc.errors
            ]
            add_service_errors(self, ValidationFailed(renamed))
            return False


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _stock_rows(ctx):
    return inventory.stock_levels(ctx).prefetch_related("sku__product__translations")


def _done_message(movement) -> str:
    if movement is None:
        return _("The count matches what is on hand; nothing changed.")
    return _("Stock updated: %(on_hand)d on hand, %(available)d available.") % {
        "on_hand": movement.on_hand_after,
        "available": movement.on_hand_after - movement.reserved_after,
    }


@require_http_methods(["GET", "POST"])
@merchant_page
def stock_list(request):
    """Every stock row of the merchant, with the adjustment form above it."""
    ctx = context_of(request)
    done = None
    status = 200
    initial = {k: request.GET[k] for k in ("sku", "hub") if request.GET.get(k, "").isdigit()}
    form = AdjustmentForm(ctx, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        movement = form.save(ctx) if form.is_valid() else False
        if movement is False:
            status = 422
        else:
            done = _done_message(movement)
            if not _is_htmx(request):
                messages.success(request, done)
                return redirect(request.get_full_path())
            form = AdjustmentForm(ctx, initial=initial)
    page_obj = _page(request, _stock_rows(ctx))
    context = {
        "portal": Portal.MERCHANT,
        "form": form,
        "done": done,
        "page_obj": page_obj,
        "rows": [(stock, title_of(stock.sku.product)) for stock in page_obj],
        "has_hubs": inventory.hubs().exists(),
        "has_skus": inventory.skus(ctx).exists(),
        "action": request.get_full_path(),
    }
    template = "catalog/inventory/_stock_panel.html" if _is_htmx(request) else None
    return render(request, template or "catalog/inventory/stock_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@merchant_page
def sku_stock(request, sku_id: int):
    """One SKU: its level at each hub, an adjustment form, and its movements (newest first)."""
    ctx = context_of(request)
    sku = inventory.skus(ctx).prefetch_related("product__translations").filter(pk=sku_id).first()
    if sku is None:
        raise Http404(_("SKU not found."))
    done = None
    status = 200
    form = AdjustmentForm(ctx, request.POST if request.method == "POST" else None, fixed_sku=sku)
    if request.method == "POST":
        movement = form.save(ctx) if form.is_valid() else False
        if movement is False:
            status = 422
        else:
            done = _done_message(movement)
            if not _is_htmx(request):
                messages.success(request, done)
                return redirect(request.path)
            form = AdjustmentForm(ctx, fixed_sku=sku)
    history = inventory.movements(ctx, sku=sku).select_related(None).select_related("stock__hub")
    reason = request.GET.get("reason", "")
    if reason in MovementReason.values:
        history = history.filter(reason=reason)
    context = {
        "portal": Portal.MERCHANT,
        "sku": sku,
        "title": title_of(sku.product),
        "form": form,
        "done": done,
        "levels": list(inventory.stock_levels(ctx, sku=sku)),
        "page_obj": _page(request, history),
        "reasons": MovementReason.choices,
        "reason": reason,
        "page_query": f"{urlencode({'reason': reason})}&" if reason else "",
        "has_hubs": inventory.hubs().exists(),
        "has_skus": None,
        "action": request.path,
    }
    template = "catalog/inventory/_sku_panel.html" if _is_htmx(request) else None
    return render(request, template or "catalog/inventory/sku_stock.html", context, status=status)
