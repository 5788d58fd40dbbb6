"""Platform staff appoint and dismiss the academy's trainers from /ops/trainers/."""

from __future__ import annotations

import pytest
from django.test import Client

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, Role
from ehub.accounts.models import Membership
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(make_org):
    return make_org(kind=OrgKind.PLATFORM, name="eHub Operations")


@pytest.fixture
def person(make_user):
    return make_user("aminah@learn.example", full_name="Aminah Yusof")


def ctx_of(user):
    from ehub.accounts.services import build_context

    return build_context(user)


def test_staff_appoint_a_trainer_once_and_dismiss_them(platform, staff_user, person):
    ctx = ctx_of(staff_user)
    first = services.appoint_trainer(ctx, "  AMINAH@learn.example ")
    again = services.appoint_trainer(ctx, "aminah@learn.example")
    assert first.pk == again.pk and (first.org_id, first.role) == (platform.pk, Role.TRAINER)
    assert [m.user.email for m in services.trainers(ctx)] == ["aminah@learn.example"]
    services.dismiss_trainer(ctx, first.pk)
    assert services.trainers(ctx) == []
    with pytest.raises(NotFound):
        services.dismiss_trainer(ctx, first.pk)


def test_unknown_email_is_refused_on_its_field(platform, staff_user):
    with pytest.raises(ValidationFailed) as exc:
        services.appoint_trainer(ctx_of(staff_user), "nobody@example.com")
    assert exc.value.errors[0].field == "email"
    assert not Membership.objects.filter(role=Role.TRAINER).exists()


def test_only_platform_staff_manage_trainers(platform, person, merchant_user, make_user):
    trainer = make_user("t@ehub.example", org=platform, role=Role.TRAINER)
    for user in (merchant_user, trainer, person):
        with pytest.raises(PermissionDenied):
            services.appoint_trainer(ctx_of(user), person.email)
    membership = Membership.objects.get(user=trainer)
    with pytest.raises(PermissionDenied):
        services.dismiss_trainer(ctx_of(trainer), membership.pk)
    assert Membership.objects.filter(role=Role.TRAINER).count() == 1


def test_a_merchants_own_roles_cannot_be_dismissed_here(platform, staff_user, merchant_user):
    owner = Membership.objects.get(user=merchant_user)
    with pytest.raises(NotFound):
        services.dismiss_trainer(ctx_of(staff_user), owner.pk)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_ops_page_appoints_and_the_studio_opens_then_closes(client, platform, staff_user, person):
    client.force_login(person)
    assert client.get("/academy/studio/").status_code == 403
    assert client.get("/ops/trainers/").status_code == 403

    client.force_login(staff_user)
    response = client.post("/ops/trainers/", {"email": "nobody@example.com"})
    assert response.status_code == 422
    assert "No active account has this email address." in response.content.decode()
    response = client.post("/ops/trainers/", {"email": person.email})
    assert response.status_code == 302
    page = client.get("/ops/trainers/").content.decode()
    assert 'data-trainer="aminah@learn.example"' in page

    client.force_login(person)
    assert client.get("/academy/studio/").status_code == 200

    client.force_login(staff_user)
    membership = Membership.objects.get(user=person, role=Role.TRAINER)
    assert client.post(f"/ops/trainers/{membership.pk}/dismiss/").status_code == 302
    client.force_login(person)
    assert client.get("/academy/studio/").status_code == 403


def test_ops_trainer_forms_need_the_csrf_token(platform, staff_user, person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post("/ops/trainers/", {"email": person.email}).status_code == 403
    assert not Membership.objects.filter(role=Role.TRAINER).exists()
