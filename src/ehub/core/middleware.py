"""Request guards that apply to every page."""

from __future__ import annotations

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


class RefuseNulMiddleware:
    """Answer 400 to a query string or form carrying a NUL character.

    No text column can store NUL (PostgreSQL refuses it), so a view that passes a parameter to a
    query would fail with a server error. Forms already refuse NUL per field; this covers the
    views that read ``request.GET`` directly (search, filters). The API refuses NUL itself,
    naming the field, in problem+json.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            for params in (request.GET, request.POST if request.method == "POST" else None):
                if params is not None and any(
                    "\x00" in key or any("\x00" in v for v in params.getlist(key)) for key in params
                ):
                    return HttpResponseBadRequest(_("NUL characters are not allowed."))
        return self.get_response(request)


class DomainErrorPagesMiddleware:
    """Turn a service's NotFound / PermissionDenied escaping a page view into a 404 / 403 page.

    Services say "not yours" with ``NotFound`` (so another organization's object looks like no
    object at all) and "not allowed" with ``PermissionDenied``. Views may let these escape
    instead of converting them by hand. The API maps them to problem+json itself and is left
    alone here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
        from django.http import Http404

        from ehub.core.errors import NotFound, PermissionDenied

        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, NotFound):
            raise Http404(str(exception.detail)) from exception
        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(str(exception.detail)) from exception
        return None
