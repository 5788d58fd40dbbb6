"""Portal landing pages: who may enter which portal, in which language, at what query cost."""

from __future__ import annotations

import pytest
from django.conf import settings

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, OrgStatus, Role

from .helpers import LANGUAGES, PORTAL_LABELS, PORTAL_PATHS

pytestmark = pytest.mark.django_db

ORG_KIND_FOR = {
    "merchant": OrgKind.MERCHANT,
    "hub": OrgKind.HUB_OPERATOR,
    "customs": OrgKind.CUSTOMS_AUTHORITY,
    "ops": OrgKind.PLATFORM,
}


@pytest.fixture
def user_for(make_user, make_org):
    """A signed-in user who may enter ``portal`` (an org member of the right kind)."""

    def make(portal: str, language: str = "en"):
        kind = ORG_KIND_FOR.get(portal)
        org = make_org(kind=kind) if kind else None
        role = Role.OFFICER if kind == OrgKind.CUSTOMS_AUTHORITY else Role.OWNER
        return make_user(org=org, role=role, preferred_language=language)

    return make


def html_lang(response) -> str:
    text = response.content.decode()
    start = text.index("<html lang=") + len('<html lang="')
    return text[start : text.index('"', start)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("portal", list(PORTAL_PATHS))
def test_each_landing_page_renders_for_its_users_in_each_language(
    client, user_for, portal, language
):
    client.force_login(user_for(portal, language))
    response = client.get(PORTAL_PATHS[portal])
    assert response.status_code == 200
    assert html_lang(response) == language
    label = PORTAL_LABELS[language][portal]
    text = response.content.decode()
    # The page title and the navigation both name the portal in the user's language.
    assert f"<title>{label} · eHub</title>" in text
    assert f'aria-current="page">{label}</a>' in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("portal", ["storefront", "academy"])
def test_public_portals_are_open_to_anonymous_visitors(client, portal, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(PORTAL_PATHS[portal])
    assert response.status_code == 200
    assert html_lang(response) == language
    assert PORTAL_LABELS[language][portal] in response.content.decode()


def test_browser_language_is_honoured_for_anonymous_visitors(client):
    response = client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-hans"' in response.content.decode()
    assert PORTAL_LABELS["zh-hans"]["storefront"] in response.content.decode()


def test_storefront_states_what_it_will_hold(client):
    text = client.get("/").content.decode()
    assert "Malaysia Week" in text
    assert "CNY" in text
    assert "SMEs" in text


@pytest.mark.parametrize("portal", ["merchant", "hub", "customs", "ops"])
def test_anonymous_visitors_are_sent_to_login_with_next(client, portal):
    response = client.get(PORTAL_PATHS[portal])
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PORTAL_PATHS[portal]}"


@pytest.mark.parametrize("portal", ["merchant", "hub", "customs", "ops"])
def test_a_buyer_without_an_org_gets_the_friendly_403(client, buyer_user, portal):
    client.force_login(buyer_user)
    response = client.get(PORTAL_PATHS[portal])
    assert response.status_code == 403
    text = response.content.decode()
    assert "You cannot open this page" in text
    assert "<main" in text  # the site's layout, not Django's bare page


def test_wrong_org_kind_is_403_and_translated(client, make_user, make_org):
    hub_worker = make_user(org=make_org(kind=OrgKind.HUB_OPERATOR), preferred_language="zh-hans")
    client.force_login(hub_worker)
    response = client.get("/merchant/")
    assert response.status_code == 403
    assert "您无法打开此页面" in response.content.decode()


def test_merchant_cannot_enter_ops_but_platform_staff_can(client, merchant_user, staff_user):
    client.force_login(merchant_user)
    assert client.get("/ops/").status_code == 403
    client.force_login(staff_user)
    assert client.get("/ops/").status_code == 200


def test_user_is_switched_to_their_org_of_the_right_kind(client, make_user, make_org):
    hub = make_org(kind=OrgKind.HUB_OPERATOR, name="A Hub Operations")
    shop = make_org(kind=OrgKind.MERCHANT, name="Z Batik Sdn. Bhd.")
    user = make_user(orgs=[(hub, Role.OPERATOR), (shop, Role.OWNER)])
    client.force_login(user)
    session = client.session
    session[services.SESSION_ORG_KEY] = hub.pk
    session.save()

    response = client.get("/merchant/")

    assert response.status_code == 200
    assert client.session[services.SESSION_ORG_KEY] == shop.pk
    assert "Z Batik Sdn. Bhd." in response.content.decode()
    # ... and back again to the hub.
    assert client.get("/hub/").status_code == 200
    assert client.session[services.SESSION_ORG_KEY] == hub.pk


def test_pending_merchant_sees_that_staff_must_approve(client, make_user, make_org):
    org = make_org(kind=OrgKind.MERCHANT, status=OrgStatus.PENDING)
    client.force_login(make_user(org=org))
    response = client.get("/merchant/")
    assert response.status_code == 200
    assert "Platform staff must approve your company" in response.content.decode()


def test_active_merchant_sees_no_approval_notice(client, merchant_user):
    client.force_login(merchant_user)
    assert "Platform staff must approve" not in client.get("/merchant/").content.decode()


def test_navigation_shows_only_the_portals_one_may_enter(client, merchant_user, staff_user):
    nav = 'aria-label="Portals"'
    text = client.get("/").content.decode()
    assert nav in text
    assert 'href="/merchant/"' not in text
    assert 'href="/academy/"' in text

    client.force_login(merchant_user)
    text = client.get("/").content.decode()
    assert 'href="/merchant/"' in text
    assert 'href="/hub/"' not in text
    assert 'href="/ops/"' not in text

    client.force_login(staff_user)
    assert 'href="/ops/"' in client.get("/").content.decode()


def test_user_menu_offers_login_or_logout(client, merchant_user):
    text = client.get("/").content.decode()
    assert 'href="/accounts/login/"' in text
    assert 'href="/accounts/signup/"' in text
    client.force_login(merchant_user)
    text = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in text
    assert "Tan" in text


def test_base_layout_is_accessible_and_offline(client):
    text = client.get("/").content.decode()
    assert 'class="skip-link" href="#main"' in text
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in text
    assert "/static/web/vendor/htmx/htmx.min.js" in text
    assert "/static/web/css/ehub.css" in text
    assert 'hx-headers=\'{"X-CSRFToken": "' in text


def test_vendored_htmx_is_the_real_file_with_its_licence():
    from pathlib import Path

    import ehub.web

    vendor = Path(ehub.web.__file__).parent / "static/web/vendor/htmx"
    assert (vendor / "htmx.min.js").read_text().startswith("var htmx=function()")
    assert "Zero-Clause BSD" in (vendor / "LICENSE").read_text()
    assert "2.0." in (vendor / "NOTICE").read_text()


def test_anonymous_storefront_home_has_bounded_queries(client, django_assert_max_num_queries):
    # The home reads the catalog and live campaigns; tests/web/test_storefront.py checks the
    # bound with 1 and 30 products.
    with django_assert_max_num_queries(8):
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("portal", [p for p in PORTAL_PATHS if p != "storefront"])
def test_landing_pages_have_bounded_queries(
    client, user_for, portal, django_assert_max_num_queries
):
    client.force_login(user_for(portal))
    client.get(PORTAL_PATHS[portal])  # the first visit may store the active org
    # session + user + memberships: the navigation reuses the memberships read for the Context;
    # the merchant's landing adds the academy's readiness card (a fixed handful of queries:
    # catalog, stock, courses, and the probes of higher contexts).
    # /hub/ and /academy/ are now their contexts' own dashboards (fulfillment, academy), whose
    # pages read their data; their budgets here are the figures measured when they landed.
    budget = 3 + {"merchant": 4, "hub": 6, "academy": 2}.get(portal, 0)
    with django_assert_max_num_queries(budget):
        assert client.get(PORTAL_PATHS[portal]).status_code == 200
