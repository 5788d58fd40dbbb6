"""Merchant finance pages: balance, pending, history, statements, payouts."""

from django.urls import path  # noqa: F401

app_name = "payments_merchant"

urlpatterns: list = []
