"""Academy use cases: trainers write and publish, learners enrol, read, take quizzes, finish."""

from __future__ import annotations

import pytest
from django.utils import translation

from ehub.academy import content, services
from ehub.academy.models import Attempt, Certificate, Course, Enrolment, Lesson, Quiz
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

from .conftest import correct_answers, ctx_for, finish_course, wrong_answers

pytestmark = pytest.mark.django_db


# -- trainers -------------------------------------------------------------------------------


def test_only_trainers_create_courses(learner_ctx):
    with pytest.raises(PermissionDenied):
        services.create_course(learner_ctx, services.CourseInput(texts={"en": ("T", "")}))


def test_course_input_errors_name_the_fields(trainer_ctx):
    with pytest.raises(ValidationFailed) as exc:
        services.create_course(
            trainer_ctx,
            services.CourseInput(slug="Bad Slug!", level="expert", estimated_minutes=0, texts={}),
        )
    fields = {e.field for e in exc.value.errors}
    assert {"title_en", "slug", "level", "estimated_minutes"} <= fields
    assert not Course.objects.exists()


def test_draft_cannot_be_published_without_content(trainer_ctx):
    services.create_course(trainer_ctx, services.CourseInput(texts={"en": ("Empty", "")}))
    with pytest.raises(ValidationFailed) as exc:
        services.publish_course(trainer_ctx, "empty")
    assert "lessons" in {e.field for e in exc.value.errors}


def test_one_answer_question_needs_exactly_one_correct_choice(make_course, trainer_ctx):
    course = make_course(publish=False)
    module = course.modules.first()
    data = services.QuestionInput(
        kind="single",
        prompts={"en": "Q?"},
        choices=[
            services.ChoiceInput({"en": "a"}, True),
            services.ChoiceInput({"en": "b"}, True),
        ],
    )
    with pytest.raises(ValidationFailed) as exc:
        services.add_question(trainer_ctx, course.slug, module.pk, data)
    assert exc.value.errors[0].field == "choices"


def test_another_trainers_course_is_not_found(course, make_user, platform_org):
    from ehub.accounts.domain import Role

    other = make_user("other.trainer@example.com", org=platform_org, role=Role.TRAINER)
    with pytest.raises(NotFound):
        services.editable_course(ctx_for(other), course.slug)
    with pytest.raises(NotFound):
        services.publish_course(ctx_for(other), course.slug)


def test_drafts_are_invisible_to_learners(make_course, learner_ctx, trainer_ctx):
    make_course(slug="draft-course", publish=False)
    assert "draft-course" not in {c.slug for c in services.catalogue()}
    with pytest.raises(NotFound):
        services.course_outline(learner_ctx, "draft-course")
    with pytest.raises(NotFound):
        services.enrol(learner_ctx, "draft-course")
    # its trainer previews it
    assert services.course_outline(trainer_ctx, "draft-course").course.slug == "draft-course"


def test_staff_feature_published_courses(course, staff_user, learner_ctx):
    with pytest.raises(PermissionDenied):
        services.feature_course(learner_ctx, course.slug)
    services.feature_course(ctx_for(staff_user), course.slug)
    course.refresh_from_db()
    assert course.featured
    assert services.catalogue()[0].slug == course.slug


def test_seed_courses_install_and_are_idempotent(trainer_ctx):
    for path in content.course_files():
        content.install_course(trainer_ctx, content.load(path))
    assert Course.objects.filter(status="published").count() == 3
    first = Course.objects.get(slug="selling-to-china-cbec")
    assert {t.language for t in first.translations.all()} == {"en", "ms", "zh-hans"}
    for course in Course.objects.all():
        langs = {t.language for t in course.translations.all()}
        assert {"en", "ms"} <= langs
        assert Quiz.objects.filter(module__course=course).count() == course.modules.count()
    for path in content.course_files():
        _course, created = content.install_course(trainer_ctx, content.load(path))
        assert not created
    assert Course.objects.count() == 3


def test_seed_content_tests_the_real_rules(trainer_ctx):
    content.install_course(trainer_ctx, content.load(content.course_files()[0]))
    from ehub.academy.models import Question

    def correct(prompt_start):
        q = Question.objects.get(prompts__en__startswith=prompt_start)
        return [c.texts["en"] for c in q.choices.filter(is_correct=True)]

    assert correct("What is the CBEC limit for one transaction") == ["CNY 5,000"]
    assert correct("A buyer orders one item at CNY 3,000") == ["CNY 273"]
    assert sorted(correct("Which documents does customs match")) == [
        "The order (CEB311)",
        "The payment (CEB411)",
        "The waybill (CEB511)",
    ]


# -- learners ------------------------------------------------------------------------------


def test_enrol_is_idempotent_and_needs_a_user(course, learner_ctx):
    from ehub.core.context import Context

    first = services.enrol(learner_ctx, course.slug)
    assert services.enrol(learner_ctx, course.slug).pk == first.pk
    with pytest.raises(PermissionDenied):
        services.enrol(Context(), course.slug)


def test_reading_needs_enrolment(course, learner_ctx):
    lesson = Lesson.objects.filter(module__course=course).first()
    with pytest.raises(PermissionDenied) as exc:
        services.open_lesson(learner_ctx, course.slug, lesson.pk)
    assert exc.value.code == "not_enrolled"


def test_lesson_in_the_learners_language_and_fallback(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    lesson = Lesson.objects.filter(module__course=course).order_by("position").first()
    page = services.open_lesson(learner_ctx, course.slug, lesson.pk, language="ms")
    assert page.texts.language == "ms" and not page.texts.is_fallback
    assert "<strong>CNY 5,000</strong>" in page.html
    assert "setiap transaksi" in page.html
    page = services.open_lesson(learner_ctx, course.slug, lesson.pk, language="zh-hans")
    assert page.texts.language == "en" and page.texts.is_fallback


def test_resume_where_left_off(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    first, second = Lesson.objects.filter(module__course=course).order_by("position")
    assert services.resume_lesson_id(learner_ctx, course.slug) == first.pk
    services.complete_lesson(learner_ctx, course.slug, first.pk)
    assert services.resume_lesson_id(learner_ctx, course.slug) == second.pk
    services.open_lesson(learner_ctx, course.slug, second.pk)
    assert services.resume_lesson_id(learner_ctx, course.slug) == second.pk


def test_the_quiz_is_due_on_leaving_its_module_until_passed(make_course, learner_ctx):
    import copy

    from .conftest import SMALL_COURSE

    second_module = {
        "title": {"en": "Shipping"},
        "lessons": [{"title": {"en": "Parcels"}, "body": {"en": "Direct mail."}}],
    }
    course = make_course(modules=[copy.deepcopy(SMALL_COURSE["modules"][0]), second_module])
    services.enrol(learner_ctx, course.slug)
    first, last_of_module, other = Lesson.objects.filter(module__course=course).order_by(
        "module__position", "position"
    )
    page = services.open_lesson(learner_ctx, course.slug, first.pk)
    assert (page.quiz_due, page.next_id) == (False, last_of_module.pk)
    page = services.open_lesson(learner_ctx, course.slug, last_of_module.pk)
    assert (page.quiz_due, page.next_id) == (True, other.pk)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    services.submit_attempt(learner_ctx, attempt.public_id, correct_answers(attempt))
    page = services.open_lesson(learner_ctx, course.slug, last_of_module.pk)
    assert (page.quiz_due, page.next_id) == (False, other.pk)
    page = services.open_lesson(learner_ctx, course.slug, other.pk)  # no quiz in this module
    assert (page.quiz_due, page.next_id) == (False, None)


def test_progress_counts_lessons_and_quizzes(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    first = Lesson.objects.filter(module__course=course).order_by("position").first()
    enrolment = services.complete_lesson(learner_ctx, course.slug, first.pk)
    assert enrolment.progress == 33  # 1 of 2 lessons + 1 quiz
    enrolment = services.complete_lesson(learner_ctx, course.slug, first.pk)
    assert enrolment.progress == 33  # idempotent


def test_attempt_shuffles_and_stores_its_order(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    assert sorted(attempt.question_order) == sorted(quiz.questions.values_list("pk", flat=True))
    page = services.attempt_page(learner_ctx, attempt.public_id)
    assert [q.id for q in page.questions] == attempt.question_order
    # open attempt: nothing gives the answers away
    assert all(c.is_correct is None for q in page.questions for c in q.choices)
    assert all(q.explanation == "" for q in page.questions)
    # starting again returns the same open attempt (no attempt wasted)
    assert services.start_attempt(learner_ctx, course.slug, quiz.module_id).pk == attempt.pk


def test_fail_then_pass_then_certificate(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    for lesson in Lesson.objects.filter(module__course=course):
        services.complete_lesson(learner_ctx, course.slug, lesson.pk)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    failed = services.submit_attempt(learner_ctx, attempt.public_id, wrong_answers(attempt))
    assert failed.score == 0 and not failed.passed
    page = services.attempt_page(learner_ctx, attempt.public_id)
    assert all(q.explanation for q in page.questions)  # explanations after the attempt
    assert any(c.is_correct for q in page.questions for c in q.choices)
    assert not Certificate.objects.exists()

    with translation.override("ms"):
        second = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
        passed = services.submit_attempt(learner_ctx, second.public_id, correct_answers(second))
    assert passed.passed and passed.score == 100
    enrolment = Enrolment.objects.get(pk=passed.enrolment_id)
    assert enrolment.progress == 100 and enrolment.completed_at is not None
    certificate = Certificate.objects.get(enrolment=enrolment)
    assert certificate.language == "ms"
    assert certificate.course_title == "CBEC secara ringkas"
    assert certificate.learner_name == "Nur Aina"


def test_attempts_over_the_limit_are_refused(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    for _ in range(quiz.max_attempts):
        attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
        services.submit_attempt(learner_ctx, attempt.public_id, wrong_answers(attempt))
    with pytest.raises(services.AttemptLimitReached) as exc:
        services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    assert exc.value.status == 409
    assert "all 3 attempts" in exc.value.detail
    assert Attempt.objects.count() == quiz.max_attempts


def test_a_submitted_attempt_cannot_be_submitted_again(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    services.submit_attempt(learner_ctx, attempt.public_id, wrong_answers(attempt))
    with pytest.raises(Conflict):
        services.submit_attempt(learner_ctx, attempt.public_id, correct_answers(attempt))
    attempt.refresh_from_db()
    assert not attempt.passed


def test_answers_naming_another_questions_choice_are_refused(course, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    q1, q2 = attempt.question_order
    foreign = quiz.questions.get(pk=q2).choices.first().pk
    with pytest.raises(ValidationFailed) as exc:
        services.submit_attempt(learner_ctx, attempt.public_id, {str(q1): [foreign]})
    assert exc.value.errors[0].field == f"answers.{q1}"
    attempt.refresh_from_db()
    assert attempt.is_open and attempt.score is None  # nothing half-written


def test_unenrolled_learner_cannot_start_a_quiz(course, learner_ctx):
    quiz = Quiz.objects.get(module__course=course)
    with pytest.raises(PermissionDenied):
        services.start_attempt(learner_ctx, course.slug, quiz.module_id)


def test_finishing_twice_issues_one_certificate(course, learner_ctx):
    finish_course(learner_ctx, course)
    lesson = Lesson.objects.filter(module__course=course).first()
    services.complete_lesson(learner_ctx, course.slug, lesson.pk)
    assert Certificate.objects.count() == 1


def test_verify_certificate_normalises_typed_codes(course, learner_ctx):
    enrolment = finish_course(learner_ctx, course)
    code = enrolment.certificate.code
    assert (
        services.verify_certificate(code.lower().replace("-", " ")).pk == enrolment.certificate.pk
    )
    with pytest.raises(NotFound):
        services.verify_certificate("CERT-0000-0000-0000-0000")
    with pytest.raises(NotFound):
        services.verify_certificate("nonsense")


def test_my_progress_costs_the_same_queries_for_one_or_many_courses(make_course, learner_ctx):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ehub.academy import services as academy

    first = make_course("course-one")
    academy.enrol(learner_ctx, first.slug)
    finish_course(learner_ctx, first)
    with CaptureQueriesContext(connection) as one:
        [outline] = academy.my_progress(learner_ctx)
    assert outline.course.slug == "course-one" and outline.quizzes_passed
    assert outline.lessons_done == {lesson.pk for lesson in outline.lessons}
    for slug in ("course-two", "course-three"):
        academy.enrol(learner_ctx, make_course(slug).slug)
    make_course("a-draft", publish=False)
    with CaptureQueriesContext(connection) as three:
        outlines = academy.my_progress(learner_ctx)
    assert [o.course.slug for o in outlines] == ["course-three", "course-two", "course-one"]
    assert not outlines[0].lessons_done and outlines[2].quizzes_passed
    assert len(three) == len(one)
