"""Use cases of the eFulfilment hub: inbound (ASN, receiving by scan, put-away), outbound
(shipment booking, waves and pick tasks, scan-to-pick, pack, label, manifest with the Malaysian
export declaration, handover), tracking and returns, and the reads of the portal.

Every public function is one transaction. Stock never lives here: put-away calls
``catalog.services.inventory.receive``, handover ``inventory.consume`` of the order's
reservation, a return ``inventory.return_to_stock``. Who may call what:

* merchants create ASNs and read their own ASNs and shipments;
* hub operators (an organization of kind ``hub_operator``) work their own hub's floor;
* the order lifecycle (``orders``) calls the contract functions (``request_shipment``,
  ``release_for_picking``, ``cancel_shipment``...) with any Context: it has already decided.

Scoping is by organization: another organization's ASN or shipment is NotFound.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind
from ehub.accounts.models import Organization
from ehub.catalog.models import Sku
from ehub.catalog.services import inventory
from ehub.core import audit, clock, events
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.ids import new_public_id
from ehub.core.money import Money, Rounding

from . import domain, gateway
from .domain import AsnStatus, ScanError, ShipmentStatus
from .models import (
    Asn,
    AsnLine,
    BinLocation,
    Carton,
    Discrepancy,
    Manifest,
    Parcel,
    PickTask,
    PutAway,
    ReceiptScan,
    Shipment,
    TrackingEvent,
    Wave,
)
from .models import ShipmentLine as ShipmentLineRow

S = ShipmentStatus
# Personal data is encrypted: a use case that does not print it does not read (decrypt) it.
PERSONAL = ("consignee_name", "consignee_phone", "consignee_address")

# ---------------------------------------------------------------------------------------------
# Contract dataclasses (see the cross-context contracts)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consignee:
    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    postcode: str = ""


@dataclass(frozen=True)
class ShipmentLine:
    sku_id: int
    sku_code: str
    name: str
    qty: int
    unit_value: Money
    hs_code: str
    weight_g: int
    reservation_key: str


@dataclass(frozen=True)
class ShipmentRequest:
    reference: str
    merchant_org_id: int
    hub_org_id: int
    consignee: Consignee
    lines: list[ShipmentLine]
    declared_value: Money


@dataclass(frozen=True)
class AsnLineInput:
    sku_code: str
    qty: int


@dataclass
class ScanResult:
    """What a receiving scan did, for the operator's screen."""

    kind: str  # carton | item
    message: str
    line: AsnLine | None = None
    carton: Carton | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _scan_error(field_name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field_name, message, code)], code=code)


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------


def _is_system(ctx: Context) -> bool:
    return ctx.has_role("system")


def _operator_hub_id(ctx: Context) -> int:
    """The hub the caller operates; PermissionDenied for anyone else."""
    if ctx.org is None or ctx.org_kind != OrgKind.HUB_OPERATOR:
        raise PermissionDenied(_("Only the hub's operators can do this."))
    return ctx.org_id


def _merchant(ctx: Context) -> Organization:
    if ctx.org is None or ctx.org_kind != OrgKind.MERCHANT:
        raise PermissionDenied(_("Only a merchant can send stock to a hub."))
    return ctx.org


def _actor_id(ctx: Context) -> int | None:
    return ctx.user.pk if ctx.is_authenticated else None


def asns_visible(ctx: Context) -> QuerySet[Asn]:
    qs = Asn.objects.select_related("merchant", "hub")
    if _is_system(ctx):
        return qs
    if ctx.org is None:
        return qs.none()
    if ctx.org_kind == OrgKind.HUB_OPERATOR:
        return qs.filter(hub_id=ctx.org_id)
    return qs.filter(merchant_id=ctx.org_id)


def shipments_visible(ctx: Context) -> QuerySet[Shipment]:
    qs = Shipment.objects.select_related("merchant", "hub", "parcel")
    if _is_system(ctx):
        return qs
    if ctx.org is None:
        return qs.none()
    if ctx.org_kind == OrgKind.HUB_OPERATOR:
        return qs.filter(hub_id=ctx.org_id)
    return qs.filter(merchant_id=ctx.org_id)


def get_asn(ctx: Context, public_id: str, *, lock: bool = False) -> Asn:
    qs = asns_visible(ctx)
    if lock:
        qs = qs.select_for_update(of=("self",))
    asn = qs.filter(public_id=(public_id or "").strip().upper()).first()
    if asn is None:
        raise NotFound(_("No such advance shipping notice."))
    return asn


def get_shipment(ctx: Context, key: str, *, lock: bool = False) -> Shipment:
    """A visible shipment by waybill number, shipment id or order reference."""
    key = (key or "").strip()
    qs = shipments_visible(ctx).select_related("wave")  # the shipment page names its wave
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(
        Q(waybill_no=key.upper()) | Q(public_id=key.upper()) | Q(reference=key)
    ).first()
    if found is None:
        raise NotFound(_("No such shipment."))
    return found


def _operated_shipment(ctx: Context, key: str) -> Shipment:
    hub_id = _operator_hub_id(ctx)
    shipment = get_shipment(ctx, key, lock=True)
    if shipment.hub_id != hub_id:  # pragma: no cover - shipments_visible already scopes
        raise NotFound(_("No such shipment."))
    return shipment


def _move(shipment: Shipment, new: str) -> None:
    if not domain.may_move(domain.SHIPMENT_NEXT, shipment.status, new):
        raise Conflict(
            _("This shipment is %(status)s; it cannot become %(new)s.")
            % {"status": shipment.get_status_display(), "new": dict(Shipment.STATUS_CHOICES)[new]},
            code="invalid_transition",
        )
    shipment.status = new


# ---------------------------------------------------------------------------------------------
# Bins
# ---------------------------------------------------------------------------------------------


def ensure_bins(hub: Organization, codes: Iterable[str]) -> list[BinLocation]:
    """Create the hub's bins (idempotent). A code's zone is its part before the first dash."""
    made = []
    for code in codes:
        code = code.strip().upper()
        bin_, _created = BinLocation.objects.get_or_create(
            hub=hub, code=code, defaults={"zone": code.split("-", 1)[0]}
        )
        made.append(bin_)
    return made


def bins_of(ctx: Context) -> QuerySet[BinLocation]:
    return BinLocation.objects.filter(hub_id=_operator_hub_id(ctx), is_active=True)


# ---------------------------------------------------------------------------------------------
# Inbound: ASN, receiving, put-away
# ---------------------------------------------------------------------------------------------

MAX_CARTONS = 500


def create_asn(
    ctx: Context,
    *,
    hub: Any,
    expected_on: dt.date,
    lines: Sequence[AsnLineInput],
    cartons: int = 1,
    note: str = "",
) -> Asn:
    """A merchant announces stock on its way to ``hub`` (an Organization, pk or public id)."""
    merchant = _merchant(ctx)
    errors: list[FieldError] = []
    hub_obj = None
    try:
        if isinstance(hub, str):
            hub_obj = inventory.find_hub(hub)
        else:
            hub_obj = inventory.hubs().filter(pk=getattr(hub, "pk", hub)).first()
            if hub_obj is None:
                raise ValidationFailed.single("hub", _("Choose an active eFulfilment hub."))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if not isinstance(expected_on, dt.date):
        errors.append(FieldError("expected_on", _("Give a date."), "invalid"))
    elif expected_on < clock.today_in(settings.EHUB_HUB_TIMEZONE):
        errors.append(FieldError("expected_on", _("The date is in the past."), "in_past"))
    if isinstance(cartons, bool) or not isinstance(cartons, int) or not 1 <= cartons <= MAX_CARTONS:
        errors.append(
            FieldError(
                "cartons",
                _("Give between 1 and %(n)d cartons.") % {"n": MAX_CARTONS},
                "invalid",
            )
        )
    if not lines:
        errors.append(FieldError("lines", _("Add at least one SKU."), "required"))
    skus: dict[int, tuple[Sku, int]] = {}
    for i, line in enumerate(lines):
        sku = Sku.objects.filter(org=merchant, code=(line.sku_code or "").strip()).first()
        if sku is None:
            errors.append(FieldError(f"lines[{i}].sku_code", _("Unknown SKU code."), "unknown_sku"))
            continue
        if isinstance(line.qty, bool) or not isinstance(line.qty, int) or line.qty <= 0:
            errors.append(
                FieldError(f"lines[{i}].qty", _("Enter a quantity of at least 1."), "invalid")
            )
            continue
        if sku.pk in skus:
            errors.append(
                FieldError(f"lines[{i}].sku_code", _("This SKU is listed twice."), "duplicate")
            )
            continue
        skus[sku.pk] = (sku, line.qty)
    if len((note or "").strip()) > 300:
        errors.append(FieldError("note", _("Use at most 300 characters."), "too_long"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        asn = Asn.objects.create(
            public_id=new_public_id("ASN"),
            merchant=merchant,
            hub=hub_obj,
            expected_on=expected_on,
            note=(note or "").strip(),
            created_at=clock.now(),
        )
        AsnLine.objects.bulk_create(
            AsnLine(asn=asn, sku=sku, expected_qty=qty) for sku, qty in skus.values()
        )
        compact = asn.public_id.replace("-", "")
        Carton.objects.bulk_create(
            Carton(asn=asn, number=n, barcode=f"{compact}C{n:03d}") for n in range(1, cartons + 1)
        )
        audit.record(
            ctx, "fulfillment.asn_created", asn, after={"lines": len(skus), "cartons": cartons}
        )
    return asn


def cancel_asn(ctx: Context, public_id: str) -> Asn:
    with transaction.atomic():
        asn = get_asn(ctx, public_id, lock=True)
        if asn.merchant_id != ctx.org_id:
            raise PermissionDenied(_("Only the merchant can cancel its notice."))
        if asn.status == AsnStatus.CANCELLED:
            return asn
        if not domain.may_move(domain.ASN_NEXT, asn.status, AsnStatus.CANCELLED):
            raise Conflict(_("Receiving has started; this notice cannot be cancelled."))
        asn.status = AsnStatus.CANCELLED
        asn.save(update_fields=["status"])
        audit.record(ctx, "fulfillment.asn_cancelled", asn)
    return asn


def _operated_asn(ctx: Context, public_id: str) -> Asn:
    hub_id = _operator_hub_id(ctx)
    asn = get_asn(ctx, public_id, lock=True)
    if asn.hub_id != hub_id:  # pragma: no cover - asns_visible already scopes
        raise NotFound(_("No such advance shipping notice."))
    return asn


def receive_scan(
    ctx: Context, public_id: str, barcode: str, *, qty: int = 1, damaged: bool = False
) -> ScanResult:
    """One scan at receiving: a carton label (the carton arrived) or an item (one more unit).

    An unknown barcode or more units than announced is refused with the reason and changes
    nothing. Stock moves only at put-away.
    """
    try:
        code = domain.normalize_scan(barcode)
    except ScanError:
        raise _scan_error("barcode", "empty_scan", _("Scan or type a barcode.")) from None
    with transaction.atomic():
        asn = _operated_asn(ctx, public_id)
        if asn.status not in (AsnStatus.EXPECTED, AsnStatus.RECEIVING):
            raise Conflict(_("This notice is no longer being received."), code="asn_not_receiving")
        now = clock.now()
        if asn.status == AsnStatus.EXPECTED:
            asn.status = AsnStatus.RECEIVING
            asn.receiving_started_at = now
            asn.save(update_fields=["status", "receiving_started_at"])
        carton = asn.cartons.filter(barcode=code).first()
        if carton is not None:
            if carton.arrived_at is None:
                carton.arrived_at = now
                carton.save(update_fields=["arrived_at"])
            return ScanResult(
                "carton",
                _("Carton %(n)d arrived.") % {"n": carton.number},
                carton=carton,
            )
        line = (
            asn.lines.select_for_update(of=("self",))
            .select_related("sku")
            .filter(Q(sku__barcode=code) | Q(sku__code__iexact=code))
            .first()
        )
        if line is None:
            raise _scan_error(
                "barcode",
                "unknown_barcode",
                _("Unknown barcode %(code)s: it is not on this notice.") % {"code": code},
            )
        try:
            domain.check_receipt(line.expected_qty, line.counted_qty, line.damaged_qty, qty)
        except ScanError as exc:
            if exc.code == "invalid_quantity":
                raise _scan_error("qty", exc.code, _("Enter a quantity of at least 1.")) from None
            left = line.expected_qty - line.counted_qty - line.damaged_qty
            raise _scan_error(
                "barcode",
                "over_receipt",
                _("Over-receipt: %(sku)s expects %(expected)d, %(left)d left to receive.")
                % {"sku": line.sku.code, "expected": line.expected_qty, "left": left},
            ) from None
        counter = "damaged_qty" if damaged else "counted_qty"
        AsnLine.objects.filter(pk=line.pk).update(**{counter: F(counter) + qty})
        line.refresh_from_db(fields=["counted_qty", "damaged_qty"])
        ReceiptScan.objects.create(
            asn=asn,
            line=line,
            qty=qty,
            damaged=damaged,
            barcode=code,
            actor_id=_actor_id(ctx),
            at=now,
        )
    return ScanResult(
        "item",
        _("%(sku)s: %(counted)d of %(expected)d counted.")
        % {
            "sku": line.sku.code,
            "counted": line.counted_qty + line.damaged_qty,
            "expected": line.expected_qty,
        },
        line=line,
    )


def finish_receiving(ctx: Context, public_id: str) -> Asn:
    """Counting is over: record what is short or damaged and tell the merchant."""
    with transaction.atomic():
        asn = _operated_asn(ctx, public_id)
        if asn.status in (AsnStatus.RECEIVED, AsnStatus.CLOSED):
            return asn
        if asn.status not in (AsnStatus.EXPECTED, AsnStatus.RECEIVING):
            raise Conflict(_("This notice is no longer being received."), code="asn_not_receiving")
        lines = list(asn.lines.select_related("sku"))
        by_code = {line.sku.code: line for line in lines}
        found = domain.discrepancies(
            (ln.sku.code, ln.expected_qty, ln.counted_qty, ln.damaged_qty) for ln in lines
        )
        Discrepancy.objects.bulk_create(
            Discrepancy(asn=asn, line=by_code[d.sku_code], kind=d.kind, qty=d.qty) for d in found
        )
        asn.status = AsnStatus.RECEIVED
        asn.received_at = clock.now()
        asn.save(update_fields=["status", "received_at"])
        _close_if_put_away(asn, lines)
        audit.record(
            ctx,
            "fulfillment.asn_received",
            asn,
            after={"discrepancies": [[d.sku_code, d.kind, d.qty] for d in found]},
        )
        events.publish(
            "fulfillment.asn_received",
            {
                "asn": asn.public_id,
                "merchant_org_id": asn.merchant_id,
                "discrepancies": [{"sku": d.sku_code, "kind": d.kind, "qty": d.qty} for d in found],
            },
            ctx=ctx,
        )
    return asn


def _close_if_put_away(asn: Asn, lines: list[AsnLine]) -> None:
    if asn.status == AsnStatus.RECEIVED and all(ln.put_away_qty == ln.counted_qty for ln in lines):
        asn.status = AsnStatus.CLOSED
        asn.closed_at = clock.now()
        asn.save(update_fields=["status", "closed_at"])


def put_away(
    ctx: Context, public_id: str, *, sku_code: str, bin_code: str, qty: int | None = None
) -> PutAway:
    """Shelve counted units in a bin; they become available stock (``inventory.receive``)."""
    with transaction.atomic():
        asn = _operated_asn(ctx, public_id)
        if asn.status not in (AsnStatus.RECEIVING, AsnStatus.RECEIVED):
            raise Conflict(
                _("Nothing of this notice waits for put-away."), code="nothing_to_put_away"
            )
        line = (
            asn.lines.select_for_update(of=("self",))
            .select_related("sku")
            .filter(
                Q(sku__code=(sku_code or "").strip()) | Q(sku__barcode=(sku_code or "").strip())
            )
            .first()
        )
        if line is None:
            raise ValidationFailed.single(
                "sku_code", _("This SKU is not on the notice."), "unknown_sku"
            )
        bin_ = BinLocation.objects.filter(
            hub_id=asn.hub_id, code=(bin_code or "").strip().upper(), is_active=True
        ).first()
        if bin_ is None:
            raise ValidationFailed.single("bin", _("Unknown bin location."), "unknown_bin")
        left = line.counted_qty - line.put_away_qty
        qty = left if qty is None else qty
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0 or qty > left:
            raise ValidationFailed.single(
                "qty",
                _("Put away between 1 and %(left)d units (counted and not yet shelved).")
                % {"left": left},
                "invalid_quantity",
            )
        movement = inventory.receive(ctx, line.sku_id, asn.hub_id, qty, reference=asn.public_id)
        AsnLine.objects.filter(pk=line.pk).update(put_away_qty=F("put_away_qty") + qty)
        record = PutAway.objects.create(
            line=line,
            bin=bin_,
            sku_id=line.sku_id,
            hub_id=asn.hub_id,
            qty=qty,
            movement_id=movement.pk,
            at=clock.now(),
        )
        _close_if_put_away(asn, list(asn.lines.all()))
    return record


def carton_labels_pdf(ctx: Context, public_id: str) -> bytes:
    asn = get_asn(ctx, public_id)
    return gateway.carton_labels(
        asn, list(asn.cartons.all()), list(asn.lines.select_related("sku"))
    )


# ---------------------------------------------------------------------------------------------
# Outbound: booking, release, cancel
# ---------------------------------------------------------------------------------------------


def quote_freight(*, weight_g: int, province: str) -> Money:
    """The cheapest sandbox carrier's price (MYR) for a parcel of ``weight_g`` to ``province``."""
    return gateway.cheapest(weight_g, province).total


def _check_request(req: ShipmentRequest) -> None:
    errors: list[FieldError] = []
    if not (req.reference or "").strip() or len(req.reference) > 60:
        errors.append(FieldError("reference", _("Give the order reference (≤ 60)."), "invalid"))
    c = req.consignee
    for name in ("name", "phone", "province", "city", "street"):
        if not (getattr(c, name) or "").strip():
            errors.append(FieldError(f"consignee.{name}", _("This field is required."), "required"))
    if not req.lines:
        errors.append(FieldError("lines", _("A shipment needs at least one line."), "required"))
    for i, line in enumerate(req.lines):
        if isinstance(line.qty, bool) or not isinstance(line.qty, int) or line.qty <= 0:
            errors.append(
                FieldError(f"lines[{i}].qty", _("Enter a quantity of at least 1."), "invalid")
            )
        if (
            isinstance(line.weight_g, bool)
            or not isinstance(line.weight_g, int)
            or line.weight_g <= 0
        ):
            errors.append(
                FieldError(f"lines[{i}].weight_g", _("Give the unit weight in grams."), "invalid")
            )
        if not line.reservation_key:
            errors.append(
                FieldError(f"lines[{i}].reservation_key", _("This field is required."), "required")
            )
    if errors:
        raise ValidationFailed(errors)


PACKAGING_G = 150  # box and filler added to the goods' weight for the booking estimate
# What a booking writes on the shipment (``book_waybill``), for the caller's UPDATE.
BOOKING_FIELDS = (
    "waybill_no",
    "routing_code",
    "service_code",
    "service_name",
    "freight",
    "freight_currency",
)


def new_shipment(
    req: ShipmentRequest,
    merchant: Organization,
    hub: Organization,
    weight: int,
    quote,
    now: dt.datetime,
) -> Shipment:
    """The shipment of a checked request, quoted but not yet booked (unsaved: the caller
    inserts one row or many; the booking then replaces the pending waybill)."""
    c = req.consignee
    return Shipment(
        public_id=new_public_id("SHP"),
        reference=req.reference,
        merchant=merchant,
        hub=hub,
        consignee_name=c.name,
        consignee_phone=c.phone,
        consignee_address=json.dumps(
            {"district": c.district, "street": c.street, "postcode": c.postcode},
            ensure_ascii=False,
        ),
        province=c.province,
        city=c.city,
        declared_value=req.declared_value.amount,
        declared_currency=req.declared_value.currency,
        estimated_weight_g=weight,
        carrier_code=quote.carrier_code,
        carrier_name=quote.carrier_name,
        waybill_no=f"PENDING-{req.reference}"[:40],
        freight=quote.total.amount,
        freight_currency=quote.total.currency,
        requested_at=now,
    )


def line_rows(shipment: Shipment, lines: Sequence[ShipmentLine]) -> list[ShipmentLineRow]:
    """The shipment's line rows for a request's lines (unsaved: the caller inserts them)."""
    return [
        ShipmentLineRow(
            shipment=shipment,
            sku_id=line.sku_id,
            sku_code=line.sku_code,
            name=line.name[:200],
            qty=line.qty,
            unit_value=line.unit_value.amount,
            currency=line.unit_value.currency,
            hs_code=line.hs_code,
            weight_g=line.weight_g,
            reservation_key=line.reservation_key,
        )
        for line in lines
    ]


def book_waybill(
    shipment: Shipment,
    req: ShipmentRequest,
    merchant: Organization,
    hub: Organization,
    weight: int,
    quote,
):
    """Book the inserted shipment's waybill with the quoted carrier (its pk is the waybill
    serial, unique across processes) and copy the booking onto it, unsaved: the caller writes
    ``BOOKING_FIELDS`` for one row or many. Returns the carrier's booking."""
    booking = gateway.book(
        quote,
        reference=req.reference,
        weight_g=weight,
        consignee=req.consignee,
        declared_value=req.declared_value,
        sequence=shipment.pk,
        merchant_name=merchant.legal_name,
        hub_name=hub.legal_name,
    )
    _apply_booking(shipment, booking)
    return booking


def _apply_booking(shipment: Shipment, booking) -> None:
    shipment.waybill_no = booking.waybill_no
    shipment.routing_code = booking.routing_code
    shipment.service_code = booking.service[:32]
    shipment.service_name = booking.service[:100]
    shipment.freight = booking.freight.amount
    shipment.freight_currency = booking.freight.currency


def booked_event(shipment: Shipment, booking) -> dict[str, Any]:
    """The payload of ``fulfillment.waybill_booked`` (orders files the CEB511 from it)."""
    return {
        "reference": shipment.reference,
        "waybill_no": shipment.waybill_no,
        "carrier_code": shipment.carrier_code,
        "carrier_name": shipment.carrier_name,
        "logistics_code": booking.logistics_code,
        "logistics_name": booking.logistics_name,
        "freight_minor": shipment.freight,
        "currency": shipment.freight_currency,
        "weight_g": shipment.estimated_weight_g,
    }


def request_shipment(ctx: Context, req: ShipmentRequest) -> Shipment:
    """Book a waybill for an order (rate shopping across carriers). Idempotent by reference."""
    existing = Shipment.objects.filter(reference=req.reference).first()
    if existing is not None:
        return existing
    _check_request(req)
    merchant = Organization.objects.filter(pk=req.merchant_org_id, kind=OrgKind.MERCHANT).first()
    if merchant is None:
        raise ValidationFailed.single("merchant_org_id", _("Unknown merchant."), "unknown_merchant")
    hub = inventory.hubs().filter(pk=req.hub_org_id).first()
    if hub is None:
        raise ValidationFailed.single(
            "hub_org_id", _("Choose an active eFulfilment hub."), "unknown_hub"
        )
    weight = sum(line.weight_g * line.qty for line in req.lines) + PACKAGING_G
    quote = gateway.cheapest(weight, req.consignee.province)
    try:
        with transaction.atomic():
            shipment = new_shipment(req, merchant, hub, weight, quote, clock.now())
            shipment.save(force_insert=True)
            booking = book_waybill(shipment, req, merchant, hub, weight, quote)
            shipment.save(update_fields=BOOKING_FIELDS)
            ShipmentLineRow.objects.bulk_create(line_rows(shipment, req.lines))
            audit.record(
                ctx, "fulfillment.waybill_booked", shipment, after={"waybill": shipment.waybill_no}
            )
            events.publish("fulfillment.waybill_booked", booked_event(shipment, booking), ctx=ctx)
    except IntegrityError:
        # A concurrent twin booked the same reference first: theirs stands.
        existing = Shipment.objects.filter(reference=req.reference).first()
        if existing is None:
            raise
        return existing
    return shipment


def _bin_for(hub_id: int, sku_id: int) -> BinLocation | None:
    last = (
        PutAway.objects.filter(hub_id=hub_id, sku_id=sku_id)
        .select_related("bin")
        .order_by("-at", "-pk")
        .first()
    )
    return last.bin if last else None


def wave_for(hub_id: int, carrier_code: str, moment: dt.datetime) -> Wave:
    cutoff = gateway.next_cut_off(carrier_code, moment).astimezone(dt.UTC)
    wave, _created = Wave.objects.get_or_create(
        hub_id=hub_id,
        carrier_code=carrier_code,
        cutoff_at=cutoff,
        defaults={"name": domain.wave_key(carrier_code, cutoff), "created_at": clock.now()},
    )
    return wave


def release_for_picking(ctx: Context, reference: str) -> Shipment:
    """Customs released the order: the shipment gets pick tasks in the wave of its cut-off.

    Starts the 3-hour handling clock. Idempotent (a shipment already released is returned).
    """
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(reference=reference).first()
        if shipment is None:
            raise NotFound(_("No such shipment."))
        if shipment.status != S.BOOKED:
            return shipment
        _move(shipment, S.RELEASED)
        now = clock.now()
        shipment.released_at = now
        shipment.wave = wave_for(shipment.hub_id, shipment.carrier_code, now)
        shipment.save(update_fields=["status", "released_at", "wave"])
        tasks = []
        for line in shipment.lines.all():
            bin_ = _bin_for(shipment.hub_id, line.sku_id)
            tasks.append(
                PickTask(
                    wave=shipment.wave,
                    line=line,
                    shipment=shipment,
                    bin_code=bin_.code if bin_ else "",
                    zone=bin_.zone if bin_ else "",
                    qty=line.qty,
                )
            )
        PickTask.objects.bulk_create(tasks)
        audit.record(ctx, "fulfillment.released", shipment, after={"wave": shipment.wave.name})
    return shipment


def cancel_shipment(ctx: Context, reference: str, reason: str) -> Shipment:
    """Stop a shipment before handover. Releases nothing in catalog: orders owns the hold."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(reference=reference).first()
        if shipment is None:
            raise NotFound(_("No such shipment."))
        if shipment.status == S.CANCELLED:
            return shipment
        if shipment.status not in domain.IN_HUB:
            raise Conflict(
                _("The parcel has left the hub; it cannot be cancelled."), code="already_shipped"
            )
        _move(shipment, S.CANCELLED)
        shipment.cancelled_at = clock.now()
        shipment.exception = (reason or "")[:200]
        shipment.manifest = None
        shipment.save(update_fields=["status", "cancelled_at", "exception", "manifest"])
        PickTask.objects.filter(shipment=shipment, done_at__isnull=True).delete()
        gateway.cancel(shipment.carrier_code, shipment.waybill_no)
        audit.record(ctx, "fulfillment.cancelled", shipment, after={"reason": reason})
    return shipment


def shipment_of(reference: str) -> Shipment | None:
    return Shipment.objects.filter(reference=reference).first()


def tracking_of(reference: str) -> list[TrackingEvent]:
    return list(TrackingEvent.objects.filter(shipment__reference=reference).order_by("at", "pk"))


# ---------------------------------------------------------------------------------------------
# Pick, pack, label
# ---------------------------------------------------------------------------------------------


def confirm_pick(ctx: Context, key: str, barcode: str) -> ShipmentLineRow:
    """Scan-to-confirm one unit of a shipment's pick: a SKU not on the order is refused."""
    try:
        code = domain.normalize_scan(barcode)
    except ScanError:
        raise _scan_error("barcode", "empty_scan", _("Scan or type a barcode.")) from None
    with transaction.atomic():
        shipment = _operated_shipment(ctx, key)
        if shipment.status != S.RELEASED:
            raise Conflict(_("This shipment is not waiting to be picked."), code="not_pickable")
        lines = list(shipment.lines.select_related("sku"))
        match = [
            ln for ln in lines if code in {ln.sku_code.upper(), (ln.sku.barcode or "").upper()}
        ]
        if not match:
            raise _scan_error(
                "barcode",
                "wrong_item",
                _("Wrong item: %(code)s is not on this order.") % {"code": code},
            )
        line = next((ln for ln in match if ln.picked_qty < ln.qty), None)
        if line is None:
            raise _scan_error(
                "barcode",
                "already_picked",
                _("Every unit of %(code)s is already picked.") % {"code": code},
            )
        ShipmentLineRow.objects.filter(pk=line.pk).update(picked_qty=F("picked_qty") + 1)
        line.picked_qty += 1
        now = clock.now()
        PickTask.objects.filter(line=line).update(
            picked_qty=F("picked_qty") + 1, done_at=now if line.picked_qty == line.qty else None
        )
        if all(ln.picked_qty == ln.qty for ln in lines):
            _move(shipment, S.PICKED)
            shipment.picked_at = now
            shipment.save(update_fields=["status", "picked_at"])
    return line


def pick_all(ctx: Context, key: str) -> Shipment:
    """Confirm every unit of a shipment by its SKU codes (bench and demo; the floor scans)."""
    shipment = get_shipment(ctx, key)
    for line in shipment.lines.all():
        for _i in range(line.qty - line.picked_qty):
            confirm_pick(ctx, key, line.sku_code)
    return get_shipment(ctx, key)


def pack(
    ctx: Context,
    key: str,
    *,
    weight_g: int,
    length_mm: int,
    width_mm: int,
    height_mm: int,
    items: Sequence[str] | None = None,
) -> Parcel:
    """Pack a picked shipment into a parcel, measured; refuses a wrong item or overweight.

    ``items``, when given, are the codes scanned into the box: they must be exactly the order's
    units (a missing or extra item is named).
    """
    measure = domain.Measure(weight_g, length_mm, width_mm, height_mm)
    problems = measure_errors(measure)
    if problems:
        raise ValidationFailed(problems)
    with transaction.atomic():
        shipment = _operated_shipment(ctx, key)
        if shipment.status != S.PICKED:
            raise Conflict(_("Only a picked shipment can be packed."), code="not_packable")
        lines = list(shipment.lines.select_related("sku"))
        if items is not None:
            _check_items(lines, items)
        limit = gateway.max_weight_g(shipment.carrier_code)
        if limit and measure.chargeable_g > limit:
            raise ValidationFailed.single(
                "weight_g",
                _(
                    "Over the carrier's weight limit: %(weight)d g chargeable (actual "
                    "%(actual)d g, volumetric %(vol)d g); %(carrier)s takes at most %(limit)d g."
                )
                % {
                    "weight": measure.chargeable_g,
                    "actual": measure.weight_g,
                    "vol": measure.volumetric_g,
                    "carrier": shipment.carrier_name,
                    "limit": limit,
                },
                "over_weight_limit",
            )
        now = clock.now()
        parcel = Parcel.objects.create(
            public_id=new_public_id("PCL"),
            shipment=shipment,
            weight_g=weight_g,
            length_mm=length_mm,
            width_mm=width_mm,
            height_mm=height_mm,
            volumetric_g=measure.volumetric_g,
            chargeable_g=measure.chargeable_g,
            packed_at=now,
        )
        _move(shipment, S.PACKED)
        shipment.packed_at = now
        shipment.save(update_fields=["status", "packed_at"])
        events.publish(
            "fulfillment.packed",
            {"reference": shipment.reference, "parcel": parcel.public_id, "weight_g": weight_g},
            ctx=ctx,
        )
    return parcel


def measure_errors(measure: domain.Measure, prefix: str = "") -> list[FieldError]:
    """The implausible figures of a parcel's measure, each named ``prefix`` + its field."""
    problems = domain.check_measure(measure)
    if not problems:
        return []
    messages = {
        "must_be_positive": _("Enter a whole number above 0."),
        "too_large": _("At most %(n)d mm.") % {"n": domain.MAX_DIMENSION_MM},
        "too_heavy": _("At most %(n)d g.") % {"n": domain.MAX_WEIGHT_G},
    }
    return [FieldError(prefix + f, messages[c], c) for f, c in problems]


def _check_items(lines: list[ShipmentLineRow], items: Sequence[str]) -> None:
    want: Counter[str] = Counter()
    alias: dict[str, str] = {}
    for ln in lines:
        want[ln.sku_code.upper()] += ln.qty
        alias[ln.sku_code.upper()] = ln.sku_code.upper()
        if ln.sku.barcode:
            alias[ln.sku.barcode.upper()] = ln.sku_code.upper()
    got: Counter[str] = Counter()
    for raw in items:
        code = (raw or "").strip().upper()
        if not code:
            continue
        if code not in alias:
            raise _scan_error(
                "items",
                "wrong_item",
                _("Wrong item: %(code)s is not on this order.") % {"code": code},
            )
        got[alias[code]] += 1
    if got != want:
        missing = want - got
        extra = got - want
        parts = [f"{k} ×{v}" for k, v in sorted(missing.items())]
        if extra:
            raise _scan_error(
                "items",
                "extra_item",
                _("Too many units of %(codes)s in the box.") % {"codes": ", ".join(sorted(extra))},
            )
        raise _scan_error(
            "items",
            "missing_item",
            _("Missing from the box: %(items)s.") % {"items": ", ".join(parts)},
        )


def consignee_of(shipment: Shipment) -> Consignee:
    """The full consignee (decrypted): for the label only; pages show masked values."""
    address = json.loads(shipment.consignee_address or "{}")
    return Consignee(
        name=shipment.consignee_name,
        phone=shipment.consignee_phone,
        province=shipment.province,
        city=shipment.city,
        district=address.get("district", ""),
        street=address.get("street", ""),
        postcode=address.get("postcode", ""),
    )


def print_label(ctx: Context, key: str) -> bytes:
    """The 100×150 mm shipping label PDF; the first print moves the parcel to labelled."""
    with transaction.atomic():
        shipment = _operated_shipment(ctx, key)
        if shipment.status not in (S.PACKED, S.LABELLED, S.MANIFESTED):
            raise Conflict(_("Pack the parcel before printing its label."), code="not_packed")
        parcel = shipment.parcel
        pdf = gateway.shipping_label(
            shipment,
            parcel,
            consignee_of(shipment),
            merchant_name=shipment.merchant.legal_name,
            hub_name=shipment.hub.legal_name,
        )
        now = clock.now()
        Parcel.objects.filter(pk=parcel.pk).update(
            label_printed_at=now, label_prints=F("label_prints") + 1
        )
        if shipment.status == S.PACKED:
            _move(shipment, S.LABELLED)
            shipment.labelled_at = now
            shipment.save(update_fields=["status", "labelled_at"])
        audit.record(ctx, "fulfillment.label_printed", shipment)
    return pdf


def commercial_invoice(ctx: Context, key: str) -> bytes:
    shipment = get_shipment(ctx, key)
    parcel = getattr(shipment, "parcel", None)
    return gateway.commercial_invoice(
        shipment,
        parcel,
        consignee_of(shipment),
        list(shipment.lines.all()),
        merchant=shipment.merchant,
        hub_name=shipment.hub.legal_name,
    )


# ---------------------------------------------------------------------------------------------
# Manifests, export declarations, handover
# ---------------------------------------------------------------------------------------------


def _mawb() -> str:
    """A free master air waybill number in the configured airline's range."""
    prefix = settings.EHUB_MAWB_AIRLINE_PREFIX
    for _attempt in range(20):
        number = domain.mawb_number(prefix, secrets.randbelow(10_000_000))
        if not Manifest.objects.filter(mawb_no=number).exists():
            return number
    raise Conflict(_("No free master air waybill number; try again."))  # pragma: no cover


def create_manifest(
    ctx: Context,
    *,
    carrier_code: str,
    flight_no: str,
    departure_date: dt.date,
    destination_port: str = "PVG",
    waybills: Sequence[str] | None = None,
) -> Manifest:
    """Consolidate labelled parcels of one carrier on one flight under a master air waybill,
    and file the Malaysian export declaration (one per merchant) through the customs engine.

    ``waybills``: which parcels (default: every labelled parcel of that carrier at the hub).
    """
    hub_id = _operator_hub_id(ctx)
    errors: list[FieldError] = []
    flight_no = (flight_no or "").strip().upper().replace(" ", "")
    if not flight_no or len(flight_no) > 12:
        errors.append(FieldError("flight_no", _("Give the flight number, e.g. MH370."), "required"))
    if not isinstance(departure_date, dt.date):
        errors.append(FieldError("departure_date", _("Give a date."), "invalid"))
    if not gateway.exists(carrier_code):
        errors.append(FieldError("carrier_code", _("Unknown carrier."), "unknown_carrier"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        qs = Shipment.objects.select_for_update().filter(
            hub_id=hub_id, carrier_code=carrier_code, status=S.LABELLED
        )
        if waybills is not None:
            wanted = {w.strip().upper() for w in waybills if w.strip()}
            qs = qs.filter(waybill_no__in=wanted)
        shipments = list(qs.order_by("pk"))
        if waybills is not None and len(shipments) != len(wanted):
            unknown = sorted(wanted - {s.waybill_no for s in shipments})
            raise ValidationFailed.single(
                "waybills",
                _("Not labelled parcels of this carrier: %(list)s.") % {"list": ", ".join(unknown)},
                "not_manifestable",
            )
        if not shipments:
            raise ValidationFailed.single(
                "waybills", _("No labelled parcels of this carrier wait for a manifest."), "empty"
            )
        now = clock.now()
        manifest = Manifest.objects.create(
            public_id=new_public_id("MAN"),
            hub_id=hub_id,
            carrier_code=carrier_code,
            flight_no=flight_no,
            departure_date=departure_date,
            destination_port=destination_port.upper(),
            mawb_no=_mawb(),
            status="closed",
            created_at=now,
        )
        Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
            status=S.MANIFESTED, manifest=manifest, manifested_at=now, missing_at_handover=False
        )
        manifest.export_declarations = _file_export_declarations(ctx, manifest, shipments)
        manifest.save(update_fields=["export_declarations"])
        audit.record(
            ctx,
            "fulfillment.manifested",
            manifest,
            after={"parcels": len(shipments), "mawb": manifest.mawb_no},
        )
    return manifest


def _fob_myr(amount: int, currency: str) -> Money:
    money = Money(amount, currency)
    if currency == "MYR":
        return money
    from ehub.core import fx

    return fx.convert(money, "MYR", rounding=Rounding.HALF_UP).result


def _kg(grams: int) -> Decimal:
    return (Decimal(max(grams, 1)) / 1000).quantize(Decimal("0.001"))


def _file_export_declarations(
    ctx: Context, manifest: Manifest, shipments: list[Shipment]
) -> list[str]:
    """One K2-like declaration per exporting merchant, lines summed by HS subheading."""
    from ehub.customs import export as my_export

    by_merchant: dict[int, list[Shipment]] = defaultdict(list)
    for s in shipments:
        by_merchant[s.merchant_id].append(s)
    orgs = Organization.objects.in_bulk([manifest.hub_id, *by_merchant])
    hub = orgs[manifest.hub_id]
    lines = ShipmentLineRow.objects.filter(shipment__in=shipments).order_by("pk")
    lines_of: dict[int, list[ShipmentLineRow]] = defaultdict(list)
    for ln in lines:
        lines_of[ln.shipment_id].append(ln)
    parcels = {p.shipment_id: p for p in Parcel.objects.filter(shipment__in=shipments)}
    declared = []
    for merchant_id, group in sorted(by_merchant.items()):
        merchant = orgs[merchant_id]
        sums: dict[str, dict[str, Any]] = {}
        for s in group:
            goods_g = sum(ln.weight_g * ln.qty for ln in lines_of[s.pk]) or 1
            gross_g = parcels[s.pk].weight_g if s.pk in parcels else goods_g
            for ln in lines_of[s.pk]:
                hs6 = ln.hs_code.replace(".", "")[:6]
                row = sums.setdefault(
                    hs6, {"qty": 0, "fob": Money.zero("MYR"), "net": 0, "gross": 0, "names": []}
                )
                row["qty"] += ln.qty
                row["fob"] = row["fob"] + _fob_myr(ln.unit_value * ln.qty, ln.currency)
                row["net"] += ln.weight_g * ln.qty
                row["gross"] += max(gross_g * ln.weight_g * ln.qty // goods_g, ln.weight_g * ln.qty)
                if ln.name not in row["names"]:
                    row["names"].append(ln.name)
        tariffs = my_export.tariff_in_force(set(sums), manifest.departure_date)
        data = {
            "exporter_address": str(_("c/o %(hub)s, KLIA Aeropolis, Sepang"))
            % {"hub": hub.legal_name},
            "consignee_name": str(_("Consignees per manifest %(mawb)s"))
            % {"mawb": manifest.mawb_no},
            "consignee_address": str(_("Individual addresses, see the house waybills")),
            "consignee_country": "CN",
            "declarant": hub.legal_name,
            "transport_mode": "4",
            "port_of_loading": "KUL",
            "destination_country": "CN",
            "destination_port": manifest.destination_port,
            "departure_date": manifest.departure_date,
            "transport_reference": f"{manifest.mawb_no} {manifest.flight_no}",
            "lines": [
                {
                    "hs_code": hs6,
                    "tariff_code": next(
                        (code for code in sorted(tariffs) if code.startswith(hs6)), ""
                    ),
                    "description": "; ".join(row["names"])[:300],
                    "quantity": row["qty"],
                    "unit": "PCE",
                    "fob": row["fob"],
                    "net_kg": _kg(row["net"]),
                    "gross_kg": max(_kg(row["gross"]), _kg(row["net"])),
                    "origin": "MY",
                }
                for hs6, row in sorted(sums.items())
            ],
        }
        merchant_ctx = Context(
            user=ctx.user,
            org=merchant,
            roles=frozenset({"system"}),
            via=ctx.via,
            request_id=ctx.request_id,
        )
        decl = my_export.create_export_declaration(merchant_ctx, data)
        my_export.submit(merchant_ctx, decl.public_id)
        declared.append(decl.public_id)
    return declared


def manifests_of(ctx: Context) -> QuerySet[Manifest]:
    return Manifest.objects.filter(hub_id=_operator_hub_id(ctx)).order_by("-created_at")


def get_manifest(ctx: Context, public_id: str, *, lock: bool = False) -> Manifest:
    qs = manifests_of(ctx)
    if lock:
        qs = qs.select_for_update()
    found = qs.filter(public_id=(public_id or "").strip().upper()).first()
    if found is None:
        raise NotFound(_("No such manifest."))
    return found


def handover(ctx: Context, public_id: str, scanned: Iterable[str]) -> dict[str, list[str]]:
    """The carrier's driver takes the manifest: every scanned parcel is shipped (its stock
    leaves the hub: the order's reservation is consumed); a parcel on the manifest but not
    scanned is flagged missing and taken off it. A scan not on the manifest is refused.
    """
    codes = []
    for raw in scanned:
        try:
            codes.append(domain.normalize_scan(raw))
        except ScanError:
            continue
    with transaction.atomic():
        manifest = get_manifest(ctx, public_id, lock=True)
        if manifest.status == "handed_over":
            raise Conflict(_("This manifest was already handed over."), code="already_handed_over")
        shipments = list(
            manifest.shipments.select_for_update()
            .filter(status=S.MANIFESTED)
            .defer(*PERSONAL)
            .prefetch_related("lines")
        )
        by_waybill = {s.waybill_no: s for s in shipments}
        unknown = sorted(set(codes) - set(by_waybill))
        if unknown:
            raise _scan_error(
                "barcode",
                "not_on_manifest",
                _("Not on this manifest: %(list)s.") % {"list": ", ".join(unknown)},
            )
        if not codes:
            raise ValidationFailed.single("barcode", _("Scan the parcels handed over."), "required")
        now = clock.now()
        taken: list[Shipment] = []
        left: list[Shipment] = []
        system = Context(user=ctx.user, org=None, roles=frozenset({"system"}), via=ctx.via)
        for s in shipments:
            if s.waybill_no in codes:
                _move(s, S.SHIPPED)
                taken.append(s)
            else:
                _move(s, S.LABELLED)
                left.append(s)
        # The parcels' units leave the hub out of the holds that keep them, BY QUANTITY (a
        # flash-sale line names the offer's hold, shared by all its buyers): all the
        # manifest's holds in one batch, as one consume per hold would leave them.
        held = [(ln.reservation_key, ln.qty) for s in taken for ln in s.lines.all()]
        for i in range(0, len(held), inventory.BATCH_MAX):
            inventory.consume_batch(system, held[i : i + inventory.BATCH_MAX])
        # Every parcel of a side gets the same values: one UPDATE per side, not one per parcel.
        Shipment.objects.filter(pk__in=[s.pk for s in taken]).update(
            status=S.SHIPPED, shipped_at=now
        )
        Shipment.objects.filter(pk__in=[s.pk for s in left]).update(
            status=S.LABELLED,
            missing_at_handover=True,
            manifest=None,
            exception=str(_("Missing at handover of %(mawb)s")) % {"mawb": manifest.mawb_no},
        )
        events.publish_many(
            (
                (
                    "fulfillment.shipped",
                    {
                        "reference": s.reference,
                        "waybill_no": s.waybill_no,
                        "manifest": manifest.mawb_no,
                    },
                )
                for s in taken
            ),
            ctx=ctx,
        )
        shipped = [s.waybill_no for s in taken]
        missing = [s.waybill_no for s in left]
        manifest.status = "handed_over"
        manifest.handed_over_at = now
        manifest.save(update_fields=["status", "handed_over_at"])
        audit.record(
            ctx, "fulfillment.handed_over", manifest, after={"shipped": shipped, "missing": missing}
        )
    return {"shipped": shipped, "missing": missing}


# ---------------------------------------------------------------------------------------------
# Tracking, delivery, returns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingInput:
    event_id: str
    code: str
    at: dt.datetime
    location: str = ""
    description: str = ""
    reason: str = ""
    final: bool = False


def record_tracking(
    ctx: Context, waybill_no: str, items: Sequence[TrackingInput]
) -> list[TrackingEvent]:
    """Store the carrier's events (a repeated ``event_id`` is ignored) and apply their effect:
    delivered, delivery failed, returned to sender (stock back on the shelf)."""
    added: list[TrackingEvent] = []
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update()
            .filter(waybill_no=(waybill_no or "").strip().upper())
            .first()
        )
        if shipment is None:
            raise NotFound(_("No such waybill."), field="waybill_no")
        known = set(shipment.events.values_list("event_id", flat=True))
        now = clock.now()
        for item in sorted(items, key=lambda i: i.at):
            if item.event_id in known:
                continue
            if item.code not in domain.TRACKING_CODES:
                raise ValidationFailed.single(
                    "code", _("Unknown tracking code %(c)s.") % {"c": item.code}, "unknown_code"
                )
            event = TrackingEvent.objects.create(
                shipment=shipment,
                event_id=item.event_id[:80],
                code=item.code,
                description=item.description[:200],
                location=item.location[:100],
                at=item.at,
                received_at=now,
            )
            known.add(item.event_id)
            added.append(event)
            events.publish(
                "fulfillment.tracking",
                {
                    "reference": shipment.reference,
                    "waybill_no": shipment.waybill_no,
                    "code": item.code,
                    "at": item.at.isoformat(),
                    "location": item.location,
                },
                ctx=ctx,
            )
            _apply_effect(ctx, shipment, item)
    return added


def _apply_effect(ctx: Context, shipment: Shipment, item: TrackingInput) -> None:
    effect = domain.tracking_effect(item.code, getattr(item, "final", False))
    if item.code == "exception":
        shipment.exception = (getattr(item, "reason", "") or item.description or item.code)[:200]
        shipment.save(update_fields=["exception"])
    if effect is None or shipment.status == effect:
        return
    if not domain.may_move(domain.SHIPMENT_NEXT, shipment.status, effect):
        return  # a late or out-of-order event: recorded, but it does not move the parcel back
    shipment.status = effect
    payload = {"reference": shipment.reference, "waybill_no": shipment.waybill_no}
    if effect == S.DELIVERED:
        shipment.delivered_at = item.at
        shipment.save(update_fields=["status", "delivered_at"])
        events.publish(
            "fulfillment.delivered", {**payload, "delivered_at": item.at.isoformat()}, ctx=ctx
        )
    elif effect == S.DELIVERY_FAILED:
        shipment.exception = (shipment.exception or item.description or _("Delivery failed"))[:200]
        shipment.save(update_fields=["status", "exception"])
        events.publish(
            "fulfillment.delivery_failed", {**payload, "reason": shipment.exception}, ctx=ctx
        )
    elif effect == S.RETURNED:
        _return_stock(ctx, shipment)
        shipment.returned_at = item.at
        shipment.save(update_fields=["status", "returned_at"])
        events.publish("fulfillment.returned", payload, ctx=ctx)


def _return_stock(ctx: Context, shipment: Shipment) -> None:
    system = Context(user=ctx.user, org=None, roles=frozenset({"system"}), via=ctx.via)
    for ln in shipment.lines.all():
        inventory.return_to_stock(
            system, ln.sku_id, shipment.hub_id, ln.qty, reference=shipment.waybill_no
        )


def return_to_sender(ctx: Context, key: str, reason: str = "") -> Shipment:
    """The hub receives a parcel back (failed delivery or refused): stock back, event out."""
    shipment = get_shipment(ctx, key)
    record_tracking(
        ctx,
        shipment.waybill_no,
        [
            TrackingInput(
                f"hub-return-{shipment.waybill_no}", "returned", clock.now(), "KUL", reason
            )
        ],
    )
    return get_shipment(ctx, key)


def poll_tracking(limit: int = 500) -> int:
    """Ask the carriers for news of parcels on the way; how many new events were stored."""
    ctx = Context.system()
    added = 0
    open_statuses = [S.SHIPPED, S.DELIVERY_FAILED]
    rows = Shipment.objects.filter(status__in=open_statuses).values_list(
        "carrier_code", "waybill_no", "requested_at", "routing_code"
    )[:limit]
    for code, waybill, booked_at, routing in rows:
        items = gateway.tracking(code, waybill, booked_at=booked_at, routing_code=routing)
        if items:
            added += len(record_tracking(ctx, waybill, items))
    return added


def webhook(carrier_code: str, body: bytes, headers) -> int:
    """A carrier's signed webhook: verify, then store its events. How many were new."""
    items = gateway.parse_webhook(carrier_code, body, headers)
    ctx = Context.system(via="api")
    added = 0
    by_waybill: dict[str, list] = defaultdict(list)
    for item in items:
        by_waybill[item.waybill_no].append(item)
    for waybill, group in by_waybill.items():
        added += len(record_tracking(ctx, waybill, group))
    return added


# ---------------------------------------------------------------------------------------------
# Reads for the portal
# ---------------------------------------------------------------------------------------------


def public_tracking(waybill_no: str) -> tuple[Shipment, list[TrackingEvent]]:
    """What anyone with the waybill number may see: status and events, no personal data."""
    shipment = (
        Shipment.objects.filter(waybill_no=(waybill_no or "").strip().upper())
        .only(
            "waybill_no", "status", "carrier_name", "province", "city", "delivered_at", "shipped_at"
        )
        .first()
    )
    if shipment is None:
        raise NotFound(_("No parcel with this waybill number."))
    return shipment, list(shipment.events.order_by("-at", "-pk"))


def dashboard(ctx: Context) -> dict[str, Any]:
    hub_id = _operator_hub_id(ctx)
    now = clock.now()
    today = clock.today_in(settings.EHUB_HUB_TIMEZONE)
    inbound = list(
        Asn.objects.filter(
            hub_id=hub_id,
            status__in=[AsnStatus.EXPECTED, AsnStatus.RECEIVING, AsnStatus.RECEIVED],
            expected_on__lte=today,
        )
        .select_related("merchant")
        .annotate(
            expected=Sum("lines__expected_qty"),
            counted=Sum("lines__counted_qty"),
            damaged=Sum("lines__damaged_qty"),
            put=Sum("lines__put_away_qty"),
        )
        .order_by("expected_on", "pk")[:50]
    )
    waves = list(
        Wave.objects.filter(hub_id=hub_id, shipment__status__in=[S.RELEASED, S.PICKED, S.PACKED])
        .annotate(
            to_pick=Count("shipment", filter=Q(shipment__status=S.RELEASED)),
            to_pack=Count("shipment", filter=Q(shipment__status=S.PICKED)),
            to_label=Count("shipment", filter=Q(shipment__status=S.PACKED)),
        )
        .order_by("cutoff_at", "carrier_code")[:50]
    )
    exceptions = list(
        Shipment.objects.filter(hub_id=hub_id)
        .filter(
            Q(missing_at_handover=True, status=S.LABELLED)
            | Q(status=S.DELIVERY_FAILED)
            | (Q(status=S.SHIPPED) & ~Q(exception=""))
        )
        .order_by("-requested_at")[:50]
    )
    breaches = list(
        Shipment.objects.filter(
            hub_id=hub_id,
            status__in=[S.RELEASED, S.PICKED, S.PACKED, S.LABELLED, S.MANIFESTED],
            released_at__lt=now - domain.HANDLING_SLA,
        ).order_by("released_at")[:50]
    )
    door_breaches = Shipment.objects.filter(
        hub_id=hub_id,
        status__in=[S.SHIPPED, S.DELIVERY_FAILED],
        requested_at__lt=now - domain.DOOR_SLA,
    ).count()
    return {
        "inbound": inbound,
        "waves": waves,
        "waiting": waiting_for_manifest(ctx),
        "exceptions": exceptions,
        "breaches": breaches,
        "door_breaches": door_breaches,
        "now": now,
    }


def waiting_for_manifest(ctx: Context) -> list[dict[str, Any]]:
    """How many labelled parcels of the caller's hub wait for a manifest, per carrier."""
    return list(
        Shipment.objects.filter(hub_id=_operator_hub_id(ctx), status=S.LABELLED)
        .values("carrier_code", "carrier_name")
        .annotate(n=Count("pk"))
        .order_by("carrier_code")
    )


def get_wave(ctx: Context, wave_id: int) -> Wave:
    """The operator's hub's wave; NotFound for any other (another hub's reads as missing)."""
    wave = Wave.objects.filter(pk=wave_id, hub_id=_operator_hub_id(ctx)).first()
    if wave is None:
        raise NotFound(_("No such wave."))
    return wave


def pick_list(ctx: Context, wave_id: int, zone: str | None = None) -> tuple[Wave, list[PickTask]]:
    wave = get_wave(ctx, wave_id)
    tasks = PickTask.objects.filter(wave=wave, shipment__status=S.RELEASED).select_related(
        "line", "shipment"
    )
    if zone:
        tasks = tasks.filter(zone=zone)
    return wave, list(tasks.order_by("zone", "bin_code", "pk"))


def sla_report(
    ctx: Context, *, since: dt.datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """On-time rates per merchant and per carrier: 3 h handling and 72 h to the door."""
    qs = shipments_visible(ctx).exclude(status=S.CANCELLED).filter(released_at__isnull=False)
    if since is not None:
        qs = qs.filter(requested_at__gte=since)
    rows = qs.values_list(
        "merchant__legal_name",
        "carrier_name",
        "requested_at",
        "released_at",
        "shipped_at",
        "delivered_at",
    )
    stats: dict[str, dict[str, dict[str, int]]] = {"merchant": {}, "carrier": {}}
    for merchant, carrier, requested, released, shipped, delivered in rows:
        handling = domain.handling_clock(released, shipped).met()
        door = domain.door_clock(requested, delivered).met()
        for dim, key in (("merchant", merchant), ("carrier", carrier)):
            row = stats[dim].setdefault(
                key, {"handled": 0, "handled_ok": 0, "delivered": 0, "delivered_ok": 0}
            )
            if handling is not None:
                row["handled"] += 1
                row["handled_ok"] += int(handling)
            if door is not None:
                row["delivered"] += 1
                row["delivered_ok"] += int(door)
    result: dict[str, list[dict[str, Any]]] = {}
    for dim, table in stats.items():
        result[dim] = [
            {
                "name": key,
                **row,
                "handling_rate": (row["handled_ok"] / row["handled"]) if row["handled"] else None,
                "door_rate": (row["delivered_ok"] / row["delivered"]) if row["delivered"] else None,
            }
            for key, row in sorted(table.items())
        ]
    return result
