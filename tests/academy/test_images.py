"""Images for lessons: a course's trainer uploads real pictures (checked by ``core.images``),
pastes their Markdown into lessons, and deletes them; nobody else can, and a refused or undone
upload leaves neither a row nor a file behind."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image

from ehub.academy import services
from ehub.academy.models import CourseImage, Lesson
from ehub.core.errors import NotFound, PermissionDenied, ValidationFailed
from ehub.core.images import read_image
from ehub.core.models import AuditEntry

from .conftest import ctx_for

pytestmark = pytest.mark.django_db

API = "/api/v1/academy/studio/courses"
SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_PAGE = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Uploads go to a temporary folder, not the project's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def picture(size=(64, 48), fmt="PNG", color="#c9a227") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def noisy_png(min_bytes: int) -> bytes:
    """A real PNG larger than ``min_bytes``: random pixels do not compress."""
    rng = random.Random(7)
    side = 900
    while True:
        raw = rng.randbytes(side * side * 3)
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), raw).save(out, "PNG")
        if out.tell() > min_bytes:
            return out.getvalue()
        side += 200


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def other_trainer(make_user, platform_org):
    from ehub.accounts.domain import Role

    return make_user("other.trainer@academy.example", org=platform_org, role=Role.TRAINER)


@pytest.fixture
def lesson(course) -> Lesson:
    return Lesson.objects.filter(module__course=course).order_by("position", "pk").first()


def studio_lesson_url(course, lesson) -> str:
    return f"/academy/studio/{course.slug}/lessons/{lesson.pk}/"


# ---------------------------------------------------------------------------------------------
# The shared reader
# ---------------------------------------------------------------------------------------------


def test_shared_reader_names_the_callers_field_and_limit():
    image = read_image(picture(fmt="GIF"), "picture", 10_000)
    assert (image.format, image.size) == ("GIF", (64, 48))
    with pytest.raises(ValidationFailed) as exc:
        read_image(SVG_WITH_SCRIPT, "picture", 10_000)
    assert [(e.field, e.code) for e in exc.value.errors] == [("picture", "not_an_image")]
    with pytest.raises(ValidationFailed) as exc:
        read_image(b"x" * (3 * 1024 * 1024 + 1), "picture", 3 * 1024 * 1024)
    assert [(e.field, e.code) for e in exc.value.errors] == [("picture", "too_large")]
    assert str(exc.value.errors[0].message) == "The image is larger than 3 MB."


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------


def test_trainer_uploads_a_png(trainer_ctx, trainer, course, media):
    content = picture((120, 80))
    row = services.add_course_image(
        trainer_ctx, course.slug, content, "../../etc/My photo.svg", "  Durian   [fresh]\n stall "
    )
    row.refresh_from_db()
    assert row.course_id == course.pk and row.uploaded_by_id == trainer.pk
    assert (row.width, row.height) == (120, 80)
    assert row.alt_text == "Durian [fresh] stall"
    # Stored under the course's folder, named at random with the format's extension.
    folder, name = row.image.name.rsplit("/", 1)
    assert folder == f"academy/{course.pk}"
    assert name.endswith(".png") and "photo" not in name and len(name) == 32 + 4
    assert (media / row.image.name).read_bytes() == content
    assert row.image.url == f"/media/academy/{course.pk}/{name}"
    assert row.markdown == rf"![Durian \[fresh\] stall](/media/academy/{course.pk}/{name})"
    entry = AuditEntry.objects.get(action="course.image_added")
    assert entry.after["image"] == row.image.name and entry.object_id == str(course.pk)
    assert [r.pk for r in services.course_images(course)] == [row.pk]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (HTML_PAGE, "not_an_image"),
        (SVG_WITH_SCRIPT, "not_an_image"),
        (b"GIF89a not really a gif", "not_an_image"),
        (picture(fmt="BMP"), "format"),
    ],
    ids=["html", "svg-with-script", "fake-gif", "bmp"],
)
def test_a_non_image_is_refused_on_the_image_field(trainer_ctx, course, media, content, code):
    with pytest.raises(ValidationFailed) as exc:
        services.add_course_image(trainer_ctx, course.slug, content, "durian.png", "Durian")
    assert [(e.field, e.code) for e in exc.value.errors] == [("image", code)]
    assert not CourseImage.objects.exists()
    assert stored_files(media) == []


def test_an_image_over_2_mb_is_refused(trainer_ctx, course, media):
    content = noisy_png(services.MAX_COURSE_IMAGE_BYTES)
    assert Image.open(io.BytesIO(content)).format == "PNG"  # a real image, only too large
    with pytest.raises(ValidationFailed) as exc:
        services.add_course_image(trainer_ctx, course.slug, content, "big.png")
    error = exc.value.errors[0]
    assert (error.field, error.code) == ("image", "too_large")
    assert str(error.message) == "The image is larger than 2 MB."
    assert not CourseImage.objects.exists() and stored_files(media) == []


def test_alt_text_over_200_characters_is_refused(trainer_ctx, course, media):
    with pytest.raises(ValidationFailed) as exc:
        services.add_course_image(trainer_ctx, course.slug, picture(), "a.png", "x" * 201)
    assert exc.value.errors[0].field == "alt_text"
    assert stored_files(media) == []


def test_the_51st_image_is_refused_until_one_is_deleted(
    trainer_ctx, course, media, django_capture_on_commit_callbacks
):
    CourseImage.objects.bulk_create(
        CourseImage(course=course, image=f"academy/{course.pk}/{i}.png", width=1, height=1)
        for i in range(services.MAX_COURSE_IMAGES)
    )
    with pytest.raises(ValidationFailed) as exc:
        services.add_course_image(trainer_ctx, course.slug, picture(), "one-more.png")
    assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("image", "too_many")
    assert "at most 50 images" in str(exc.value.errors[0].message)
    assert CourseImage.objects.count() == 50 and stored_files(media) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_course_image(trainer_ctx, course.slug, CourseImage.objects.first().pk)
    row = services.add_course_image(trainer_ctx, course.slug, picture(), "one-more.png")
    assert CourseImage.objects.count() == 50 and row.image.storage.exists(row.image.name)


def test_another_trainer_gets_not_found_and_nothing_is_written(
    other_trainer, trainer_ctx, course, media
):
    other = ctx_for(other_trainer)
    with pytest.raises(NotFound):
        services.add_course_image(other, course.slug, picture(), "a.png")
    mine = services.add_course_image(trainer_ctx, course.slug, picture(), "a.png")
    with pytest.raises(NotFound):
        services.remove_course_image(other, course.slug, mine.pk)
    assert list(CourseImage.objects.values_list("pk", flat=True)) == [mine.pk]
    assert stored_files(media) == [media / mine.image.name]


def test_a_learner_cannot_upload(learner_ctx, course, media):
    with pytest.raises(PermissionDenied):
        services.add_course_image(learner_ctx, course.slug, picture(), "a.png")
    assert not CourseImage.objects.exists() and stored_files(media) == []


def test_a_failed_save_deletes_the_file_it_wrote(trainer_ctx, course, media, monkeypatch):
    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services.audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        services.add_course_image(trainer_ctx, course.slug, picture(), "a.png")
    assert not CourseImage.objects.exists()
    assert stored_files(media) == []


def test_delete_removes_the_row_then_the_file_after_commit(
    trainer_ctx, course, media, django_capture_on_commit_callbacks
):
    row = services.add_course_image(trainer_ctx, course.slug, picture(), "a.png")
    path = media / row.image.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.remove_course_image(trainer_ctx, course.slug, row.pk)
    assert not CourseImage.objects.exists()
    assert path.exists(), "the file stays until the deletion is committed"
    for callback in callbacks:
        callback()
    assert not path.exists()
    assert AuditEntry.objects.filter(action="course.image_removed").count() == 1
    with pytest.raises(NotFound):
        services.remove_course_image(trainer_ctx, course.slug, row.pk)


def test_a_rolled_back_delete_keeps_row_and_file(trainer_ctx, course, media):
    from django.db import transaction

    row = services.add_course_image(trainer_ctx, course.slug, picture(), "a.png")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.remove_course_image(trainer_ctx, course.slug, row.pk)
        raise RuntimeError("undo")
    assert CourseImage.objects.filter(pk=row.pk).exists()
    assert (media / row.image.name).exists()


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def test_upload_from_the_lesson_page_returns_to_it_with_the_snippet(
    client, trainer, course, lesson, media
):
    client.force_login(trainer)
    back = studio_lesson_url(course, lesson)
    response = client.post(
        f"/academy/studio/{course.slug}/images/",
        {"image": io.BytesIO(picture()), "alt_text": "Durian stall", "next": back},
    )
    assert response.status_code == 302
    assert response["Location"] == back + "#course-images"
    row = CourseImage.objects.get()
    page = client.get(back).content.decode()
    assert "Images of this course" in page
    assert f'value="![Durian stall]({row.image.url})"' in page
    assert f'src="{row.image.url}"' in page
    # The course's own studio page lists it too.
    course_page = client.get(f"/academy/studio/{course.slug}/").content.decode()
    assert f'value="![Durian stall]({row.image.url})"' in course_page


def test_upload_from_the_new_lesson_page_and_unsafe_next(client, trainer, course, media):
    client.force_login(trainer)
    new = f"/academy/studio/{course.slug}/lessons/new/"
    assert "Images of this course" in client.get(new).content.decode()
    response = client.post(
        f"/academy/studio/{course.slug}/images/",
        {"image": io.BytesIO(picture()), "next": new},
    )
    assert response["Location"] == new + "#course-images"
    response = client.post(
        f"/academy/studio/{course.slug}/images/",
        {"image": io.BytesIO(picture()), "next": "https://evil.example/phish"},
    )
    assert response["Location"] == f"/academy/studio/{course.slug}/#course-images"
    assert CourseImage.objects.count() == 2


def test_a_refused_upload_is_shown_on_the_lesson_page(client, trainer, course, lesson, media):
    client.force_login(trainer)
    back = studio_lesson_url(course, lesson)
    svg = io.BytesIO(SVG_WITH_SCRIPT)
    svg.name = "durian.svg"
    response = client.post(
        f"/academy/studio/{course.slug}/images/",
        {"image": svg, "alt_text": "Durian", "next": back},
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Image: This file is not an image eHub can read." in text
    # The page is the lesson editor, whose own form still saves the lesson.
    assert f'action="{back}"' in text and 'name="body_en"' in text
    assert f'name="next" value="{back}"' in text
    assert not CourseImage.objects.exists() and stored_files(media) == []


def test_a_refused_upload_from_the_course_page_is_shown_there(client, trainer, course, media):
    client.force_login(trainer)
    back = f"/academy/studio/{course.slug}/"
    response = client.post(
        f"/academy/studio/{course.slug}/images/",
        {"image": io.BytesIO(HTML_PAGE), "next": back},
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Image: This file is not an image eHub can read." in text
    assert f'action="{back}"' in text  # the course form still posts to the course


def test_other_trainer_and_learner_are_refused_on_pages(
    client, other_trainer, learner, trainer_ctx, course, media
):
    row = services.add_course_image(trainer_ctx, course.slug, picture(), "a.png")
    before = stored_files(media)
    for user, status in ((other_trainer, 404), (learner, 403)):
        client.force_login(user)
        response = client.post(
            f"/academy/studio/{course.slug}/images/", {"image": io.BytesIO(picture())}
        )
        assert response.status_code == status
        response = client.post(f"/academy/studio/{course.slug}/images/{row.pk}/delete/")
        assert response.status_code == status
    assert list(CourseImage.objects.values_list("pk", flat=True)) == [row.pk]
    assert stored_files(media) == before


def test_delete_button_removes_the_image(
    client, trainer, course, lesson, media, django_capture_on_commit_callbacks
):
    client.force_login(trainer)
    back = studio_lesson_url(course, lesson)
    client.post(f"/academy/studio/{course.slug}/images/", {"image": io.BytesIO(picture())})
    row = CourseImage.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/academy/studio/{course.slug}/images/{row.pk}/delete/", {"next": back}
        )
    assert response["Location"] == back + "#course-images"
    assert not CourseImage.objects.exists() and stored_files(media) == []
    assert client.get(f"/academy/studio/{course.slug}/images/").status_code == 405


def test_upload_without_csrf_token_is_refused(trainer, course, media):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trainer)
    response = client.post(
        f"/academy/studio/{course.slug}/images/", {"image": io.BytesIO(picture())}
    )
    assert response.status_code == 403
    assert not CourseImage.objects.exists() and stored_files(media) == []


def test_the_learners_lesson_page_shows_the_uploaded_image(
    client, trainer_ctx, learner, course, lesson, media
):
    row = services.add_course_image(trainer_ctx, course.slug, picture(), "a.png", "Durian stall")
    # The learner reads Malay; both languages get the picture.
    for translation in lesson.translations.all():
        translation.body += f"\n\n{row.markdown}\n"
        translation.save()
    client.force_login(learner)
    client.post(f"/academy/courses/{course.slug}/enrol/")
    text = client.get(f"/academy/courses/{course.slug}/lessons/{lesson.pk}/").content.decode()
    body = text.split('class="lesson-body"', 1)[1].split("</div>", 1)[0]
    assert f'<img alt="Durian stall" src="{row.image.url}">' in body
    # And the file is what the page points at.
    assert Path(row.image.path).read_bytes() == picture()


def test_studio_lesson_page_query_count(
    client, trainer, trainer_ctx, course, lesson, media, django_assert_max_num_queries
):
    for i in range(5):
        services.add_course_image(trainer_ctx, course.slug, picture(), f"{i}.png", f"Photo {i}")
    client.force_login(trainer)
    with django_assert_max_num_queries(14):
        response = client.get(studio_lesson_url(course, lesson))
    assert response.status_code == 200
    assert response.content.decode().count('class="image-markdown"') == 5


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


def test_api_upload_list_and_delete(
    client, trainer, course, media, django_capture_on_commit_callbacks
):
    client.force_login(trainer)
    response = client.post(
        f"{API}/{course.slug}/images", {"image": io.BytesIO(picture()), "alt_text": "Durian"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    row = CourseImage.objects.get()
    assert body["id"] == row.pk and body["url"] == row.image.url
    assert body["markdown"] == f"![Durian]({row.image.url})"
    assert (body["width"], body["height"]) == (64, 48)
    listed = client.get(f"{API}/{course.slug}/images").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == row.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"{API}/{course.slug}/images/{row.pk}")
    assert response.status_code == 204
    assert not CourseImage.objects.exists() and stored_files(media) == []
    assert client.delete(f"{API}/{course.slug}/images/{row.pk}").status_code == 404


def test_api_refusals_are_problems_naming_the_field(
    client, trainer, other_trainer, learner, course, media
):
    client.force_login(trainer)
    response = client.post(f"{API}/{course.slug}/images", {"image": io.BytesIO(SVG_WITH_SCRIPT)})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    # The multipart part is named as django-ninja names a missing file: file.image.
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("file.image", "not_an_image")
    ]
    assert client.post(f"{API}/{course.slug}/images").json()["errors"][0]["field"] == "file.image"
    big = noisy_png(services.MAX_COURSE_IMAGE_BYTES)
    response = client.post(
        f"{API}/{course.slug}/images", {"image": io.BytesIO(big), "alt_text": "x" * 201}
    )
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("form.alt_text", "too_long")
    ]
    response = client.post(f"{API}/{course.slug}/images", {"image": io.BytesIO(big)})
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("file.image", "too_large")
    ]
    client.force_login(other_trainer)
    response = client.post(f"{API}/{course.slug}/images", {"image": io.BytesIO(picture())})
    assert response.status_code == 404
    assert client.get(f"{API}/{course.slug}/images").status_code == 404
    client.force_login(learner)
    response = client.post(f"{API}/{course.slug}/images", {"image": io.BytesIO(picture())})
    assert response.status_code == 403
    assert not CourseImage.objects.exists() and stored_files(media) == []
