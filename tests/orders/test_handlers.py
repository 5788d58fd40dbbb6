"""The lifecycle driven by engine events: fired with events.publish, delivered with
run_pending_tasks, exactly as the worker would. Each step is idempotent (replays change
nothing) and recorded on the order's timeline; customs documents are really filed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from ehub.core import clock, events
from ehub.core.tasks import run_pending_tasks

from .conftest import DETAILS, ctx_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(engines, world, buyer_ctx, cart_with, offer):
    from ehub.orders.models import Order
    from ehub.orders.services import checkout

    placement = checkout.place(buyer_ctx, cart_with(durian=1, offer=offer), DETAILS)
    return Order.objects.get(public_id=placement.orders[0])


def _fire(name, payload):
    events.publish(name, payload)
    run_pending_tasks(raise_errors=True)


def _captured(order):
    _fire(
        "payments.captured",
        {
            "intent": order.intent_public_id,
            "references": [order.public_id],
            "provider_txn_id": "TXN" + order.public_id[-8:],
            "payer_name": "李伟",
            "captured_at": clock.now().isoformat(),
            "amount_minor": order.total_cny,
            "currency": "CNY",
            "provider": "sandbox",
        },
    )


def _booked(order):
    _fire(
        "fulfillment.waybill_booked",
        {
            "reference": order.public_id,
            "waybill_no": "MY0000000001CN",
            "carrier_code": "KLX",
            "carrier_name": "KLIA Express",
            "logistics_code": "3301969999",
            "logistics_name": "KLIA Express",
            "freight_minor": order.freight_cny,
            "currency": "CNY",
            "weight_g": 2400,
        },
    )


def _customs(order, name, status):
    _fire(
        name,
        {
            "declaration": "CDL-X",
            "order_no": order.public_id,
            "filing_org_id": 1,
            "status": status,
            "info": "",
        },
    )


def test_paid_files_order_and_payment_documents_and_emails(placed, world, engines):
    from ehub.customs.models import CustomsDocument

    _captured(placed)
    placed.refresh_from_db()
    assert placed.status == "paid"
    assert placed.documents_filed == ["CEB311", "CEB411"]
    assert engines.named("request_shipment") == [("request_shipment", placed.public_id)]
    kinds = set(
        CustomsDocument.objects.filter(declaration__order_no=placed.public_id).values_list(
            "kind", flat=True
        )
    )
    assert len(kinds) == 2
    assert len(mail.outbox) == 1
    assert placed.public_id in mail.outbox[0].subject
    assert "付款" in mail.outbox[0].subject  # the buyer reads Chinese
    # A replayed capture changes nothing.
    _captured(placed)
    placed.refresh_from_db()
    assert placed.events.filter(kind="status", to_status="paid").count() == 1
    assert len(mail.outbox) == 1


def test_waybill_declares_then_release_clears(placed):
    from ehub.customs.models import Declaration

    _captured(placed)
    _booked(placed)
    placed.refresh_from_db()
    decl = Declaration.objects.get(order_no=placed.public_id)
    assert decl.status == "3", decl.mismatches
    assert decl.mismatches == []
    assert placed.status == "declared"
    _customs(placed, "customs.released", "800")
    placed.refresh_from_db()
    assert placed.status == "cleared" and placed.released_at is not None
    _customs(placed, "customs.released", "800")  # a second receipt: nothing moves
    assert placed.events.filter(kind="status", to_status="cleared").count() == 1


def test_full_journey_to_completion_settles(placed, engines, buyer_ctx):
    from ehub.orders.services import lifecycle

    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    _fire("fulfillment.packed", {"reference": placed.public_id, "parcel": "P1", "weight_g": 2400})
    _fire(
        "fulfillment.shipped",
        {"reference": placed.public_id, "waybill_no": "MY0000000001CN", "manifest": "M1"},
    )
    _fire(
        "fulfillment.delivered",
        {"reference": placed.public_id, "waybill_no": "MY0000000001CN", "delivered_at": ""},
    )
    placed.refresh_from_db()
    assert placed.status == "delivered"
    lifecycle.confirm_receipt(buyer_ctx, placed.public_id)
    placed.refresh_from_db()
    assert placed.status == "completed"
    assert engines.named("settle") == [("settle", placed.public_id)]
    statuses = list(placed.events.filter(kind="status").values_list("to_status", flat=True))
    assert statuses == [
        "placed",
        "paid",
        "declared",
        "cleared",
        "packed",
        "shipped",
        "delivered",
        "completed",
    ]
    # One e-mail per step the buyer hears about (subjects are in the buyer's language).
    emailed = list(placed.events.filter(kind="email").values_list("reason", flat=True))
    assert emailed == ["paid", "declared", "shipped", "delivered"]
    assert len(mail.outbox) == 4
    assert all(placed.public_id in m.subject for m in mail.outbox)


def test_inspection_holds_and_rejection_refunds_and_releases(placed, engines, world):
    from ehub.campaigns.models import Claim
    from ehub.catalog.models import Reservation
    from ehub.customs.models import QuotaReservation

    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.inspection", "500")
    placed.refresh_from_db()
    assert placed.status == "held"
    _customs(placed, "customs.rejected", "100")
    placed.refresh_from_db()
    assert placed.status == "rejected"
    assert engines.named("refund") == [("refund", placed.public_id, f"rejected:{placed.public_id}")]
    stock_line = placed.lines.get(offer__isnull=True)
    assert Reservation.objects.get(key=stock_line.reservation_key).status == "released"
    claim_line = placed.lines.get(offer__isnull=False)
    assert Claim.objects.get(key=claim_line.claim_key).status == "released"
    assert QuotaReservation.objects.get(key=placed.quota_key).status == "released"


def test_a_late_event_cannot_move_an_order_backwards(placed):
    _captured(placed)
    _fire(
        "fulfillment.delivered",
        {"reference": placed.public_id, "waybill_no": "X", "delivered_at": ""},
    )
    placed.refresh_from_db()
    assert placed.status == "paid"
    assert placed.events.filter(kind="ignored").count() == 1


def test_payment_after_expiry_is_refunded(placed, engines):
    from ehub.orders.services import lifecycle

    lifecycle.expire_unpaid(clock.now() + dt.timedelta(minutes=31))
    placed.refresh_from_db()
    assert placed.status == "expired"
    _captured(placed)
    placed.refresh_from_db()
    assert placed.status == "expired"
    assert engines.named("refund")[0][2] == f"late-payment:{placed.public_id}"


def test_auto_confirm_after_n_days(placed, engines, settings):
    from ehub.orders.services import lifecycle

    settings.EHUB_AUTO_CONFIRM_DAYS = 10
    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    _fire("fulfillment.shipped", {"reference": placed.public_id, "waybill_no": "W", "manifest": ""})
    _fire(
        "fulfillment.delivered",
        {"reference": placed.public_id, "waybill_no": "W", "delivered_at": ""},
    )
    assert lifecycle.auto_confirm(clock.now() + dt.timedelta(days=9)) == 0
    assert lifecycle.auto_confirm(clock.now() + dt.timedelta(days=11)) == 1
    placed.refresh_from_db()
    assert placed.status == "completed"


def test_return_within_window_refunds_tax_and_restores_quota(placed, engines, buyer_ctx, world):
    from ehub.customs.models import QuotaReservation
    from ehub.orders.services import lifecycle

    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    # customs confirms the quota on release (its receipt handler); here we stand in for it.
    from ehub.customs import services as customs

    customs.confirm_quota(ctx_of(world.staff), placed.quota_key)
    _fire("fulfillment.shipped", {"reference": placed.public_id, "waybill_no": "W", "manifest": ""})
    _fire(
        "fulfillment.delivered",
        {"reference": placed.public_id, "waybill_no": "W", "delivered_at": ""},
    )
    lifecycle.request_refund(buyer_ctx, placed.public_id, "Arrived thawed")
    placed.refresh_from_db()
    assert placed.status == "return_requested"
    lifecycle.accept_return(ctx_of(world.owner), placed.public_id)
    placed.refresh_from_db()
    assert placed.status == "returned"
    assert [c[0] for c in engines.calls if c[0] in ("refund", "refund_tax")] == [
        "refund",
        "refund_tax",
    ]
    assert QuotaReservation.objects.get(key=placed.quota_key).status == "restored"


def test_only_the_merchant_or_platform_staff_accept_a_return(
    placed, engines, buyer_ctx, world, make_user
):
    from ehub.accounts.domain import Role
    from ehub.core.errors import NotFound
    from ehub.orders.services import lifecycle

    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    _fire("fulfillment.shipped", {"reference": placed.public_id, "waybill_no": "W", "manifest": ""})
    _fire(
        "fulfillment.delivered",
        {"reference": placed.public_id, "waybill_no": "W", "delivered_at": ""},
    )
    lifecycle.request_refund(buyer_ctx, placed.public_id, "Arrived thawed")
    trainer = make_user("trainer@ehub.example", org=world.platform, role=Role.TRAINER)
    for outsider in (trainer, world.other_owner):
        with pytest.raises(NotFound):
            lifecycle.accept_return(ctx_of(outsider), placed.public_id)
    placed.refresh_from_db()
    assert placed.status == "return_requested"
    ops = make_user("ops-admin@ehub.example", org=world.platform, role=Role.ADMIN)
    lifecycle.accept_return(ctx_of(ops), placed.public_id)
    placed.refresh_from_db()
    assert placed.status == "returned"


def test_buyer_cancel_after_payment_refunds_and_releases(placed, engines, buyer_ctx):
    from ehub.catalog.models import Reservation
    from ehub.orders.services import lifecycle

    _captured(placed)
    lifecycle.cancel(buyer_ctx, placed.public_id, "Changed my mind")
    placed.refresh_from_db()
    assert placed.status == "cancelled"
    assert engines.named("refund")[0][2] == f"cancel:{placed.public_id}"
    assert engines.named("cancel_shipment") == [("cancel_shipment", placed.public_id)]
    line = placed.lines.get(offer__isnull=True)
    assert Reservation.objects.get(key=line.reservation_key).status == "released"


def test_delivery_is_stamped_with_the_carriers_time_not_ours(placed, engines):
    """The carrier's delivery scan can reach us hours late: the order's delivered_at (which
    starts the auto-confirm clock) and its timeline entry carry the scan's time, never a time
    before the handover nor one in the future."""
    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    _fire(
        "fulfillment.shipped",
        {"reference": placed.public_id, "waybill_no": "MY0000000001CN", "manifest": "M1"},
    )
    with clock.frozen(clock.now() + dt.timedelta(hours=30)) as later:
        scanned = (later - dt.timedelta(hours=5)).replace(microsecond=0)
        _fire(
            "fulfillment.delivered",
            {
                "reference": placed.public_id,
                "waybill_no": "MY0000000001CN",
                "delivered_at": scanned.isoformat(),
            },
        )
    placed.refresh_from_db()
    assert placed.status == "delivered"
    assert placed.delivered_at == scanned
    entry = placed.events.get(kind="status", to_status="delivered")
    assert entry.at == scanned
    statuses = list(placed.events.filter(kind="status").values_list("to_status", flat=True))
    assert statuses[-2:] == ["shipped", "delivered"]


@pytest.mark.parametrize(
    ("offset", "expect"), [(dt.timedelta(hours=-40), "shipped"), (dt.timedelta(hours=3), "now")]
)
def test_a_delivery_time_before_handover_or_in_the_future_is_clamped(
    placed, engines, offset, expect
):
    _captured(placed)
    _booked(placed)
    _customs(placed, "customs.released", "800")
    _fire(
        "fulfillment.shipped",
        {"reference": placed.public_id, "waybill_no": "MY0000000001CN", "manifest": "M1"},
    )
    before = clock.now()
    _fire(
        "fulfillment.delivered",
        {
            "reference": placed.public_id,
            "waybill_no": "MY0000000001CN",
            "delivered_at": (clock.now() + offset).isoformat(),
        },
    )
    placed.refresh_from_db()
    if expect == "shipped":
        assert placed.delivered_at == placed.shipped_at
    else:
        assert before <= placed.delivered_at <= clock.now()
