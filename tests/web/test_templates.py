"""Every template stays offline: no asset, link or form may point at another host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines
from django.template.loader import get_template

import ehub

SRC = Path(ehub.__file__).parent

# An attribute (or CSS url()/@import) whose value starts with a scheme or is protocol-relative.
EXTERNAL_REF = re.compile(
    r"""(?ix)
    (?:\b(?:src|href|action|formaction|srcset|poster|data|content|xlink:href)\s*=\s*["']?\s*
       |url\(\s*["']?\s*
       |@import\s+["']?\s*)
    (?:https?:)?//
    """
)


def template_files() -> list[Path]:
    return sorted(
        p for p in SRC.glob("**/templates/**/*") if p.is_file() and p.suffix in {".html", ".txt"}
    )


def offending_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if EXTERNAL_REF.search(line)]


def test_the_scanner_catches_external_references():
    assert offending_lines('<script src="https://cdn.example/htmx.js"></script>')
    assert offending_lines("<link href='//fonts.example/css' rel=stylesheet>")
    assert offending_lines('<a href="http://example.com">x</a>')
    assert offending_lines("body { background: url( 'https://img.example/x.png') }")
    assert not offending_lines(
        "<script src=\"{% static 'web/vendor/htmx/htmx.min.js' %}\"></script>"
    )
    assert not offending_lines('<a href="/merchant/">x</a>')
    assert not offending_lines('<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb">')


def test_there_are_templates_to_scan():
    names = {p.name for p in template_files()}
    assert {"base.html", "403.html", "login.html", "signup_merchant.html"} <= names


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_template_references_another_host(path):
    assert offending_lines(path.read_text(encoding="utf-8")) == []


def test_no_stylesheet_loads_from_another_host():
    stylesheets = sorted(SRC.glob("**/static/**/*.css"))
    assert stylesheets, "no stylesheet found to scan"
    for css in stylesheets:
        assert not EXTERNAL_REF.search(css.read_text(encoding="utf-8")), css


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_template_compiles(path):
    engine = engines["django"]
    relative = str(path).split("/templates/", 1)[1]
    assert get_template(relative, using=engine.name) is not None
