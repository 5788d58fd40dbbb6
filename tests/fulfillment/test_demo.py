"""The hub's demo seed: bins, a received ASN and shipments in several states, idempotently."""

from __future__ import annotations

import pytest

from ehub.accounts.domain import OrgKind
from ehub.catalog import demo as catalog_demo
from ehub.fulfillment import demo
from ehub.fulfillment.models import Asn, BinLocation, Shipment

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent(make_org, tariff):
    orgs = {
        "durian": make_org(name="Durian Sdn. Bhd.", registration_number="201901012345"),
        "hub": make_org(kind=OrgKind.HUB_OPERATOR, name="KLIA hub"),
    }
    catalog_demo.seed({"durian": orgs["durian"]})
    assert demo.seed(orgs, out=lambda *_: None) == 5
    assert demo.seed(orgs, out=lambda *_: None) == 0
    assert BinLocation.objects.filter(hub=orgs["hub"]).count() == len(demo.BINS)
    assert Asn.objects.get().status == "closed"
    assert sorted(Shipment.objects.values_list("status", flat=True)) == [
        "booked",
        "delivered",
        "labelled",
        "released",
    ]
