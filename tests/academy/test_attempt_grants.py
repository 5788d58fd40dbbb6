"""A cohort's trainer allows one more quiz attempt to a member who used them all and failed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.academy import domain, services
from ehub.academy.models import AttemptGrant, Quiz
from ehub.core.errors import Conflict, NotFound, PermissionDenied

from .conftest import correct_answers, ctx_for, wrong_answers

SEPT = dt.date(2026, 9, 1)


# -- the rule, without a database ---------------------------------------------------------------


@given(
    max_attempts=st.integers(0, 20),
    used=st.integers(0, 40),
    extra=st.integers(0, 20),
    passed=st.booleans(),
)
def test_grants_extend_a_limited_quiz_only_when_every_attempt_is_used(
    max_attempts, used, extra, passed
):
    left = domain.attempts_left(max_attempts, used, extra)
    if max_attempts == 0:
        assert left is None and not domain.may_grant_attempt(max_attempts, used, extra, passed)
        return
    assert left == max(0, max_attempts + extra - used)
    assert domain.may_attempt(max_attempts, used, extra) == (left > 0)
    assert domain.may_grant_attempt(max_attempts, used, extra, passed) == (not passed and left == 0)
    # One grant gives exactly one more attempt.
    if domain.may_grant_attempt(max_attempts, used, extra, passed) and used == max_attempts + extra:
        assert domain.attempts_left(max_attempts, used, extra + 1) == 1


# -- with the database ----------------------------------------------------------------------------


@pytest.fixture
def cohort(course, trainer_ctx, learner):
    cohort = services.create_cohort(trainer_ctx, name="Sept", slug=course.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    return cohort


def _fail_every_attempt(ctx, course) -> Quiz:
    quiz = Quiz.objects.get(module__course=course)
    for _ in range(quiz.max_attempts):
        attempt = services.start_attempt(ctx, course.slug, quiz.module_id)
        services.submit_attempt(ctx, attempt.public_id, wrong_answers(attempt))
    return quiz


@pytest.mark.django_db
def test_the_trainer_allows_one_more_attempt_after_all_failed(
    course, cohort, trainer_ctx, learner, learner_ctx
):
    quiz = _fail_every_attempt(learner_ctx, course)
    with pytest.raises(services.AttemptLimitReached):
        services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    row = services.cohort_report(trainer_ctx, cohort.pk).rows[0]
    assert row.locked_quizzes == {quiz.pk}

    services.grant_attempt(trainer_ctx, cohort.pk, learner.pk, quiz.pk)
    assert services.quiz_page(learner_ctx, course.slug, quiz.module_id).attempts_left == 1
    assert services.cohort_report(trainer_ctx, cohort.pk).rows[0].locked_quizzes == frozenset()
    with pytest.raises(Conflict):  # not again until that attempt is used
        services.grant_attempt(trainer_ctx, cohort.pk, learner.pk, quiz.pk)

    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    assert attempt.number == quiz.max_attempts + 1
    services.submit_attempt(learner_ctx, attempt.public_id, correct_answers(attempt))
    with pytest.raises(services.AttemptLimitReached):  # exactly one more, not unlimited
        services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    with pytest.raises(Conflict):  # passed: nothing left to allow
        services.grant_attempt(trainer_ctx, cohort.pk, learner.pk, quiz.pk)
    assert AttemptGrant.objects.get().extra == 1


@pytest.mark.django_db
def test_no_grant_while_attempts_remain(course, cohort, trainer_ctx, learner, learner_ctx):
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    with pytest.raises(Conflict):
        services.grant_attempt(trainer_ctx, cohort.pk, learner.pk, quiz.pk)
    assert not AttemptGrant.objects.exists()


@pytest.mark.django_db
def test_only_the_cohorts_trainer_grants_and_only_to_members(
    course, cohort, trainer_ctx, learner, learner_ctx, make_user, platform_org
):
    from ehub.accounts.domain import Role

    quiz = _fail_every_attempt(learner_ctx, course)
    other_trainer = ctx_for(make_user("t8@example.com", org=platform_org, role=Role.TRAINER))
    with pytest.raises(NotFound):
        services.grant_attempt(other_trainer, cohort.pk, learner.pk, quiz.pk)
    with pytest.raises(PermissionDenied):  # a learner cannot give themselves attempts
        services.grant_attempt(learner_ctx, cohort.pk, learner.pk, quiz.pk)
    outsider = make_user("outside@example.my")
    with pytest.raises(NotFound):
        services.grant_attempt(trainer_ctx, cohort.pk, outsider.pk, quiz.pk)
    assert not AttemptGrant.objects.exists()


@pytest.mark.django_db
def test_cohort_page_offers_the_grant_and_the_learner_sees_it(
    client, course, cohort, trainer, learner, learner_ctx
):
    quiz = _fail_every_attempt(learner_ctx, course)
    client.force_login(learner)
    quiz_url = f"/academy/courses/{course.slug}/modules/{quiz.module_id}/quiz/"
    page = client.get(quiz_url).content.decode()  # the learner reads Malay (their choice)
    assert "jurulatih anda boleh membenarkan satu lagi" in page

    client.force_login(trainer)
    report = client.get(f"/academy/cohorts/{cohort.pk}/").content.decode()
    grant_url = f"/academy/cohorts/{cohort.pk}/members/{learner.pk}/quizzes/{quiz.pk}/grant/"
    assert f'action="{grant_url}"' in report
    assert client.post(grant_url).status_code == 302
    assert (
        f'action="{grant_url}"' not in client.get(f"/academy/cohorts/{cohort.pk}/").content.decode()
    )

    client.force_login(learner)
    assert client.post(grant_url).status_code == 403
    response = client.post(quiz_url)  # the learner starts the allowed attempt
    assert response.status_code == 302 and "/academy/attempts/ATT-" in response["Location"]
