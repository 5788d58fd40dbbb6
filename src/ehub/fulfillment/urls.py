"""Hub portal pages at /hub/."""

from django.urls import path  # noqa: F401

app_name = "hub"

urlpatterns: list = []
