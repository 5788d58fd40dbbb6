"""Template tags of campaigns: ``{% load campaigns %}{% live_campaign_banners %}``.

The storefront home includes the banners of live campaigns with that one tag; it queries
them itself (one query), so the page's view needs to know nothing about campaigns.
"""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from ..services import live_banners

register = template.Library()


@register.inclusion_tag("campaigns/_home_banners.html")
def live_campaign_banners(limit: int = 3):
    return {"banners": live_banners(get_language() or "en", limit=limit)}
