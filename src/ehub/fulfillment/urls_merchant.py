"""Merchant inbound (ASN) pages."""

from django.urls import path  # noqa: F401

app_name = "inbound"

urlpatterns: list = []
