"""Batch use cases of the eFulfilment hub: a day's volume, a wave or a manifest at a time.

The per-parcel services (``services.release_for_picking``, ``pick_all``, ``pack``,
``print_label``...) serve the pick station and the portal: one scan, one parcel, one
transaction. A hub's day is tens of thousands of parcels, so the floor also works in sets:
release every cleared shipment into its wave, confirm a wave's picks, pack a table of parcels,
print a wave's labels, hand a manifest over. The functions here do that with the same rules
(the pure ``domain`` and the same checks as the per-parcel path) and leave the same state
behind, but in a number of database calls that does not grow with the batch:

* one locking read of the batch's shipments (ascending pk: two batches never deadlock), a few
  reads of what they need (lines, bins, waves), one UPDATE per group of parcels that get the
  same values (per wave, per status), bulk INSERTs of new rows (pick tasks, parcels, audit
  entries) and one bulk write of the events (``events.publish_many``: delivery rows in the
  same transaction, delivered after commit);
* all or nothing: one bad item (unknown waybill, another hub's parcel, wrong state, over the
  carrier's weight limit) refuses the whole batch with a ValidationFailed naming every bad
  item (``waybills[3]``, ``parcels[7].weight_g``) and changes nothing;
* scoped like the per-parcel path: an operator's batch only sees the operator's hub (another
  hub's waybill is "unknown"); the contract functions (``request_shipments``,
  ``release_many``) take the lifecycle's system Context as their single twins do.

Label PDFs are the one step bound by CPU, not by the database: ``print_labels`` can render
them in a pool of worker processes (``workers``; see ``gateway.label_pdfs``). PDFs are not
stored, as with ``print_label``: they are returned to be streamed to the printer.

Batches are capped at ``BATCH_MAX`` items; callers split a day into waves and manifests.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind
from ehub.accounts.models import Organization
from ehub.catalog.models import Stock
from ehub.catalog.services import inventory
from ehub.core import audit, clock, events
from ehub.core.context import Context
from ehub.core.errors import DomainError, FieldError, PermissionDenied, ValidationFailed
from ehub.core.ids import new_public_id

from . import domain, gateway
from .models import Parcel, PickTask, PutAway, Shipment, Wave
from .models import ShipmentLine as ShipmentLineRow
from .services import (
    BOOKING_FIELDS,
    PACKAGING_G,
    PERSONAL,
    ShipmentRequest,
    _check_items,
    _check_request,
    _operator_hub_id,
    book_waybill,
    booked_event,
    consignee_of,
    line_rows,
    measure_errors,
    new_shipment,
    wave_for,
)

S = domain.ShipmentStatus
BATCH_MAX = 5_000
STATUS_NAMES = dict(Shipment.STATUS_CHOICES)


@dataclass(frozen=True)
class PackInput:
    """One parcel of a packing batch: what the scale and the dimensioner measured."""

    waybill: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    items: Sequence[str] | None = None  # codes scanned into the box (checked when given)


@dataclass(frozen=True)
class LabelBatch:
    """Labels of a batch, in the order asked: one PDF per parcel, or one PDF of all pages."""

    waybills: list[str]
    pdfs: list[bytes]  # empty when combined
    combined: bytes | None = None


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _size(n: int, field: str) -> None:
    if n == 0:
        raise ValidationFailed.single(field, _("Give at least one parcel."), "required")
    if n > BATCH_MAX:
        raise ValidationFailed.single(
            field, _("At most %(n)d per batch; split it.") % {"n": BATCH_MAX}, "too_many"
        )


def _waybills(raw: Iterable[str], field: str = "waybills") -> list[str]:
    """Waybill numbers as scanned (trimmed, upper case); empty or repeated ones are named."""
    values = list(raw)
    _size(len(values), field)
    out: list[str] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        code = (value or "").strip().upper() if isinstance(value, str) else ""
        if not code:
            errors.append(FieldError(f"{field}[{i}]", _("Scan or type a waybill."), "required"))
        elif code in seen:
            errors.append(
                FieldError(
                    f"{field}[{i}]",
                    _("%(waybill)s is listed twice.") % {"waybill": code},
                    "duplicate",
                )
            )
        seen.add(code)
        out.append(code)
    if errors:
        raise ValidationFailed(errors)
    return out


def _locked(
    ctx: Context,
    waybills: list[str],
    allowed: Iterable[str],
    refusal: Callable[[Shipment], FieldError],
    *,
    field: str = "waybills",
    related: Sequence[str] = (),
    personal: bool = False,
) -> list[Shipment]:
    """The operator's shipments of ``waybills``, locked, in the order given; every unknown
    one (or another hub's) and every one not in an ``allowed`` status is named. The
    consignee's (encrypted) fields are read only when ``personal``."""
    hub_id = _operator_hub_id(ctx)
    qs = Shipment.objects.filter(hub_id=hub_id, waybill_no__in=waybills)
    if related:
        qs = qs.select_related(*related)
    if not personal:
        qs = qs.defer(*PERSONAL)
    found = {s.waybill_no: s for s in qs.select_for_update(of=("self",)).order_by("pk")}
    allowed = frozenset(allowed)
    errors: list[FieldError] = []
    for i, code in enumerate(waybills):
        shipment = found.get(code)
        if shipment is None:
            errors.append(
                FieldError(
                    f"{field}[{i}]",
                    _("No such shipment at this hub: %(waybill)s.") % {"waybill": code},
                    "unknown_waybill",
                )
            )
        elif shipment.status not in allowed:
            error = refusal(shipment)
            errors.append(FieldError(f"{field}[{i}]", error.message, error.code))
    if errors:
        raise ValidationFailed(errors)
    return [found[code] for code in waybills]


def _state_error(code: str, message: str) -> Callable[[Shipment], FieldError]:
    def refusal(shipment: Shipment) -> FieldError:
        return FieldError(
            "",
            _("%(waybill)s is %(status)s: %(why)s")
            % {
                "waybill": shipment.waybill_no,
                "status": STATUS_NAMES.get(shipment.status, shipment.status),
                "why": message,
            },
            code,
        )

    return refusal


def _update_each(model, fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """``UPDATE … SET fields WHERE id = …`` for rows of (id, *values): one executemany
    (pipelined on PostgreSQL), for values that differ row by row."""
    if not rows:
        return
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(model._meta.get_field(f).column)} = %s" for f in fields)
    sql = f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*values, pk) for pk, *values in rows])


# ---------------------------------------------------------------------------------------------
# Booking many shipments (the lifecycle's contract, and a bench's setup)
# ---------------------------------------------------------------------------------------------


def request_shipments(ctx: Context, requests: Sequence[ShipmentRequest]) -> list[Shipment]:
    """``request_shipment`` for many orders: rate shopping and a waybill each, in one
    transaction. Idempotent by reference (booked ones come back as they are); the shipments
    are returned in the order of ``requests``. A bad request (a missing field, an unknown
    merchant or hub, no carrier for the parcel) refuses the batch, naming ``requests[i]``.
    """
    requests = list(requests)
    _size(len(requests), "requests")
    refs = [r.reference for r in requests]
    existing = {s.reference: s for s in Shipment.objects.filter(reference__in=refs)}
    errors: list[FieldError] = []
    todo: list[tuple[int, ShipmentRequest]] = []
    seen: set[str] = set()
    for i, req in enumerate(requests):
        if req.reference in existing:
            continue
        if req.reference in seen:
            errors.append(FieldError(f"requests[{i}].reference", _("Listed twice."), "duplicate"))
            continue
        seen.add(req.reference)
        try:
            _check_request(req)
        except ValidationFailed as exc:
            errors.extend(
                FieldError(f"requests[{i}].{e.field}", e.message, e.code) for e in exc.errors
            )
            continue
        todo.append((i, req))
    merchants = Organization.objects.in_bulk(
        {r.merchant_org_id for _i, r in todo}
    )  # one query; kinds checked below
    hubs = inventory.hubs().in_bulk({r.hub_org_id for _i, r in todo})
    quotes: dict[tuple[int, str], Any] = {}
    planned = []
    for i, req in todo:
        merchant = merchants.get(req.merchant_org_id)
        if merchant is None or merchant.kind != OrgKind.MERCHANT:
            errors.append(
                FieldError(
                    f"requests[{i}].merchant_org_id", _("Unknown merchant."), "unknown_merchant"
                )
            )
            continue
        hub = hubs.get(req.hub_org_id)
        if hub is None:
            errors.append(
                FieldError(
                    f"requests[{i}].hub_org_id",
                    _("Choose an active eFulfilment hub."),
                    "unknown_hub",
                )
            )
            continue
        weight = sum(line.weight_g * line.qty for line in req.lines) + PACKAGING_G
        key = (weight, req.consignee.province)
        try:
            if key not in quotes:
                quotes[key] = gateway.cheapest(weight, req.consignee.province)
        except DomainError as exc:
            errors.append(FieldError(f"requests[{i}]", exc.detail, exc.code))
            continue
        planned.append((req, merchant, hub, weight, quotes[key]))
    if errors:
        raise ValidationFailed(errors)
    if not planned:
        return [existing[ref] for ref in refs]
    now = clock.now()
    with transaction.atomic():
        rows = Shipment.objects.bulk_create([new_shipment(*plan, now) for plan in planned])
        updates, bookings = [], []
        for shipment, plan in zip(rows, planned, strict=True):
            booking = book_waybill(shipment, *plan)
            updates.append((shipment.pk, *(getattr(shipment, f) for f in BOOKING_FIELDS)))
            bookings.append(booking)
        _update_each(Shipment, BOOKING_FIELDS, updates)
        ShipmentLineRow.objects.bulk_create(
            row
            for shipment, (req, *_rest) in zip(rows, planned, strict=True)
            for row in line_rows(shipment, req.lines)
        )
        audit.record_many(
            ctx, "fulfillment.waybill_booked", rows, lambda s: {"waybill": s.waybill_no}
        )
        events.publish_many(
            (
                ("fulfillment.waybill_booked", booked_event(s, b))
                for s, b in zip(rows, bookings, strict=True)
            ),
            ctx=ctx,
        )
    made = {s.reference: s for s in rows}
    return [existing.get(ref) or made[ref] for ref in refs]


# ---------------------------------------------------------------------------------------------
# Release into waves
# ---------------------------------------------------------------------------------------------


def _release_scope(ctx: Context):
    """Operators release their own hub's shipments; the lifecycle (system) any."""
    if ctx.org is not None and ctx.org_kind == OrgKind.HUB_OPERATOR:
        return Shipment.objects.filter(hub_id=ctx.org_id)
    if ctx.has_role("system"):
        return Shipment.objects.all()
    raise PermissionDenied(_("Only the hub's operators can do this."))


def release_many(ctx: Context, references: Sequence[str]) -> list[Shipment]:
    """``release_for_picking`` for many cleared orders: each gets pick tasks in the wave of
    its carrier's next cut-off, and its 3-hour handling clock starts. Idempotent as the single
    one: a shipment no longer waiting for clearance is returned unchanged. An unknown
    reference refuses the batch. Returned in the order of ``references``.
    """
    refs = list(references)
    _size(len(refs), "references")
    with transaction.atomic():
        found = {
            s.reference: s
            for s in _release_scope(ctx)
            .filter(reference__in=refs)
            .defer(*PERSONAL)
            .select_for_update(of=("self",))
            .order_by("pk")
        }
        unknown = [
            FieldError(
                f"references[{i}]",
                _("No such shipment: %(reference)s.") % {"reference": ref},
                "not_found",
            )
            for i, ref in enumerate(refs)
            if ref not in found
        ]
        if unknown:
            raise ValidationFailed(unknown)
        todo = [s for s in found.values() if s.status == S.BOOKED]
        if not todo:
            return [found[ref] for ref in refs]
        now = clock.now()
        # Waves by (hub, carrier, next cut-off): read the existing ones, create the rest.
        cutoffs = {
            code: gateway.next_cut_off(code, now).astimezone(dt.UTC)
            for code in {s.carrier_code for s in todo}
        }
        keys = {(s.hub_id, s.carrier_code, cutoffs[s.carrier_code]) for s in todo}
        waves = {
            (w.hub_id, w.carrier_code, w.cutoff_at): w
            for w in Wave.objects.filter(
                hub_id__in={k[0] for k in keys},
                carrier_code__in=set(cutoffs),
                cutoff_at__in=set(cutoffs.values()),
            )
        }
        for hub_id, code, cutoff in sorted(keys - set(waves)):
            waves[(hub_id, code, cutoff)] = wave_for(hub_id, code, now)
        by_wave: dict[int, list[Shipment]] = defaultdict(list)
        for s in todo:
            s.status = S.RELEASED  # BOOKED → RELEASED is an edge of SHIPMENT_NEXT
            s.released_at = now
            s.wave = waves[(s.hub_id, s.carrier_code, cutoffs[s.carrier_code])]
            by_wave[s.wave.pk].append(s)
        for wave_pk, group in by_wave.items():
            Shipment.objects.filter(pk__in=[s.pk for s in group]).update(
                status=S.RELEASED, released_at=now, wave_id=wave_pk
            )
        lines = list(
            ShipmentLineRow.objects.filter(shipment__in=todo)
            .order_by("pk")
            .only("pk", "shipment_id", "sku_id", "qty")
        )
        # The bin of each (hub, SKU): where its last put-away went, as _bin_for reads it.
        last = PutAway.objects.filter(hub_id=OuterRef("hub_id"), sku_id=OuterRef("sku_id"))
        last = last.order_by("-at", "-pk")
        bins = {
            (hub_id, sku_id): (code or "", zone or "")
            for hub_id, sku_id, code, zone in Stock.objects.filter(
                hub_id__in={s.hub_id for s in todo}, sku_id__in={ln.sku_id for ln in lines}
            )
            .annotate(
                bin_code=Subquery(last.values("bin__code")[:1]),
                bin_zone=Subquery(last.values("bin__zone")[:1]),
            )
            .values_list("hub_id", "sku_id", "bin_code", "bin_zone")
        }
        shipments = {s.pk: s for s in todo}
        tasks = []
        for line in lines:
            s = shipments[line.shipment_id]
            code, zone = bins.get((s.hub_id, line.sku_id), ("", ""))
            tasks.append(
                PickTask(
                    wave_id=s.wave.pk,
                    line_id=line.pk,
                    shipment_id=s.pk,
                    bin_code=code,
                    zone=zone,
                    qty=line.qty,
                )
            )
        PickTask.objects.bulk_create(tasks)
        audit.record_many(ctx, "fulfillment.released", todo, lambda s: {"wave": s.wave.name})
    return [found[ref] for ref in refs]


# ---------------------------------------------------------------------------------------------
# Pick, pack, label
# ---------------------------------------------------------------------------------------------


def wave_waybills(ctx: Context, wave_id: int, status: str) -> list[str]:
    """Waybills of the operator's wave in ``status`` (what a wave-wide action works on)."""
    return list(
        Shipment.objects.filter(hub_id=_operator_hub_id(ctx), wave_id=wave_id, status=status)
        .order_by("pk")
        .values_list("waybill_no", flat=True)[:BATCH_MAX]
    )


def count_in_wave(ctx: Context, wave_id: int, status: str) -> int:
    """How many of the operator's wave are in ``status`` (the wave page's batch buttons)."""
    return Shipment.objects.filter(
        hub_id=_operator_hub_id(ctx), wave_id=wave_id, status=status
    ).count()


def pick_many(ctx: Context, waybills: Iterable[str]) -> list[Shipment]:
    """Confirm every unit still to pick of each shipment (``pick_all`` for a list or a wave's
    pick list): lines and pick tasks done, shipments picked. Each must be waiting to be
    picked."""
    codes = _waybills(waybills)
    with transaction.atomic():
        shipments = _locked(
            ctx,
            codes,
            {S.RELEASED},
            _state_error("not_pickable", _("it is not waiting to be picked.")),
        )
        ids = [s.pk for s in shipments]
        now = clock.now()
        ShipmentLineRow.objects.filter(shipment_id__in=ids).update(picked_qty=F("qty"))
        PickTask.objects.filter(shipment_id__in=ids).update(picked_qty=F("qty"), done_at=now)
        Shipment.objects.filter(pk__in=ids).update(status=S.PICKED, picked_at=now)
        for s in shipments:
            s.status, s.picked_at = S.PICKED, now
    return shipments


def _weight_error(shipment: Shipment, measure: domain.Measure, limit: int) -> str:
    return _(
        "%(waybill)s is over the carrier's weight limit: %(weight)d g chargeable (actual "
        "%(actual)d g, volumetric %(vol)d g); %(carrier)s takes at most %(limit)d g."
    ) % {
        "waybill": shipment.waybill_no,
        "weight": measure.chargeable_g,
        "actual": measure.weight_g,
        "vol": measure.volumetric_g,
        "carrier": shipment.carrier_name,
        "limit": limit,
    }


def pack_many(ctx: Context, parcels: Sequence[PackInput]) -> list[Parcel]:
    """``pack`` for a table of parcels: each picked shipment becomes a measured parcel. An
    implausible measure, a wrong or missing item in a box, a parcel over its carrier's weight
    limit or a shipment not picked refuses the batch, naming ``parcels[i]``."""
    parcels = list(parcels)
    codes = _waybills((p.waybill for p in parcels), "parcels")
    measures = []
    errors: list[FieldError] = []
    for i, p in enumerate(parcels):
        measure = domain.Measure(p.weight_g, p.length_mm, p.width_mm, p.height_mm)
        errors.extend(measure_errors(measure, f"parcels[{i}]."))
        measures.append(measure)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        shipments = _locked(
            ctx,
            codes,
            {S.PICKED},
            _state_error("not_packable", _("only a picked shipment can be packed.")),
            field="parcels",
        )
        scanned = [i for i, p in enumerate(parcels) if p.items is not None]
        lines_of: dict[int, list[ShipmentLineRow]] = defaultdict(list)
        if scanned:
            for ln in ShipmentLineRow.objects.filter(
                shipment_id__in=[shipments[i].pk for i in scanned]
            ).select_related("sku"):
                lines_of[ln.shipment_id].append(ln)
        limits: dict[str, int] = {}
        for i, (s, measure) in enumerate(zip(shipments, measures, strict=True)):
            if parcels[i].items is not None:
                try:
                    _check_items(lines_of[s.pk], parcels[i].items)
                except ValidationFailed as exc:
                    errors.extend(
                        FieldError(f"parcels[{i}].items", f"{s.waybill_no}: {e.message}", e.code)
                        for e in exc.errors
                    )
            if s.carrier_code not in limits:
                limits[s.carrier_code] = gateway.max_weight_g(s.carrier_code)
            limit = limits[s.carrier_code]
            if limit and measure.chargeable_g > limit:
                errors.append(
                    FieldError(
                        f"parcels[{i}].weight_g",
                        _weight_error(s, measure, limit),
                        "over_weight_limit",
                    )
                )
        if errors:
            raise ValidationFailed(errors)
        now = clock.now()
        made = Parcel.objects.bulk_create(
            [
                Parcel(
                    public_id=new_public_id("PCL"),
                    shipment=s,
                    weight_g=m.weight_g,
                    length_mm=m.length_mm,
                    width_mm=m.width_mm,
                    height_mm=m.height_mm,
                    volumetric_g=m.volumetric_g,
                    chargeable_g=m.chargeable_g,
                    packed_at=now,
                )
                for s, m in zip(shipments, measures, strict=True)
            ]
        )
        Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
            status=S.PACKED, packed_at=now
        )
        for s in shipments:
            s.status, s.packed_at = S.PACKED, now
        events.publish_many(
            (
                (
                    "fulfillment.packed",
                    {"reference": s.reference, "parcel": p.public_id, "weight_g": p.weight_g},
                )
                for s, p in zip(shipments, made, strict=True)
            ),
            ctx=ctx,
        )
    return made


def print_labels(
    ctx: Context, waybills: Iterable[str], *, combined: bool = False, workers: int = 1
) -> LabelBatch:
    """The shipping labels of packed parcels (a wave's, a table's): one read of their data,
    the PDFs rendered (``workers`` > 1: in that many processes), then each parcel's print
    counted and the parcels printed for the first time moved to labelled, with one audit entry
    each, as ``print_label`` does. ``combined``: one PDF with a page per label (one print job)
    instead of one PDF per parcel. A parcel not yet packed refuses the batch."""
    codes = _waybills(waybills)
    with transaction.atomic():
        shipments = _locked(
            ctx,
            codes,
            {S.PACKED, S.LABELLED, S.MANIFESTED},
            _state_error("not_packed", _("pack the parcel before printing its label.")),
            related=("parcel",),
            personal=True,
        )
        # A batch names a few organizations: their names in one read, not two joins a row.
        names = dict(
            Organization.objects.filter(
                pk__in={s.merchant_id for s in shipments} | {s.hub_id for s in shipments}
            ).values_list("pk", "legal_name")
        )
        data = [
            gateway.label_data(
                s,
                s.parcel,
                consignee_of(s),
                merchant_name=names[s.merchant_id],
                hub_name=names[s.hub_id],
            )
            for s in shipments
        ]
        if combined:
            pdfs, whole = [], gateway.label_pdfs(data, combined=True, workers=workers)[0]
        else:
            pdfs, whole = gateway.label_pdfs(data, workers=workers), None
        now = clock.now()
        Parcel.objects.filter(shipment_id__in=[s.pk for s in shipments]).update(
            label_printed_at=now, label_prints=F("label_prints") + 1
        )
        first = [s for s in shipments if s.status == S.PACKED]
        if first:
            Shipment.objects.filter(pk__in=[s.pk for s in first]).update(
                status=S.LABELLED, labelled_at=now
            )
            for s in first:
                s.status, s.labelled_at = S.LABELLED, now
        audit.record_many(ctx, "fulfillment.label_printed", shipments)
    return LabelBatch(codes, pdfs, whole)
