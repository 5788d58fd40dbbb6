"""Academy portal (/academy/) and the public certificate verification page."""

from django.urls import path

from . import views

app_name = "academy"

urlpatterns = [
    path("", views.home, name="home"),
    path("courses/<slug:slug>/", views.course, name="course"),
    path("courses/<slug:slug>/enrol/", views.enrol, name="enrol"),
    path("courses/<slug:slug>/continue/", views.resume, name="resume"),
    path("courses/<slug:slug>/feature/", views.feature, name="feature"),
    path("courses/<slug:slug>/lessons/<int:lesson_id>/", views.lesson, name="lesson"),
    path("courses/<slug:slug>/modules/<int:module_id>/quiz/", views.quiz, name="quiz"),
    path("attempts/<str:public_id>/", views.attempt, name="attempt"),
    path("my/", views.my_learning, name="my_learning"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<str:code>.pdf", views.certificate_pdf, name="certificate_pdf"),
    path("verify/", views.verify, name="verify_form"),
    path("verify/<str:code>/", views.verify, name="verify"),
    path("studio/", views.studio, name="studio"),
    path("studio/new/", views.studio_course, name="studio_new"),
    path("studio/<slug:slug>/", views.studio_course, name="studio_course"),
    path("studio/<slug:slug>/publish/", views.studio_publish, name="studio_publish"),
    path("studio/<slug:slug>/modules/new/", views.studio_module, name="studio_module_new"),
    path("studio/<slug:slug>/modules/<int:module_id>/", views.studio_module, name="studio_module"),
    path("studio/<slug:slug>/lessons/new/", views.studio_lesson, name="studio_lesson_new"),
    path("studio/<slug:slug>/lessons/<int:lesson_id>/", views.studio_lesson, name="studio_lesson"),
    path("studio/<slug:slug>/images/", views.studio_image_add, name="studio_image_add"),
    path(
        "studio/<slug:slug>/images/<int:image_id>/delete/",
        views.studio_image_delete,
        name="studio_image_delete",
    ),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/<int:cohort_id>/", views.cohort, name="cohort"),
    path(
        "cohorts/<int:cohort_id>/members/<int:user_id>/quizzes/<int:quiz_id>/grant/",
        views.cohort_grant_attempt,
        name="cohort_grant_attempt",
    ),
    path(
        "cohorts/<int:cohort_id>/members/<int:user_id>/remove/",
        views.cohort_member_remove,
        name="cohort_member_remove",
    ),
    path("readiness/", views.readiness, name="readiness"),
]
