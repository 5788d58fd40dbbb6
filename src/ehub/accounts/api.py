"""REST API of accounts: who am I, which organizations can I read; and how API callers authenticate.

Authentication (the whole API's default, set in ``ehub.api``) accepts, in this order:

1. ``Authorization: Bearer <token>`` — an API token (``services.authenticate_token``). The
   token is scoped to one organization: the handler's Context is that org, and nothing of
   any other org is visible, even when the token's creator belongs to several. A bearer
   header whose token is unknown or revoked is refused (401 ``invalid_token``); it never
   falls back to the session.
2. The Django session cookie of a signed-in user (the portal login). Methods that change
   data then need the CSRF token (``X-CSRFToken``), as forms do; a missing one is 403
   ``csrf_failed``.

Either way ``request.auth`` is an ``ehub.core.context.Context`` (``via="api"``); handlers read
it with :func:`ctx_of`. Lists use :class:`Page` (limit/offset, at most 100 per page), handing
it a queryset or a :class:`Mapped` one; other contexts' routers import these from here,
accounts being the lowest context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import APIKeyCookie, HttpBearer

from ehub.core.context import Context
from ehub.core.errors import NotFound
from ehub.core.ids import InvalidPublicId, normalize_public_id

from . import services

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


class InvalidToken(AuthenticationError):
    """A bearer token was sent but is unknown, revoked, or its org is suspended."""

    def __init__(self) -> None:
        super().__init__(401, "invalid_token")


class CsrfFailed(HttpError):
    def __init__(self) -> None:
        super().__init__(403, "csrf_failed")


class BearerToken(HttpBearer):
    """``Authorization: Bearer ehub_…`` — an organization-scoped API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Context:
        api_token = services.authenticate_token(token.strip())
        if api_token is None:
            raise InvalidToken()
        request.api_token = api_token
        return services.context_for_token(api_token, request_id=getattr(request, "request_id", ""))


class SessionCookie(APIKeyCookie):
    """The portal's Django session; unsafe methods must pass Django's CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)  # tells the docs page to send X-CSRFToken

    def __call__(self, request: HttpRequest) -> Context | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # Checked only once we know a session is what authenticates this call, so an
        # anonymous POST gets 401 (not 403) and bearer calls never need a CSRF token.
        if request.method not in _SAFE_METHODS and not getattr(
            request, "_ninja_csrf_exempt", False
        ):
            request.csrf_processing_done = False
            middleware = CsrfViewMiddleware(lambda _request: None)
            middleware.process_request(request)
            if middleware.process_view(request, lambda _request: None, (), {}) is not None:
                raise CsrfFailed()
        return services.build_context(
            user,
            request.session.get(services.SESSION_ORG_KEY),
            via="api",
            request_id=getattr(request, "request_id", ""),
        )

    def authenticate(
        self, request: HttpRequest, key: str | None
    ) -> Context | None:  # pragma: no cover
        return self(request)


def api_auth() -> list:
    """The API's default authentication: bearer token first, then the session."""
    return [BearerToken(), SessionCookie()]


def ctx_of(request: HttpRequest) -> Context:
    """The Context of an authenticated API call (``request.auth``)."""
    ctx = getattr(request, "auth", None)
    if not isinstance(ctx, Context):
        raise AuthenticationError()
    return ctx


def is_org_scoped(request: HttpRequest) -> bool:
    """True when the caller authenticated with an (organization-scoped) API token."""
    return getattr(request, "api_token", None) is not None


class Page(LimitOffsetPagination):
    """``?limit=&offset=`` pagination with bounds, answering ``{"items": [...], "count": n}``."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=100, description="Items per page (1–100).")
        offset: int = Field(0, ge=0, le=1_000_000_000, description="Items to skip.")

    def __init__(self, **kwargs) -> None:
        super().__init__(max_limit=100, **kwargs)


class Mapped:
    """A queryset seen through ``fn``, for a ``@paginate(Page)`` handler to return: the
    paginator slices it, so only one page of rows is fetched and shaped, then counts it."""

    def __init__(self, queryset, fn: Callable[[Any], Any]) -> None:
        self.queryset, self.fn = queryset, fn

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list:
        return [self.fn(row) for row in self.queryset[index]]


# ---------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------


class OrgRef(Schema):
    public_id: str = Field(
        ..., description="The organization's public reference, e.g. ORG-7K4M-9QX2-HT3P-V6XZ."
    )
    kind: str = Field(..., description="platform, merchant, hub_operator, customs_authority, …")
    name: str


class OrgOut(OrgRef):
    legal_name: str
    country: str = Field(..., description="ISO 3166-1 alpha-2")
    status: str = Field(..., description="pending, active or suspended")
    registration_number: str
    created_at: datetime


class MembershipOut(Schema):
    org: OrgRef
    role: str


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    language: str = Field(..., description="Preferred UI language ('' when not chosen).")


class MeOut(Schema):
    user: UserOut | None = Field(..., description="Null for a token whose creator was deleted.")
    auth: str = Field(..., description="'token' or 'session'.")
    org: OrgRef | None = Field(..., description="The organization this call acts for.")
    roles: list[str] = Field(..., description="The caller's roles in that organization.")
    memberships: list[MembershipOut]
    portals: list[str]


def _org_ref(org) -> dict:
    return {"public_id": org.public_id, "kind": org.kind, "name": org.name}


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------

router = Router(tags=["accounts"])


@router.get(
    "/me", response=MeOut, summary="The caller: user, active organization, memberships, portals"
)
def me(request: HttpRequest):
    ctx = ctx_of(request)
    scoped = is_org_scoped(request)
    members = services.memberships_visible_to(ctx, org_scoped=scoped)
    portals = services.portals_of(ctx, org_scoped=scoped)
    user = ctx.user if ctx.is_authenticated else None
    return {
        "user": None
        if user is None
        else {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "language": user.preferred_language,
        },
        "auth": "token" if scoped else "session",
        "org": _org_ref(ctx.org) if ctx.org is not None else None,
        "roles": sorted(ctx.roles),
        "memberships": [{"org": _org_ref(m.org), "role": m.role} for m in members],
        "portals": [str(p) for p in portals],
    }


@router.get("/orgs", response=list[OrgOut], summary="The organizations the caller belongs to")
@paginate(Page)
def list_orgs(request: HttpRequest):
    return services.orgs_visible_to(ctx_of(request), org_scoped=is_org_scoped(request))


@router.get(
    "/orgs/{public_id}",
    response=OrgOut,
    summary="One organization the caller belongs to",
    description="404 when the organization does not exist *or* the caller may not see it "
    "(a token sees only its own organization).",
)
def get_org(request: HttpRequest, public_id: str):
    ctx = ctx_of(request)
    try:
        canonical = normalize_public_id(public_id, "ORG")
    except InvalidPublicId:
        raise NotFound(_("Organization not found.")) from None
    org = (
        services.orgs_visible_to(ctx, org_scoped=is_org_scoped(request))
        .filter(public_id=canonical)
        .first()
    )
    if org is None:
        raise NotFound(_("Organization not found."))
    return org
