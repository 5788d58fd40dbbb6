"""Ledger fixtures: open accounts quickly, and check the ledger's invariants after a scenario.

Other contexts' tests (payments, orders) check the same after each scenario with one line::

    from ehub.ledger.services import verify
    assert verify() == []          # lists every broken invariant otherwise

or copy the ``ledger_verified`` fixture below into their conftest (it runs verify() after the
test body).
"""

from __future__ import annotations

import pytest


def assert_ledger_sound() -> None:
    """Fail with every problem ``ledger.services.verify()`` reports (none when sound)."""
    from ehub.ledger.services import verify

    problems = verify()
    assert not problems, "ledger invariants broken:\n  " + "\n  ".join(problems)


@pytest.fixture
def ledger_verified(db):
    """Runs the test, then asserts the ledger's invariants hold."""
    yield
    assert_ledger_sound()


@pytest.fixture
def accounts(db):
    """accounts(*codes, currency="MYR", flags=0) -> opens them, returns their codes."""
    from ehub.ledger.services import open_account

    def make(*codes, currency="MYR", flags=0):
        for code in codes:
            open_account(code, currency, flags=flags)
        return codes

    return make
