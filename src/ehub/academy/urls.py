"""Academy portal and the public certificate verification page."""

from django.urls import path  # noqa: F401

app_name = "academy"

urlpatterns: list = []
