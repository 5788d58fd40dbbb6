"""Academy pages under /academy/: catalogue, course, lesson reader, quizzes, my learning,
certificates, the public verification page, the trainer studio, cohorts and readiness.

Views stay thin: the rules are in ``academy.services``. The catalogue and course pages are
public; studying needs a signed-in user (any user: learners may be individuals without an
organization); the readiness page is the merchant portal's.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehub.accounts.access import context_of, portal_required
from ehub.accounts.domain import Portal
from ehub.accounts.services import is_platform_staff
from ehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ehub.core.forms import add_service_errors
from ehub.core.images import read_upload

from . import services
from .forms import (
    CohortForm,
    CourseForm,
    CourseImageForm,
    LessonForm,
    MemberForm,
    ModuleForm,
    QuestionForm,
    QuizForm,
)

PORTAL = {"portal": Portal.ACADEMY}


def _page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"academy/{template}", {**PORTAL, **context}, status=status)


# ---------------------------------------------------------------------------------------------
# Catalogue and course pages (public)
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.ACADEMY)
def home(request):
    level = request.GET.get("level", "")
    courses = services.catalogue(level)
    language = services.current_language()
    cards = [(c, services.course_texts(c, language)) for c in courses]
    ctx = context_of(request)
    enrolments = services.my_enrolments(ctx) if ctx.is_authenticated else []
    return _page(
        request,
        "home.html",
        {
            "cards": cards,
            "level": level,
            "enrolments": enrolments[:3],
            "is_trainer": ctx.is_authenticated and services.is_trainer(ctx.user),
        },
    )


@require_GET
@portal_required(Portal.ACADEMY)
def course(request, slug: str):
    ctx = context_of(request)
    outline = services.course_outline(ctx, slug)
    return _page(
        request,
        "course.html",
        {
            "outline": outline,
            "course": outline.course,
            "may_feature": is_platform_staff(ctx),
        },
    )


@require_POST
@login_required
def enrol(request, slug: str):
    services.enrol(context_of(request), slug)
    messages.success(request, _("You are enrolled. Enjoy the course!"))
    return redirect("academy:resume", slug=slug)


@require_GET
@login_required
def resume(request, slug: str):
    lesson_id = services.resume_lesson_id(context_of(request), slug)
    if lesson_id is None:
        return redirect("academy:course", slug=slug)
    return redirect("academy:lesson", slug=slug, lesson_id=lesson_id)


@require_http_methods(["GET", "POST"])
@login_required
def lesson(request, slug: str, lesson_id: int):
    ctx = context_of(request)
    if request.method == "POST":
        services.complete_lesson(ctx, slug, lesson_id)
        page = services.open_lesson(ctx, slug, lesson_id)
        if page.quiz_due:
            return redirect("academy:quiz", slug=slug, module_id=page.module.pk)
        if page.next_id is not None:
            return redirect("academy:lesson", slug=slug, lesson_id=page.next_id)
        return redirect("academy:course", slug=slug)
    try:
        page = services.open_lesson(ctx, slug, lesson_id)
    except PermissionDenied as exc:
        if exc.code != "not_enrolled":
            raise
        messages.info(request, _("Enrol in the course to read its lessons."))
        return redirect("academy:course", slug=slug)
    return _page(request, "lesson.html", {"page": page, "course": page.outline.course})


# ---------------------------------------------------------------------------------------------
# Quizzes
# ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def quiz(request, slug: str, module_id: int):
    ctx = context_of(request)
    try:
        if request.method == "POST":
            attempt = services.start_attempt(ctx, slug, module_id)
            return redirect("academy:attempt", public_id=attempt.public_id)
        page = services.quiz_page(ctx, slug, module_id)
    except PermissionDenied as exc:
        if exc.code != "not_enrolled":
            raise
        messages.info(request, _("Enrol in the course to take its quizzes."))
        return redirect("academy:course", slug=slug)
    except Conflict as exc:
        messages.error(request, exc.detail)
        page = services.quiz_page(ctx, slug, module_id)
        return _page(request, "quiz.html", {"page": page}, status=409)
    return _page(request, "quiz.html", {"page": page})


@require_http_methods(["GET", "POST"])
@login_required
def attempt(request, public_id: str):
    ctx = context_of(request)
    if request.method == "POST":
        question_ids = services.attempt_question_ids(ctx, public_id)
        answers = {str(q): request.POST.getlist(f"q{q}") for q in question_ids}
        try:
            done = services.submit_attempt(ctx, public_id, answers)
        except ValidationFailed as exc:
            messages.error(request, "; ".join(str(e.message) for e in exc.errors) or exc.detail)
            page = services.attempt_page(ctx, public_id)
            return _page(request, "attempt.html", {"page": page}, status=422)
        except Conflict as exc:
            messages.error(request, exc.detail)
            return redirect("academy:attempt", public_id=public_id)
        if done.passed:
            messages.success(request, _("Passed with %(score)d %%.") % {"score": done.score})
        else:
            messages.warning(
                request,
                _("%(score)d %% — not passed this time. Read the explanations and try again.")
                % {"score": done.score},
            )
        return redirect("academy:attempt", public_id=public_id)
    page = services.attempt_page(ctx, public_id)
    certificate = None if page.attempt.is_open else services.certificate_of(page.attempt.enrolment)
    return _page(request, "attempt.html", {"page": page, "certificate": certificate})


# ---------------------------------------------------------------------------------------------
# My learning and certificates
# ---------------------------------------------------------------------------------------------


@require_GET
@login_required
def my_learning(request):
    ctx = context_of(request)
    language = services.current_language()
    rows = [(e, services.course_texts(e.course, language)) for e in services.my_enrolments(ctx)]
    cohorts = [(c, services.course_texts(c.course, language)) for c in services.my_cohorts(ctx)]
    return _page(request, "my_learning.html", {"rows": rows, "cohorts": cohorts})


@require_GET
@login_required
def certificates(request):
    return _page(
        request,
        "certificates.html",
        {"certificates": services.my_certificates(context_of(request))},
    )


@require_GET
@login_required
def certificate_pdf(request, code: str):
    from .certificates import render_certificate

    certificate = services.own_certificate(context_of(request), code)
    pdf = render_certificate(certificate, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate.code}.pdf"'
    return response


@require_GET
def verify(request, code: str = ""):
    code = code or request.GET.get("code", "")
    if not code:
        return _page(request, "verify.html", {"certificate": None, "code": ""})
    try:
        certificate = services.verify_certificate(code)
    except NotFound:
        return _page(request, "verify.html", {"certificate": None, "code": code}, status=404)
    return _page(request, "verify.html", {"certificate": certificate, "code": certificate.code})


# ---------------------------------------------------------------------------------------------
# Platform staff: feature a course
# ---------------------------------------------------------------------------------------------


@require_POST
@login_required
def feature(request, slug: str):
    featured = request.POST.get("featured") == "1"
    services.feature_course(context_of(request), slug, featured)
    messages.success(
        request, _("Course featured.") if featured else _("Course no longer featured.")
    )
    return redirect("academy:course", slug=slug)


# ---------------------------------------------------------------------------------------------
# Trainer studio
# ---------------------------------------------------------------------------------------------


@require_GET
@login_required
def studio(request):
    ctx = context_of(request)
    language = services.current_language()
    courses = [(c, services.course_texts(c, language)) for c in services.studio_courses(ctx)]
    return _page(request, "studio.html", {"courses": courses})


def _course_initial(course) -> dict:
    initial = {
        "slug": course.slug,
        "level": course.level,
        "estimated_minutes": course.estimated_minutes,
        "required_for_readiness": course.required_for_readiness,
    }
    for t in course.translations.all():
        suffix = t.language.replace("-", "_")
        initial[f"title_{suffix}"] = t.title
        initial[f"summary_{suffix}"] = t.summary
    return initial


@require_http_methods(["GET", "POST"])
@login_required
def studio_course(request, slug: str | None = None):
    ctx = context_of(request)
    course = services.editable_course(ctx, slug) if slug else None
    if course is None:
        services.require_trainer(ctx)
    if request.method == "POST":
        form = CourseForm(request.POST)
        if form.is_valid():
            try:
                if course is None:
                    saved = services.create_course(ctx, form.input_data())
                else:
                    saved = services.update_course(ctx, course.slug, form.input_data())
            except ValidationFailed as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Course saved."))
                return redirect("academy:studio_course", slug=saved.slug)
    else:
        form = CourseForm(initial=_course_initial(course) if course else {"estimated_minutes": 30})
    return _course_editor(request, course, form, status=422 if request.method == "POST" else 200)


def _course_editor(
    request, course, form: CourseForm, *, image_form: CourseImageForm | None = None, status=200
) -> HttpResponse:
    """The studio's course page: the course form, its contents, what stops publishing, and
    (for a saved course) its images."""
    return _page(
        request,
        "studio_course.html",
        {
            "form": form,
            "course": course,
            "outline": services.contents_outline(course) if course else None,
            "problems": services.publish_problems(course) if course else [],
            "image_form": image_form or _image_form(request),
        },
        status=status,
    )


@require_POST
@login_required
def studio_publish(request, slug: str):
    ctx = context_of(request)
    action = request.POST.get("action", "publish")
    try:
        if action == "unpublish":
            services.unpublish_course(ctx, slug)
            messages.success(request, _("Course moved back to draft."))
        else:
            services.publish_course(ctx, slug)
            messages.success(request, _("Course published."))
    except ValidationFailed as exc:
        for error in exc.errors:
            messages.error(request, error.message)
    return redirect("academy:studio_course", slug=slug)


@require_http_methods(["GET", "POST"])
@login_required
def studio_module(request, slug: str, module_id: int | None = None):
    ctx = context_of(request)
    course = services.editable_course(ctx, slug)
    module = services.editable_module(ctx, slug, module_id) if module_id else None
    quiz = services.quiz_of(module) if module else None
    form = ModuleForm(
        initial={
            "position": module.position,
            **{f"title_{k.replace('-', '_')}": v for k, v in module.titles.items()},
        }
        if module
        else {"position": len(course.modules.all()) + 1}
    )
    quiz_form = QuizForm(
        initial={"pass_mark": quiz.pass_mark, "max_attempts": quiz.max_attempts} if quiz else None
    )
    editing = None
    if quiz and request.GET.get("question", "").isdigit():
        editing = services.editable_question(ctx, slug, int(request.GET["question"]))
        question_form = QuestionForm(initial=QuestionForm.initial_of(editing))
    else:
        question_form = QuestionForm(initial={"position": 1})
    status = 200
    if request.method == "POST":
        which = request.POST.get("form", "module")
        try:
            if which == "module":
                form = ModuleForm(request.POST)
                if form.is_valid():
                    saved = services.save_module(
                        ctx,
                        slug,
                        titles=form.titles(),
                        position=form.cleaned_data["position"],
                        module_id=module.pk if module else None,
                    )
                    messages.success(request, _("Module saved."))
                    return redirect("academy:studio_module", slug=slug, module_id=saved.pk)
            elif which == "quiz" and module:
                quiz_form = QuizForm(request.POST)
                if quiz_form.is_valid():
                    services.save_quiz(ctx, slug, module.pk, **quiz_form.cleaned_data)
                    messages.success(request, _("Quiz saved."))
                    return redirect("academy:studio_module", slug=slug, module_id=module.pk)
            elif which == "question" and module:
                question_form = QuestionForm(request.POST)
                if question_form.is_valid():
                    services.add_question(ctx, slug, module.pk, question_form.input_data())
                    messages.success(request, _("Question added."))
                    return redirect("academy:studio_module", slug=slug, module_id=module.pk)
            elif which == "edit_question" and module and editing is not None:
                question_form = QuestionForm(request.POST)
                if question_form.is_valid():
                    services.update_question(ctx, slug, editing.pk, question_form.input_data())
                    messages.success(request, _("Question saved."))
                    return redirect("academy:studio_module", slug=slug, module_id=module.pk)
            elif which == "delete_question" and module:
                services.delete_question(ctx, slug, int(request.POST.get("question", "0") or 0))
                messages.success(request, _("Question deleted."))
                return redirect("academy:studio_module", slug=slug, module_id=module.pk)
        except ValidationFailed as exc:
            target = {
                "module": form,
                "quiz": quiz_form,
                "question": question_form,
                "edit_question": question_form,
            }.get(which)
            if target is not None:
                add_service_errors(target, exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
        except ValueError:
            raise Http404 from None
        status = 422
    questions = services.quiz_questions(quiz) if quiz else []
    return _page(
        request,
        "studio_module.html",
        {
            "course": course,
            "module": module,
            "quiz": quiz,
            "form": form,
            "quiz_form": quiz_form,
            "question_form": question_form,
            "questions": questions,
            "editing": editing,
        },
        status=status,
    )


def _lesson_editor(
    request,
    course,
    lesson,
    *,
    form: LessonForm | None = None,
    image_form: CourseImageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The studio's lesson page: the lesson form (bound after a failed save), a preview of the
    saved text, and the course's images with their Markdown."""
    modules = list(course.modules.all())
    preview = preview_language = ""
    if form is None:
        initial = {"module": modules[-1].pk, "position": 1, "minutes": 5}
        if lesson:
            initial = {"module": lesson.module_id, "position": lesson.position}
            initial["minutes"] = lesson.minutes
            for t in lesson.translations.all():
                suffix = t.language.replace("-", "_")
                initial[f"title_{suffix}"] = t.title
                initial[f"body_{suffix}"] = t.body
        form = LessonForm(initial=initial, modules=modules)
        if lesson:
            from .rendering import render_markdown

            # In the page's language (or its fallback), as a learner reading it would see it.
            texts = services.lesson_texts(lesson, services.current_language())
            preview = render_markdown(texts.body)
            preview_language = texts.language
    return _page(
        request,
        "studio_lesson.html",
        {
            "course": course,
            "lesson": lesson,
            "form": form,
            "preview": preview,
            "preview_language": preview_language,
            "images": services.course_images(course),
            "image_form": image_form or _image_form(request),
            "max_images": services.MAX_COURSE_IMAGES,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def studio_lesson(request, slug: str, lesson_id: int | None = None):
    ctx = context_of(request)
    course = services.editable_course(ctx, slug)
    if not course.modules.all():
        messages.info(request, _("Add a module first: lessons belong to modules."))
        return redirect("academy:studio_module_new", slug=slug)
    lesson = services.editable_lesson(ctx, slug, lesson_id) if lesson_id else None
    if request.method != "POST":
        return _lesson_editor(request, course, lesson)
    form = LessonForm(request.POST, modules=list(course.modules.all()))
    if form.is_valid():
        try:
            saved = services.save_lesson(
                ctx,
                slug,
                module_id=form.cleaned_data["module"],
                texts=form.texts(),
                position=form.cleaned_data["position"],
                minutes=form.cleaned_data["minutes"],
                lesson_id=lesson.pk if lesson else None,
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Lesson saved."))
            return redirect("academy:studio_lesson", slug=slug, lesson_id=saved.pk)
    return _lesson_editor(request, course, lesson, form=form, status=422)


# ---------------------------------------------------------------------------------------------
# Studio: images for lessons
# ---------------------------------------------------------------------------------------------


def _image_form(request) -> CourseImageForm:
    """An empty upload form that returns to the page showing it."""
    return CourseImageForm(initial={"next": request.get_full_path()})


def _studio_return(request, slug: str) -> str:
    """Where an image form sends the trainer back: the page named by ``next`` when it is on
    this site, else the course's studio page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("academy:studio_course", args=[slug])


def _to_images(url: str) -> str:
    return url if "#" in url else f"{url}#course-images"


def _image_upload_failed(request, ctx, slug: str, image_form: CourseImageForm) -> HttpResponse:
    """Show the refused upload's errors on the page it came from (a lesson or the course)."""
    course = services.editable_course(ctx, slug)
    back = _studio_return(request, slug)
    try:
        match = resolve(urlsplit(back).path)
    except Resolver404:
        match = None
    if (
        match is not None
        and match.namespace == "academy"
        and match.url_name in ("studio_lesson", "studio_lesson_new")
        and match.kwargs.get("slug") == course.slug
        and course.modules.all()
    ):
        lesson_id = match.kwargs.get("lesson_id")
        lesson = services.editable_lesson(ctx, slug, lesson_id) if lesson_id else None
        return _lesson_editor(request, course, lesson, image_form=image_form, status=422)
    return _course_editor(
        request,
        course,
        CourseForm(initial=_course_initial(course)),
        image_form=image_form,
        status=422,
    )


@require_POST
@login_required
def studio_image_add(request, slug: str):
    ctx = context_of(request)
    form = CourseImageForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["image"]
        content = read_upload(upload, services.MAX_COURSE_IMAGE_BYTES)
        try:
            services.add_course_image(
                ctx, slug, content, upload.name, form.cleaned_data["alt_text"]
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Image uploaded: paste its Markdown into a lesson."))
            return redirect(_to_images(_studio_return(request, slug)))
    return _image_upload_failed(request, ctx, slug, form)


@require_POST
@login_required
def studio_image_delete(request, slug: str, image_id: int):
    services.remove_course_image(context_of(request), slug, image_id)
    messages.success(request, _("Image deleted."))
    return redirect(_to_images(_studio_return(request, slug)))


# ---------------------------------------------------------------------------------------------
# Cohorts (trainers)
# ---------------------------------------------------------------------------------------------


def _course_choices(ctx) -> list[tuple[str, str]]:
    language = services.current_language()
    return [
        (c.slug, services.course_texts(c, language).title or c.slug)
        for c in services.cohort_courses(ctx)
    ]


@require_http_methods(["GET", "POST"])
@login_required
def cohorts(request):
    ctx = context_of(request)
    rows = services.trainer_cohorts(ctx)
    language = services.current_language()
    form = CohortForm(request.POST or None, courses=_course_choices(ctx))
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.create_cohort(
                ctx,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["course"],
                starts_on=form.cleaned_data["starts_on"],
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Cohort created."))
            return redirect("academy:cohort", cohort_id=cohort.pk)
    return _page(
        request,
        "cohorts.html",
        {
            "cohorts": [(c, services.course_texts(c.course, language).title) for c in rows],
            "form": form,
        },
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def cohort(request, cohort_id: int):
    ctx = context_of(request)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_cohort_member(ctx, cohort_id, form.cleaned_data["email"])
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Learner added."))
            return redirect("academy:cohort", cohort_id=cohort_id)
    report = services.cohort_report(ctx, cohort_id, page=request.GET.get("page"))
    language = services.current_language()
    rows = [
        (
            row,
            [
                (q.pk, row.quiz_results.get(q.pk), q.pk in row.locked_quizzes)
                for q in report.quizzes
            ],
        )
        for row in report.rows
    ]
    return _page(
        request,
        "cohort.html",
        {
            "report": report,
            "rows": rows,
            "course_title": services.course_texts(report.cohort.course, language).title,
            "quiz_titles": [q.module.title_in(language) for q in report.quizzes],
            "quiz_titles_passes": [
                (q.module.title_in(language), report.summary.passed_by_quiz.get(q.pk, 0))
                for q in report.quizzes
            ],
            "page_obj": report.page,
            "form": form,
        },
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def cohort_grant_attempt(request, cohort_id: int, user_id: int, quiz_id: int):
    try:
        services.grant_attempt(context_of(request), cohort_id, user_id, quiz_id)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("The learner may try the quiz once more."))
    return _back_to_cohort(request, cohort_id)


@require_POST
@login_required
def cohort_member_remove(request, cohort_id: int, user_id: int):
    services.remove_cohort_member(context_of(request), cohort_id, user_id)
    messages.success(request, _("Learner removed from the cohort."))
    return _back_to_cohort(request, cohort_id)


def _back_to_cohort(request, cohort_id: int) -> HttpResponse:
    """To the cohort's page the trainer acted on (its page of members, when it had one)."""
    url = reverse("academy:cohort", args=[cohort_id])
    page = request.POST.get("page", "")
    return redirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)


# ---------------------------------------------------------------------------------------------
# Export readiness (merchants)
# ---------------------------------------------------------------------------------------------


@require_GET
@portal_required(Portal.MERCHANT)
def readiness(request):
    org, result = services.readiness_for(context_of(request))
    return _page(
        request,
        "readiness.html",
        {"org": org, "readiness": result, "back": reverse("web:merchant")},
    )
