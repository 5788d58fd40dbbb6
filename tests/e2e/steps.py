"""Steps several browser journeys share: signing in and out through the real pages."""

from __future__ import annotations

from playwright.sync_api import expect


def log_in(page, email: str, password: str) -> None:
    """Sign in on the login page and wait until the account menu shows."""
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Your account")).to_be_visible()


def log_out(page) -> None:
    """Sign out with the header's form (found by its address, so in any language)."""
    page.locator("form[action='/accounts/logout/'] button").click()
    expect(page.locator("form[action='/accounts/logout/']")).to_have_count(0)
