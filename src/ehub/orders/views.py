"""Portal pages of orders: the cart and checkout, the buyer's orders, the merchant's orders to
fulfil and the operations view. Thin: they call services and show their errors inline.
Scoping lives in ``services.reads``: another buyer's or merchant's order is a 404 (the NotFound
escaping a view is turned into the 404 page by ``core.middleware.DomainErrorPagesMiddleware``).
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.accounts.models import BuyerProfile
from ehub.core.errors import DomainError, NotFound, PermissionDenied

from .domain import STATUS_LABELS, clean_consignee
from .services import carts, checkout, lifecycle, reads

CART_TOKEN = "ehub_cart_token"  # noqa: S105 - a session key name, not a secret
PAGE_SIZE = 25
DETAIL_FIELDS = ("name", "id_number", "phone", "province", "city", "district", "street", "postcode")


def _cart_token(request, *, create: bool) -> str:
    token = request.session.get(CART_TOKEN, "")
    if not token and create:
        token = request.session[CART_TOKEN] = secrets.token_urlsafe(24)
    return token


def current_cart(request, *, create: bool = False):
    ctx = context_of(request)
    return carts.cart_of(
        ctx, _cart_token(request, create=create and not ctx.is_authenticated), create=create
    )


def _remember(request, cart) -> None:
    """Refresh the header's cart count kept in the session (see ``carts.remember_count``)."""
    carts.remember_count(request.session, getattr(request, "user", None), cart)


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


# -- cart -------------------------------------------------------------------------------------


@require_GET
def cart_page(request):
    cart = current_cart(request)
    _remember(request, cart)
    return render(request, "orders/cart.html", {"cart": carts.view(cart, get_language())})


@require_POST
def cart_add(request):
    ctx = context_of(request)
    cart = current_cart(request, create=True)
    try:
        qty = int(request.POST.get("qty") or 1)
    except ValueError:
        qty = 0
    try:
        carts.add_line(
            ctx,
            cart,
            product=request.POST.get("product", ""),
            sku=request.POST.get("sku", ""),
            offer=request.POST.get("offer", ""),
            qty=qty,
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Added to your cart."))
    _remember(request, cart)
    return redirect("cart:index")


@require_POST
def cart_line(request, line_id: int):
    ctx = context_of(request)
    cart = current_cart(request)
    if cart is None:
        raise Http404
    try:
        qty = int(request.POST.get("qty") or 0)
    except ValueError:
        qty = -1
    try:
        carts.set_qty(ctx, cart, line_id, qty)
    except DomainError as exc:
        messages.error(request, exc.detail)
    _remember(request, cart)
    return redirect("cart:index")


def _prefill(ctx) -> dict:
    profile = BuyerProfile.objects.filter(user=ctx.user).first()
    if profile is None:
        return {}
    return {"name": profile.real_name, "id_number": profile.id_number, "phone": profile.phone}


@require_http_methods(["GET", "POST"])
@login_required
def checkout_page(request):
    ctx = context_of(request)
    cart = current_cart(request)
    view = carts.view(cart, get_language())
    if not view.lines:
        messages.info(request, _("Your cart is empty."))
        return redirect("cart:index")
    data = (
        {name: request.POST.get(name, "") for name in DETAIL_FIELDS}
        if request.method == "POST"
        else _prefill(ctx)
    )
    errors: dict[str, list[str]] = {}
    quote = None
    if request.method == "POST":
        action = request.POST.get("action", "quote")
        try:
            if action == "place":
                placement = checkout.place(
                    ctx,
                    cart,
                    data,
                    quote_id=request.POST.get("quote", ""),
                    idempotency_key=request.POST.get("idempotency_key", ""),
                    language=get_language(),
                )
                _remember(request, cart)
                return HttpResponseRedirect(placement.checkout_url)
            _consignee, field_errors = clean_consignee(data)
            for error in field_errors:
                errors.setdefault(error.field, []).append(str(error.message))
            quote = checkout.quote(
                ctx,
                cart,
                id_number=data.get("id_number", "") if "id_number" not in errors else "",
                province=data.get("province", ""),
                language=get_language(),
            )
        except DomainError as exc:
            for error in exc.errors or []:
                errors.setdefault(error.field, []).append(str(error.message))
            if not exc.errors:
                messages.error(request, exc.detail)
    return render(
        request,
        "orders/checkout.html",
        {
            "cart": view,
            "data": data,
            "errors": errors,
            "quote": quote,
            "idempotency_key": secrets.token_urlsafe(16),
            "can_place": quote is not None and not quote.refused and not errors,
        },
    )


# -- buyer's orders ---------------------------------------------------------------------------


@require_GET
@login_required
def order_list(request):
    page = _page(request, reads.buyer_orders(context_of(request)))
    return render(request, "orders/list.html", {"page_obj": page, "portal_kind": "buyer"})


@require_GET
@login_required
def placed(request, checkout_id: str):
    orders = reads.checkout_orders(context_of(request), checkout_id)
    return render(request, "orders/placed.html", {"orders": orders})


@require_GET
@login_required
def order_detail(request, public_id: str):
    detail = reads.buyer_order(context_of(request), public_id)
    return render(request, "orders/detail.html", {"detail": detail, "audience": "buyer"})


def _act(request, public_id: str, action):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("orders:detail", args=[public_id]))
    try:
        action(context_of(request))
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Done."))
    return redirect("orders:detail", public_id)


@require_POST
def order_confirm(request, public_id: str):
    return _act(request, public_id, lambda ctx: lifecycle.confirm_receipt(ctx, public_id))


@require_POST
def order_refund(request, public_id: str):
    reason = request.POST.get("reason", "")
    return _act(request, public_id, lambda ctx: lifecycle.request_refund(ctx, public_id, reason))


@require_POST
def order_cancel(request, public_id: str):
    reason = request.POST.get("reason", "")
    return _act(request, public_id, lambda ctx: lifecycle.cancel(ctx, public_id, reason))


# -- merchant -------------------------------------------------------------------------------


def _filtered_list(request, orders_of, *, heading: str, audience: str, detail_url: str):
    """A status-filtered, paginated list of orders (an unknown status shows them all), for
    the merchant's and the platform's portals."""
    status = request.GET.get("status", "")
    if status not in STATUS_LABELS:
        status = ""
    page = _page(request, orders_of(context_of(request), status))
    return render(
        request,
        "orders/order_list_staff.html",
        {
            "heading": heading,
            "audience": audience,
            "detail_url": detail_url,
            "page_obj": page,
            "status": status,
            "statuses": STATUS_LABELS.items(),
            "page_query": f"status={status}&" if status else "",
        },
    )


@require_GET
@portal_required(Portal.MERCHANT)
def merchant_list(request):
    return _filtered_list(
        request,
        reads.merchant_orders,
        heading=_("Orders to fulfil"),
        audience="merchant",
        detail_url="orders_merchant:detail",
    )


@require_GET
@portal_required(Portal.MERCHANT)
def merchant_detail(request, public_id: str):
    detail = reads.merchant_order(context_of(request), public_id)
    return render(request, "orders/detail.html", {"detail": detail, "audience": "merchant"})


@require_POST
@portal_required(Portal.MERCHANT)
def merchant_accept_return(request, public_id: str):
    try:
        lifecycle.accept_return(context_of(request), public_id)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("orders_merchant:detail", public_id)


# -- operations -----------------------------------------------------------------------------


@require_GET
@portal_required(Portal.OPS)
def ops_list(request):
    try:
        return _filtered_list(
            request,
            reads.ops_orders,
            heading=_("All orders"),
            audience="ops",
            detail_url="orders_ops:detail",
        )
    except PermissionDenied as exc:  # in the platform org without a staff role
        raise Http404 from exc


@require_GET
@portal_required(Portal.OPS)
def ops_detail(request, public_id: str):
    try:
        detail = reads.ops_order(context_of(request), public_id)
    except PermissionDenied as exc:
        raise Http404 from exc
    return render(request, "orders/detail.html", {"detail": detail, "audience": "ops"})
