"""Browser journeys through the portal shell: log in, change language, sign up as a merchant."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ehub.accounts.domain import OrgStatus
from ehub.accounts.models import Organization

pytestmark = pytest.mark.browser

# Written for a human to look at; not committed, not compared.
SCREENSHOT = Path(tempfile.gettempdir()) / "ehub-merchant-zh-hans.png"


def log_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()


def test_merchant_logs_in_switches_to_chinese_and_sees_the_merchant_portal(
    page, merchant_user, password
):
    log_in(page, merchant_user.email, password)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Tan")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")

    page.get_by_role("navigation", name="门户").get_by_role("link", name="商家中心").click()
    expect(page).to_have_url(re.compile(r"/merchant/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("商家中心")
    expect(page.get_by_role("main")).to_contain_text("现已可用")
    expect(page.get_by_role("main").locator('a[href="/merchant/orders/"]')).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Durian Raja Sdn. Bhd.")
    expect(page.get_by_role("link", name="商家中心")).to_have_attribute("aria-current", "page")
    page.screenshot(path=SCREENSHOT, full_page=True)

    merchant_user.refresh_from_db()
    assert merchant_user.preferred_language == "zh-hans"


def test_merchant_sign_up_shows_the_ssm_error_then_succeeds(page):
    page.goto("/accounts/signup/merchant/")
    expect(page.get_by_label("Country")).to_have_value("MY")
    page.get_by_label("Company legal name").fill("Batik Terengganu Sdn. Bhd.")
    page.get_by_label("SSM registration number").fill("12345")
    page.get_by_label("Owner's name").fill("Nurul Aina")
    page.get_by_label("Email address").fill("aina@batik.example")
    page.get_by_label("Password").fill("songket-and-batik-2026")
    page.get_by_role("button", name="Register company").click()

    ssm = page.get_by_label("SSM registration number")
    expect(ssm).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_registration_number_error")).to_contain_text(
        "Not a valid SSM company number"
    )
    expect(page.locator(".error-summary")).to_be_focused()
    assert not Organization.objects.exists()

    ssm.fill("201901023456")
    page.get_by_label("Password").fill("songket-and-batik-2026")  # never echoed back
    page.get_by_role("button", name="Register company").click()

    expect(page).to_have_url(re.compile(r"/merchant/$"))
    expect(page.get_by_role("main")).to_contain_text("Waiting for approval")
    org = Organization.objects.get()
    assert org.status == OrgStatus.PENDING
    assert org.registration_number == "201901023456"


def test_skip_link_is_the_first_tab_stop(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_buyer_makes_a_personal_api_token_uses_it_and_revokes_it(page, buyer_user, password):
    log_in(page, buyer_user.email, password)
    page.goto("/accounts/profile/")
    page.get_by_label("Token name").fill("My shopping app")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Your new token").input_value()
    assert secret.startswith("ehub_")

    def me() -> tuple[int, dict]:
        answer = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        return answer.status, answer.json()

    status, body = me()
    assert (status, body["user"]["email"], body["org"]) == (200, buyer_user.email, None)
    assert body["auth"] == "token"  # the token, not the browser's session, answered

    page.goto("/accounts/profile/")
    expect(page.get_by_label("Your new token")).to_have_count(0)  # shown once only
    row = page.get_by_role("row", name=re.compile("My shopping app"))
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text("is revoked")
    status, body = me()
    assert (status, body["code"]) == (401, "invalid_token")
