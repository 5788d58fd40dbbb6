"""Merchant settings: API tokens listed, created (secret shown once) and revoked."""

from __future__ import annotations

import re

import pytest

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, Role
from ehub.accounts.models import ApiToken
from ehub.core.context import Context

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/merchant/settings/"
SECRET_RE = re.compile(r"ehub_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def revoke_url(token_id: int) -> str:
    return f"/merchant/settings/tokens/{token_id}/revoke/"


def owner_ctx(user, org):
    return Context(user=user, org=org, roles=frozenset({Role.OWNER}))


def test_settings_page_lists_no_tokens_at_first(client, merchant_user):
    client.force_login(merchant_user)
    response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    assert "No tokens yet." in response.content.decode()


def test_created_token_secret_is_shown_once_only(client, merchant_user, merchant_org):
    client.force_login(merchant_user)
    response = client.post(SETTINGS_URL, {"name": "Shop sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    secrets = SECRET_RE.findall(text)
    assert len(set(secrets)) == 1
    assert "it will not be shown again" in text
    token = ApiToken.objects.get(org=merchant_org)
    assert token.name == "Shop sync"
    assert secrets[0].startswith(f"ehub_{token.prefix}_")
    assert services.authenticate_token(secrets[0]) == token

    listing = client.get(SETTINGS_URL).content.decode()
    assert secrets[0] not in listing
    assert not SECRET_RE.search(listing)
    assert "Shop sync" in listing
    assert token.prefix in listing
    assert token.token_hash not in listing


def test_token_name_is_required_and_the_error_is_on_the_field(client, merchant_user):
    client.force_login(merchant_user)
    response = client.post(SETTINGS_URL, {"name": "   "})
    assert response.status_code == 422
    text = response.content.decode()
    assert 'id="id_name_error"' in text
    assert 'aria-invalid="true"' in text
    assert not ApiToken.objects.exists()


def test_revoke_marks_the_token_revoked(client, merchant_user, merchant_org):
    issued = services.create_token(owner_ctx(merchant_user, merchant_org), "ERP export")
    client.force_login(merchant_user)
    response = client.post(revoke_url(issued.token.pk))
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    page = client.get(SETTINGS_URL).content.decode()
    assert "Revoked" in page
    assert revoke_url(issued.token.pk) not in page  # no revoke button any more
    assert services.authenticate_token(issued.secret) is None


def test_revoke_is_post_only(client, merchant_user, merchant_org):
    issued = services.create_token(owner_ctx(merchant_user, merchant_org), "ERP export")
    client.force_login(merchant_user)
    assert client.get(revoke_url(issued.token.pk)).status_code == 405


def test_another_orgs_token_is_not_found(client, merchant_user, make_user, make_org):
    other_org = make_org(kind=OrgKind.MERCHANT, name="Other Sdn. Bhd.")
    other_owner = make_user(org=other_org)
    theirs = services.create_token(owner_ctx(other_owner, other_org), "Theirs")
    client.force_login(merchant_user)

    assert client.post(revoke_url(theirs.token.pk)).status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
    assert "Theirs" not in client.get(SETTINGS_URL).content.decode()
    assert client.post(revoke_url(999999)).status_code == 404


def test_merchant_staff_may_not_manage_tokens(client, make_user, merchant_org):
    clerk = make_user(org=merchant_org, role=Role.STAFF)
    client.force_login(clerk)
    response = client.get(SETTINGS_URL)
    assert response.status_code == 403
    assert "owner or administrator" in response.content.decode()
    assert client.post(SETTINGS_URL, {"name": "Sneaky"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_token_pages_need_a_merchant(client, buyer_user):
    assert client.get(SETTINGS_URL).status_code == 302
    client.force_login(buyer_user)
    assert client.get(SETTINGS_URL).status_code == 403


def test_settings_page_queries_do_not_grow_with_tokens(
    client, merchant_user, merchant_org, django_assert_max_num_queries
):
    ctx = owner_ctx(merchant_user, merchant_org)
    for i in range(5):
        services.create_token(ctx, f"Token {i}")
    client.force_login(merchant_user)
    client.get(SETTINGS_URL)
    with django_assert_max_num_queries(5):
        assert client.get(SETTINGS_URL).status_code == 200
