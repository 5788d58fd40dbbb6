"""Officer console pages, mounted at /customs/declarations/ (namespace ``customs``)."""

from django.urls import path

from . import views

app_name = "customs"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<str:public_id>/", views.detail, name="detail"),
]
