"""Pure rules of the academy: grading, attempts, progress, language fallback, readiness.

No ORM and no I/O: every rule here is tested without a database (and with hypothesis).

Grading is **all-or-nothing per question**: a single-choice question scores when the one
correct choice is picked; a multiple-choice question scores only when the picked set equals
the set of correct choices exactly. Partial credit was rejected on purpose: the quizzes test
trade rules ("which documents does customs match?"), where knowing two of the three documents
is not two thirds of knowing the rule, and partial credit lets a learner who ticks every box
pass. Every question weighs the same; the score is a whole percentage rounded half-up.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

LANGUAGES = ("en", "ms", "zh-hans")
FALLBACK_ORDER = ("en", "ms", "zh-hans")
DEFAULT_PASS_MARK = 70
DEFAULT_MAX_ATTEMPTS = 3


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class Level(enum.StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


# ---------------------------------------------------------------------------------------------
# Languages
# ---------------------------------------------------------------------------------------------


def normalize_language(language: str | None) -> str:
    """``zh-Hans``/``zh-cn``/``zh`` → ``zh-hans``; ``ms-MY`` → ``ms``; unknown → ``en``."""
    code = (language or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hans"
    base = code.split("-")[0]
    return base if base in LANGUAGES else "en"


def pick_language(available: Iterable[str], wanted: str | None) -> str | None:
    """The language to show: the wanted one when available, else en, ms, zh-hans in that order.

    None when nothing is available.
    """
    have = {normalize_language(code) for code in available}
    wanted = normalize_language(wanted)
    if wanted in have:
        return wanted
    return next((code for code in FALLBACK_ORDER if code in have), None)


def pick_text(texts: Mapping[str, str] | None, wanted: str | None) -> tuple[str, str | None]:
    """``(text, language used)`` from ``{"en": …, "ms": …}`` with the fallback of
    :func:`pick_language`; blank values count as missing."""
    texts = {k: v for k, v in (texts or {}).items() if v}
    language = pick_language(texts.keys(), wanted)
    return (texts[language], language) if language else ("", None)


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionKey:
    """What grading needs of one question: its id, kind and the ids of its correct choices."""

    id: int
    kind: QuestionKind
    correct: frozenset[int]
    choices: frozenset[int]


@dataclass(frozen=True)
class QuestionResult:
    id: int
    chosen: frozenset[int]
    correct: frozenset[int]

    @property
    def is_correct(self) -> bool:
        return self.chosen == self.correct


@dataclass(frozen=True)
class Grade:
    results: tuple[QuestionResult, ...]
    score: int  # whole percent, 0..100
    passed: bool

    @property
    def correct_count(self) -> int:
        return sum(1 for r in self.results if r.is_correct)


class AnswerError(ValueError):
    """An answer that cannot be graded: names the question it concerns."""

    def __init__(self, question_id: int, reason: str) -> None:
        super().__init__(f"question {question_id}: {reason}")
        self.question_id = question_id
        self.reason = reason  # unknown_choice | too_many | unknown_question


def percent(part: int, whole: int) -> int:
    """``part / whole`` as a whole percent, rounded half-up; 0 when ``whole`` is 0."""
    if whole <= 0:
        return 0
    value = Decimal(part) * 100 / Decimal(whole)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_answers(
    questions: Sequence[QuestionKey], answers: Mapping[int, Iterable[int]]
) -> dict[int, frozenset[int]]:
    """Validate answers against the questions; unanswered questions get an empty set.

    Raises AnswerError for a question not in the quiz, a choice not of its question, or more
    than one choice on a single-choice question.
    """
    by_id = {q.id: q for q in questions}
    for qid in answers:
        if qid not in by_id:
            raise AnswerError(qid, "unknown_question")
    checked: dict[int, frozenset[int]] = {}
    for question in questions:
        chosen = frozenset(answers.get(question.id, ()) or ())
        if not chosen <= question.choices:
            raise AnswerError(question.id, "unknown_choice")
        if question.kind == QuestionKind.SINGLE and len(chosen) > 1:
            raise AnswerError(question.id, "too_many")
        checked[question.id] = chosen
    return checked


def grade(
    questions: Sequence[QuestionKey], answers: Mapping[int, Iterable[int]], pass_mark: int
) -> Grade:
    """Grade all-or-nothing per question; passed when the score reaches ``pass_mark``."""
    checked = check_answers(questions, answers)
    results = tuple(QuestionResult(q.id, checked[q.id], q.correct) for q in questions)
    score = percent(sum(1 for r in results if r.is_correct), len(results))
    return Grade(results=results, score=score, passed=bool(results) and score >= pass_mark)


def check_pass_mark(value: int | None) -> bool:
    return isinstance(value, int) and 1 <= value <= 100


# ---------------------------------------------------------------------------------------------
# Attempts
# ---------------------------------------------------------------------------------------------


def attempts_left(max_attempts: int, used: int, extra: int = 0) -> int | None:
    """How many attempts remain; None means unlimited (``max_attempts`` 0). ``extra`` are the
    attempts a trainer allowed this learner beyond the quiz's limit."""
    if max_attempts <= 0:
        return None
    return max(0, max_attempts + max(0, extra) - used)


def may_attempt(max_attempts: int, used: int, extra: int = 0) -> bool:
    """A learner may start an attempt while attempts remain; passing does not use the rest up
    (a learner may retake a passed quiz to revise, within the limit)."""
    left = attempts_left(max_attempts, used, extra)
    return left is None or left > 0


def may_grant_attempt(max_attempts: int, used: int, extra: int, passed: bool) -> bool:
    """A trainer may allow one more attempt to a learner who has used every attempt at a
    limited quiz without passing it."""
    return max_attempts > 0 and not passed and attempts_left(max_attempts, used, extra) == 0


def shuffled_order(
    question_ids: Sequence[int], choice_ids: Mapping[int, Sequence[int]], seed: int
) -> tuple[list[int], dict[int, list[int]]]:
    """The order of questions and of each question's choices for one attempt.

    Deterministic from ``seed`` (stored with the attempt), so a reload shows the same order;
    a new attempt gets a new seed and so, usually, a new order.
    """
    rng = random.Random(seed)  # noqa: S311 — order of questions, not a secret
    questions = list(question_ids)
    rng.shuffle(questions)
    choices = {}
    for qid in questions:
        ids = list(choice_ids.get(qid, ()))
        rng.shuffle(ids)
        choices[qid] = ids
    return questions, choices


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


def progress_percent(
    lessons_done: int, lessons_total: int, quizzes_passed: int, quizzes_total: int
) -> int:
    """Progress through a course: every lesson and every quiz is one step of equal weight."""
    total = lessons_total + quizzes_total
    done = min(lessons_done, lessons_total) + min(quizzes_passed, quizzes_total)
    return percent(done, total)


def is_complete(
    lessons_done: int, lessons_total: int, quizzes_passed: int, quizzes_total: int
) -> bool:
    """Complete when every lesson is read and every quiz passed (an empty course never is)."""
    total = lessons_total + quizzes_total
    return total > 0 and lessons_done >= lessons_total and quizzes_passed >= quizzes_total


def resume_target(lesson_ids: Sequence[int], done: Iterable[int], last: int | None) -> int | None:
    """Where "continue" takes a learner: the first unread lesson after the last one opened,
    else the first unread lesson, else the last opened one, else the first."""
    done = set(done)
    if last in lesson_ids:
        start = lesson_ids.index(last)
        for lid in list(lesson_ids[start:]):
            if lid not in done:
                return lid
    for lid in lesson_ids:
        if lid not in done:
            return lid
    if last in lesson_ids:
        return last
    return lesson_ids[0] if lesson_ids else None


# ---------------------------------------------------------------------------------------------
# Export readiness
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartResult:
    """One part of the readiness score.

    ``fraction`` is how much of the part is done (0..1), None when it cannot be measured yet
    (the probe that measures it is not installed).
    """

    code: str
    weight: int
    fraction: float | None
    label: str = ""
    detail: str = ""
    next_step: str = ""
    url: str = ""

    @property
    def measurable(self) -> bool:
        return self.fraction is not None

    @property
    def points(self) -> Decimal:
        if self.fraction is None:
            return Decimal(0)
        return Decimal(self.weight) * Decimal(str(min(1.0, max(0.0, self.fraction))))

    @property
    def done(self) -> bool:
        return self.fraction is not None and self.fraction >= 1

    @property
    def missing_points(self) -> Decimal:
        return Decimal(self.weight) - self.points if self.measurable else Decimal(0)


@dataclass(frozen=True)
class Readiness:
    score: int  # whole percent of the measurable weight
    parts: tuple[PartResult, ...]
    next_step: PartResult | None = None
    measurable_weight: int = 0
    total_weight: int = 0
    unmeasured: tuple[str, ...] = field(default_factory=tuple)


def readiness(parts: Sequence[PartResult]) -> Readiness:
    """The score from its parts, and the next best step.

    The score is the share of the *measurable* weight earned, so a part eHub cannot measure yet
    (no probe installed) neither helps nor hurts. The next best step is the unfinished
    measurable part worth the most missing points (ties: the order of the parts, which is the
    natural order of getting ready to export).
    """
    measurable = [p for p in parts if p.measurable]
    weight = sum(p.weight for p in measurable)
    earned = sum((p.points for p in measurable), Decimal(0))
    score = 0
    if weight:
        score = int((earned * 100 / weight).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    unfinished = [p for p in measurable if not p.done]
    step = None
    if unfinished:
        best = max(p.missing_points for p in unfinished)
        step = next(p for p in unfinished if p.missing_points == best)
    return Readiness(
        score=score,
        parts=tuple(parts),
        next_step=step,
        measurable_weight=weight,
        total_weight=sum(p.weight for p in parts),
        unmeasured=tuple(p.code for p in parts if not p.measurable),
    )
