"""Django admin for accounts: email users, org approval through the service, nothing in clear."""

from __future__ import annotations

import pytest

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import BuyerProfile, Organization, User
from ehub.core.context import Context

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("root@ehub.example", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["user", "organization", "apitoken", "buyerprofile"])
def test_changelists_render(admin_client, merchant_user, buyer_user, model):
    assert admin_client.get(f"/admin/accounts/{model}/").status_code == 200


def test_organization_filters_by_kind_and_status(admin_client, make_org):
    make_org(kind=OrgKind.MERCHANT, name="Pending One", status=OrgStatus.PENDING)
    make_org(kind=OrgKind.HUB_OPERATOR, name="Hub One")
    text = admin_client.get("/admin/accounts/organization/?status__exact=pending").content.decode()
    assert "Pending One" in text
    assert "Hub One" not in text
    changelist = admin_client.get("/admin/accounts/organization/").content.decode()
    assert 'href="?kind__exact=merchant"' in changelist


def test_approve_action_goes_through_the_service(admin_client, make_org):
    org = make_org(kind=OrgKind.MERCHANT, name="Pending One", status=OrgStatus.PENDING)
    response = admin_client.post(
        "/admin/accounts/organization/",
        {"action": "approve", "_selected_action": [org.pk]},
        follow=True,
    )
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.status == OrgStatus.ACTIVE
    assert org.approved_by.email == "root@ehub.example"


def test_admin_adds_a_user_by_email(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New@Example.com",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-long-enough-pass-99",
            "password2": "a-long-enough-pass-99",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(email="new@example.com").check_password("a-long-enough-pass-99")


def test_user_change_page_renders(admin_client, merchant_user):
    assert admin_client.get(f"/admin/accounts/user/{merchant_user.pk}/change/").status_code == 200


def test_token_admin_never_shows_the_hash(admin_client, merchant_user, merchant_org):
    ctx = Context(user=merchant_user, org=merchant_org, roles=frozenset({Role.OWNER}))
    issued = services.create_token(ctx, "Shop sync")
    text = admin_client.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/").content.decode()
    assert "Shop sync" in text
    assert issued.token.token_hash not in text
    assert issued.secret not in text
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_buyer_profile_admin_masks_personal_data(admin_client, buyer_user):
    ctx = Context(user=buyer_user)
    services.update_buyer_identity(
        ctx, real_name="李伟", id_number="11010519491231002X", phone="13800138000"
    )
    profile = BuyerProfile.objects.get(user=buyer_user)
    for url in (
        "/admin/accounts/buyerprofile/",
        f"/admin/accounts/buyerprofile/{profile.pk}/change/",
    ):
        text = admin_client.get(url).content.decode()
        assert "11010519491231002X" not in text
        assert "•" * 14 + "002X" in text
    assert "13800138000" not in text
    assert Organization.objects.count() == 0
