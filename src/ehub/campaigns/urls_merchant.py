"""Merchants' campaign pages (mounted at /merchant/campaigns/, namespace ``campaigns_merchant``)."""

from django.urls import path

from . import views

app_name = "campaigns_merchant"
urlpatterns = [
    path("", views.merchant_index, name="index"),
    path("<str:public_id>/apply/", views.merchant_apply, name="apply"),
    path("offers/<str:public_id>/withdraw/", views.merchant_withdraw, name="withdraw"),
]
