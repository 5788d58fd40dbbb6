"""eHub's REST API: one django-ninja ``NinjaAPI`` mounted at ``/api/v1/``.

* OpenAPI 3.1 document at ``/api/v1/openapi.json``; interactive docs at ``/api/v1/docs``
  (Swagger UI from django-ninja's vendored static files: no CDN, works offline).
* Authentication: API token (``Authorization: Bearer …``) or the portal session (+ CSRF for
  unsafe methods); see ``ehub.accounts.api``. Handlers get a Context from ``ctx_of(request)``.
* Errors: every 4xx/5xx is RFC 9457 ``application/problem+json`` (``ehub.core.problem``
  defines the shape and the ``/api/v1/problems/<code>`` type scheme). That covers ninja's
  validation errors, authentication, CSRF, DomainError subclasses raised by services, bodies
  that are not JSON, unknown paths under /api/v1/ (a catch-all), wrong methods, and unhandled
  exceptions (logged; the body never carries a traceback). The OpenAPI document lists the
  problem responses of every operation.

Adding a context's API: write ``<context>/api.py`` with a ``router = Router(tags=[...])`` and
add one line to ``ROUTERS`` below (URL prefix under /api/v1/, dotted path of the router).
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import (
    AuthenticationError,
    HttpError,
    Throttled,
    ValidationError,
    ValidationErrorContext,
)
from ninja.parser import Parser

from ehub.accounts.api import CsrfFailed, InvalidToken, api_auth
from ehub.core.errors import DomainError
from ehub.core.problem import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    ProblemTypeOut,
    is_problem,
    problem_response,
    problem_type_out,
)

logger = logging.getLogger("ehub.api")

# (prefix under /api/v1/, dotted path of a ninja Router). One line per context, lowest first.
ROUTERS: list[tuple[str, str]] = [
    ("", "ehub.accounts.api.router"),  # /me, /orgs, /orgs/{public_id}
    ("catalog", "ehub.catalog.api.router"),  # products, SKUs, HS finder, tariff lines
    ("inventory", "ehub.catalog.api_inventory.router"),  # stock per SKU per hub, movements
    ("campaigns", "ehub.campaigns.api.router"),  # campaigns, offers, flash-sale claims
    ("customs", "ehub.customs.api.router"),  # documents, declarations, receipts
    ("customs/exports", "ehub.customs.api_export.router"),  # Malaysian export declarations (K2)
    ("ledger", "ehub.ledger.api.router"),  # accounts and balances (platform staff)
    ("payments", "ehub.payments.api.router"),  # payment intents, refunds, balances, payouts
    ("carts", "ehub.orders.api.carts_router"),  # carts and checkout
    ("orders", "ehub.orders.api.router"),  # orders, confirm receipt, refund requests
    ("fulfillment", "ehub.fulfillment.api.router"),  # ASNs, shipments, parcels, tracking
    ("academy", "ehub.academy.api.router"),  # courses, enrolments, certificates
]

WWW_AUTHENTICATE = 'Bearer realm="eHub API"'
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_LOCATIONS = ("body", "query", "path", "header", "cookie", "form", "file")


# Plain-language, translated messages for the pydantic error types clients meet most.
def _validation_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "int_from_float": _("Enter a whole number."),
        "float_parsing": _("Enter a number."),
        "bool_parsing": _("Enter true or false."),
        "string_type": _("Enter text."),
        "json_invalid": _("The body is not valid JSON."),
        "model_attributes_type": _("Expected a JSON object."),
        "dict_type": _("Expected a JSON object."),
        "list_type": _("Expected a list."),
        "enum": _("Choose one of the allowed values."),
        "literal_error": _("Choose one of the allowed values."),
        "datetime_parsing": _("Enter a date and time (ISO 8601)."),
        "date_parsing": _("Enter a date (YYYY-MM-DD)."),
        "uuid_parsing": _("Enter a valid UUID."),
    }
    if kind in messages:
        return str(messages[kind])
    if kind == "greater_than_equal":
        return _("Must be at least %(limit)s.") % {"limit": ctx.get("ge")}
    if kind == "greater_than":
        return _("Must be greater than %(limit)s.") % {"limit": ctx.get("gt")}
    if kind == "less_than_equal":
        return _("Must be at most %(limit)s.") % {"limit": ctx.get("le")}
    if kind == "less_than":
        return _("Must be less than %(limit)s.") % {"limit": ctx.get("lt")}
    if kind == "string_too_short":
        return _("Use at least %(limit)s characters.") % {"limit": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Use at most %(limit)s characters.") % {"limit": ctx.get("max_length")}
    return str(error.get("msg") or _("This value is invalid."))


def _field_path(loc: Any) -> str:
    return ".".join(str(part) for part in (loc or ()) if part != "") or "body"


def _nul_paths(value: Any, path: tuple) -> list[tuple]:
    """Where a parsed JSON value holds a NUL character (in a key or a string)."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if "\x00" in str(key):
                found.append((*path, str(key).replace("\x00", "\\0")))
            found.extend(_nul_paths(item, (*path, key)))
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _nul_paths(item, (*path, i))]
    return []


def _refuse_nul(value: Any, source: str) -> None:
    # No database stores NUL in text (PostgreSQL refuses it outright), and no trade document
    # needs it: refuse it at the edge, naming the field, instead of failing deep in a service.
    paths = _nul_paths(value, (source,))
    if paths:
        raise ValidationError(
            [
                {"loc": path, "msg": _("NUL characters are not allowed."), "type": "nul_character"}
                for path in paths
            ]
        )


class EhubParser(Parser):
    """ninja's JSON parser, refusing NUL characters in bodies and query strings."""

    def parse_body(self, request: HttpRequest):
        data = super().parse_body(request)
        _refuse_nul(data, "body")
        return data

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        result = super().parse_querydict(data, list_fields, request)
        _refuse_nul(result, "query" if data is request.GET else "form")
        return result


class EhubAPI(NinjaAPI):
    """NinjaAPI whose every error is problem+json, with a catch-all and a documented schema."""

    # -- errors ------------------------------------------------------------------------------

    def set_default_exception_handlers(self) -> None:
        self.add_exception_handler(ValidationError, self._on_validation_error)
        self.add_exception_handler(AuthenticationError, self._on_authentication_error)
        self.add_exception_handler(HttpError, self._on_http_error)
        self.add_exception_handler(Http404, self._on_not_found)
        self.add_exception_handler(DomainError, self._on_domain_error)
        self.add_exception_handler(DjangoPermissionDenied, self._on_django_permission_denied)
        self.add_exception_handler(Exception, self._on_unhandled)

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        # Like ninja's, but a single schema body parameter (``payload: OrgIn``) is the body
        # itself: its fields are reported as ``body.name``, not ``body.payload.name``.
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            single = getattr(model, "__read_from_single_attr__", None)
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = tuple(model.__ninja_flatten_map_reverse__.get(error["loc"], error["loc"]))
                if single and loc and loc[0] == single:
                    loc = loc[1:]
                item = {k: v for k, v in error.items() if k != "input"}
                item["loc"] = (model.__ninja_param_source__, *loc)
                if isinstance(item.get("ctx"), dict):
                    item["ctx"] = {
                        k: (str(v) if isinstance(v, Exception) else v)
                        for k, v in item["ctx"].items()
                    }
                errors.append(item)
        return ValidationError(errors)

    def _on_validation_error(self, request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {
                "field": _field_path(error.get("loc")),
                "message": _validation_message(error),
                "code": str(error.get("type") or "invalid"),
            }
            for error in exc.errors
        ]
        if any(e["code"] == "json_invalid" for e in errors):
            return problem_response(
                request,
                400,
                code="malformed_request",
                detail=_("The request body is not valid JSON."),
            )
        return problem_response(
            request,
            422,
            code="validation_failed",
            detail=_("The request has invalid fields; see 'errors'."),
            errors=errors,
        )

    def _on_authentication_error(
        self, request: HttpRequest, exc: AuthenticationError
    ) -> HttpResponse:
        if isinstance(exc, InvalidToken):
            return problem_response(
                request,
                401,
                code="invalid_token",
                detail=_("The bearer token is unknown or has been revoked."),
                headers={"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
            )
        return problem_response(
            request,
            401,
            code="unauthenticated",
            detail=_("Send an API token in the Authorization header (Bearer), or sign in."),
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )

    def _on_http_error(self, request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        if isinstance(exc.__cause__, ValidationError):
            # ninja wraps any parser error in a 400; a field-level refusal of ours (NUL) is 422.
            return self._on_validation_error(request, exc.__cause__)
        if isinstance(exc, CsrfFailed):
            return problem_response(
                request,
                403,
                code="csrf_failed",
                detail=_(
                    "Session-authenticated requests that change data must send the CSRF token."
                ),
            )
        if isinstance(exc, Throttled):
            return problem_response(
                request, 429, code="throttled", detail=_("Too many requests; try again later.")
            )
        if status == 400:
            # ninja raises HttpError(400) when the body cannot be parsed.
            return problem_response(
                request,
                400,
                code="malformed_request",
                detail=_("The request body is not valid JSON."),
            )
        if status == 401:
            return self._on_authentication_error(request, AuthenticationError())
        if status == 403:
            return self._on_django_permission_denied(request, exc)
        if status == 404:
            return self._on_not_found(request, Http404())
        # Other HttpErrors come from handlers; their messages are theirs to translate.
        return problem_response(request, status, detail=str(exc.message))

    def _on_not_found(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        return problem_response(
            request, 404, code="not_found", detail=_("The requested resource was not found.")
        )

    def _on_domain_error(self, request: HttpRequest, exc: DomainError) -> HttpResponse:
        errors = [e.as_dict() for e in exc.errors]
        if request.method in _BODY_METHODS:
            # Services name their inputs' fields; through the API those inputs are the body.
            for error in errors:
                if error["field"].split(".", 1)[0] not in _LOCATIONS:
                    error["field"] = f"body.{error['field']}"
        return problem_response(
            request,
            int(exc.status),
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=errors,
        )

    def _on_django_permission_denied(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        return problem_response(
            request, 403, code="permission_denied", detail=_("You are not allowed to do this.")
        )

    def _on_unhandled(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.error(
            "Unhandled error in API %s %s (request %s)",
            request.method,
            request.path,
            getattr(request, "request_id", "-"),
            exc_info=exc,
        )
        return problem_response(
            request,
            500,
            code="server_error",
            detail=_(
                "Something went wrong on our side. It has been logged; "
                "quote the request_id if you report it."
            ),
        )

    # -- URLs: problem+json for wrong methods, unknown paths, and non-operation views ---------

    def _problem_view(self, view, *, safe_only: bool = False):
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if safe_only and request.method not in ("GET", "HEAD"):
                return self._method_not_allowed(request, "GET, HEAD")
            try:
                response = view(request, *args, **kwargs)
            except Http404 as exc:
                return self._on_not_found(request, exc)
            except Exception as exc:
                return self.on_exception(request, exc)
            if response.status_code == 405 and not is_problem(response):
                return self._method_not_allowed(request, response.get("Allow", ""))
            return response

        wrapped.csrf_exempt = True  # ninja's auth does CSRF for session callers itself
        return wrapped

    def _method_not_allowed(self, request: HttpRequest, allow: str) -> HttpResponse:
        return problem_response(
            request,
            405,
            code="method_not_allowed",
            detail=_("The method %(method)s is not allowed here.") % {"method": request.method},
            headers={"Allow": allow},
        )

    def _unknown_path(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return problem_response(
            request,
            404,
            code="not_found",
            detail=_("There is no API endpoint at this address; see /api/v1/docs."),
        )

    def _get_urls(self) -> list:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                safe_only = pattern.name in ("openapi-json", "openapi-view")
                pattern.callback = self._problem_view(pattern.callback, safe_only=safe_only)
        urls.append(re_path(r"^.*$", self._problem_view(self._unknown_path), name="unknown"))
        return urls

    # -- OpenAPI: the Problem schema and the problem responses of every operation -------------

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict | None = None
    ):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_problems(schema)
        return schema


def _problem_components() -> dict[str, Any]:
    definition = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    components = definition.pop("$defs", {})
    components["Problem"] = definition
    return components


def document_problems(schema: dict[str, Any]) -> None:
    """Add the Problem schema and, to every operation, the problem responses it can give."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(_problem_components())
    ref = {"$ref": "#/components/schemas/Problem"}
    descriptions = {
        400: "Malformed request (body is not JSON)",
        401: "Not authenticated, or the token is invalid (problem+json; WWW-Authenticate: Bearer)",
        403: "Forbidden: role does not allow it, or CSRF token missing on a session call",
        404: "Not found, or not visible to the caller",
        409: "Conflicts with the current state",
        422: "Validation failed: 'errors' names each invalid field",
        500: "Internal server error (logged; no details leak)",
    }
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.get("parameters") or []
            codes = {500}
            if operation.get("security"):
                codes |= {401, 403}
            if any(p.get("in") == "path" for p in params):
                codes.add(404)
            if params or operation.get("requestBody"):
                codes.add(422)
            if operation.get("requestBody"):
                codes.add(400)
            responses = operation["responses"]
            for status, response in list(responses.items()):
                # Problem responses an operation declared itself get the right media type.
                content = response.get("content") or {}
                if any(media.get("schema") == ref for media in content.values()):
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": ref}}
                    codes.discard(int(status))
            for status in sorted(codes):
                if str(status) in responses or status in responses:
                    continue
                response = {
                    "description": descriptions[status],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": ref}},
                }
                if status == 401:
                    response["headers"] = {
                        "WWW-Authenticate": {
                            "description": "The authentication scheme (Bearer).",
                            "schema": {"type": "string"},
                        }
                    }
                responses[status] = response


api = EhubAPI(
    title="eHub API",
    version="1",
    description="REST API of eHub, the digital trade hub. Errors are RFC 9457 problem+json; "
    "authenticate with an API token (`Authorization: Bearer …`) or a signed-in session.",
    urls_namespace="api-v1",
    parser=EhubParser(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": True}),
    auth=api_auth(),
)

for _prefix, _router in ROUTERS:
    api.add_router(_prefix, import_string(_router))


@api.get(
    "/problems/{code}",
    auth=None,
    response=ProblemTypeOut,
    tags=["problems"],
    summary="What a problem type means",
    description="Problem `type` URIs (`/api/v1/problems/<code>`) resolve here.",
)
def problem_type_doc(request: HttpRequest, code: str):
    found = problem_type_out(code)
    if found is None:
        raise Http404
    return found
