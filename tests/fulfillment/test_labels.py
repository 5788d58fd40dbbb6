"""Label, invoice and carton PDFs: they open, have the right size and text, the Chinese renders,
the Code128 read from the rendered pixels decodes to the waybill, the QR modules match."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
import pytest
import segno
from reportlab.graphics.barcode.code128 import _patterns

from ehub.core import pdf as core_pdf
from ehub.core.money import Money
from ehub.fulfillment.labels import (
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
from ehub.fulfillment.labels.documents import QR_MASK

MM = 72 / 25.4
SCALE = 8  # pixels per point when rendering: 1 mm ≈ 22.7 px

LABEL = LabelData(
    waybill_no="EX000471101MY",
    routing_code="PVG-1-SH",
    carrier_name="eHub Express",
    service="express",
    sender=Party(
        "Durian Raja Sdn. Bhd.",
        ("c/o eHub KLIA Aeropolis, Lot PT 12345", "64000 Sepang, Selangor, Malaysia"),
        "+60 3-8787 1234",
    ),
    consignee=Party(
        "张伟", ("上海市 浦东新区 世纪大道 100 号 25 楼 2501 室", "200120"), "13800138000"
    ),
    weight_g=1234,
    order_no="ORD-7K3M9Q2X",
    parcel_index=1,
    parcel_count=2,
    shipped_on=date(2025, 3, 3),
)


def page_text(pdf: bytes, index: int = 0) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[index]
        return page.get_textpage().get_text_range()
    finally:
        doc.close()


def render(pdf: bytes, index: int = 0, scale: float = SCALE):
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[index].render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()


def dark_pixels(image, box_mm: tuple[float, float, float, float], scale: float = SCALE) -> int:
    """Dark pixels in (left, top, right, bottom), millimetres from the top-left corner."""
    box = tuple(round(v * MM * scale) for v in box_mm)
    return sum(image.crop(box).histogram()[:128])


# -- a Code128 reader over a rendered scanline ------------------------------------------------

_BY_PATTERN = {p: v for v, p in _patterns.items()}


def read_code128(image, y_mm: float, x_from_mm: float, x_to_mm: float) -> str:
    y = round(y_mm * MM * SCALE)
    row = [
        image.getpixel((x, y)) < 128
        for x in range(round(x_from_mm * MM * SCALE), round(x_to_mm * MM * SCALE))
    ]
    first, last = row.index(True), len(row) - row[::-1].index(True)
    runs: list[tuple[bool, int]] = []
    for dark in row[first:last]:
        if runs and runs[-1][0] == dark:
            runs[-1] = (dark, runs[-1][1] + 1)
        else:
            runs.append((dark, 1))
    symbols = (len(runs) - 7) // 6  # start, data and check symbols of 6 elements, stop of 7
    module = (last - first) / (11 * symbols + 13)
    letters = "".join(
        ("ABCD" if dark else "abcd")[max(0, min(3, round(n / module) - 1))] for dark, n in runs
    )
    values = [_BY_PATTERN[letters[i * 6 : i * 6 + 6]] for i in range(symbols)]
    assert _BY_PATTERN[letters[-7:]] == 106, "stop pattern"
    start, data, check = values[0], values[1:-1], values[-1]
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check, "checksum"
    code = {103: "A", 104: "B", 105: "C"}[start]
    out = ""
    for v in data:
        if code == "C":
            if v == 100:
                code = "B"
            elif v == 101:
                code = "A"
            else:
                out += f"{v:02d}"
        elif v == 99:
            code = "C"
        elif (code == "B" and v == 101) or (code == "A" and v == 100):
            code = "A" if code == "B" else "B"
        else:
            out += chr(v + 32) if (code == "B" or v < 64) else chr(v - 64)
    return out


# -- shipping label -----------------------------------------------------------------------------


def test_label_is_one_100_by_150_mm_page_with_its_text():
    pdf = shipping_label(LABEL)
    assert pdf.startswith(b"%PDF-")
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 1
        width, height = doc[0].get_size()
    finally:
        doc.close()
    assert width == pytest.approx(100 * MM, abs=0.05)
    assert height == pytest.approx(150 * MM, abs=0.05)
    text = page_text(pdf)
    for expected in (
        "EX000471101MY",
        "PVG-1-SH",
        "ORD-7K3M9Q2X",
        "张伟",  # the Chinese name comes back out of the embedded font's ToUnicode map
        "13800138000",
        "世纪大道",
        "Durian Raja Sdn. Bhd.",
        "1.234 kg",
        "1/2",
    ):
        assert expected in text, expected


def test_chinese_name_is_drawn_not_blank():
    """The consignee name box has ink with a Chinese name, and none without one."""
    name_box = (5, 64, 45, 72)  # mm: below "TO 收件人", above the phone number
    with_name = dark_pixels(render(shipping_label(LABEL)), name_box)
    blank = LabelData(**{**LABEL.__dict__, "consignee": Party("", LABEL.consignee.address_lines)})
    without = dark_pixels(render(shipping_label(blank)), name_box)
    assert without == 0
    assert with_name > 2000  # two 16 pt ideographs at 8 px/pt


def test_rendered_label_png_for_a_human(tmp_path_factory):
    image = render(shipping_label(LABEL), scale=4)
    path = tmp_path_factory.getbasetemp() / "label.png"
    image.save(path)
    assert image.size == (round(100 * MM * 4), round(150 * MM * 4))


def test_waybill_code128_decodes_from_the_pixels():
    image = render(shipping_label(LABEL))
    # The bars span 8-92 mm across, 35-52 mm from the top; read a line through the middle.
    assert read_code128(image, 48, 4, 96) == "EX000471101MY"


def test_qr_modules_match_the_payload():
    assert LABEL.qr_text == "EX000471101MY|PVG-1-SH|ORD-7K3M9Q2X"
    image = render(shipping_label(LABEL))
    qr = segno.make(LABEL.qr_text, error="m", micro=False, mask=QR_MASK, boost_error=False)
    matrix = qr.matrix
    n = len(matrix)
    size, left, bottom = 24, 6, 5.5  # mm, as drawn
    module = size / n
    top = 150 - bottom - size
    wrong = 0
    for r in range(n):
        for col in range(n):
            x = (left + (col + 0.5) * module) * MM * SCALE
            y = (top + (r + 0.5) * module) * MM * SCALE
            dark = image.getpixel((round(x), round(y))) < 128
            wrong += dark != bool(matrix[r][col])
    assert wrong == 0


def test_a_batch_prints_one_page_per_label():
    second = LabelData(**{**LABEL.__dict__, "waybill_no": "EX000471205MY", "parcel_index": 2})
    pdf = shipping_labels([LABEL, second])
    assert "EX000471101MY" in page_text(pdf, 0)
    assert "EX000471205MY" in page_text(pdf, 1)
    assert "2/2" in page_text(pdf, 1)


def test_long_address_stays_inside_its_box():
    long = LabelData(
        **{
            **LABEL.__dict__,
            "consignee": Party(
                "欧阳娜娜",
                ("新疆维吾尔自治区 乌鲁木齐市 天山区 " + "解放南路 " * 30 + "88 号", "830000"),
                "13900139000",
            ),
        }
    )
    image = render(shipping_label(long), scale=4)
    # Nothing but the band line between the consignee box and the sender box: 94-95 mm empty.
    assert dark_pixels(image, (5, 92.4, 95, 94.4), scale=4) == 0
    assert "…" in page_text(shipping_label(long))


def test_cid_font_fallback_when_no_truetype_font(monkeypatch):
    monkeypatch.setattr(core_pdf, "CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.delenv("EHUB_CJK_FONT", raising=False)
    core_pdf.cjk_font.cache_clear()
    try:
        assert core_pdf.cjk_font() == "STSong-Light"
        assert core_pdf.cjk_font_source() == "cid:STSong-Light"
        pdf = shipping_label(LABEL)
        assert b"STSong-Light" in pdf
        assert "EX000471101MY" in page_text(pdf)
    finally:
        core_pdf.cjk_font.cache_clear()
    monkeypatch.undo()
    assert core_pdf.cjk_font() == core_pdf.TTF_NAME
    assert core_pdf.cjk_font_source().endswith(".ttc")


# -- commercial invoice -------------------------------------------------------------------------


EXPORTER = Party(
    "Durian Raja Sdn. Bhd.",
    ("Lot 1, Jalan Sepang", "64000 Sepang, Selangor, Malaysia"),
    "+60 3-8787 1234",
    "SSM 201901234567",
)
LINE = InvoiceLine(
    "Musang King durian paste 200 g",
    "猫山王榴莲酱 200 克",
    "2008999000",
    3,
    Money(4500, "CNY"),
    220,
    sku_code="DR-MK-200",
)


def test_commercial_invoice_a4_with_lines_and_totals():
    other = InvoiceLine(
        "White coffee 3in1", "白咖啡 三合一", "2101120000", 2, Money(1990, "CNY"), 600
    )
    pdf = commercial_invoice(
        InvoiceData(
            "INV-0001",
            date(2025, 3, 3),
            EXPORTER,
            Party("张伟", ("上海市浦东新区世纪大道100号",), "13800138000"),
            [LINE, other],
            waybill_no="EX000471101MY",
            order_no="ORD-7K3M9Q2X",
            freight=Money(1200, "CNY"),
        )
    )
    doc = pdfium.PdfDocument(pdf)
    try:
        width, height = doc[0].get_size()
        assert len(doc) == 1
    finally:
        doc.close()
    assert (width, height) == (pytest.approx(595.28, abs=0.1), pytest.approx(841.89, abs=0.1))
    text = page_text(pdf)
    for expected in (
        "COMMERCIAL INVOICE",
        "INV-0001",
        "DDP",
        "Musang King durian paste 200 g",
        "猫山王榴莲酱",
        "白咖啡",
        "2008999000",
        "2101120000",
        "135.00",  # 3 × 45.00
        "39.80",  # 2 × 19.90
        "174.80",  # goods
        "186.80",  # goods + freight 12.00
        "1.860 kg",  # 3 × 220 g + 2 × 600 g
        "张伟",
    ):
        assert expected in text, expected


def test_long_invoice_continues_on_more_pages():
    lines = [LINE] * 30
    pdf = commercial_invoice(
        InvoiceData("INV-0002", date(2025, 3, 3), EXPORTER, Party("李娜"), lines)
    )
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 2
    finally:
        doc.close()
    assert "Page" in page_text(pdf, 0) and "1/2" in page_text(pdf, 0)
    assert "4,050.00" in page_text(pdf, 1)  # 30 × 3 × 45.00, totals on the last page only
    assert "4,050.00" not in page_text(pdf, 0)


def test_invoice_without_lines_is_refused():
    with pytest.raises(ValueError):
        commercial_invoice(InvoiceData("INV-0", date(2025, 3, 3), EXPORTER, Party("x"), []))


# -- carton labels ------------------------------------------------------------------------------


def test_one_carton_label_per_carton_with_a_readable_barcode():
    cartons = [Carton(f"CT-ASN1-{n:03d}", "DR-MK-200", "Musang King 猫山王", 48) for n in (1, 2, 3)]
    pdf = carton_labels(
        CartonLabelData(
            "ASN-2025-0001", "Durian Raja Sdn. Bhd.", cartons, expected_on=date(2025, 3, 5)
        )
    )
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 3
        width, height = doc[0].get_size()
    finally:
        doc.close()
    assert (width, height) == (pytest.approx(100 * MM, abs=0.05), pytest.approx(150 * MM, abs=0.05))
    for page, carton in enumerate(cartons):
        text = page_text(pdf, page)
        assert "ASN-2025-0001" in text
        assert f"{page + 1}/3" in text
        assert "48" in text and "猫山王" in text
        # Bars from 16 mm to 38 mm above the bottom edge; read through the middle.
        image = render(pdf, page)
        assert read_code128(image, 150 - 27, 5, 95) == carton.barcode
