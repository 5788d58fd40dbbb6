"""Shipping labels, commercial invoices and carton labels, drawn with ReportLab's canvas.

Why the canvas and not platypus: a label is a fixed layout, and the hub prints thousands an
hour (target ≥ 200 PDFs/s per core). Fonts are registered once per process (``ehub.core.pdf``),
the Code128 bars and the QR modules are drawn as plain filled rectangles in one path each, and
page compression is off: labels are small and go straight to a printer, so zlib would cost
more time than the bytes it saves.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import segno
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ehub.core.money import Money
from ehub.core.pdf import LATIN, LATIN_BOLD, cjk_font
from ehub.fulfillment.labels import fonts
from ehub.fulfillment.labels.fonts import wrap

LABEL_SIZE = (100 * mm, 150 * mm)
# A fixed QR mask: choosing the "best" of the eight (ISO 18004 penalty scores) was 80 % of a
# label's time, and every decoder reads any mask; the payloads are short, plain ASCII.
QR_MASK = 4
PRODUCER = "eHub fulfilment"


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    reference: str = ""  # registration / tax number printed under the name


@dataclass(frozen=True)
class LabelData:
    waybill_no: str
    routing_code: str
    carrier_name: str
    service: str
    sender: Party
    consignee: Party
    weight_g: int
    order_no: str
    parcel_index: int = 1
    parcel_count: int = 1
    shipped_on: date | None = None
    qr_payload: str = ""

    @property
    def qr_text(self) -> str:
        return self.qr_payload or f"{self.waybill_no}|{self.routing_code}|{self.order_no}"


@dataclass(frozen=True)
class InvoiceLine:
    description_en: str
    description_zh: str
    hs_code: str
    qty: int
    unit_value: Money
    weight_g: int  # per unit
    origin: str = "MY"
    sku_code: str = ""

    @property
    def total(self) -> Money:
        return self.unit_value * self.qty


@dataclass(frozen=True)
class InvoiceData:
    invoice_no: str
    issued_on: date
    exporter: Party
    consignee: Party
    lines: Sequence[InvoiceLine]
    waybill_no: str = ""
    order_no: str = ""
    freight: Money | None = None
    incoterm: str = "DDP"
    parcel_count: int = 1


@dataclass(frozen=True)
class Carton:
    barcode: str
    sku_code: str
    sku_name: str
    qty: int


@dataclass(frozen=True)
class CartonLabelData:
    asn_no: str
    merchant_name: str
    cartons: Sequence[Carton] = field(default_factory=tuple)
    hub_name: str = "eHub KLIA Aeropolis"
    expected_on: date | None = None


# -- drawing helpers ---------------------------------------------------------------------


def _canvas(buffer: io.BytesIO, size, title: str) -> Canvas:
    c = Canvas(buffer, pagesize=size, pageCompression=0, invariant=1)
    c.setTitle(title)
    c.setProducer(PRODUCER)
    c.setCreator(PRODUCER)
    return c


@lru_cache(maxsize=4096)
def _code128_bars(value: str) -> tuple[tuple[int, int], ...]:
    """(start module, width in modules) of every bar of ``value`` in Code128 (quiet zones off).

    ReportLab picks the code sets (C for digit pairs) and the check symbol; we keep only the
    geometry, so drawing is one path of rectangles instead of a widget per label.
    """
    barcode = Code128(value, barWidth=1, quiet=0, humanReadable=0)
    barcode.validate()
    barcode.encode()
    barcode.decompose()
    bars: list[tuple[int, int]] = []
    x = 0
    for ch in barcode.decomposed:  # "A".."D" bars, "a".."d" spaces, of 1..4 modules
        n = ord(ch.lower()) - ord("a") + 1
        if ch.isupper():
            bars.append((x, n))
        x += n
    return (*bars, (x, 0))  # the sentinel carries the total width


@lru_cache(maxsize=4096)
def _code128_ops(value: str) -> tuple[int, str]:
    """(width in modules, PDF path operators of the bars in module units, height 1)."""
    bars = _code128_bars(value)
    return bars[-1][0], " ".join(f"{start} 0 {n} 1 re" for start, n in bars[:-1])


def draw_code128(c: Canvas, value: str, x: float, y: float, w: float, h: float) -> float:
    """Bars of ``value`` filling width ``w`` and height ``h``; returns the module width.

    The bars are written as one path in module units under a scaling matrix: a few integer
    operators instead of ReportLab formatting four floats per bar (a third of a label's time).
    """
    modules, ops = _code128_ops(value)
    module = w / modules
    c.addLiteral(f"q 0 g {module:.4f} 0 0 {h:.4f} {x:.4f} {y:.4f} cm {ops} f Q")
    return module


@lru_cache(maxsize=4096)
def _qr_runs(payload: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """(size in modules, dark runs as (row, first column, length)) of the QR symbol."""
    qr = segno.make(payload, error="m", micro=False, mask=QR_MASK, boost_error=False)
    runs: list[tuple[int, int, int]] = []
    matrix = qr.matrix
    for r, row in enumerate(matrix):
        start = None
        for col, dark in enumerate(row):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append((r, start, col - start))
                start = None
        if start is not None:
            runs.append((r, start, len(row) - start))
    return len(matrix), tuple(runs)


def draw_qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """The QR symbol of ``payload`` as one path, rows counted from the top (see draw_code128)."""
    n, runs = _qr_runs(payload)
    module = size / n
    ops = " ".join(f"{col} {n - r - 1} {length} 1 re" for r, col, length in runs)
    c.addLiteral(f"q 0 g {module:.4f} 0 0 {module:.4f} {x:.4f} {y:.4f} cm {ops} f Q")


def _text(c: Canvas, x: float, y: float, text: str, font: str, size: float) -> None:
    c.setFont(font, size)
    c.drawString(x, y, text)


def _fit(text: str, font: str, size: float, max_width: float, min_size: float = 6) -> float:
    """The largest size ≤ ``size`` at which ``text`` fits ``max_width``."""
    while size > min_size and fonts.width(text, font, size) > max_width:
        size -= 0.5
    return size


# -- shipping label ----------------------------------------------------------------------


def _draw_label(c: Canvas, d: LabelData) -> None:
    cjk = cjk_font()
    W, H = LABEL_SIZE
    m = 3 * mm
    c.setLineWidth(0.8)
    c.rect(m, m, W - 2 * m, H - 2 * m)

    # Band 1: carrier and parcel count.
    top = H - m
    y = top - 7 * mm
    _text(c, m + 2 * mm, y, d.carrier_name, LATIN_BOLD, 11)
    c.setFont(LATIN, 8)
    c.drawString(m + 2 * mm, y - 4 * mm, d.service.upper())
    count = f"{d.parcel_index}/{d.parcel_count}"
    _text(c, W - m - 2 * mm - fonts.width(count, LATIN_BOLD, 14), y - 2 * mm, count, LATIN_BOLD, 14)
    y = top - 13 * mm
    c.line(m, y, W - m, y)

    # Band 2: routing code, as large as fits: the sorter reads it at arm's length.
    size = _fit(d.routing_code, LATIN_BOLD, 40, W - 2 * m - 4 * mm)
    _text(c, m + 2 * mm, y - 12 * mm, d.routing_code, LATIN_BOLD, size)
    y -= 16 * mm
    c.line(m, y, W - m, y)

    # Band 3: waybill Code128 with the number in clear below.
    bar_w = W - 2 * m - 10 * mm
    draw_code128(c, d.waybill_no, m + 5 * mm, y - 20 * mm, bar_w, 17 * mm)
    c.setFont(LATIN_BOLD, 11)
    c.drawCentredString(W / 2, y - 24.5 * mm, d.waybill_no)
    y -= 27 * mm
    c.line(m, y, W - m, y)

    # Band 4: consignee (Chinese, as given: the courier needs the full phone number).
    _text(c, m + 2 * mm, y - 4 * mm, "TO 收件人", cjk, 7)
    name_size = _fit(d.consignee.name, cjk, 16, W - 2 * m - 4 * mm)
    _text(c, m + 2 * mm, y - 11 * mm, d.consignee.name, cjk, name_size)
    _text(c, m + 2 * mm, y - 16.5 * mm, d.consignee.phone, cjk, 11)
    # Up to three lines at 10 pt; a longer address drops to 8.5 pt and four lines.
    box = W - 2 * m - 4 * mm
    size, step, most = 10, 4.3 * mm, 3
    lines = [ln for raw in d.consignee.address_lines for ln in wrap(raw, cjk, size, box)]
    if len(lines) > most:
        size, step, most = 8.5, 3.5 * mm, 4
        lines = [ln for raw in d.consignee.address_lines for ln in wrap(raw, cjk, size, box)]
        if len(lines) > most:
            lines = [*lines[: most - 1], wrap(lines[most - 1] + "…", cjk, size, box, 1)[0]]
    ly = y - 21.5 * mm
    for line in lines:
        _text(c, m + 2 * mm, ly, line, cjk, size)
        ly -= step
    y -= 36 * mm
    c.line(m, y, W - m, y)

    # Band 5: sender (merchant, the hub's address).
    _text(c, m + 2 * mm, y - 3.5 * mm, "FROM 寄件人", cjk, 6.5)
    _text(c, m + 2 * mm, y - 7.5 * mm, d.sender.name, cjk, 8.5)
    c.setFont(LATIN, 7)
    sy = y - 11 * mm
    for raw in (*d.sender.address_lines, d.sender.phone):
        if raw:
            c.drawString(m + 2 * mm, sy, raw[:80])
            sy -= 3 * mm
    y -= 22 * mm
    c.line(m, y, W - m, y)

    # Band 6: QR (waybill + routing + order) and the parcel facts.
    # Keep a quiet zone of about three modules around the symbol, as scanners need.
    qr = 24 * mm
    draw_qr(c, d.qr_text, m + 3 * mm, m + 2.5 * mm, qr)
    fx = m + qr + 7 * mm
    fy = y - 5 * mm
    # A label is read by couriers in both countries: fixed bilingual captions, not the
    # operator's UI language (and no gettext, whose Chinese would need the CJK font anyway).
    facts = (
        ("Order 订单", d.order_no),
        ("Weight 重量", f"{d.weight_g / 1000:.3f} kg"),
        ("Parcel 件数", count),
        ("Date 日期", d.shipped_on.isoformat() if d.shipped_on else ""),
        ("Terms 条款", "DDP"),
    )
    for label, value in facts:
        _text(c, fx, fy, label, cjk, 6)
        size = _fit(value, LATIN_BOLD, 9, W - m - fx - 16 * mm)
        _text(c, fx + 14 * mm, fy, value, LATIN_BOLD, size)
        fy -= 5.2 * mm


def shipping_label(data: LabelData) -> bytes:
    """One 100 × 150 mm label as PDF bytes."""
    return shipping_labels([data])


def shipping_labels(labels: Sequence[LabelData]) -> bytes:
    """Labels one per page, in order: the print batch of a wave."""
    buffer = io.BytesIO()
    title = labels[0].waybill_no if len(labels) == 1 else f"{len(labels)} labels"
    c = _canvas(buffer, LABEL_SIZE, title)
    for d in labels:
        _draw_label(c, d)
        c.showPage()
    c.save()
    return buffer.getvalue()


# -- commercial invoice / packing list ---------------------------------------------------

_COLS = (  # (header, x offset mm, width mm, align)
    ("#", 0, 7, "r"),
    ("Description / 品名", 9, 70, "l"),
    ("HS code", 80, 20, "l"),
    ("Origin", 101, 11, "l"),
    ("Qty", 113, 10, "r"),
    ("Unit value", 124, 20, "r"),
    ("Total", 145, 20, "r"),
    ("Weight kg", 166, 14, "r"),
)
_ROWS_PER_PAGE = 22


def _amount(m: Money) -> str:
    return f"{m.to_decimal():,.{m.exponent}f}"


def _party_block(c: Canvas, title: str, p: Party, x: float, y: float, w: float) -> None:
    cjk = cjk_font()
    _text(c, x, y, title, cjk, 8)
    y -= 5 * mm
    for line in wrap(p.name, cjk, 10, w, max_lines=2):
        _text(c, x, y, line, cjk, 10)
        y -= 4.5 * mm
    for raw in p.address_lines:
        for line in wrap(raw, cjk, 8.5, w, max_lines=2):
            _text(c, x, y, line, cjk, 8.5)
            y -= 4 * mm
    if p.phone:
        _text(c, x, y, p.phone, cjk, 8.5)
        y -= 4 * mm
    if p.reference:
        _text(c, x, y, p.reference, LATIN, 8)


def commercial_invoice(d: InvoiceData) -> bytes:
    """Commercial invoice and packing list (A4, one or more pages), incoterm DDP."""
    if not d.lines:
        raise ValueError("an invoice needs at least one line")
    currency = d.lines[0].unit_value.currency
    cjk = cjk_font()
    H = A4[1]
    left = 15 * mm
    buffer = io.BytesIO()
    c = _canvas(buffer, A4, f"Commercial invoice {d.invoice_no}")
    pages = [d.lines[i : i + _ROWS_PER_PAGE] for i in range(0, len(d.lines), _ROWS_PER_PAGE)]
    for page_no, rows in enumerate(pages, start=1):
        top = H - 15 * mm
        _text(c, left, top, "COMMERCIAL INVOICE / PACKING LIST", LATIN_BOLD, 15)
        _text(c, left, top - 6 * mm, "商业发票 / 装箱单", cjk, 11)
        c.setFont(LATIN, 8.5)
        facts = (
            ("Invoice no.", d.invoice_no),
            ("Date", d.issued_on.isoformat()),
            ("Order no.", d.order_no),
            ("Waybill no.", d.waybill_no),
            ("Incoterm", f"{d.incoterm} (Delivered Duty Paid)"),
            ("Currency", currency),
            ("Page", f"{page_no}/{len(pages)}"),
        )
        fy = top
        for label, value in facts:
            c.setFont(LATIN, 8)
            c.drawString(125 * mm, fy, label)
            c.setFont(LATIN_BOLD, 8.5)
            c.drawString(150 * mm, fy, value)
            fy -= 4.2 * mm
        y = top - 34 * mm
        _party_block(c, "EXPORTER / SHIPPER", d.exporter, left, y, 85 * mm)
        _party_block(c, "CONSIGNEE 收件人", d.consignee, 110 * mm, y, 85 * mm)
        y -= 38 * mm
        c.setFillGray(0.9)
        c.rect(left, y - 2 * mm, 180 * mm, 7 * mm, stroke=0, fill=1)
        c.setFillGray(0)
        for header, x, w, align in _COLS:
            if align == "r":
                _text(c, left + (x + w) * mm - fonts.width(header, cjk, 8), y, header, cjk, 8)
            else:
                _text(c, left + x * mm, y, header, cjk, 8)
        y -= 8 * mm
        first = (page_no - 1) * _ROWS_PER_PAGE
        for i, line in enumerate(rows, start=first + 1):
            cells = (
                str(i),
                None,
                line.hs_code,
                line.origin,
                str(line.qty),
                _amount(line.unit_value),
                _amount(line.total),
                f"{line.weight_g * line.qty / 1000:.3f}",
            )
            for (_h, x, w, align), value in zip(_COLS, cells, strict=True):
                if value is None:
                    en = line.description_en + (f" ({line.sku_code})" if line.sku_code else "")
                    _text(c, left + x * mm, y, wrap(en, LATIN, 8, w * mm, 1)[0], LATIN, 8)
                    zh = wrap(line.description_zh, cjk, 8, w * mm, 1)[0]
                    _text(c, left + x * mm, y - 3.6 * mm, zh, cjk, 8)
                elif align == "r":
                    c.setFont(LATIN, 8)
                    c.drawRightString(left + (x + w) * mm, y, value)
                else:
                    _text(c, left + x * mm, y, value, LATIN, 8)
            y -= 8.5 * mm
            c.setLineWidth(0.2)
            c.line(left, y + 3.5 * mm, left + 180 * mm, y + 3.5 * mm)
        if page_no == len(pages):
            _invoice_totals(c, d, currency, left, y - 2 * mm)
        c.showPage()
    c.save()
    return buffer.getvalue()


def _invoice_totals(c: Canvas, d: InvoiceData, currency: str, left: float, y: float) -> None:
    goods = Money.total((line.total for line in d.lines), currency)
    freight = d.freight if d.freight is not None else Money.zero(currency)
    qty = sum(line.qty for line in d.lines)
    weight = sum(line.weight_g * line.qty for line in d.lines)
    rows = (
        ("Total quantity", f"{qty}"),
        ("Total net weight", f"{weight / 1000:.3f} kg"),
        ("Number of parcels", str(d.parcel_count)),
        (f"Goods value ({currency})", _amount(goods)),
        (f"Freight ({freight.currency})", _amount(freight)),
    )
    if freight.currency == currency:
        rows += ((f"Invoice total ({currency})", _amount(goods + freight)),)
    for label, value in rows:
        c.setFont(LATIN, 9)
        c.drawString(left + 110 * mm, y, label)
        c.setFont(LATIN_BOLD, 9)
        c.drawRightString(left + 180 * mm, y, value)
        y -= 5 * mm
    y -= 6 * mm
    c.setFont(LATIN, 8)
    c.drawString(left, y, "Reason for export: sale (cross-border e-commerce, customs mode 9610).")
    c.drawString(
        left,
        y - 4 * mm,
        f"Terms of delivery: {d.incoterm}. Duties and taxes are prepaid by the buyer at checkout.",
    )
    c.drawString(
        left,
        y - 8 * mm,
        "I declare that the information on this invoice is true and correct.",
    )
    c.line(left, y - 22 * mm, left + 70 * mm, y - 22 * mm)
    c.drawString(left, y - 26 * mm, f"Signature / {d.exporter.name[:60]}")


# -- carton labels (inbound ASN) -----------------------------------------------------------


def carton_labels(d: CartonLabelData) -> bytes:
    """One 100 × 150 mm page per carton of an ASN, with the carton's Code128."""
    if not d.cartons:
        raise ValueError("an ASN needs at least one carton to label")
    cjk = cjk_font()
    W, H = LABEL_SIZE
    m = 4 * mm
    buffer = io.BytesIO()
    c = _canvas(buffer, LABEL_SIZE, f"ASN {d.asn_no} cartons")
    total = len(d.cartons)
    for n, carton in enumerate(d.cartons, start=1):
        c.setLineWidth(0.8)
        c.rect(m, m, W - 2 * m, H - 2 * m)
        y = H - m - 7 * mm
        _text(c, m + 3 * mm, y, d.hub_name, LATIN_BOLD, 10)
        _text(c, m + 3 * mm, y - 5 * mm, "INBOUND", LATIN, 8)
        y -= 10 * mm
        c.line(m, y, W - m, y)
        _text(c, m + 3 * mm, y - 5 * mm, "ASN", LATIN, 8)
        size = _fit(d.asn_no, LATIN_BOLD, 22, W - 2 * m - 6 * mm)
        _text(c, m + 3 * mm, y - 14 * mm, d.asn_no, LATIN_BOLD, size)
        _text(
            c, m + 3 * mm, y - 21 * mm, wrap(d.merchant_name, cjk, 10, W - 30 * mm, 1)[0], cjk, 10
        )
        if d.expected_on:
            _text(c, m + 3 * mm, y - 26 * mm, f"Expected {d.expected_on.isoformat()}", LATIN, 8)
        y -= 30 * mm
        c.line(m, y, W - m, y)
        _text(c, m + 3 * mm, y - 5 * mm, "SKU", LATIN, 8)
        size = _fit(carton.sku_code, LATIN_BOLD, 18, W - 2 * m - 6 * mm)
        _text(c, m + 3 * mm, y - 12 * mm, carton.sku_code, LATIN_BOLD, size)
        for i, line in enumerate(wrap(carton.sku_name, cjk, 9, W - 2 * m - 6 * mm, 2)):
            _text(c, m + 3 * mm, y - (17 + 4 * i) * mm, line, cjk, 9)
        y -= 27 * mm
        c.line(m, y, W - m, y)
        _text(c, m + 3 * mm, y - 5 * mm, "QTY", LATIN, 8)
        _text(c, m + 3 * mm, y - 16 * mm, str(carton.qty), LATIN_BOLD, 28)
        _text(c, W / 2 + 3 * mm, y - 5 * mm, "CARTON", LATIN, 8)
        _text(c, W / 2 + 3 * mm, y - 16 * mm, f"{n}/{total}", LATIN_BOLD, 28)
        y -= 20 * mm
        c.line(m, y, W - m, y)
        draw_code128(c, carton.barcode, m + 6 * mm, m + 12 * mm, W - 2 * m - 12 * mm, 22 * mm)
        c.setFont(LATIN_BOLD, 11)
        c.drawCentredString(W / 2, m + 6 * mm, carton.barcode)
        c.showPage()
    c.save()
    return buffer.getvalue()
