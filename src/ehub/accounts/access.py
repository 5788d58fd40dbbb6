"""Who may open a portal page: the ``portal_required`` decorator used by every portal view.

The rule itself lives in ``accounts.domain.may_enter``; this module only applies it to a
request: anonymous visitors go to the login page (with ``next``), a user whose active
organization is of the wrong kind is moved to their first organization of the right kind, and
anyone else gets the 403 page. It lives in accounts, below every context, so their views do
not import the web layer above them.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from . import services
from .domain import PORTAL_ORG_KINDS, Portal, may_enter
from .middleware import context_of

__all__ = ["activate_org", "context_of", "enter_portal", "portal_required"]


def activate_org(request, org) -> None:
    """Make ``org`` the session's active organization and rebuild ``request.ctx`` for it."""
    request.session[services.SESSION_ORG_KEY] = org.pk
    request.ctx = services.build_context(
        request.user, org.pk, request_id=getattr(request, "request_id", "")
    )


def enter_portal(request, portal: str) -> None:
    """Check (and if needed switch) the active organization for ``portal``.

    Raises django's PermissionDenied when the user may not enter; the caller must already have
    sent anonymous users to the login page.
    """
    ctx = context_of(request)
    if may_enter(portal, ctx.org_kind):
        return
    match = next((o for o in services.orgs_of(request.user) if may_enter(portal, o.kind)), None)
    if match is not None:
        activate_org(request, match)
        return
    if portal == Portal.OPS and request.user.is_staff:
        return  # platform staff without a platform org still run operations
    raise PermissionDenied(_("Your organization cannot enter this portal."))


def portal_required(portal: str):
    """Decorate a view of ``portal``: public portals pass, the others need the right org."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if PORTAL_ORG_KINDS[portal] is not None:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                enter_portal(request, portal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
