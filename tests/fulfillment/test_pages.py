"""Hub portal, merchant inbound and public tracking pages: rendering, query counts, scoping."""

from __future__ import annotations

import pytest

from ehub.core import clock
from ehub.fulfillment import services

from .conftest import today

pytestmark = pytest.mark.django_db


@pytest.fixture
def op_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def merchant_client(client, merchant_user):
    client.force_login(merchant_user)
    return client


def test_dashboard_lists_inbound_waves_and_is_bounded(
    op_client, stocked, op_ctx, sku, book, django_assert_max_num_queries, merchant_ctx, hub
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def asn(qty):
        lines = [services.AsnLineInput(sku.code, qty)]
        services.create_asn(merchant_ctx, hub=hub, expected_on=today(), lines=lines)

    s = services.release_for_picking(op_ctx, book([(sku, 1)]).reference)
    asn(4)
    with CaptureQueriesContext(connection) as few:
        assert op_client.get("/hub/").status_code == 200
    for _i in range(3):  # more parcels, waves' work and inbound notices …
        s = services.release_for_picking(op_ctx, book([(sku, 1)]).reference)
        asn(2)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as many:
        response = op_client.get("/hub/")
    assert len(many) == len(few)  # … cost no more queries
    assert response.status_code == 200
    body = response.content.decode()
    assert "Inbound due today" in body and "0 of 4" in body
    assert s.wave.name in body


def test_receiving_page_scan_errors_are_shown_and_change_nothing(op_client, merchant_ctx, hub, sku):
    asn = services.create_asn(
        merchant_ctx, hub=hub, expected_on=today(), lines=[services.AsnLineInput(sku.code, 1)]
    )
    url = f"/hub/inbound/{asn.public_id}/"
    response = op_client.post(url, {"action": "scan", "barcode": "NOPE", "qty": 1}, follow=True)
    assert "Unknown barcode NOPE" in response.content.decode()
    op_client.post(url, {"action": "scan", "barcode": sku.barcode, "qty": 1})
    response = op_client.post(
        url, {"action": "scan", "barcode": sku.barcode, "qty": 1}, follow=True
    )
    assert "Over-receipt" in response.content.decode()
    assert asn.lines.get().counted_qty == 1


def test_shipment_page_masks_consignee_and_prints_label(
    op_client, stocked, op_ctx, sku, book, django_assert_max_num_queries
):
    s = book([(sku, 1)])
    services.release_for_picking(op_ctx, s.reference)
    services.pick_all(op_ctx, s.waybill_no)
    services.pack(op_ctx, s.waybill_no, weight_g=1100, length_mm=200, width_mm=150, height_mm=100)
    with django_assert_max_num_queries(6):
        response = op_client.get(f"/hub/shipments/{s.waybill_no}/")
    body = response.content.decode()
    assert "13800138000" not in body and "8000" in body
    assert "李伟" not in body
    pdf = op_client.get(f"/hub/shipments/{s.waybill_no}/label.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_other_hub_and_merchants_cannot_see_hub_pages(
    client, stocked, sku, book, make_user, make_org, merchant_user
):
    from ehub.accounts.domain import OrgKind

    s = book([(sku, 1)])
    other_hub = make_org(kind=OrgKind.HUB_OPERATOR, name="Penang hub")
    client.force_login(make_user(org=other_hub))
    assert client.get(f"/hub/shipments/{s.waybill_no}/").status_code == 404
    assert client.get(f"/hub/inbound/{stocked.public_id}/").status_code == 404
    client.force_login(merchant_user)
    assert client.get("/hub/").status_code == 403


def test_merchant_creates_asn_and_sees_only_its_own(
    merchant_client, hub, sku, other_ctx, make_sku, other_merchant, django_assert_max_num_queries
):
    response = merchant_client.post(
        "/merchant/inbound/",
        {
            "hub": hub.pk,
            "expected_on": today().isoformat(),
            "lines": f"{sku.code} 12\n",
            "cartons": 2,
        },
    )
    assert response.status_code == 302
    detail = merchant_client.get(response["Location"])
    assert "Print carton labels" in detail.content.decode()
    pdf = merchant_client.get(response["Location"] + "cartons.pdf")
    assert pdf.content.startswith(b"%PDF")
    theirs = services.create_asn(
        other_ctx,
        hub=hub,
        expected_on=today(),
        lines=[services.AsnLineInput(make_sku(other_merchant, code="BATIK-1").code, 1)],
    )
    assert merchant_client.get(f"/merchant/inbound/{theirs.public_id}/").status_code == 404
    assert (
        merchant_client.get(f"/merchant/inbound/{theirs.public_id}/cartons.pdf").status_code == 404
    )
    with django_assert_max_num_queries(12):
        listing = merchant_client.get("/merchant/inbound/")
    assert theirs.public_id not in listing.content.decode()


def test_merchant_form_names_unknown_sku(merchant_client, hub):
    response = merchant_client.post(
        "/merchant/inbound/",
        {"hub": hub.pk, "expected_on": today().isoformat(), "lines": "NOPE 3", "cartons": 1},
    )
    assert response.status_code == 200
    assert "Unknown SKU code." in response.content.decode()
    # next to the SKU textarea (service field lines[0].sku_code), not above the form
    assert response.context["form"].errors == {"lines": ["Unknown SKU code."]}


def test_public_tracking_shows_status_without_personal_data(client, stocked, sku, book, op_ctx):
    s = book([(sku, 1)])
    services.record_tracking(
        op_ctx,
        s.waybill_no,
        [services.TrackingInput("p1", "picked_up", clock.now(), "KUL", "Picked up")],
    )
    response = client.get(f"/track/{s.waybill_no}/")
    body = response.content.decode()
    assert response.status_code == 200 and "Picked up" in body
    for secret in ("李伟", "13800138000", "世纪大道", s.reference):
        assert secret not in body
    assert client.get("/track/XX123456789MY/").status_code == 404


def test_api_scoping(client, stocked, sku, book, merchant_user, other_ctx):
    s = book([(sku, 1)])
    client.force_login(merchant_user)
    mine = client.get("/api/v1/fulfillment/shipments")
    assert mine.json()["count"] == 1
    assert client.get(f"/api/v1/fulfillment/shipments/{s.waybill_no}").json()["status"] == "booked"
    client.force_login(other_ctx.user)
    assert client.get("/api/v1/fulfillment/shipments").json()["count"] == 0
    assert client.get(f"/api/v1/fulfillment/shipments/{s.waybill_no}").status_code == 404
    assert client.get(f"/api/v1/fulfillment/asns/{stocked.public_id}").status_code == 404


def test_sla_page(op_client, stocked):
    assert op_client.get("/hub/sla/").status_code == 200


def test_api_creates_an_asn_and_answers_its_detail(client, merchant_user, merchant_org, hub, sku):
    client.force_login(merchant_user)
    payload = {
        "hub": hub.public_id,
        "expected_on": today().isoformat(),
        "cartons": 2,
        "lines": [{"sku_code": sku.code, "qty": 12}],
    }
    response = client.post("/api/v1/fulfillment/asns", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["merchant"], body["hub"], body["status"]) == (
        merchant_org.public_id,
        hub.public_id,
        "expected",
    )
    assert [(ln["sku_code"], ln["expected_qty"]) for ln in body["lines"]] == [(sku.code, 12)]
    assert len(body["cartons"]) == 2 and body["discrepancies"] == []
    assert client.get(f"/api/v1/fulfillment/asns/{body['id']}").json() == body


def test_manifests_page_counts_waiting_parcels_per_carrier(
    op_client, stocked, op_ctx, sku, book, django_assert_max_num_queries
):
    s = book([(sku, 1)])
    services.release_for_picking(op_ctx, s.reference)
    services.pick_all(op_ctx, s.waybill_no)
    services.pack(op_ctx, s.waybill_no, weight_g=900, length_mm=200, width_mm=150, height_mm=100)
    services.print_label(op_ctx, s.waybill_no)
    with django_assert_max_num_queries(6):
        response = op_client.get("/hub/manifests/")
    assert f"{s.carrier_name} ({s.carrier_code}): 1" in response.content.decode()
