"""The language and organization switchers in the header."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, Role
from ehub.accounts.models import User

from .helpers import PORTAL_LABELS

pytestmark = pytest.mark.django_db

LANG_URL = "/accounts/language/"


def test_anonymous_language_switch_sets_the_cookie_and_goes_back(client):
    response = client.post(LANG_URL, {"language": "ms", "next": "/academy/"})
    assert response.status_code == 302
    assert response["Location"] == "/academy/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ms"
    page = client.get("/academy/")
    assert '<html lang="ms"' in page.content.decode()
    assert PORTAL_LABELS["ms"]["academy"] in page.content.decode()


def test_language_switch_refuses_to_redirect_to_another_host(client):
    response = client.post(LANG_URL, {"language": "ms", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    response = client.post(LANG_URL, {"language": "ms", "next": "//evil.example/x"})
    assert response["Location"] == "/"


def test_unknown_language_changes_nothing(client):
    response = client.post(LANG_URL, {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_language_switch_is_post_only(client):
    assert client.get(LANG_URL, {"language": "ms"}).status_code == 405


def test_language_switch_persists_to_the_user_and_survives_logout_and_login(
    client, merchant_user, password
):
    assert (
        client.post(
            "/accounts/login/", {"username": merchant_user.email, "password": password}
        ).status_code
        == 302
    )
    client.post(LANG_URL, {"language": "zh-hans", "next": "/merchant/"})
    merchant_user.refresh_from_db()
    assert merchant_user.preferred_language == "zh-hans"

    client.post("/accounts/logout/")
    # A new browser, without the language cookie: the saved language wins after login.
    fresh = Client()
    fresh.post("/accounts/login/", {"username": merchant_user.email, "password": password})
    page = fresh.get("/merchant/")
    assert '<html lang="zh-hans"' in page.content.decode()
    assert PORTAL_LABELS["zh-hans"]["merchant"] in page.content.decode()


def test_language_post_enforces_csrf(merchant_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(merchant_user)
    refused = browser.post(LANG_URL, {"language": "ms", "next": "/"})
    assert refused.status_code == 403
    assert "The form has expired" in refused.content.decode()
    merchant_user.refresh_from_db()
    assert merchant_user.preferred_language != "ms"

    page = browser.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = browser.post(LANG_URL, {"language": "ms", "next": "/", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert User.objects.get(pk=merchant_user.pk).preferred_language == "ms"


def test_htmx_header_carries_a_csrf_token_the_server_accepts(merchant_user):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/").content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = browser.post(LANG_URL, {"language": "ms"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302


@pytest.fixture
def two_org_user(make_user, make_org):
    shop = make_org(kind=OrgKind.MERCHANT, name="A Kopi Sdn. Bhd.")
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="B Hub KLIA")
    return make_user(orgs=[(shop, Role.OWNER), (hub, Role.OPERATOR)]), shop, hub


def test_org_switcher_appears_only_with_several_orgs(client, two_org_user, merchant_user):
    user, _shop, hub = two_org_user
    client.force_login(user)
    text = client.get("/").content.decode()
    assert 'action="/accounts/switch-org/"' in text
    assert f'<option value="{hub.pk}"' in text
    client.force_login(merchant_user)
    assert 'action="/accounts/switch-org/"' not in client.get("/").content.decode()


def test_org_switcher_changes_the_active_org(client, two_org_user):
    user, _shop, hub = two_org_user
    client.force_login(user)
    response = client.post("/accounts/switch-org/", {"org": hub.pk, "next": "/hub/"})
    assert response.status_code == 302
    assert response["Location"] == "/hub/"
    assert client.session[services.SESSION_ORG_KEY] == hub.pk


def test_switching_org_lands_on_the_new_orgs_portal_and_stays(client, two_org_user):
    user, shop, hub = two_org_user
    client.force_login(user)
    client.post("/accounts/switch-org/", {"org": shop.pk})
    response = client.post("/accounts/switch-org/", {"org": hub.pk, "next": "/merchant/"})
    assert response["Location"] == "/hub/"
    assert client.get("/hub/").status_code == 200
    assert client.session[services.SESSION_ORG_KEY] == hub.pk


def test_org_switcher_refuses_an_org_the_user_is_not_in(client, two_org_user, merchant_org):
    user, shop, _hub = two_org_user
    client.force_login(user)
    client.post("/accounts/switch-org/", {"org": shop.pk})
    response = client.post("/accounts/switch-org/", {"org": merchant_org.pk})
    assert response.status_code == 404
    assert client.session[services.SESSION_ORG_KEY] == shop.pk
    assert client.post("/accounts/switch-org/", {"org": "not-a-number"}).status_code == 404


def test_org_switcher_needs_a_signed_in_user(client, merchant_org):
    response = client.post("/accounts/switch-org/", {"org": merchant_org.pk})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
