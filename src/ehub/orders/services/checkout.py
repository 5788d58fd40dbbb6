"""Checkout: quote a cart in CNY at a locked rate with freight, taxes and quota, then place it.

``quote`` prices the cart the way customs will see it: one group per merchant and hub (one
order, one parcel, one declaration each); goods converted from MYR at one FX rate, locked for
``EHUB_QUOTE_MINUTES``; freight from the fulfillment engine (or the documented flat rate);
duty, consumption tax and VAT from ``customs.services.quote_landed_cost`` (prepaid: DDP); the
buyer's remaining annual quota. Whatever CBEC retail import would refuse (limits, positive
list, quantity limits) comes back as a refusal with its reason.

``place`` turns the cart into orders in ONE transaction, in this order, so that the cheap
refusals come first and a crowd fails fast:

1. flash-sale units are claimed through the campaigns gate (``claim_offer_units``; Redis
   answers first when configured) right after the cart is read, before any pricing: a
   sold-out buyer costs the cart read and a Redis round trip (one statement more without
   Redis);
2. stock of the other lines is reserved (``inventory.reserve_many``, key ``order:<id>``);
3. the buyer's quota is reserved per order (``customs.reserve_quota``, key ``quota:<id>``);
4. ONE payment intent is created with one part per order;
5. the checkout, orders, lines and their first timeline entry are inserted in bulk, and the
   cart's placed lines are removed.

Anything refused rolls the whole transaction back, so nothing is half-held. Filing, e-mails
and other slow work happen later, in tasks driven by the payment events. Idempotency: the
same ``Idempotency-Key`` with the same body returns the first result; with another body it
is a Conflict (409).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from ehub.campaigns.services import gate, redis_gate
from ehub.catalog.models import Stock
from ehub.catalog.services import inventory
from ehub.core import clock, fx
from ehub.core.context import Context
from ehub.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ehub.core.fields import blind_index
from ehub.core.ids import new_public_id
from ehub.core.money import Money, Rounding
from ehub.customs import services as customs
from ehub.fulfillment import services as fulfillment
from ehub.payments import services as payments

from ..domain import Consignee, OrderStatus, clean_consignee, flat_freight
from ..models import Cart, CartLine, Checkout, Order, OrderEvent, OrderLine, Quote
from . import carts

logger = logging.getLogger(__name__)
CNY = "CNY"
MYR = "MYR"
_ZERO_CNY = Money(0, CNY)


class QuoteExpired(Conflict):
    code = "quote_expired"
    title = _("The price quote has expired.")


class CartChanged(Conflict):
    code = "cart_changed"
    title = _("The cart or its prices changed since the quote.")


class CheckoutRefused(ValidationFailed):
    """CBEC retail import would refuse this order (limits, positive list, quantity limits)."""

    code = "cbec_refused"
    title = _("This order cannot be imported as a cross-border retail order.")


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    title = _("This Idempotency-Key was used with a different request.")


# -- the FX rate ---------------------------------------------------------------------------------

_rate_lock = threading.Lock()
_rate_cache: dict[str, tuple[float, fx.Rate]] = {}
RATE_CACHE_SECONDS = 30.0


def current_rate() -> fx.Rate:
    """MYR→CNY now. Cached in the process for 30 s: a flash sale must not read the rate table
    a thousand times a second, and the rate a buyer pays is the one recorded on the order."""
    if clock.is_frozen():
        return fx.find_rate(MYR, CNY)
    now = time.monotonic()
    with _rate_lock:
        hit = _rate_cache.get("MYR/CNY")
        if hit and now - hit[0] < RATE_CACHE_SECONDS:
            return hit[1]
    rate = fx.find_rate(MYR, CNY)
    with _rate_lock:
        _rate_cache["MYR/CNY"] = (now, rate)
    return rate


def forget_rate() -> None:
    with _rate_lock:
        _rate_cache.clear()


def to_cny(amount: Money, rate: Decimal) -> Money:
    return fx.apply_rate(amount, CNY, rate, Rounding.HALF_UP)


# -- pricing ----------------------------------------------------------------------------------


@dataclass
class PricedLine:
    line_id: int
    sku_id: int
    sku_code: str
    offer_id: int | None
    title: str
    gcode: str
    qty: int
    unit_myr: int
    unit_cny: int
    weight_g: int

    @property
    def total_cny(self) -> int:
        return self.unit_cny * self.qty


@dataclass
class GroupQuote:
    merchant_id: int
    merchant_name: str
    hub_id: int
    lines: list[PricedLine]
    goods_myr: int
    goods_cny: int
    freight_myr: int
    freight_cny: int
    duty: int = 0
    consumption_tax: int = 0
    vat: int = 0
    regime: str = ""
    quota: int = 0
    refusal: str = ""
    refusal_code: str = ""
    freight_flat: bool = False

    @property
    def tax(self) -> int:
        return self.duty + self.consumption_tax + self.vat

    @property
    def total(self) -> int:
        return self.goods_cny + self.freight_cny + self.tax

    @property
    def weight_g(self) -> int:
        return sum(line.weight_g * line.qty for line in self.lines)


@dataclass
class CheckoutQuote:
    public_id: str
    expires_at: dt.datetime
    rate: Decimal
    rate_source: str
    groups: list[GroupQuote]
    quota: customs.QuotaUsage | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def total(self) -> Money:
        return Money(sum(g.total for g in self.groups), CNY)

    @property
    def goods(self) -> Money:
        return Money(sum(g.goods_cny for g in self.groups), CNY)

    @property
    def freight(self) -> Money:
        return Money(sum(g.freight_cny for g in self.groups), CNY)

    @property
    def tax(self) -> Money:
        return Money(sum(g.tax for g in self.groups), CNY)

    @property
    def refused(self) -> bool:
        return any(g.refusal for g in self.groups) or bool(self.errors)

    @property
    def quota_after(self) -> Money | None:
        if self.quota is None:
            return None
        return max(self.quota.remaining - Money(sum(g.quota for g in self.groups), CNY), _ZERO_CNY)


def _pick_hubs(lines: Sequence[carts.LineView]) -> tuple[dict[int, int], list[FieldError]]:
    """The hub each stock line ships from: the one with the most units available (one query)."""
    wanted = {line.sku_id: 0 for line in lines if line.offer_id is None}
    for line in lines:
        if line.offer_id is None:
            wanted[line.sku_id] += line.qty
    if not wanted:
        return {}, []
    best: dict[int, tuple[int, int]] = {}
    for sku_id, hub_id, on_hand, reserved in Stock.objects.filter(
        sku_id__in=list(wanted)
    ).values_list("sku_id", "hub_id", "on_hand", "reserved"):
        available = on_hand - reserved
        if sku_id not in best or available > best[sku_id][1]:
            best[sku_id] = (hub_id, available)
    errors = []
    hubs: dict[int, int] = {}
    for index, line in enumerate(lines):
        if line.offer_id is not None:
            continue
        hub_id, available = best.get(line.sku_id, (None, 0))
        if hub_id is None or available < wanted[line.sku_id]:
            errors.append(
                FieldError(
                    f"lines[{index}].qty",
                    _("Only %(n)d of %(title)s available.")
                    % {"n": max(available, 0), "title": line.title},
                    "insufficient_stock",
                )
            )
            continue
        hubs[line.sku_id] = hub_id
    return hubs, errors


def _freight(weight_g: int, province: str) -> tuple[Money, bool]:
    """The cheapest carrier's price, or the documented flat rate (True) when none quotes."""
    if province:
        try:
            return fulfillment.quote_freight(weight_g=weight_g, province=province), False
        except DomainError as exc:
            logger.warning("freight quote failed, using the flat rate: %s", exc)
    return (
        flat_freight(
            weight_g,
            settings.EHUB_ORDERS_FLAT_FREIGHT_FIRST_KG,
            settings.EHUB_ORDERS_FLAT_FREIGHT_NEXT_KG,
        ),
        True,
    )


def price_lines(
    lines: Sequence[carts.LineView],
    rate: Decimal,
    *,
    province: str = "",
    quota_used: Money = _ZERO_CNY,
) -> tuple[list[GroupQuote], list[FieldError]]:
    """Group, convert, add freight and customs' taxes; refusals are set on their group."""
    hubs, errors = _pick_hubs(lines)
    groups: dict[tuple[int, int], GroupQuote] = {}
    for line in lines:
        hub_id = line.hub_id if line.offer_id is not None else hubs.get(line.sku_id)
        if hub_id is None:
            continue
        unit_myr = line.unit_price.amount
        priced = PricedLine(
            line_id=line.id,
            sku_id=line.sku_id,
            sku_code=line.sku_code,
            offer_id=line.offer_id,
            title=line.title[:250],
            gcode=line.gcode,
            qty=line.qty,
            unit_myr=unit_myr,
            unit_cny=to_cny(line.unit_price, rate).amount,
            weight_g=line.weight_g or 1000,
        )
        group = groups.get((line.merchant_id, hub_id))
        if group is None:
            group = groups[(line.merchant_id, hub_id)] = GroupQuote(
                line.merchant_id, line.merchant_name, hub_id, [], 0, 0, 0, 0
            )
        group.lines.append(priced)
        group.goods_myr += unit_myr * line.qty
        group.goods_cny += priced.total_cny
    used = quota_used
    for group in groups.values():
        freight, flat = _freight(group.weight_g, province)
        group.freight_myr = freight.amount if freight.currency == MYR else 0
        group.freight_cny = (freight if freight.currency == CNY else to_cny(freight, rate)).amount
        group.freight_flat = flat
        result = customs.quote_landed_cost(
            [
                customs.QuoteLine(line.gcode or "0000000000", line.qty, Money(line.unit_cny, CNY))
                for line in group.lines
            ],
            freight=Money(group.freight_cny, CNY),
            quota_used=used,
        )
        group.regime = str(result.regime)
        group.duty = result.duty.amount
        group.consumption_tax = result.consumption_tax.amount
        group.vat = result.vat.amount
        group.quota = result.quota_amount.amount
        if result.refusal is not None:
            group.refusal = str(result.refusal.message)
            group.refusal_code = str(result.refusal.code)
        used = used + result.quota_amount
    return list(groups.values()), errors


def _refusal_errors(groups: list[GroupQuote]) -> list[FieldError]:
    return [
        FieldError(
            "id_number" if g.refusal_code == "over_annual_limit" else "lines",
            _("%(merchant)s: %(reason)s") % {"merchant": g.merchant_name, "reason": g.refusal},
            g.refusal_code,
        )
        for g in groups
        if g.refusal
    ]


def _require_buyer(ctx: Context) -> None:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in to check out."))


def quote(
    ctx: Context,
    cart: Cart,
    *,
    id_number: str = "",
    province: str = "",
    language: str = "en",
) -> CheckoutQuote:
    """Price the cart for checkout and lock the rate for ``EHUB_QUOTE_MINUTES``.

    Refusals (stock, CBEC limits) are returned on the quote, not raised, so the page can show
    them beside the amounts; placing a refused cart raises them.
    """
    _require_buyer(ctx)
    lines = carts.line_views(cart, language)
    if not lines:
        raise ValidationFailed.single("lines", _("The cart is empty."), "empty")
    rate = current_rate()
    usage = None
    if id_number:
        try:
            usage = customs.quota_usage(id_number)
        except ValidationFailed:
            usage = None
    used = (usage.used + usage.reserved) if usage else _ZERO_CNY
    groups, errors = price_lines(lines, rate.rate, province=province, quota_used=used)
    now = clock.now()
    result = CheckoutQuote(
        public_id=new_public_id("QTE"),
        expires_at=now + dt.timedelta(minutes=settings.EHUB_QUOTE_MINUTES),
        rate=rate.rate,
        rate_source=rate.source,
        groups=groups,
        quota=usage,
        errors=errors + _refusal_errors(groups),
    )
    Quote.objects.create(
        public_id=result.public_id,
        cart=cart,
        buyer=ctx.user,
        rate=rate.rate,
        rate_source=rate.source,
        rate_as_of=rate.as_of,
        id_index=blind_index(id_number) if id_number else "",
        payload={"groups": [asdict(g) for g in groups], "province": province},
        total_cny=result.total.amount,
        created_at=now,
        expires_at=result.expires_at,
    )
    return result


# -- placing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    checkout: str
    intent: str
    checkout_url: str
    orders: list[str]
    total: Money
    replayed: bool = False

    def as_json(self) -> dict:
        return {
            "checkout": self.checkout,
            "intent": self.intent,
            "checkout_url": self.checkout_url,
            "orders": list(self.orders),
            "total": self.total.as_json(),
        }


def request_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _replay(ctx: Context, key: str, digest: str) -> Placement | None:
    found = Checkout.objects.filter(buyer=ctx.user, idempotency_key=key).first()
    if found is None:
        return None
    if found.request_hash != digest:
        raise IdempotencyConflict(
            _("This Idempotency-Key was already used for a different checkout."),
            field="Idempotency-Key",
        )
    orders = list(found.orders.order_by("pk").values_list("public_id", flat=True))
    return Placement(
        found.public_id,
        found.intent_public_id,
        found.checkout_url,
        orders,
        Money(found.total_cny, CNY),
        replayed=True,
    )


def _locked_quote(cart: Cart, quote_id: str) -> Quote:
    found = Quote.objects.filter(public_id=quote_id, cart=cart).first()
    if found is None:
        raise NotFound(_("No such quote for this cart."), field="quote")
    if found.expires_at <= clock.now():
        raise QuoteExpired(
            _("The quote expired after %(n)d minutes; review the new prices and place again.")
            % {"n": settings.EHUB_QUOTE_MINUTES},
            field="quote",
        )
    return found


def place(
    ctx: Context,
    cart: Cart,
    details: dict,
    *,
    quote_id: str = "",
    idempotency_key: str = "",
    language: str = "",
) -> Placement:
    """Place the cart: one order per merchant and hub, everything held, one payment intent.

    ``details`` carries the buyer's declared identity and address (``name``, ``id_number``,
    ``phone``, ``province``, ``city``, ``district``, ``street``, ``postcode``). With
    ``quote_id`` the quote's locked rate is used and the amounts must still match it;
    without, the current rate is locked now.
    """
    _require_buyer(ctx)
    if len(idempotency_key) > 100:
        raise ValidationFailed.single(
            "Idempotency-Key", _("Use at most 100 characters."), "too_long"
        )
    digest = request_hash({"cart": cart.public_id, "quote": quote_id, **details})
    consignee, errors = clean_consignee(details)
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            return _place(ctx, cart, consignee, quote_id, idempotency_key, digest, language)
    except gate.SoldOut:
        # The crowd's answer: nothing was written, and a sold-out refusal is never the
        # replay of a placed checkout (that one emptied the cart): no lookup.
        raise
    except (DomainError, IntegrityError):
        # The key's first request may have succeeded: its cart is empty now, its flash-sale
        # units are claimed, and the checkout row exists (a concurrent twin hits the unique
        # key). Answer as the first request did; only failures pay for this lookup.
        if idempotency_key:
            replay = _replay(ctx, idempotency_key, digest)
            if replay is not None:
                return replay
        raise


def _offer_lines(cart: Cart) -> list[tuple[int, int, object, int]]:
    """(line id, merchant id, offer, qty) of the cart's flash-sale lines, in one light query."""
    rows = (
        CartLine.objects.filter(cart=cart, offer__isnull=False)
        .select_related("offer")
        .annotate(merchant_id=F("sku__org_id"))
        .order_by("added_at", "pk")
    )
    return [(row.pk, row.merchant_id, row.offer, row.qty) for row in rows]


def _claim_offers(
    ctx: Context,
    lines: Sequence[tuple[int, int, object, int]],
    order_of: dict[tuple[int, int], str],
    claim_keys: dict[int, str],
) -> None:
    """Claim each line's units through the campaigns gate under ``order:<order>:<offer>``."""
    for line_id, merchant_id, offer, qty in lines:
        order_id = order_of.setdefault((merchant_id, offer.hub_id), new_public_id("ORD"))
        key = f"order:{order_id}:{offer.pk}"
        gate.claim_offer_units(ctx.user, offer, qty, key=key)
        claim_keys[line_id] = key


def _place(
    ctx: Context,
    cart: Cart,
    consignee: Consignee,
    quote_id: str,
    idempotency_key: str,
    digest: str,
    language: str,
) -> Placement:
    now = clock.now()
    language = language or (getattr(ctx.user, "preferred_language", "") or "zh-hans")
    # 1. flash-sale units first, before any pricing: the gate (Redis when configured) refuses
    # a sold-out crowd after one cart read. Orders are one per (merchant, hub): their ids are
    # chosen here so that the claim keys name them.
    order_of: dict[tuple[int, int], str] = {}
    claim_keys: dict[int, str] = {}
    if redis_gate.active():
        # Redis answers a sold-out crowd: read only the offer lines (a light query) and leave
        # the cart's full read (titles, prices, weights) to the buyers who get units. One
        # statement more for them, about half the CPU less for each refused buyer.
        _claim_offers(ctx, _offer_lines(cart), order_of, claim_keys)
    lines = carts.line_views(cart, language)
    if not lines:
        raise ValidationFailed.single("lines", _("The cart is empty."), "empty")
    offers = {line.offer_id: line.offer for line in lines if line.offer is not None}
    _claim_offers(
        ctx,
        [
            (line.id, line.merchant_id, line.offer, line.qty)
            for line in lines
            if line.offer is not None and line.id not in claim_keys
        ],
        order_of,
        claim_keys,
    )
    if set(claim_keys) != {line.id for line in lines if line.offer is not None}:
        # The cart changed between the light read and the full one (the buyer's other tab):
        # roll back (claims included) rather than place what was not claimed or claim what is
        # not placed.
        raise CartChanged(_("The cart changed while placing it; place it again."))
    locked = _locked_quote(cart, quote_id) if quote_id else None
    if locked is not None:
        rate, rate_source = locked.rate, locked.rate_source
    else:
        found = current_rate()
        rate, rate_source = found.rate, found.source
    # The annual quota is enforced by reserve_quota's conditional update below (no read here:
    # one query less on the hot path); the regime only needs "used" to word a refusal.
    groups, errors = price_lines(lines, rate, province=consignee.province)
    errors += _refusal_errors(groups)
    if errors:
        raise CheckoutRefused(errors)
    total = sum(g.total for g in groups)
    if locked is not None and total != locked.total_cny:
        raise CartChanged(
            _("The amounts changed since the quote (now %(total)s); review and place again.")
            % {"total": Money(total, CNY)},
            field="quote",
        )
    order_ids = [
        order_of.setdefault((group.merchant_id, group.hub_id), new_public_id("ORD"))
        for group in groups
    ]
    checkout_id = new_public_id("CHK")
    expires_at = now + dt.timedelta(minutes=settings.EHUB_ORDER_PAYMENT_MINUTES)

    # 2. stock of the other lines.
    reservation_keys: dict[tuple[int, int], str] = {}
    for order_id, group in zip(order_ids, groups, strict=True):
        stock_lines = [line for line in group.lines if line.offer_id is None]
        if not stock_lines:
            continue
        prefix = f"order:{order_id}"
        inventory.reserve_many(
            ctx,
            [inventory.ReserveLine(line.sku_id, group.hub_id, line.qty) for line in stock_lines],
            prefix,
            purpose="checkout",
        )
        for line in stock_lines:
            reservation_keys[(id(group), line.line_id)] = inventory.line_key(
                prefix, line.sku_id, group.hub_id
            )
    # 3. the buyer's annual quota, per order (each is its own declaration).
    for order_id, group in zip(order_ids, groups, strict=True):
        if group.quota > 0:
            try:
                customs.reserve_quota(
                    ctx, consignee.id_number, Money(group.quota, CNY), f"quota:{order_id}"
                )
            except customs.QuotaExceeded as exc:
                raise CheckoutRefused(
                    [FieldError("id_number", exc.detail, "over_annual_limit")]
                ) from exc
    # 4. one payment intent for the whole checkout.
    parts = [
        payments.PaymentPart(
            reference=order_id,
            merchant_org_id=group.merchant_id,
            goods=Money(group.goods_cny, CNY),
            freight=Money(group.freight_cny, CNY),
            tax=Money(group.tax, CNY),
        )
        for order_id, group in zip(order_ids, groups, strict=True)
    ]
    intent = payments.create_intent(
        ctx,
        buyer=ctx.user,
        parts=parts,
        idempotency_key=f"checkout:{checkout_id}",
        return_url=f"/orders/placed/{checkout_id}/",
        description=str(_("eHub order %(id)s") % {"id": order_ids[0]}),
    )
    # 5. the records.
    checkout = Checkout.objects.create(
        public_id=checkout_id,
        buyer=ctx.user,
        idempotency_key=idempotency_key,
        request_hash=digest,
        intent_public_id=intent.public_id,
        checkout_url=intent.checkout_url,
        total_cny=total,
        created_at=now,
    )
    id_index = blind_index(consignee.id_number)
    orders = [
        Order(
            public_id=order_id,
            checkout=checkout,
            buyer=ctx.user,
            merchant_id=group.merchant_id,
            hub_id=group.hub_id,
            status=OrderStatus.PLACED,
            language=language,
            rate=rate,
            goods_myr=group.goods_myr,
            goods_cny=group.goods_cny,
            freight_cny=group.freight_cny,
            duty_cny=group.duty,
            consumption_tax_cny=group.consumption_tax,
            vat_cny=group.vat,
            tax_cny=group.tax,
            total_cny=group.total,
            regime=group.regime,
            quota_cny=group.quota,
            weight_g=group.weight_g,
            buyer_name=consignee.name,
            id_number=consignee.id_number,
            id_index=id_index,
            phone=consignee.phone,
            province=consignee.province,
            city=consignee.city,
            district=consignee.district,
            street=consignee.street,
            postcode=consignee.postcode,
            intent_public_id=intent.public_id,
            placed_at=now,
            expires_at=expires_at,
            updated_at=now,
        )
        for order_id, group in zip(order_ids, groups, strict=True)
    ]
    Order.objects.bulk_create(orders)
    if orders[0].pk is None:  # backends that cannot return ids from a bulk insert
        orders = list(Order.objects.filter(public_id__in=order_ids).order_by("pk"))
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                gnum=gnum,
                sku_id=line.sku_id,
                offer_id=line.offer_id,
                sku_code=line.sku_code,
                name=line.title or line.sku_code,
                gcode=line.gcode,
                qty=line.qty,
                unit_price_myr=line.unit_myr,
                unit_price_cny=line.unit_cny,
                total_cny=line.total_cny,
                weight_g=line.weight_g,
                reservation_key=reservation_keys.get(
                    (id(group), line.line_id),
                    offers[line.offer_id].reservation_key if line.offer_id else "",
                ),
                claim_key=claim_keys.get(line.line_id, ""),
            )
            for order, group in zip(orders, groups, strict=True)
            for gnum, line in enumerate(group.lines, start=1)
        ]
    )
    actor_id = ctx.user.pk
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order=order,
                kind="status",
                to_status=OrderStatus.PLACED,
                actor_id=actor_id,
                actor_label=str(ctx.user),
                via=ctx.via,
                reason=str(_("Order placed; awaiting payment.")),
                data={
                    "rate": str(rate),
                    "rate_source": rate_source,
                    "quote": quote_id,
                    "intent": intent.public_id,
                },
                at=now,
            )
            for order in orders
        ]
    )
    CartLine.objects.filter(pk__in=[line.id for line in lines]).delete()
    return Placement(
        checkout_id, intent.public_id, intent.checkout_url, order_ids, Money(total, CNY)
    )
