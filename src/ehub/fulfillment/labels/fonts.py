"""Fonts for the hub's PDFs, registered once per process.

Latin text uses the PDF standard fonts (Helvetica): nothing to embed, so labels stay small.
Chinese text uses the first CJK TrueType font found in ``CANDIDATES`` - WenQuanYi Micro Hei
from Debian's ``fonts-wqy-microhei`` (a .ttc: face 0 is the proportional Micro Hei) - embedded
as a subset of the glyphs used. Without one, ReportLab's built-in CID font ``STSong-Light``
(Adobe-GB1) is used: it is never embedded, so the viewer substitutes its own Chinese font. PDF
viewers and pdfium do, but a bare printer driver may not; install the font package in
production (the Dockerfile and CI do). ``EHUB_CJK_FONT`` may point at another TrueType file.
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
CJK_FONT_SOURCE = ""  # set by cjk_font(): the file embedded, or "cid:STSong-Light"


@cache
def cjk_font() -> str:
    """The registered font name for Chinese text (TrueType if found, else the CID font)."""
    global CJK_FONT_SOURCE
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
                CJK_FONT_SOURCE = path
                return TTF_NAME
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        CJK_FONT_SOURCE = f"cid:{CID_FALLBACK}"
        return CID_FALLBACK


def width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def wrap(text: str, font: str, size: float, max_width: float, max_lines: int = 99) -> list[str]:
    """Break ``text`` to lines of at most ``max_width`` points.

    Chinese has no spaces: lines break between any two characters; Latin words are kept whole
    when they fit. The last allowed line is cut with an ellipsis rather than overflowing a box.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if width(candidate, font, size) <= max_width or not line:
                line = candidate
                while width(line, font, size) > max_width and len(line) > 1:  # a long word
                    cut = len(line) - 1
                    while cut > 1 and width(line[:cut], font, size) > max_width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and width(last + "…", font, size) > max_width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens
