"""Browser tests: Playwright (sync API) driving the system Chromium against ``live_server``.

Without Chromium these tests are skipped with a clear reason, unless EHUB_REQUIRE_BROWSER=1
(CI), in which case a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse the
# ORM calls the tests make to set up data.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
