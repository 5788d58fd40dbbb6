"""Merchant inbound (ASN) pages at /merchant/inbound/ (namespace ``inbound``)."""

from django.urls import path

from . import views

app_name = "inbound"

urlpatterns = [
    path("", views.merchant_asns, name="list"),
    path("<str:public_id>/", views.merchant_asn, name="detail"),
    path("<str:public_id>/cartons.pdf", views.merchant_cartons, name="cartons"),
]
