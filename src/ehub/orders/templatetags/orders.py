"""Template tags of orders for other contexts' pages: the header's cart link and the product
page's add-to-cart box (live offers of the SKU included)."""

from __future__ import annotations

from django import template

from ..services.carts import CART_COUNT

register = template.Library()


@register.inclusion_tag("orders/_cart_link.html", takes_context=True)
def cart_link(context):
    """The header's cart link with the number of items, at zero SQL queries.

    It is on every page, so it reads the count the cart pages keep in the session
    (``remember_count``), tagged with the user it was counted for: a count left by another
    identity (before login, after logout) is not shown until the cart is next touched."""
    request = context.get("request")
    count = 0
    if request is not None and hasattr(request, "session"):
        user = getattr(request, "user", None)
        owner = user.pk if user is not None and user.is_authenticated else None
        stored = request.session.get(CART_COUNT)
        if isinstance(stored, list | tuple) and len(stored) == 2 and stored[0] == owner:
            count = int(stored[1] or 0)
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


@register.filter
def timeline_text(event) -> str:
    """What a timeline entry says: its reason, or, when the reason is only a status code (as
    the e-mail entries record which message went out), that status's label."""
    from django.utils.translation import gettext as _

    from ..domain import STATUS_LABELS

    reason = str(getattr(event, "reason", "") or "")
    to_status = str(getattr(event, "to_status", "") or "")
    label = STATUS_LABELS.get(reason or to_status)
    if label is None:
        return reason
    if getattr(event, "kind", "") == "email":
        return _("E-mail sent to the buyer: %(what)s") % {"what": label}
    return str(label) if reason in ("", to_status) else reason
