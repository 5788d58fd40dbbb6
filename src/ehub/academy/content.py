"""Courses as data files: ``academy/data/courses/*.toml`` installed through the services.

A course file holds its slug, level, time, whether readiness requires it, its title and
summary per language, and its modules with lessons (Markdown per language) and a quiz whose
questions carry their choices and explanations per language. Installing goes through the same
services a trainer uses in the studio, so seed content obeys the same rules (a one-answer
question has exactly one correct choice, a quiz has questions before publishing, ...).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.db import transaction

from ehub.core.context import Context

from . import services
from .models import Course

COURSES_DIR = Path(__file__).parent / "data" / "courses"


def course_files() -> list[Path]:
    return sorted(COURSES_DIR.glob("*.toml"))


def load(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


@transaction.atomic
def install_course(ctx: Context, data: dict, *, publish: bool = True) -> tuple[Course, bool]:
    """Create the course of ``data`` for the trainer of ``ctx`` unless its slug exists.

    Returns ``(course, created)``; an existing course is left as it is (idempotent).
    """
    existing = Course.objects.filter(slug=data["slug"]).first()
    if existing is not None:
        return existing, False
    titles, summaries = data.get("title", {}), data.get("summary", {})
    course = services.create_course(
        ctx,
        services.CourseInput(
            slug=data["slug"],
            level=data.get("level", "beginner"),
            estimated_minutes=int(data.get("estimated_minutes", 30)),
            required_for_readiness=bool(data.get("required_for_readiness", False)),
            texts={lang: (titles[lang], summaries.get(lang, "")) for lang in titles},
        ),
    )
    for m_index, module_data in enumerate(data.get("modules", []), start=1):
        module = services.save_module(
            ctx, course.slug, titles=module_data["title"], position=m_index
        )
        for l_index, lesson in enumerate(module_data.get("lessons", []), start=1):
            services.save_lesson(
                ctx,
                course.slug,
                module_id=module.pk,
                position=l_index,
                minutes=int(lesson.get("minutes", 5)),
                texts={
                    lang: (title, lesson.get("body", {}).get(lang, "").strip())
                    for lang, title in lesson["title"].items()
                },
            )
        quiz = module_data.get("quiz")
        if quiz:
            services.save_quiz(
                ctx,
                course.slug,
                module.pk,
                pass_mark=int(quiz.get("pass_mark", 70)),
                max_attempts=int(quiz.get("max_attempts", 3)),
            )
            for q_index, question in enumerate(quiz.get("questions", []), start=1):
                services.add_question(
                    ctx,
                    course.slug,
                    module.pk,
                    services.QuestionInput(
                        kind=question.get("kind", "single"),
                        position=q_index,
                        prompts=question["prompt"],
                        explanations=question.get("explanation", {}),
                        choices=[
                            services.ChoiceInput(
                                texts=choice["text"], is_correct=bool(choice.get("correct"))
                            )
                            for choice in question["choices"]
                        ],
                    ),
                )
    if publish:
        course = services.publish_course(ctx, course.slug)
    return course, True
