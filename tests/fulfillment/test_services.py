"""Hub use cases end to end through the services, and the bad input that must change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.catalog.models import StockMovement
from ehub.core import clock
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.fulfillment import services
from ehub.fulfillment.models import Discrepancy, Parcel, ReceiptScan, Shipment, TrackingEvent

from .conftest import level, today

pytestmark = pytest.mark.django_db


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


# -- inbound -------------------------------------------------------------------------------


def test_receiving_by_scan_then_put_away_makes_stock_available(merchant_ctx, op_ctx, hub, sku):
    asn = services.create_asn(
        merchant_ctx,
        hub=hub,
        expected_on=today(),
        lines=[services.AsnLineInput(sku.code, 3)],
        cartons=1,
    )
    carton = asn.cartons.get()
    result = services.receive_scan(op_ctx, asn.public_id, carton.barcode.lower() + "\n")
    assert result.kind == "carton"
    for _i in range(2):
        services.receive_scan(op_ctx, asn.public_id, f" {sku.barcode}\r\n")
    services.receive_scan(op_ctx, asn.public_id, sku.code, damaged=True)
    assert level(sku, hub).on_hand == 0  # counting is not stock yet
    services.finish_receiving(op_ctx, asn.public_id)
    assert list(Discrepancy.objects.filter(asn=asn).values_list("kind", "qty")) == [("damaged", 1)]
    services.put_away(op_ctx, asn.public_id, sku_code=sku.code, bin_code="a-01-02")
    assert level(sku, hub).available == 2
    asn.refresh_from_db()
    assert asn.status == "closed"
    movement = StockMovement.objects.get(reference=asn.public_id)
    assert (movement.reason, movement.on_hand_delta) == ("receipt", 2)


def test_unknown_barcode_and_over_receipt_are_refused_and_change_nothing(
    merchant_ctx, op_ctx, hub, sku
):
    asn = services.create_asn(
        merchant_ctx, hub=hub, expected_on=today(), lines=[services.AsnLineInput(sku.code, 2)]
    )
    with pytest.raises(ValidationFailed) as unknown:
        services.receive_scan(op_ctx, asn.public_id, "4006381333931")
    assert codes(unknown.value) == [("barcode", "unknown_barcode")]
    assert "4006381333931" in unknown.value.errors[0].message
    services.receive_scan(op_ctx, asn.public_id, sku.barcode, qty=2)
    with pytest.raises(ValidationFailed) as over:
        services.receive_scan(op_ctx, asn.public_id, sku.barcode)
    assert codes(over.value) == [("barcode", "over_receipt")]
    assert "0 left" in over.value.errors[0].message
    line = asn.lines.get()
    assert (line.counted_qty, line.damaged_qty) == (2, 0)
    assert ReceiptScan.objects.filter(asn=asn).count() == 1
    assert level(sku, hub).on_hand == 0


def test_put_away_more_than_counted_or_to_unknown_bin_is_refused(merchant_ctx, op_ctx, hub, sku):
    asn = services.create_asn(
        merchant_ctx, hub=hub, expected_on=today(), lines=[services.AsnLineInput(sku.code, 5)]
    )
    services.receive_scan(op_ctx, asn.public_id, sku.barcode, qty=3)
    with pytest.raises(ValidationFailed) as too_many:
        services.put_away(op_ctx, asn.public_id, sku_code=sku.code, bin_code="A-01-01", qty=4)
    assert codes(too_many.value) == [("qty", "invalid_quantity")]
    with pytest.raises(ValidationFailed) as no_bin:
        services.put_away(op_ctx, asn.public_id, sku_code=sku.code, bin_code="Z-99")
    assert codes(no_bin.value) == [("bin", "unknown_bin")]
    assert level(sku, hub).on_hand == 0


def test_create_asn_names_every_bad_field(merchant_ctx, hub, sku, make_sku, make_org):
    other_sku = make_sku(make_org(name="Other"), code="NOT-MINE")
    with pytest.raises(ValidationFailed) as exc:
        services.create_asn(
            merchant_ctx,
            hub=hub,
            expected_on=today() - dt.timedelta(days=1),
            lines=[services.AsnLineInput(other_sku.code, 1), services.AsnLineInput(sku.code, 0)],
            cartons=0,
        )
    assert set(codes(exc.value)) == {
        ("expected_on", "in_past"),
        ("cartons", "invalid"),
        ("lines[0].sku_code", "unknown_sku"),
        ("lines[1].qty", "invalid"),
    }


def test_asns_are_scoped(merchant_ctx, other_ctx, op_ctx, hub, sku, make_org, make_user):
    from ehub.accounts.domain import OrgKind
    from ehub.core.context import Context

    asn = services.create_asn(
        merchant_ctx, hub=hub, expected_on=today(), lines=[services.AsnLineInput(sku.code, 1)]
    )
    with pytest.raises(NotFound):
        services.get_asn(other_ctx, asn.public_id)
    other_hub = make_org(kind=OrgKind.HUB_OPERATOR, name="Penang hub")
    other_op = Context(user=make_user(org=other_hub), org=other_hub)
    with pytest.raises(NotFound):
        services.receive_scan(other_op, asn.public_id, sku.barcode)
    with pytest.raises(PermissionDenied):
        services.receive_scan(merchant_ctx, asn.public_id, sku.barcode)
    assert services.get_asn(op_ctx, asn.public_id) == asn


# -- outbound ------------------------------------------------------------------------------


def test_full_outbound_flow(
    stocked, op_ctx, hub, sku, sku2, book, tariff, django_capture_on_commit_callbacks
):
    shipment = book([(sku, 2), (sku2, 1)])
    assert shipment.status == "booked"
    assert shipment.waybill_no and shipment.carrier_code
    assert shipment.consignee_name == "李伟"
    raw = Shipment.objects.filter(pk=shipment.pk).values_list("consignee_name", flat=True)
    assert "李伟" not in str(list(raw.query.get_compiler("default").execute_sql()))  # encrypted
    assert services.request_shipment(op_ctx, _same_request(shipment)) == shipment  # idempotent

    shipment = services.release_for_picking(op_ctx, shipment.reference)
    assert shipment.status == "released" and shipment.wave is not None
    assert shipment.wave.cutoff_at > shipment.released_at
    tasks = {t.line.sku_code: t for t in shipment.tasks.select_related("line")}
    assert tasks[sku.code].bin_code == "A-01-01" and tasks[sku2.code].zone == "B"

    with pytest.raises(ValidationFailed) as wrong:
        services.confirm_pick(op_ctx, shipment.waybill_no, "9999999999999")
    assert codes(wrong.value) == [("barcode", "wrong_item")]
    services.pick_all(op_ctx, shipment.waybill_no)
    shipment.refresh_from_db()
    assert shipment.status == "picked"

    with pytest.raises(ValidationFailed) as wrong_pack:
        services.pack(
            op_ctx,
            shipment.waybill_no,
            weight_g=2800,
            length_mm=300,
            width_mm=200,
            height_mm=150,
            items=[sku.barcode, sku.barcode, "OTHER"],
        )
    assert codes(wrong_pack.value) == [("items", "wrong_item")]
    with pytest.raises(ValidationFailed) as missing:
        services.pack(
            op_ctx,
            shipment.waybill_no,
            weight_g=2800,
            length_mm=300,
            width_mm=200,
            height_mm=150,
            items=[sku.barcode, sku.barcode],
        )
    assert codes(missing.value) == [("items", "missing_item")]
    parcel = services.pack(
        op_ctx,
        shipment.waybill_no,
        weight_g=2800,
        length_mm=300,
        width_mm=200,
        height_mm=150,
        items=[sku.barcode, sku.code, sku2.barcode],
    )
    assert parcel.volumetric_g == 1800 and parcel.chargeable_g == 2800

    pdf = services.print_label(op_ctx, shipment.waybill_no)
    assert pdf.startswith(b"%PDF")
    shipment.refresh_from_db()
    assert shipment.status == "labelled"

    manifest = services.create_manifest(
        op_ctx,
        carrier_code=shipment.carrier_code,
        flight_no="mh 388",
        departure_date=today() + dt.timedelta(days=1),
    )
    assert manifest.flight_no == "MH388"
    assert len(manifest.export_declarations) == 1
    from ehub.customs.models import ExportDeclaration

    decl = ExportDeclaration.objects.get(public_id=manifest.export_declarations[0])
    assert decl.status == "submitted" and manifest.mawb_no in decl.transport_reference
    assert {ln.hs_code for ln in decl.lines.all()} == {"081060", "210111"}

    before = level(sku, hub)
    result = services.handover(op_ctx, manifest.public_id, [shipment.waybill_no.lower()])
    assert result == {"shipped": [shipment.waybill_no], "missing": []}
    after = level(sku, hub)
    assert (after.on_hand, after.reserved) == (before.on_hand - 2, before.reserved - 2)

    at = clock.now()
    events = [
        services.TrackingInput("e1", "picked_up", at, "KUL"),
        services.TrackingInput("e2", "delivered", at + dt.timedelta(hours=30), "Shanghai"),
    ]
    assert len(services.record_tracking(op_ctx, shipment.waybill_no, events)) == 2
    assert services.record_tracking(op_ctx, shipment.waybill_no, events) == []  # idempotent
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2
    assert [e.code for e in services.tracking_of(shipment.reference)] == ["picked_up", "delivered"]


def _same_request(shipment):
    return services.ShipmentRequest(
        reference=shipment.reference,
        merchant_org_id=shipment.merchant_id,
        hub_org_id=shipment.hub_id,
        consignee=services.consignee_of(shipment),
        lines=[],
        declared_value=None,
    )


def _to_labelled(op_ctx, shipment, weight=1200):
    services.release_for_picking(op_ctx, shipment.reference)
    services.pick_all(op_ctx, shipment.waybill_no)
    services.pack(
        op_ctx, shipment.waybill_no, weight_g=weight, length_mm=200, width_mm=150, height_mm=100
    )
    services.print_label(op_ctx, shipment.waybill_no)


def test_overweight_parcel_is_refused_and_nothing_changes(stocked, op_ctx, hub, sku, book):
    shipment = book([(sku, 1)])
    services.release_for_picking(op_ctx, shipment.reference)
    services.pick_all(op_ctx, shipment.waybill_no)
    before = level(sku, hub)
    from ehub.fulfillment import gateway

    limit = gateway.max_weight_g(shipment.carrier_code)
    with pytest.raises(ValidationFailed) as exc:
        services.pack(
            op_ctx,
            shipment.waybill_no,
            weight_g=limit + 1,
            length_mm=200,
            width_mm=150,
            height_mm=100,
        )
    assert codes(exc.value) == [("weight_g", "over_weight_limit")]
    assert str(limit) in exc.value.errors[0].message
    shipment.refresh_from_db()
    assert shipment.status == "picked" and not Parcel.objects.filter(shipment=shipment).exists()
    assert level(sku, hub) == before


def test_parcel_missing_at_handover_is_flagged_and_keeps_its_stock(
    stocked, op_ctx, hub, sku, book, tariff
):
    a, b = book([(sku, 1)]), book([(sku, 1)])
    for s in (a, b):
        _to_labelled(op_ctx, s)
    a.refresh_from_db()
    manifest = services.create_manifest(
        op_ctx,
        carrier_code=a.carrier_code,
        flight_no="MH388",
        departure_date=today(),
        waybills=[a.waybill_no, b.waybill_no],
    )
    with pytest.raises(ValidationFailed) as stranger:
        services.handover(op_ctx, manifest.public_id, ["XX000000000MY"])
    assert codes(stranger.value) == [("barcode", "not_on_manifest")]
    before = level(sku, hub)
    result = services.handover(op_ctx, manifest.public_id, [a.waybill_no])
    assert result == {"shipped": [a.waybill_no], "missing": [b.waybill_no]}
    b.refresh_from_db()
    assert b.status == "labelled" and b.missing_at_handover and b.manifest_id is None
    assert level(sku, hub).on_hand == before.on_hand - 1
    assert b in services.dashboard(op_ctx)["exceptions"]


def test_failed_delivery_then_return_puts_stock_back(stocked, op_ctx, hub, sku, book, tariff):
    shipment = book([(sku, 3)])
    _to_labelled(op_ctx, shipment)
    shipment.refresh_from_db()
    manifest = services.create_manifest(
        op_ctx, carrier_code=shipment.carrier_code, flight_no="MH388", departure_date=today()
    )
    services.handover(op_ctx, manifest.public_id, [shipment.waybill_no])
    shipped = level(sku, hub)
    services.record_tracking(
        op_ctx,
        shipment.waybill_no,
        [
            services.TrackingInput(
                "x1", "exception", clock.now(), "Shanghai", "Refused", "refused", True
            )
        ],
    )
    shipment.refresh_from_db()
    assert shipment.status == "delivery_failed" and shipment.exception == "refused"
    assert level(sku, hub) == shipped
    services.return_to_sender(op_ctx, shipment.waybill_no)
    shipment.refresh_from_db()
    assert shipment.status == "returned"
    assert level(sku, hub).on_hand == shipped.on_hand + 3
    # a repeated return changes nothing twice
    services.return_to_sender(op_ctx, shipment.waybill_no)
    assert level(sku, hub).on_hand == shipped.on_hand + 3


def test_cancel_before_handover_only(stocked, op_ctx, sku, book):
    shipment = book([(sku, 1)])
    services.release_for_picking(op_ctx, shipment.reference)
    cancelled = services.cancel_shipment(op_ctx, shipment.reference, "buyer cancelled")
    assert cancelled.status == "cancelled" and not cancelled.tasks.exists()
    assert services.cancel_shipment(op_ctx, shipment.reference, "again").status == "cancelled"
    with pytest.raises(Conflict):
        services.pick_all(op_ctx, shipment.waybill_no)


def test_quote_freight_is_the_cheapest_carrier(db):
    from ehub.fulfillment import gateway

    price = services.quote_freight(weight_g=1200, province="广东")
    assert price.currency == "MYR"
    assert price == min(q.total for q in gateway.shop_rates(1200, "广东"))


def test_shipments_are_scoped(stocked, op_ctx, other_ctx, merchant_ctx, sku, book):
    shipment = book([(sku, 1)])
    with pytest.raises(NotFound):
        services.get_shipment(other_ctx, shipment.waybill_no)
    assert services.get_shipment(merchant_ctx, shipment.waybill_no) == shipment
    with pytest.raises(PermissionDenied):
        services.print_label(merchant_ctx, shipment.waybill_no)


def test_sla_report_and_breaches(stocked, op_ctx, sku, book):
    start = clock.now()
    with clock.frozen(start):
        shipment = book([(sku, 1)])
        services.release_for_picking(op_ctx, shipment.reference)
        clock.advance(dt.timedelta(hours=4))
        assert shipment in services.dashboard(op_ctx)["breaches"]
    report = services.sla_report(op_ctx)
    (row,) = report["carrier"]
    assert row["handled"] == 0 and row["handling_rate"] is None  # the clock still runs
