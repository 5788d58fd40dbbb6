"""Browser tests: Playwright (sync API) driving the system Chromium against ``live_server``.

Without Chromium these tests are skipped with a clear reason, unless EHUB_REQUIRE_BROWSER=1
(CI), in which case a missing browser is a failure.
"""

from __future__ import annotations

import pytest

# The session-wide ``browser`` fixture lives in tests/conftest.py.


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
