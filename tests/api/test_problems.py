"""Every API error is RFC 9457 problem+json: validation, unknown paths, methods, domain, 500.

Bodies, CSRF and domain errors raised from a POST are exercised on a small test-only API
(built with the same EhubAPI class and mounted by this module's own URLconf), since the
public API has no write endpoint yet.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import path
from ninja import Field, Router, Schema
from ninja.responses import Status

from ehub import urls as ehub_urls
from ehub.accounts import services
from ehub.accounts.api import api_auth, ctx_of
from ehub.api import EhubAPI
from ehub.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed

from .conftest import bearer
from .test_auth_and_scope import assert_problem

pytestmark = pytest.mark.django_db

# -- a test-only API with a write endpoint ------------------------------------------------------


class ThingIn(Schema):
    name: str = Field(..., min_length=1, max_length=20)
    quantity: int = Field(..., ge=1)


class ThingOut(Schema):
    name: str
    quantity: int
    org: str


test_router = Router()


@test_router.post("/things", response={201: ThingOut})
def create_thing(request, payload: ThingIn):
    ctx = ctx_of(request)
    if payload.name == "taken":
        raise ValidationFailed([FieldError("name", "This name is taken.", "taken")])
    if payload.name == "locked":
        raise Conflict("The shelf is locked.", code="shelf_locked")
    if payload.name == "staff-only":
        raise PermissionDenied()
    return Status(
        201, {"name": payload.name, "quantity": payload.quantity, "org": ctx.org.public_id}
    )


@test_router.get("/boom")
def boom(request):
    raise RuntimeError("secret-internal-detail: password=hunter2")


@test_router.get("/ninja-forbidden")
def ninja_forbidden(request):
    from ninja.errors import AuthorizationError

    raise AuthorizationError()


test_api = EhubAPI(title="test", version="test", urls_namespace="api-test", auth=api_auth())
test_api.add_router("", test_router)

urlpatterns = [path("api/v1/", test_api.urls), *ehub_urls.urlpatterns[:2]]

on_test_api = pytest.mark.urls(__name__)

# -- unknown paths and methods on the real API -------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v1/", "/api/v1/me/", "/api/v1/orgs/x/y", "/api/v1/%00"]
)
def test_unknown_api_path_is_404_problem(client, path):
    body = assert_problem(client.get(path), 404, "not_found")
    assert "<html" not in str(body).lower()


def test_unknown_api_path_is_404_problem_for_any_method_even_with_a_token(client, token_a):
    assert_problem(client.post("/api/v1/nope", headers=bearer(token_a)), 404, "not_found")
    assert_problem(client.delete("/api/v1/nope"), 404, "not_found")


def test_wrong_method_is_405_problem_with_allow(client, token_a):
    response = client.post("/api/v1/me", headers=bearer(token_a))
    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    response = client.post("/api/v1/openapi.json")
    assert_problem(response, 405, "method_not_allowed")


def test_query_validation_error_names_the_field(client, token_a):
    response = client.get("/api/v1/orgs?limit=abc&offset=-1", headers=bearer(token_a))
    body = assert_problem(response, 422, "validation_failed")
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"query.limit", "query.offset"}
    assert fields["query.limit"]["code"] == "int_parsing"
    assert fields["query.offset"]["code"] == "greater_than_equal"
    assert all(e["message"] for e in body["errors"])


def test_limit_above_maximum_is_rejected(client, token_a):
    body = assert_problem(
        client.get("/api/v1/orgs?limit=101", headers=bearer(token_a)), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] == "query.limit"
    assert "100" in body["errors"][0]["message"]


def test_auth_comes_before_validation(client):
    assert_problem(client.get("/api/v1/orgs?limit=abc"), 401, "unauthenticated")


# -- unhandled exceptions ------------------------------------------------------------------------


def test_unhandled_error_is_500_problem_without_traceback(client, token_a, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret-internal-detail: password=hunter2")

    monkeypatch.setattr(services, "memberships_visible_to", explode)
    with caplog.at_level(logging.ERROR, logger="ehub.api"):
        response = client.get("/api/v1/me", headers=bearer(token_a))
    body = assert_problem(response, 500, "server_error")
    text = response.content.decode()
    assert "secret-internal-detail" not in text
    assert "hunter2" not in text
    assert "Traceback" not in text and "RuntimeError" not in text
    assert body["request_id"] == response["X-Request-ID"]
    # ...but it is logged, with the traceback, for the operator.
    record = next(r for r in caplog.records if r.name == "ehub.api")
    assert record.exc_info and "secret-internal-detail" in str(record.exc_info[1])
    assert body["request_id"] in record.getMessage()


@on_test_api
def test_unhandled_error_on_a_route(client, token_a):
    response = client.get("/api/v1/boom", headers=bearer(token_a))
    assert_problem(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()


# -- bodies, domain errors and CSRF (test-only API) -----------------------------------------


@on_test_api
def test_valid_post_with_token(client, token_a, org_a):
    response = client.post(
        "/api/v1/things",
        {"name": "durian", "quantity": 3},
        content_type="application/json",
        headers=bearer(token_a),
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"name": "durian", "quantity": 3, "org": org_a.public_id}


@on_test_api
def test_body_validation_errors_name_body_fields(client, token_a):
    response = client.post(
        "/api/v1/things",
        {"name": "", "quantity": "many"},
        content_type="application/json",
        headers=bearer(token_a),
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "body.name": "string_too_short",
        "body.quantity": "int_parsing",
    }


@on_test_api
def test_missing_body_field(client, token_a):
    response = client.post(
        "/api/v1/things", {"name": "x"}, content_type="application/json", headers=bearer(token_a)
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [
        {"field": "body.quantity", "message": "This field is required.", "code": "missing"}
    ]


@on_test_api
@pytest.mark.parametrize("raw", ["{not json", '{"name": "x", "quantity": 1', "\x00\x01"])
def test_malformed_json_is_400_problem(client, token_a, raw):
    response = client.post(
        "/api/v1/things", raw, content_type="application/json", headers=bearer(token_a)
    )
    assert_problem(response, 400, "malformed_request")


@on_test_api
def test_domain_validation_failure_is_422_with_the_services_field(client, token_a):
    response = client.post(
        "/api/v1/things",
        {"name": "taken", "quantity": 1},
        content_type="application/json",
        headers=bearer(token_a),
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [
        {"field": "body.name", "message": "This name is taken.", "code": "taken"}
    ]


@on_test_api
def test_domain_error_keeps_its_status_and_code(client, token_a):
    response = client.post(
        "/api/v1/things",
        {"name": "locked", "quantity": 1},
        content_type="application/json",
        headers=bearer(token_a),
    )
    body = assert_problem(response, 409, "shelf_locked")
    assert body["detail"] == "The shelf is locked."
    response = client.post(
        "/api/v1/things",
        {"name": "staff-only", "quantity": 1},
        content_type="application/json",
        headers=bearer(token_a),
    )
    assert_problem(response, 403, "permission_denied")


@on_test_api
def test_session_post_needs_csrf(csrf_client, user_a):
    csrf_client.force_login(user_a)
    response = csrf_client.post(
        "/api/v1/things", {"name": "x", "quantity": 1}, content_type="application/json"
    )
    assert_problem(response, 403, "csrf_failed")

    csrf_client.get("/api/v1/docs")  # the docs page sets the CSRF cookie, as a portal page would
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/api/v1/things",
        {"name": "x", "quantity": 1},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.content


@on_test_api
def test_token_post_needs_no_csrf(csrf_client, token_a):
    response = csrf_client.post(
        "/api/v1/things",
        {"name": "x", "quantity": 1},
        content_type="application/json",
        headers=bearer(token_a),
    )
    assert response.status_code == 201


@on_test_api
def test_anonymous_post_is_401_not_403(csrf_client):
    response = csrf_client.post(
        "/api/v1/things", {"name": "x", "quantity": 1}, content_type="application/json"
    )
    assert_problem(response, 401, "unauthenticated")


# -- problem type URIs resolve ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["not_found", "validation_failed", "unauthenticated", "server_error"]
)
def test_problem_type_uri_resolves(client, code):
    response = client.get(f"/api/v1/problems/{code}")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == f"/api/v1/problems/{code}"
    assert body["title"] and body["description"]


def test_domain_error_codes_resolve_too(client):
    body = client.get("/api/v1/problems/audit_append_only").json()
    assert body["status"] == 409


def test_unknown_problem_type_is_404(client):
    assert_problem(client.get("/api/v1/problems/no_such_problem"), 404, "not_found")


@pytest.mark.parametrize("language", ["en", "ms", "zh-hans"])
def test_problem_titles_are_in_the_request_language(client, language):
    from django.utils import translation

    from ehub.core.problem import PROBLEM_TYPES

    response = client.get("/api/v1/me", headers={"Accept-Language": language})
    assert response["Content-Language"] == language
    body = response.json()
    assert body["code"] == "unauthenticated"  # codes and type URIs are never translated
    with translation.override(language):
        assert body["title"] == str(PROBLEM_TYPES["unauthenticated"].title)


@on_test_api
def test_ninja_authorization_error_is_403_problem(client, token_a):
    body = assert_problem(
        client.get("/api/v1/ninja-forbidden", headers=bearer(token_a)), 403, "permission_denied"
    )
    assert body["detail"] != "Forbidden"  # ours, translated, not ninja's English default
