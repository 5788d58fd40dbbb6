"""RFC 9457 problem details: the one shape every eHub API error takes.

Every 4xx/5xx answer of the REST API (and of ``/readyz``) is ``application/problem+json``::

    {"type": "/api/v1/problems/validation_failed", "title": "Some fields are invalid.",
     "status": 422, "detail": "…", "instance": "/api/v1/orgs", "code": "validation_failed",
     "request_id": "…", "errors": [{"field": "query.limit", "message": "…", "code": "…"}]}

Problem ``type`` scheme (decided here): a **relative URI** ``/api/v1/problems/<code>``, where
``<code>`` is the same stable, machine-readable identifier as the ``code`` extension member
(``not_found``, ``validation_failed``, ``unauthenticated``, a context's own ``quota_exceeded``
…). RFC 9457 §3.1.1 allows relative references (resolved against the response's URI); we use
them so the identifier never names a host this deployment does not own, and each one
resolves, on the same server, to a JSON description of the problem type
(``GET /api/v1/problems/<code>``). ``about:blank`` is not used: every problem carries a code
clients can branch on. Titles and details are translated (gettext) into the request's
language; ``code`` and ``type`` never are.

``errors`` lists field errors for validation problems, each naming the field as a dotted path
that starts with where it came from: ``body.name``, ``query.limit``, ``path.public_id``.

This module is kernel code: it knows HTTP and Django but no eHub context. ``ehub.api`` wires
it into django-ninja; ``ehub.web.health`` uses :func:`problem_response` directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Schema

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/v1/problems/"

_CODE_RE = re.compile(r"[^a-z0-9_.-]+")


def problem_type(code: str) -> str:
    """The ``type`` URI for a problem code (see the module docstring)."""
    return PROBLEM_TYPE_BASE + (_CODE_RE.sub("_", str(code).lower()) or "error")


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int
    title: Any  # lazy translation
    description: Any = ""


# The problem types the API layer itself produces. Contexts document their own domain codes
# with register_problem_type() so that their type URI resolves too.
PROBLEM_TYPES: dict[str, ProblemType] = {}


def register_problem_type(code: str, status: int, title: Any, description: Any = "") -> ProblemType:
    ptype = ProblemType(code=code, status=int(status), title=title, description=description)
    PROBLEM_TYPES[code] = ptype
    return ptype


for _code, _status, _title, _description in [
    (
        "malformed_request",
        400,
        _("The request could not be read."),
        _(
            "The body is not well-formed JSON, or a header is malformed. Fix the "
            "request; do not retry it as is."
        ),
    ),
    (
        "unauthenticated",
        401,
        _("Authentication required."),
        _(
            "Send 'Authorization: Bearer <token>' with an API token, or sign in "
            "(session cookie + CSRF token)."
        ),
    ),
    (
        "invalid_token",
        401,
        _("The API token is not valid."),
        _(
            "The bearer token is unknown, revoked, or its organization is "
            "suspended. Create a new token."
        ),
    ),
    (
        "permission_denied",
        403,
        _("You are not allowed to do this."),
        _("You are authenticated but your role in this organization does not allow the action."),
    ),
    (
        "csrf_failed",
        403,
        _("CSRF check failed."),
        _(
            "A session-authenticated request that changes data must carry the CSRF "
            "token (X-CSRFToken header)."
        ),
    ),
    (
        "not_found",
        404,
        _("Not found."),
        _("There is no such resource, or it is not visible to you. eHub does not say which."),
    ),
    (
        "method_not_allowed",
        405,
        _("Method not allowed."),
        _(
            "This resource does not support the HTTP method used; the Allow header "
            "lists those it does."
        ),
    ),
    (
        "conflict",
        409,
        _("This conflicts with the current state."),
        _(
            "The request is valid but clashes with the resource's current state "
            "(status, duplicate…)."
        ),
    ),
    (
        "validation_failed",
        422,
        _("Some fields are invalid."),
        _(
            "One or more fields are invalid; 'errors' names each one with where it "
            "came from (body., query., path.)."
        ),
    ),
    (
        "throttled",
        429,
        _("Too many requests."),
        _("Slow down; the Retry-After header says when to try again."),
    ),
    (
        "server_error",
        500,
        _("Internal server error."),
        _(
            "Something went wrong on eHub's side. It has been logged; quote the "
            "request_id when reporting it."
        ),
    ),
    (
        "not_ready",
        503,
        _("Service not ready."),
        _("A readiness check failed (database unreachable or migrations pending)."),
    ),
]:
    register_problem_type(_code, _status, _title, _description)


# Fallback code and title by HTTP status, for errors that carry no code of their own.
_STATUS_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_failed",
    429: "throttled",
    500: "server_error",
    503: "not_ready",
}


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(int(status), "server_error" if int(status) >= 500 else "error")


def title_for(code: str, status: int) -> str:
    ptype = PROBLEM_TYPES.get(code) or PROBLEM_TYPES.get(code_for_status(status))
    if ptype is not None:
        return str(ptype.title)
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return str(_("Error"))


# ---------------------------------------------------------------------------------------------
# Schemas (documented in OpenAPI as components "Problem" and "ProblemFieldError")
# ---------------------------------------------------------------------------------------------


class ProblemFieldError(Schema):
    field: str = Field(
        ..., description="Dotted path of the invalid field: body.name, query.limit, path.public_id."
    )
    message: str = Field(..., description="What is wrong, translated.")
    code: str = Field(
        ..., description="Stable machine-readable reason, e.g. 'missing', 'int_parsing'."
    )


class Problem(Schema):
    """RFC 9457 problem details, with eHub's ``code``, ``request_id`` and ``errors`` extensions."""

    type: str = Field(
        ..., description="Relative URI identifying the problem type: /api/v1/problems/<code>."
    )
    title: str = Field(..., description="Short, translated summary of the problem type.")
    status: int = Field(..., ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(..., description="Translated explanation of this occurrence.")
    instance: str = Field(..., description="The path of the request that failed.")
    code: str = Field(
        ..., description="Stable machine-readable problem code (the last part of 'type')."
    )
    request_id: str = Field("", description="Quote this when reporting a problem.")
    errors: list[ProblemFieldError] = Field(
        default_factory=list, description="Field errors (validation problems only)."
    )


class ProblemTypeOut(Schema):
    type: str
    code: str
    status: int
    title: str
    description: str


# ---------------------------------------------------------------------------------------------
# Building responses
# ---------------------------------------------------------------------------------------------


def problem_body(
    request: HttpRequest | None,
    status: int,
    *,
    code: str | None = None,
    title: Any = None,
    detail: Any = None,
    errors: list[dict[str, str]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    code = code or code_for_status(status)
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": str(title) if title is not None else title_for(code, status),
        "status": int(status),
        "detail": str(detail) if detail is not None else title_for(code, status),
        "instance": request.path if request is not None else "",
        "code": code,
        "request_id": str(getattr(request, "request_id", "") or ""),
    }
    if errors:
        body["errors"] = [
            {"field": str(e["field"]), "message": str(e["message"]), "code": str(e["code"])}
            for e in errors
        ]
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    return body


def problem_response(
    request: HttpRequest | None,
    status: int,
    *,
    code: str | None = None,
    title: Any = None,
    detail: Any = None,
    errors: list[dict[str, str]] | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An ``application/problem+json`` response (works with or without django-ninja)."""
    body = problem_body(
        request, status, code=code, title=title, detail=detail, errors=errors, extensions=extensions
    )
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8",
        headers=headers,
    )
    return response


def is_problem(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)


def _domain_error_types() -> dict[str, ProblemType]:
    """Codes declared by DomainError subclasses anywhere in eHub (walked on demand)."""
    from ehub.core.errors import DomainError

    found: dict[str, ProblemType] = {}
    stack = list(DomainError.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        found.setdefault(cls.code, ProblemType(cls.code, int(cls.status), cls.title, doc))
    return found


def problem_type_out(code: str) -> dict[str, Any] | None:
    """The description that a problem ``type`` URI resolves to, or None for unknown codes."""
    ptype = PROBLEM_TYPES.get(code) or _domain_error_types().get(code)
    if ptype is None:
        return None
    return {
        "type": problem_type(ptype.code),
        "code": ptype.code,
        "status": ptype.status,
        "title": str(ptype.title),
        "description": str(ptype.description),
    }
