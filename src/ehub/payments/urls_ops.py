"""Platform finance pages: payout batches, ledger health."""

from django.urls import path  # noqa: F401

app_name = "payments_ops"

urlpatterns: list = []
