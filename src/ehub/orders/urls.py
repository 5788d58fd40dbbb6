"""Buyer's order pages."""

from django.urls import path  # noqa: F401

app_name = "orders"

urlpatterns: list = []
