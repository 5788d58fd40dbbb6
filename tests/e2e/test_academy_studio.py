"""Browser journey through the trainer's side of the academy, with an individual learner.

Platform staff appoint a trainer; someone signs up on their own (no company); the trainer
writes a course from nothing in the studio (course, module, lesson, quiz and a question, which
she then corrects), publishes it, opens a cohort and adds the new learner, who finds the course
and the cohort under "My learning" and fails the quiz as often as it allows; the trainer allows
one more attempt from the cohort's report, the learner passes and gets a certificate, and the
report shows it; platform staff feature the course so it leads the catalogue.

Forms are found by their addresses or hidden markers rather than their labels where a label is
translated text, so the journey keeps working in any language.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.e2e.steps import log_in, log_out

pytestmark = pytest.mark.browser


def test_trainer_builds_a_course_runs_a_cohort_and_follows_a_learner(
    page, make_org, make_user, staff_user, password
):
    from ehub.academy.models import Course
    from ehub.accounts.domain import OrgKind

    make_org(kind=OrgKind.PLATFORM, name="eHub Operations")
    trainer = make_user("siti@academy.example", full_name="Siti Rahmah")

    # Platform staff appoint her as a trainer.
    log_in(page, staff_user.email, password)
    page.goto("/ops/")
    page.locator("a[href='/ops/trainers/']").click()
    page.get_by_label("Email address").fill(trainer.email)
    page.locator("main form:not([action]) button[type=submit]").click()
    expect(page.locator("tr[data-trainer='siti@academy.example']")).to_contain_text("Siti Rahmah")
    log_out(page)

    # An individual signs up on their own: no company, a learner in the academy.
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Ahmad Faiz")
    page.get_by_label("Email address").fill("faiz@learner.example")
    page.get_by_label("Password").fill("belajar-eksport-2026")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("navigation", name="Your account")).to_be_visible()
    log_out(page)

    # The trainer writes a course from nothing.
    log_in(page, trainer.email, password)
    page.goto("/academy/studio/new/")
    page.get_by_label("Title (English)").fill("Shipping frozen durian")
    page.get_by_label("Title (Malay)").fill("Menghantar durian sejuk beku")
    page.get_by_label("Summary (English)").fill("Cold chain from the orchard to Shanghai.")
    page.get_by_label("Estimated time (minutes)").fill("20")
    page.locator("main form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/academy/studio/shipping-frozen-durian/$"))
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "draft")

    page.locator("a[href$='/modules/new/']").click()
    page.get_by_label("Title (English)").fill("Cold chain")
    page.locator("form:has(input[name=form][value=module]) button").click()
    expect(page).to_have_url(re.compile(r"/modules/\d+/$"))
    module_url = page.url

    # The module's quiz and one question, first with a mistake.
    page.get_by_label("Pass mark (%)").fill("100")
    page.get_by_label("Attempts allowed").fill("2")
    page.locator("form:has(input[name=form][value=quiz]) button").click()
    question_form = page.locator("form:has(input[name=form][value=question])")
    question_form.get_by_label("Question (English)").fill("At what temperature is it kept?")
    question_form.get_by_label("Choices (English)").fill("*-18 °C\n4 °C\n25 °C")
    question_form.get_by_label("Explanation (English)").fill("Frozen durian stays at -18 °C.")
    question_form.locator("button[type=submit]").click()
    expect(page.locator("main ol li").first).to_contain_text("At what temperature")

    # She corrects the wording before anyone has answered.
    page.locator("a[href*='?question=']").first.click()
    edit_form = page.locator("form:has(input[name=form][value=edit_question])")
    expect(edit_form.get_by_label("Choices (English)")).to_have_value("*-18 °C\n4 °C\n25 °C")
    edit_form.get_by_label("Question (English)").fill("At what temperature is frozen durian kept?")
    edit_form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(module_url) + r"(#question-form)?$"))
    expect(page.locator("main ol li").first).to_contain_text("frozen durian kept")

    # A lesson in the module; the studio shows it rendered.
    page.goto("/academy/studio/shipping-frozen-durian/lessons/new/")
    page.get_by_label("Title (English)").fill("Keeping it frozen")
    page.get_by_label("Text in Markdown (English)").fill(
        "Keep the cartons at **-18 °C** from packing to delivery.\n\n<script>alert(1)</script>"
    )
    page.locator("main form button[type=submit]").first.click()
    page.goto("/academy/studio/shipping-frozen-durian/")
    page.locator("form[action$='/publish/'] button").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "published")

    # A cohort on the new course, with the learner who signed up.
    page.goto("/academy/cohorts/")
    page.get_by_label("Name").fill("Durian exporters, January")
    page.get_by_label("Course").select_option("shipping-frozen-durian")
    page.get_by_label("Start date").fill("2027-01-11")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/academy/cohorts/\d+/$"))
    cohort_url = page.url
    page.get_by_label("Learner's email address").fill("faiz@learner.example")
    page.locator("main form:not([action]) button[type=submit]").click()
    row = page.locator("tr[data-learner='faiz@learner.example']")
    expect(row).to_contain_text("Ahmad Faiz")
    expect(row).to_contain_text("0 %")
    log_out(page)

    # The learner finds the course (enrolled by the cohort) and the cohort itself.
    log_in(page, "faiz@learner.example", "belajar-eksport-2026")
    page.goto("/academy/my/")
    expect(page.locator("li[data-cohort]")).to_contain_text("Durian exporters, January")
    expect(page.locator("li[data-cohort]")).to_contain_text("Siti Rahmah")
    page.locator("a[href$='/shipping-frozen-durian/continue/']").click()
    expect(page.locator(".lesson-body strong")).to_have_text("-18 °C")
    assert page.locator(".lesson-body script").count() == 0
    page.locator("main .actions form button").click()
    expect(page).to_have_url(re.compile(r"/quiz/$"))
    quiz_url = page.url

    # Two wrong tries use up the quiz's two attempts.
    for _ in range(2):
        page.goto(quiz_url)
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/academy/attempts/ATT-"))
        page.locator("#quiz-form label", has_text="25 °C").click()
        page.locator("#quiz-form button[type=submit]").click()
        expect(page.locator("[data-score]")).to_have_attribute("data-score", "0")
    page.goto(quiz_url)
    expect(page.locator("main .notice-warning")).to_contain_text("your trainer can allow")
    expect(page.locator("main form button[type=submit]")).to_have_count(0)
    log_out(page)

    # The trainer sees it in the cohort and allows one more attempt.
    log_in(page, trainer.email, password)
    page.goto(cohort_url)
    row = page.locator("tr[data-learner='faiz@learner.example']")
    expect(row).to_contain_text("2 attempts")
    row.locator("form[action$='/grant/'] button").click()
    expect(
        page.locator("tr[data-learner='faiz@learner.example'] form[action$='/grant/']")
    ).to_have_count(0)
    log_out(page)

    # Third time right.
    log_in(page, "faiz@learner.example", "belajar-eksport-2026")
    page.goto(quiz_url)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/academy/attempts/ATT-"))
    page.locator("#quiz-form label", has_text="-18 °C").click()
    page.locator("#quiz-form button[type=submit]").click()
    expect(page.locator("[data-score]")).to_have_attribute("data-score", "100")
    page.goto("/academy/certificates/")
    expect(page.locator("main")).to_contain_text("Shipping frozen durian")
    log_out(page)

    # The trainer's cohort report shows the learner's progress and quiz result.
    log_in(page, trainer.email, password)
    page.goto(cohort_url)
    row = page.locator("tr[data-learner='faiz@learner.example']")
    expect(row).to_contain_text("100 %")
    expect(row).to_contain_text("3 attempts")
    log_out(page)

    # Platform staff feature the course: it leads the catalogue.
    log_in(page, staff_user.email, password)
    page.goto("/academy/courses/shipping-frozen-durian/")
    page.locator("form[action$='/feature/'] button").click()
    assert Course.objects.get(slug="shipping-frozen-durian").featured
    page.goto("/academy/")
    expect(page.locator("main a[href^='/academy/courses/']").first).to_have_attribute(
        "href", "/academy/courses/shipping-frozen-durian/"
    )
