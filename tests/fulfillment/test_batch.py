"""The hub's batch services (``fulfillment.batch``): the same rules and the same resulting state
as the per-parcel path, all or nothing, a fixed number of statements per batch, hub-scoped."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from ehub.accounts.domain import OrgKind, Role
from ehub.catalog.models import Reservation, StockMovement
from ehub.core.context import Context
from ehub.core.errors import PermissionDenied, ValidationFailed
from ehub.core.models import AuditEntry
from ehub.fulfillment import batch, gateway, services
from ehub.fulfillment.batch import PackInput
from ehub.fulfillment.models import Parcel, PickTask, Shipment

from .conftest import CONSIGNEE, level, today

pytestmark = pytest.mark.django_db

MEASURE = {"weight_g": 1200, "length_mm": 200, "width_mm": 150, "height_mm": 100}


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


def pack_input(shipment, **over) -> PackInput:
    return PackInput(shipment.waybill_no, **{**MEASURE, **over})


def state(shipment: Shipment) -> dict:
    """What a parcel's journey left behind, without ids and timestamps' values."""
    s = Shipment.objects.get(pk=shipment.pk)
    parcel = Parcel.objects.filter(shipment=s).first()
    return {
        "status": s.status,
        "wave": s.wave.name if s.wave else None,
        "stamps": [
            getattr(s, f) is not None
            for f in (
                "released_at",
                "picked_at",
                "packed_at",
                "labelled_at",
                "manifested_at",
                "shipped_at",
            )
        ],
        "lines": list(s.lines.order_by("sku_code").values_list("sku_code", "qty", "picked_qty")),
        "tasks": sorted(
            (t.line.sku_code, t.bin_code, t.zone, t.qty, t.picked_qty, t.done_at is not None)
            for t in PickTask.objects.filter(shipment=s).select_related("line")
        ),
        "parcel": parcel
        and (
            parcel.weight_g,
            parcel.volumetric_g,
            parcel.chargeable_g,
            parcel.label_prints,
            parcel.label_printed_at is not None,
        ),
        "holds": sorted(
            Reservation.objects.filter(
                key__in=[ln.reservation_key for ln in s.lines.all()]
            ).values_list("qty", "consumed_qty", "status")
        ),
        "shipment_movements": sorted(
            StockMovement.objects.filter(
                reference__in=[ln.reservation_key for ln in s.lines.all()], reason="shipment"
            ).values_list("on_hand_delta", "reserved_delta")
        ),
        "audit": sorted(  # actions, and the wave named on release (waybills differ)
            (action, (after or {}).get("wave"))
            for action, after in AuditEntry.objects.filter(
                object_type="fulfillment.shipment", object_id=str(s.pk)
            ).values_list("action", "after")
        ),
        "manifested": s.manifest_id is not None,
    }


def packed_events() -> int:
    return DBTaskResult.objects.filter(args_kwargs__args__0="fulfillment.packed").count()


def test_a_day_in_batches_leaves_what_the_per_parcel_path_leaves(
    stocked, op_ctx, hub, sku, sku2, book, tariff
):
    one = [book([(sku, 2), (sku2, 1)]), book([(sku, 1)])]
    many = [book([(sku, 2), (sku2, 1)]), book([(sku, 1)])]

    for s in one:  # the pick station, parcel by parcel
        services.release_for_picking(op_ctx, s.reference)
        services.pick_all(op_ctx, s.waybill_no)
        services.pack(op_ctx, s.waybill_no, **MEASURE)
        services.print_label(op_ctx, s.waybill_no)
    events_one = packed_events()

    released = batch.release_many(op_ctx, [s.reference for s in many])
    assert [s.status for s in released] == ["released", "released"]
    batch.pick_many(op_ctx, [s.waybill_no for s in many])
    parcels = batch.pack_many(op_ctx, [pack_input(s) for s in many])
    assert [p.shipment_id for p in parcels] == [s.pk for s in many]
    assert packed_events() - events_one == events_one == 2
    labels = batch.print_labels(op_ctx, [s.waybill_no.lower() for s in many])
    assert labels.waybills == [s.waybill_no for s in many]
    assert all(pdf.startswith(b"%PDF") for pdf in labels.pdfs) and len(labels.pdfs) == 2

    carrier = one[0].carrier_code
    assert {s.carrier_code for s in one + many} == {carrier}
    for group in (one, many):
        manifest = services.create_manifest(
            op_ctx,
            carrier_code=carrier,
            flight_no="MH388",
            departure_date=today(),
            waybills=[s.waybill_no for s in group],
        )
        services.handover(op_ctx, manifest.public_id, [s.waybill_no for s in group])

    for a, b in zip(one, many, strict=True):
        assert state(a) == state(b)
    assert state(many[0])["status"] == "shipped"
    assert state(many[0])["holds"] == [(1, 1, "consumed"), (2, 2, "consumed")]
    assert level(sku, hub) == level(sku, hub).__class__(sku.pk, hub.pk, 10 - 6, 0)


def test_request_shipments_books_as_request_shipment_does(stocked, hub, merchant_org, sku):
    from ehub.catalog.services import inventory
    from ehub.core.money import Money

    system = Context.system()

    def request(ref):
        key = f"order:{ref}:0"
        line = services.ShipmentLine(
            sku.pk, sku.code, "Durian", 1, Money(8800, "MYR"), "081060", 1000, key
        )
        return services.ShipmentRequest(
            ref, merchant_org.pk, hub.pk, CONSIGNEE, [line], Money(8800, "MYR")
        )

    inventory.reserve_batch(
        system, [inventory.Hold(sku, hub, 1, f"order:R-{i}:0") for i in range(3)]
    )
    single = services.request_shipment(system, request("R-0"))
    made = batch.request_shipments(system, [request("R-1"), request("R-2"), request("R-0")])
    assert made[2].pk == single.pk  # booked already: returned as it is
    fields = ("status", "carrier_code", "freight", "routing_code", "service_name", "province")
    for s in made[:2]:
        s.refresh_from_db()
        assert [getattr(s, f) for f in fields] == [getattr(single, f) for f in fields]
        assert s.waybill_no != single.waybill_no and gateway.carrier(s.carrier_code)
        assert s.consignee_name == "李伟" and s.lines.get().reservation_key.endswith(":0")
        assert AuditEntry.objects.filter(
            action="fulfillment.waybill_booked", object_id=str(s.pk)
        ).exists()
    assert batch.request_shipments(system, [request("R-1")])[0].pk == made[0].pk


def test_request_shipments_statements_do_not_grow_with_the_batch(stocked, hub, merchant_org, sku):
    from ehub.core.money import Money

    def requests(tag, n):
        return [
            services.ShipmentRequest(
                f"{tag}-{i}",
                merchant_org.pk,
                hub.pk,
                CONSIGNEE,
                [
                    services.ShipmentLine(
                        sku.pk, sku.code, "D", 1, Money(8800, "MYR"), "081060", 1000, f"k:{tag}{i}"
                    )
                ],
                Money(8800, "MYR"),
            )
            for i in range(n)
        ]

    system = Context.system()
    small = _count(lambda: batch.request_shipments(system, requests("S", 2)))
    large = _count(lambda: batch.request_shipments(system, requests("L", 7)))
    assert small == large <= 12
    assert Shipment.objects.filter(reference__startswith="L-").count() == 7


def test_request_shipments_refuses_the_batch_naming_the_bad_request(stocked, hub, sku, book):
    from ehub.core.money import Money

    good = services.ShipmentRequest(
        "R-GOOD",
        hub.pk,  # a hub is not a merchant
        hub.pk,
        CONSIGNEE,
        [services.ShipmentLine(sku.pk, sku.code, "D", 1, Money(1, "MYR"), "081060", 10, "k")],
        Money(1, "MYR"),
    )
    with pytest.raises(ValidationFailed) as exc:
        batch.request_shipments(Context.system(), [good])
    assert codes(exc.value) == [("requests[0].merchant_org_id", "unknown_merchant")]
    assert not Shipment.objects.filter(reference="R-GOOD").exists()


# -- all or nothing ------------------------------------------------------------------------


def test_one_bad_waybill_refuses_the_whole_pick_batch(stocked, op_ctx, sku, book):
    a, b, c = book([(sku, 1)]), book([(sku, 1)]), book([(sku, 1)])
    batch.release_many(op_ctx, [a.reference, b.reference])  # c stays booked
    with pytest.raises(ValidationFailed) as exc:
        batch.pick_many(op_ctx, [a.waybill_no, c.waybill_no, "EX00000000MY", a.waybill_no])
    assert codes(exc.value) == [("waybills[3]", "duplicate")]
    with pytest.raises(ValidationFailed) as exc:
        batch.pick_many(op_ctx, [a.waybill_no, c.waybill_no, "EX00000000MY"])
    assert codes(exc.value) == [
        ("waybills[1]", "not_pickable"),
        ("waybills[2]", "unknown_waybill"),
    ]
    assert c.waybill_no in exc.value.errors[0].message
    assert "EX00000000MY" in exc.value.errors[1].message
    a.refresh_from_db()
    assert a.status == "released" and a.lines.get().picked_qty == 0


def test_a_parcel_over_the_weight_limit_refuses_the_whole_pack_batch(stocked, op_ctx, hub, sku,
                                                                    book):  # fmt: skip
    a, b = book([(sku, 1)]), book([(sku, 1)])
    batch.release_many(op_ctx, [a.reference, b.reference])
    batch.pick_many(op_ctx, [a.waybill_no, b.waybill_no])
    before = level(sku, hub)
    limit = gateway.max_weight_g(b.carrier_code)
    with pytest.raises(ValidationFailed) as exc:
        batch.pack_many(
            op_ctx,
            [pack_input(a), pack_input(b, weight_g=limit + 1), pack_input(a, height_mm=0)],
        )
    assert codes(exc.value) == [("parcels[2]", "duplicate")]
    with pytest.raises(ValidationFailed) as exc:
        batch.pack_many(op_ctx, [pack_input(a, height_mm=0), pack_input(b)])
    assert codes(exc.value) == [("parcels[0].height_mm", "must_be_positive")]
    with pytest.raises(ValidationFailed) as exc:
        batch.pack_many(
            op_ctx,
            [pack_input(a, items=[sku.code, "OTHER"]), pack_input(b, weight_g=limit + 1)],
        )
    assert codes(exc.value) == [
        ("parcels[0].items", "wrong_item"),
        ("parcels[1].weight_g", "over_weight_limit"),
    ]
    assert b.waybill_no in exc.value.errors[1].message and str(limit) in exc.value.errors[1].message
    assert not Parcel.objects.filter(shipment__in=[a, b]).exists()
    assert set(Shipment.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {
        "picked"
    }
    assert level(sku, hub) == before
    events = packed_events()
    batch.pack_many(op_ctx, [pack_input(a, items=[sku.barcode]), pack_input(b)])
    assert packed_events() == events + 2


def test_an_unpacked_parcel_refuses_the_whole_label_batch(stocked, op_ctx, sku, book):
    a, b = book([(sku, 1)]), book([(sku, 1)])
    batch.release_many(op_ctx, [a.reference, b.reference])
    batch.pick_many(op_ctx, [a.waybill_no, b.waybill_no])
    batch.pack_many(op_ctx, [pack_input(a)])
    with pytest.raises(ValidationFailed) as exc:
        batch.print_labels(op_ctx, [a.waybill_no, b.waybill_no])
    assert codes(exc.value) == [("waybills[1]", "not_packed")]
    parcel = Parcel.objects.get(shipment=a)
    assert parcel.label_prints == 0 and parcel.label_printed_at is None
    assert Shipment.objects.get(pk=a.pk).status == "packed"
    assert not AuditEntry.objects.filter(action="fulfillment.label_printed").exists()


def test_an_unknown_reference_refuses_the_whole_release(stocked, op_ctx, sku, book):
    a = book([(sku, 1)])
    with pytest.raises(ValidationFailed) as exc:
        batch.release_many(op_ctx, [a.reference, "ORD-NOBODY"])
    assert codes(exc.value) == [("references[1]", "not_found")]
    a.refresh_from_db()
    assert a.status == "booked" and not PickTask.objects.filter(shipment=a).exists()


def test_release_many_is_idempotent(stocked, op_ctx, sku, book):
    a = book([(sku, 1)])
    first = batch.release_many(op_ctx, [a.reference])[0]
    again = batch.release_many(op_ctx, [a.reference])[0]
    assert again.released_at == first.released_at
    assert PickTask.objects.filter(shipment=a).count() == 1


# -- labels ----------------------------------------------------------------------------------


def test_labels_combined_and_in_worker_processes(stocked, op_ctx, sku, book):
    shipments = [book([(sku, 1)]) for _i in range(4)]
    batch.release_many(op_ctx, [s.reference for s in shipments])
    batch.pick_many(op_ctx, [s.waybill_no for s in shipments])
    batch.pack_many(op_ctx, [pack_input(s) for s in shipments])
    waybills = [s.waybill_no for s in shipments]
    whole = batch.print_labels(op_ctx, waybills, combined=True)
    assert whole.pdfs == [] and whole.combined.count(b"/Type /Page\n") == 4
    try:
        pooled = batch.print_labels(op_ctx, waybills, workers=2)
    finally:
        gateway.close_label_pool()
    assert len(pooled.pdfs) == 4
    for waybill, pdf in zip(waybills, pooled.pdfs, strict=True):
        assert pdf.startswith(b"%PDF") and waybill.encode() in pdf  # the title is the waybill
    assert set(
        Parcel.objects.filter(shipment__in=shipments).values_list("label_prints", flat=True)
    ) == {2}


# -- statements per batch --------------------------------------------------------------------


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries)


def test_statements_per_batch_do_not_grow_with_the_batch(stocked, op_ctx, sku, book, tariff):
    small = [book([(sku, 1)]) for _i in range(2)]
    large = [book([(sku, 1)]) for _i in range(6)]
    # The day's first release into a cut-off creates the wave (a few statements, once per
    # carrier and cut-off); measure batches that find it.
    batch.release_many(op_ctx, [book([(sku, 1)]).reference])
    counts: dict[str, list[int]] = {}
    for group in (small, large):
        refs, waybills = [s.reference for s in group], [s.waybill_no for s in group]
        steps = [
            ("release", lambda r=refs: batch.release_many(op_ctx, r)),
            ("pick", lambda w=waybills: batch.pick_many(op_ctx, w)),
            ("pack", lambda g=group: batch.pack_many(op_ctx, [pack_input(s) for s in g])),
            ("label", lambda w=waybills: batch.print_labels(op_ctx, w)),
        ]
        for name, fn in steps:
            counts.setdefault(name, []).append(_count(fn))
        manifest = services.create_manifest(
            op_ctx,
            carrier_code=group[0].carrier_code,
            flight_no="MH388",
            departure_date=today(),
            waybills=waybills,
        )
        counts.setdefault("handover", []).append(
            _count(lambda m=manifest, w=waybills: services.handover(op_ctx, m.public_id, w))
        )
    for name, (n_small, n_large) in counts.items():
        assert n_small == n_large, (name, counts)
    assert counts["pick"][0] <= 6 and counts["label"][0] <= 8 and counts["pack"][0] <= 8


# -- scoping ---------------------------------------------------------------------------------


def test_a_hub_cannot_touch_another_hubs_parcels(
    stocked, op_ctx, merchant_ctx, sku, book, make_org, make_user
):
    a = book([(sku, 1)])
    batch.release_many(op_ctx, [a.reference])
    other = make_org(kind=OrgKind.HUB_OPERATOR, name="Another hub")
    user = make_user("op@another.example", org=other, role=Role.OPERATOR)
    other_ctx = Context(user=user, org=other, roles=frozenset({Role.OPERATOR}))
    with pytest.raises(ValidationFailed) as exc:
        batch.pick_many(other_ctx, [a.waybill_no])
    assert codes(exc.value) == [("waybills[0]", "unknown_waybill")]
    with pytest.raises(ValidationFailed):
        batch.release_many(other_ctx, [a.reference])
    with pytest.raises(PermissionDenied):
        batch.pick_many(merchant_ctx, [a.waybill_no])
    with pytest.raises(PermissionDenied):
        batch.release_many(merchant_ctx, [a.reference])
    assert Shipment.objects.get(pk=a.pk).status == "released"
    assert batch.wave_waybills(other_ctx, a.wave_id or 0, "released") == []
    a.refresh_from_db()
    assert batch.wave_waybills(op_ctx, a.wave_id, "released") == [a.waybill_no]


# -- the wave page's "print all labels" --------------------------------------------------------


def test_wave_page_prints_all_labels_of_its_packed_parcels(
    client, operator, stocked, op_ctx, sku, book, make_org, make_user
):
    shipments = [book([(sku, 1)]) for _i in range(3)]
    batch.release_many(op_ctx, [s.reference for s in shipments])
    batch.pick_many(op_ctx, [s.waybill_no for s in shipments])
    batch.pack_many(op_ctx, [pack_input(s) for s in shipments[:2]])  # the third is not packed
    wave_id = Shipment.objects.get(pk=shipments[0].pk).wave_id
    client.force_login(operator)
    page = client.get(f"/hub/waves/{wave_id}/").content.decode()
    assert "Print all labels of the 2 packed parcels" in page

    response = client.post(f"/hub/waves/{wave_id}/labels.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.count(b"/Type /Page\n") == 2
    statuses = dict(
        Shipment.objects.filter(pk__in=[s.pk for s in shipments]).values_list("pk", "status")
    )
    assert [statuses[s.pk] for s in shipments] == ["labelled", "labelled", "picked"]
    assert "packed parcel" not in client.get(f"/hub/waves/{wave_id}/").content.decode()
    again = client.post(f"/hub/waves/{wave_id}/labels.pdf", follow=True)
    assert "No packed parcel of this wave waits for its label." in again.content.decode()

    other = make_org(kind=OrgKind.HUB_OPERATOR, name="Another hub")
    client.force_login(make_user("op@another.example", org=other, role=Role.OPERATOR))
    assert client.post(f"/hub/waves/{wave_id}/labels.pdf").status_code == 404
