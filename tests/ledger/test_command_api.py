"""``ehub ledger verify|balances`` and the staff-only API."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from ehub.accounts.domain import OrgKind, Role
from ehub.ledger import services
from ehub.ledger.domain import AccountFlags, TransferFlags, TransferSpec

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(merchant_org):
    services.open_account("bank:MYR", "MYR", name="Bank")
    services.open_account(
        f"merchant:{merchant_org.public_id}:MYR",
        "MYR",
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        org=merchant_org,
    )
    code = f"merchant:{merchant_org.public_id}:MYR"
    services.transfer(TransferSpec("t1", "bank:MYR", code, 700, code="settle", reference="O-1"))
    services.transfer(TransferSpec("t2", "bank:MYR", code, 300, flags=TransferFlags.PENDING))
    return code


def test_verify_command_ok_and_broken(ledger, capsys):
    call_command("ledger", "verify")
    assert "ok" in capsys.readouterr().out
    with connection.cursor() as cursor:  # corrupt a stored balance behind the ledger's back
        cursor.execute(
            "UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE code = %s",
            [ledger],
        )
    with pytest.raises(SystemExit) as exc:
        call_command("ledger", "verify")
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert ledger in err and "sums of transfers" in err
    assert "Σ debits posted 700 ≠ Σ credits posted 701" in err


def test_balances_command(ledger, capsys):
    call_command("ledger", "balances", "--prefix", "merchant:")
    out = capsys.readouterr().out
    assert ledger in out and "bank:MYR" not in out
    assert f"{ledger}  MYR  0  0  300  700" in out


def test_api_for_platform_staff(ledger, client, staff_user, django_assert_max_num_queries):
    client.force_login(staff_user)
    with django_assert_max_num_queries(6):
        r = client.get("/api/v1/ledger/accounts?limit=1")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2 and [a["code"] for a in body["items"]] == ["bank:MYR"]
    r = client.get(f"/api/v1/ledger/accounts/{ledger}")
    a = r.json()
    assert (a["credits_posted"], a["credits_pending"], a["credit_balance"]) == (700, 300, 700)
    assert a["flags"] == ["debits_must_not_exceed_credits"] and a["org"].startswith("ORG-")
    with django_assert_max_num_queries(6):
        r = client.get(f"/api/v1/ledger/accounts/{ledger}/transfers")
    items = r.json()["items"]
    assert [(t["id"], t["status"]) for t in items] == [("t2", "pending"), ("t1", None)]
    r = client.get("/api/v1/ledger/accounts/nope:MYR")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/problem+json")


def test_platform_org_staff_may_read(ledger, client, make_org, make_user):
    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Platform")
    user = make_user(org=platform, role=Role.STAFF)
    client.force_login(user)
    session = client.session
    session["ehub_active_org"] = platform.pk
    session.save()
    assert client.get("/api/v1/ledger/accounts").status_code == 200


def test_merchants_and_anonymous_are_refused(ledger, client, merchant_user):
    assert client.get("/api/v1/ledger/accounts").status_code == 401
    client.force_login(merchant_user)
    # even the merchant's own account: the ledger API is for platform staff
    for url in (
        "/api/v1/ledger/accounts",
        f"/api/v1/ledger/accounts/{ledger}",
        f"/api/v1/ledger/accounts/{ledger}/transfers",
    ):
        r = client.get(url)
        assert r.status_code == 403, url
        assert r["Content-Type"].startswith("application/problem+json")
        assert "700" not in r.content.decode()


def test_verify_finds_a_transfer_without_its_account(ledger):
    with connection.cursor() as cursor:  # what no service can do: orphan a transfer
        cursor.execute(
            "UPDATE ledger_transfer SET debit_account_id = 999999 WHERE client_id = 't1'"
        )
    problems = services.verify()
    assert "transfer t1: accounts or amount invalid" in problems
