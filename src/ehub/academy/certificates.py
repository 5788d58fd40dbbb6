"""The certificate PDF: one A4 landscape page in the learner's language, with a QR code.

Rendered on demand from the stored Certificate (the row is the record; the PDF is a view of
it). The QR code and the printed link point at the public verification page
``/academy/verify/<code>``, so anyone holding the paper can check it.

Chinese needs a font with CJK glyphs: the one ``ehub.core.pdf.cjk_font`` registers for all of
eHub's PDFs (WenQuanYi Micro Hei embedded when installed, else the CID font ``STSong-Light``).
Latin-only certificates use Helvetica.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from ehub.core.pdf import LATIN, LATIN_BOLD, cjk_font, needs_cjk

from .models import Certificate

BRAND = HexColor("#0b4f6c")
INK = HexColor("#1a1f24")
MUTED = HexColor("#4a5560")


def verify_url(code: str, base_url: str = "") -> str:
    base = (base_url or getattr(settings, "EHUB_PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}{reverse('academy:verify', args=[code])}"


def _fit(text: str, font: str, size: float, max_width: float) -> float:
    while size > 10 and pdfmetrics.stringWidth(text, font, size) > max_width:
        size -= 1
    return size


def render_certificate(certificate: Certificate, base_url: str = "") -> bytes:
    """The PDF bytes of ``certificate`` in its language."""
    language = certificate.language or "en"
    with translation.override(language):
        title = _("Certificate of completion")
        intro = _("This certifies that")
        completed = _("has completed the eHub Academy course")
        issued = _("Issued on %(date)s") % {
            "date": formats.date_format(
                timezone.localtime(certificate.issued_at).date(), "DATE_FORMAT"
            )
        }
        code_label = _("Verification code")
        check = _("Check this certificate at")
        url = verify_url(certificate.code, base_url)
        texts = (title, intro, completed, issued, code_label, check)
        cjk = language == "zh-hans" or needs_cjk(
            *texts, certificate.learner_name, certificate.course_title
        )
        regular = cjk_font() if cjk else LATIN
        bold = cjk_font() if cjk else LATIN_BOLD

        buffer = io.BytesIO()
        width, height = landscape(A4)
        c = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
        c.setTitle(f"{title} · {certificate.code}")
        c.setAuthor("eHub Academy")
        c.setSubject(certificate.course_title)

        c.setStrokeColor(BRAND)
        c.setLineWidth(3)
        c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
        c.setLineWidth(0.8)
        c.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

        center = width / 2
        c.setFillColor(BRAND)
        c.setFont(bold, 16)
        c.drawCentredString(center, height - 36 * mm, "eHub Academy")
        c.setFont(bold, 30)
        c.drawCentredString(center, height - 54 * mm, title)

        c.setFillColor(MUTED)
        c.setFont(regular, 14)
        c.drawCentredString(center, height - 72 * mm, intro)
        c.setFillColor(INK)
        size = _fit(certificate.learner_name, bold, 28, width - 70 * mm)
        c.setFont(bold, size)
        c.drawCentredString(center, height - 88 * mm, certificate.learner_name)
        c.setFillColor(MUTED)
        c.setFont(regular, 14)
        c.drawCentredString(center, height - 102 * mm, completed)
        c.setFillColor(INK)
        size = _fit(certificate.course_title, bold, 22, width - 70 * mm)
        c.setFont(bold, size)
        c.drawCentredString(center, height - 117 * mm, certificate.course_title)
        c.setFont(regular, 12)
        c.drawCentredString(center, height - 131 * mm, issued)

        # Verification block, bottom left: code and link; QR bottom right.
        c.setFont(regular, 10)
        c.setFillColor(MUTED)
        c.drawString(26 * mm, 40 * mm, code_label)
        c.setFillColor(INK)
        c.setFont("Courier-Bold", 13)
        c.drawString(26 * mm, 33 * mm, certificate.code)
        c.setFont(regular, 10)
        c.setFillColor(MUTED)
        c.drawString(26 * mm, 26 * mm, f"{check} {url}")

        qr_size = 34 * mm
        widget = QrCodeWidget(url, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(
            qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0]
        )
        drawing.add(widget)
        renderPDF.draw(drawing, c, width - 26 * mm - qr_size, 22 * mm)

        c.showPage()
        c.save()
        return buffer.getvalue()
