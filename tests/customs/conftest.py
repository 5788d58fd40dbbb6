"""Fixtures of the customs tests."""

from __future__ import annotations

import pytest

from .decl_support import make_world


@pytest.fixture
def customs_world(db, make_org, make_user, settings):
    """Tariff, registered enterprises, a platform that files, a customs authority, an officer."""
    return make_world(make_org, make_user, settings)
