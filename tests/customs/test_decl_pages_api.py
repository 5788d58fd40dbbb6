"""Officer console pages and the customs API: access, scoping, decisions, query budgets."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from ehub.accounts.services import create_token
from ehub.core.models import AuditEntry
from ehub.customs import declarations
from ehub.customs.domain.xmlcodec import to_xml
from ehub.customs.models import Declaration

from . import factories as f
from .decl_support import ceb411, ceb511, file_all

pytestmark = pytest.mark.urls("tests.customs.urls_decl")


def three(order_no="ORD-7K4M-9QX2-HT3P-V6XZ", **order):
    return (
        f.ceb311(orderNo=order_no, **order),
        ceb411(orderNo=order_no),
        ceb511(orderNo=order_no, logisticsNo="MY" + order_no[-9:]),
    )


@pytest.fixture
def red_declaration(customs_world):
    decl, _ = file_all(customs_world.ctx, three(ebcName="Red Mountain Pharma Limited"))
    declarations.apply_receipt(customs_world.ctx, to_xml(declarations.receipt_message(decl, "120")))
    return decl


def officer_client(world) -> Client:
    client = Client()
    client.force_login(world.officer)
    return client


def test_queue_lists_red_declarations_within_the_query_budget(
    customs_world, red_declaration, django_assert_max_num_queries
):
    for n in range(3):
        file_all(customs_world.ctx, three(f"ORD-RED-{n}", ebcName="Red Mountain Pharma Limited"))
    file_all(customs_world.ctx, three("ORD-GREEN-1"))
    client = officer_client(customs_world)
    client.get("/customs/declarations/")  # warm the session
    with django_assert_max_num_queries(8):
        response = client.get("/customs/declarations/?lane=red")
    assert response.status_code == 200
    body = response.content.decode()
    assert red_declaration.public_id in body and "ORD-GREEN-1" not in body
    assert "ORD-RED-2" in body


def test_queue_filter_by_status(customs_world, red_declaration):
    client = officer_client(customs_world)
    body = client.get("/customs/declarations/?status=500").content.decode()
    assert red_declaration.public_id not in body
    body = client.get("/customs/declarations/?status=120").content.decode()
    assert red_declaration.public_id in body


def test_other_organizations_cannot_open_the_console(customs_world, red_declaration):
    client = Client()
    client.force_login(customs_world.filer)
    assert client.get("/customs/declarations/").status_code == 403
    assert client.get(f"/customs/declarations/{red_declaration.public_id}/").status_code == 403
    assert Client().get("/customs/declarations/").status_code == 302  # to the login page
    officer = officer_client(customs_world)
    assert officer.get("/customs/declarations/CDL-NONE-NONE-NONE/").status_code == 404


def test_detail_highlights_mismatches_and_masks_the_id(customs_world):
    w = customs_world
    order, payment, _ = three()
    waybill = ceb511(orderNo=order.Order[0].OrderHead.orderNo, consignee="王芳")
    decl, _ = file_all(w.ctx, (order, payment, waybill))
    client = officer_client(w)
    client.get("/customs/declarations/")
    response = client.get(f"/customs/declarations/{decl.public_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<td class="mismatch"><mark>王芳</mark>' in body
    assert "110105********002X" in body and f.BUYER_ID not in body
    assert "of the 3-hour target" in body


def test_officer_decides_with_a_reason(customs_world, red_declaration):
    client = officer_client(customs_world)
    url = f"/customs/declarations/{red_declaration.public_id}/"
    response = client.post(url, {"action": "inspect", "reason": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(url, {"action": "inspect", "reason": "Seller on a watch list"})
    assert response.status_code == 302
    response = client.post(url, {"action": "release", "reason": "Contents match"})
    red_declaration.refresh_from_db()
    assert red_declaration.status == "800"
    assert AuditEntry.objects.filter(action="customs.officer_released").exists()
    # The release is billed (CEB816) and the bill shows on the timeline with the list receipts.
    assert red_declaration.receipts.filter(kind="CEB816").count() == 1
    body = client.get(url).content.decode()
    assert 'data-kind="CEB816"' in body and "Tax bill" in body
    assert 'data-kind="CEB622"' in body and "valueAddedTax" in body


def test_decision_form_needs_csrf(customs_world, red_declaration):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customs_world.officer)
    url = f"/customs/declarations/{red_declaration.public_id}/"
    assert client.post(url, {"action": "release", "reason": "x"}).status_code == 403


# -- API -------------------------------------------------------------------------------------


def token_client(world, ctx) -> Client:
    issued = create_token(ctx, "customs")
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


def test_api_files_xml_and_json_and_reads_back(customs_world, settings):
    w = customs_world
    client = token_client(w, w.ctx)
    order, payment, waybill = three()
    response = client.post(
        "/api/v1/customs/documents", to_xml(order), content_type="application/xml"
    )
    assert response.status_code == 201, response.content
    public_id = response.json()["declarations"][0]["id"]
    response = client.post(
        "/api/v1/customs/documents",
        {"xml": to_xml(payment).decode()},
        content_type="application/json",
    )
    assert response.status_code == 201
    head = waybill.Logistics[0].LogisticsHead
    message = {
        "Logistics": {
            "LogisticsHead": {k: str(v) for k, v in head.__dict__.items() if v not in ("", None)}
        },
        "BaseTransfer": f.transfer().__dict__,
    }
    response = client.post(
        "/api/v1/customs/documents",
        {"type": "CEB511Message", "guid": f.GUID, "message": message},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["declarations"][0]["status"] == "3"
    detail = client.get(f"/api/v1/customs/declarations/{public_id}").json()
    assert detail["documents"] == ["CEB311", "CEB411", "CEB511", "CEB621"]
    listing = client.get("/api/v1/customs/declarations").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == public_id


def test_api_errors_name_the_element(customs_world):
    client = token_client(customs_world, customs_world.ctx)
    bad = to_xml(f.replace_head(f.ceb311(), acturalPaid=Decimal("1")))
    response = client.post("/api/v1/customs/documents", bad, content_type="application/xml")
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert "body.CEB311Message/Order[1]/OrderHead/acturalPaid" in fields
    response = client.post("/api/v1/customs/documents", b"<oops", content_type="application/xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert Declaration.objects.count() == 0


def test_api_is_scoped_to_the_filing_org(customs_world, django_assert_max_num_queries):
    w = customs_world
    decl, _ = file_all(w.ctx, three())
    theirs = token_client(w, w.other_ctx)
    assert theirs.get(f"/api/v1/customs/declarations/{decl.public_id}").status_code == 404
    assert theirs.get("/api/v1/customs/declarations").json()["count"] == 0
    mine = token_client(w, w.ctx)
    with django_assert_max_num_queries(8):
        response = mine.get(f"/api/v1/customs/declarations/{decl.public_id}")
    assert response.status_code == 200
    assert json.loads(response.content)["lane"] == "green"
