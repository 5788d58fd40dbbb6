"""Browser journey through the academy: a trainer publishes a course; a merchant owner enrols,
reads the lessons in Bahasa Melayu, fails and then passes the quiz, downloads the certificate
(a real PDF carrying their name), the public verification page confirms it, and the merchant's
export-readiness score rises.

Buttons are found by their forms' addresses, not their labels, so the journey keeps working
once the academy's strings are translated.
"""

from __future__ import annotations

import copy
import io
import re

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import expect
from tests.e2e.steps import log_in, log_out

pytestmark = pytest.mark.browser


def score(page) -> int:
    page.goto("/academy/readiness/")
    return int(page.locator("p.readiness-score").get_attribute("data-score"))


def choices(attempt_public_id: str, correct: bool) -> list[int]:
    from ehub.academy.models import Attempt, Choice

    attempt = Attempt.objects.get(public_id=attempt_public_id)
    picked: dict[int, list[int]] = {}
    for choice in Choice.objects.filter(question_id__in=attempt.question_order).order_by("pk"):
        if choice.is_correct == correct and (correct or choice.question_id not in picked):
            picked.setdefault(choice.question_id, []).append(choice.pk)
    return [pk for ids in picked.values() for pk in ids]


def test_trainer_publishes_merchant_learns_in_malay_and_gets_certified(
    page, browser, live_server, make_org, make_user, merchant_user, password
):
    from tests.academy.conftest import SMALL_COURSE

    from ehub.academy import content
    from ehub.academy.models import Course
    from ehub.accounts.domain import OrgKind, Role
    from ehub.accounts.services import build_context

    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Operations")
    trainer = make_user(
        "trainer@academy.example", org=platform, role=Role.TRAINER, full_name="Daniel Lim"
    )
    content.install_course(build_context(trainer), copy.deepcopy(SMALL_COURSE), publish=False)

    # The trainer publishes the draft from the studio.
    log_in(page, trainer.email, password)
    page.goto("/academy/studio/")
    page.locator("tr[data-course='small-cbec'] a").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "draft")
    page.locator("form[action$='/publish/'] button").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "published")
    assert Course.objects.get(slug="small-cbec").status == "published"
    log_out(page)

    # The merchant owner starts with a low readiness score and switches to Malay.
    log_in(page, merchant_user.email, password)
    before = score(page)
    page.get_by_role("button", name="Bahasa Melayu").click()
    expect(page.locator("html")).to_have_attribute("lang", "ms")

    page.goto("/academy/")
    page.get_by_role("link", name="CBEC secara ringkas").click()
    page.locator("form[action$='/enrol/'] button").click()

    # Lesson 1, in Malay, then lesson 2, then the quiz.
    expect(page.locator("article")).to_have_attribute("lang", "ms")
    expect(page.locator(".lesson-body")).to_contain_text("setiap transaksi")
    expect(page.locator(".lesson-body strong")).to_have_text("CNY 5,000")
    page.locator("main .actions form button").click()
    expect(page.locator("article h1")).to_have_text("Setahun")
    page.locator("main .actions form button").click()
    expect(page).to_have_url(re.compile(r"/quiz/$"))
    quiz_url = page.url

    # First attempt: wrong answers, fails, explanations shown.
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/academy/attempts/ATT-"))
    first = page.url.rstrip("/").rsplit("/", 1)[-1]
    for pk in choices(first, correct=False):
        page.locator(f"#quiz-form input[value='{pk}']").check()
    page.locator("#quiz-form button[type=submit]").click()
    expect(page.locator("[data-score]")).to_have_attribute("data-score", "0")
    expect(page.locator(".explanation")).to_have_count(2)  # shuffled, so in either order
    expect(page.locator("main")).to_contain_text("Barangan, tambang dan insurans.")

    # Second attempt: right answers, passes.
    page.goto(quiz_url)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/academy/attempts/ATT-"))
    second = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert second != first
    for pk in choices(second, correct=True):
        page.locator(f"#quiz-form input[value='{pk}']").check()
    page.locator("#quiz-form button[type=submit]").click()
    expect(page.locator("[data-score]")).to_have_attribute("data-score", "100")

    # The certificate: a PDF with the learner's name, the Malay course title and the code.
    page.goto("/academy/certificates/")
    link = page.locator("a[href$='.pdf']")
    code = link.get_attribute("href").rsplit("/", 1)[-1].removesuffix(".pdf")
    with page.expect_download() as download:
        link.click()
    pdf = open(download.value.path(), "rb").read()  # noqa: SIM115 — small file, read once
    assert pdf.startswith(b"%PDF")
    text = pdfium.PdfDocument(io.BytesIO(pdf))[0].get_textpage().get_text_range()
    assert "Tan Mei Ling" in text and "CBEC secara ringkas" in text and code in text

    # Readiness rose: the required course now counts as passed.
    after = score(page)
    assert after > before

    # Anyone can check the certificate, signed in or not.
    anonymous = browser.new_context(base_url=live_server.url, locale="en-GB")
    try:
        visitor = anonymous.new_page()
        visitor.goto(f"/academy/verify/{code}/")
        expect(visitor.locator(".certificate-ok")).to_contain_text("Tan Mei Ling")
        expect(visitor.locator(".certificate-ok")).to_contain_text("CBEC secara ringkas")
        response = visitor.goto("/academy/verify/CERT-0000-0000-0000-0000/")
        assert response.status == 404
        expect(visitor.locator("main")).to_contain_text("Certificate not found")
    finally:
        anonymous.close()
