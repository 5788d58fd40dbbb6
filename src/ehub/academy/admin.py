"""Django admin for the academy: courses with translations, enrolments and certificates."""

from django.contrib import admin

from .models import (
    Attempt,
    AttemptGrant,
    Certificate,
    Cohort,
    Course,
    CourseImage,
    CourseTranslation,
    Enrolment,
)


class CourseTranslationInline(admin.TabularInline):
    model = CourseTranslation
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "level", "status", "featured", "required_for_readiness", "trainer")
    list_filter = ("status", "featured", "level")
    inlines = [CourseTranslationInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("user", "course", "progress", "completed_at")
    raw_id_fields = ("user", "last_lesson")


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("public_id", "enrolment", "quiz", "number", "score", "passed")
    readonly_fields = ("public_id", "seed", "question_order", "choice_order", "answers")


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ("code", "learner_name", "course_title", "language", "issued_at")
    search_fields = ("code", "learner_name")


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "course", "trainer", "starts_on")
    filter_horizontal = ("members",)


@admin.register(CourseImage)
class CourseImageAdmin(admin.ModelAdmin):
    list_display = ("image", "course", "alt_text", "width", "height", "created_at")
    list_filter = ("course",)
    raw_id_fields = ("uploaded_by",)


@admin.register(AttemptGrant)
class AttemptGrantAdmin(admin.ModelAdmin):
    list_display = ("enrolment", "quiz", "extra", "granted_by", "updated_at")
    raw_id_fields = ("enrolment", "granted_by")
