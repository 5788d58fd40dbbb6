"""Lesson Markdown to safe HTML: Python-Markdown renders, nh3 (ammonia) sanitises.

Trainers write lessons in Markdown and may embed HTML, as Markdown allows; what reaches a
learner's browser is only what survives an allow-list: text formatting, headings, lists,
tables, code, quotes, links (http, https, mailto or relative) and images (http, https or
relative ``src`` only: no ``data:``, no ``javascript:``). Scripts, styles, iframes, forms,
event handlers (``on*``) and ``style`` attributes are removed; ``<script>``/``<style>`` with
their content. Links get ``rel="noopener noreferrer"``. Sanitising runs on the rendered HTML,
so nothing Markdown produces (or a trainer smuggles in) can bypass it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
        "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li",
        "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
# h1 is the page's own title: a lesson's "# Heading" is shown as h2 (see ``_demote``).
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"", "http", "https"})
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "template"})
# No attr_list: trainers set no classes, ids or styles.
EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
MAX_SOURCE = 200_000  # characters; a lesson is prose, not a book


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        try:
            scheme = urlsplit(value.strip()).scheme.lower()
        except ValueError:
            return None
        return value if scheme in IMAGE_SCHEMES else None
    return value


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of ``html``."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


def _demote(html: str) -> str:
    # A lesson's top heading sits under the page's h1.
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>").replace("<h1 ", "<h2 ")


def render_markdown(source: str) -> str:
    """Markdown → sanitised HTML, safe to mark safe in a template."""
    source = (source or "")[:MAX_SOURCE].replace("\x00", "")
    html = markdown_lib.markdown(source, extensions=EXTENSIONS, output_format="html")
    return sanitize(_demote(html))
