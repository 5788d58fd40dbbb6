"""Storefront pages (public): home, browse by category and merchant, search, product page.

Thin: the queries are in ``catalog.services.storefront``. This module decides the buyer's
language (Django's LocaleMiddleware already did) and currency (their choice kept in the
session, else the one of their language), and builds one ``Pricer`` per request so a page
reads the exchange rate once.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ehub.accounts.access import portal_required
from ehub.accounts.domain import Portal
from ehub.catalog.services import storefront

SESSION_CURRENCY_KEY = storefront.CURRENCY_SESSION_KEY
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
# Pages
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.STOREFRONT)
def home(request):
    data = storefront.home(buyer_language(), pricer_for(request))
    return _render(
        request, "web/storefront/home.html", {"home": data, "categories": data.categories}
    )


@require_GET
@portal_required(Portal.STOREFRONT)
def category(request, category: str):
    language = buyer_language()
    page = storefront.category_products(
        category, language, pricer_for(request), request.GET.get("page")
    )
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
    card = storefront.merchant(public_id, language)
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
    detail = storefront.product_detail(
        public_id, buyer_language(), pricer_for(request), request.GET.get("sku")
    )
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
