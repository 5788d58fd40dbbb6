"""Fixtures for the REST API tests: two merchants, their owners, a user in both, API tokens.

Local to tests/api so they do not depend on (or disturb) the shared tests/conftest.py.
"""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from ehub.accounts import services
from ehub.accounts.domain import OrgKind, OrgStatus, Role
from ehub.accounts.models import Membership, Organization, User
from ehub.core.context import Context

API_PASSWORD = "rambutan-harvest-2026"
_seq = itertools.count(1)


def _org(name: str, kind: str = OrgKind.MERCHANT, status: str = OrgStatus.ACTIVE) -> Organization:
    return Organization.objects.create(kind=kind, legal_name=name, country="MY", status=status)


def _user(email: str, *memberships: tuple[Organization, str], **fields) -> User:
    fields.setdefault("full_name", email.split("@")[0].title())
    user = User.objects.create_user(email, API_PASSWORD, **fields)
    for org, role in memberships:
        Membership.objects.create(user=user, org=org, role=role)
    return user


@pytest.fixture
def org_a(db) -> Organization:
    return _org("Alpha Durian Sdn. Bhd.")


@pytest.fixture
def org_b(db) -> Organization:
    return _org("Bravo Batik Sdn. Bhd.")


@pytest.fixture
def user_a(org_a) -> User:
    return _user(
        "owner@alpha.example",
        (org_a, Role.OWNER),
        full_name="Aminah Alpha",
        preferred_language="ms",
    )


@pytest.fixture
def user_b(org_b) -> User:
    return _user("owner@bravo.example", (org_b, Role.OWNER), full_name="Bala Bravo")


@pytest.fixture
def user_ab(org_a, org_b) -> User:
    """Owner of org A and admin of org B."""
    return _user(
        "both@example.com", (org_a, Role.OWNER), (org_b, Role.ADMIN), full_name="Chen Both"
    )


@pytest.fixture
def issue_token(db):
    """issue_token(user, org) -> the raw bearer secret of a new token for ``org``."""

    def issue(user: User, org: Organization, name: str | None = None) -> str:
        roles = frozenset(
            Membership.objects.filter(user=user, org=org).values_list("role", flat=True)
        )
        ctx = Context(user=user, org=org, roles=roles, via="web")
        return services.create_token(ctx, name or f"test token {next(_seq)}").secret

    return issue


@pytest.fixture
def token_a(issue_token, user_a, org_a) -> str:
    return issue_token(user_a, org_a)


@pytest.fixture
def token_b(issue_token, user_b, org_b) -> str:
    return issue_token(user_b, org_b)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)
