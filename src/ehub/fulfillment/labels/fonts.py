"""Text measuring and wrapping for the hub's PDFs.

The fonts themselves (Helvetica for Latin, the embedded CJK TrueType font or the
``STSong-Light`` fallback for Chinese) come from ``ehub.core.pdf``, registered once per
process for every context.
"""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics


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
