"""Sandbox wallet provider's hosted payment page (stands in for the real provider's site)."""

from django.urls import path

from . import views_provider as views

app_name = "payments_provider"

urlpatterns = [
    path("<str:public_id>/", views.hosted_page, name="page"),
    path("<str:public_id>/pay/", views.pay, name="pay"),
    path("<str:public_id>/cancel/", views.cancel, name="cancel"),
    path("<str:public_id>/done/", views.done, name="done"),
]
