"""Orders API: carts (``/api/v1/carts``), checkout (quote + place) and orders (``/api/v1/orders``).

Thin handlers over ``services``. A cart and an order are visible to their buyer only (anyone
else: 404). Placing an order honours ``Idempotency-Key``: the same key with the same body
answers what the first call answered; the same key with another body is 409. Personal data
is masked in every response. Errors are RFC 9457 problems naming the field.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Mapped, Page, ctx_of
from ehub.core.money import Money

from .services import carts, checkout, lifecycle, reads

carts_router = Router(tags=["carts"])
router = Router(tags=["orders"])


# -- schemas ----------------------------------------------------------------------------------


class MoneyOut(Schema):
    amount: int = Field(..., description="Minor units (fen, sen).")
    currency: str


def _money(value: Money) -> dict:
    return {"amount": value.amount, "currency": value.currency}


class CartLineOut(Schema):
    id: int
    product: str
    sku: str
    offer: str = ""
    title: str
    qty: int
    unit_price: MoneyOut
    total: MoneyOut


class CartOut(Schema):
    public_id: str
    lines: list[CartLineOut]
    subtotal: MoneyOut


class LineIn(Schema):
    product: str = Field("", description="Product public id (with `sku`, or its cheapest SKU).")
    sku: str = Field("", max_length=64)
    offer: str = Field("", description="A campaign offer's public id (bought at its promo price).")
    qty: int = Field(1, ge=1, le=99)


class QtyIn(Schema):
    qty: int = Field(..., ge=0, le=99, description="0 removes the line.")


class QuoteIn(Schema):
    id_number: str = Field("", max_length=18, description="To show the remaining annual quota.")
    province: str = Field("", max_length=30)


class QuoteGroupOut(Schema):
    merchant: str
    goods: MoneyOut
    freight: MoneyOut
    duty: MoneyOut
    consumption_tax: MoneyOut
    vat: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    regime: str
    refusal: str = ""


class QuoteOut(Schema):
    public_id: str
    expires_at: datetime
    rate: str = Field(..., description="1 MYR = rate CNY, locked until expires_at.")
    groups: list[QuoteGroupOut]
    total: MoneyOut
    quota_remaining: MoneyOut | None = None
    refused: bool
    errors: list[dict]


class CheckoutIn(Schema):
    name: str = Field(..., max_length=60)
    id_number: str = Field(..., max_length=18)
    phone: str = Field(..., max_length=20)
    province: str = Field(..., max_length=30)
    city: str = Field(..., max_length=30)
    district: str = Field(..., max_length=30)
    street: str = Field(..., max_length=120)
    postcode: str = Field("", max_length=6)
    quote: str = Field("", description="The quote whose locked rate to use.")


class PlacementOut(Schema):
    checkout: str
    intent: str
    checkout_url: str
    orders: list[str]
    total: MoneyOut


class OrderLineOut(Schema):
    sku: str
    name: str
    qty: int
    unit_price: MoneyOut
    total: MoneyOut


class OrderEventOut(Schema):
    at: datetime
    kind: str
    status: str
    reason: str


class OrderOut(Schema):
    public_id: str
    status: str
    status_label: str
    merchant: str
    placed_at: datetime
    goods: MoneyOut
    freight: MoneyOut
    duty: MoneyOut
    consumption_tax: MoneyOut
    vat: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    buyer_name: str = Field(..., description="Masked.")
    id_number: str = Field(..., description="Masked.")
    phone: str = Field(..., description="Masked.")
    waybill_no: str
    pay_url: str = ""


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]
    timeline: list[OrderEventOut]


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


# -- carts ------------------------------------------------------------------------------------


def _cart_out(cart) -> dict:
    view = carts.view(cart, get_language() or "en")
    return {
        "public_id": cart.public_id,
        "lines": [
            {
                "id": line.id,
                "product": line.product_public_id,
                "sku": line.sku_code,
                "offer": line.offer_public_id,
                "title": line.title,
                "qty": line.qty,
                "unit_price": _money(line.unit_price),
                "total": _money(line.total),
            }
            for line in view.lines
        ],
        "subtotal": _money(view.subtotal),
    }


@carts_router.post("", response={201: CartOut}, summary="Your cart (created if needed)")
def create_cart(request: HttpRequest):
    return Status(201, _cart_out(carts.cart_of(ctx_of(request), create=True)))


@carts_router.get("/{public_id}", response=CartOut, summary="A cart of yours")
def get_cart(request: HttpRequest, public_id: str):
    return _cart_out(carts.get_cart(ctx_of(request), public_id))


@carts_router.post("/{public_id}/lines", response={201: CartOut}, summary="Add a line")
def add_line(request: HttpRequest, public_id: str, payload: LineIn):
    ctx = ctx_of(request)
    cart = carts.get_cart(ctx, public_id)
    carts.add_line(
        ctx, cart, product=payload.product, sku=payload.sku, offer=payload.offer, qty=payload.qty
    )
    return Status(201, _cart_out(cart))


@carts_router.patch("/{public_id}/lines/{line_id}", response=CartOut, summary="Change a line")
def change_line(request: HttpRequest, public_id: str, line_id: int, payload: QtyIn):
    ctx = ctx_of(request)
    cart = carts.get_cart(ctx, public_id)
    carts.set_qty(ctx, cart, line_id, payload.qty)
    return _cart_out(cart)


@carts_router.delete("/{public_id}/lines/{line_id}", response={204: None}, summary="Remove a line")
def remove_line(request: HttpRequest, public_id: str, line_id: int):
    ctx = ctx_of(request)
    carts.remove_line(ctx, carts.get_cart(ctx, public_id), line_id)
    return Status(204, None)


@carts_router.post("/{public_id}/quote", response=QuoteOut, summary="Price the cart in CNY")
def quote(request: HttpRequest, public_id: str, payload: QuoteIn):
    ctx = ctx_of(request)
    cart = carts.get_cart(ctx, public_id)
    result = checkout.quote(
        ctx,
        cart,
        id_number=payload.id_number,
        province=payload.province,
        language=get_language() or "en",
    )
    return {
        "public_id": result.public_id,
        "expires_at": result.expires_at,
        "rate": str(result.rate),
        "groups": [
            {
                "merchant": g.merchant_name,
                **{
                    name: _money(Money(value, "CNY"))
                    for name, value in (
                        ("goods", g.goods_cny),
                        ("freight", g.freight_cny),
                        ("duty", g.duty),
                        ("consumption_tax", g.consumption_tax),
                        ("vat", g.vat),
                        ("tax", g.tax),
                        ("total", g.total),
                    )
                },
                "regime": g.regime,
                "refusal": g.refusal,
            }
            for g in result.groups
        ],
        "total": _money(result.total),
        "quota_remaining": _money(result.quota.remaining) if result.quota else None,
        "refused": result.refused,
        "errors": [e.as_dict() for e in result.errors],
    }


@carts_router.post(
    "/{public_id}/checkout",
    response={201: PlacementOut},
    summary="Place the order (Idempotency-Key honoured)",
    description="One order per merchant, stock, flash-sale units and quota held, one payment "
    "intent; pay at `checkout_url`. Unpaid orders expire after 30 minutes.",
)
def place(request: HttpRequest, public_id: str, payload: CheckoutIn):
    ctx = ctx_of(request)
    cart = carts.get_cart(ctx, public_id)
    details = payload.dict()
    quote_id = details.pop("quote", "")
    result = checkout.place(
        ctx,
        cart,
        details,
        quote_id=quote_id,
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
        language=get_language() or "",
    )
    return Status(201, result.as_json())


# -- orders -----------------------------------------------------------------------------------


def _order_out(order) -> dict:
    cny = "CNY"
    return {
        "public_id": order.public_id,
        "status": order.status,
        "status_label": order.status_label,
        "merchant": order.merchant.name,
        "placed_at": order.placed_at,
        "goods": _money(Money(order.goods_cny, cny)),
        "freight": _money(Money(order.freight_cny, cny)),
        "duty": _money(Money(order.duty_cny, cny)),
        "consumption_tax": _money(Money(order.consumption_tax_cny, cny)),
        "vat": _money(Money(order.vat_cny, cny)),
        "tax": _money(Money(order.tax_cny, cny)),
        "total": _money(Money(order.total_cny, cny)),
        "buyer_name": order.name_masked,
        "id_number": order.id_masked,
        "phone": order.phone_masked,
        "waybill_no": order.waybill_no,
    }


def _detail_out(detail) -> dict:
    order = detail.order
    return {
        **_order_out(order),
        "pay_url": order.pay_url,
        "lines": [
            {
                "sku": line.sku_code,
                "name": line.name,
                "qty": line.qty,
                "unit_price": _money(Money(line.unit_price_cny, "CNY")),
                "total": _money(Money(line.total_cny, "CNY")),
            }
            for line in detail.lines
        ],
        "timeline": [
            {"at": e.at, "kind": e.kind, "status": e.to_status, "reason": e.reason}
            for e in detail.timeline
        ],
    }


@router.get("", response=list[OrderOut], summary="Your orders")
@paginate(Page)
def list_orders(request: HttpRequest):
    return Mapped(reads.buyer_orders(ctx_of(request)), _order_out)


@router.get("/{public_id}", response=OrderDetailOut, summary="One of your orders")
def get_order(request: HttpRequest, public_id: str):
    return _detail_out(reads.buyer_order(ctx_of(request), public_id))


@router.post("/{public_id}/confirm", response=OrderDetailOut, summary="Confirm receipt")
def confirm(request: HttpRequest, public_id: str):
    ctx = ctx_of(request)
    lifecycle.confirm_receipt(ctx, public_id)
    return _detail_out(reads.buyer_order(ctx, public_id))


@router.post(
    "/{public_id}/refund-request",
    response=OrderDetailOut,
    summary="Cancel and refund (before shipment) or request a return (after delivery)",
)
def refund_request(request: HttpRequest, public_id: str, payload: ReasonIn):
    ctx = ctx_of(request)
    lifecycle.request_refund(ctx, public_id, payload.reason)
    return _detail_out(reads.buyer_order(ctx, public_id))
