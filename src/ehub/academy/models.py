"""Persistence of the academy: courses and their content, enrolments, attempts, certificates.

Content that is long or edited per language (a course's title and summary, a lesson's text)
has its own translation rows; short translated labels (module titles, questions, choices,
explanations) are JSON maps ``{"en": …, "ms": …, "zh-hans": …}`` on their row, so a quiz
loads in one query. A course may exist in some languages only; pages fall back and say so.
"""

from __future__ import annotations

import os
import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .domain import DEFAULT_MAX_ATTEMPTS, DEFAULT_PASS_MARK, Level, QuestionKind, pick_text


class CourseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


LEVEL_CHOICES = [
    (Level.BEGINNER.value, _("Beginner")),
    (Level.INTERMEDIATE.value, _("Intermediate")),
    (Level.ADVANCED.value, _("Advanced")),
]
QUESTION_KIND_CHOICES = [
    (QuestionKind.SINGLE.value, _("One answer")),
    (QuestionKind.MULTIPLE.value, _("Several answers")),
]
LANGUAGE_CHOICES = [("en", "English"), ("ms", "Bahasa Melayu"), ("zh-hans", "简体中文")]


class Course(models.Model):
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    level = models.CharField(
        _("level"), max_length=16, choices=LEVEL_CHOICES, default=Level.BEGINNER.value
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated time (minutes)"), default=30)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="academy_courses"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CourseStatus.choices, default=CourseStatus.DRAFT
    )
    featured = models.BooleanField(_("featured"), default=False)
    # Counts toward a merchant's export readiness ("required courses passed").
    required_for_readiness = models.BooleanField(_("required for export readiness"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["-featured", "slug"]
        indexes = [models.Index(fields=["status", "-featured"])]

    def __str__(self) -> str:
        return self.slug


class CourseTranslation(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        verbose_name = _("course translation")
        verbose_name_plural = _("course translations")
        constraints = [
            models.UniqueConstraint(fields=["course", "language"], name="course_translation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.course_id}:{self.language}"


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    titles = models.JSONField(_("titles"), default=dict)  # {"en": …, "ms": …, "zh-hans": …}

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["course", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.course_id}#{self.position}"

    def title_in(self, language: str | None) -> str:
        return pick_text(self.titles, language)[0]


class Lesson(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    minutes = models.PositiveSmallIntegerField(_("minutes"), default=5)

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        ordering = ["module", "position", "pk"]

    def __str__(self) -> str:
        return f"lesson {self.pk}"


class LessonTranslation(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"), blank=True)

    class Meta:
        verbose_name = _("lesson translation")
        verbose_name_plural = _("lesson translations")
        constraints = [
            models.UniqueConstraint(fields=["lesson", "language"], name="lesson_translation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lesson_id}:{self.language}"


class Quiz(models.Model):
    module = models.OneToOneField(Module, on_delete=models.CASCADE, related_name="quiz")
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=DEFAULT_PASS_MARK)
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts allowed"), default=DEFAULT_MAX_ATTEMPTS, help_text=_("0 means unlimited.")
    )

    class Meta:
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark__gte=1) & Q(pass_mark__lte=100), name="quiz_pass_mark_range"
            )
        ]

    def __str__(self) -> str:
        return f"quiz of module {self.module_id}"


class Question(models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(
        _("kind"), max_length=16, choices=QUESTION_KIND_CHOICES, default=QuestionKind.SINGLE.value
    )
    prompts = models.JSONField(_("question"), default=dict)
    explanations = models.JSONField(_("explanation"), default=dict)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["quiz", "position", "pk"]

    def __str__(self) -> str:
        return f"question {self.pk}"


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(default=1)
    texts = models.JSONField(default=dict)
    is_correct = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["question", "position", "pk"]

    def __str__(self) -> str:
        return f"choice {self.pk}"


class Cohort(models.Model):
    """A group of learners taking one course together, followed by a trainer."""

    name = models.CharField(_("name"), max_length=120)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="cohorts")
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="academy_cohorts"
    )
    starts_on = models.DateField(_("start date"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="academy_memberships", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        ordering = ["-starts_on", "pk"]

    def __str__(self) -> str:
        return self.name


class Enrolment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="academy_enrolments"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    last_lesson = models.ForeignKey(
        Lesson, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="enrolment_unique_learner")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id}"


class LessonProgress(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="lessons_done")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "lesson"], name="lesson_progress_unique")
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id}:{self.lesson_id}"


class Attempt(models.Model):
    """One try at a quiz. Its question and choice order come from ``seed`` and are stored, so
    the learner sees the same order until they submit, and graders can replay it."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField()
    question_order = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)  # {"<question id>": [choice ids]}
    answers = models.JSONField(default=dict)  # {"<question id>": [choice ids]}
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    passed = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        ordering = ["enrolment", "quiz", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "quiz", "number"], name="attempt_unique_number"
            )
        ]

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self.public_id:
            from ehub.core.ids import new_public_id

            self.public_id = new_public_id("ATT")
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.submitted_at is None


class AttemptGrant(models.Model):
    """Attempts a trainer allowed one learner beyond a quiz's limit (after they used them all
    without passing)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="grants")
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="grants")
    extra = models.PositiveSmallIntegerField(default=0)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("extra quiz attempts")
        verbose_name_plural = _("extra quiz attempts")
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "quiz"], name="attempt_grant_unique")
        ]

    def __str__(self) -> str:
        return f"+{self.extra} for {self.enrolment_id} on quiz {self.quiz_id}"


class Certificate(models.Model):
    """Proof that a learner completed a course. ``code`` is printed and verified publicly."""

    code = models.CharField(max_length=32, unique=True, editable=False)
    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.PROTECT, related_name="certificate"
    )
    # Copied at issue: the certificate states what was true that day, whatever is renamed later.
    learner_name = models.CharField(max_length=200)
    course_title = models.CharField(max_length=200)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        if not self.code:
            from ehub.core.ids import new_public_id

            self.code = new_public_id("CERT")
        super().save(*args, **kwargs)


def course_image_path(instance: CourseImage, filename: str) -> str:
    """``academy/<course id>/<random>.<ext>``: the name is never the uploader's; only the
    extension of ``filename`` is kept (the service names it after the format it found)."""
    extension = os.path.splitext(filename or "")[1].lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", extension):
        extension = ""
    return f"academy/{instance.course_id}/{uuid.uuid4().hex}{extension}"


def _markdown_text(text: str) -> str:
    # Escape what Markdown would read as markup inside an image's alt text.
    text = " ".join(text.split())
    return "".join(f"\\{ch}" if ch in "\\`*_[]" else ch for ch in text)


class CourseImage(models.Model):
    """A picture a trainer uploaded for a course's lessons; lessons show it through Markdown
    (``![alt](/media/academy/…)``). The file's name is random, so a draft course's images
    cannot be guessed."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to=course_image_path, max_length=200)
    alt_text = models.CharField(_("description for screen readers"), max_length=200, blank=True)
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("course image")
        verbose_name_plural = _("course images")
        ordering = ["course", "-created_at", "-pk"]

    def __str__(self) -> str:
        return self.image.name

    @property
    def markdown(self) -> str:
        """What a trainer pastes into a lesson to show this image."""
        return f"![{_markdown_text(self.alt_text)}]({self.image.url})"
