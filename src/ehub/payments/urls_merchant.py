"""Merchant finance pages: balance, pending, history, statements, payouts."""

from django.urls import path

from . import views_merchant as views

app_name = "payments_merchant"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("statements/<str:month>.pdf", views.statement, name="statement"),
    path("bank-account/", views.bank_account, name="bank_account"),
]
