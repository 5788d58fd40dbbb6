"""Template helpers of the academy: translated titles, and the export-readiness card that the
merchant portal shows (``{% load academy %}{% readiness_card active_org %}``)."""

from __future__ import annotations

from django import template

from .. import domain

register = template.Library()


@register.filter
def title_in(obj, language: str | None) -> str:
    """A module's or lesson's title in ``language``, falling back like the rest of the academy.

    Lessons read their prefetched translations (no query when prefetched)."""
    titles = getattr(obj, "titles", None)
    if titles is None and hasattr(obj, "translations"):
        titles = {t.language: t.title for t in obj.translations.all()}
    return domain.pick_text(titles or {}, language)[0]


@register.filter
def course_title(course, language: str | None) -> str:
    """A course's title in ``language`` or the fallback (prefetched translations: no query)."""
    return domain.pick_text({t.language: t.title for t in course.translations.all()}, language)[0]


@register.filter
def pick(texts: dict, language: str | None) -> str:
    """``{"en": …, "ms": …}`` → the text in ``language`` or the fallback."""
    return domain.pick_text(texts if isinstance(texts, dict) else {}, language)[0]


@register.filter
def percent_of(part: int, whole: int) -> int:
    return domain.percent(int(part or 0), int(whole or 0))


@register.inclusion_tag("academy/_readiness_card.html", takes_context=True)
def readiness_card(context, org):
    """The readiness score of ``org`` with its parts and the next best step (a few queries)."""
    from ehub.accounts.domain import OrgKind

    from ..services import readiness

    if org is None or getattr(org, "kind", None) != OrgKind.MERCHANT:
        return {"readiness": None}
    return {"readiness": readiness(org), "org": org, "request": context.get("request")}
