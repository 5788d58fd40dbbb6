"""The sandbox wallet's hosted page in a real browser: pay, and cancel."""

from __future__ import annotations

import itertools

import pytest

from ehub.core.context import Context
from ehub.core.money import Money
from ehub.core.tasks import run_pending_tasks

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


@pytest.fixture
def intent(make_org, make_user):
    from datetime import UTC, datetime
    from decimal import Decimal

    from ehub.core.models import FxRate
    from ehub.payments import services

    FxRate.objects.get_or_create(
        base="CNY",
        quote="MYR",
        source="test",
        as_of=datetime(2020, 1, 1, tzinfo=UTC),
        defaults={"rate": Decimal("0.65")},
    )
    merchant = make_org(name="Durian Raja Sdn. Bhd.")
    buyer = make_user(full_name="Li Wei")
    return services.create_intent(
        Context(user=buyer),
        buyer=buyer,
        parts=[
            services.PaymentPart(
                reference=f"ORD-E2E-{next(_seq)}",
                merchant_org_id=merchant.pk,
                goods=Money(10000, "CNY"),
                freight=Money(1500, "CNY"),
                tax=Money(1050, "CNY"),
            )
        ],
        idempotency_key=f"e2e-{next(_seq)}",
        return_url="/",
    )


def test_pay_on_the_wallet_page(page, intent):
    page.goto(f"/pay/{intent.public_id}/")
    assert "125.50" in page.get_by_test_id("wallet-amount").inner_text()
    assert page.locator("figure svg").count() == 1
    assert page.get_by_text("Durian Raja Sdn. Bhd.").is_visible()
    page.get_by_role("button", name="Pay CN¥125.50", exact=True).click()
    assert "Payment successful" in page.locator("h1").inner_text()
    run_pending_tasks()
    intent.refresh_from_db()
    assert intent.status == "captured"
    # Back on the page: it can no longer be paid; pressing back and paying again is refused.
    page.goto(f"/pay/{intent.public_id}/")
    assert page.get_by_role("button", name="Pay CN¥125.50", exact=True).count() == 0


def test_cancel_on_the_wallet_page(page, intent):
    page.goto(f"/pay/{intent.public_id}/")
    page.get_by_role("button", name="Cancel payment").click()
    assert "Payment cancelled" in page.locator("h1").inner_text()
    run_pending_tasks()
    intent.refresh_from_db()
    assert intent.status == "cancelled"
