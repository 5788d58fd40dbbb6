"""The order lifecycle: every transition is one service call, idempotent, on the timeline.

The engines (payments, customs, fulfillment) report what happened through events; the
handlers in ``orders.handlers`` call the functions here. Each function

* locks the order row, so two deliveries of one event (or two racing events) apply once;
* skips an engine event it has already applied (``OrderEvent.source`` = the event id);
* moves the status only along ``domain.TRANSITIONS``: a late event that would move the order
  backwards is written on the timeline as ignored, never applied;
* writes who, when and why on the order's timeline (``OrderEvent``) and publishes
  ``orders.<status>`` for whoever listens.

Slow work (customs filing, shipments, e-mails) runs in tasks (``orders.tasks``) enqueued in
the same transaction, so a rolled-back step leaves no task and a committed one cannot lose it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ehub.accounts.domain import OrgKind, OrgStatus
from ehub.accounts.models import Organization
from ehub.accounts.services import is_platform_staff
from ehub.campaigns.services import gate
from ehub.catalog.services import inventory
from ehub.core import clock, events
from ehub.core.context import Context
from ehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.formatting import format_money
from ehub.core.money import Money
from ehub.customs import services as customs
from ehub.fulfillment import services as fulfillment
from ehub.payments import services as payments

from .. import documents, domain
from ..domain import CANCELLABLE, CONFIRMABLE, RETURNABLE, OrderStatus, can_move, check_transition
from ..models import Order, OrderEvent

logger = logging.getLogger(__name__)
S = OrderStatus
CNY = "CNY"

STAMPS = {
    S.PAID: "paid_at",
    S.CLEARED: "released_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
}
CLOSING = {S.COMPLETED, S.CANCELLED, S.EXPIRED, S.REJECTED, S.RETURNED}


def _actor(ctx: Context | None) -> tuple[int | None, str, str]:
    if ctx is None:
        return None, "system", "task"
    if ctx.is_authenticated:
        return ctx.user.pk, str(ctx.user), ctx.via
    return None, "system", ctx.via


def platform_context() -> Context:
    """The platform organization acting as filer of customs documents (tasks, handlers)."""
    org = (
        Organization.objects.filter(kind=OrgKind.PLATFORM, status=OrgStatus.ACTIVE)
        .order_by("pk")
        .first()
    )
    return Context(org=org, roles=frozenset({"system", "owner"}), via="task")


def _lock(public_id: str) -> Order | None:
    """The order row, locked; None when there is no such order (an engine event about an
    order orders does not know is skipped)."""
    return Order.objects.select_for_update().filter(public_id=public_id).first()


def _locked(public_id: str) -> Order:
    order = _lock(public_id)
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def _seen(order: Order, source: str) -> bool:
    return bool(source) and OrderEvent.objects.filter(order=order, source=source).exists()


def _record(
    order: Order,
    kind: str,
    from_status: str,
    reason: str,
    *,
    ctx: Context | None,
    data: dict | None,
    source: str,
    at: dt.datetime,
) -> OrderEvent:
    """A timeline entry: from ``from_status`` to the order's status now, by whom and why."""
    actor_id, label, via = _actor(ctx)
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=order.status,
        actor_id=actor_id,
        actor_label=label,
        via=via,
        reason=str(reason)[:500],
        data=data or {},
        source=source,
        at=at,
    )


def note(
    order: Order,
    kind: str,
    reason: str,
    *,
    ctx: Context | None = None,
    data: dict | None = None,
    source: str = "",
) -> OrderEvent:
    """Write a timeline entry that does not change the status."""
    return _record(
        order, kind, order.status, reason, ctx=ctx, data=data, source=source, at=clock.now()
    )


def move(
    order: Order,
    target: OrderStatus,
    reason: str,
    *,
    ctx: Context | None = None,
    source: str = "",
    data: dict | None = None,
    at: dt.datetime | None = None,
    **fields: Any,
) -> bool:
    """Move a LOCKED order to ``target`` (raises IllegalTransition); False if already done.
    ``at`` is when it happened if not now (a carrier's delivery scan reaches us later): the
    status stamp and the timeline entry carry it."""
    if order.status == target or _seen(order, source):
        return False
    check_transition(order.status, target)
    now = clock.now()
    happened = at or now
    source_status = order.status
    order.status = target
    order.updated_at = now
    stamp = STAMPS.get(target)
    if stamp and getattr(order, stamp) is None:
        setattr(order, stamp, happened)
    if target in CLOSING:
        order.closed_at = now
    for name, value in fields.items():
        setattr(order, name, value)
    order.save()
    _record(order, "status", source_status, reason, ctx=ctx, data=data, source=source, at=happened)
    events.publish(
        f"orders.{target}",
        {
            "order": order.public_id,
            "merchant_org_id": order.merchant_id,
            "buyer_id": order.buyer_id,
        },
        ctx=ctx,
    )
    return True


def _try_move(order: Order, target: OrderStatus, reason: str, **kwargs) -> bool:
    """Like ``move`` but a move the lifecycle forbids is noted on the timeline, not raised
    (a late or out-of-order engine event must not fail its delivery forever)."""
    if order.status != target and not can_move(order.status, target):
        source = kwargs.get("source", "")
        if not _seen(order, source):
            note(
                order,
                "ignored",
                _("Ignored: %(reason)s (the order is %(status)s).")
                % {"reason": reason, "status": order.status_label},
                source=source,
                data=kwargs.get("data") or {},
            )
        return False
    return move(order, target, reason, **kwargs)


# -- releasing what an order holds --------------------------------------------------------------


def release_holds(ctx: Context, order: Order, *, reason: str) -> dict:
    """Give back the stock, flash-sale units and quota an order holds. Idempotent."""
    released: dict[str, list[str]] = {"stock": [], "claims": [], "quota": []}
    for line in order.lines.all():
        if line.claim_key:
            try:
                gate.release_offer_units(line.claim_key)
                released["claims"].append(line.claim_key)
            except NotFound:
                pass
        elif line.reservation_key:
            try:
                inventory.release(ctx, line.reservation_key)
                released["stock"].append(line.reservation_key)
            except NotFound:
                pass
    if order.quota_cny > 0:
        try:
            customs.release_quota(ctx, order.quota_key)
            released["quota"].append(order.quota_key)
        except NotFound:
            pass
        except customs.QuotaStateConflict:
            # Customs released the goods (quota confirmed): restore it instead.
            try:
                customs.restore_quota(ctx, order.quota_key, order.released_at or clock.now())
                released["quota"].append(order.quota_key)
            except (customs.ReturnWindowClosed, customs.QuotaStateConflict) as exc:
                note(order, "note", str(exc.message), ctx=ctx)
    note(order, "released", reason, ctx=ctx, data=released)
    return released


def _refund(ctx: Context, order: Order, *, request_id: str, reason: str) -> None:
    refund = payments.refund(ctx, order.public_id, None, request_id=request_id, reason=reason)
    note(
        order,
        "refund",
        reason,
        ctx=ctx,
        data={"refund": getattr(refund, "public_id", ""), "request_id": request_id},
    )
    _email_later(order, "refunded")


def _cancel_shipment(ctx: Context, order: Order, reason: str) -> None:
    try:
        fulfillment.cancel_shipment(ctx, order.public_id, reason)
    except DomainError as exc:  # no shipment yet, or it already left the hub
        logger.info("cancel_shipment(%s): %s", order.public_id, exc)


# -- payment ----------------------------------------------------------------------------------


def on_captured(payload: dict, *, source: str) -> list[str]:
    """payments.captured: every order of the intent becomes PAID (or is refunded when it
    expired or was cancelled meanwhile). Returns the orders moved to PAID."""
    from .. import tasks

    paid = []
    ctx = platform_context()
    for reference in payload.get("references") or []:
        with transaction.atomic():
            order = _lock(reference)
            if order is None:
                logger.warning("payments.captured for unknown order %s", reference)
                continue
            if order.status in (S.EXPIRED, S.CANCELLED):
                if not _seen(order, source):
                    note(
                        order,
                        "note",
                        _("Payment arrived after the order was closed; refunding it."),
                        source=source,
                    )
                    _refund(
                        ctx,
                        order,
                        request_id=f"late-payment:{order.public_id}",
                        reason=_("Paid after the order closed."),
                    )
                continue
            moved = _try_move(
                order,
                S.PAID,
                _("Payment captured."),
                source=source,
                data={k: payload.get(k) for k in ("intent", "provider_txn_id", "provider")},
                pay_transaction_id=str(payload.get("provider_txn_id") or order.intent_public_id)[
                    :60
                ],
            )
            if moved:
                tasks.after_payment.enqueue(order.public_id)
                _email_later(order, "paid")
                paid.append(order.public_id)
    return paid


def on_payment_closed(payload: dict, *, source: str, reason: str) -> None:
    """payments.cancelled / payments.failed: unpaid orders of the intent are cancelled."""
    ctx = platform_context()
    for reference in payload.get("references") or []:
        with transaction.atomic():
            order = _lock(reference)
            if order is None or order.status != S.PLACED:
                continue
            if move(order, S.CANCELLED, reason, source=source, ctx=None):
                release_holds(ctx, order, reason=reason)


# -- customs filing -----------------------------------------------------------------------------


def _file(ctx: Context, order: Order, name: str, message) -> bool:
    """File one document; True when filed now (False: already filed, or refused: noted)."""
    from ehub.customs import declarations

    if name in (order.documents_filed or []):
        return False
    # The buyer's quota was reserved at checkout: the declaration adopts that reservation.
    quota_key = order.quota_key if order.quota_cny > 0 else None
    try:
        with transaction.atomic():
            touched = declarations.file_document(ctx, message, quota_key=quota_key)
    except DomainError as exc:
        errors = [e.as_dict() for e in exc.errors][:10]
        note(order, "document_refused", f"{name}: {exc.detail}", data={"errors": errors})
        return False
    order.documents_filed = [*(order.documents_filed or []), name]
    order.save(update_fields=["documents_filed"])
    from ehub.customs.models import Declaration

    # declare() works on its own copy of the row: read the status back.
    declared = list(
        Declaration.objects.filter(pk__in=[d.pk for d in touched])
        .exclude(status="")
        .values_list("public_id", flat=True)
    )
    note(
        order,
        "document",
        _("%(doc)s filed with customs.") % {"doc": name},
        data={"declarations": [d.public_id for d in touched], "declared": declared},
    )
    return bool(declared)


def file_payment_documents(public_id: str) -> None:
    """After payment: file the order (CEB311) and payment (CEB411), then ask the hub to ship."""
    ctx = platform_context()
    with transaction.atomic():
        order = _locked(public_id)
        if order.status != S.PAID:
            return
        if ctx.org is None:
            note(
                order, "document_refused", _("No platform organization to file customs documents.")
            )
            return
        lines = list(order.lines.select_related("sku__product"))
        for line in lines:
            line.origin = line.sku.product.origin_country
        txn = order.pay_transaction_id or order.intent_public_id
        _file(
            ctx,
            order,
            "CEB311",
            documents.order_message(
                order, lines, pay_transaction_id=txn, buyer_email=order.buyer.email
            ),
        )
        _file(
            ctx,
            order,
            "CEB411",
            documents.payment_message(order, pay_transaction_id=txn, paid_at=order.paid_at),
        )
        _request_shipment(ctx, order, lines)


def _request_shipment(ctx: Context, order: Order, lines) -> None:
    request = fulfillment.ShipmentRequest(
        reference=order.public_id,
        merchant_org_id=order.merchant_id,
        hub_org_id=order.hub_id,
        consignee=fulfillment.Consignee(
            name=order.buyer_name,
            phone=order.phone,
            province=order.province,
            city=order.city,
            district=order.district,
            street=order.street,
            postcode=order.postcode,
        ),
        lines=[
            fulfillment.ShipmentLine(
                sku_id=line.sku_id,
                sku_code=line.sku_code,
                name=line.name,
                qty=line.qty,
                unit_value=Money(line.unit_price_cny, CNY),
                hs_code=line.sku.product.hs_code or "",
                weight_g=line.weight_g,
                reservation_key=line.reservation_key,
            )
            for line in lines
        ],
        declared_value=Money(order.goods_cny, CNY),
    )
    try:
        with transaction.atomic():
            fulfillment.request_shipment(ctx, request)
    except DomainError as exc:
        note(order, "note", _("Shipment request failed: %(why)s") % {"why": exc.detail})
        return
    note(order, "shipment", _("Shipment requested from the hub."))


def on_waybill_booked(payload: dict, *, source: str) -> None:
    """fulfillment.waybill_booked: file the waybill (CEB511); customs then declares."""
    ctx = platform_context()
    with transaction.atomic():
        order = _lock(payload.get("reference", ""))
        if order is None:
            return
        if _seen(order, source):
            return
        waybill_no = str(payload.get("waybill_no") or "")[:60]
        if order.waybill_no and (
            order.status != S.PAID or "CEB511" in (order.documents_filed or [])
        ):
            # The waybill customs knows (CEB511 filed) is the order's: a late or stray
            # booking must not overwrite it (the parcel, label and declaration carry it).
            if waybill_no != order.waybill_no:
                note(
                    order,
                    "ignored",
                    _("Ignored a booking of waybill %(no)s: the order ships on %(current)s.")
                    % {"no": waybill_no, "current": order.waybill_no},
                    source=source,
                )
            return
        order.waybill_no = waybill_no
        order.save(update_fields=["waybill_no"])
        note(
            order,
            "waybill",
            _("Waybill %(no)s booked with %(carrier)s.")
            % {"no": order.waybill_no, "carrier": payload.get("carrier_name", "")},
            source=source,
            data={k: payload.get(k) for k in ("waybill_no", "carrier_code", "logistics_code")},
        )
        if order.status not in (S.PAID,):
            return
        if ctx.org is None:
            return
        declared = _file(ctx, order, "CEB511", documents.waybill_message(order, payload))
        if declared:
            move(order, S.DECLARED, _("Declared to customs (inventory list sent)."))
            _email_later(order, "declared")


# -- customs answers ------------------------------------------------------------------------------


def on_customs(name: str, payload: dict, *, source: str) -> None:
    ctx = platform_context()
    with transaction.atomic():
        order = _lock(payload.get("order_no", ""))
        if order is None:
            return
        info = str(payload.get("info") or "")
        data = {"declaration": payload.get("declaration"), "status": payload.get("status")}
        if order.status == S.PAID and name in ("customs.released", "customs.inspection"):
            # The declaration went through before our waybill handler noted it: catch up.
            move(order, S.DECLARED, _("Declared to customs (inventory list sent)."))
        if name == "customs.released":
            if _try_move(order, S.CLEARED, _("Released by customs."), source=source, data=data):
                _release_for_picking(ctx, order)
        elif name == "customs.inspection":
            _try_move(
                order,
                S.HELD,
                _("Held by customs for inspection. %(info)s") % {"info": info},
                source=source,
                data=data,
            )
        elif name == "customs.rejected" and _try_move(
            order,
            S.REJECTED,
            _("Rejected by customs. %(info)s") % {"info": info},
            source=source,
            data=data,
        ):
            _refund(
                ctx,
                order,
                request_id=f"rejected:{order.public_id}",
                reason=_("Rejected by customs."),
            )
            _cancel_shipment(ctx, order, "customs rejected")
            release_holds(ctx, order, reason=_("Customs rejected the order."))


def _release_for_picking(ctx: Context, order: Order) -> None:
    try:
        with transaction.atomic():
            fulfillment.release_for_picking(ctx, order.public_id)
    except DomainError as exc:
        note(order, "note", _("Could not release to picking: %(why)s") % {"why": exc.detail})


# -- the hub ----------------------------------------------------------------------------------


def _reported_time(value: str | None) -> dt.datetime | None:
    """A carrier's event time from an event payload (ISO 8601 with its zone), or None."""
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def on_fulfillment(name: str, payload: dict, *, source: str) -> None:
    targets = {
        "fulfillment.packed": (S.PACKED, _("Packed at the hub.")),
        "fulfillment.shipped": (S.SHIPPED, _("Handed to the carrier.")),
        "fulfillment.delivered": (S.DELIVERED, _("Delivered.")),
    }
    with transaction.atomic():
        order = _lock(payload.get("reference", ""))
        if order is None:
            return
        if name == "fulfillment.delivery_failed":
            if not _seen(order, source):
                note(
                    order,
                    "delivery_failed",
                    _("Delivery failed: %(why)s") % {"why": payload.get("reason", "")},
                    source=source,
                )
            return
        if name == "fulfillment.returned":
            if _try_move(
                order, S.RETURNED, _("Returned to the sender by the carrier."), source=source
            ):
                _settle_return(platform_context(), order)
            return
        target, reason = targets[name]
        # (Packing is optional on the timeline: CLEARED may go straight to SHIPPED.)
        at = None
        if target == S.DELIVERED:
            at = domain.event_time(
                _reported_time(payload.get("delivered_at")),
                not_before=order.shipped_at,
                now=clock.now(),
            )
        moved = _try_move(order, target, reason, source=source, data=dict(payload), at=at)
        if moved and target in (S.SHIPPED, S.DELIVERED):
            _email_later(order, str(target))


# -- buyer and staff actions ------------------------------------------------------------------


def _own(ctx: Context, public_id: str) -> Order:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    order = Order.objects.select_for_update().filter(public_id=public_id, buyer=ctx.user).first()
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def _complete(ctx: Context | None, order: Order, reason: str) -> None:
    move(order, S.COMPLETED, reason, ctx=ctx)
    payments.settle(ctx or platform_context(), order.public_id)
    note(order, "settlement", _("Escrow released; the merchant is paid."), ctx=ctx)


def confirm_receipt(ctx: Context, public_id: str) -> Order:
    """The buyer confirms the parcel arrived: COMPLETED, escrow settled to the merchant."""
    with transaction.atomic():
        order = _own(ctx, public_id)
        if order.status == S.COMPLETED:
            return order
        if order.status not in CONFIRMABLE:
            raise Conflict(
                _("You can confirm receipt once the parcel is delivered."), field="status"
            )
        if order.status == S.SHIPPED:
            move(order, S.DELIVERED, _("The buyer confirmed the parcel arrived."), ctx=ctx)
        _complete(ctx, order, _("The buyer confirmed receipt."))
    return order


def auto_confirm(now: dt.datetime | None = None) -> int:
    """Complete orders delivered more than EHUB_AUTO_CONFIRM_DAYS ago (a return request
    pauses the clock: those orders are no longer DELIVERED)."""
    moment = now or clock.now()
    cutoff = moment - dt.timedelta(days=settings.EHUB_AUTO_CONFIRM_DAYS)
    due = list(
        Order.objects.filter(status=S.DELIVERED, delivered_at__lte=cutoff).values_list(
            "public_id", flat=True
        )[:500]
    )
    done = 0
    for public_id in due:
        with transaction.atomic():
            order = _locked(public_id)
            if order.status != S.DELIVERED:
                continue
            _complete(
                None,
                order,
                _("Completed automatically %(n)d days after delivery.")
                % {"n": settings.EHUB_AUTO_CONFIRM_DAYS},
            )
            done += 1
    return done


def _cancel_locked(ctx: Context, order: Order, reason: str) -> None:
    was_paid = order.status != S.PLACED
    if not was_paid and order.intent_public_id:
        try:
            payments.cancel_intent(ctx, order.intent_public_id, reason)
        except Conflict as exc:  # captured meanwhile: it will be refunded below on capture
            note(order, "note", str(exc.message), ctx=ctx)
    move(order, S.CANCELLED, reason, ctx=ctx)
    if was_paid:
        _refund(ctx, order, request_id=f"cancel:{order.public_id}", reason=reason)
        _cancel_shipment(ctx, order, reason)
    release_holds(ctx, order, reason=reason)


def cancel(ctx: Context, public_id: str, reason: str = "") -> list[Order]:
    """The buyer cancels before the parcel leaves the hub: refund (if paid) and release.

    An unpaid order shares one payment with the other orders of its checkout, so cancelling
    it cancels them all (the payment is cancelled once)."""
    reason = (reason or "").strip()[:300] or _("Cancelled by the buyer.")
    with transaction.atomic():
        order = _own(ctx, public_id)
        if order.status in (S.CANCELLED, S.EXPIRED):
            return [order]
        if order.status not in CANCELLABLE:
            raise Conflict(
                _("The parcel has left the hub; request a return instead."), field="status"
            )
        group = [order]
        if order.status == S.PLACED:
            group += list(
                Order.objects.select_for_update()
                .filter(checkout_id=order.checkout_id, status=S.PLACED)
                .exclude(pk=order.pk)
            )
        for item in group:
            _cancel_locked(ctx, item, reason)
    return group


def request_refund(ctx: Context, public_id: str, reason: str) -> Order:
    """Before shipment a refund request cancels the order (refund + release); after delivery
    it asks for a return (the auto-confirm clock stops while it is open)."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ValidationFailed.single("reason", _("Tell the merchant why."), "required")
    with transaction.atomic():
        order = _own(ctx, public_id)
        if order.status in CANCELLABLE:
            _cancel_locked(ctx, order, reason)
        elif order.status in RETURNABLE:
            deadline = _return_deadline(order)
            if deadline is not None and clock.now() > deadline:
                raise Conflict(
                    _("Returns are accepted within %(n)d days of customs release.")
                    % {"n": settings.EHUB_RETURN_DAYS},
                    field="status",
                )
            if order.status == S.SHIPPED:
                move(order, S.DELIVERED, _("The buyer reports the parcel arrived."), ctx=ctx)
            move(order, S.RETURN_REQUESTED, reason, ctx=ctx)
        elif order.status == S.RETURN_REQUESTED:
            return order
        else:
            raise Conflict(_("This order cannot be refunded now."), field="status")
    return order


def _return_deadline(order: Order) -> dt.datetime | None:
    """Returns (and their tax refund) are accepted until EHUB_RETURN_DAYS after customs
    release; None while the order has not been released."""
    if order.released_at is None:
        return None
    return order.released_at + dt.timedelta(days=settings.EHUB_RETURN_DAYS)


def _settle_return(ctx: Context, order: Order) -> None:
    _refund(ctx, order, request_id=f"return:{order.public_id}", reason=_("Goods returned."))
    deadline = _return_deadline(order)
    if deadline is not None and clock.now() <= deadline:
        try:
            payments.refund_tax(ctx, order.public_id, request_id=f"return-tax:{order.public_id}")
            note(order, "refund", _("Import tax refunded (returned within the window)."))
        except DomainError as exc:
            note(order, "refund_failed", str(exc.message))
        if order.quota_cny > 0:
            try:
                customs.restore_quota(ctx, order.quota_key, order.released_at)
                note(order, "quota", _("Annual quota restored."))
            except DomainError as exc:
                note(order, "note", str(exc.message))


def accept_return(ctx: Context, public_id: str) -> Order:
    """The merchant (or platform staff) accepts a return: refund, tax refund and quota."""
    with transaction.atomic():
        order = _lock(public_id)
        if order is None or not _may_manage(ctx, order):
            raise NotFound(_("Order not found."))
        if order.status == S.RETURNED:
            return order
        if order.status != S.RETURN_REQUESTED:
            raise Conflict(_("There is no open return request."), field="status")
        move(order, S.RETURNED, _("Return accepted."), ctx=ctx)
        _settle_return(ctx, order)
    return order


def _may_manage(ctx: Context, order: Order) -> bool:
    """The order's merchant, or platform staff (a trainer of the platform may not refund)."""
    if not ctx.is_authenticated:
        return False
    if is_platform_staff(ctx):
        return True
    return ctx.org_kind == OrgKind.MERCHANT and ctx.org_id == order.merchant_id


# -- expiry -----------------------------------------------------------------------------------


def expire_unpaid(now: dt.datetime | None = None) -> int:
    """Unpaid orders past their deadline: cancel the payment, release everything, EXPIRED."""
    moment = now or clock.now()
    ctx = Context.system()
    checkouts = list(
        Order.objects.filter(status=S.PLACED, expires_at__lte=moment)
        .values_list("checkout_id", flat=True)
        .distinct()[:500]
    )
    expired = 0
    for checkout_id in checkouts:
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update()
                .filter(checkout_id=checkout_id, status=S.PLACED, expires_at__lte=moment)
                .order_by("pk")
            )
            if not orders:
                continue
            intent = orders[0].intent_public_id
            if intent:
                try:
                    payments.cancel_intent(ctx, intent, "expired")
                except Conflict as exc:
                    # Captured at the last second: the capture event will mark them paid.
                    for order in orders:
                        note(order, "note", str(exc.message))
                    continue
            for order in orders:
                reason = _("Not paid within %(n)d minutes.") % {
                    "n": settings.EHUB_ORDER_PAYMENT_MINUTES
                }
                move(order, S.EXPIRED, reason)
                release_holds(ctx, order, reason=reason)
                expired += 1
    return expired


# -- e-mails --------------------------------------------------------------------------------------

EMAILS = {
    "paid": (
        gettext_lazy("Payment received for order %(order)s"),
        gettext_lazy("We received %(total)s for order %(order)s. We file it with customs now."),
    ),
    "declared": (
        gettext_lazy("Order %(order)s declared to customs"),
        gettext_lazy("Order %(order)s has been declared to China customs."),
    ),
    "shipped": (
        gettext_lazy("Order %(order)s shipped"),
        gettext_lazy("Order %(order)s is on its way (waybill %(waybill)s)."),
    ),
    "delivered": (
        gettext_lazy("Order %(order)s delivered"),
        gettext_lazy("Order %(order)s was delivered. Please confirm receipt, or request a return."),
    ),
    "refunded": (
        gettext_lazy("Refund for order %(order)s"),
        gettext_lazy("We refunded order %(order)s to your wallet."),
    ),
}


def _email_later(order: Order, kind: str) -> None:
    from .. import tasks

    tasks.send_order_email.enqueue(order.public_id, kind)


def send_email(public_id: str, kind: str) -> bool:
    """Send one lifecycle e-mail in the buyer's language (console backend by default)."""
    order = Order.objects.select_related("buyer").filter(public_id=public_id).first()
    if order is None or kind not in EMAILS or not order.buyer.email:
        return False
    subject, body = EMAILS[kind]
    with translation.override(order.language or "zh-hans"):
        values = {
            "order": order.public_id,
            "total": format_money(Money(order.total_cny, CNY), order.language),
            "waybill": order.waybill_no or "-",
        }
        send_mail(
            str(subject) % values,
            str(body) % values,
            settings.DEFAULT_FROM_EMAIL,
            [order.buyer.email],
        )
    note(order, "email", kind, data={"to": "buyer", "language": order.language})
    return True
