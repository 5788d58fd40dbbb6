"""NUL characters are refused at the edge, naming the field, on every database."""

import pytest

from .conftest import bearer

pytestmark = pytest.mark.django_db


def test_nul_in_a_json_body_is_a_422_naming_the_field(client, token_a):
    response = client.post(
        "/api/v1/catalog/products",
        data={"brand": "Raja\x00", "translations": {"en": {"title": "Durian"}}},
        content_type="application/json",
        headers=bearer(token_a),
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "body.brand"
    assert response.json()["errors"][0]["code"] == "nul_character"


def test_nul_in_a_query_string_is_a_422(client, token_a):
    response = client.get("/api/v1/catalog/products", {"q": "durian\x00"}, headers=bearer(token_a))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.q"


def test_pages_answer_400_to_nul_in_parameters(client):
    assert client.get("/search/", {"q": "榴莲\x00"}).status_code == 400
    assert client.get("/search/", {"q": "榴莲"}).status_code == 200
