"""Public tracking by waybill number at /track/ (namespace ``tracking``), and carriers' webhooks."""

from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("", views.track_form, name="form"),
    path("webhooks/<str:carrier_code>/", views.carrier_webhook, name="webhook"),
    path("<str:waybill>/", views.track, name="detail"),
]
