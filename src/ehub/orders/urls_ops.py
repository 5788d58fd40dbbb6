"""Platform staff order pages."""

from django.urls import path  # noqa: F401

app_name = "orders_ops"

urlpatterns: list = []
