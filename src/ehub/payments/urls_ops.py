"""Platform finance pages: payout batches, ledger health."""

from django.urls import path

from . import views_ops as views

app_name = "payments_ops"

urlpatterns = [
    path("", views.batches, name="batches"),
    path("run/", views.run_batch, name="run"),
    path("batches/<str:public_id>/", views.batch_detail, name="batch"),
    path("batches/<str:public_id>/payouts.csv", views.batch_csv, name="batch_csv"),
]
