"""Use cases of the Malaysian export declaration (K2-like): draft, submit, customs' answer.

A merchant exporting a consignment drafts one declaration (validated in full, export duty
computed from the MY tariff in force on the departure date), submits it to Malaysian customs
through ``gateways_my`` and later receives ``released`` or ``refused``. Status only moves
forward (draft → submitted → released | refused); every change is audit-logged. Only the
exporting organization sees its declarations: anyone else gets NotFound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ehub.accounts.domain import OrgKind
from ehub.catalog.models import TariffLine
from ehub.catalog.tariff import tariff_lines
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from ehub.core.ids import new_public_id
from ehub.core.money import Money
from ehub.customs.domain import export as rules
from ehub.customs.models import ExportDeclaration, ExportDeclarationLine, ExportStatus

HEADER_FIELDS = tuple(rules.ExportHeader.__dataclass_fields__)
AUDIT_FIELDS = ("status", "fob_total", "duty_total", "customs_reference", "reason")


def tariff_in_force(hs6s: Iterable[str], on: date) -> dict[str, TariffLine]:
    """The MY tariff lines under these subheadings, each in its version in force on ``on``."""
    codes = TariffLine.objects.filter(country="MY", hs6__in=set(hs6s), valid_from__lte=on)
    return tariff_lines("MY", set(codes.values_list("code", flat=True)), on)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value).strip()


def _decimal(value: Any, field: str, errors: list[FieldError]) -> Decimal | None:
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        errors.append(FieldError(field, _("Enter a number."), "invalid"))
        return None
    if not result.is_finite() or result.as_tuple().exponent < -3:
        errors.append(FieldError(field, _("At most three decimal places."), "invalid"))
        return None
    return result


def _parse(data: Mapping[str, Any]) -> tuple[rules.ExportHeader, list[rules.ExportLine]]:
    """Plain input (API JSON, form data) to the domain's dataclasses, or ValidationFailed."""
    errors: list[FieldError] = []
    values = {name: _text(data, name) for name in HEADER_FIELDS}
    values["transport_mode"] = values["transport_mode"] or rules.AIR
    values["port_of_loading"] = (values["port_of_loading"] or "KUL").upper()
    for name in ("consignee_country", "destination_country", "destination_port"):
        values[name] = values[name].upper()
    departure = data.get("departure_date")
    if isinstance(departure, date):
        values["departure_date"] = departure
    else:
        try:
            values["departure_date"] = date.fromisoformat(_text(data, "departure_date"))
        except ValueError:
            errors.append(FieldError("departure_date", _("Give a date as YYYY-MM-DD."), "invalid"))
            values["departure_date"] = None
    lines: list[rules.ExportLine] = []
    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list):
        raise ValidationFailed.single("lines", _("Expected a list of lines."))
    for i, raw in enumerate(raw_lines):
        at = f"lines[{i}]"
        if not isinstance(raw, Mapping):
            errors.append(FieldError(at, _("Expected an object."), "invalid"))
            continue
        fob = raw.get("fob")
        if isinstance(fob, Money):
            fob_money = fob
        else:
            try:
                fob_money = Money.parse(str(fob or ""), rules.CURRENCY, field=f"{at}.fob")
            except ValueError:
                errors.append(
                    FieldError(f"{at}.fob", _("Give the FOB value in MYR, e.g. 1250.00."))
                )
                fob_money = Money.zero(rules.CURRENCY)
        lines.append(
            rules.ExportLine(
                hs_code=_text(raw, "hs_code").replace(".", ""),
                tariff_code=_text(raw, "tariff_code").replace(".", ""),
                description=_text(raw, "description"),
                quantity=_decimal(raw.get("quantity"), f"{at}.quantity", errors),
                unit=_text(raw, "unit").upper(),
                fob=fob_money,
                net_kg=_decimal(raw.get("net_kg"), f"{at}.net_kg", errors),
                gross_kg=_decimal(raw.get("gross_kg"), f"{at}.gross_kg", errors),
                origin=(_text(raw, "origin") or rules.ORIGIN).upper(),
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return rules.ExportHeader(**values), lines


def _exporter(ctx: Context):
    if ctx.org is None or ctx.org_kind != OrgKind.MERCHANT:
        raise PermissionDenied(_("Only a merchant can declare its exports."))
    return ctx.org


@transaction.atomic
def create_export_declaration(ctx: Context, data: Mapping[str, Any]) -> ExportDeclaration:
    """Draft a declaration for the caller's merchant organization, fully validated.

    ``data`` holds the header fields of ``ExportHeader`` (``exporter_ssm``, ``exporter_name``
    default to the organization's) and ``lines``: dicts with ``hs_code``, ``tariff_code``,
    ``description``, ``quantity``, ``unit``, ``fob`` (MYR text or Money), ``net_kg``,
    ``gross_kg``, ``origin``. Raises ValidationFailed naming every bad field.
    """
    org = _exporter(ctx)
    data = dict(data)
    data.setdefault("exporter_ssm", org.registration_number)
    data.setdefault("exporter_name", org.legal_name)
    header, lines = _parse(data)
    found = tariff_in_force({line.hs_code for line in lines}, header.departure_date)
    errors = rules.validate_header(header) + rules.validate_lines(
        lines, tariff_codes=set(found), tariff_hs6={line.hs6 for line in found.values()}
    )
    if errors:
        raise ValidationFailed(errors)
    duty = rules.compute_duty(lines, {c: t.export_duty_rate for c, t in found.items()})
    values = {name: getattr(header, name) for name in HEADER_FIELDS}
    values["exporter_ssm"] = rules.normalize_ssm(header.exporter_ssm)
    decl = ExportDeclaration.objects.create(
        public_id=new_public_id("EXD"),
        exporter_org=org,
        fob_total=duty.fob_total.amount,
        duty_total=duty.total.amount,
        net_kg=sum((line.net_kg for line in lines), Decimal(0)),
        gross_kg=sum((line.gross_kg for line in lines), Decimal(0)),
        status=ExportStatus.DRAFT,
        created_at=clock.now(),
        **values,
    )
    ExportDeclarationLine.objects.bulk_create(
        ExportDeclarationLine(
            declaration=decl,
            line_no=i + 1,
            hs_code=line.hs_code,
            tariff_code=line.tariff_code,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            fob=line.fob.amount,
            net_kg=line.net_kg,
            gross_kg=line.gross_kg,
            origin=line.origin,
            duty_rate=rate,
            duty=line_duty.amount,
        )
        for i, (line, rate, line_duty) in enumerate(
            zip(lines, duty.rates, duty.duties, strict=True)
        )
    )
    audit.record(ctx, "customs.export_drafted", decl, after=audit.snapshot(decl, AUDIT_FIELDS))
    return decl


def exports_of(ctx: Context) -> QuerySet[ExportDeclaration]:
    """The caller's organization's export declarations, newest first."""
    if ctx.org is None:
        return ExportDeclaration.objects.none()
    return ExportDeclaration.objects.filter(exporter_org_id=ctx.org_id).order_by("-created_at")


def export_of(ctx: Context, public_id: str) -> ExportDeclaration:
    decl = exports_of(ctx).prefetch_related("lines").filter(public_id=public_id).first()
    if decl is None:
        raise NotFound(_("No such export declaration."))
    return decl


def k2_message(decl: ExportDeclaration) -> dict[str, Any]:
    """The declaration as sent to customs (JSON-safe; amounts in sen, weights as text)."""
    message: dict[str, Any] = {"reference": decl.public_id}
    for name in HEADER_FIELDS:
        value = getattr(decl, name)
        message[name] = value.isoformat() if isinstance(value, date) else value
    message["currency"] = rules.CURRENCY
    message["fob_total_sen"] = decl.fob_total
    message["duty_total_sen"] = decl.duty_total
    message["lines"] = [
        {
            "line_no": line.line_no,
            "hs_code": line.hs_code,
            "tariff_code": line.tariff_code,
            "description": line.description,
            "quantity": str(line.quantity),
            "unit": line.unit,
            "fob_sen": line.fob,
            "net_kg": str(line.net_kg),
            "gross_kg": str(line.gross_kg),
            "origin": line.origin,
            "duty_sen": line.duty,
        }
        for line in decl.lines.all()
    ]
    return message


def submit(ctx: Context, public_id: str, gateway=None) -> ExportDeclaration:
    """Send a draft to Malaysian customs. Idempotent: a declaration already submitted (or
    answered) is returned as it is and not sent again."""
    from ehub.customs import gateways_my

    with transaction.atomic():
        decl = export_of(ctx, public_id)
        decl = ExportDeclaration.objects.select_for_update().get(pk=decl.pk)
        if decl.status != ExportStatus.DRAFT:
            return decl
        before = audit.snapshot(decl, AUDIT_FIELDS)
        decl.status = ExportStatus.SUBMITTED
        decl.submitted_at = clock.now()
        decl.save(update_fields=["status", "submitted_at"])
        audit.record(
            ctx,
            "customs.export_submitted",
            decl,
            before=before,
            after=audit.snapshot(decl, AUDIT_FIELDS),
        )
        message = k2_message(decl)
        gateway = gateway or gateways_my.get_gateway()
        # Inside the transaction: the sandbox's task row commits with the submission, and a
        # gateway that fails rolls the submission back, leaving the draft to submit again.
        gateway.submit(message)
    return decl


def apply_answer(ctx: Context, public_id: str, status: str, reason: str = "") -> bool:
    """Customs' answer. Returns whether it moved the status (late or repeated answers do not)."""
    if status not in (ExportStatus.RELEASED, ExportStatus.REFUSED):
        raise ValidationFailed.single("status", _("Customs answers released or refused."))
    with transaction.atomic():
        decl = ExportDeclaration.objects.select_for_update().filter(public_id=public_id).first()
        if decl is None:
            raise NotFound(_("No such export declaration."))
        if decl.status == status:
            return False
        if not rules.may_move(decl.status, status):
            if decl.status in rules.FINAL:
                return False
            raise Conflict(_("This declaration has not been submitted."))
        before = audit.snapshot(decl, AUDIT_FIELDS)
        decl.status = status
        decl.reason = reason[:1000]
        decl.decided_at = clock.now()
        if status == ExportStatus.RELEASED:
            decl.customs_reference = "K2" + public_id.split("-", 1)[1].replace("-", "")
        decl.save(update_fields=["status", "reason", "decided_at", "customs_reference"])
        audit.record(
            ctx,
            f"customs.export_{status}",
            decl,
            before=before,
            after=audit.snapshot(decl, AUDIT_FIELDS),
        )
    return True
