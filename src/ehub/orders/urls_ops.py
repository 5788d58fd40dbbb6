"""Platform staff order pages."""

from django.urls import path

from . import views

app_name = "orders_ops"

urlpatterns = [
    path("", views.ops_list, name="list"),
    path("<str:public_id>/", views.ops_detail, name="detail"),
]
