"""The whole order lifecycle on the REAL engines: orders glues payments (sandbox wallet, HMAC
webhooks, escrow in the ledger), customs (sandbox China customs answering receipts) and the
hub (waybill, pick, pack, label, manifest with the K2 export declaration, handover, tracking).

Everything moves through services and the task queue, exactly as the worker runs it:
``run_pending_tasks`` delivers events, webhooks and customs answers. No fakes.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from ehub.core import clock, events
from ehub.core.money import Money

from .conftest import CNY_MYR, DETAILS, run_tasks

pytestmark = pytest.mark.django_db


# -- helpers ------------------------------------------------------------------------------------


def stock(world):
    from ehub.catalog.models import Stock

    return Stock.objects.get(sku=world.durian, hub=world.hub)


def order_of(order):
    order.refresh_from_db()
    return order


def intent_of(order):
    from ehub.payments.models import PaymentIntent

    return PaymentIntent.objects.get(public_id=order.intent_public_id)


def pay(order, payer="李伟"):
    """What the hosted page's Pay button does (views_provider.pay), then the queue drains:
    the wallet's signed webhooks reach eHub, which captures and drives the order on."""
    from ehub.payments.gateways import sandbox

    intent = intent_of(order)
    charge = sandbox().pay(intent.public_id, intent.money, payer)
    run_tasks()
    return charge


def ledger_clean():
    from ehub.ledger import services as ledger

    assert ledger.verify() == []


def escrow_holds(order):
    from ehub.ledger.models import Transfer

    return Transfer.objects.filter(reference=order.public_id, code="escrow.capture")


def declaration_of(order):
    from ehub.customs.models import Declaration

    return Declaration.objects.get(order_no=order.public_id)


def filed(order) -> dict[str, int]:
    """How many times each document was filed for the order (the audit log keeps every
    filing; the document table keeps only the latest of each kind)."""
    from collections import Counter

    from ehub.core.models import AuditEntry

    decl = declaration_of(order)
    rows = AuditEntry.objects.filter(
        action="customs.document_filed", object_id__in=[str(decl.pk), decl.public_id]
    )
    return dict(Counter(row.after["kind"] for row in rows))


ALL_FILED = {"CEB311": 1, "CEB411": 1, "CEB511": 1}


def quota_used():
    from ehub.customs import services as customs

    return customs.quota_usage(DETAILS["id_number"])


def ship(op_ctx, order):
    """The hub's work after release: pick, pack, label, manifest (K2), handover."""
    from ehub.fulfillment import services as hub

    shipment = hub.shipment_of(order.public_id)
    assert shipment.status == "released", shipment.status
    hub.pick_all(op_ctx, shipment.waybill_no)
    hub.pack(op_ctx, shipment.waybill_no, weight_g=2500, length_mm=300, width_mm=200, height_mm=150)
    assert hub.print_label(op_ctx, shipment.waybill_no).startswith(b"%PDF")
    manifest = hub.create_manifest(
        op_ctx,
        carrier_code=shipment.carrier_code,
        flight_no="MH388",
        departure_date=clock.today_in("Asia/Kuala_Lumpur") + dt.timedelta(days=1),
    )
    assert len(manifest.export_declarations) == 1  # the K2-like export declaration
    result = hub.handover(op_ctx, manifest.public_id, [shipment.waybill_no])
    assert result == {"shipped": [shipment.waybill_no], "missing": []}
    run_tasks()
    return shipment


def deliver(op_ctx, shipment):
    from ehub.fulfillment import services as hub

    at = clock.now()
    hub.record_tracking(
        op_ctx,
        shipment.waybill_no,
        [
            hub.TrackingInput(f"{shipment.waybill_no}-1", "picked_up", at, "KUL"),
            hub.TrackingInput(f"{shipment.waybill_no}-1", "picked_up", at, "KUL"),  # twice
            hub.TrackingInput(
                f"{shipment.waybill_no}-3", "delivered", at + dt.timedelta(hours=30), "Hangzhou"
            ),
        ],
    )
    run_tasks()


def statuses(order) -> list[str]:
    return list(
        order.events.filter(kind="status").order_by("at", "pk").values_list("to_status", flat=True)
    )


# -- the happy path -----------------------------------------------------------------------------


def test_order_lifecycle_end_to_end(world, make_offer, place_order, buyer_ctx, op_ctx):
    from ehub.ledger import services as ledger
    from ehub.orders.services import lifecycle
    from ehub.payments import domain as pay_domain
    from ehub.payments.models import Settlement

    offer = make_offer(units=5, limit=2)
    before = stock(world)
    assert (before.on_hand, before.reserved) == (50, 5)  # the offer holds its 5 units
    quota_before = quota_used()

    order = place_order(durian=1, offer=offer, offer_qty=2)
    assert order.status == "placed"
    lines = list(order.lines.all())
    offer_line = next(line for line in lines if line.claim_key)
    assert offer_line.reservation_key == offer.reservation_key
    assert offer.reservation_key.startswith("offer:")
    placed_quota = quota_used()

    # -- pay on the sandbox wallet: webhook → captured → PAID → documents → waybill → CEB511
    # → declared → receipts (120, 399, 800) → CLEARED → released for picking.
    pay(order)
    order = order_of(order)
    assert order.status == "cleared", (order.status, list(order.events.values_list("reason")))
    assert statuses(order) == ["placed", "paid", "declared", "cleared"]
    assert filed(order) == ALL_FILED
    decl = declaration_of(order)
    assert decl.status == "800"
    assert decl.quota_key == order.quota_key  # customs adopted the order's reservation
    assert escrow_holds(order).count() == 1
    assert order.waybill_no
    ledger_clean()

    # -- replayed webhook and a duplicated event change nothing.
    from ehub.payments import gateways
    from ehub.payments.models import SandboxWebhook
    from ehub.payments.webhooks import receive

    captured = SandboxWebhook.objects.get(
        event_type="payment.captured", body__contains=order.intent_public_id
    )
    body = captured.body.encode()
    status, _answer = receive("sandbox", gateways.signed_request(body), body)
    assert 200 <= status < 300
    events.publish(
        "payments.captured",
        {
            "intent": order.intent_public_id,
            "references": [order.public_id],
            "provider_txn_id": "X",
            "payer_name": "李伟",
            "captured_at": clock.now().isoformat(),
            "amount_minor": order.total_cny,
            "currency": "CNY",
            "provider": "sandbox",
        },
    )
    run_tasks()
    assert order_of(order).status == "cleared"
    assert escrow_holds(order).count() == 1
    assert filed(order) == ALL_FILED

    # -- the hub: pick, pack, label, manifest, handover; tracking to the door.
    shipment = ship(op_ctx, order)
    assert order_of(order).status == "shipped"
    after_ship = stock(world)
    assert after_ship.on_hand == 50 - 3  # 1 durian + 2 flash-sale units, no more
    # The offer's shared reservation lost exactly the 2 units it sold, not all 5.
    assert after_ship.reserved == 5 - 2
    deliver(op_ctx, shipment)
    assert order_of(order).status == "delivered"
    # Late duplicates of earlier engine events move nothing back and file nothing again.
    for name, payload in (
        ("customs.released", {"order_no": order.public_id, "status": "800", "info": ""}),
        ("fulfillment.shipped", {"reference": order.public_id, "waybill_no": order.waybill_no}),
        ("fulfillment.waybill_booked", {"reference": order.public_id, "waybill_no": "X1"}),
    ):
        events.publish(name, payload)
    run_tasks()
    assert order_of(order).status == "delivered"
    assert order.waybill_no == shipment.waybill_no  # not overwritten by the stray booking
    assert filed(order) == ALL_FILED
    assert stock(world).on_hand == 50 - 3

    # -- the buyer confirms: COMPLETED, escrow posted, merchant settled in MYR.
    lifecycle.confirm_receipt(buyer_ctx, order.public_id)
    run_tasks()
    order = order_of(order)
    assert order.status == "completed"
    settlement = Settlement.objects.get(part__reference=order.public_id)
    converted = (Decimal(order.goods_cny + order.freight_cny) * CNY_MYR).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    commission = (converted * settlement.commission_rate).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    assert settlement.rate == CNY_MYR
    assert settlement.gross == converted
    merchant = ledger.balance(pay_domain.merchant_account(world.merchant.public_id))
    assert merchant.credit_balance == converted - commission == settlement.net
    assert merchant.currency == "MYR"
    tax = ledger.balance(pay_domain.CUSTOMS_TAX)
    assert tax.credit_balance == order.tax_cny > 0
    ledger_clean()

    # Quota counted once: what checkout reserved is what customs confirmed.
    quota = Money(order.quota_cny, "CNY")
    assert placed_quota.reserved == quota_before.reserved + quota
    after = quota_used()
    assert after.used == quota_before.used + quota  # counted ONCE
    assert after.reserved == quota_before.reserved
    from ehub.customs.models import QuotaReservation

    reservations = QuotaReservation.objects.filter(quota__id_index=decl.buyer_id_index)
    assert reservations.count() == 1
    assert reservations.get().status == "confirmed"
    assert reservations.get().amount == order.quota_cny
    # A settle replay moves nothing.
    from ehub.payments import services as payments

    payments.settle(lifecycle.platform_context(), order.public_id)
    assert ledger.balance(pay_domain.merchant_account(world.merchant.public_id)) == merchant
    ledger_clean()


# -- customs says no ----------------------------------------------------------------------------


def test_customs_rejection_refunds_and_releases_everything(
    world, make_offer, place_order, monkeypatch
):
    """The payment company's document disagrees with the order (amountPaid): customs answers
    100, the order is REJECTED, the escrow is voided back to the buyer, and the stock, the
    flash-sale units and the quota are all given back."""
    from ehub.campaigns.models import Claim
    from ehub.customs.models import QuotaReservation
    from ehub.ledger import services as ledger
    from ehub.orders import documents
    from ehub.payments import domain as pay_domain
    from ehub.payments.models import PaymentIntent

    offer = make_offer(units=5, limit=2)
    quota_before = quota_used()
    order = place_order(durian=2, offer=offer, offer_qty=1)
    held = stock(world)
    assert held.reserved == 5 + 2

    real = documents.payment_message

    def disagreeing(order, **kwargs):
        message = real(order, **kwargs)
        head = message.Payment[0].PaymentHead
        head.amountPaid = head.amountPaid + Decimal("1.00")
        return message

    monkeypatch.setattr(documents, "payment_message", disagreeing)
    pay(order)
    order = order_of(order)
    assert order.status == "rejected", list(order.events.values_list("kind", "reason"))
    decl = declaration_of(order)
    assert decl.status == "100"
    assert "[amount_paid]" in decl.return_info

    # The buyer's money left escrow: the hold was voided and nothing waits in escrow.
    from ehub.ledger.models import Transfer

    escrow = ledger.balance(pay_domain.ESCROW)
    assert (escrow.credits_pending, escrow.credits_posted - escrow.debits_posted) == (0, 0)
    assert Transfer.objects.filter(reference=order.public_id, code="escrow.void").count() == 1
    intent = PaymentIntent.objects.get(public_id=order.intent_public_id)
    assert intent.status == "refunded"
    # Stock back (the durian reservation released; the flash unit back to the offer).
    after = stock(world)
    assert (after.on_hand, after.reserved) == (50, 5)
    claim_key = next(line.claim_key for line in order.lines.all() if line.claim_key)
    assert Claim.objects.get(key=claim_key).status == "released"
    # Quota given back, not counted.
    reservation = QuotaReservation.objects.get(key=order.quota_key)
    assert reservation.status == "released"
    now = quota_used()
    assert (now.used, now.reserved) == (quota_before.used, quota_before.reserved)
    ledger_clean()

    # A duplicated rejection changes nothing.
    events.publish(
        "customs.rejected",
        {
            "declaration": decl.public_id,
            "order_no": order.public_id,
            "filing_org_id": world.platform.pk,
            "status": "100",
            "info": "again",
        },
    )
    run_tasks()
    assert order.events.filter(kind="refund").count() == 1
    assert stock(world).reserved == 5
    ledger_clean()


# -- inspection ---------------------------------------------------------------------------------


def test_inspection_then_officer_release_continues_the_order(
    world, place_order, sandbox_customs, officer_ctx, op_ctx, buyer_ctx
):
    from ehub.customs import declarations
    from ehub.orders.services import lifecycle

    sandbox_customs.EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE = "1"
    order = place_order(durian=1)
    pay(order)
    order = order_of(order)
    assert order.status == "held"
    decl = declaration_of(order)
    assert decl.status == "500"

    declarations.release(officer_ctx, decl, "Inspected: frozen durian as declared.")
    run_tasks()
    order = order_of(order)
    assert order.status == "cleared"
    shipment = ship(op_ctx, order)
    deliver(op_ctx, shipment)
    lifecycle.confirm_receipt(buyer_ctx, order.public_id)
    run_tasks()
    assert order_of(order).status == "completed"
    assert stock(world).on_hand == 49
    assert filed(order) == ALL_FILED
    ledger_clean()
