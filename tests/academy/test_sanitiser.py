"""Lesson Markdown is rendered and sanitised: nasty inputs come out harmless."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehub.academy.rendering import ALLOWED_TAGS, render_markdown

NASTY = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<img src="javascript:alert(1)">',
    "![x](javascript:alert(1))",
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))" onclick="x()">t</div>',
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=a></form>',
    '<object data="x.swf"></object><embed src="x.swf">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="vbscript:msgbox(1)">x</a>',
    "<!-- <script>alert(1)</script> -->",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def _assert_harmless(html: str) -> None:
    """Structural check: only allowed tags, no event handlers or styles, safe URL schemes."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in ("href", "src"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                allowed = {"", "http", "https"} | ({"mailto"} if name == "href" else set())
                assert scheme in allowed, (name, value)


@pytest.mark.parametrize("source", NASTY)
def test_nasty_markup_is_neutralised(source):
    html = render_markdown(source)
    _assert_harmless(html)
    lowered = html.lower()
    for needle in ("<script", "<style", "<iframe", "<svg", "javascript:", "vbscript:", "data:"):
        assert needle not in lowered, (needle, html)


def test_script_content_is_dropped_not_shown():
    html = render_markdown("Before <script>alert('pwned')</script> after")
    assert "pwned" not in html
    assert "Before" in html and "after" in html


def test_safe_markdown_survives():
    html = render_markdown(
        "# Limits\n\nThe limit is **CNY 5,000**.\n\n"
        "| Limit | Amount |\n|---|---|\n| Year | 26,000 |\n\n"
        "![Flow](/static/academy/img/cbec-flow.svg) ![Photo](https://example.org/d.png)\n\n"
        "[Read more](https://example.org/cbec) · [mail](mailto:help@example.org)"
    )
    assert "<h2>Limits</h2>" in html  # the page's h1 is the lesson title
    assert "<strong>CNY 5,000</strong>" in html
    assert "<table>" in html and "<td>26,000</td>" in html
    assert 'src="/static/academy/img/cbec-flow.svg"' in html
    assert 'src="https://example.org/d.png"' in html
    assert 'href="https://example.org/cbec"' in html
    assert 'rel="noopener noreferrer"' in html
    assert 'href="mailto:help@example.org"' in html


def test_image_with_mailto_or_data_source_loses_its_src():
    assert "src=" not in render_markdown("![x](mailto:a@b.c)")
    assert "src=" not in render_markdown("![x](data:image/png;base64,AAAA)")


@settings(max_examples=200)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>\"'=/ :;&#()[]!ajvscriptonerrorimgsrcahref")), max_size=80
    )
)
def test_random_markup_is_always_harmless(source):
    _assert_harmless(render_markdown(source))
