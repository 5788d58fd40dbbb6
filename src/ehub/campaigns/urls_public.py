"""Buyers' campaign pages (mounted at /campaigns/, namespace ``campaigns``)."""

from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("timezone/", views.set_timezone, name="set_timezone"),
    path("<slug:slug>/", views.campaign_detail, name="detail"),
    path("<slug:slug>/live/", views.campaign_live, name="live"),
]
