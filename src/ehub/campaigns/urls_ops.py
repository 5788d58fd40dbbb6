"""Platform staff's campaign pages (mounted at /ops/campaigns/, namespace ``campaigns_ops``)."""

from django.urls import path

from . import views

app_name = "campaigns_ops"
urlpatterns = [
    path("", views.ops_index, name="index"),
    path("new/", views.ops_create, name="create"),
    path("offers/<str:public_id>/approve/", views.ops_approve, name="approve"),
    path("offers/<str:public_id>/reject/", views.ops_reject, name="reject"),
    path("offers/<str:public_id>/end/", views.ops_end, name="end"),
    path("<str:public_id>/", views.ops_detail, name="detail"),
    path("<str:public_id>/edit/", views.ops_edit, name="edit"),
]
