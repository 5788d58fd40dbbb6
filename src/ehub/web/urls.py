"""Portal URLs: the storefront at / (with /c/, /m/, /p/, /search/), one prefix per portal."""

from django.urls import path

from . import storefront, views

app_name = "web"

urlpatterns = [
    path("", storefront.home, name="home"),
    path("c/<slug:category>/", storefront.category, name="category"),
    path("m/<str:public_id>/", storefront.merchant, name="merchant_store"),
    path("p/<str:public_id>/", storefront.product, name="product"),
    path("search/", storefront.search, name="search"),
    path("currency/", storefront.set_currency, name="set_currency"),
    path("merchant/", views.merchant, name="merchant"),
    path("merchant/settings/", views.merchant_settings, name="merchant_settings"),
    path(
        "merchant/settings/tokens/<int:token_id>/revoke/",
        views.token_revoke,
        name="token_revoke",
    ),
    path("hub/", views.hub, name="hub"),
    path("customs/", views.customs, name="customs"),
    path("academy/", views.academy, name="academy"),
    path("ops/", views.ops, name="ops"),
    path("ops/merchants/", views.ops_merchants, name="ops_merchants"),
    path("ops/merchants/<int:org_id>/approve/", views.ops_approve, name="ops_approve"),
    path("ops/trainers/", views.ops_trainers, name="ops_trainers"),
    path(
        "ops/trainers/<int:membership_id>/dismiss/",
        views.ops_trainer_dismiss,
        name="ops_trainer_dismiss",
    ),
]
