"""Use cases of the academy: trainers write courses, learners study them, cohorts, readiness.

Who may do what:

* **trainers** (a membership with the ``trainer`` role, in any organization) create courses,
  edit their own, publish them, and follow the cohorts they lead;
* **platform staff** feature published courses on the academy's home page;
* **learners** are any signed-in user (merchant staff or individuals): they enrol in published
  courses, read, take quizzes and get certificates. A learner only ever sees their own
  enrolments, attempts and certificates: someone else's is ``NotFound``, as if it did not exist.

Each public function is one transaction and takes a Context; writes are audited.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Max, Prefetch, Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ehub.accounts.domain import OrgKind, Role
from ehub.accounts.models import User
from ehub.accounts.services import (
    active_user_by_email,
    is_platform_staff,
    memberships_of,
    require_platform_staff,
)
from ehub.core import audit, clock
from ehub.core.context import Context
from ehub.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ehub.core.images import IMAGE_FORMATS, read_image

from . import domain
from . import readiness as readiness_module
from .models import (
    Attempt,
    AttemptGrant,
    Certificate,
    Choice,
    Cohort,
    Course,
    CourseImage,
    CourseStatus,
    CourseTranslation,
    Enrolment,
    Lesson,
    LessonProgress,
    LessonTranslation,
    Module,
    Question,
    Quiz,
)

LANGUAGES = domain.LANGUAGES
MAX_QUESTIONS = 50
MAX_CHOICES = 8


class AttemptLimitReached(Conflict):
    code = "attempt_limit_reached"


class AttemptClosed(Conflict):
    code = "attempt_closed"


# ---------------------------------------------------------------------------------------------
# Who
# ---------------------------------------------------------------------------------------------


def is_trainer(user) -> bool:
    """A user with the trainer role in any of their organizations (no query: cached)."""
    return any(m.role == Role.TRAINER for m in memberships_of(user))


def require_learner(ctx: Context) -> None:
    if not ctx.is_authenticated:
        raise PermissionDenied(_("Sign in to study in the academy."))


def require_trainer(ctx: Context) -> None:
    require_learner(ctx)
    if not is_trainer(ctx.user):
        raise PermissionDenied(_("Only trainers may do this."))


def current_language() -> str:
    return domain.normalize_language(get_language())


# ---------------------------------------------------------------------------------------------
# Reading courses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    """A translated text picked for the reader, and whether it is a fallback."""

    title: str
    body: str
    language: str | None
    wanted: str

    @property
    def is_fallback(self) -> bool:
        return self.language is not None and self.language != self.wanted


def _pick_translation(rows, wanted: str, body_attr: str) -> Texts:
    by_language = {row.language: row for row in rows}
    language = domain.pick_language(by_language.keys(), wanted)
    if language is None:
        return Texts("", "", None, wanted)
    row = by_language[language]
    return Texts(row.title, getattr(row, body_attr), language, wanted)


def course_texts(course: Course, language: str | None = None) -> Texts:
    """Title and summary in ``language`` (or the fallback); uses prefetched translations."""
    return _pick_translation(
        course.translations.all(), domain.normalize_language(language), "summary"
    )


def lesson_texts(lesson: Lesson, language: str | None = None) -> Texts:
    return _pick_translation(lesson.translations.all(), domain.normalize_language(language), "body")


def course_languages(course: Course) -> list[str]:
    have = {t.language for t in course.translations.all()}
    return [code for code in LANGUAGES if code in have]


def _courses() -> QuerySet:
    return Course.objects.select_related("trainer").prefetch_related("translations")


def catalogue(level: str = "") -> list[Course]:
    """Published courses, featured first (two queries)."""
    qs = _courses().filter(status=CourseStatus.PUBLISHED)
    if level in {lv.value for lv in domain.Level}:
        qs = qs.filter(level=level)
    return list(qs.order_by("-featured", "-published_at", "slug"))


def _content_prefetch(prefix: str = "") -> list:
    """Prefetches of a course's texts, modules (with quizzes) and lessons; ``prefix`` reaches
    the course through a relation (e.g. ``"course__"`` from enrolments)."""
    return [
        f"{prefix}translations",
        Prefetch(
            f"{prefix}modules",
            queryset=Module.objects.order_by("position", "pk")
            .select_related("quiz")
            .prefetch_related(
                Prefetch(
                    "lessons",
                    queryset=Lesson.objects.order_by("position", "pk").prefetch_related(
                        "translations"
                    ),
                )
            ),
        ),
    ]


def quiz_of(module: Module) -> Quiz | None:
    try:
        return module.quiz
    except Quiz.DoesNotExist:
        return None


@dataclass
class CourseOutline:
    """A course with its modules, lessons and quizzes, and (for a learner) their progress."""

    course: Course
    texts: Texts
    modules: list[Module]
    lessons: list[Lesson]  # in reading order
    quizzes: list[Quiz]
    enrolment: Enrolment | None = None
    lessons_done: set[int] = field(default_factory=set)
    quizzes_passed: set[int] = field(default_factory=set)
    attempts_used: dict[int, int] = field(default_factory=dict)
    best_scores: dict[int, int] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return course_languages(self.course)

    def next_lesson_id(self) -> int | None:
        ids = [lesson.pk for lesson in self.lessons]
        last = self.enrolment.last_lesson_id if self.enrolment else None
        return domain.resume_target(ids, self.lessons_done, last)


def _outline(course: Course, ctx: Context | None, language: str | None) -> CourseOutline:
    outline = _contents(course, language)
    if ctx is not None and ctx.is_authenticated:
        enrolment = Enrolment.objects.filter(user=ctx.user, course=course).first()
        if enrolment is not None:
            _with_progress({enrolment.pk: outline}, {enrolment.pk: enrolment})
    return outline


def _contents(course: Course, language: str | None) -> CourseOutline:
    modules = list(course.modules.all())
    lessons = [lesson for module in modules for lesson in module.lessons.all()]
    quizzes = [q for q in (quiz_of(m) for m in modules) if q is not None]
    return CourseOutline(
        course=course,
        texts=course_texts(course, language or current_language()),
        modules=modules,
        lessons=lessons,
        quizzes=quizzes,
    )


def _with_progress(outlines: dict[int, CourseOutline], enrolments: dict[int, Enrolment]) -> None:
    """Fill each outline (keyed by enrolment pk) with its learner's progress: two queries for
    any number of enrolments."""
    for pk, enrolment in enrolments.items():
        outlines[pk].enrolment = enrolment
    for enrolment_id, lesson_id in LessonProgress.objects.filter(
        enrolment_id__in=list(enrolments)
    ).values_list("enrolment_id", "lesson_id"):
        outlines[enrolment_id].lessons_done.add(lesson_id)
    for row in (
        Attempt.objects.filter(enrolment_id__in=list(enrolments), submitted_at__isnull=False)
        .values("enrolment_id", "quiz_id")
        .annotate(
            used=Count("pk"),
            best=Max("score"),
            passed=Count("pk", filter=Q(passed=True)),
        )
    ):
        outline = outlines[row["enrolment_id"]]
        outline.attempts_used[row["quiz_id"]] = row["used"]
        outline.best_scores[row["quiz_id"]] = row["best"] or 0
        if row["passed"]:
            outline.quizzes_passed.add(row["quiz_id"])


def _visible_course(ctx: Context | None, slug: str) -> Course:
    """A published course, or a draft its trainer (or staff) is previewing."""
    course = _courses().prefetch_related(*_content_prefetch()[1:]).filter(slug=slug).first()
    if course is None:
        raise NotFound(_("Course not found."))
    if course.status != CourseStatus.PUBLISHED and not (
        ctx is not None and ctx.is_authenticated and _may_edit(ctx, course)
    ):
        raise NotFound(_("Course not found."))
    return course


def course_outline(ctx: Context | None, slug: str, language: str | None = None) -> CourseOutline:
    """The course page: public for published courses; progress for a signed-in learner."""
    return _outline(_visible_course(ctx, slug), ctx, language)


def contents_outline(course: Course) -> CourseOutline:
    """The modules, lessons and quizzes of a course already loaded (the trainer's studio)."""
    return _outline(course, None, None)


# ---------------------------------------------------------------------------------------------
# Trainers: write and publish
# ---------------------------------------------------------------------------------------------

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = frozenset({"new"})  # /academy/studio/new/


def _may_edit(ctx: Context, course: Course) -> bool:
    """The course's trainer, or a superuser acting with staff powers (not through a personal
    token, which carries none: see ``is_platform_staff``)."""
    return ctx.is_authenticated and (
        course.trainer_id == ctx.user.pk or (ctx.user.is_superuser and is_platform_staff(ctx))
    )


def studio_courses(ctx: Context) -> list[Course]:
    """The caller's own courses (drafts included)."""
    require_trainer(ctx)
    return list(_courses().filter(trainer=ctx.user).order_by("-updated_at", "pk"))


def editable_course(ctx: Context, slug: str) -> Course:
    """A course the caller may edit; anyone else's is NotFound."""
    require_trainer(ctx)
    course = (
        _courses()
        .prefetch_related(*_content_prefetch()[1:])
        .filter(slug=slug, trainer=ctx.user)
        .first()
    )
    if course is None:
        raise NotFound(_("Course not found."))
    return course


@dataclass
class CourseInput:
    slug: str = ""
    level: str = domain.Level.BEGINNER.value
    estimated_minutes: int | None = 30
    required_for_readiness: bool = False
    # language -> (title, summary); a language with a blank title is left out (or removed)
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)


def _check_course(data: CourseInput, instance: Course | None) -> list[FieldError]:
    errors = []
    texts = {
        domain.normalize_language(k): ((v[0] or "").strip(), (v[1] or "").strip())
        for k, v in (data.texts or {}).items()
        if k in LANGUAGES
    }
    data.texts = texts
    if not any(title for title, _summary in texts.values()):
        errors.append(
            FieldError(
                "title_en", _("Give the course a title in at least one language."), "required"
            )
        )
    for language, (title, _summary) in texts.items():
        if len(title) > 200:
            errors.append(
                FieldError(
                    f"title_{language.replace('-', '_')}",
                    _("Use at most 200 characters."),
                    "too_long",
                )
            )
    first_title = next((t for t, _s in texts.values() if t), "")
    data.slug = (data.slug or "").strip().lower() or slugify(first_title)[:80]
    if data.slug in RESERVED_SLUGS:
        errors.append(FieldError("slug", _("This web address is reserved."), "reserved"))
    elif not data.slug or not SLUG_RE.match(data.slug) or len(data.slug) > 80:
        errors.append(
            FieldError("slug", _("Use lower-case letters, digits and dashes."), "invalid")
        )
    elif Course.objects.filter(slug=data.slug).exclude(pk=getattr(instance, "pk", None)).exists():
        errors.append(FieldError("slug", _("Another course uses this web address."), "duplicate"))
    if data.level not in {lv.value for lv in domain.Level}:
        errors.append(FieldError("level", _("Choose a level."), "invalid"))
    if not isinstance(data.estimated_minutes, int) or not 1 <= data.estimated_minutes <= 10_000:
        errors.append(
            FieldError(
                "estimated_minutes", _("Give the time in minutes, 1 to 10,000."), "out_of_range"
            )
        )
    return errors


def _save_course_texts(course: Course, texts: dict[str, tuple[str, str]]) -> None:
    for language, (title, summary) in texts.items():
        if title:
            CourseTranslation.objects.update_or_create(
                course=course, language=language, defaults={"title": title, "summary": summary}
            )
        else:
            CourseTranslation.objects.filter(course=course, language=language).delete()


COURSE_FIELDS = ("slug", "level", "estimated_minutes", "required_for_readiness", "status")


def create_course(ctx: Context, data: CourseInput) -> Course:
    require_trainer(ctx)
    errors = _check_course(data, None)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                course = Course.objects.create(
                    slug=data.slug,
                    level=data.level,
                    estimated_minutes=data.estimated_minutes,
                    required_for_readiness=data.required_for_readiness,
                    trainer=ctx.user,
                )
        except IntegrityError:
            raise ValidationFailed.single(
                "slug", _("Another course uses this web address."), "duplicate"
            ) from None
        _save_course_texts(course, data.texts)
        audit.record(ctx, "course.created", course, after=audit.snapshot(course, COURSE_FIELDS))
    return course


def update_course(ctx: Context, slug: str, data: CourseInput) -> Course:
    course = editable_course(ctx, slug)
    errors = _check_course(data, course)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        course = Course.objects.select_for_update().get(pk=course.pk)
        before = audit.snapshot(course, COURSE_FIELDS)
        course.slug = data.slug
        course.level = data.level
        course.estimated_minutes = data.estimated_minutes
        course.required_for_readiness = data.required_for_readiness
        course.save()
        _save_course_texts(course, data.texts)
        if course.status == CourseStatus.PUBLISHED and not course.translations.exists():
            raise ValidationFailed.single(
                "title_en", _("A published course needs a title."), "required"
            )
        audit.record(
            ctx,
            "course.updated",
            course,
            before=before,
            after=audit.snapshot(course, COURSE_FIELDS),
        )
    return course


def _clean_titles(titles: dict[str, str] | None, field_prefix: str) -> dict[str, str]:
    cleaned = {
        domain.normalize_language(k): (v or "").strip()
        for k, v in (titles or {}).items()
        if k in LANGUAGES and (v or "").strip()
    }
    if not cleaned:
        raise ValidationFailed.single(
            f"{field_prefix}_en", _("Give a title in at least one language."), "required"
        )
    for language, value in cleaned.items():
        if len(value) > 200:
            raise ValidationFailed.single(
                f"{field_prefix}_{language.replace('-', '_')}",
                _("Use at most 200 characters."),
                "too_long",
            )
    return cleaned


def _position(value: Any) -> int:
    if not isinstance(value, int) or not 1 <= value <= 999:
        raise ValidationFailed.single("position", _("Give a position from 1 to 999."), "invalid")
    return value


def save_module(
    ctx: Context,
    slug: str,
    *,
    titles: dict[str, str],
    position: int = 1,
    module_id: int | None = None,
) -> Module:
    course = editable_course(ctx, slug)
    titles = _clean_titles(titles, "title")
    position = _position(position)
    with transaction.atomic():
        if module_id is None:
            module = Module.objects.create(course=course, titles=titles, position=position)
            action = "course.module_added"
        else:
            module = Module.objects.filter(course=course, pk=module_id).first()
            if module is None:
                raise NotFound(_("Module not found."))
            module.titles, module.position = titles, position
            module.save()
            action = "course.module_changed"
        Course.objects.filter(pk=course.pk).update(updated_at=clock.now())
        audit.record(ctx, action, module, after={"titles": titles, "position": position})
    return module


def editable_module(ctx: Context, slug: str, module_id: int) -> Module:
    course = editable_course(ctx, slug)
    module = next((m for m in course.modules.all() if m.pk == module_id), None)
    if module is None:
        raise NotFound(_("Module not found."))
    return module


def save_lesson(
    ctx: Context,
    slug: str,
    *,
    module_id: int,
    texts: dict[str, tuple[str, str]],
    position: int = 1,
    minutes: int = 5,
    lesson_id: int | None = None,
) -> Lesson:
    """Create or edit a lesson; ``texts`` maps language -> (title, Markdown body)."""
    module = editable_module(ctx, slug, module_id)
    position = _position(position)
    if not isinstance(minutes, int) or not 1 <= minutes <= 600:
        raise ValidationFailed.single("minutes", _("Give the time in minutes, 1 to 600."))
    cleaned: dict[str, tuple[str, str]] = {}
    errors = []
    for language, (title, body) in (texts or {}).items():
        language = domain.normalize_language(language)
        title, body = (title or "").strip(), (body or "").strip()
        suffix = language.replace("-", "_")
        if not title and not body:
            cleaned[language] = ("", "")
            continue
        if not title:
            errors.append(FieldError(f"title_{suffix}", _("Give this text a title."), "required"))
        elif len(title) > 200:
            errors.append(FieldError(f"title_{suffix}", _("Use at most 200 characters.")))
        if len(body) > 100_000:
            errors.append(FieldError(f"body_{suffix}", _("Use at most 100,000 characters.")))
        cleaned[language] = (title, body)
    if not any(title for title, _b in cleaned.values()) and not errors:
        errors.append(
            FieldError("title_en", _("Write the lesson in at least one language."), "required")
        )
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if lesson_id is None:
            lesson = Lesson.objects.create(module=module, position=position, minutes=minutes)
        else:
            lesson = Lesson.objects.filter(module__course=module.course, pk=lesson_id).first()
            if lesson is None:
                raise NotFound(_("Lesson not found."))
            lesson.module, lesson.position, lesson.minutes = module, position, minutes
            lesson.save()
        for language, (title, body) in cleaned.items():
            if title:
                LessonTranslation.objects.update_or_create(
                    lesson=lesson, language=language, defaults={"title": title, "body": body}
                )
            else:
                LessonTranslation.objects.filter(lesson=lesson, language=language).delete()
        Course.objects.filter(pk=module.course_id).update(updated_at=clock.now())
        audit.record(
            ctx,
            "course.lesson_saved",
            lesson,
            after={"module": module.pk, "languages": sorted(k for k, v in cleaned.items() if v[0])},
        )
    return lesson


def editable_lesson(ctx: Context, slug: str, lesson_id: int) -> Lesson:
    course = editable_course(ctx, slug)
    for module in course.modules.all():
        for lesson in module.lessons.all():
            if lesson.pk == lesson_id:
                return lesson
    raise NotFound(_("Lesson not found."))


def save_quiz(
    ctx: Context, slug: str, module_id: int, *, pass_mark: int, max_attempts: int
) -> Quiz:
    module = editable_module(ctx, slug, module_id)
    errors = []
    if not domain.check_pass_mark(pass_mark):
        errors.append(FieldError("pass_mark", _("Give a pass mark from 1 to 100 %."), "invalid"))
    if not isinstance(max_attempts, int) or not 0 <= max_attempts <= 100:
        errors.append(
            FieldError("max_attempts", _("Give 0 (unlimited) to 100 attempts."), "invalid")
        )
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        quiz, _created = Quiz.objects.update_or_create(
            module=module, defaults={"pass_mark": pass_mark, "max_attempts": max_attempts}
        )
        audit.record(
            ctx,
            "course.quiz_saved",
            quiz,
            after={"pass_mark": pass_mark, "max_attempts": max_attempts},
        )
    return quiz


@dataclass
class ChoiceInput:
    texts: dict[str, str]
    is_correct: bool = False


@dataclass
class QuestionInput:
    kind: str
    prompts: dict[str, str]
    choices: list[ChoiceInput]
    explanations: dict[str, str] = field(default_factory=dict)
    position: int = 1


def check_question(data: QuestionInput) -> list[FieldError]:
    errors = []
    if data.kind not in {k.value for k in domain.QuestionKind}:
        errors.append(FieldError("kind", _("Choose one answer or several answers."), "invalid"))
    prompts = {k: (v or "").strip() for k, v in (data.prompts or {}).items() if k in LANGUAGES}
    if not any(prompts.values()):
        errors.append(FieldError("prompt_en", _("Write the question."), "required"))
    choices = [c for c in data.choices if any((t or "").strip() for t in c.texts.values())]
    if len(choices) < 2:
        errors.append(FieldError("choices", _("Give at least two choices."), "too_few"))
    elif len(choices) > MAX_CHOICES:
        errors.append(
            FieldError(
                "choices", _("Give at most %(max)d choices.") % {"max": MAX_CHOICES}, "too_many"
            )
        )
    correct = sum(1 for c in choices if c.is_correct)
    if choices and correct == 0:
        errors.append(FieldError("choices", _("Mark the correct choice."), "no_correct"))
    elif data.kind == domain.QuestionKind.SINGLE and correct > 1:
        errors.append(
            FieldError(
                "choices",
                _("A one-answer question has exactly one correct choice."),
                "too_many_correct",
            )
        )
    return errors


def _clean_texts(texts: dict[str, str]) -> dict[str, str]:
    return {k: v.strip() for k, v in texts.items() if v and v.strip()}


def _given_choices(data: QuestionInput) -> list[ChoiceInput]:
    return [c for c in data.choices if any((t or "").strip() for t in c.texts.values())]


def add_question(ctx: Context, slug: str, module_id: int, data: QuestionInput) -> Question:
    module = editable_module(ctx, slug, module_id)
    quiz = quiz_of(module)
    if quiz is None:
        raise Conflict(_("Create the module's quiz first."))
    errors = check_question(data)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if quiz.questions.count() >= MAX_QUESTIONS:
            raise ValidationFailed.single(
                "prompt_en",
                _("A quiz has at most %(max)d questions.") % {"max": MAX_QUESTIONS},
                "too_many",
            )
        question = Question.objects.create(
            quiz=quiz,
            kind=data.kind,
            position=data.position,
            prompts=_clean_texts(data.prompts),
            explanations=_clean_texts(data.explanations),
        )
        Choice.objects.bulk_create(
            Choice(
                question=question,
                position=i + 1,
                texts=_clean_texts(c.texts),
                is_correct=c.is_correct,
            )
            for i, c in enumerate(_given_choices(data))
        )
        audit.record(ctx, "course.question_added", question, after={"quiz": quiz.pk})
    return question


def editable_question(ctx: Context, slug: str, question_id: int) -> Question:
    course = editable_course(ctx, slug)
    question = (
        Question.objects.filter(quiz__module__course=course, pk=question_id)
        .prefetch_related("choices")
        .first()
    )
    if question is None:
        raise NotFound(_("Question not found."))
    return question


def update_question(ctx: Context, slug: str, question_id: int, data: QuestionInput) -> Question:
    """Reword a question, its choices and explanation, or re-mark its answers.

    Once learners have submitted answers to the quiz, only the wording may change: the choices
    stay as many and keep which is correct, so past attempts keep the score they were given.
    """
    course = editable_course(ctx, slug)
    errors = check_question(data)
    if errors:
        raise ValidationFailed(errors)
    given = _given_choices(data)
    with transaction.atomic():
        question = (
            Question.objects.select_for_update()
            .filter(quiz__module__course=course, pk=question_id)
            .first()
        )
        if question is None:
            raise NotFound(_("Question not found."))
        choices = list(question.choices.order_by("position", "pk"))
        answered = Attempt.objects.filter(
            quiz_id=question.quiz_id, submitted_at__isnull=False
        ).exists()
        if answered and (
            data.kind != question.kind
            or [c.is_correct for c in given] != [c.is_correct for c in choices]
        ):
            raise ValidationFailed.single(
                "choices",
                _(
                    "Learners have already answered this quiz: you may reword the question and "
                    "its choices, but not add, remove or re-mark choices. Add a new question "
                    "instead."
                ),
                "answered",
            )
        before = {"prompts": question.prompts, "choices": [c.texts for c in choices]}
        question.kind = data.kind
        question.position = data.position
        question.prompts = _clean_texts(data.prompts)
        question.explanations = _clean_texts(data.explanations)
        question.save(update_fields=["kind", "position", "prompts", "explanations"])
        for i, item in enumerate(given):
            if i < len(choices):
                choices[i].position = i + 1
                choices[i].texts = _clean_texts(item.texts)
                choices[i].is_correct = item.is_correct
            else:
                choices.append(
                    Choice(
                        question=question,
                        position=i + 1,
                        texts=_clean_texts(item.texts),
                        is_correct=item.is_correct,
                    )
                )
        kept, surplus = choices[: len(given)], choices[len(given) :]
        Choice.objects.bulk_update([c for c in kept if c.pk], ["position", "texts", "is_correct"])
        Choice.objects.bulk_create([c for c in kept if not c.pk])
        Choice.objects.filter(pk__in=[c.pk for c in surplus]).delete()
        audit.record(
            ctx,
            "course.question_updated",
            question,
            before=before,
            after={"prompts": question.prompts, "choices": [c.texts for c in kept]},
        )
    return question


def delete_question(ctx: Context, slug: str, question_id: int) -> None:
    course = editable_course(ctx, slug)
    with transaction.atomic():
        question = Question.objects.filter(quiz__module__course=course, pk=question_id).first()
        if question is None:
            raise NotFound(_("Question not found."))
        audit.record(ctx, "course.question_deleted", question, before={"quiz": question.quiz_id})
        question.delete()


def quiz_questions(quiz: Quiz) -> list[Question]:
    return list(quiz.questions.order_by("position", "pk").prefetch_related("choices"))


def publish_problems(course: Course) -> list[FieldError]:
    """What stops a course from being published (empty when it may be)."""
    problems = []
    if not course.translations.all():
        problems.append(FieldError("title_en", _("The course needs a title."), "required"))
    modules = list(course.modules.all())
    lessons = [lesson for m in modules for lesson in m.lessons.all()]
    if not lessons:
        problems.append(FieldError("lessons", _("Add at least one lesson."), "no_lessons"))
    for module in modules:
        quiz = quiz_of(module)
        if quiz is not None and not quiz.questions.exists():
            problems.append(
                FieldError(
                    "quiz",
                    _("The quiz of module “%(module)s” has no questions.")
                    % {"module": module.title_in(current_language())},
                    "empty_quiz",
                )
            )
    return problems


def publish_course(ctx: Context, slug: str) -> Course:
    course = editable_course(ctx, slug)
    problems = publish_problems(course)
    if problems:
        raise ValidationFailed(problems, _("This course cannot be published yet."))
    with transaction.atomic():
        course = Course.objects.select_for_update().get(pk=course.pk)
        if course.status == CourseStatus.PUBLISHED:
            return course
        course.status = CourseStatus.PUBLISHED
        course.published_at = clock.now()
        course.save(update_fields=["status", "published_at", "updated_at"])
        audit.record(
            ctx,
            "course.published",
            course,
            before={"status": "draft"},
            after={"status": "published"},
        )
    return course


def unpublish_course(ctx: Context, slug: str) -> Course:
    course = editable_course(ctx, slug)
    with transaction.atomic():
        course = Course.objects.select_for_update().get(pk=course.pk)
        if course.status == CourseStatus.DRAFT:
            return course
        course.status = CourseStatus.DRAFT
        course.featured = False
        course.save(update_fields=["status", "featured", "updated_at"])
        audit.record(ctx, "course.unpublished", course, after={"status": "draft"})
    return course


def feature_course(ctx: Context, slug: str, featured: bool = True) -> Course:
    """Platform staff put a published course at the top of the catalogue (or take it off)."""
    require_platform_staff(ctx)
    with transaction.atomic():
        course = Course.objects.select_for_update().filter(slug=slug).first()
        if course is None:
            raise NotFound(_("Course not found."))
        if featured and course.status != CourseStatus.PUBLISHED:
            raise Conflict(_("Only a published course can be featured."))
        if course.featured != featured:
            course.featured = featured
            course.save(update_fields=["featured", "updated_at"])
            audit.record(ctx, "course.featured", course, after={"featured": featured})
    return course


# ---------------------------------------------------------------------------------------------
# Trainers: images for lessons
# ---------------------------------------------------------------------------------------------

MAX_COURSE_IMAGE_BYTES = 2 * 1024 * 1024
MAX_COURSE_IMAGES = 50
MAX_ALT_TEXT = 200


def course_images(course: Course) -> list[CourseImage]:
    """A course's uploaded images, newest first, in one query."""
    return list(CourseImage.objects.filter(course=course).order_by("-created_at", "-pk"))


def add_course_image(
    ctx: Context, slug: str, content: bytes, filename: str = "", alt_text: str = ""
) -> CourseImage:
    """Store an image for the lessons of a course the caller may edit.

    The bytes must be a JPEG, PNG, WebP or GIF of at most 2 MB (``core.images``); the file is
    stored under a random name in ``academy/<course id>/`` whatever ``filename`` says. Row
    and file are written together: if the row is not saved, the file is deleted again.
    """
    course = editable_course(ctx, slug)
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > MAX_ALT_TEXT:
        raise ValidationFailed.single("alt_text", _("Use at most 200 characters."), "too_long")
    picture = read_image(content, "image", MAX_COURSE_IMAGE_BYTES)
    extension = IMAGE_FORMATS[picture.format]
    storage = CourseImage._meta.get_field("image").storage
    stored = ""
    try:
        with transaction.atomic():
            # Locking the course makes concurrent uploads count one after the other.
            course = Course.objects.select_for_update().get(pk=course.pk)
            if CourseImage.objects.filter(course=course).count() >= MAX_COURSE_IMAGES:
                raise ValidationFailed.single(
                    "image",
                    _("A course has at most %(max)d images.") % {"max": MAX_COURSE_IMAGES},
                    "too_many",
                )
            row = CourseImage(
                course=course,
                alt_text=alt_text,
                width=picture.width,
                height=picture.height,
                uploaded_by=ctx.user,
            )
            row.image.save(f"image.{extension}", ContentFile(content), save=False)
            stored = row.image.name
            row.save()
            Course.objects.filter(pk=course.pk).update(updated_at=clock.now())
            audit.record(
                ctx,
                "course.image_added",
                course,
                after={"image_id": row.pk, "image": stored, "alt_text": alt_text},
            )
    except BaseException:
        if stored:
            storage.delete(stored)
        raise
    return row


def remove_course_image(ctx: Context, slug: str, image_id: int) -> None:
    """Delete one of a course's images; its file goes once the deletion is committed."""
    course = editable_course(ctx, slug)
    with transaction.atomic():
        row = CourseImage.objects.select_for_update().filter(course=course, pk=image_id).first()
        if row is None:
            raise NotFound(_("Image not found."))
        name, storage = row.image.name, row.image.storage
        audit.record(
            ctx, "course.image_removed", course, before={"image_id": row.pk, "image": name}
        )
        row.delete()
        Course.objects.filter(pk=course.pk).update(updated_at=clock.now())
        # A rolled-back deletion keeps its file; a failed file deletion does not undo the row's.
        transaction.on_commit(lambda: storage.delete(name), robust=True)


# ---------------------------------------------------------------------------------------------
# Learners: enrol, read, resume
# ---------------------------------------------------------------------------------------------


def enrol(ctx: Context, slug: str) -> Enrolment:
    """Enrol the caller in a published course; enrolling twice returns the same enrolment."""
    require_learner(ctx)
    course = Course.objects.filter(slug=slug, status=CourseStatus.PUBLISHED).first()
    if course is None:
        raise NotFound(_("Course not found."))
    return _enrol_user(ctx, ctx.user, course)


def _enrol_user(ctx: Context, user: User, course: Course, **why) -> Enrolment:
    """Enrol ``user`` once (a second call returns the same enrolment); ``why`` is audited."""
    with transaction.atomic():
        enrolment, created = Enrolment.objects.get_or_create(
            user=user, course=course, defaults={"enrolled_at": clock.now()}
        )
        if created:
            audit.record(ctx, "academy.enrolled", enrolment, after={"course": course.slug, **why})
    return enrolment


def my_enrolments(ctx: Context) -> list[Enrolment]:
    require_learner(ctx)
    return list(
        Enrolment.objects.filter(user=ctx.user)
        .select_related("course", "certificate")
        .prefetch_related("course__translations")
        .order_by("-enrolled_at", "-pk")
    )


def my_progress(ctx: Context) -> list[CourseOutline]:
    """The caller's enrolments in published courses, each as its course outline with progress
    (a fixed number of queries, however many enrolments)."""
    require_learner(ctx)
    enrolments = list(
        Enrolment.objects.filter(user=ctx.user, course__status=CourseStatus.PUBLISHED)
        .select_related("course__trainer", "certificate")
        .prefetch_related(*_content_prefetch("course__"))
        .order_by("-enrolled_at", "-pk")
    )
    outlines = {e.pk: _contents(e.course, None) for e in enrolments}
    _with_progress(outlines, {e.pk: e for e in enrolments})
    return [outlines[e.pk] for e in enrolments]


def _enrolment(ctx: Context, course: Course) -> Enrolment:
    enrolment = Enrolment.objects.filter(user=ctx.user, course=course).first()
    if enrolment is None:
        raise PermissionDenied(_("Enrol in the course first."), code="not_enrolled")
    return enrolment


@dataclass
class LessonPage:
    outline: CourseOutline
    lesson: Lesson
    module: Module
    texts: Texts
    html: str
    previous_id: int | None
    next_id: int | None
    done: bool

    @property
    def quiz_due(self) -> bool:
        """The next step is the module's quiz: this is the module's last lesson and its quiz
        is not passed yet."""
        following = next((x for x in self.outline.lessons if x.pk == self.next_id), None)
        if following is not None and following.module_id == self.lesson.module_id:
            return False
        quiz = quiz_of(self.module)
        return quiz is not None and quiz.pk not in self.outline.quizzes_passed


def open_lesson(ctx: Context, slug: str, lesson_id: int, language: str | None = None) -> LessonPage:
    """A lesson for an enrolled learner, in their language (or the fallback, flagged); it
    becomes the place "continue" returns to."""
    from .rendering import render_markdown

    require_learner(ctx)
    course = _visible_course(ctx, slug)
    outline = _outline(course, ctx, language)
    if outline.enrolment is None:
        raise PermissionDenied(_("Enrol in the course first."), code="not_enrolled")
    index = next((i for i, x in enumerate(outline.lessons) if x.pk == lesson_id), None)
    if index is None:
        raise NotFound(_("Lesson not found."))
    lesson = outline.lessons[index]
    if outline.enrolment.last_lesson_id != lesson.pk:
        Enrolment.objects.filter(pk=outline.enrolment.pk).update(last_lesson=lesson)
        outline.enrolment.last_lesson_id = lesson.pk
    texts = lesson_texts(lesson, language or current_language())
    module = next(m for m in outline.modules if m.pk == lesson.module_id)
    return LessonPage(
        outline=outline,
        lesson=lesson,
        module=module,
        texts=texts,
        html=render_markdown(texts.body),
        previous_id=outline.lessons[index - 1].pk if index > 0 else None,
        next_id=outline.lessons[index + 1].pk if index + 1 < len(outline.lessons) else None,
        done=lesson.pk in outline.lessons_done,
    )


def complete_lesson(ctx: Context, slug: str, lesson_id: int) -> Enrolment:
    """Mark a lesson read (idempotent); may complete the course."""
    require_learner(ctx)
    course = Course.objects.filter(slug=slug, status=CourseStatus.PUBLISHED).first()
    if course is None:
        raise NotFound(_("Course not found."))
    with transaction.atomic():
        enrolment = _enrolment(ctx, course)
        lesson = Lesson.objects.filter(module__course=course, pk=lesson_id).first()
        if lesson is None:
            raise NotFound(_("Lesson not found."))
        LessonProgress.objects.get_or_create(
            enrolment=enrolment, lesson=lesson, defaults={"completed_at": clock.now()}
        )
        Enrolment.objects.filter(pk=enrolment.pk).update(last_lesson=lesson)
        enrolment = _recompute(ctx, enrolment)
    return enrolment


def resume_lesson_id(ctx: Context, slug: str) -> int | None:
    outline = course_outline(ctx, slug)
    if outline.enrolment is None:
        return None
    return outline.next_lesson_id()


def _recompute(ctx: Context, enrolment: Enrolment) -> Enrolment:
    """Store the enrolment's progress; on completion issue the certificate. In the caller's
    transaction."""
    enrolment = Enrolment.objects.select_for_update().select_related("course").get(pk=enrolment.pk)
    course = enrolment.course
    lessons_total = Lesson.objects.filter(module__course=course).count()
    lessons_done = LessonProgress.objects.filter(
        enrolment=enrolment, lesson__module__course=course
    ).count()
    quizzes_total = Quiz.objects.filter(module__course=course).count()
    quizzes_passed = (
        Attempt.objects.filter(enrolment=enrolment, passed=True, quiz__module__course=course)
        .values("quiz_id")
        .distinct()
        .count()
    )
    progress = domain.progress_percent(lessons_done, lessons_total, quizzes_passed, quizzes_total)
    changed = ["progress"]
    enrolment.progress = progress
    complete = domain.is_complete(lessons_done, lessons_total, quizzes_passed, quizzes_total)
    if complete and enrolment.completed_at is None:
        enrolment.completed_at = clock.now()
        changed.append("completed_at")
    enrolment.save(update_fields=changed)
    if complete and not Certificate.objects.filter(enrolment=enrolment).exists():
        _issue_certificate(ctx, enrolment)
    return enrolment


def _issue_certificate(ctx: Context, enrolment: Enrolment) -> Certificate:
    language = domain.normalize_language(
        getattr(enrolment.user, "preferred_language", "") or current_language()
    )
    if ctx.is_authenticated and ctx.user.pk == enrolment.user_id:
        language = current_language()  # the language the learner is reading in right now
    texts = course_texts(
        Course.objects.prefetch_related("translations").get(pk=enrolment.course_id), language
    )
    user = enrolment.user
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        learner_name=(user.full_name or user.email)[:200],
        course_title=texts.title[:200] or enrolment.course.slug,
        language=language,
        issued_at=enrolment.completed_at or clock.now(),
    )
    audit.record(ctx, "academy.certificate_issued", certificate, after={"code": certificate.code})
    return certificate


# ---------------------------------------------------------------------------------------------
# Quizzes
# ---------------------------------------------------------------------------------------------


def _quiz_for_learner(ctx: Context, slug: str, module_id: int) -> tuple[Enrolment, Quiz]:
    require_learner(ctx)
    quiz = (
        Quiz.objects.select_related("module", "module__course")
        .filter(
            module_id=module_id,
            module__course__slug=slug,
            module__course__status=CourseStatus.PUBLISHED,
        )
        .first()
    )
    if quiz is None:
        raise NotFound(_("Quiz not found."))
    return _enrolment(ctx, quiz.module.course), quiz


@dataclass
class QuizPage:
    quiz: Quiz
    module: Module
    course: Course
    enrolment: Enrolment
    attempts: list[Attempt]
    open_attempt: Attempt | None
    attempts_left: int | None
    passed: bool


def quiz_page(ctx: Context, slug: str, module_id: int) -> QuizPage:
    enrolment, quiz = _quiz_for_learner(ctx, slug, module_id)
    attempts = list(Attempt.objects.filter(enrolment=enrolment, quiz=quiz).order_by("number"))
    used = len(attempts)
    extra = _extra_attempts(enrolment, quiz)
    return QuizPage(
        quiz=quiz,
        module=quiz.module,
        course=quiz.module.course,
        enrolment=enrolment,
        attempts=attempts,
        open_attempt=next((a for a in attempts if a.is_open), None),
        attempts_left=domain.attempts_left(quiz.max_attempts, used, extra),
        passed=any(a.passed for a in attempts),
    )


def _extra_attempts(enrolment: Enrolment, quiz: Quiz) -> int:
    """Attempts a trainer allowed this learner beyond the quiz's limit."""
    if quiz.max_attempts <= 0:
        return 0
    grant = AttemptGrant.objects.filter(enrolment=enrolment, quiz=quiz).first()
    return grant.extra if grant else 0


def start_attempt(ctx: Context, slug: str, module_id: int) -> Attempt:
    """Start an attempt, or return the open one. Over the limit: AttemptLimitReached (409)."""
    enrolment, quiz = _quiz_for_learner(ctx, slug, module_id)
    with transaction.atomic():
        # Serialise a learner's starts on this quiz: two tabs must not both take the last try.
        Enrolment.objects.select_for_update().filter(pk=enrolment.pk).first()
        attempts = list(Attempt.objects.filter(enrolment=enrolment, quiz=quiz))
        open_attempt = next((a for a in attempts if a.is_open), None)
        if open_attempt is not None:
            return open_attempt
        if not domain.may_attempt(
            quiz.max_attempts, len(attempts), _extra_attempts(enrolment, quiz)
        ):
            raise AttemptLimitReached(
                _("You have used all %(max)d attempts at this quiz.") % {"max": quiz.max_attempts},
                field="attempt",
            )
        questions = quiz_questions(quiz)
        if not questions:
            raise Conflict(_("This quiz has no questions yet."))
        seed = secrets.randbits(48)
        order, choice_order = domain.shuffled_order(
            [q.pk for q in questions],
            {q.pk: [c.pk for c in q.choices.all()] for q in questions},
            seed,
        )
        attempt = Attempt.objects.create(
            enrolment=enrolment,
            quiz=quiz,
            number=len(attempts) + 1,
            seed=seed,
            question_order=order,
            choice_order={str(k): v for k, v in choice_order.items()},
            started_at=clock.now(),
        )
        audit.record(ctx, "academy.attempt_started", attempt, after={"number": attempt.number})
    return attempt


def _own_attempt(ctx: Context, public_id: str, *, lock: bool = False) -> Attempt:
    """The caller's attempt; anyone else's is NotFound (never a hint that it exists)."""
    require_learner(ctx)
    qs = Attempt.objects.select_related("quiz", "quiz__module", "quiz__module__course", "enrolment")
    if lock:
        qs = qs.select_for_update(of=("self",))
    attempt = (
        qs.filter(public_id=public_id, enrolment__user=ctx.user).first()
        if isinstance(public_id, str)
        else None
    )
    if attempt is None:
        raise NotFound(_("Attempt not found."))
    return attempt


def attempt_question_ids(ctx: Context, public_id: str) -> list[int]:
    """The questions of the caller's attempt, in the order shown (what a form posts back)."""
    return [int(q) for q in _own_attempt(ctx, public_id).question_order]


@dataclass
class ShownChoice:
    id: int
    text: str
    chosen: bool = False
    is_correct: bool | None = None  # None while the attempt is open: answers stay hidden


@dataclass
class ShownQuestion:
    id: int
    number: int
    kind: str
    prompt: str
    choices: list[ShownChoice]
    explanation: str = ""
    is_correct: bool | None = None


@dataclass
class AttemptPage:
    attempt: Attempt
    questions: list[ShownQuestion]
    course: Course
    module: Module
    attempts_left: int | None


def attempt_page(ctx: Context, public_id: str, language: str | None = None) -> AttemptPage:
    """An attempt as its learner sees it: shuffled; after submission with the right answers
    and the explanations."""
    attempt = _own_attempt(ctx, public_id)
    language = language or current_language()
    questions = {q.pk: q for q in quiz_questions(attempt.quiz)}
    shown = []
    for number, qid in enumerate(attempt.question_order, start=1):
        question = questions.get(qid)
        if question is None:
            continue  # removed by the trainer after the attempt started
        choices = {c.pk: c for c in question.choices.all()}
        order = attempt.choice_order.get(str(qid), list(choices))
        chosen = set(attempt.answers.get(str(qid), []))
        submitted = not attempt.is_open
        items = [
            ShownChoice(
                id=cid,
                text=domain.pick_text(choices[cid].texts, language)[0],
                chosen=cid in chosen,
                is_correct=choices[cid].is_correct if submitted else None,
            )
            for cid in order
            if cid in choices
        ]
        correct = {c.pk for c in choices.values() if c.is_correct}
        shown.append(
            ShownQuestion(
                id=qid,
                number=number,
                kind=question.kind,
                prompt=domain.pick_text(question.prompts, language)[0],
                choices=items,
                explanation=domain.pick_text(question.explanations, language)[0]
                if submitted
                else "",
                is_correct=(chosen == correct) if submitted else None,
            )
        )
    used = Attempt.objects.filter(enrolment=attempt.enrolment, quiz=attempt.quiz).count()
    return AttemptPage(
        attempt=attempt,
        questions=shown,
        course=attempt.quiz.module.course,
        module=attempt.quiz.module,
        attempts_left=domain.attempts_left(
            attempt.quiz.max_attempts, used, _extra_attempts(attempt.enrolment, attempt.quiz)
        ),
    )


def _parse_answers(raw: Any) -> dict[int, list[int]]:
    if not isinstance(raw, dict):
        raise ValidationFailed.single("answers", _("Send the answers as a map."), "invalid")
    parsed: dict[int, list[int]] = {}
    for key, value in raw.items():
        try:
            qid = int(key)
        except (TypeError, ValueError):
            raise ValidationFailed.single(
                "answers", _("Answers are keyed by question id."), "invalid"
            ) from None
        values = value if isinstance(value, list | tuple | set) else [value]
        try:
            parsed[qid] = [int(v) for v in values if v not in ("", None)]
        except (TypeError, ValueError):
            raise ValidationFailed.single(
                f"answers.{qid}", _("Choices are given by their ids."), "invalid"
            ) from None
    return parsed


def submit_attempt(ctx: Context, public_id: str, answers: dict) -> Attempt:
    """Grade the caller's open attempt (all-or-nothing per question; see ``domain``).

    Another learner's attempt is NotFound; a submitted one is AttemptClosed (409); an answer
    naming a choice of another question is refused on ``answers.<question id>``.
    """
    parsed = _parse_answers(answers)
    with transaction.atomic():
        attempt = _own_attempt(ctx, public_id, lock=True)
        if not attempt.is_open:
            raise AttemptClosed(_("This attempt has already been submitted."), field="attempt")
        questions = [q for q in quiz_questions(attempt.quiz) if q.pk in attempt.question_order]
        keys = [
            domain.QuestionKey(
                id=q.pk,
                kind=domain.QuestionKind(q.kind),
                correct=frozenset(c.pk for c in q.choices.all() if c.is_correct),
                choices=frozenset(c.pk for c in q.choices.all()),
            )
            for q in questions
        ]
        try:
            result = domain.grade(keys, parsed, attempt.quiz.pass_mark)
        except domain.AnswerError as exc:
            message = {
                "unknown_question": _("This question is not part of the attempt."),
                "unknown_choice": _("This choice does not belong to the question."),
                "too_many": _("Choose only one answer."),
            }[exc.reason]
            raise ValidationFailed.single(
                f"answers.{exc.question_id}", message, exc.reason
            ) from None
        attempt.answers = {str(r.id): sorted(r.chosen) for r in result.results}
        attempt.score = result.score
        attempt.passed = result.passed
        attempt.submitted_at = clock.now()
        attempt.save(update_fields=["answers", "score", "passed", "submitted_at"])
        audit.record(
            ctx,
            "academy.attempt_submitted",
            attempt,
            after={"score": result.score, "passed": result.passed},
        )
        _recompute(ctx, attempt.enrolment)
    return attempt


# ---------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------


def certificate_of(enrolment: Enrolment) -> Certificate | None:
    """The certificate issued for ``enrolment`` (one the caller already holds), if any."""
    return Certificate.objects.filter(enrolment=enrolment).first()


def my_certificates(ctx: Context) -> list[Certificate]:
    require_learner(ctx)
    return list(
        Certificate.objects.filter(enrolment__user=ctx.user)
        .select_related("enrolment__course")
        .order_by("-issued_at")
    )


def own_certificate(ctx: Context, code: str) -> Certificate:
    require_learner(ctx)
    certificate = (
        Certificate.objects.filter(code=code, enrolment__user=ctx.user)
        .select_related("enrolment__course")
        .first()
        if isinstance(code, str)
        else None
    )
    if certificate is None:
        raise NotFound(_("Certificate not found."))
    return certificate


def verify_certificate(code: str) -> Certificate:
    """Public: the certificate with this code (typed codes are normalised) or NotFound."""
    from ehub.core.ids import InvalidPublicId, normalize_public_id

    try:
        canonical = normalize_public_id(code or "", "CERT")
    except InvalidPublicId:
        raise NotFound(_("No certificate has this code.")) from None
    certificate = (
        Certificate.objects.filter(code=canonical).select_related("enrolment__course").first()
    )
    if certificate is None:
        raise NotFound(_("No certificate has this code."))
    return certificate


# ---------------------------------------------------------------------------------------------
# Cohorts
# ---------------------------------------------------------------------------------------------


def cohort_courses(ctx: Context) -> list[Course]:
    """The courses a trainer may run a cohort on: their own (drafts too), then the published."""
    own = studio_courses(ctx)
    slugs = {c.slug for c in own}
    return own + [c for c in catalogue() if c.slug not in slugs]


def create_cohort(ctx: Context, *, name: str, slug: str, starts_on) -> Cohort:
    require_trainer(ctx)
    errors = []
    name = (name or "").strip()
    if not name or len(name) > 120:
        errors.append(FieldError("name", _("Give the cohort a name (up to 120 characters).")))
    course = (
        Course.objects.filter(slug=slug)
        .filter(Q(status=CourseStatus.PUBLISHED) | Q(trainer=ctx.user))
        .first()
    )
    if course is None:
        errors.append(FieldError("course", _("Choose a course."), "invalid"))
    if starts_on is None:
        errors.append(FieldError("starts_on", _("Give the start date."), "required"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        cohort = Cohort.objects.create(
            name=name, course=course, trainer=ctx.user, starts_on=starts_on
        )
        audit.record(ctx, "academy.cohort_created", cohort, after={"course": course.slug})
    return cohort


def trainer_cohorts(ctx: Context) -> list[Cohort]:
    """The cohorts the caller leads (only theirs)."""
    require_trainer(ctx)
    return list(
        Cohort.objects.filter(trainer=ctx.user)
        .select_related("course")
        .prefetch_related("course__translations")
        .annotate(member_count=Count("members"))
        .order_by("-starts_on", "pk")
    )


def my_cohorts(ctx: Context) -> list[Cohort]:
    """The cohorts the caller is a member of (a learner sees their own memberships only)."""
    require_learner(ctx)
    return list(
        Cohort.objects.filter(members=ctx.user)
        .select_related("course", "trainer")
        .prefetch_related("course__translations")
        .order_by("-starts_on", "pk")
    )


def _own_cohort(ctx: Context, cohort_id: int) -> Cohort:
    require_trainer(ctx)
    cohort = (
        Cohort.objects.filter(pk=cohort_id, trainer=ctx.user)
        .select_related("course")
        .prefetch_related("course__translations")
        .first()
    )
    if cohort is None:
        raise NotFound(_("Cohort not found."))
    return cohort


def add_cohort_member(ctx: Context, cohort_id: int, email: str) -> User:
    cohort = _own_cohort(ctx, cohort_id)
    user = active_user_by_email(email)
    if user is None:
        raise ValidationFailed.single("email", _("No learner has this email address."), "unknown")
    with transaction.atomic():
        cohort.members.add(user)
        audit.record(ctx, "academy.cohort_member_added", cohort, after={"user": user.pk})
        # A member takes the cohort's course: enrol them now if it is published (a draft's
        # members are enrolled by the learner themselves once it is out).
        if cohort.course.status == CourseStatus.PUBLISHED:
            _enrol_user(ctx, user, cohort.course, cohort=cohort.pk)
    return user


def remove_cohort_member(ctx: Context, cohort_id: int, user_id: int) -> None:
    """Take a learner out of a cohort. Their enrolment, progress and certificate stay theirs."""
    cohort = _own_cohort(ctx, cohort_id)
    with transaction.atomic():
        if not cohort.members.filter(pk=user_id).exists():
            raise NotFound(_("This learner is not in the cohort."))
        cohort.members.remove(user_id)
        audit.record(ctx, "academy.cohort_member_removed", cohort, before={"user": user_id})


@dataclass
class CohortRow:
    user: User
    enrolled: bool
    progress: int
    completed: bool
    quiz_results: dict[int, tuple[int | None, int, bool]]  # quiz id -> (best, used, passed)
    # Quizzes this learner has no attempt left at and has not passed: the trainer may allow one.
    locked_quizzes: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CohortSummary:
    """The whole cohort at a glance, whichever page of members is shown."""

    members: int
    enrolled: int
    completed: int
    average_progress: int  # over the enrolled members, whole percent
    passed_by_quiz: dict[int, int]  # quiz id -> members who passed it


@dataclass
class CohortReport:
    cohort: Cohort
    quizzes: list[Quiz]
    rows: list[CohortRow]
    summary: CohortSummary
    page: Page  # the members shown


def cohort_report(
    ctx: Context, cohort_id: int, *, page: Any = 1, per_page: int = 50
) -> CohortReport:
    """Progress and quiz results of one page of a cohort's members by name (``page`` as typed;
    out of range gives the last), for the cohort's trainer only, and a summary of all."""
    cohort = _own_cohort(ctx, cohort_id)
    shown = Paginator(cohort.members.order_by("full_name", "email", "pk"), per_page).get_page(page)
    members = list(shown.object_list)
    enrolments = {
        e.user_id: e
        for e in Enrolment.objects.filter(course=cohort.course, user__in=[m.pk for m in members])
    }
    quizzes = list(
        Quiz.objects.filter(module__course=cohort.course)
        .select_related("module")
        .order_by("module__position", "module__pk")
    )
    results: dict[int, dict[int, tuple[int | None, int, bool]]] = defaultdict(dict)
    for row in (
        Attempt.objects.filter(enrolment__in=list(enrolments.values()), submitted_at__isnull=False)
        .values("enrolment__user_id", "quiz_id")
        .annotate(best=Max("score"), used=Count("pk"), passes=Count("pk", filter=Q(passed=True)))
    ):
        results[row["enrolment__user_id"]][row["quiz_id"]] = (
            row["best"],
            row["used"],
            bool(row["passes"]),
        )
    extra = {
        (g.enrolment_id, g.quiz_id): g.extra
        for g in AttemptGrant.objects.filter(enrolment__in=list(enrolments.values()))
    }

    def locked(user_id: int) -> frozenset[int]:
        enrolment = enrolments.get(user_id)
        if enrolment is None:
            return frozenset()
        return frozenset(
            quiz.pk
            for quiz in quizzes
            if quiz.pk in results.get(user_id, {})
            and domain.may_grant_attempt(
                quiz.max_attempts,
                results[user_id][quiz.pk][1],
                extra.get((enrolment.pk, quiz.pk), 0),
                results[user_id][quiz.pk][2],
            )
        )

    rows = [
        CohortRow(
            user=m,
            enrolled=m.pk in enrolments,
            progress=enrolments[m.pk].progress if m.pk in enrolments else 0,
            completed=m.pk in enrolments and enrolments[m.pk].completed_at is not None,
            quiz_results=results.get(m.pk, {}),
            locked_quizzes=locked(m.pk),
        )
        for m in members
    ]
    return CohortReport(
        cohort=cohort,
        quizzes=quizzes,
        rows=rows,
        summary=_cohort_summary(cohort, shown.paginator.count),
        page=shown,
    )


def _cohort_summary(cohort: Cohort, members: int) -> CohortSummary:
    """Counts over all ``members`` of the cohort, in two queries whatever its size."""
    member_ids = cohort.members.values("pk")
    enrolments = Enrolment.objects.filter(course=cohort.course, user__in=member_ids)
    totals = enrolments.aggregate(
        enrolled=Count("pk"),
        completed=Count("pk", filter=Q(completed_at__isnull=False)),
        progress=Avg("progress"),
    )
    passed = (
        Attempt.objects.filter(enrolment__in=enrolments, passed=True)
        .values("quiz_id")
        .annotate(learners=Count("enrolment", distinct=True))
    )
    return CohortSummary(
        members=members,
        enrolled=totals["enrolled"],
        completed=totals["completed"],
        average_progress=round(totals["progress"] or 0),
        passed_by_quiz={row["quiz_id"]: row["learners"] for row in passed},
    )


def grant_attempt(ctx: Context, cohort_id: int, user_id: int, quiz_id: int) -> AttemptGrant:
    """The cohort's trainer allows a member one more attempt at a quiz of the cohort's course,
    once the member has used every attempt without passing."""
    cohort = _own_cohort(ctx, cohort_id)
    if not cohort.members.filter(pk=user_id).exists():
        raise NotFound(_("This learner is not in the cohort."))
    quiz = Quiz.objects.filter(pk=quiz_id, module__course=cohort.course).first()
    enrolment = Enrolment.objects.filter(user_id=user_id, course=cohort.course).first()
    if quiz is None or enrolment is None:
        raise NotFound(_("Quiz not found."))
    with transaction.atomic():
        # The same lock as start_attempt: a grant and a start never interleave.
        Enrolment.objects.select_for_update().filter(pk=enrolment.pk).first()
        attempts = list(Attempt.objects.filter(enrolment=enrolment, quiz=quiz))
        grant = AttemptGrant.objects.filter(enrolment=enrolment, quiz=quiz).first()
        extra = grant.extra if grant else 0
        if not domain.may_grant_attempt(
            quiz.max_attempts, len(attempts), extra, any(a.passed for a in attempts)
        ):
            raise Conflict(
                _(
                    "Another attempt is only allowed once the learner has used them all "
                    "without passing."
                )
            )
        if grant is None:
            grant = AttemptGrant(enrolment=enrolment, quiz=quiz)
        grant.extra = extra + 1
        grant.granted_by = ctx.user
        grant.updated_at = clock.now()
        grant.save()
        audit.record(
            ctx,
            "academy.attempt_granted",
            enrolment,
            after={"quiz": quiz.pk, "extra": grant.extra, "cohort": cohort.pk},
        )
    return grant


# ---------------------------------------------------------------------------------------------
# Export readiness
# ---------------------------------------------------------------------------------------------


def readiness(org) -> domain.Readiness:
    """The export readiness of a merchant organization (for campaigns, the portal, the API)."""
    return readiness_module.evaluate(org)


def readiness_for(ctx: Context) -> tuple[Any, domain.Readiness]:
    """The caller's own merchant organization and its readiness."""
    require_learner(ctx)
    if ctx.org is None or ctx.org.kind != OrgKind.MERCHANT:
        raise PermissionDenied(
            _("Export readiness is measured for merchant organizations."), code="not_a_merchant"
        )
    return ctx.org, readiness(ctx.org)
