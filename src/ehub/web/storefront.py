"""Storefront pages (public): home, browse by category and merchant, search, product page.

Thin: the queries are in ``catalog.services.storefront``. This module decides the buyer's
language (Django's LocaleMiddleware already did) and currency (their choice kept in the
session, else the one of their language), and builds one ``Pricer`` per request so a page
reads the exchange rate once.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ehub.accounts.domain import Portal
from ehub.catalog.services import storefront
from ehub.core import clock
from ehub.core.errors import NotFound

from .access import portal_required

SESSION_CURRENCY_KEY = storefront.CURRENCY_SESSION_KEY
BANNERS_TEMPLATE = "campaigns/_home_banners.html"
MAX_QUERY_CHARS = 200


# ---------------------------------------------------------------------------------------------
# Language and currency of the request
# ---------------------------------------------------------------------------------------------


def buyer_language() -> str:
    return get_language() or "en"


def buyer_currency(request) -> str:
    """The buyer's chosen currency (session), else the one of their language."""
    chosen = request.session.get(SESSION_CURRENCY_KEY) if hasattr(request, "session") else None
    return storefront.display_currency(chosen, buyer_language())


def pricer_for(request) -> storefront.Pricer:
    """One Pricer per request: the exchange rate is read at most once per page."""
    pricer = getattr(request, "_ehub_pricer", None)
    if pricer is None:
        pricer = storefront.Pricer(buyer_currency(request))
        request._ehub_pricer = pricer
    return pricer


def _page_query(request) -> str:
    """The request's query string without ``page``, ready to be followed by ``page=N``."""
    params = [(k, v) for k, values in request.GET.lists() if k != "page" for v in values]
    return urlencode(params) + "&" if params else ""


def _render(request, template: str, context: dict, status: int = 200):
    pricer = pricer_for(request)
    base = {
        "portal": Portal.STOREFRONT,
        "currency_choices": storefront.currencies(),
        # Lazy: the rate is read only when a price is shown, and then once.
        "shown_currency": SimpleLazyObject(lambda: pricer.currency),
        "chosen_currency": buyer_currency(request),
        "page_query": _page_query(request),
        "search_query": "",
    }
    return render(request, template, {**base, **context}, status=status)


# ---------------------------------------------------------------------------------------------
# Campaign banners (provided by the campaigns context when it exists)
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _banners_template_exists() -> bool:
    try:
        get_template(BANNERS_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


def _live_banners_function():
    try:
        module = import_module("ehub.campaigns.services")
    except ModuleNotFoundError as exc:
        if exc.name != "ehub.campaigns.services":
            raise  # a broken import inside the module must not look like "no campaigns"
        return None
    return getattr(module, "live_banners", None)


def campaign_banners_context(language: str) -> dict:
    """``has_campaign_banners`` and a lazy ``banners`` list for the home page's slot.

    The slot renders only when the campaigns context ships its template; the banners come
    from ``ehub.campaigns.services.live_banners(language, now)`` when it exists, and are read
    only if the template uses them.
    """
    if not _banners_template_exists():
        return {"has_campaign_banners": False, "banners": []}
    live = _live_banners_function()
    banners = SimpleLazyObject(lambda: list(live(language, clock.now())) if live else [])
    return {"has_campaign_banners": True, "banners": banners}


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.STOREFRONT)
def home(request):
    language = buyer_language()
    data = storefront.home(language, pricer_for(request))
    return _render(
        request,
        "web/storefront/home.html",
        {"home": data, "categories": data.categories, **campaign_banners_context(language)},
    )


@require_GET
@portal_required(Portal.STOREFRONT)
def category(request, category: str):
    language = buyer_language()
    try:
        page = storefront.category_products(
            category, language, pricer_for(request), request.GET.get("page")
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return _render(
        request,
        "web/storefront/category.html",
        {
            "category_code": category,
            "category_label": storefront.category_label(category),
            "categories": storefront.categories(),
            "page_obj": page,
        },
    )


@require_GET
@portal_required(Portal.STOREFRONT)
def merchant(request, public_id: str):
    language = buyer_language()
    try:
        card = storefront.merchant(public_id, language)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    page = storefront.merchant_products(
        public_id, language, pricer_for(request), request.GET.get("page")
    )
    return _render(request, "web/storefront/merchant.html", {"merchant": card, "page_obj": page})


@require_GET
@portal_required(Portal.STOREFRONT)
def search(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    page = None
    if query:
        page = storefront.search_products(
            query, buyer_language(), pricer_for(request), request.GET.get("page")
        )
    return _render(request, "web/storefront/search.html", {"search_query": query, "page_obj": page})


@require_GET
@portal_required(Portal.STOREFRONT)
def product(request, public_id: str):
    try:
        detail = storefront.product_detail(
            public_id, buyer_language(), pricer_for(request), request.GET.get("sku")
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return _render(request, "web/storefront/product.html", {"product": detail})


@require_POST
def set_currency(request):
    """Keep the chosen display currency in the session, then go back where the buyer was."""
    code = request.POST.get("currency", "")
    if code in storefront.currencies():
        request.session[SESSION_CURRENCY_KEY] = code
    else:
        messages.error(
            request,
            _("Prices cannot be shown in %(code)s; choose one of %(choices)s.")
            % {"code": code[:3] or "-", "choices": ", ".join(storefront.currencies())},
        )
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return HttpResponseRedirect(target)
