"""Property-based run of the whole OpenAPI document against the app (schemathesis, via WSGI).

Every operation, with generated valid and invalid inputs and a merchant's bearer token, must
never answer 5xx and must always answer what the document says (status, media type, body
schema, problem+json included). Examples are bounded so the run takes a few seconds.

(schemathesis's own pytest plugin, ``schemathesis.pytest.from_fixture``, does not run under
pytest 9 — it writes ``node._nodeid`` — so the operations are driven with plain Hypothesis.)
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ehub.api import api

from .conftest import bearer

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 30
METHODS = {"get", "put", "post", "delete", "patch"}
OPERATIONS = sorted(
    (path, method.upper())
    for path, item in api.get_openapi_schema(path_prefix="/api/v1/")["paths"].items()
    for method in item
    if method in METHODS
)


def _strategies(operation, known_path_parameters: dict[str, str]):
    yield operation.as_strategy(GenerationMode.POSITIVE)
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in known_path_parameters.items() if k in names}
    if fixed:
        # Also hit resources that exist, so 200 responses get checked too.
        yield operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
    if operation.path_parameters or operation.query or operation.body:
        yield operation.as_strategy(GenerationMode.NEGATIVE)


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """Requests through the WSGI app would close the test's connection at request end (Django's
    own test client disconnects this handler the same way); on PostgreSQL that ends the test's
    transaction."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_operations_were_found():
    assert ("/api/v1/me", "GET") in OPERATIONS
    assert ("/api/v1/orgs/{public_id}", "GET") in OPERATIONS


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_operation_conforms_to_the_schema(path, method, token_a, org_a):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operation = schema[path][method]
    known = {"public_id": org_a.public_id, "code": "not_found"}
    seen_statuses: set[int] = set()

    @given(case=st.one_of(*_strategies(operation, known)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call_and_validate(
            headers=bearer(token_a), checks=[not_a_server_error, response_schema_conformance]
        )
        seen_statuses.add(response.status_code)

    run()
    assert seen_statuses, "no request was made"
    assert max(seen_statuses) < 500
