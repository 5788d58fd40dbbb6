"""Reads of orders, scoped: a buyer sees their orders, a merchant its own orders, platform
staff all of them. Anyone else gets NotFound (never "forbidden": existence is not revealed).
Lists are paginated querysets; a detail is a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind
from ehub.accounts.services import is_platform_staff
from ehub.core.context import Context
from ehub.core.errors import NotFound, PermissionDenied
from ehub.fulfillment import services as fulfillment

from ..models import Order


def _base() -> QuerySet:
    return Order.objects.select_related("merchant")


def buyer_orders(ctx: Context) -> QuerySet:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    return _base().filter(buyer=ctx.user).order_by("-placed_at", "-pk")


def merchant_orders(ctx: Context, status: str = "") -> QuerySet:
    if not ctx.is_authenticated or ctx.org_kind != OrgKind.MERCHANT:
        raise PermissionDenied(_("Choose your merchant organization first."))
    qs = Order.objects.filter(merchant=ctx.org).order_by("-placed_at", "-pk")
    return qs.filter(status=status) if status else qs


def ops_orders(ctx: Context, status: str = "") -> QuerySet:
    if not is_platform_staff(ctx):
        raise PermissionDenied(_("Only platform staff may do this."))
    qs = _base().order_by("-placed_at", "-pk")
    return qs.filter(status=status) if status else qs


@dataclass
class OrderDetail:
    order: Order
    lines: list
    timeline: list
    tracking: list


def _detail(qs: QuerySet, public_id: str) -> OrderDetail:
    order = qs.select_related("merchant", "checkout").filter(public_id=public_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    lines = list(order.lines.all())
    timeline = list(order.events.all())
    return OrderDetail(
        order=order,
        lines=lines,
        timeline=timeline,
        tracking=fulfillment.tracking_of(order.public_id),
    )


def buyer_order(ctx: Context, public_id: str) -> OrderDetail:
    return _detail(buyer_orders(ctx), public_id)


def merchant_order(ctx: Context, public_id: str) -> OrderDetail:
    return _detail(merchant_orders(ctx), public_id)


def ops_order(ctx: Context, public_id: str) -> OrderDetail:
    return _detail(ops_orders(ctx), public_id)


def checkout_orders(ctx: Context, checkout_public_id: str) -> list[Order]:
    orders = list(buyer_orders(ctx).filter(checkout__public_id=checkout_public_id))
    if not orders:
        raise NotFound(_("Order not found."))
    return orders
