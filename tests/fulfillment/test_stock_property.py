"""Stock conservation through the hub, as a hypothesis property over random sequences of
inbound, reserve (order), ship (pick/pack/label/manifest/handover), cancel and return.

After every step, for every SKU at the hub: on_hand >= 0 and reserved >= 0; on_hand equals the
sum of its movements' deltas (every unit is accounted for in a movement), and equals what the
model says (received - shipped + returned); reserved equals the units held by live orders.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehub.catalog.models import StockMovement
from ehub.catalog.services import inventory
from ehub.core.context import Context
from ehub.core.errors import ValidationFailed
from ehub.fulfillment import services

from .conftest import level, today

pytestmark = pytest.mark.django_db

steps = st.lists(
    st.one_of(
        st.tuples(st.just("inbound"), st.integers(0, 1), st.integers(1, 6)),
        st.tuples(st.just("order"), st.integers(0, 1), st.integers(1, 4)),
        st.tuples(st.just("ship"), st.integers(0, 20)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("return"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=12,
)


class Rollback(Exception):
    pass


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seq=steps)
def test_stock_is_conserved(seq, merchant_ctx, op_ctx, hub, sku, sku2, book, tariff):
    try:
        with transaction.atomic():
            _run(seq, merchant_ctx, op_ctx, hub, [sku, sku2], book)
            raise Rollback
    except Rollback:
        pass


def _run(seq, merchant_ctx, op_ctx, hub, skus, book):
    model = {s.pk: {"in": 0, "out": 0, "back": 0, "held": 0} for s in skus}
    booked, shipped = [], []
    for step in seq:
        kind = step[0]
        if kind == "inbound":
            sku, qty = skus[step[1]], step[2]
            asn = services.create_asn(
                merchant_ctx,
                hub=hub,
                expected_on=today(),
                lines=[services.AsnLineInput(sku.code, qty)],
            )
            services.receive_scan(op_ctx, asn.public_id, sku.code, qty=qty)
            services.put_away(op_ctx, asn.public_id, sku_code=sku.code, bin_code="A-01-01")
            model[sku.pk]["in"] += qty
        elif kind == "order":
            sku, qty = skus[step[1]], step[2]
            before = level(sku, hub)
            try:
                shipment = book([(sku, qty)])
            except ValidationFailed:
                assert before.available < qty
                assert level(sku, hub) == before  # refused: nothing changed
                continue
            booked.append((shipment, sku, qty))
            model[sku.pk]["held"] += qty
        elif kind == "ship" and booked:
            shipment, sku, qty = booked.pop(step[1] % len(booked))
            services.release_for_picking(op_ctx, shipment.reference)
            services.pick_all(op_ctx, shipment.waybill_no)
            services.pack(
                op_ctx,
                shipment.waybill_no,
                weight_g=900,
                length_mm=100,
                width_mm=100,
                height_mm=100,
            )
            services.print_label(op_ctx, shipment.waybill_no)
            manifest = services.create_manifest(
                op_ctx,
                carrier_code=shipment.carrier_code,
                flight_no="MH388",
                departure_date=today(),
                waybills=[shipment.waybill_no],
            )
            services.handover(op_ctx, manifest.public_id, [shipment.waybill_no])
            shipped.append((shipment, sku, qty))
            model[sku.pk]["held"] -= qty
            model[sku.pk]["out"] += qty
        elif kind == "cancel" and booked:
            shipment, sku, qty = booked.pop(step[1] % len(booked))
            services.cancel_shipment(op_ctx, shipment.reference, "cancelled")
            inventory.release(
                Context.system(), shipment.lines.get().reservation_key
            )  # orders' part
            model[sku.pk]["held"] -= qty
        elif kind == "return" and shipped:
            shipment, sku, qty = shipped.pop(step[1] % len(shipped))
            services.return_to_sender(op_ctx, shipment.waybill_no)
            model[sku.pk]["back"] += qty
        for sku in skus:
            lv = level(sku, hub)
            m = model[sku.pk]
            assert lv.on_hand >= 0 and lv.reserved >= 0 and lv.available >= 0
            assert lv.on_hand == m["in"] - m["out"] + m["back"]
            assert lv.reserved == m["held"]
            total = StockMovement.objects.filter(stock__sku=sku, stock__hub=hub).aggregate(
                h=Sum("on_hand_delta"), r=Sum("reserved_delta")
            )
            assert (total["h"] or 0, total["r"] or 0) == (lv.on_hand, lv.reserved)
