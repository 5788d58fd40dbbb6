"""Academy pages: public catalogue, reading, quizzes, studio and cohorts, with query counts."""

from __future__ import annotations

import pytest
from django.conf import settings

from ehub.academy import services
from ehub.academy.models import Attempt, Course, Lesson, Quiz

from .conftest import correct_answers, finish_course

pytestmark = pytest.mark.django_db


def test_catalogue_is_public(client, course, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.get("/academy/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "<title>Academy · eHub</title>" in text
    assert "CBEC in brief" in text


def test_catalogue_in_malay(client, course):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ms"
    assert "CBEC secara ringkas" in client.get("/academy/").content.decode()


def test_course_page_public_and_with_progress(
    client, course, learner, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        response = client.get(f"/academy/courses/{course.slug}/")
    assert response.status_code == 200
    assert "Log in to enrol" in response.content.decode()
    client.force_login(learner)
    response = client.post(f"/academy/courses/{course.slug}/enrol/")
    assert response.status_code == 302
    with django_assert_max_num_queries(14):
        response = client.get(f"/academy/courses/{course.slug}/")
    text = response.content.decode()  # the learner reads Malay, their saved language
    assert f'href="/academy/courses/{course.slug}/continue/">Mulakan kursus<' in text


def test_lesson_reader_in_malay_with_resume(client, course, learner):
    client.force_login(learner)  # learner prefers Malay
    client.post(f"/academy/courses/{course.slug}/enrol/")
    first, second = Lesson.objects.filter(module__course=course).order_by("position")
    response = client.get(f"/academy/courses/{course.slug}/continue/")
    assert response["Location"] == f"/academy/courses/{course.slug}/lessons/{first.pk}/"
    response = client.get(response["Location"])
    text = response.content.decode()
    assert 'lang="ms"' in text
    assert "<strong>CNY 5,000</strong>" in text and "setiap transaksi" in text
    response = client.post(f"/academy/courses/{course.slug}/lessons/{first.pk}/")
    assert response["Location"] == f"/academy/courses/{course.slug}/lessons/{second.pk}/"
    response = client.get(f"/academy/courses/{course.slug}/continue/")
    assert response["Location"].endswith(f"/lessons/{second.pk}/")
    # the last lesson of the module leads to its quiz
    response = client.post(f"/academy/courses/{course.slug}/lessons/{second.pk}/")
    assert response["Location"].endswith("/quiz/")


def test_lesson_requires_login_and_enrolment(client, course, learner):
    lesson = Lesson.objects.filter(module__course=course).first()
    url = f"/academy/courses/{course.slug}/lessons/{lesson.pk}/"
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(learner)
    assert client.get(url)["Location"] == f"/academy/courses/{course.slug}/"


def test_lesson_markdown_script_is_neutralised_on_the_page(client, make_course, learner):
    course = make_course(slug="nasty")
    lesson = Lesson.objects.filter(module__course=course).first()
    lesson.translations.filter(language="ms").update(
        body="Hai <script>alert('x')</script><img src=x onerror=alert(1)>"
    )
    client.force_login(learner)
    client.post(f"/academy/courses/{course.slug}/enrol/")
    text = client.get(f"/academy/courses/{course.slug}/lessons/{lesson.pk}/").content.decode()
    body = text.split('class="lesson-body"', 1)[1].split("</div>", 1)[0]
    assert "<script" not in body and "onerror" not in body and "Hai" in body


def test_quiz_pages_fail_then_pass(client, course, learner, django_assert_max_num_queries):
    client.force_login(learner)
    client.post(f"/academy/courses/{course.slug}/enrol/")
    quiz = Quiz.objects.get(module__course=course)
    response = client.post(f"/academy/courses/{course.slug}/modules/{quiz.module_id}/quiz/")
    attempt = Attempt.objects.get()
    assert response["Location"] == f"/academy/attempts/{attempt.public_id}/"
    with django_assert_max_num_queries(12):
        page = client.get(response["Location"])
    assert page.status_code == 200
    response = client.post(f"/academy/attempts/{attempt.public_id}/", {})  # nothing ticked
    assert response.status_code == 302
    text = client.get(f"/academy/attempts/{attempt.public_id}/").content.decode()
    assert 'data-score="0"' in text
    assert "Barangan, tambang dan insurans." in text  # the explanation, in the learner's Malay

    client.post(f"/academy/courses/{course.slug}/modules/{quiz.module_id}/quiz/")
    second = Attempt.objects.get(number=2)
    answers = {f"q{qid}": ids for qid, ids in correct_answers(second).items()}
    with django_assert_max_num_queries(17):  # the form's questions come from the attempt row
        client.post(f"/academy/attempts/{second.public_id}/", answers)
    second.refresh_from_db()
    assert second.passed and second.score == 100


def test_another_learners_attempt_page_is_404(client, course, learner, make_user):
    client.force_login(learner)
    client.post(f"/academy/courses/{course.slug}/enrol/")
    quiz = Quiz.objects.get(module__course=course)
    client.post(f"/academy/courses/{course.slug}/modules/{quiz.module_id}/quiz/")
    attempt = Attempt.objects.get()
    client.force_login(make_user("intruder@example.com"))
    assert client.get(f"/academy/attempts/{attempt.public_id}/").status_code == 404
    assert client.post(f"/academy/attempts/{attempt.public_id}/", {}).status_code == 404
    attempt.refresh_from_db()
    assert attempt.is_open


def test_my_learning_and_certificates(client, course, learner, learner_ctx):
    code = finish_course(learner_ctx, course).certificate.code
    client.force_login(learner)
    assert "100 %" in client.get("/academy/my/").content.decode()
    text = client.get("/academy/certificates/").content.decode()
    assert f'href="/academy/certificates/{code}.pdf"' in text


def test_trainer_studio_creates_and_publishes(client, trainer, learner):
    client.force_login(learner)
    assert client.get("/academy/studio/").status_code == 403
    client.force_login(trainer)
    response = client.post(
        "/academy/studio/new/",
        {
            "level": "beginner",
            "estimated_minutes": "20",
            "title_en": "Packing durian",
            "title_ms": "Membungkus durian",
            "summary_en": "Cold chain.",
        },
    )
    assert response.status_code == 302
    course = Course.objects.get(slug="packing-durian")
    response = client.post(
        f"/academy/studio/{course.slug}/modules/new/",
        {"form": "module", "position": "1", "title_en": "Cold chain"},
    )
    module = course.modules.get()
    response = client.post(
        f"/academy/studio/{course.slug}/lessons/new/",
        {
            "module": str(module.pk),
            "position": "1",
            "minutes": "5",
            "title_en": "Ice packs",
            "body_en": "Use **gel packs**. <script>x</script>",
        },
    )
    assert response.status_code == 302
    lesson = Lesson.objects.get(module=module)
    page = client.get(f"/academy/studio/{course.slug}/lessons/{lesson.pk}/").content.decode()
    assert "<strong>gel packs</strong>" in page and "<script>x" not in page
    client.post(
        f"/academy/studio/{course.slug}/modules/{module.pk}/",
        {"form": "quiz", "pass_mark": "80", "max_attempts": "2"},
    )
    response = client.post(
        f"/academy/studio/{course.slug}/modules/{module.pk}/",
        {
            "form": "question",
            "kind": "single",
            "position": "1",
            "prompt_en": "Cold?",
            "choices_en": "*Yes\nNo",
            "explanation_en": "Frozen durian stays frozen.",
        },
    )
    assert response.status_code == 302
    assert module.quiz.questions.get().choices.filter(is_correct=True).count() == 1
    response = client.post(f"/academy/studio/{course.slug}/publish/")
    course.refresh_from_db()
    assert course.status == "published"


def test_studio_form_errors_are_shown_on_fields(client, trainer):
    client.force_login(trainer)
    response = client.post(
        "/academy/studio/new/", {"level": "beginner", "estimated_minutes": "20", "slug": "new"}
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Give the course a title in at least one language." in text


def test_cohort_pages_for_their_trainer_only(
    client, course, trainer, learner, learner_ctx, make_user, platform_org
):
    from ehub.accounts.domain import Role

    client.force_login(trainer)
    response = client.post(
        "/academy/cohorts/", {"name": "Sept", "course": course.slug, "starts_on": "2026-09-01"}
    )
    assert response.status_code == 302
    url = response["Location"]
    client.post(url, {"email": learner.email})
    finish_course(learner_ctx, course)
    text = client.get(url).content.decode()
    assert "Nur Aina" in text and "100 %" in text
    client.force_login(make_user("t3@example.com", org=platform_org, role=Role.TRAINER))
    assert client.get(url).status_code == 404
    client.force_login(learner)
    assert client.get(url).status_code == 403


def test_staff_feature_from_the_course_page(client, course, staff_user):
    client.force_login(staff_user)
    client.post(f"/academy/courses/{course.slug}/feature/", {"featured": "1"})
    assert Course.objects.get(pk=course.pk).featured
    assert services.catalogue()[0].pk == course.pk


def test_studio_preview_is_in_the_page_language(client, course, trainer):
    lesson = Lesson.objects.filter(module__course=course).order_by("position").first()
    client.force_login(trainer)
    url = f"/academy/studio/{course.slug}/lessons/{lesson.pk}/"
    malay = client.get(url, HTTP_ACCEPT_LANGUAGE="ms").content.decode()
    assert 'class="preview lesson-body" lang="ms"' in malay
    assert "bagi setiap transaksi" in malay.split('class="preview lesson-body"', 1)[1]
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'class="preview lesson-body" lang="en"' in chinese  # no Chinese text: English


def test_a_foreign_choice_in_the_quiz_form_is_refused_and_the_attempt_stays_open(
    client, course, learner
):
    client.force_login(learner)
    client.post(f"/academy/courses/{course.slug}/enrol/")
    quiz = Quiz.objects.get(module__course=course)
    client.post(f"/academy/courses/{course.slug}/modules/{quiz.module_id}/quiz/")
    attempt = Attempt.objects.get()
    first, second = attempt.question_order
    foreign = attempt.choice_order[str(second)][0]  # a choice of the other question
    response = client.post(f"/academy/attempts/{attempt.public_id}/", {f"q{first}": [foreign]})
    assert response.status_code == 422
    assert 'id="quiz-form"' in response.content.decode()  # the questions are shown again
    attempt.refresh_from_db()
    assert attempt.is_open and attempt.answers == {}
