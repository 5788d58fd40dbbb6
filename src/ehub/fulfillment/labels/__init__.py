"""Printable documents of the hub: shipping labels, commercial invoices, carton labels (PDF bytes).

Pure package (no models, no database): callers pass plain dataclasses and get ``bytes`` of a
PDF to store or stream (``HttpResponse(pdf, content_type="application/pdf")``). Drawn with
ReportLab's canvas (no platypus) because a hub prints thousands of labels an hour: fonts are
registered once per process and barcodes are drawn as plain rectangles.

CJK text: the consignee's name and address are Chinese. We embed (subset) the TrueType font
WenQuanYi Micro Hei (Debian package ``fonts-wqy-microhei``, ``/usr/share/fonts/truetype/wqy/
wqy-microhei.ttc``) so every viewer and thermal printer driver shows the same glyphs. When that
file is missing we fall back to ReportLab's built-in CID font ``STSong-Light``, which is not
embedded: Adobe Reader and pdfium substitute a system font, but a viewer without CJK fonts may
show blanks. ``ehub.core.pdf.cjk_font_source()`` says which was used.

Public API (stable; import from ``ehub.fulfillment.labels``)::

    shipping_label(LabelData) -> bytes            # 100 × 150 mm, one page
    shipping_labels(list[LabelData]) -> bytes     # many labels, one page each (a print batch)
    commercial_invoice(InvoiceData) -> bytes      # A4 commercial invoice / packing list, DDP
    carton_labels(CartonLabelData) -> bytes       # one 100 × 150 mm page per carton

    @dataclass(frozen=True) class Party:
        name: str; address_lines: tuple[str, ...] = (); phone: str = ""; reference: str = ""
        # reference: registration / tax number printed under the name (e.g. SSM or USCC)

    @dataclass(frozen=True) class LabelData:
        waybill_no: str; routing_code: str ("PVG-1-SH"); carrier_name: str; service: str
        sender: Party                  # merchant name + the hub's address
        consignee: Party               # Chinese name, full phone and address, as given
        weight_g: int; order_no: str
        parcel_index: int = 1; parcel_count: int = 1          # printed "1/1"
        shipped_on: datetime.date | None = None
        qr_payload: str = ""           # default "<waybill_no>|<routing_code>|<order_no>"
        # .qr_text -> the payload actually encoded

    @dataclass(frozen=True) class InvoiceLine:
        description_en: str; description_zh: str; hs_code: str; qty: int; unit_value: Money
        weight_g: int (per unit); origin: str = "MY"; sku_code: str = ""
        # .total -> Money

    @dataclass(frozen=True) class InvoiceData:
        invoice_no: str; issued_on: datetime.date; exporter: Party; consignee: Party
        lines: list[InvoiceLine] | tuple; waybill_no: str = ""; order_no: str = ""
        freight: Money | None = None; incoterm: str = "DDP"; parcel_count: int = 1
        # currency is the lines' currency (all lines must share it)

    @dataclass(frozen=True) class Carton:
        barcode: str; sku_code: str; sku_name: str; qty: int

    @dataclass(frozen=True) class CartonLabelData:
        asn_no: str; merchant_name: str; cartons: list[Carton] | tuple
        hub_name: str = "eHub KLIA Aeropolis"; expected_on: datetime.date | None = None
        # each page prints "carton n/N" with N = len(cartons)

"""

from ehub.fulfillment.labels.documents import (
    Carton,
    CartonLabelData,
    InvoiceData,
    InvoiceLine,
    LabelData,
    Party,
    carton_labels,
    commercial_invoice,
    shipping_label,
    shipping_labels,
)

__all__ = [
    "Carton",
    "CartonLabelData",
    "InvoiceData",
    "InvoiceLine",
    "LabelData",
    "Party",
    "carton_labels",
    "commercial_invoice",
    "shipping_label",
    "shipping_labels",
]
