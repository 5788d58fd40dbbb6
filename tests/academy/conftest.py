"""Fixtures of the academy tests: a trainer, a small published course in en + ms, learners."""

from __future__ import annotations

import pytest

SMALL_COURSE = {
    "slug": "small-cbec",
    "level": "beginner",
    "estimated_minutes": 15,
    "required_for_readiness": True,
    "title": {"en": "CBEC in brief", "ms": "CBEC secara ringkas"},
    "summary": {"en": "The limits.", "ms": "Had-hadnya."},
    "modules": [
        {
            "title": {"en": "Limits", "ms": "Had"},
            "lessons": [
                {
                    "title": {"en": "Per order", "ms": "Bagi setiap pesanan"},
                    "body": {
                        "en": "The limit is **CNY 5,000** per transaction.",
                        "ms": "Hadnya ialah **CNY 5,000** bagi setiap transaksi.",
                    },
                },
                {
                    "title": {"en": "Per year", "ms": "Setahun"},
                    "body": {"en": "CNY 26,000 per year.", "ms": "CNY 26,000 setahun."},
                },
            ],
            "quiz": {
                "pass_mark": 100,
                "max_attempts": 3,
                "questions": [
                    {
                        "kind": "single",
                        "prompt": {"en": "Per-transaction limit?", "ms": "Had setiap transaksi?"},
                        "explanation": {"en": "CNY 5,000.", "ms": "CNY 5,000."},
                        "choices": [
                            {"text": {"en": "CNY 5,000", "ms": "CNY 5,000"}, "correct": True},
                            {"text": {"en": "CNY 2,000", "ms": "CNY 2,000"}},
                        ],
                    },
                    {
                        "kind": "multiple",
                        "prompt": {"en": "Dutiable price?", "ms": "Harga bercukai?"},
                        "explanation": {
                            "en": "Goods, freight and insurance.",
                            "ms": "Barangan, tambang dan insurans.",
                        },
                        "choices": [
                            {"text": {"en": "Goods", "ms": "Barangan"}, "correct": True},
                            {"text": {"en": "Freight", "ms": "Tambang"}, "correct": True},
                            {"text": {"en": "Commission", "ms": "Komisen"}},
                        ],
                    },
                ],
            },
        }
    ],
}


@pytest.fixture
def platform_org(make_org):
    from ehub.accounts.domain import OrgKind

    return make_org(kind=OrgKind.PLATFORM, name="eHub Operations")


@pytest.fixture
def trainer(make_user, platform_org):
    from ehub.accounts.domain import Role

    return make_user(
        "trainer@academy.example", org=platform_org, role=Role.TRAINER, full_name="Daniel Lim"
    )


def ctx_for(user, org=None):
    from ehub.accounts.models import User
    from ehub.accounts.services import build_context

    return build_context(User.objects.get(pk=user.pk), org.pk if org else None)


@pytest.fixture
def trainer_ctx(trainer):
    return ctx_for(trainer)


@pytest.fixture
def make_course(trainer_ctx):
    import copy

    from ehub.academy import content

    def make(slug="small-cbec", publish=True, **overrides):
        data = copy.deepcopy(SMALL_COURSE)
        data["slug"] = slug
        data.update(overrides)
        course, _created = content.install_course(trainer_ctx, data, publish=publish)
        return course

    return make


@pytest.fixture
def course(make_course):
    return make_course()


@pytest.fixture
def learner(make_user):
    """An individual learner without any organization."""
    return make_user("learner@example.my", full_name="Nur Aina", preferred_language="ms")


@pytest.fixture
def learner_ctx(learner):
    return ctx_for(learner)


def correct_answers(attempt) -> dict:
    from ehub.academy.models import Choice

    out: dict[str, list[int]] = {}
    for choice in Choice.objects.filter(question_id__in=attempt.question_order, is_correct=True):
        out.setdefault(str(choice.question_id), []).append(choice.pk)
    return out


def wrong_answers(attempt) -> dict:
    from ehub.academy.models import Choice

    out: dict[str, list[int]] = {}
    for choice in Choice.objects.filter(question_id__in=attempt.question_order, is_correct=False):
        out.setdefault(str(choice.question_id), [choice.pk])
    return out


def finish_course(ctx, course):
    """Read every lesson and pass every quiz; returns the enrolment."""
    from ehub.academy import services
    from ehub.academy.models import Lesson, Quiz

    services.enrol(ctx, course.slug)
    for lesson in Lesson.objects.filter(module__course=course):
        services.complete_lesson(ctx, course.slug, lesson.pk)
    enrolment = None
    for quiz in Quiz.objects.filter(module__course=course):
        attempt = services.start_attempt(ctx, course.slug, quiz.module_id)
        services.submit_attempt(ctx, attempt.public_id, correct_answers(attempt))
        enrolment = attempt.enrolment
    enrolment.refresh_from_db()
    return enrolment
