"""Cohorts from both sides: a trainer adds and removes learners, a learner sees their cohorts."""

from __future__ import annotations

import datetime as dt

import pytest

from ehub.academy import services
from ehub.academy.models import Enrolment
from ehub.core.errors import NotFound

from .conftest import ctx_for

pytestmark = pytest.mark.django_db

SEPT = dt.date(2026, 9, 1)


def test_adding_a_member_enrols_them_in_the_published_course_once(course, trainer_ctx, learner):
    cohort = services.create_cohort(trainer_ctx, name="Sept", slug=course.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email.upper())
    assert list(Enrolment.objects.filter(user=learner).values_list("course__slug", flat=True)) == [
        course.slug
    ]
    row = services.cohort_report(trainer_ctx, cohort.pk).rows[0]
    assert (row.user.pk, row.enrolled, row.progress) == (learner.pk, True, 0)


def test_members_of_a_draft_course_cohort_are_not_enrolled_yet(make_course, trainer_ctx, learner):
    draft = make_course(slug="draft-course", publish=False)
    cohort = services.create_cohort(trainer_ctx, name="Early", slug=draft.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    assert not Enrolment.objects.filter(user=learner).exists()
    assert services.cohort_report(trainer_ctx, cohort.pk).rows[0].enrolled is False


def test_removing_a_member_keeps_their_learning(course, trainer_ctx, learner):
    cohort = services.create_cohort(trainer_ctx, name="Sept", slug=course.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    services.remove_cohort_member(trainer_ctx, cohort.pk, learner.pk)
    assert services.cohort_report(trainer_ctx, cohort.pk).rows == []
    assert Enrolment.objects.filter(user=learner, course=course).exists()
    with pytest.raises(NotFound):  # not a member any more
        services.remove_cohort_member(trainer_ctx, cohort.pk, learner.pk)


def test_only_the_cohorts_trainer_removes_members(
    course, trainer_ctx, learner, make_user, platform_org
):
    from ehub.accounts.domain import Role

    cohort = services.create_cohort(trainer_ctx, name="Sept", slug=course.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    other = ctx_for(make_user("t9@example.com", org=platform_org, role=Role.TRAINER))
    with pytest.raises(NotFound):
        services.remove_cohort_member(other, cohort.pk, learner.pk)
    assert list(cohort.members.values_list("pk", flat=True)) == [learner.pk]


def test_a_learner_sees_only_the_cohorts_they_belong_to(course, trainer_ctx, learner, make_user):
    mine = services.create_cohort(trainer_ctx, name="Mine", slug=course.slug, starts_on=SEPT)
    services.create_cohort(trainer_ctx, name="Not mine", slug=course.slug, starts_on=SEPT)
    services.add_cohort_member(trainer_ctx, mine.pk, learner.email)
    assert [c.pk for c in services.my_cohorts(ctx_for(learner))] == [mine.pk]
    assert services.my_cohorts(ctx_for(make_user("x@example.my"))) == []


def test_cohort_pages_show_titles_enrolment_and_remove(client, course, trainer, learner):
    client.force_login(trainer)
    response = client.post(
        "/academy/cohorts/", {"name": "Sept", "course": course.slug, "starts_on": "2026-09-01"}
    )
    url = response["Location"]
    client.post(url, {"email": learner.email})
    listing = client.get("/academy/cohorts/", HTTP_ACCEPT_LANGUAGE="ms").content.decode()
    assert "CBEC secara ringkas" in listing  # the course's title, in the reader's language
    page = client.get(url).content.decode()
    assert 'data-learner="learner@example.my"' in page and "0 %" in page
    cohort_id = int(url.rstrip("/").rsplit("/", 1)[-1])
    response = client.post(f"{url}members/{learner.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == url
    assert 'data-learner="learner@example.my"' not in client.get(url).content.decode()
    assert not services.cohort_report(ctx_for(trainer), cohort_id).rows

    client.force_login(learner)  # a learner cannot remove anyone
    assert client.post(f"{url}members/{learner.pk}/remove/").status_code == 403


def test_my_learning_lists_the_learners_cohorts(client, course, trainer_ctx, learner):
    cohort = services.create_cohort(
        trainer_ctx, name="Malaysia Week", slug=course.slug, starts_on=SEPT
    )
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)
    client.force_login(learner)
    page = client.get("/academy/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-cohort="{cohort.pk}"' in page and "Malaysia Week" in page
    assert "Daniel Lim" in page


def test_cohort_page_queries_do_not_grow_with_members(
    client, course, trainer, trainer_ctx, make_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ehub.academy.models import Quiz

    from .conftest import wrong_answers

    cohort = services.create_cohort(trainer_ctx, name="Big", slug=course.slug, starts_on=SEPT)
    quiz = Quiz.objects.get(module__course=course)
    client.force_login(trainer)

    def add_members(n: int) -> None:
        for _ in range(n):
            user = make_user()
            services.add_cohort_member(trainer_ctx, cohort.pk, user.email)
            ctx = ctx_for(user)
            attempt = services.start_attempt(ctx, course.slug, quiz.module_id)
            services.submit_attempt(ctx, attempt.public_id, wrong_answers(attempt))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/academy/cohorts/{cohort.pk}/").status_code == 200
        return len(queries)

    add_members(1)
    few = count()
    add_members(5)
    assert count() == few
    assert few <= 16


def test_a_large_cohort_is_shown_fifty_at_a_time_with_a_summary_of_all(
    client, course, trainer, trainer_ctx, make_user, learner_ctx, learner
):
    from .conftest import finish_course

    cohort = services.create_cohort(trainer_ctx, name="Big", slug=course.slug, starts_on=SEPT)
    for i in range(54):
        user = make_user(f"member{i:02d}@example.my", full_name=f"Member {i:02d}")
        cohort.members.add(user)
    services.add_cohort_member(trainer_ctx, cohort.pk, learner.email)  # Nur Aina, enrolled
    finish_course(learner_ctx, course)

    report = services.cohort_report(trainer_ctx, cohort.pk, page=2)
    assert report.page.paginator.count == 55 and len(report.rows) == 5
    assert [r.user.full_name for r in report.rows][-1] == "Nur Aina"  # ordered by name
    summary = report.summary
    assert (summary.members, summary.enrolled, summary.completed) == (55, 1, 1)
    assert summary.average_progress == 100
    assert list(summary.passed_by_quiz.values()) == [1]
    assert services.cohort_report(trainer_ctx, cohort.pk, page="99").page.number == 2

    client.force_login(trainer)
    first = client.get(f"/academy/cohorts/{cohort.pk}/").content.decode()
    assert first.count("data-learner=") == 50
    assert 'data-members="55"' in first and 'data-completed="1"' in first
    assert "?page=2" in first
    second = client.get(f"/academy/cohorts/{cohort.pk}/?page=2").content.decode()
    assert second.count("data-learner=") == 5


def test_acting_on_page_two_of_a_cohort_returns_to_page_two(
    client, course, trainer, trainer_ctx, make_user
):
    cohort = services.create_cohort(trainer_ctx, name="Big", slug=course.slug, starts_on=SEPT)
    users = [make_user(f"m{i:02d}@example.my", full_name=f"M {i:02d}") for i in range(52)]
    cohort.members.add(*users)
    client.force_login(trainer)
    url = f"/academy/cohorts/{cohort.pk}/"
    page = client.get(f"{url}?page=2").content.decode()
    assert 'name="page" value="2"' in page
    response = client.post(f"{url}members/{users[-1].pk}/remove/", {"page": "2"})
    assert response["Location"] == f"{url}?page=2"
    response = client.post(f"{url}members/{users[0].pk}/remove/", {"page": "x"})
    assert response["Location"] == url
