"""The academy API: courses, enrolment, attempts (scoped to their learner), certificates,
readiness; problems name the field."""

from __future__ import annotations

import pytest

from ehub.academy.models import Quiz

from .conftest import correct_answers

pytestmark = pytest.mark.django_db

API = "/api/v1/academy"


@pytest.fixture
def api(client, learner):
    client.force_login(learner)
    return client


def test_courses_list_and_detail(client, course, django_assert_max_num_queries):
    client.force_login(course.trainer)
    with django_assert_max_num_queries(6):
        response = client.get(f"{API}/courses")
    assert response.status_code == 200
    assert response.json()["items"][0]["slug"] == course.slug
    with django_assert_max_num_queries(10):
        detail = client.get(f"{API}/courses/{course.slug}", headers={"accept-language": "ms"})
    body = detail.json()
    assert body["title"] == "CBEC secara ringkas" and body["language"] == "ms"
    assert body["modules"][0]["quiz"]["pass_mark"] == 100
    assert body["enrolment"] is None


def test_anonymous_callers_are_refused(client, course):
    assert client.get(f"{API}/courses").status_code == 401


def test_enrol_attempt_submit_certificate(api, course):
    response = api.post(f"{API}/courses/{course.slug}/enrolment")
    assert response.status_code == 201
    assert api.post(f"{API}/courses/{course.slug}/enrolment").status_code == 200
    detail = api.get(f"{API}/courses/{course.slug}").json()
    for module in detail["modules"]:
        for lesson in module["lessons"]:
            api.post(f"{API}/courses/{course.slug}/lessons/{lesson['id']}/complete")
    quiz = Quiz.objects.get(module__course=course)
    started = api.post(f"{API}/courses/{course.slug}/modules/{quiz.module_id}/attempts")
    assert started.status_code == 201
    attempt = started.json()
    assert attempt["status"] == "open"
    assert all(c["is_correct"] is None for q in attempt["questions"] for c in q["choices"])

    from ehub.academy.models import Attempt

    answers = correct_answers(Attempt.objects.get(public_id=attempt["public_id"]))
    submitted = api.post(
        f"{API}/attempts/{attempt['public_id']}/submit",
        {"answers": answers},
        content_type="application/json",
    )
    assert submitted.status_code == 200
    result = submitted.json()
    assert result["passed"] and result["score"] == 100
    assert all(q["explanation"] for q in result["questions"])
    progress = api.get(f"{API}/courses/{course.slug}/progress").json()
    assert progress["progress"] == 100 and progress["certificate"]
    certificates = api.get(f"{API}/certificates").json()["items"]
    assert certificates[0]["code"] == progress["certificate"]
    assert certificates[0]["verify_url"].endswith(f"/academy/verify/{progress['certificate']}/")


def test_bad_answers_name_the_field(api, course):
    api.post(f"{API}/courses/{course.slug}/enrolment")
    quiz = Quiz.objects.get(module__course=course)
    attempt = api.post(f"{API}/courses/{course.slug}/modules/{quiz.module_id}/attempts").json()
    qid = attempt["questions"][0]["id"]
    response = api.post(
        f"{API}/attempts/{attempt['public_id']}/submit",
        {"answers": {str(qid): [999999]}},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == f"body.answers.{qid}"


def test_another_learners_attempt_is_404(api, course, client, make_user):
    api.post(f"{API}/courses/{course.slug}/enrolment")
    quiz = Quiz.objects.get(module__course=course)
    attempt = api.post(f"{API}/courses/{course.slug}/modules/{quiz.module_id}/attempts").json()
    client.force_login(make_user("intruder@example.com"))
    assert client.get(f"{API}/attempts/{attempt['public_id']}").status_code == 404
    response = client.post(
        f"{API}/attempts/{attempt['public_id']}/submit",
        {"answers": {}},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_attempt_limit_is_a_409_problem(api, course):
    from ehub.academy.models import Attempt

    api.post(f"{API}/courses/{course.slug}/enrolment")
    quiz = Quiz.objects.get(module__course=course)
    for _ in range(quiz.max_attempts):
        attempt = api.post(f"{API}/courses/{course.slug}/modules/{quiz.module_id}/attempts").json()
        api.post(
            f"{API}/attempts/{attempt['public_id']}/submit",
            {"answers": {}},
            content_type="application/json",
        )
    response = api.post(f"{API}/courses/{course.slug}/modules/{quiz.module_id}/attempts")
    assert response.status_code == 409
    assert response.json()["code"] == "attempt_limit_reached"
    assert Attempt.objects.count() == quiz.max_attempts


def test_readiness_is_the_callers_own_org(client, merchant_user, learner):
    client.force_login(merchant_user)
    body = client.get(f"{API}/readiness").json()
    assert body["org"] == merchant_user.memberships.get().org.public_id
    assert {p["code"]: p["weight"] for p in body["parts"]}["courses_passed"] == 25
    client.force_login(learner)
    assert client.get(f"{API}/readiness").status_code == 403


def test_a_superuser_previews_drafts_when_signed_in_but_not_with_a_personal_token(
    client, make_course, make_user
):
    from ehub.accounts.services import build_context, create_personal_token

    draft = make_course(slug="draft-course", publish=False)
    admin = make_user("root@ehub.example", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get(f"/api/v1/academy/courses/{draft.slug}").status_code == 200
    client.logout()
    secret = create_personal_token(build_context(admin), "script").secret
    response = client.get(
        f"/api/v1/academy/courses/{draft.slug}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 404
