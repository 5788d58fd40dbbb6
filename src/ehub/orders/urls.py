"""Buyer's order pages."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("placed/<str:checkout_id>/", views.placed, name="placed"),
    path("<str:public_id>/", views.order_detail, name="detail"),
    path("<str:public_id>/confirm/", views.order_confirm, name="confirm"),
    path("<str:public_id>/refund/", views.order_refund, name="refund"),
    path("<str:public_id>/cancel/", views.order_cancel, name="cancel"),
]
