"""The OpenAPI document is valid 3.1 and documents problems; the docs page works offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

pytestmark = pytest.mark.django_db

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "eHub API"
    assert spec["info"]["version"] == "1"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_expected_operations_are_documented(spec):
    assert {(p, m) for p, m, _op in operations(spec)} >= {
        ("/api/v1/me", "get"),
        ("/api/v1/orgs", "get"),
        ("/api/v1/orgs/{public_id}", "get"),
        ("/api/v1/problems/{code}", "get"),
    }


def test_problem_schema(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail", "instance"}
    items = problem["properties"]["errors"]["items"]
    assert items == {"$ref": "#/components/schemas/ProblemFieldError"}
    assert set(spec["components"]["schemas"]["ProblemFieldError"]["required"]) == {
        "field",
        "message",
        "code",
    }


def test_every_operation_documents_its_problem_responses(spec):
    checked = 0
    for path, method, operation in operations(spec):
        responses = {int(code): r for code, r in operation["responses"].items()}
        expected = {500}
        if operation.get("security"):
            expected |= {401, 403}
        if "{" in path:
            expected.add(404)
        if operation.get("parameters") or operation.get("requestBody"):
            expected.add(422)
        if operation.get("requestBody"):
            expected.add(400)
        assert expected <= set(responses), (path, method, sorted(responses))
        for code in expected:
            assert responses[code]["content"] == {
                "application/problem+json": {"schema": PROBLEM_REF}
            }, (path, code)
        checked += 1
    assert checked >= 4


def test_api_operations_require_bearer_or_session(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionCookie"]["in"] == "cookie"
    for path, _method, operation in operations(spec):
        if path.startswith("/api/v1/problems/"):
            assert "security" not in operation
        else:
            assert operation["security"] == [{"BearerToken": []}, {"SessionCookie": []}], path


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [value for name, value in attrs if name in {"src", "href", "action"} and value]


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Refs()
    parser.feed(html)
    assert any(ref.endswith("swagger-ui-bundle.js") for ref in parser.refs)
    for ref in parser.refs:
        assert ref.startswith("/static/"), ref
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not a vendored static file"
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), (
        "the docs page names an external host"
    )
    # Swagger UI would otherwise fetch a badge from validator.swagger.io.
    assert '"validatorUrl": null' in html
    assert '"url": "/api/v1/openapi.json"' in html
