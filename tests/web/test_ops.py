"""Operations: platform staff approve pending merchants; nobody else can."""

from __future__ import annotations

import pytest

from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import Organization

pytestmark = pytest.mark.django_db

LIST_URL = "/ops/merchants/"


def approve_url(org_id: int) -> str:
    return f"/ops/merchants/{org_id}/approve/"


@pytest.fixture
def pending_org(make_org):
    return make_org(
        kind=OrgKind.MERCHANT,
        name="Kuih Lapis Sdn. Bhd.",
        status=OrgStatus.PENDING,
        registration_number="202301045678",
    )


def test_staff_see_pending_merchants_and_approve_them(
    client, staff_user, pending_org, merchant_org
):
    client.force_login(staff_user)
    text = client.get(LIST_URL).content.decode()
    assert "Kuih Lapis Sdn. Bhd." in text
    assert "202301045678" in text
    assert merchant_org.legal_name not in text  # already active

    response = client.post(approve_url(pending_org.pk), follow=True)
    assert response.status_code == 200
    pending_org.refresh_from_db()
    assert pending_org.status == OrgStatus.ACTIVE
    assert pending_org.approved_by == staff_user
    assert "is approved" in response.content.decode()
    assert "No merchant is waiting for approval." in response.content.decode()


def test_platform_org_staff_may_approve(client, make_user, make_org, pending_org):
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    client.force_login(make_user(org=platform, role=Role.STAFF))
    assert client.post(approve_url(pending_org.pk)).status_code == 302
    pending_org.refresh_from_db()
    assert pending_org.status == OrgStatus.ACTIVE


def test_non_staff_cannot_list_or_approve(client, merchant_user, pending_org):
    client.force_login(merchant_user)
    assert client.get(LIST_URL).status_code == 403
    assert client.post(approve_url(pending_org.pk)).status_code == 403
    pending_org.refresh_from_db()
    assert pending_org.status == OrgStatus.PENDING


def test_anonymous_is_sent_to_login(client, pending_org):
    assert client.get(LIST_URL).status_code == 302
    assert client.post(approve_url(pending_org.pk)).status_code == 302
    assert Organization.objects.get(pk=pending_org.pk).status == OrgStatus.PENDING


def test_approve_is_post_only_and_unknown_org_is_404(client, staff_user, pending_org):
    client.force_login(staff_user)
    assert client.get(approve_url(pending_org.pk)).status_code == 405
    assert client.post(approve_url(999999)).status_code == 404


def test_pending_list_queries_do_not_grow(
    client, staff_user, make_org, django_assert_max_num_queries
):
    for i in range(5):
        make_org(kind=OrgKind.MERCHANT, name=f"Pending {i}", status=OrgStatus.PENDING)
    client.force_login(staff_user)
    with django_assert_max_num_queries(5):
        assert client.get(LIST_URL).status_code == 200
