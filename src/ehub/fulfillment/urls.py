"""Hub portal pages at /hub/ (namespace ``hub``); "" is the hub dashboard."""

from django.urls import path

from . import views

app_name = "hub"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("inbound/", views.inbound, name="inbound"),
    path("inbound/<str:public_id>/", views.receiving, name="receiving"),
    path("waves/<int:wave_id>/", views.wave, name="wave"),
    path("waves/<int:wave_id>/labels.pdf", views.wave_labels, name="wave_labels"),
    path("shipments/<str:waybill>/", views.shipment, name="shipment"),
    path("shipments/<str:waybill>/label.pdf", views.label, name="label"),
    path("shipments/<str:waybill>/invoice.pdf", views.invoice, name="invoice"),
    path("manifests/", views.manifests, name="manifests"),
    path("manifests/<str:public_id>/", views.manifest, name="manifest"),
    path("sla/", views.sla, name="sla"),
]
