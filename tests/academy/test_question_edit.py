"""A trainer edits a quiz question: freely before anyone answered, wording only afterwards."""

from __future__ import annotations

import pytest

from ehub.academy import services
from ehub.academy.forms import QuestionForm
from ehub.academy.models import Attempt, Choice, Question, Quiz
from ehub.core.errors import NotFound, ValidationFailed

from .conftest import correct_answers, ctx_for

pytestmark = pytest.mark.django_db


def _single(course) -> Question:
    return Question.objects.get(quiz__module__course=course, kind="single")


def _input(question, **changes):
    """The question as its edit form would send it back, with ``changes`` to the fields."""
    data = {**QuestionForm.initial_of(question), **changes}
    form = QuestionForm(data)
    assert form.is_valid(), form.errors
    return form.input_data()


def test_the_edit_form_round_trips_a_question_unchanged(course, trainer_ctx):
    question = _single(course)
    before = [(c.texts, c.is_correct) for c in question.choices.order_by("position")]
    services.update_question(trainer_ctx, course.slug, question.pk, _input(question))
    question.refresh_from_db()
    assert [(c.texts, c.is_correct) for c in question.choices.order_by("position")] == before
    assert question.prompts == {"en": "Per-transaction limit?", "ms": "Had setiap transaksi?"}


def test_before_any_answer_choices_may_be_added_and_re_marked(course, trainer_ctx):
    question = _single(course)
    kept_ids = list(question.choices.order_by("position").values_list("pk", flat=True))
    data = _input(
        question,
        prompt_en="What is the CBEC limit per transaction?",
        choices_en="CNY 2,000\n*CNY 5,000\nCNY 26,000",
        choices_ms="CNY 2,000\n*CNY 5,000\nCNY 26,000",
    )
    services.update_question(trainer_ctx, course.slug, question.pk, data)
    rows = list(question.choices.order_by("position"))
    assert [(c.texts["en"], c.is_correct) for c in rows] == [
        ("CNY 2,000", False),
        ("CNY 5,000", True),
        ("CNY 26,000", False),
    ]
    assert [c.pk for c in rows[:2]] == kept_ids  # rows kept in place, one added
    question.refresh_from_db()
    assert question.prompts["en"] == "What is the CBEC limit per transaction?"


def test_after_answers_only_the_wording_may_change(course, trainer_ctx, learner_ctx):
    question = _single(course)
    services.enrol(learner_ctx, course.slug)
    quiz = Quiz.objects.get(module__course=course)
    attempt = services.start_attempt(learner_ctx, course.slug, quiz.module_id)
    services.submit_attempt(learner_ctx, attempt.public_id, correct_answers(attempt))
    snapshot = list(Choice.objects.filter(question=question).values("pk", "texts", "is_correct"))

    re_marked = _input(question, choices_en="CNY 5,000\n*CNY 2,000", choices_ms="")
    with pytest.raises(ValidationFailed) as exc:
        services.update_question(trainer_ctx, course.slug, question.pk, re_marked)
    assert exc.value.errors[0].field == "choices" and exc.value.errors[0].code == "answered"
    extra = _input(question, choices_en="*CNY 5,000\nCNY 2,000\nCNY 1,000", choices_ms="")
    with pytest.raises(ValidationFailed):
        services.update_question(trainer_ctx, course.slug, question.pk, extra)
    assert (
        list(Choice.objects.filter(question=question).values("pk", "texts", "is_correct"))
        == snapshot
    )

    reworded = _input(question, choices_en="*CNY 5,000 per order\nCNY 2,000")
    services.update_question(trainer_ctx, course.slug, question.pk, reworded)
    assert question.choices.get(is_correct=True).texts["en"] == "CNY 5,000 per order"
    attempt = Attempt.objects.get(pk=attempt.pk)
    assert attempt.passed and attempt.score == 100  # the past attempt keeps its result


def test_only_the_courses_trainer_edits_its_questions(course, learner, make_user, platform_org):
    from ehub.accounts.domain import Role

    question = _single(course)
    other = ctx_for(make_user("t7@example.com", org=platform_org, role=Role.TRAINER))
    with pytest.raises(NotFound):
        services.update_question(other, course.slug, question.pk, _input(question, prompt_en="x"))
    question.refresh_from_db()
    assert question.prompts["en"] == "Per-transaction limit?"


def test_studio_page_edits_a_question(client, course, trainer):
    question = _single(course)
    url = f"/academy/studio/{course.slug}/modules/{question.quiz.module_id}/"
    client.force_login(trainer)
    page = client.get(f"{url}?question={question.pk}").content.decode()
    assert 'value="edit_question"' in page and "*CNY 5,000" in page
    data = {k: v for k, v in QuestionForm.initial_of(question).items()}
    data.update(form="edit_question", prompt_en="The limit for one order?")
    unmarked = {**data, "choices_en": "CNY 5,000\nCNY 2,000", "choices_ms": ""}
    response = client.post(f"{url}?question={question.pk}", unmarked)
    assert response.status_code == 422
    assert "Mark the correct choice." in response.content.decode()
    question.refresh_from_db()
    assert question.prompts["en"] == "Per-transaction limit?"
    response = client.post(f"{url}?question={question.pk}", data)
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.prompts["en"] == "The limit for one order?"
    assert client.get(f"{url}?question=999999").status_code == 404
