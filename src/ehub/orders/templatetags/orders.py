"""Template tags of orders for other contexts' pages: the header's cart link and the product
page's add-to-cart box (live offers of the SKU included)."""

from __future__ import annotations

from django import template

from ehub.core.context import Context

register = template.Library()


@register.inclusion_tag("orders/_cart_link.html", takes_context=True)
def cart_link(context):
    """The header's cart link with the number of items (one query, none without a cart)."""
    from ..services import carts

    request = context.get("request")
    count = 0
    if request is not None:
        ctx = getattr(request, "ctx", None)
        user = getattr(request, "user", None)
        if isinstance(ctx, Context) and ctx.is_authenticated:
            cart = carts.cart_of(ctx)
            count = carts.count_items(cart.pk if cart else None)
        elif user is not None and not user.is_authenticated:
            token = request.session.get("ehub_cart_token", "")
            if token:
                cart = carts.cart_of(Context(), token)
                count = carts.count_items(cart.pk if cart else None)
    return {"count": count}


@register.inclusion_tag("orders/_add_to_cart.html", takes_context=True)
def add_to_cart(context, product):
    """The buy box of a product page: quantity, add to cart, and live campaign offers."""
    from ..services import carts

    selected = getattr(product, "selected", None)
    offers = carts.live_offers_for_sku(selected.code, product.public_id) if selected else []
    return {
        "product": product,
        "selected": selected,
        "offers": offers,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def cny(obj, name: str):
    """``group|cny:"vat"``: an amount in fen as CNY Money, for ``|money``."""
    from ehub.core.money import Money

    return Money(int(getattr(obj, name, 0) or 0), "CNY")
