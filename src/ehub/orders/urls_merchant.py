"""Merchant order pages."""

from django.urls import path  # noqa: F401

app_name = "orders_merchant"

urlpatterns: list = []
