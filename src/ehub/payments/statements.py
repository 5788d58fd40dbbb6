"""The merchant's monthly statement as a PDF (reportlab): settlements, refunds and payouts of
the month from the ledger, with the opening and closing balance.

Text in the statement is Latin except names; a name with CJK characters is drawn with the CJK
font of ``ehub.core.pdf`` (embedded WenQuanYi Micro Hei, or the STSong-Light CID font without it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ehub.core.money import Money
from ehub.core.pdf import LATIN, LATIN_BOLD, cjk_font, needs_cjk
from ehub.ledger import services as ledger

from . import domain

KL = ZoneInfo("Asia/Kuala_Lumpur")


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=KL)
    days = calendar.monthrange(year, month)[1]
    return start, start + dt.timedelta(days=days)


def _fmt(minor: int) -> str:
    return f"{Money(minor, 'MYR').to_decimal():,}"


def statement_lines(org, year: int, month: int):
    """(opening balance, lines, closing balance) in MYR minor units; lines are transfers."""
    code = domain.merchant_account(org.public_id)
    start, end = month_bounds(year, month)
    mine = ledger.account_transfers(code)
    # Posted movements only: the merchant account takes no pending transfers.
    before = mine.filter(created_at__lt=start)
    credits = before.filter(credit_account__code=code).aggregate(s=Sum("amount"))["s"] or 0
    debits = before.filter(debit_account__code=code).aggregate(s=Sum("amount"))["s"] or 0
    opening = credits - debits
    lines = []
    running = opening
    for t in (
        mine.filter(created_at__gte=start, created_at__lt=end)
        .select_related("credit_account")
        .order_by("created_at", "id")
    ):
        signed = t.amount if t.credit_account.code == code else -t.amount
        running += signed
        lines.append((t, signed, running))
    return opening, lines, running


def render_statement(org, year: int, month: int) -> bytes:
    opening, lines, closing = statement_lines(org, year, month)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"eHub statement {org.public_id} {year}-{month:02d}")
    _width, height = A4
    y = height - 20 * mm

    def text(x, y, value, size=10, bold=False, right=False):
        font = cjk_font() if needs_cjk(value) else LATIN_BOLD if bold else LATIN
        pdf.setFont(font, size)
        (pdf.drawRightString if right else pdf.drawString)(x, y, value)

    def header(y):
        text(20 * mm, y, _("Date"), 9, True)
        text(50 * mm, y, _("Reference"), 9, True)
        text(105 * mm, y, _("Kind"), 9, True)
        text(160 * mm, y, _("Amount (MYR)"), 9, True, right=True)
        text(190 * mm, y, _("Balance"), 9, True, right=True)
        return y - 6 * mm

    text(20 * mm, y, _("eHub merchant statement"), 16, True)
    y -= 9 * mm
    text(20 * mm, y, org.legal_name, 11)
    y -= 5 * mm
    text(20 * mm, y, f"SSM {org.registration_number}  ·  {org.public_id}", 9)
    y -= 5 * mm
    text(20 * mm, y, _("Month: %(m)s") % {"m": f"{year}-{month:02d}"}, 9)
    y -= 10 * mm
    text(20 * mm, y, _("Opening balance"), 10, True)
    text(190 * mm, y, _fmt(opening), 10, True, right=True)
    y -= 8 * mm
    y = header(y)
    for transfer, signed, running in lines:
        if y < 25 * mm:
            pdf.showPage()
            y = header(height - 20 * mm)
        local = transfer.created_at.astimezone(KL)
        text(20 * mm, y, local.strftime("%Y-%m-%d %H:%M"), 9)
        text(50 * mm, y, transfer.reference[:32], 9)
        text(105 * mm, y, transfer.code[:28], 9)
        text(160 * mm, y, _fmt(signed), 9, right=True)
        text(190 * mm, y, _fmt(running), 9, right=True)
        y -= 5 * mm
    y -= 5 * mm
    text(20 * mm, y, _("Closing balance"), 10, True)
    text(190 * mm, y, _fmt(closing), 10, True, right=True)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
