"""Pure rules of the academy: grading, attempts, progress, languages, readiness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehub.academy import domain
from ehub.academy.domain import PartResult, QuestionKey, QuestionKind

SINGLE = QuestionKey(1, QuestionKind.SINGLE, frozenset({10}), frozenset({10, 11, 12}))
MULTI = QuestionKey(2, QuestionKind.MULTIPLE, frozenset({20, 21}), frozenset({20, 21, 22}))


def test_all_correct_passes_with_100():
    grade = domain.grade([SINGLE, MULTI], {1: [10], 2: [20, 21]}, pass_mark=70)
    assert grade.score == 100
    assert grade.passed


def test_multiple_choice_is_all_or_nothing():
    # Two of the two right answers plus a wrong one: the question scores nothing.
    grade = domain.grade([SINGLE, MULTI], {1: [10], 2: [20, 21, 22]}, pass_mark=70)
    assert grade.results[1].is_correct is False
    assert grade.score == 50
    # One of the two right answers: still nothing.
    assert domain.grade([MULTI], {2: [20]}, pass_mark=1).score == 0


def test_ticking_every_box_does_not_pass():
    grade = domain.grade([MULTI], {2: [20, 21, 22]}, pass_mark=50)
    assert not grade.passed


def test_unanswered_counts_as_wrong():
    grade = domain.grade([SINGLE, MULTI], {1: [10]}, pass_mark=50)
    assert grade.score == 50
    assert grade.passed  # 50 reaches a 50 % pass mark
    assert not domain.grade([SINGLE, MULTI], {1: [10]}, pass_mark=51).passed


def test_answers_that_cannot_be_graded_are_refused():
    with pytest.raises(domain.AnswerError) as exc:
        domain.grade([SINGLE], {1: [20]}, pass_mark=50)
    assert exc.value.reason == "unknown_choice" and exc.value.question_id == 1
    with pytest.raises(domain.AnswerError) as exc:
        domain.grade([SINGLE], {1: [10, 11]}, pass_mark=50)
    assert exc.value.reason == "too_many"
    with pytest.raises(domain.AnswerError) as exc:
        domain.grade([SINGLE], {99: [10]}, pass_mark=50)
    assert exc.value.reason == "unknown_question"


def test_an_empty_quiz_never_passes():
    assert not domain.grade([], {}, pass_mark=1).passed


@given(st.integers(0, 1000), st.integers(1, 1000))
def test_percent_is_bounded_and_rounds_half_up(part, whole):
    part = min(part, whole)
    value = domain.percent(part, whole)
    assert 0 <= value <= 100
    assert abs(value - part * 100 / whole) <= 0.5


def test_percent_rounding_examples():
    assert domain.percent(1, 8) == 13  # 12.5 → 13 (half-up, not banker's)
    assert domain.percent(2, 3) == 67
    assert domain.percent(0, 0) == 0


def test_attempt_limits():
    assert domain.attempts_left(3, 0) == 3
    assert domain.attempts_left(3, 3) == 0
    assert domain.attempts_left(3, 5) == 0
    assert domain.attempts_left(0, 99) is None  # unlimited
    assert domain.may_attempt(3, 2)
    assert not domain.may_attempt(3, 3)
    assert domain.may_attempt(0, 1000)


@given(st.lists(st.integers(1, 10_000), unique=True, max_size=20), st.integers(0, 2**48))
def test_shuffle_is_a_permutation_and_repeatable(ids, seed):
    choices = {qid: [qid * 10 + i for i in range(4)] for qid in ids}
    order, choice_order = domain.shuffled_order(ids, choices, seed)
    assert sorted(order) == sorted(ids)
    assert all(sorted(choice_order[q]) == sorted(choices[q]) for q in ids)
    assert domain.shuffled_order(ids, choices, seed) == (order, choice_order)


def test_different_seeds_give_different_orders():
    ids = list(range(1, 11))
    orders = {tuple(domain.shuffled_order(ids, {}, seed)[0]) for seed in range(20)}
    assert len(orders) > 1


def test_progress_and_completion():
    assert domain.progress_percent(0, 4, 0, 1) == 0
    assert domain.progress_percent(4, 4, 0, 1) == 80
    assert domain.progress_percent(4, 4, 1, 1) == 100
    assert domain.progress_percent(9, 4, 3, 1) == 100  # never above 100
    assert not domain.is_complete(4, 4, 0, 1)
    assert domain.is_complete(4, 4, 1, 1)
    assert not domain.is_complete(0, 0, 0, 0)


def test_resume_goes_to_the_first_unread_after_the_last_opened():
    lessons = [1, 2, 3, 4]
    assert domain.resume_target(lessons, set(), None) == 1
    assert domain.resume_target(lessons, {1, 2}, 2) == 3
    assert domain.resume_target(lessons, {1, 3}, 3) == 4
    assert domain.resume_target(lessons, {3, 4}, 4) == 1  # wraps to the first unread
    assert domain.resume_target(lessons, {1, 2, 3, 4}, 2) == 2  # all read: where they were
    assert domain.resume_target([], set(), None) is None


def test_language_fallback():
    assert domain.normalize_language("zh-Hans") == "zh-hans"
    assert domain.normalize_language("ms-MY") == "ms"
    assert domain.normalize_language("fr") == "en"
    assert domain.pick_language(["en", "ms"], "ms") == "ms"
    assert domain.pick_language(["en", "ms"], "zh-hans") == "en"
    assert domain.pick_language(["ms"], "zh-hans") == "ms"
    assert domain.pick_language([], "en") is None
    assert domain.pick_text({"en": "Hello", "ms": ""}, "ms") == ("Hello", "en")


def _parts(company=1.0, products=0.5, stock=0.0, courses=None, shipped=None):
    return [
        PartResult("company_verified", 20, company),
        PartResult("products_ready", 20, products),
        PartResult("stock_in_hub", 20, stock),
        PartResult("courses_passed", 25, courses),
        PartResult("first_order_shipped", 15, shipped),
    ]


def test_readiness_counts_only_measurable_weight():
    result = domain.readiness(_parts())
    # earned 20 + 10 of 60 measurable
    assert result.measurable_weight == 60
    assert result.score == 50
    assert result.unmeasured == ("courses_passed", "first_order_shipped")
    assert result.total_weight == 100


def test_readiness_next_step_is_the_biggest_missing_part():
    result = domain.readiness(_parts(courses=0.0))
    assert result.next_step.code == "courses_passed"  # 25 missing beats 20 and 10
    result = domain.readiness(_parts(courses=1.0))
    assert result.next_step.code == "stock_in_hub"


def test_readiness_all_done():
    result = domain.readiness(_parts(1, 1, 1, 1, True))
    assert result.score == 100
    assert result.next_step is None


@given(st.lists(st.one_of(st.none(), st.floats(0, 1, allow_nan=False)), min_size=5, max_size=5))
def test_readiness_score_is_bounded_and_monotonic(fractions):
    parts = _parts(*fractions)
    score = domain.readiness(parts).score
    assert 0 <= score <= 100
    # Finishing any measurable part never lowers the score.
    for i, f in enumerate(fractions):
        if f is not None:
            better = list(fractions)
            better[i] = 1.0
            assert domain.readiness(_parts(*better)).score >= score
