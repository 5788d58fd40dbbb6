"""Academy API, mounted at ``/api/v1/academy``: courses, enrolments and progress, quiz
attempts, certificates, the caller's own export readiness, and the images a trainer uploads
for a course's lessons (``/studio/courses/{slug}/images``).

Handlers are thin: they call ``academy.services``, whose errors become problem+json naming
the field (an answer for a choice of another question is refused on
``body.answers.<question id>``). A learner only ever reaches their own enrolments, attempts
and certificates; another learner's attempt is 404.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ehub.accounts.api import Page, ctx_of
from ehub.core.errors import FieldError, NotFound, ValidationFailed
from ehub.core.images import read_upload

from . import domain, services
from .models import Certificate, CourseImage, Enrolment

router = Router(tags=["academy"])


# ---------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------


class CourseOut(Schema):
    slug: str
    title: str = Field(..., description="In the request's language, or the fallback.")
    language: str | None = Field(..., description="The language the title is in.")
    summary: str
    level: str = Field(..., description="beginner, intermediate or advanced")
    estimated_minutes: int
    featured: bool
    languages: list[str] = Field(..., description="Languages the course exists in.")


class LessonRef(Schema):
    id: int
    title: str


class QuizRef(Schema):
    module_id: int
    pass_mark: int = Field(..., description="Percent needed to pass.")
    max_attempts: int = Field(..., description="0 means unlimited.")


class ModuleOut(Schema):
    id: int
    title: str
    lessons: list[LessonRef]
    quiz: QuizRef | None


class ProgressOut(Schema):
    course: str = Field(..., description="The course's slug.")
    progress: int = Field(..., description="Percent of lessons read and quizzes passed.")
    enrolled_at: datetime
    completed_at: datetime | None
    last_lesson_id: int | None
    lessons_done: list[int]
    quizzes_passed: list[int] = Field(..., description="Module ids whose quiz is passed.")
    certificate: str | None = Field(None, description="Verification code, once completed.")


class CourseDetailOut(CourseOut):
    modules: list[ModuleOut]
    enrolment: ProgressOut | None


class ChoiceOut(Schema):
    id: int
    text: str
    chosen: bool
    is_correct: bool | None = Field(None, description="Shown once the attempt is submitted.")


class QuestionOut(Schema):
    id: int
    number: int
    kind: str = Field(..., description="single or multiple")
    prompt: str
    choices: list[ChoiceOut]
    explanation: str = Field("", description="Shown once the attempt is submitted.")
    is_correct: bool | None = None


class AttemptOut(Schema):
    public_id: str
    course: str
    module_id: int
    number: int
    status: str = Field(..., description="open or submitted")
    score: int | None
    passed: bool
    pass_mark: int
    attempts_left: int | None = Field(..., description="None: unlimited.")
    started_at: datetime
    submitted_at: datetime | None
    questions: list[QuestionOut]


class AnswersIn(Schema):
    answers: dict[str, list[int]] = Field(
        ...,
        description='Chosen choice ids per question id, e.g. {"12": [40], "13": [44, 45]}. '
        "An unanswered question counts as wrong.",
    )


class CertificateOut(Schema):
    code: str
    course: str = Field(..., description="The course's slug.")
    course_title: str
    learner_name: str
    language: str
    issued_at: datetime
    verify_url: str
    pdf_url: str


class PartOut(Schema):
    code: str
    label: str
    weight: int
    measurable: bool
    done: bool
    fraction: float | None = Field(..., description="0..1; null when not yet measurable.")
    next_step: str


class ReadinessOut(Schema):
    org: str = Field(..., description="The organization's public id.")
    score: int = Field(..., description="0..100: share of the measurable weight earned.")
    parts: list[PartOut]
    next_step: str | None = Field(None, description="Code of the part to work on next.")
    next_step_text: str = ""


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _course_out(course, language: str) -> dict:
    texts = services.course_texts(course, language)
    return {
        "slug": course.slug,
        "title": texts.title,
        "language": texts.language,
        "summary": texts.body,
        "level": course.level,
        "estimated_minutes": course.estimated_minutes,
        "featured": course.featured,
        "languages": services.course_languages(course),
    }


def _progress_out(outline: services.CourseOutline) -> dict | None:
    enrolment = outline.enrolment
    if enrolment is None:
        return None
    certificate = services.certificate_of(enrolment)
    return {
        "course": outline.course.slug,
        "progress": enrolment.progress,
        "enrolled_at": enrolment.enrolled_at,
        "completed_at": enrolment.completed_at,
        "last_lesson_id": enrolment.last_lesson_id,
        "lessons_done": sorted(outline.lessons_done),
        "quizzes_passed": sorted(
            q.module_id for q in outline.quizzes if q.pk in outline.quizzes_passed
        ),
        "certificate": certificate.code if certificate else None,
    }


def _attempt_out(page: services.AttemptPage) -> dict:
    attempt = page.attempt
    return {
        "public_id": attempt.public_id,
        "course": page.course.slug,
        "module_id": page.module.pk,
        "number": attempt.number,
        "status": "open" if attempt.is_open else "submitted",
        "score": attempt.score,
        "passed": attempt.passed,
        "pass_mark": attempt.quiz.pass_mark,
        "attempts_left": page.attempts_left,
        "started_at": attempt.started_at,
        "submitted_at": attempt.submitted_at,
        "questions": [
            {
                "id": q.id,
                "number": q.number,
                "kind": q.kind,
                "prompt": q.prompt,
                "choices": [c.__dict__ for c in q.choices],
                "explanation": q.explanation,
                "is_correct": q.is_correct,
            }
            for q in page.questions
        ],
    }


def _certificate_out(request: HttpRequest, certificate: Certificate) -> dict:
    from django.urls import reverse

    return {
        "code": certificate.code,
        "course": certificate.enrolment.course.slug,
        "course_title": certificate.course_title,
        "learner_name": certificate.learner_name,
        "language": certificate.language,
        "issued_at": certificate.issued_at,
        "verify_url": request.build_absolute_uri(
            reverse("academy:verify", args=[certificate.code])
        ),
        "pdf_url": request.build_absolute_uri(
            reverse("academy:certificate_pdf", args=[certificate.code])
        ),
    }


def _slug(slug: str) -> str:
    # Path parameters arrive as any string; a slug that cannot exist is simply not found.
    if not services.SLUG_RE.match(slug or "") or len(slug) > 80:
        raise NotFound(_("Course not found."))
    return slug


# ---------------------------------------------------------------------------------------------
# Courses and progress
# ---------------------------------------------------------------------------------------------


@router.get("/courses", response=list[CourseOut], summary="Published courses")
@paginate(Page)
def list_courses(request: HttpRequest, level: str = ""):
    language = services.current_language()
    return [_course_out(c, language) for c in services.catalogue(level)]


@router.get("/courses/{slug}", response=CourseDetailOut, summary="A course with its contents")
def get_course(request: HttpRequest, slug: str):
    outline = services.course_outline(ctx_of(request), _slug(slug))
    language = services.current_language()
    out = _course_out(outline.course, language)
    out["modules"] = [
        {
            "id": m.pk,
            "title": m.title_in(language),
            "lessons": [
                {"id": lesson.pk, "title": services.lesson_texts(lesson, language).title}
                for lesson in m.lessons.all()
            ],
            "quiz": (
                {"module_id": m.pk, "pass_mark": q.pass_mark, "max_attempts": q.max_attempts}
                if (q := services.quiz_of(m)) is not None
                else None
            ),
        }
        for m in outline.modules
    ]
    out["enrolment"] = _progress_out(outline)
    return out


@router.post(
    "/courses/{slug}/enrolment",
    response={200: ProgressOut, 201: ProgressOut},
    summary="Enrol in a course (idempotent)",
)
def enrol(request: HttpRequest, slug: str):
    ctx = ctx_of(request)
    slug = _slug(slug)
    existed = Enrolment.objects.filter(user=ctx.user, course__slug=slug).exists()
    services.enrol(ctx, slug)
    progress = _progress_out(services.course_outline(ctx, slug))
    return Status(200 if existed else 201, progress)


@router.get("/courses/{slug}/progress", response=ProgressOut, summary="Your progress")
def progress(request: HttpRequest, slug: str):
    outline = services.course_outline(ctx_of(request), _slug(slug))
    out = _progress_out(outline)
    if out is None:
        raise NotFound(_("You are not enrolled in this course."))
    return out


@router.post(
    "/courses/{slug}/lessons/{lesson_id}/complete",
    response=ProgressOut,
    summary="Mark a lesson read",
)
def complete_lesson(request: HttpRequest, slug: str, lesson_id: int):
    ctx = ctx_of(request)
    services.complete_lesson(ctx, _slug(slug), lesson_id)
    return _progress_out(services.course_outline(ctx, slug))


@router.get("/enrolments", response=list[ProgressOut], summary="Your enrolments")
@paginate(Page)
def list_enrolments(request: HttpRequest):
    return [_progress_out(outline) for outline in services.my_progress(ctx_of(request))]


# ---------------------------------------------------------------------------------------------
# Attempts
# ---------------------------------------------------------------------------------------------


@router.post(
    "/courses/{slug}/modules/{module_id}/attempts",
    response={201: AttemptOut},
    summary="Start an attempt at a module's quiz (or get the open one)",
)
def start_attempt(request: HttpRequest, slug: str, module_id: int):
    ctx = ctx_of(request)
    attempt = services.start_attempt(ctx, _slug(slug), module_id)
    return Status(201, _attempt_out(services.attempt_page(ctx, attempt.public_id)))


@router.get("/attempts/{public_id}", response=AttemptOut, summary="One of your attempts")
def get_attempt(request: HttpRequest, public_id: str):
    return _attempt_out(services.attempt_page(ctx_of(request), public_id))


@router.post(
    "/attempts/{public_id}/submit",
    response=AttemptOut,
    summary="Submit answers; returns the score, right answers and explanations",
)
def submit_attempt(request: HttpRequest, public_id: str, payload: AnswersIn):
    ctx = ctx_of(request)
    services.submit_attempt(ctx, public_id, payload.answers)
    return _attempt_out(services.attempt_page(ctx, public_id))


# ---------------------------------------------------------------------------------------------
# Certificates and readiness
# ---------------------------------------------------------------------------------------------


@router.get("/certificates", response=list[CertificateOut], summary="Your certificates")
@paginate(Page)
def list_certificates(request: HttpRequest):
    return [_certificate_out(request, c) for c in services.my_certificates(ctx_of(request))]


@router.get("/certificates/{code}", response=CertificateOut, summary="One of your certificates")
def get_certificate(request: HttpRequest, code: str):
    return _certificate_out(request, services.own_certificate(ctx_of(request), code))


@router.get("/readiness", response=ReadinessOut, summary="Your organization's export readiness")
def get_readiness(request: HttpRequest):
    org, result = services.readiness_for(ctx_of(request))
    return _readiness_out(org, result)


def _readiness_out(org, result: domain.Readiness) -> dict:
    return {
        "org": org.public_id,
        "score": result.score,
        "parts": [
            {
                "code": p.code,
                "label": p.label,
                "weight": p.weight,
                "measurable": p.measurable,
                "done": p.done,
                "fraction": p.fraction,
                "next_step": p.next_step,
            }
            for p in result.parts
        ],
        "next_step": result.next_step.code if result.next_step else None,
        "next_step_text": result.next_step.next_step if result.next_step else "",
    }


# ---------------------------------------------------------------------------------------------
# Studio: images for lessons (the course's trainer only; anyone else's course is 404)
# ---------------------------------------------------------------------------------------------


class CourseImageOut(Schema):
    id: int
    url: str = Field(..., description="Where the image is served, e.g. /media/academy/….")
    markdown: str = Field(..., description="Paste into a lesson's text to show the image.")
    alt_text: str
    width: int
    height: int
    created_at: datetime


_IMAGE_PARTS = {"image": "file.image", "alt_text": "form.alt_text"}


def _course_image_out(row: CourseImage) -> dict:
    return {
        "id": row.pk,
        "url": row.image.url,
        "markdown": row.markdown,
        "alt_text": row.alt_text,
        "width": row.width,
        "height": row.height,
        "created_at": row.created_at,
    }


@router.get(
    "/studio/courses/{slug}/images",
    response=list[CourseImageOut],
    summary="Images of a course you teach, newest first",
)
@paginate(Page)
def list_course_images(request: HttpRequest, slug: str):
    course = services.editable_course(ctx_of(request), _slug(slug))
    return [_course_image_out(row) for row in services.course_images(course)]


@router.post(
    "/studio/courses/{slug}/images",
    response={201: CourseImageOut},
    summary="Upload an image for a course's lessons",
    description="Multipart form: `image` (JPEG, PNG, WebP or GIF, at most 2 MB; SVG is refused) "
    "and optional `alt_text`. A course has at most 50 images. The answer's `markdown` shows "
    "the image in a lesson.",
)
def add_course_image(
    request: HttpRequest,
    slug: str,
    image: File[UploadedFile],
    alt_text: Form[str] = "",
):
    ctx = ctx_of(request)
    content = read_upload(image, services.MAX_COURSE_IMAGE_BYTES)
    try:
        row = services.add_course_image(ctx, _slug(slug), content, image.name or "", alt_text)
    except ValidationFailed as exc:
        # Name the multipart parts as django-ninja names them in its own checks.
        raise ValidationFailed(
            [FieldError(_IMAGE_PARTS.get(e.field, e.field), e.message, e.code) for e in exc.errors],
            exc.message,
        ) from None
    return Status(201, _course_image_out(row))


@router.delete(
    "/studio/courses/{slug}/images/{image_id}",
    response={204: None},
    summary="Delete an image of a course you teach",
)
def remove_course_image(request: HttpRequest, slug: str, image_id: int):
    services.remove_course_image(ctx_of(request), _slug(slug), image_id)
    return Status(204, None)
