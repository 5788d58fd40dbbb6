"""Request middleware: the user's saved language and the request Context."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from ehub.core.context import Context

from . import services


def context_of(request) -> Context:
    """The request's Context: the one ContextMiddleware attached, else one built here from the
    user and the session's active organization (and attached), e.g. for a RequestFactory
    request. Costs no query: memberships are cached on the user.
    """
    ctx = getattr(request, "ctx", None)
    if not isinstance(ctx, Context):
        session = getattr(request, "session", None)
        ctx = services.build_context(
            getattr(request, "user", None),
            session.get(services.SESSION_ORG_KEY) if session is not None else None,
            request_id=getattr(request, "request_id", ""),
        )
        request.ctx = ctx
    return ctx


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the cookie and the browser's.

    Runs after AuthenticationMiddleware and before LocaleMiddleware, whose cookie it sets.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.known = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            lang = user.preferred_language
            if lang in self.known:
                request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = lang
        return self.get_response(request)


class ContextMiddleware:
    """Attaches ``request.ctx`` (ehub.core.context.Context) for views and services."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        active = request.session.get(services.SESSION_ORG_KEY)
        # Built on first use, so pages that never read it cost no queries. SimpleLazyObject
        # proxies isinstance(), so services that check for a Context accept it.
        request.ctx = SimpleLazyObject(
            lambda: services.build_context(request.user, active, request_id=request_id)
        )
        response = self.get_response(request)
        response.setdefault("X-Request-ID", request_id)
        return response
