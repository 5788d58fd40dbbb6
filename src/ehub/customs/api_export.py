"""REST API of Malaysian export declarations (``/api/v1/customs/exports/``), for merchants.

Thin over ``customs.export``: draft (validated, duty computed), list, read, submit. Scoped to
the caller's organization: another organization's declaration answers 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of
from ehub.customs import export

router = Router(tags=["customs exports"])


class LineIn(Schema):
    hs_code: str = Field(description="HS 2022 subheading, six digits (e.g. 151110).")
    tariff_code: str = Field("", description="Malaysian 10-digit tariff line, when known.")
    description: str
    quantity: Decimal
    unit: str = Field(description="Unit of quantity, e.g. KGM.")
    fob: str = Field(description="FOB value in MYR, e.g. '1250.00'.")
    net_kg: Decimal
    gross_kg: Decimal
    origin: str = "MY"


class ExportIn(Schema):
    exporter_ssm: str | None = Field(None, description="Defaults to the organization's.")
    exporter_name: str | None = Field(None, description="Defaults to the organization's.")
    exporter_address: str
    consignee_name: str
    consignee_address: str
    consignee_country: str
    declarant: str
    transport_mode: str = Field("4", description="UN/ECE Rec. 19: 4 = air.")
    port_of_loading: str = "KUL"
    destination_country: str
    destination_port: str
    departure_date: date
    transport_reference: str = Field(description="Airway bill or consignment number.")
    lines: list[LineIn]


class LineOut(Schema):
    line_no: int
    hs_code: str
    tariff_code: str
    description: str
    quantity: Decimal
    unit: str
    fob_sen: int = Field(alias="fob")
    net_kg: Decimal
    gross_kg: Decimal
    origin: str
    duty_rate: Decimal
    duty_sen: int = Field(alias="duty")


class ExportOut(Schema):
    id: str = Field(alias="public_id")
    status: str
    exporter_ssm: str
    consignee_name: str
    destination_country: str
    destination_port: str
    departure_date: date
    transport_reference: str
    fob_total_sen: int = Field(alias="fob_total")
    duty_total_sen: int = Field(alias="duty_total")
    customs_reference: str
    reason: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class ExportDetailOut(ExportOut):
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


@router.post("", response={201: ExportDetailOut}, summary="Draft an export declaration")
def create_export(request: HttpRequest, payload: ExportIn):
    data = payload.model_dump(exclude_none=True)
    decl = export.create_export_declaration(ctx_of(request), data)
    return Status(201, decl)


@router.get("", response=list[ExportOut], summary="List my export declarations")
@paginate(Page)
def list_exports(request: HttpRequest, status: str = ""):
    query = export.exports_of(ctx_of(request))
    return query.filter(status=status) if status else query


@router.get("/{public_id}", response=ExportDetailOut, summary="An export declaration")
def get_export(request: HttpRequest, public_id: str):
    return export.export_of(ctx_of(request), public_id)


@router.post(
    "/{public_id}/submit",
    response=ExportDetailOut,
    summary="Submit to Malaysian customs (idempotent)",
)
def submit_export(request: HttpRequest, public_id: str):
    ctx = ctx_of(request)
    export.submit(ctx, public_id)
    return export.export_of(ctx, public_id)
