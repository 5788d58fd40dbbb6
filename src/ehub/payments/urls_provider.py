"""Sandbox wallet provider's hosted payment page (stands in for the real provider's site)."""

from django.urls import path  # noqa: F401

app_name = "payments_provider"

urlpatterns: list = []
