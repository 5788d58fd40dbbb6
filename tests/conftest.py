"""Fixtures shared by every test package: factories for users and organizations.

Kept small and generic; a context's own fixtures live in its tests/<context>/conftest.py.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

PASSWORD = "durian-season-2026"  # passes eHub's password validators

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _english_by_default():
    """Each test starts in English and leaves no active language behind for the next one."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _no_random_customs_inspection(settings):
    """The sandbox customs picks 5 % of orders at random for inspection (as the real one does);
    a test that does not ask for inspection must not be held by chance. Tests about
    inspection set EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE themselves."""
    settings.EHUB_CUSTOMS_SANDBOX_INSPECTION_RATE = "0"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_org(db):
    """make_org(kind="merchant", name=..., status="active", country="MY") -> Organization."""
    from ehub.accounts.domain import OrgKind, OrgStatus
    from ehub.accounts.models import Organization

    def make(kind=OrgKind.MERCHANT, name=None, status=OrgStatus.ACTIVE, country="MY", **extra):
        return Organization.objects.create(
            kind=kind,
            legal_name=name or f"Org {next(_seq)} Sdn. Bhd.",
            status=status,
            country=country,
            **extra,
        )

    return make


@pytest.fixture
def make_user(db):
    """make_user(email=None, org=None, role="owner", orgs=(), **fields) -> User.

    ``orgs`` is a list of (org, role) pairs for users in several organizations.
    """
    from ehub.accounts.domain import Role
    from ehub.accounts.models import Membership, User

    def make(email=None, org=None, role=Role.OWNER, orgs=(), password=PASSWORD, **fields):
        email = email or f"user{next(_seq)}@example.com"
        fields.setdefault("full_name", email.split("@")[0].title())
        user = User.objects.create_user(email, password, **fields)
        pairs = list(orgs) + ([(org, role)] if org is not None else [])
        for member_org, member_role in pairs:
            Membership.objects.create(user=user, org=member_org, role=member_role)
        return user

    return make


@pytest.fixture
def merchant_org(make_org):
    return make_org(name="Durian Raja Sdn. Bhd.", registration_number="201901012345")


@pytest.fixture
def merchant_user(make_user, merchant_org):
    """The owner of an active merchant organization."""
    return make_user("owner@durian.example", org=merchant_org, full_name="Tan Mei Ling")


@pytest.fixture
def buyer_user(make_user):
    from ehub.accounts.models import BuyerProfile

    user = make_user("buyer@example.cn", full_name="Li Wei")
    BuyerProfile.objects.create(user=user)
    return user


@pytest.fixture
def staff_user(make_user):
    """Platform staff (Django ``is_staff``) without any organization."""
    return make_user("staff@ehub.example", is_staff=True, full_name="Platform Staff")


# ---------------------------------------------------------------------------------------------
# Browser tests: ONE Playwright + Chromium per test process, shared by every browser test (two
# sync Playwright instances cannot live in one thread). Without Chromium they are skipped with
# the reason, unless EHUB_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
# ---------------------------------------------------------------------------------------------

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING = (
    "Chromium not found at /usr/bin/chromium: install it (apt-get install chromium) "
    "or set EHUB_CHROMIUM to run browser tests"
)


def chromium_path() -> str | None:
    path = os.environ.get("EHUB_CHROMIUM") or DEFAULT_CHROMIUM
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("EHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(MISSING + " (EHUB_REQUIRE_BROWSER=1 forbids skipping)")
        pytest.skip(MISSING)
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # the ORM calls the browser tests make to set up data.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
