"""REST API of customs (``/api/v1/customs/``): external platforms file CEB documents and follow
their declarations. Everything is scoped to the caller's organization (the filer): another
organization's declaration answers 404.

``POST /documents`` takes either raw CEB XML (``Content-Type: application/xml``) or JSON:
``{"xml": "<ceb:CEB311Message …>"}``, or ``{"type": "CEB311Message", "guid": …, "message":
{…}}`` where ``message`` mirrors the XML (element names as keys, repeated elements as lists).
JSON is turned into the same XML and read by the same codec, so both get the same checks and
the same element paths in errors.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of
from ehub.core.errors import FieldError, NotFound, ValidationFailed
from ehub.customs import declarations, webhooks
from ehub.customs.domain.codes import NAMESPACE, RETURN_STATUSES
from ehub.customs.domain.documents import MESSAGE_TYPES

router = Router(tags=["customs"])
_NS = "{" + NAMESPACE + "}"
XML_TYPES = ("application/xml", "text/xml")


class ReceiptOut(Schema):
    guid: str
    return_status: str
    return_time: str
    return_info: str
    moved: bool = Field(description="Whether this receipt advanced the status.")


class DeclarationOut(Schema):
    id: str = Field(alias="public_id")
    order_no: str
    cop_no: str
    status: str
    status_label: str
    lane: str
    risk_score: int
    regime: str
    tax_total_fen: int = Field(alias="tax_total")
    created_at: datetime
    declared_at: datetime | None
    released_at: datetime | None

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(RETURN_STATUSES.get(obj.status, _("collecting documents")))


class DeclarationDetailOut(DeclarationOut):
    documents: list[str]
    mismatches: list[dict[str, Any]]
    risk_reasons: list[dict[str, Any]]
    tax: dict[str, Any]
    receipts: list[ReceiptOut]

    @staticmethod
    def resolve_documents(obj) -> list[str]:
        return sorted(doc.kind for doc in obj.documents.all())

    @staticmethod
    def resolve_receipts(obj) -> list:
        return list(obj.receipts.all())


class FiledOut(Schema):
    declarations: list[DeclarationOut]


def _json_to_xml(data: Any) -> bytes:
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", _("Expected a JSON object."), "invalid")
    if "xml" in data:
        if not isinstance(data["xml"], str):
            raise ValidationFailed.single("xml", _("Give the message XML as a string."))
        return data["xml"].encode("utf-8")
    kind = data.get("type")
    if kind not in MESSAGE_TYPES:
        raise ValidationFailed.single(
            "type", _("Name the message type, e.g. CEB311Message."), "invalid"
        )
    if not isinstance(data.get("message"), dict):
        raise ValidationFailed.single("message", _("Expected a JSON object."), "invalid")
    root = ET.Element(_NS + kind, {"guid": str(data.get("guid", "")), "version": "1.0"})

    def add(parent: ET.Element, name: str, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                add(parent, name, item)
            return
        child = ET.SubElement(parent, _NS + name)
        if isinstance(value, dict):
            for key, inner in value.items():
                add(child, key, inner)
        elif value is not None:
            child.text = str(value)

    for key, value in data["message"].items():
        add(root, key, value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@router.post(
    "/documents",
    response={201: FiledOut},
    summary="File an order, payment, waybill or inventory list (CEB XML or JSON)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
def file_document(request: HttpRequest):
    ctx = ctx_of(request)
    content_type = (request.content_type or "").lower()
    if content_type in XML_TYPES:
        payload = request.body
    else:
        try:
            payload = _json_to_xml(json.loads(request.body or b"null"))
        except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
            raise ValidationFailed(
                [FieldError("body", _("The body is not valid JSON."), "json_invalid")]
            ) from None
    touched = declarations.file_document(ctx, payload)
    for decl in touched:
        decl.refresh_from_db()
    return Status(201, {"declarations": touched})


@router.get("/declarations", response=list[DeclarationOut], summary="List my declarations")
@paginate(Page)
def list_declarations(request: HttpRequest, status: str = ""):
    query = declarations.declarations_of(ctx_of(request))
    return query.filter(status=status) if status else query


@router.get(
    "/declarations/{public_id}",
    response=DeclarationDetailOut,
    summary="A declaration's status, documents, tax, risk and receipts",
)
def get_declaration(request: HttpRequest, public_id: str):
    ctx = ctx_of(request)
    decl = declarations.declaration_of(ctx, public_id)
    if decl.filing_org_id != ctx.org_id:  # customs authorities use the console, not this
        raise NotFound(_("No such declaration."))
    return decl


# -- webhooks: receipts pushed to the filer ----------------------------------------------------


class WebhookIn(Schema):
    url: str


class WebhookOut(Schema):
    id: int
    url: str
    is_active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="HMAC-SHA256 key of the eHub-Signature header. Shown only in this answer."
    )


@router.post(
    "/webhooks",
    response={201: WebhookCreatedOut},
    summary="Register a URL that receives this organization's customs receipts, signed",
)
def add_webhook(request: HttpRequest, body: WebhookIn):
    endpoint, secret = webhooks.add_endpoint(ctx_of(request), body.url)
    return Status(
        201,
        {
            "id": endpoint.pk,
            "url": endpoint.url,
            "is_active": endpoint.is_active,
            "created_at": endpoint.created_at,
            "secret": secret,
        },
    )


@router.get("/webhooks", response=list[WebhookOut], summary="This organization's webhook URLs")
def list_webhooks(request: HttpRequest):
    return list(webhooks.list_endpoints(ctx_of(request)))


@router.delete("/webhooks/{endpoint_id}", response={204: None}, summary="Stop a webhook URL")
def remove_webhook(request: HttpRequest, endpoint_id: int):
    webhooks.remove_endpoint(ctx_of(request), endpoint_id)
    return Status(204, None)
