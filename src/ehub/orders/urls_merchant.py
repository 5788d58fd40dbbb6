"""Merchant order pages."""

from django.urls import path

from . import views

app_name = "orders_merchant"

urlpatterns = [
    path("", views.merchant_list, name="list"),
    path("<str:public_id>/", views.merchant_detail, name="detail"),
    path("<str:public_id>/accept-return/", views.merchant_accept_return, name="accept_return"),
]
