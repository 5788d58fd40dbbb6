"""The hub's side of its two pure packages: ``carriers`` (rates, bookings, tracking) and
``labels`` (PDFs). Services talk to carriers and printers only through this module, which turns
models into the packages' dataclasses and back; tests may replace a function here.

Imports of the packages are deferred to the call, so that loading the hub's models never
depends on a carrier's rate files or ReportLab's fonts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings


def _carriers():
    from ehub.fulfillment import carriers

    return carriers


def _labels():
    from ehub.fulfillment import labels

    return labels


# ---------------------------------------------------------------------------------------------
# Carriers
# ---------------------------------------------------------------------------------------------


def carrier(code: str):
    return _carriers().get_carrier(code)


def all_carriers() -> list:
    return list(_carriers().all_carriers())


def exists(code: str) -> bool:
    return any(c.code == code for c in all_carriers())


def cheapest(weight_g: int, province: str, dims_mm: tuple[int, int, int] | None = None):
    """The cheapest RateQuote (``NoCarrierAvailable`` when none serves the parcel)."""
    return _carriers().cheapest(weight_g, province, dims_mm)


def shop_rates(weight_g: int, province: str, dims_mm: tuple[int, int, int] | None = None) -> list:
    return list(_carriers().shop_rates(weight_g, province, dims_mm))


def book(
    quote,
    *,
    reference: str,
    weight_g: int,
    consignee: Any,
    declared_value,
    sequence: int,
    merchant_name: str,
    hub_name: str,
):
    """Book a waybill with the quote's carrier; returns the carriers package's ``Booking``."""
    c = _carriers()
    sender = c.Address(
        name=merchant_name,
        phone=settings.EHUB_HUB_PHONE,
        province="Selangor",
        city="Sepang",
        district="KLIA Aeropolis",
        street=hub_name,
        postcode="64000",
        country="MY",
    )
    request = c.BookingRequest(
        reference=reference,
        sender=sender,
        consignee=consignee,
        weight_g=weight_g,
        dims_mm=None,
        declared_value=declared_value,
        sequence=sequence,
    )
    return carrier(quote.carrier_code).book(request)


def next_cut_off(code: str, after: dt.datetime) -> dt.datetime:
    return carrier(code).next_cut_off(after)


def max_weight_g(code: str) -> int:
    return int(carrier(code).max_weight_g)


def cancel(code: str, waybill_no: str) -> None:
    carrier(code).cancel(waybill_no)


def tracking(code: str, waybill_no: str, *, booked_at: dt.datetime, routing_code: str = "") -> list:
    return list(carrier(code).track(waybill_no, booked_at=booked_at, routing_code=routing_code))


def parse_webhook(code: str, body: bytes, headers) -> list:
    return list(carrier(code).parse_webhook(body, headers))


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def _party(name: str, lines: tuple[str, ...] = (), phone: str = "", reference: str = ""):
    return _labels().Party(name=name, address_lines=lines, phone=phone, reference=reference)


def label_data(shipment, parcel, consignee, *, merchant_name: str, hub_name: str):
    lb = _labels()
    return lb.LabelData(
        waybill_no=shipment.waybill_no,
        routing_code=shipment.routing_code,
        carrier_name=shipment.carrier_name,
        service=shipment.service_name,
        sender=_party(merchant_name, (hub_name, "KLIA Aeropolis, 64000 Sepang, Malaysia")),
        consignee=_party(
            consignee.name,
            (
                f"{consignee.province}{consignee.city}{consignee.district}",
                consignee.street + (f" {consignee.postcode}" if consignee.postcode else ""),
            ),
            consignee.phone,
        ),
        weight_g=parcel.weight_g,
        order_no=shipment.reference,
        shipped_on=None,
    )


# A print batch's PDFs are the only CPU-bound step of a hub's day: ``label_pdfs`` can spread
# them over worker processes. The pool is started on first use (spawned: the workers import
# only the labels package, never Django's database connections) and kept for the process.
_pool: Any = None
_pool_size = 0


def _render(datas: list, combined: bool) -> list[bytes]:
    """Worker side (or in process): the PDFs of ``datas``, one each or one of all pages."""
    lb = _labels()
    return [lb.shipping_labels(datas)] if combined else [lb.shipping_label(d) for d in datas]


def _warm() -> None:
    from ehub.core.pdf import cjk_font

    cjk_font()


def label_pool(workers: int):
    """The process pool of ``workers`` label renderers (re-created if the size changes)."""
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if _pool is not None:
            _pool.shutdown()
        _pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
        )
        _pool_size = workers
    return _pool


def close_label_pool() -> None:
    """Stop the label workers. Call it before a ``multiprocessing`` child returns: such a
    child joins its own children before the interpreter's exit hooks would stop the pool."""
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown()
        _pool, _pool_size = None, 0


def label_pdfs(datas: list, *, combined: bool = False, workers: int = 1) -> list[bytes]:
    """Shipping-label PDFs of ``datas`` (LabelData), in order: one per label, or (combined)
    one PDF of all pages. ``workers`` > 1 renders in that many processes, in chunks."""
    if not datas:
        return []
    if workers <= 1 or len(datas) < 2 * workers:
        return _render(datas, combined)
    pool = label_pool(workers)
    if combined:
        # Pages cannot be merged without parsing PDFs: one worker draws the whole job.
        return pool.submit(_render, datas, True).result()
    size = -(-len(datas) // workers)
    chunks = [datas[i : i + size] for i in range(0, len(datas), size)]
    return [pdf for pdfs in pool.map(_render, chunks, [False] * len(chunks)) for pdf in pdfs]


def shipping_label(shipment, parcel, consignee, *, merchant_name: str, hub_name: str) -> bytes:
    return _labels().shipping_label(
        label_data(shipment, parcel, consignee, merchant_name=merchant_name, hub_name=hub_name)
    )


def commercial_invoice(shipment, parcel, consignee, lines, *, merchant, hub_name: str) -> bytes:
    from ehub.core.money import Money

    lb = _labels()
    data = lb.InvoiceData(
        invoice_no=f"INV-{shipment.waybill_no}",
        issued_on=(shipment.packed_at or shipment.requested_at).date(),
        exporter=_party(
            merchant.legal_name,
            (hub_name, "KLIA Aeropolis, 64000 Sepang, Malaysia"),
            reference=merchant.registration_number,
        ),
        consignee=_party(
            consignee.name,
            (f"{consignee.province}{consignee.city}{consignee.district}", consignee.street),
            consignee.phone,
        ),
        lines=[
            lb.InvoiceLine(
                description_en=ln.name,
                description_zh=ln.name,
                hs_code=ln.hs_code,
                qty=ln.qty,
                unit_value=Money(ln.unit_value, ln.currency),
                weight_g=ln.weight_g,
                sku_code=ln.sku_code,
            )
            for ln in lines
        ],
        waybill_no=shipment.waybill_no,
        order_no=shipment.reference,
    )
    return lb.commercial_invoice(data)


def carton_labels(asn, cartons, lines) -> bytes:
    lb = _labels()
    first = lines[0] if lines else None
    summary_code = first.sku.code if first else ""
    summary_name = (
        ", ".join(f"{ln.sku.code}×{ln.expected_qty}" for ln in lines)[:80] if lines else ""
    )
    return lb.carton_labels(
        lb.CartonLabelData(
            asn_no=asn.public_id,
            merchant_name=asn.merchant.legal_name,
            cartons=[
                lb.Carton(
                    barcode=c.barcode,
                    sku_code=summary_code if len(lines) == 1 else "",
                    sku_name=summary_name,
                    qty=sum(ln.expected_qty for ln in lines) if len(lines) == 1 else 0,
                )
                for c in cartons
            ],
            hub_name=asn.hub.legal_name,
            expected_on=asn.expected_on,
        )
    )
