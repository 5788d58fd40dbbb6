"""Payment provider webhooks and the buyer's return page."""

from django.urls import path  # noqa: F401

app_name = "payments"

urlpatterns: list = []
