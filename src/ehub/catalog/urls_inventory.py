"""URLs of the merchant's stock pages, mounted at /merchant/stock/ (namespace ``inventory``)."""

from django.urls import path

from .views import inventory as views

app_name = "inventory"
urlpatterns = [
    path("", views.stock_list, name="list"),
    path("sku/<int:sku_id>/", views.sku_stock, name="sku"),
]
