"""Template context for every page: the portals a user may enter, their orgs, languages.

Everything is computed lazily, so a page that does not render the navigation costs nothing, and
an anonymous visitor costs no query at all (the user's memberships are read once per request and
cached on the user object by ``accounts.services.memberships_of``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, get_language_info

from ehub.accounts import services
from ehub.accounts.domain import Portal
from ehub.accounts.middleware import context_of

# Where each portal lives. Storefront first: it is the public home.
PORTAL_URL_NAMES: dict[str, str] = {
    Portal.STOREFRONT: "web:home",
    Portal.MERCHANT: "web:merchant",
    Portal.HUB: "web:hub",
    Portal.CUSTOMS: "web:customs",
    Portal.ACADEMY: "web:academy",
    Portal.OPS: "web:ops",
}


@dataclass(frozen=True)
class NavItem:
    code: str
    label: str
    url: str


@dataclass(frozen=True)
class LanguageItem:
    code: str
    name: str  # the language's own name ("简体中文"), so anyone can find theirs
    current: bool


def nav_items(request) -> list[NavItem]:
    labels = dict(Portal.choices)
    return [
        NavItem(code=code, label=labels[code], url=reverse(PORTAL_URL_NAMES[code]))
        for code in services.portals_of(context_of(request))
    ]


def languages() -> list[LanguageItem]:
    current = get_language()
    return [
        LanguageItem(code=code, name=get_language_info(code)["name_local"], current=code == current)
        for code, _name in settings.LANGUAGES
    ]


def portal(request) -> dict:
    """Context processor ``ehub.web.context_processors.portal``."""
    return {
        "portal_nav": SimpleLazyObject(lambda: nav_items(request)),
        "user_orgs": SimpleLazyObject(lambda: services.orgs_of(getattr(request, "user", None))),
        "active_org": SimpleLazyObject(lambda: context_of(request).org),
        "ehub_languages": SimpleLazyObject(languages),
    }
