"""Fulfilment API (``/api/v1/fulfillment/``): advance shipping notices, shipments, parcels and
tracking. Thin over ``fulfillment.services``; scoped by organization: merchants see their own
notices and shipments, hub operators their hub's; anything else answers 404.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of

from . import services

router = Router(tags=["fulfillment"])


class AsnLineIn(Schema):
    sku_code: str
    qty: int


class AsnIn(Schema):
    hub: str = Field(description="The hub's public id (ORG-…).")
    expected_on: dt.date
    cartons: int = 1
    note: str = ""
    lines: list[AsnLineIn]


class AsnLineOut(Schema):
    sku_code: str = Field(alias="sku.code")
    expected_qty: int
    counted_qty: int
    damaged_qty: int
    put_away_qty: int


class DiscrepancyOut(Schema):
    sku_code: str = Field(alias="line.sku.code")
    kind: str
    qty: int


class AsnOut(Schema):
    id: str = Field(alias="public_id")
    merchant: str = Field(alias="merchant.public_id")
    hub: str = Field(alias="hub.public_id")
    expected_on: dt.date
    status: str
    created_at: dt.datetime
    received_at: dt.datetime | None


class AsnDetailOut(AsnOut):
    lines: list[AsnLineOut]
    cartons: list[str]
    discrepancies: list[DiscrepancyOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.select_related("sku"))

    @staticmethod
    def resolve_cartons(obj) -> list[str]:
        return [c.barcode for c in obj.cartons.all()]

    @staticmethod
    def resolve_discrepancies(obj) -> list:
        return list(obj.discrepancies.select_related("line__sku"))


class ParcelOut(Schema):
    id: str = Field(alias="public_id")
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    volumetric_g: int
    chargeable_g: int
    packed_at: dt.datetime
    label_printed_at: dt.datetime | None


class ShipmentOut(Schema):
    id: str = Field(alias="public_id")
    reference: str
    status: str
    waybill_no: str
    carrier_code: str
    carrier_name: str
    routing_code: str
    province: str
    city: str
    freight_minor: int = Field(alias="freight")
    freight_currency: str
    requested_at: dt.datetime
    released_at: dt.datetime | None
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    missing_at_handover: bool
    exception: str
    parcel: ParcelOut | None = None

    @staticmethod
    def resolve_parcel(obj):
        return getattr(obj, "parcel", None)  # None until packed


class TrackingOut(Schema):
    code: str
    at: dt.datetime
    location: str
    description: str


@router.post("/asns", response={201: AsnDetailOut}, summary="Send an advance shipping notice")
def create_asn(request: HttpRequest, payload: AsnIn):
    asn = services.create_asn(
        ctx_of(request),
        hub=payload.hub,
        expected_on=payload.expected_on,
        lines=[services.AsnLineInput(ln.sku_code, ln.qty) for ln in payload.lines],
        cartons=payload.cartons,
        note=payload.note,
    )
    return Status(201, asn)


@router.get("/asns", response=list[AsnOut], summary="My notices (merchant) or my hub's")
@paginate(Page)
def list_asns(request: HttpRequest, status: str = ""):
    qs = services.asns_visible(ctx_of(request)).order_by("-created_at", "-pk")
    return qs.filter(status=status) if status else qs


@router.get("/asns/{public_id}", response=AsnDetailOut, summary="A notice with its discrepancies")
def get_asn(request: HttpRequest, public_id: str):
    return services.get_asn(ctx_of(request), public_id)


@router.get("/shipments", response=list[ShipmentOut], summary="Shipments (scoped)")
@paginate(Page)
def list_shipments(request: HttpRequest, status: str = ""):
    qs = services.shipments_visible(ctx_of(request)).order_by("-requested_at", "-pk")
    return qs.filter(status=status) if status else qs


@router.get("/shipments/{key}", response=ShipmentOut, summary="A shipment by waybill or order")
def get_shipment(request: HttpRequest, key: str):
    return services.get_shipment(ctx_of(request), key)


@router.get(
    "/shipments/{key}/tracking", response=list[TrackingOut], summary="A shipment's tracking events"
)
def shipment_tracking(request: HttpRequest, key: str):
    shipment = services.get_shipment(ctx_of(request), key)
    return list(shipment.events.all())
