"""Fonts for eHub's PDFs (reportlab), registered once per process and shared by every context.

Latin text uses the PDF standard fonts (Helvetica): nothing to embed, so documents stay small.
Chinese text uses the first CJK TrueType font found in ``CANDIDATES`` - WenQuanYi Micro Hei
from Debian's ``fonts-wqy-microhei`` (a .ttc: face 0 is the proportional Micro Hei) - embedded
as a subset of the glyphs used. Without one, ReportLab's built-in CID font ``STSong-Light``
(Adobe-GB1) is used: it is never embedded, so the viewer substitutes its own Chinese font. PDF
viewers and pdfium do, but a bare printer driver may not; install the font package in
production (the Dockerfile and CI do). ``EHUB_CJK_FONT`` may point at another TrueType file,
tried first.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CID_FALLBACK = "STSong-Light"
TTF_NAME = "eHubCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

log = logging.getLogger(__name__)
_lock = threading.Lock()
_source = ""  # set by cjk_font(): the file embedded, or "cid:STSong-Light"


@cache
def cjk_font() -> str:
    """The registered font name for Chinese text (TrueType if found, else the CID font)."""
    global _source
    with _lock:
        env = os.environ.get("EHUB_CJK_FONT", "")
        for path in (env, *CANDIDATES) if env else CANDIDATES:
            if path and Path(path).is_file():
                from reportlab.pdfbase.ttfonts import TTFont

                try:
                    pdfmetrics.registerFont(TTFont(TTF_NAME, path, subfontIndex=0))
                except Exception:  # a broken or CFF-flavoured file: say so, try the next
                    log.warning("CJK font %s could not be registered", path, exc_info=True)
                    continue
                _source = path
                return TTF_NAME
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        _source = f"cid:{CID_FALLBACK}"
        return CID_FALLBACK


def cjk_font_source() -> str:
    """Where ``cjk_font()`` found its font: a file path, or ``cid:STSong-Light``."""
    cjk_font()
    return _source


def needs_cjk(*texts: str) -> bool:
    """Whether any of ``texts`` has a character beyond Latin (CJK radicals and up)."""
    return any(ord(ch) > 0x2E7F for text in texts for ch in text)
