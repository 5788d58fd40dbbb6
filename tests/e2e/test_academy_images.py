"""Browser journey: a trainer illustrates a lesson. She opens the lesson in the studio, uploads
a picture, copies the Markdown the studio shows for it into the lesson's text, saves, and the
picture is shown (really loaded, not a broken image) in the studio's preview and on the lesson
page a learner reads.

Forms are found by their addresses or ids rather than translated labels where possible.
"""

from __future__ import annotations

import copy
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from tests.e2e.steps import log_in

pytestmark = pytest.mark.browser

IMAGE_LOADED = """selector => {
    const img = document.querySelector(selector);
    return img !== null && img.complete && img.naturalWidth > 0;
}"""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploads go to a temporary folder; the live server serves MEDIA_URL from it."""
    settings.MEDIA_ROOT = tmp_path / "media"


def test_trainer_uploads_an_image_and_shows_it_in_a_lesson(
    page, make_org, make_user, password, tmp_path
):
    from tests.academy.conftest import SMALL_COURSE

    from ehub.academy import content
    from ehub.academy.models import CourseImage, Lesson
    from ehub.accounts.domain import OrgKind, Role
    from ehub.accounts.services import build_context

    platform = make_org(kind=OrgKind.PLATFORM, name="eHub Operations")
    trainer = make_user(
        "trainer@academy.example", org=platform, role=Role.TRAINER, full_name="Daniel Lim"
    )
    course, _created = content.install_course(
        build_context(trainer), copy.deepcopy(SMALL_COURSE), publish=True
    )
    lesson = Lesson.objects.filter(module__course=course).order_by("position", "pk").first()
    photo = tmp_path / "durian stall.png"
    Image.new("RGB", (160, 90), "#3a7d44").save(photo)

    # The trainer opens the first lesson from the course's studio page.
    log_in(page, trainer.email, password)
    page.goto("/academy/studio/")
    page.locator("tr[data-course='small-cbec'] a").click()
    lesson_url = f"/academy/studio/{course.slug}/lessons/{lesson.pk}/"
    page.locator(f".outline a[href='{lesson_url}']").click()
    expect(page).to_have_url(re.compile(re.escape(lesson_url) + "$"))

    # She uploads a picture and comes back to the same lesson, the picture listed.
    section = page.locator("#course-images")
    section.locator("input[type=file][name=image]").set_input_files(photo)
    section.locator("input[name=alt_text]").fill("A durian stall in Raub")
    section.locator("form[action$='/images/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(lesson_url) + "#course-images$"))
    row = CourseImage.objects.get(course=course)
    snippet = section.locator(".image-markdown")
    expect(snippet).to_have_value(f"![A durian stall in Raub]({row.image.url})")
    expect(snippet).to_have_attribute("readonly", "")
    page.wait_for_function(IMAGE_LOADED, arg="#course-images .image-thumb")

    # She copies the snippet and pastes it at the end of the English text, then saves.
    snippet.select_text()
    page.keyboard.press("Control+C")
    body = page.locator("#id_body_en")
    original = body.input_value()
    body.focus()
    body.press("Control+End")
    body.press("Enter")
    body.press("Enter")
    page.keyboard.press("Control+V")
    expect(body).to_have_value(f"{original}\n\n![A durian stall in Raub]({row.image.url})")
    page.locator(f"form[action='{lesson_url}'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(lesson_url) + "$"))

    # The studio's preview shows the picture, really loaded.
    preview_img = page.locator(".preview img")
    expect(preview_img).to_have_attribute("src", row.image.url)
    expect(preview_img).to_have_attribute("alt", "A durian stall in Raub")
    page.wait_for_function(IMAGE_LOADED, arg=".preview img")

    # Previewing as a learner: the course page, enrol, and the lesson shows the picture.
    page.locator(".breadcrumb a").click()
    page.locator(f"a[href='/academy/courses/{course.slug}/']").first.click()
    page.locator("form[action$='/enrol/'] button").click()
    expect(page).to_have_url(re.compile(rf"/academy/courses/{course.slug}/lessons/{lesson.pk}/$"))
    learner_img = page.locator("article .lesson-body img")
    expect(learner_img).to_have_attribute("src", row.image.url)
    page.wait_for_function(IMAGE_LOADED, arg="article .lesson-body img")
    width = learner_img.evaluate("img => img.naturalWidth")
    assert width == 160
