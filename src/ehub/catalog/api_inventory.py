"""REST API of inventory, mounted at ``/api/v1/inventory`` (see ``ehub/api.py`` ROUTERS).

* ``GET  /stock``         the caller's stock levels (filter ``sku`` code, ``hub`` ORG id)
* ``POST /adjustments``   correct on-hand stock by ``delta`` or to a counted ``on_hand``
* ``GET  /movements``     the append-only movement history (filter sku, hub, reason)
* ``GET  /reservations``  holds on the caller's stock, read-only: checkout and campaigns make
  them through the services, never through the API

Everything is scoped to the caller's organization: a SKU code of another organization is 404,
exactly like one that does not exist. Handlers are thin: ``services.inventory`` does the work.
"""

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of
from ehub.core.errors import FieldError, ValidationFailed

from .models import MovementReason, ReservationStatus
from .services import inventory

router = Router(tags=["inventory"])


class HubRef(Schema):
    public_id: str = Field(..., description="The hub's organization id, e.g. ORG-….")
    name: str


def _hub_ref(hub) -> dict:
    return {"public_id": hub.public_id, "name": hub.name}


class StockOut(Schema):
    sku: str = Field(..., description="The SKU code.")
    product: str = Field(..., description="The product's public id (PRD-…).")
    hub: HubRef
    on_hand: int
    reserved: int = Field(..., description="Held for checkouts and campaign offers.")
    available: int = Field(..., description="on_hand - reserved; never negative.")
    updated_at: datetime

    @staticmethod
    def resolve_sku(stock) -> str:
        return stock.sku.code

    @staticmethod
    def resolve_product(stock) -> str:
        return stock.sku.product.public_id

    @staticmethod
    def resolve_hub(stock) -> dict:
        return _hub_ref(stock.hub)


class MovementOut(Schema):
    id: int
    sku: str
    hub: HubRef
    reason: str = Field(
        ..., description="receipt, reservation, release, shipment, adjustment or return"
    )
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reference: str
    note: str
    at: datetime

    @staticmethod
    def resolve_sku(movement) -> str:
        return movement.stock.sku.code

    @staticmethod
    def resolve_hub(movement) -> dict:
        return _hub_ref(movement.stock.hub)


class ReservationOut(Schema):
    key: str = Field(..., description="The holder's idempotency key.")
    sku: str
    hub: HubRef
    qty: int = Field(..., description="Units asked for.")
    held: int = Field(..., description="Units still held (qty - released - shipped).")
    released_qty: int
    consumed_qty: int = Field(..., description="Units shipped from this hold.")
    status: str = Field(..., description="active, released, consumed or expired")
    purpose: str
    expires_at: datetime | None
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_sku(reservation) -> str:
        return reservation.stock.sku.code

    @staticmethod
    def resolve_hub(reservation) -> dict:
        return _hub_ref(reservation.stock.hub)


class AdjustmentIn(Schema):
    sku: str = Field(..., min_length=1, max_length=64, description="The SKU code.")
    hub: str = Field(..., min_length=1, max_length=40, description="The hub's ORG-… id.")
    delta: int | None = Field(
        None,
        ge=-1_000_000_000,
        le=1_000_000_000,
        description="Units to add (positive) or remove (negative). Give delta or on_hand.",
    )
    on_hand: int | None = Field(
        None, ge=0, le=1_000_000_000, description="The counted quantity (a stock take)."
    )
    note: str = Field("", max_length=300)


class AdjustmentOut(Schema):
    changed: bool = Field(..., description="False when on_hand already equalled the count.")
    movement: MovementOut | None
    stock: StockOut


class StockFilter(Schema):
    sku: str | None = Field(None, max_length=64, description="Only this SKU code.")
    hub: str | None = Field(None, max_length=40, description="Only this hub (ORG-…).")


class MovementFilter(StockFilter):
    reason: MovementReason | None = None


class ReservationFilter(StockFilter):
    status: ReservationStatus | None = None


def _filters(ctx, params: StockFilter) -> dict:
    """Resolve the sku code and hub id of a query; unknown or foreign SKUs are 404."""
    found: dict = {}
    if params.sku:
        found["sku"] = inventory.find_sku(ctx, params.sku, field="query.sku")
    if params.hub:
        found["hub"] = inventory.find_hub(params.hub, field="query.hub")
    return found


@router.get(
    "/stock",
    response=list[StockOut],
    summary="Stock levels of the caller's SKUs, per hub",
)
@paginate(Page)
def list_stock(request: HttpRequest, filters: Query[StockFilter]):
    ctx = ctx_of(request)
    return inventory.stock_levels(ctx, **_filters(ctx, filters))


@router.post(
    "/adjustments",
    response={201: AdjustmentOut, 200: AdjustmentOut},
    summary="Adjust on-hand stock (reason: adjustment; audited)",
    description="Give `delta` (units to add or remove) or `on_hand` (the counted quantity). "
    "On hand can never go below what is reserved (422 naming the field).",
)
def create_adjustment(request: HttpRequest, payload: AdjustmentIn):
    ctx = ctx_of(request)
    if (payload.delta is None) == (payload.on_hand is None):
        raise ValidationFailed(
            [FieldError("body.delta", _("Give either delta or on_hand, not both."), "one_of")]
        )
    sku = inventory.find_sku(ctx, payload.sku, field="body.sku")
    hub = inventory.find_hub(payload.hub, field="body.hub")
    if payload.delta is not None:
        movement = inventory.adjust(ctx, sku, hub, payload.delta, payload.note)
    else:
        movement = inventory.set_on_hand(ctx, sku, hub, payload.on_hand, payload.note)
    stock = inventory.stock_levels(ctx, sku=sku, hub=hub).get()
    body = {"changed": movement is not None, "movement": movement, "stock": stock}
    return Status(201 if movement is not None else 200, body)


@router.get(
    "/movements",
    response=list[MovementOut],
    summary="Stock movements of the caller's SKUs, newest first",
)
@paginate(Page)
def list_movements(request: HttpRequest, filters: Query[MovementFilter]):
    ctx = ctx_of(request)
    return inventory.movements(ctx, reason=filters.reason, **_filters(ctx, filters))


@router.get(
    "/reservations",
    response=list[ReservationOut],
    summary="Holds on the caller's stock (read-only), newest first",
)
@paginate(Page)
def list_reservations(request: HttpRequest, filters: Query[ReservationFilter]):
    ctx = ctx_of(request)
    return inventory.reservations(ctx, status=filters.status, **_filters(ctx, filters))
