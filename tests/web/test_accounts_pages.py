"""Accounts pages: log in and out, sign up as buyer or merchant, password reset, profile."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import BuyerProfile, Organization, User

pytestmark = pytest.mark.django_db

GOOD_ID = "11010519491231002X"


def field_error(text: str, field: str) -> str:
    """The inline error list rendered for ``field`` (empty if none)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', text, re.S)
    return match.group(1) if match else ""


# --- log in / out ---------------------------------------------------------------------------


def test_login_page_has_labelled_email_and_password(client):
    text = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Email address' in text
    assert '<label for="id_password">Password' in text
    assert 'autocomplete="current-password"' in text


def test_login_sets_the_first_org_active(client, make_user, make_org, password):
    first = make_org(kind=OrgKind.MERCHANT, name="A Rattan Sdn. Bhd.")
    second = make_org(kind=OrgKind.HUB_OPERATOR, name="B Hub KLIA")
    user = make_user("two@example.com", orgs=[(second, Role.OPERATOR), (first, Role.OWNER)])
    response = client.post(
        "/accounts/login/", {"username": "TWO@example.com", "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[services.SESSION_ORG_KEY] == first.pk
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_follows_a_safe_next_only(client, merchant_user, password):
    data = {"username": merchant_user.email, "password": password}
    response = client.post("/accounts/login/?next=/merchant/", data)
    assert response["Location"] == "/merchant/"
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/?next=https://evil.example/", data)
    assert response["Location"] == "/"


def test_wrong_password_is_reported(client, merchant_user):
    response = client.post(
        "/accounts/login/", {"username": merchant_user.email, "password": "nope-nope-nope"}
    )
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only(client, merchant_user):
    client.force_login(merchant_user)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- sign up --------------------------------------------------------------------------------


def test_buyer_signup_creates_and_signs_in_a_buyer(client, password):
    client.cookies["ehub_language"] = "zh-hans"
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Wang Fang", "email": "Fang@Example.cn", "password": password},
    )
    assert response.status_code == 302
    user = User.objects.get(email="fang@example.cn")
    assert BuyerProfile.objects.filter(user=user).exists()
    assert user.preferred_language == "zh-hans"
    assert int(client.session["_auth_user_id"]) == user.pk


def test_buyer_signup_shows_errors_on_their_fields(client, buyer_user):
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Someone", "email": buyer_user.email, "password": "12345678901"},
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "already exists" in field_error(text, "email")
    assert field_error(text, "password")
    assert not field_error(text, "full_name")
    assert User.objects.count() == 1


def merchant_form(**kw):
    data = {
        "legal_name": "Batik Terengganu Sdn. Bhd.",
        "registration_number": "201901023456",
        "country": "MY",
        "full_name": "Nurul Aina",
        "email": "aina@batik.example",
        "password": "songket-and-batik-2026",
    }
    data.update(kw)
    return data


def test_merchant_signup_form_defaults_to_malaysia(client):
    text = client.get("/accounts/signup/merchant/").content.decode()
    assert 'name="country" value="MY"' in text
    for field in ("legal_name", "registration_number", "full_name", "email", "password"):
        assert f'for="id_{field}"' in text


def test_bad_ssm_number_is_named_on_its_field(client):
    response = client.post("/accounts/signup/merchant/", merchant_form(registration_number="12345"))
    assert response.status_code == 422
    text = response.content.decode()
    assert "SSM company number" in field_error(text, "registration_number")
    assert 'aria-describedby="id_registration_number_helptext id_registration_number_error"' in text
    assert not field_error(text, "email")
    assert not Organization.objects.exists()
    assert not User.objects.exists()


def test_bad_ssm_number_is_reported_together_with_missing_fields(client):
    response = client.post(
        "/accounts/signup/merchant/", merchant_form(registration_number="2019-01-99", full_name="")
    )
    text = response.content.decode()
    assert "SSM company number" in field_error(text, "registration_number")
    assert "required" in field_error(text, "full_name")


def test_bad_ssm_number_error_is_translated(client):
    client.cookies["ehub_language"] = "ms"
    response = client.post("/accounts/signup/merchant/", merchant_form(registration_number="12345"))
    assert "Nombor syarikat SSM" in field_error(response.content.decode(), "registration_number")


def test_merchant_signup_makes_a_pending_org_and_signs_in(client):
    response = client.post("/accounts/signup/merchant/", merchant_form(), follow=True)
    assert response.redirect_chain[-1][0] == "/merchant/"
    org = Organization.objects.get()
    assert org.status == OrgStatus.PENDING
    assert org.registration_number == "201901023456"
    assert client.session[services.SESSION_ORG_KEY] == org.pk
    assert "Platform staff must approve your company" in response.content.decode()


# --- password reset -------------------------------------------------------------------------


def test_password_reset_by_email(client, merchant_user):
    response = client.post("/accounts/password-reset/", {"email": merchant_user.email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    new = "a-brand-new-passphrase-77"
    done = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/accounts/reset/done/"
    merchant_user.refresh_from_db()
    assert merchant_user.check_password(new)


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


# --- profile --------------------------------------------------------------------------------


def test_profile_needs_login(client):
    assert client.get("/accounts/profile/")["Location"].startswith("/accounts/login/")


def test_buyer_declares_identity_and_sees_it_masked(client, buyer_user):
    client.force_login(buyer_user)
    response = client.post(
        "/accounts/profile/",
        {"real_name": "李伟", "id_number": GOOD_ID, "phone": "+86 138 0013 8000"},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert GOOD_ID not in text
    assert "8613800138000" not in text
    assert "•" * 14 + "002X" in text
    assert "•" * 10 + "8000" in text  # "+8613800138000" keeps its last four
    profile = BuyerProfile.objects.get(user=buyer_user)
    assert profile.id_number == GOOD_ID


def test_bad_resident_id_is_named_on_its_field(client, buyer_user):
    client.force_login(buyer_user)
    response = client.post(
        "/accounts/profile/",
        {"real_name": "李伟", "id_number": "110105194912310021", "phone": "13800138000"},
    )
    assert response.status_code == 422
    assert "resident ID" in field_error(response.content.decode(), "id_number")
