"""The engines orders drives, behind one seam: payments and fulfillment (built beside orders).

Each function here calls the engine's service named in the cross-context contract. When an
engine is not installed yet (it is being built in parallel) the functions that *must* work
raise ``EngineUnavailable`` with a clear message, and the optional ones (freight quotes,
shipments) return None so the order lifecycle still runs to the point the engine would take
over. Tests replace this module's functions with fakes that honour the same contract.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

from ehub.core.errors import DomainError
from ehub.core.money import Money

logger = logging.getLogger(__name__)


class EngineUnavailable(DomainError):
    code = "engine_unavailable"
    status = 503
    title = _("A service eHub needs is not available.")


def _engine(path: str):
    try:
        return importlib.import_module(path)
    except ImportError:
        return None


def _payments():
    module = _engine("ehub.payments.services")
    if module is None or not hasattr(module, "create_intent"):
        raise EngineUnavailable(_("Payments are not available yet."))
    return module


def _fulfillment(name: str):
    module = _engine("ehub.fulfillment.services")
    return getattr(module, name, None) if module is not None else None


# -- payments -----------------------------------------------------------------------------------


def payment_part(*, reference: str, merchant_org_id: int, goods: Money, freight: Money, tax: Money):
    return _payments().PaymentPart(
        reference=reference, merchant_org_id=merchant_org_id, goods=goods, freight=freight, tax=tax
    )


def create_intent(
    ctx, *, buyer, parts: list, idempotency_key: str, return_url: str, description=""
):
    return _payments().create_intent(
        ctx,
        buyer=buyer,
        parts=parts,
        idempotency_key=idempotency_key,
        return_url=return_url,
        description=description,
    )


def cancel_intent(ctx, public_id: str, reason: str):
    return _payments().cancel_intent(ctx, public_id, reason)


def refund(ctx, reference: str, amount: Money | None, *, request_id: str, reason: str):
    return _payments().refund(ctx, reference, amount, request_id=request_id, reason=reason)


def refund_tax(ctx, reference: str, *, request_id: str):
    return _payments().refund_tax(ctx, reference, request_id=request_id)


def settle(ctx, reference: str):
    return _payments().settle(ctx, reference)


def part_state(reference: str) -> dict[str, Any] | None:
    module = _engine("ehub.payments.services")
    if module is None or not hasattr(module, "part_state"):
        return None
    try:
        return module.part_state(reference)
    except DomainError:
        return None


# -- fulfillment --------------------------------------------------------------------------------


def quote_freight(*, weight_g: int, province: str) -> Money | None:
    """The cheapest carrier's price (MYR), or None when fulfillment cannot quote."""
    quote = _fulfillment("quote_freight")
    if quote is None:
        return None
    try:
        return quote(weight_g=weight_g, province=province)
    except DomainError as exc:
        logger.warning("freight quote failed, using the flat rate: %s", exc)
        return None


def shipment_types():
    """(Consignee, ShipmentLine, ShipmentRequest) of fulfillment, or None when not installed."""
    module = _engine("ehub.fulfillment.services")
    if module is None or not hasattr(module, "request_shipment"):
        return None
    return module.Consignee, module.ShipmentLine, module.ShipmentRequest


def request_shipment(ctx, request) -> Any:
    call = _fulfillment("request_shipment")
    return call(ctx, request) if call else None


def release_for_picking(ctx, reference: str) -> Any:
    call = _fulfillment("release_for_picking")
    return call(ctx, reference) if call else None


def cancel_shipment(ctx, reference: str, reason: str) -> Any:
    call = _fulfillment("cancel_shipment")
    if call is None:
        return None
    try:
        return call(ctx, reference, reason)
    except DomainError as exc:  # no shipment yet, or already cancelled
        logger.info("cancel_shipment(%s): %s", reference, exc)
        return None


def tracking_of(reference: str) -> list:
    call = _fulfillment("tracking_of")
    if call is None:
        return []
    try:
        return list(call(reference) or [])
    except DomainError:
        return []
