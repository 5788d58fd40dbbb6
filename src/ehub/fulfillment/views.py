"""Pages of the eFulfilment hub: the hub portal (/hub/), merchants' inbound notices
(/merchant/inbound/) and the public tracking page (/track/). Thin: services decide.

Scan inputs are ordinary text inputs in a form: a USB barcode scanner types the code and
presses Enter, which submits the form; the page comes back with the focus in the input.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.catalog.services import inventory
from ehub.core import clock
from ehub.core.errors import DomainError, NotFound
from ehub.core.fields import mask
from ehub.core.forms import add_service_errors

from . import batch, gateway, services
from .domain import ShipmentStatus, door_clock, handling_clock
from .models import Discrepancy, PickTask

PER_PAGE = 25


def _errors(request, exc: DomainError) -> None:
    errors = exc.errors or []
    if errors:
        for error in errors:
            messages.error(request, str(error.message))
    else:
        messages.error(request, exc.detail)


def _pdf(content: bytes, name: str, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    kind = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{kind}; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------
# Hub portal
# ---------------------------------------------------------------------------------------------


@portal_required(Portal.HUB)
def dashboard(request):
    ctx = context_of(request)
    data = services.dashboard(ctx)
    return render(request, "fulfillment/dashboard.html", {"portal": Portal.HUB, **data})


class ScanForm(forms.Form):
    barcode = forms.CharField(label=_lazy("Scan a barcode"), max_length=64)
    qty = forms.IntegerField(label=_lazy("Quantity"), min_value=1, initial=1)
    damaged = forms.BooleanField(label=_lazy("Damaged"), required=False)


class PutAwayForm(forms.Form):
    sku_code = forms.CharField(label=_lazy("SKU"), max_length=64)
    bin_code = forms.CharField(label=_lazy("Bin"), max_length=20)
    qty = forms.IntegerField(label=_lazy("Quantity"), min_value=1, required=False)


@portal_required(Portal.HUB)
def receiving(request, public_id):
    ctx = context_of(request)
    asn = services.get_asn(ctx, public_id)
    scan_form = ScanForm(initial={"qty": 1})
    put_form = PutAwayForm()
    if request.method == "POST":
        action = request.POST.get("action", "scan")
        done = None  # the success message; the page then reloads (POST/redirect/GET)
        try:
            if action == "scan":
                scan_form = ScanForm(request.POST)
                if scan_form.is_valid():
                    done = services.receive_scan(
                        ctx,
                        asn.public_id,
                        scan_form.cleaned_data["barcode"],
                        qty=scan_form.cleaned_data["qty"],
                        damaged=scan_form.cleaned_data["damaged"],
                    ).message
            elif action == "finish":
                services.finish_receiving(ctx, asn.public_id)
                done = _("Receiving finished; discrepancies sent to the merchant.")
            elif action == "put_away":
                put_form = PutAwayForm(request.POST)
                if put_form.is_valid():
                    record = services.put_away(
                        ctx,
                        asn.public_id,
                        sku_code=put_form.cleaned_data["sku_code"],
                        bin_code=put_form.cleaned_data["bin_code"],
                        qty=put_form.cleaned_data["qty"],
                    )
                    done = _("%(qty)d units put away in %(bin)s: now available.") % {
                        "qty": record.qty,
                        "bin": record.bin.code,
                    }
        except DomainError as exc:
            _errors(request, exc)  # the service rolled back: ``asn`` is still current
        if done:
            messages.success(request, done)
            return redirect("hub:receiving", asn.public_id)
    lines = list(asn.lines.select_related("sku"))
    return render(
        request,
        "fulfillment/receiving.html",
        {
            "portal": Portal.HUB,
            "asn": asn,
            "lines": lines,
            "cartons": list(asn.cartons.all()),
            "discrepancies": list(Discrepancy.objects.filter(asn=asn).select_related("line__sku")),
            "scan_form": scan_form,
            "put_form": put_form,
            "bins": list(services.bins_of(ctx)[:200]),
        },
    )


@portal_required(Portal.HUB)
def inbound(request):
    ctx = context_of(request)
    page = Paginator(services.asns_visible(ctx).order_by("-expected_on", "-pk"), PER_PAGE)
    return render(
        request,
        "fulfillment/inbound_hub.html",
        {"portal": Portal.HUB, "page_obj": page.get_page(request.GET.get("page"))},
    )


@portal_required(Portal.HUB)
def wave(request, wave_id: int):
    ctx = context_of(request)
    zone = request.GET.get("zone") or None
    wave_obj, tasks = services.pick_list(ctx, wave_id, zone)
    zones = sorted(set(PickTask.objects.filter(wave=wave_obj).values_list("zone", flat=True)))
    return render(
        request,
        "fulfillment/wave.html",
        {
            "portal": Portal.HUB,
            "wave": wave_obj,
            "tasks": tasks,
            "zones": zones,
            "zone": zone,
            "to_label": batch.count_in_wave(ctx, wave_obj.pk, ShipmentStatus.PACKED),
        },
    )


@require_POST
@portal_required(Portal.HUB)
def wave_labels(request, wave_id: int):
    """Every packed parcel of the wave labelled at once: one PDF, a page per label."""
    ctx = context_of(request)
    services.get_wave(ctx, wave_id)  # NotFound (404) for another hub's wave
    waybills = batch.wave_waybills(ctx, wave_id, ShipmentStatus.PACKED)
    if not waybills:
        messages.info(request, _("No packed parcel of this wave waits for its label."))
        return redirect("hub:wave", wave_id)
    try:
        printed = batch.print_labels(ctx, waybills, combined=True)
    except DomainError as exc:
        _errors(request, exc)
        return redirect("hub:wave", wave_id)
    return _pdf(printed.combined, f"labels-wave-{wave_id}.pdf")


class PackForm(forms.Form):
    weight_g = forms.IntegerField(label=_lazy("Weight (g)"), min_value=1)
    length_mm = forms.IntegerField(label=_lazy("Length (mm)"), min_value=1)
    width_mm = forms.IntegerField(label=_lazy("Width (mm)"), min_value=1)
    height_mm = forms.IntegerField(label=_lazy("Height (mm)"), min_value=1)
    items = forms.CharField(
        label=_lazy("Items scanned into the box (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PickScanForm(forms.Form):
    barcode = forms.CharField(label=_lazy("Scan the item"), max_length=64)


@portal_required(Portal.HUB)
def shipment(request, waybill):
    ctx = context_of(request)
    obj = services.get_shipment(ctx, waybill)
    pack_form = PackForm()
    if request.method == "POST":
        action = request.POST.get("action")
        done = None  # the success message; the page then reloads (POST/redirect/GET)
        try:
            if action == "pick":
                form = PickScanForm(request.POST)
                if form.is_valid():
                    line = services.confirm_pick(ctx, obj.waybill_no, form.cleaned_data["barcode"])
                    done = _("Picked %(sku)s (%(n)d of %(qty)d).") % {
                        "sku": line.sku_code,
                        "n": line.picked_qty,
                        "qty": line.qty,
                    }
            elif action == "pack":
                pack_form = PackForm(request.POST)
                if pack_form.is_valid():
                    data = pack_form.cleaned_data
                    items = [i for i in data["items"].splitlines() if i.strip()] or None
                    parcel = services.pack(
                        ctx,
                        obj.waybill_no,
                        weight_g=data["weight_g"],
                        length_mm=data["length_mm"],
                        width_mm=data["width_mm"],
                        height_mm=data["height_mm"],
                        items=items,
                    )
                    done = _("Packed: %(g)d g chargeable.") % {"g": parcel.chargeable_g}
            elif action == "return":
                services.return_to_sender(ctx, obj.waybill_no, request.POST.get("reason", ""))
                done = _("Parcel received back; stock returned to the shelf.")
        except DomainError as exc:
            _errors(request, exc)  # the service rolled back: ``obj`` is still current
        if done:
            messages.success(request, done)
            return redirect("hub:shipment", obj.waybill_no)
    now = clock.now()
    return render(
        request,
        "fulfillment/shipment.html",
        {
            "portal": Portal.HUB,
            "shipment": obj,
            "lines": list(obj.lines.all()),
            "parcel": getattr(obj, "parcel", None),
            "events": list(obj.events.all()),
            "pick_form": PickScanForm(),
            "pack_form": pack_form,
            "consignee_name": mask(obj.consignee_name, 1),
            "consignee_phone": mask(obj.consignee_phone, 4),
            "handling": handling_clock(obj.released_at, obj.shipped_at),
            "door": door_clock(obj.requested_at, obj.delivered_at),
            "now": now,
        },
    )


@portal_required(Portal.HUB)
def label(request, waybill):
    ctx = context_of(request)
    try:
        pdf = services.print_label(ctx, waybill)
    except NotFound:
        raise  # a 404 page (core middleware), not a message on the shipment page
    except DomainError as exc:
        _errors(request, exc)
        return redirect("hub:shipment", waybill)
    return _pdf(pdf, f"label-{waybill}.pdf")


@portal_required(Portal.HUB)
def invoice(request, waybill):
    ctx = context_of(request)
    pdf = services.commercial_invoice(ctx, waybill)
    return _pdf(pdf, f"invoice-{waybill}.pdf")


class ManifestForm(forms.Form):
    carrier_code = forms.ChoiceField(label=_lazy("Carrier"))
    flight_no = forms.CharField(label=_lazy("Flight"), max_length=12)
    departure_date = forms.DateField(
        label=_lazy("Departure date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    destination_port = forms.ChoiceField(
        label=_lazy("Destination airport"),
        choices=[(p, p) for p in ("PVG", "CAN", "PEK", "HGH", "SZX", "CTU", "XMN", "NKG")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier_code"].choices = [(c.code, c.name) for c in gateway.all_carriers()]


@portal_required(Portal.HUB)
def manifests(request):
    ctx = context_of(request)
    form = ManifestForm(initial={"departure_date": clock.today_in(settings.EHUB_HUB_TIMEZONE)})
    if request.method == "POST":
        form = ManifestForm(request.POST)
        if form.is_valid():
            try:
                manifest = services.create_manifest(ctx, **form.cleaned_data)
            except DomainError as exc:
                _errors(request, exc)
            else:
                messages.success(
                    request,
                    _("Manifest %(mawb)s created; export declaration submitted.")
                    % {"mawb": manifest.mawb_no},
                )
                return redirect("hub:manifest", manifest.public_id)
    page = Paginator(services.manifests_of(ctx), PER_PAGE).get_page(request.GET.get("page"))
    waiting = services.waiting_for_manifest(ctx)
    return render(
        request,
        "fulfillment/manifests.html",
        {"portal": Portal.HUB, "form": form, "page_obj": page, "waiting": waiting},
    )


@portal_required(Portal.HUB)
def manifest(request, public_id):
    ctx = context_of(request)
    obj = services.get_manifest(ctx, public_id)
    if request.method == "POST":
        scanned = request.POST.get("scanned", "").splitlines()
        try:
            result = services.handover(ctx, obj.public_id, scanned)
        except DomainError as exc:
            _errors(request, exc)
        else:
            messages.success(
                request,
                _("%(n)d parcels handed over.") % {"n": len(result["shipped"])},
            )
            if result["missing"]:
                messages.warning(
                    request,
                    _("Missing at handover: %(list)s") % {"list": ", ".join(result["missing"])},
                )
            return redirect("hub:manifest", obj.public_id)
    shipments = list(obj.shipments.order_by("waybill_no"))
    return render(
        request,
        "fulfillment/manifest.html",
        {"portal": Portal.HUB, "manifest": obj, "shipments": shipments},
    )


@portal_required(Portal.HUB)
def sla(request):
    ctx = context_of(request)
    report = services.sla_report(ctx)
    return render(request, "fulfillment/sla.html", {"portal": Portal.HUB, **report})


# ---------------------------------------------------------------------------------------------
# Merchant inbound
# ---------------------------------------------------------------------------------------------


class AsnForm(forms.Form):
    hub = forms.ModelChoiceField(label=_lazy("Hub"), queryset=None, empty_label=None)
    expected_on = forms.DateField(
        label=_lazy("Expected on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    lines = forms.CharField(
        label=_lazy("SKUs and quantities, one per line (e.g. DUR-MK-1KG 24)"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    cartons = forms.IntegerField(label=_lazy("Cartons"), min_value=1, initial=1)
    note = forms.CharField(label=_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hub"].queryset = inventory.hubs()

    def clean_lines(self):
        parsed = []
        for n, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.replace(",", " ").split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                raise forms.ValidationError(
                    _("Line %(n)d: write the SKU code, a space and the quantity.") % {"n": n}
                )
            parsed.append(services.AsnLineInput(parts[0], int(parts[1])))
        if not parsed:
            raise forms.ValidationError(_("Add at least one SKU."))
        return parsed


@portal_required(Portal.MERCHANT)
def merchant_asns(request):
    ctx = context_of(request)
    form = AsnForm(initial={"expected_on": clock.today_in(settings.EHUB_HUB_TIMEZONE)})
    if request.method == "POST":
        form = AsnForm(request.POST)
        if form.is_valid():
            try:
                asn = services.create_asn(ctx, **form.cleaned_data)
            except DomainError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Notice %(id)s sent to the hub.") % {"id": asn.public_id}
                )
                return redirect("inbound:detail", asn.public_id)
    page = Paginator(services.asns_visible(ctx).order_by("-created_at"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "fulfillment/merchant_asns.html",
        {"portal": Portal.MERCHANT, "form": form, "page_obj": page},
    )


@portal_required(Portal.MERCHANT)
def merchant_asn(request, public_id):
    asn = services.get_asn(context_of(request), public_id)
    return render(
        request,
        "fulfillment/merchant_asn.html",
        {
            "portal": Portal.MERCHANT,
            "asn": asn,
            "lines": list(asn.lines.select_related("sku")),
            "cartons": list(asn.cartons.all()),
            "discrepancies": list(Discrepancy.objects.filter(asn=asn).select_related("line__sku")),
        },
    )


@portal_required(Portal.MERCHANT)
def merchant_cartons(request, public_id):
    pdf = services.carton_labels_pdf(context_of(request), public_id)
    return _pdf(pdf, f"cartons-{public_id}.pdf")


# ---------------------------------------------------------------------------------------------
# Public tracking
# ---------------------------------------------------------------------------------------------


def track_form(request):
    waybill = (request.GET.get("waybill") or "").strip()
    if waybill:
        return redirect("tracking:detail", waybill.upper())
    return render(request, "fulfillment/track.html", {"shipment": None, "events": []})


def track(request, waybill):
    try:
        shipment, events = services.public_tracking(waybill)
    except NotFound:
        return render(
            request,
            "fulfillment/track.html",
            {"shipment": None, "events": [], "not_found": waybill},
            status=404,
        )
    return render(request, "fulfillment/track.html", {"shipment": shipment, "events": events})


@csrf_exempt
@require_POST
def carrier_webhook(request, carrier_code):
    """Tracking events pushed by a carrier (HMAC-signed; see the carriers package)."""
    try:
        added = services.webhook(carrier_code, request.body, request.headers)
    except DomainError as exc:
        return JsonResponse({"detail": exc.detail, "code": exc.code}, status=int(exc.status))
    except (ValueError, json.JSONDecodeError):
        return JsonResponse({"detail": "malformed body"}, status=400)
    return JsonResponse({"accepted": added})
