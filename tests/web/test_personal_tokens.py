"""Personal API tokens: a buyer makes one on the profile page and uses the API as themselves;
it reaches no organization's data and only its owner can revoke it."""

from __future__ import annotations

import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections

from ehub.accounts import services
from ehub.accounts.models import ApiToken
from ehub.core.context import Context

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"
CREATE = "/accounts/profile/tokens/"
SECRET_RE = re.compile(r"ehub_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def revoke_url(token_id: int) -> str:
    return f"/accounts/profile/tokens/{token_id}/revoke/"


def me(user) -> Context:
    return Context(user=user, org=None, roles=frozenset())


def test_buyer_creates_a_token_on_the_profile_page_and_sees_its_secret_once(client, buyer_user):
    client.force_login(buyer_user)
    assert "No tokens yet." in client.get(PROFILE).content.decode()
    response = client.post(CREATE, {"name": "My shopping app"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secrets = set(SECRET_RE.findall(response.content.decode()))
    assert len(secrets) == 1
    secret = secrets.pop()
    token = ApiToken.objects.get(created_by=buyer_user)
    assert token.org is None and token.name == "My shopping app"
    assert services.authenticate_token(secret) == token

    listing = client.get(PROFILE).content.decode()
    assert "My shopping app" in listing and token.prefix in listing
    assert not SECRET_RE.search(listing)


def test_a_nameless_token_is_refused_on_the_field(client, buyer_user):
    client.force_login(buyer_user)
    response = client.post(CREATE, {"name": "  "})
    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_personal_token_acts_as_the_buyer_with_no_organization(client, buyer_user, make_user):
    secret = services.create_personal_token(me(buyer_user), "script").secret
    body = client.get("/api/v1/me", headers=bearer(secret)).json()
    assert body["user"]["email"] == buyer_user.email
    assert body["auth"] == "token"
    assert (body["org"], body["memberships"]) == (None, [])
    assert set(body["portals"]) == {"storefront", "academy"}  # the public ones, no business portal

    # The buyer's own cart is theirs through the token; another buyer's is not found.
    cart = client.post("/api/v1/carts", headers=bearer(secret), content_type="application/json")
    assert cart.status_code == 201, cart.content
    cart_id = cart.json()["public_id"]
    assert client.get(f"/api/v1/carts/{cart_id}", headers=bearer(secret)).status_code == 200
    other = make_user("other@example.cn")
    other_secret = services.create_personal_token(me(other), "theirs").secret
    assert client.get(f"/api/v1/carts/{cart_id}", headers=bearer(other_secret)).status_code == 404


def test_a_merchants_personal_token_does_not_reach_the_company(client, merchant_user, merchant_org):
    secret = services.create_personal_token(me(merchant_user), "mine").secret
    body = client.get("/api/v1/me", headers=bearer(secret)).json()
    assert body["org"] is None and body["memberships"] == []
    listed = client.get("/api/v1/orgs", headers=bearer(secret)).json()
    assert listed["count"] == 0
    response = client.get(f"/api/v1/orgs/{merchant_org.public_id}", headers=bearer(secret))
    assert response.status_code == 404
    # The company's products: the owner's session reads them, the personal token may not.
    client.force_login(merchant_user)
    assert client.get("/api/v1/catalog/products").status_code == 200
    assert client.get("/api/v1/catalog/products", headers=bearer(secret)).status_code == 403
    # The company's token list does not show it, and the company's admins cannot revoke it.
    owner = Context(user=merchant_user, org=merchant_org, roles=frozenset({"owner"}))
    assert not services.list_tokens(owner).exists()


def test_a_staff_members_personal_token_has_no_platform_staff_power(client, staff_user):
    """Platform staff read every ledger account when signed in; their personal token acts as a
    buyer does and may not."""
    secret = services.create_personal_token(me(staff_user), "mine").secret
    client.force_login(staff_user)
    assert client.get("/api/v1/ledger/accounts").status_code == 200
    assert client.get("/api/v1/ledger/accounts", headers=bearer(secret)).status_code == 403
    token_ctx = services.context_for_token(services.authenticate_token(secret))
    assert not services.is_platform_staff(token_ctx, allow_system=True)


def test_only_the_owner_revokes_and_a_revoked_token_is_401(client, buyer_user, make_user):
    issued = services.create_personal_token(me(buyer_user), "script")
    intruder = make_user("intruder@example.cn")
    client.force_login(intruder)
    assert client.post(revoke_url(issued.token.pk)).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(issued.secret)).status_code == 200

    client.force_login(buyer_user)
    response = client.post(revoke_url(issued.token.pk))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    page = client.get(PROFILE).content.decode()
    assert "Revoked" in page and revoke_url(issued.token.pk) not in page
    response = client.get("/api/v1/me", headers=bearer(issued.secret))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_revoke_needs_post_and_a_session(client, buyer_user):
    issued = services.create_personal_token(me(buyer_user), "script")
    assert client.post(revoke_url(issued.token.pk)).status_code == 302  # to the login page
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    client.force_login(buyer_user)
    assert client.get(revoke_url(issued.token.pk)).status_code == 405


def test_at_most_twenty_active_tokens(buyer_user):
    for i in range(services.MAX_PERSONAL_TOKENS):
        services.create_personal_token(me(buyer_user), f"t{i}")
    with pytest.raises(services.ValidationFailed) as caught:
        services.create_personal_token(me(buyer_user), "one more")
    assert [e.field for e in caught.value.errors] == ["name"]
    first = ApiToken.objects.filter(created_by=buyer_user).first()
    services.revoke_personal_token(me(buyer_user), first.pk)
    assert services.create_personal_token(me(buyer_user), "one more").token.org is None


def test_the_profile_page_lists_every_active_token_however_many_were_revoked(client, buyer_user):
    kept = services.create_personal_token(me(buyer_user), "the long-lived one").token
    for i in range(50):
        old = services.create_personal_token(me(buyer_user), f"rotated {i}").token
        services.revoke_personal_token(me(buyer_user), old.pk)
    client.force_login(buyer_user)
    page = client.get(PROFILE).content.decode()
    assert revoke_url(kept.pk) in page  # still on the page, and still revocable from it


def test_cli_revokes_a_personal_token_by_prefix(buyer_user):
    issued = services.create_personal_token(me(buyer_user), "script")
    call_command("token", "revoke", issued.token.prefix)
    assert services.authenticate_token(issued.secret) is None


def test_a_personal_token_of_a_deactivated_user_is_refused(buyer_user):
    issued = services.create_personal_token(me(buyer_user), "script")
    buyer_user.is_active = False
    buyer_user.save(update_fields=["is_active"])
    assert services.authenticate_token(issued.secret) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_requests_cannot_pass_the_limit(make_user):
    """Eight requests at once for the last two places: two tokens are made, six refused (the
    maker's row is locked while the active ones are counted)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set EHUB_TEST_DATABASE_URL to PostgreSQL)")
    user = make_user("racer@example.cn")
    for i in range(services.MAX_PERSONAL_TOKENS - 2):
        services.create_personal_token(me(user), f"t{i}")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def race(i: int) -> None:
        try:
            barrier.wait()
            services.create_personal_token(me(user), f"racer {i}")
            outcomes.append("made")
        except services.ValidationFailed:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["made"] * 2 + ["refused"] * 6
    active = ApiToken.objects.filter(created_by=user, revoked_at__isnull=True).count()
    assert active == services.MAX_PERSONAL_TOKENS
