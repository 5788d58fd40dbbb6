"""Demo data of the hub: bin locations in the KLIA hub, one received ASN put away, and a few
shipments in different states (booked, to pick, labelled, delivered). Idempotent: the ASN is
keyed by its note and shipments by their order reference, so a second run adds nothing.

Needs the catalog demo (the merchant's SKUs) to have run first.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from ehub.catalog.models import Sku
from ehub.catalog.services import inventory
from ehub.core import clock
from ehub.core.context import Context
from ehub.core.money import Money

from . import services
from .models import Asn, Shipment

BINS = [
    f"{zone}-{aisle:02d}-{level:02d}" for zone in "ABC" for aisle in (1, 2) for level in (1, 2, 3)
]
ASN_NOTE = "Demo: first consignment of the season"
CONSIGNEES = [
    services.Consignee(
        "李伟", "13800138000", "上海", "上海市", "浦东新区", "世纪大道100号", "200120"
    ),
    services.Consignee("王芳", "13900139000", "广东", "广州市", "天河区", "体育西路1号", "510620"),
    services.Consignee("张敏", "13700137000", "浙江", "杭州市", "西湖区", "文三路90号", "310012"),
    services.Consignee("陈静", "13600136000", "北京", "北京市", "朝阳区", "建国路88号", "100022"),
]
STATES = ["booked", "released", "labelled", "delivered"]


def register_carriers_with_customs() -> int:
    """The sandbox carriers' enterprise codes, registered with (sandbox) China customs, so
    their waybill documents (CEB511) pass the registered-enterprise check. Idempotent."""
    from ehub.customs.models import Enterprise

    from .carriers import all_carriers

    added = 0
    for carrier in all_carriers():
        _obj, created = Enterprise.objects.get_or_create(
            code=carrier.logistics_code,
            defaults={"name": carrier.logistics_name[:100], "role": "logistics"},
        )
        added += created
    return added


def seed(orgs: dict, out=print) -> int:
    register_carriers_with_customs()
    hub, merchant = orgs.get("hub"), orgs.get("durian")
    if hub is None or merchant is None:
        out("fulfillment demo: needs the 'hub' and 'durian' organizations; skipped")
        return 0
    skus = list(Sku.objects.filter(org=merchant, is_active=True).order_by("code")[:2])
    if not skus:
        out("fulfillment demo: the merchant has no SKUs (run the catalog demo first); skipped")
        return 0
    services.ensure_bins(hub, BINS)
    op = Context(user=None, org=hub, roles=frozenset({"operator"}), via="cli")
    created = 0
    with transaction.atomic():
        if not Asn.objects.filter(merchant=merchant, note=ASN_NOTE).exists():
            m_ctx = Context(user=None, org=merchant, roles=frozenset({"owner"}), via="cli")
            asn = services.create_asn(
                m_ctx,
                hub=hub,
                expected_on=clock.today_in(settings.EHUB_HUB_TIMEZONE),
                lines=[services.AsnLineInput(s.code, 40) for s in skus],
                cartons=2,
                note=ASN_NOTE,
            )
            for s in skus:
                services.receive_scan(op, asn.public_id, s.barcode or s.code, qty=38)
                services.receive_scan(op, asn.public_id, s.barcode or s.code, qty=1, damaged=True)
            services.finish_receiving(op, asn.public_id)
            for i, s in enumerate(skus):
                services.put_away(op, asn.public_id, sku_code=s.code, bin_code=BINS[i * 3])
            created += 1
        system = Context.system("cli")
        for i, state in enumerate(STATES):
            ref = f"DEMO-HUB-{i + 1:03d}"
            if Shipment.objects.filter(reference=ref).exists():
                continue
            sku = skus[i % len(skus)]
            key = f"order:{ref}:0"
            inventory.reserve(system, sku=sku, hub=hub, qty=1, key=key, purpose="demo")
            price = Money(sku.price_myr, "MYR")
            shipment = services.request_shipment(
                system,
                services.ShipmentRequest(
                    ref,
                    merchant.pk,
                    hub.pk,
                    CONSIGNEES[i],
                    [
                        services.ShipmentLine(
                            sku.pk,
                            sku.code,
                            str(sku.product),
                            1,
                            price,
                            sku.product.hs_code or "081060",
                            sku.gross_weight_g or 1000,
                            key,
                        )
                    ],
                    price,
                ),
            )
            created += 1
            if state == "booked":
                continue
            services.release_for_picking(system, ref)
            if state == "released":
                continue
            services.pick_all(op, shipment.waybill_no)
            services.pack(
                op, shipment.waybill_no, weight_g=1300, length_mm=250, width_mm=200, height_mm=150
            )
            services.print_label(op, shipment.waybill_no)
            if state == "labelled":
                continue
            manifest = services.create_manifest(
                op,
                carrier_code=shipment.carrier_code,
                flight_no="MH388",
                departure_date=clock.today_in(settings.EHUB_HUB_TIMEZONE),
                waybills=[shipment.waybill_no],
            )
            services.handover(op, manifest.public_id, [shipment.waybill_no])
            now = clock.now()
            services.record_tracking(
                system,
                shipment.waybill_no,
                [
                    services.TrackingInput(f"demo-{ref}-1", "picked_up", now, "KUL", "Picked up"),
                    services.TrackingInput(
                        f"demo-{ref}-2",
                        "departed_KUL",
                        now + dt.timedelta(minutes=1),
                        "KUL",
                        "Departed KLIA",
                    ),
                    services.TrackingInput(
                        f"demo-{ref}-3",
                        "delivered",
                        now + dt.timedelta(minutes=2),
                        CONSIGNEES[i].city,
                        "Delivered",
                    ),
                ],
            )
    out(f"fulfillment demo: {len(BINS)} bins, {created} new ASN/shipments")
    return created
