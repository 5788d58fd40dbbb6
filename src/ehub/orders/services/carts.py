"""Carts: a signed-in buyer's cart (one each) or an anonymous session's, merged at login.

A cart holds SKUs at their list price and campaign offers at their promo price; nothing is
reserved until checkout places the order (the flash-sale gate decides then, not at "add").
Lines are shown grouped by merchant and hub: each group becomes one order, one parcel and one
customs declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from ehub.campaigns.models import Offer, OfferStatus
from ehub.catalog.models import ProductStatus, ProductTranslation, Sku
from ehub.core import clock
from ehub.core.context import Context
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.ids import new_public_id
from ehub.core.money import Money

from ..models import Cart, CartLine

MAX_QTY = 99
MAX_LINES = 50
# Session key of the header's item count: [user pk or None, count]. The header shows it on
# every page without a query; the pages that change a cart refresh it (``remember_count``).
CART_COUNT = "ehub_cart_count"


def _localized(values: dict[str, str], language: str) -> str:
    code = (language or "en").lower()
    for candidate in (code, code.split("-")[0], "en"):
        if values.get(candidate):
            return values[candidate]
    return next((v for v in values.values() if v), "")


# -- finding the cart -------------------------------------------------------------------------


def cart_of(ctx: Context, session_key: str = "", *, create: bool = False) -> Cart | None:
    """The caller's cart: the user's when signed in, else the session's (None if none yet)."""
    if ctx.is_authenticated:
        cart = Cart.objects.filter(user=ctx.user).first()
        if cart is None and create:
            try:
                with transaction.atomic():
                    cart = Cart.objects.create(public_id=new_public_id("CRT"), user=ctx.user)
            except IntegrityError:  # a concurrent request created it
                cart = Cart.objects.get(user=ctx.user)
        return cart
    if not session_key:
        return None
    cart = Cart.objects.filter(session_key=session_key, user__isnull=True).first()
    if cart is None and create:
        cart = Cart.objects.create(public_id=new_public_id("CRT"), session_key=session_key)
    return cart


def get_cart(ctx: Context, public_id: str) -> Cart:
    """A cart by public id, for its owner only (anyone else: NotFound)."""
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    cart = Cart.objects.filter(public_id=public_id, user=ctx.user).first()
    if cart is None:
        raise NotFound(_("Cart not found."))
    return cart


def merge_at_login(session_key: str, user) -> Cart | None:
    """Move an anonymous session's lines into the user's cart (quantities add up)."""
    if not session_key:
        return None
    anonymous = Cart.objects.filter(session_key=session_key, user__isnull=True).first()
    if anonymous is None:
        return None
    ctx = Context(user=user, via="web")
    with transaction.atomic():
        target = cart_of(ctx, create=True)
        for line in anonymous.lines.all():
            _upsert(target, line.sku_id, line.offer_id, line.qty, add=True)
        anonymous.delete()
        Cart.objects.filter(pk=target.pk).update(updated_at=clock.now())
    return target


# -- changing lines ---------------------------------------------------------------------------


def _upsert(cart: Cart, sku_id: int, offer_id: int | None, qty: int, *, add: bool) -> CartLine:
    line = CartLine.objects.filter(cart=cart, sku_id=sku_id, offer_id=offer_id).first()
    if line is None:
        if cart.lines.count() >= MAX_LINES:
            raise ValidationFailed.single(
                "qty", _("A cart holds at most %(n)d lines.") % {"n": MAX_LINES}, "too_many"
            )
        return CartLine.objects.create(
            cart=cart, sku_id=sku_id, offer_id=offer_id, qty=min(qty, MAX_QTY)
        )
    line.qty = min(line.qty + qty if add else qty, MAX_QTY)
    line.save(update_fields=["qty"])
    return line


def _check_qty(qty) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise ValidationFailed.single(
            "qty", _("Choose a quantity from 1 to %(max)d.") % {"max": MAX_QTY}, "invalid"
        )
    return qty


def _find_sku(product: str, sku: str = "") -> Sku:
    qs = Sku.objects.filter(
        product__public_id=product,
        product__status=ProductStatus.ACTIVE,
        is_active=True,
    )
    if sku:
        qs = qs.filter(code=sku)
    found = qs.order_by("price_myr", "pk").first()
    if found is None:
        raise NotFound(_("This product is not for sale."), field="product")
    return found


def _find_offer(public_id: str) -> Offer:
    offer = Offer.objects.filter(public_id=public_id).first()
    now = clock.now()
    if offer is None:
        raise NotFound(_("No such offer."), field="offer")
    if offer.status != OfferStatus.APPROVED or not offer.sale_starts_at <= now < offer.sale_ends_at:
        raise ValidationFailed.single("offer", _("This offer is not on sale now."), "not_on_sale")
    return offer


def add_line(
    ctx: Context,
    cart: Cart,
    *,
    product: str = "",
    sku: str = "",
    offer: str = "",
    qty: int = 1,
) -> CartLine:
    """Put ``qty`` of a product's SKU (or of a campaign offer, at its promo price) in the cart."""
    _check_qty(qty)
    if not product and not offer:
        raise ValidationFailed.single("product", _("Choose a product or an offer."), "required")
    with transaction.atomic():
        if offer:
            found = _find_offer(offer)
            existing = CartLine.objects.filter(cart=cart, offer=found).values_list("qty", flat=True)
            total = qty + sum(existing)
            if total > found.per_buyer_limit:
                raise ValidationFailed.single(
                    "qty",
                    _("At most %(limit)d per buyer for this offer.")
                    % {"limit": found.per_buyer_limit},
                    "over_limit",
                )
            line = _upsert(cart, found.sku_id, found.pk, qty, add=True)
        else:
            found_sku = _find_sku(product, sku)
            line = _upsert(cart, found_sku.pk, None, qty, add=True)
        Cart.objects.filter(pk=cart.pk).update(updated_at=clock.now())
    return line


def set_qty(ctx: Context, cart: Cart, line_id: int, qty: int) -> CartLine | None:
    """Change a line's quantity (0 removes it)."""
    if qty == 0:
        remove_line(ctx, cart, line_id)
        return None
    _check_qty(qty)
    line = CartLine.objects.select_related("offer").filter(cart=cart, pk=line_id).first()
    if line is None:
        raise NotFound(_("No such line in this cart."), field="line")
    if line.offer is not None and qty > line.offer.per_buyer_limit:
        raise ValidationFailed.single(
            "qty",
            _("At most %(limit)d per buyer for this offer.")
            % {"limit": line.offer.per_buyer_limit},
            "over_limit",
        )
    line.qty = qty
    line.save(update_fields=["qty"])
    return line


def remove_line(ctx: Context, cart: Cart, line_id: int) -> None:
    deleted, _rows = CartLine.objects.filter(cart=cart, pk=line_id).delete()
    if not deleted:
        raise NotFound(_("No such line in this cart."), field="line")


# -- reading ----------------------------------------------------------------------------------


@dataclass
class LineView:
    id: int
    sku_id: int
    sku_code: str
    product_public_id: str
    title: str
    variant: str
    qty: int
    unit_price: Money  # MYR
    regular_price: Money  # MYR (the list price; higher than unit_price for an offer)
    offer_public_id: str = ""
    offer_id: int | None = None
    gcode: str = ""
    weight_g: int | None = None
    merchant_id: int = 0
    merchant_name: str = ""
    hub_id: int | None = None  # set for offers; stock picks the hub for other lines
    per_buyer_limit: int | None = None
    offer: Offer | None = None

    @property
    def total(self) -> Money:
        return self.unit_price * self.qty


@dataclass
class MerchantGroup:
    merchant_id: int
    merchant_name: str
    lines: list[LineView] = field(default_factory=list)


@dataclass
class CartView:
    cart: Cart | None
    lines: list[LineView]

    @property
    def groups(self) -> list[MerchantGroup]:
        groups: dict[int, MerchantGroup] = {}
        for line in self.lines:
            group = groups.setdefault(
                line.merchant_id, MerchantGroup(line.merchant_id, line.merchant_name)
            )
            group.lines.append(line)
        return list(groups.values())

    @property
    def subtotal(self) -> Money:
        return Money.total((line.total for line in self.lines), "MYR")


def line_views(cart: Cart | None, language: str = "en") -> list[LineView]:
    """The cart's lines with titles and prices: one query whatever the number of lines (the
    titles in the buyer's language and in English come as subqueries)."""
    if cart is None:
        return []

    def title_in(code: str):
        return Subquery(
            ProductTranslation.objects.filter(
                product_id=OuterRef("sku__product_id"), language=code
            ).values("title")[:1]
        )

    lines = list(
        CartLine.objects.filter(cart=cart)
        .select_related("sku", "sku__product", "sku__org", "offer")
        .annotate(title_local=title_in(language), title_en=title_in("en"))
        .order_by("added_at", "pk")
    )
    views = []
    for line in lines:
        sku, product, offer = line.sku, line.sku.product, line.offer
        labels = sku.variant_labels if isinstance(sku.variant_labels, dict) else {}
        views.append(
            LineView(
                id=line.pk,
                sku_id=sku.pk,
                sku_code=sku.code,
                product_public_id=product.public_id,
                title=line.title_local or line.title_en or sku.code,
                variant=_localized(labels, language),
                qty=line.qty,
                unit_price=Money(offer.promo_price_myr if offer else sku.price_myr, "MYR"),
                regular_price=sku.price,
                offer_public_id=offer.public_id if offer else "",
                offer_id=offer.pk if offer else None,
                offer=offer,
                gcode=product.gcode or "",
                weight_g=sku.gross_weight_g
                or product.gross_weight_g
                or sku.net_weight_g
                or product.net_weight_g,
                merchant_id=sku.org_id,
                merchant_name=sku.org.name,
                hub_id=offer.hub_id if offer else None,
                per_buyer_limit=offer.per_buyer_limit if offer else None,
            )
        )
    return views


def view(cart: Cart | None, language: str = "en") -> CartView:
    return CartView(cart, line_views(cart, language))


def count_items(cart_id: int | None) -> int:
    if cart_id is None:
        return 0
    return sum(CartLine.objects.filter(cart_id=cart_id).values_list("qty", flat=True))


def remember_count(session, user, cart: Cart | None) -> int:
    """Store the cart's item count in ``session`` for the header's cart link (one query)."""
    count = count_items(cart.pk if cart else None)
    owner = user.pk if user is not None and user.is_authenticated else None
    if session.get(CART_COUNT) != [owner, count]:  # no session write when nothing changed
        session[CART_COUNT] = [owner, count]
    return count


def live_offers_for_sku(sku_code: str, product_public_id: str) -> list[Offer]:
    """Approved offers on sale now for a product's SKU (for the product page's buy box)."""
    now = clock.now()
    return list(
        Offer.objects.filter(
            sku__code=sku_code,
            sku__product__public_id=product_public_id,
            status=OfferStatus.APPROVED,
            sale_starts_at__lte=now,
            sale_ends_at__gt=now,
        ).select_related("campaign")
    )
