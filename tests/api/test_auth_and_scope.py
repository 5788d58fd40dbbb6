"""Who may call the API and what each caller sees: tokens, sessions, organization scope."""

from __future__ import annotations

import pytest

from ehub.accounts import services
from ehub.accounts.models import ApiToken, Membership, Organization
from ehub.core.context import Context

from .conftest import bearer

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0] == PROBLEM
    body = response.json()
    for member in ("type", "title", "status", "detail", "instance"):
        assert body[member], member
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/api/v1/problems/{code}"
    assert body["instance"] == response.wsgi_request.path
    return body


# -- no or bad credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/me", "/api/v1/orgs", "/api/v1/orgs/ORG-0000-0000-0000-0000"]
)
def test_no_credentials_is_401_problem_with_bearer_challenge(client, path):
    response = client.get(path)
    body = assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "errors" not in body


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ehub_deadbeef_not-a-real-token",
        "Bearer something-else",
        "Bearer ",
        "bearer ehub_00000000_x",
    ],
)
def test_unknown_token_is_401_invalid_token(client, header, user_a):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert_problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_invalid_bearer_does_not_fall_back_to_the_session(client, user_a):
    client.force_login(user_a)
    response = client.get("/api/v1/me", headers=bearer("ehub_deadbeef_nope"))
    assert_problem(response, 401, "invalid_token")


def test_revoked_token_is_401(client, token_a, user_a, org_a):
    assert client.get("/api/v1/me", headers=bearer(token_a)).status_code == 200
    token = ApiToken.objects.get(org=org_a)
    services.revoke_token(Context(user=user_a, org=org_a, roles=frozenset({"owner"})), token.pk)
    assert_problem(client.get("/api/v1/me", headers=bearer(token_a)), 401, "invalid_token")


def test_token_of_suspended_org_is_401(client, token_a, org_a):
    Organization.objects.filter(pk=org_a.pk).update(status="suspended")
    assert_problem(client.get("/api/v1/me", headers=bearer(token_a)), 401, "invalid_token")


# -- organization scope ---------------------------------------------------------------------


def test_token_reads_its_own_org(client, token_a, org_a):
    response = client.get(f"/api/v1/orgs/{org_a.public_id}", headers=bearer(token_a))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["public_id"] == org_a.public_id
    assert body["kind"] == "merchant"
    assert body["name"] == "Alpha Durian Sdn. Bhd."
    assert body["status"] == "active"


def test_typed_public_id_is_normalised(client, token_a, org_a):
    typed = org_a.public_id.lower().replace("-", "")
    assert client.get(f"/api/v1/orgs/{typed}", headers=bearer(token_a)).status_code == 200


def test_merchant_a_token_cannot_read_merchant_b(client, token_a, org_b):
    response = client.get(f"/api/v1/orgs/{org_b.public_id}", headers=bearer(token_a))
    body = assert_problem(response, 404, "not_found")
    assert org_b.legal_name not in response.content.decode()
    # Indistinguishable from an organization that does not exist at all.
    missing = client.get("/api/v1/orgs/ORG-0000-0000-0000-0000", headers=bearer(token_a)).json()
    garbage = client.get("/api/v1/orgs/not-an-id", headers=bearer(token_a)).json()
    for other in (missing, garbage):
        assert (other["status"], other["title"], other["detail"]) == (
            body["status"],
            body["title"],
            body["detail"],
        )


def test_token_of_user_in_two_orgs_sees_only_the_tokens_org(
    client, issue_token, user_ab, org_a, org_b
):
    token = issue_token(user_ab, org_a)
    assert client.get(f"/api/v1/orgs/{org_a.public_id}", headers=bearer(token)).status_code == 200
    assert_problem(
        client.get(f"/api/v1/orgs/{org_b.public_id}", headers=bearer(token)), 404, "not_found"
    )

    listing = client.get("/api/v1/orgs", headers=bearer(token)).json()
    assert listing["count"] == 1
    assert [o["public_id"] for o in listing["items"]] == [org_a.public_id]

    me = client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["auth"] == "token"
    assert me["org"]["public_id"] == org_a.public_id
    assert {m["org"]["public_id"] for m in me["memberships"]} == {org_a.public_id}
    assert org_b.public_id not in str(me)

    # The same user's B token sees B and not A.
    token_b = issue_token(user_ab, org_b)
    assert client.get(f"/api/v1/orgs/{org_b.public_id}", headers=bearer(token_b)).status_code == 200
    assert client.get(f"/api/v1/orgs/{org_a.public_id}", headers=bearer(token_b)).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token_b)).json()["roles"] == ["admin"]


def test_session_sees_all_of_the_users_orgs_and_nothing_else(client, user_ab, user_b, org_a, org_b):
    outsider = Organization.objects.create(kind="merchant", legal_name="Charlie Co", country="MY")
    client.force_login(user_ab)
    listing = client.get("/api/v1/orgs").json()
    assert listing["count"] == 2
    assert {o["public_id"] for o in listing["items"]} == {org_a.public_id, org_b.public_id}
    assert client.get(f"/api/v1/orgs/{org_b.public_id}").status_code == 200
    assert_problem(client.get(f"/api/v1/orgs/{outsider.public_id}"), 404, "not_found")


def test_session_user_of_b_cannot_read_a(client, user_b, org_a):
    client.force_login(user_b)
    assert_problem(client.get(f"/api/v1/orgs/{org_a.public_id}"), 404, "not_found")


def test_orgs_are_paginated_with_limit_and_offset(client, user_ab, org_a, org_b):
    client.force_login(user_ab)
    first = client.get("/api/v1/orgs?limit=1").json()
    second = client.get("/api/v1/orgs?limit=1&offset=1").json()
    assert first["count"] == second["count"] == 2
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["public_id"] != second["items"][0]["public_id"]
    assert client.get("/api/v1/orgs?offset=5").json() == {"items": [], "count": 2}


# -- /me ----------------------------------------------------------------------------------------


def test_me_with_session(client, user_ab, org_a, org_b):
    client.force_login(user_ab)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert me["auth"] == "session"
    assert me["user"] == {
        "id": user_ab.pk,
        "email": "both@example.com",
        "full_name": "Chen Both",
        "language": "",
    }
    assert me["org"]["public_id"] in {org_a.public_id, org_b.public_id}
    assert {(m["org"]["public_id"], m["org"]["kind"], m["role"]) for m in me["memberships"]} == {
        (org_a.public_id, "merchant", "owner"),
        (org_b.public_id, "merchant", "admin"),
    }
    assert "merchant" in me["portals"]
    assert "ops" not in me["portals"]


def test_me_session_follows_the_active_org(client, user_ab, org_b):
    client.force_login(user_ab)
    session = client.session
    session[services.SESSION_ORG_KEY] = org_b.pk
    session.save()
    me = client.get("/api/v1/me").json()
    assert me["org"]["public_id"] == org_b.public_id
    assert me["roles"] == ["admin"]


def test_me_with_token(client, token_a, user_a, org_a):
    me = client.get("/api/v1/me", headers=bearer(token_a)).json()
    assert me["user"]["email"] == user_a.email
    assert me["user"]["language"] == "ms"
    assert me["org"] == {"public_id": org_a.public_id, "kind": "merchant", "name": org_a.name}
    assert me["roles"] == ["owner"]
    assert me["portals"] == ["storefront", "academy", "merchant"]


def test_me_for_token_whose_creator_was_deleted(client, token_a, user_a, org_a):
    user_a.delete()
    me = client.get("/api/v1/me", headers=bearer(token_a)).json()
    assert me["user"] is None
    assert me["org"]["public_id"] == org_a.public_id
    assert me["memberships"] == []


def test_anonymous_session_cookie_is_not_enough(client):
    client.cookies["sessionid"] = "forged"
    assert_problem(client.get("/api/v1/me"), 401, "unauthenticated")


# -- query counts --------------------------------------------------------------------------------


def test_me_query_count_token(client, token_a, django_assert_max_num_queries):
    client.get("/api/v1/me", headers=bearer(token_a))  # warm up last_used_at
    # token lookup (with org + creator), creator's roles, memberships
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/me", headers=bearer(token_a)).status_code == 200


def test_me_query_count_session(client, user_ab, django_assert_max_num_queries):
    client.force_login(user_ab)
    # session, user, memberships (with orgs)
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/me").status_code == 200


def test_org_detail_query_count(client, token_a, org_a, django_assert_max_num_queries):
    client.get("/api/v1/me", headers=bearer(token_a))
    # token lookup, creator's roles, the org
    with django_assert_max_num_queries(3):
        assert (
            client.get(f"/api/v1/orgs/{org_a.public_id}", headers=bearer(token_a)).status_code
            == 200
        )


def test_org_list_query_count_does_not_grow_with_orgs(
    client, user_ab, django_assert_max_num_queries
):
    for n in range(8):
        org = Organization.objects.create(kind="merchant", legal_name=f"Extra {n}", country="MY")
        Membership.objects.create(user=user_ab, org=org, role="staff")
    client.force_login(user_ab)
    # session, user, memberships (the Context), count, page
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/orgs")
    assert response.json()["count"] == 10
