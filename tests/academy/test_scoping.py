"""Who sees what: a learner only their own progress and attempts, a trainer only their cohorts."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.academy import services
from ehub.academy.models import Quiz
from ehub.core.errors import NotFound, PermissionDenied

from .conftest import correct_answers, ctx_for, finish_course, wrong_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(make_user):
    return make_user("other.learner@example.my", full_name="Other Learner")


def _attempt(ctx, course):
    services.enrol(ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    return services.start_attempt(ctx, course.slug, quiz.module_id)


def test_answers_for_another_learners_attempt_are_refused_as_not_found(course, learner_ctx, other):
    attempt = _attempt(learner_ctx, course)
    other_ctx = ctx_for(other)
    services.enrol(other_ctx, course.slug)
    with pytest.raises(NotFound):
        services.submit_attempt(other_ctx, attempt.public_id, correct_answers(attempt))
    with pytest.raises(NotFound):
        services.attempt_page(other_ctx, attempt.public_id)
    attempt.refresh_from_db()
    assert attempt.is_open and attempt.answers == {}


def test_a_learner_sees_only_their_own_progress_and_certificates(course, learner_ctx, other):
    enrolment = finish_course(learner_ctx, course)
    other_ctx = ctx_for(other)
    assert services.my_enrolments(other_ctx) == []
    assert services.my_certificates(other_ctx) == []
    assert services.course_outline(other_ctx, course.slug).enrolment is None
    with pytest.raises(NotFound):
        services.own_certificate(other_ctx, enrolment.certificate.code)
    assert [e.pk for e in services.my_enrolments(learner_ctx)] == [enrolment.pk]


def test_a_trainer_sees_only_their_cohorts(course, trainer_ctx, make_user, platform_org, learner):
    from ehub.accounts.domain import Role

    cohort = services.create_cohort(
        trainer_ctx, name="September", slug=course.slug, starts_on=dt.date(2026, 9, 1)
    )
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    other_trainer = ctx_for(
        make_user("t2@example.com", org=platform_org, role=Role.TRAINER, full_name="T Two")
    )
    assert services.trainer_cohorts(other_trainer) == []
    with pytest.raises(NotFound):
        services.cohort_report(other_trainer, cohort.pk)
    with pytest.raises(NotFound):
        services.add_cohort_member(other_trainer, cohort.pk, "x@example.com")
    with pytest.raises(PermissionDenied):
        services.cohort_report(ctx_for(learner), cohort.pk)


def test_cohort_report_shows_members_progress_and_quiz_results(
    course, trainer_ctx, learner, learner_ctx, other
):
    cohort = services.create_cohort(
        trainer_ctx, name="September", slug=course.slug, starts_on=dt.date(2026, 9, 1)
    )
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    attempt = _attempt(learner_ctx, course)
    services.submit_attempt(learner_ctx, attempt.public_id, wrong_answers(attempt))
    _attempt(ctx_for(other), course)  # not a member: not in the report
    report = services.cohort_report(trainer_ctx, cohort.pk)
    assert [row.user.pk for row in report.rows] == [learner.pk]
    quiz = report.quizzes[0]
    assert report.rows[0].quiz_results[quiz.pk] == (0, 1, False)
