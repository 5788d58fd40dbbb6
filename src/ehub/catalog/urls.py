"""URLs of the merchant catalog (namespace ``catalog``, mounted at /merchant/products/)."""

from django.urls import path

from .views import products as views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="list"),
    path("new/", views.product_create, name="create"),
    path("hs/", views.hs_finder, name="hs_finder"),
    path("hs/suggest/", views.hs_suggest, name="hs_suggest"),
    path("import/", views.import_page, name="import"),
    path("export.csv", views.export_csv, name="export"),
    path("<str:public_id>/", views.product_edit, name="edit"),
    path("<str:public_id>/status/<str:action>/", views.product_status, name="status"),
    path("<str:public_id>/skus/", views.sku_add, name="sku_add"),
    path("<str:public_id>/skus/<str:code>/", views.sku_edit, name="sku_edit"),
    path("<str:public_id>/images/", views.image_add, name="image_add"),
    path(
        "<str:public_id>/images/<int:image_id>/remove/",
        views.image_remove,
        name="image_remove",
    ),
]
