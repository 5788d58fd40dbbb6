"""Payment provider webhooks and the buyer's return page."""

from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("webhooks/<slug:provider>/", views.webhook, name="webhook"),
    path("return/<str:public_id>/", views.returned, name="returned"),
]
