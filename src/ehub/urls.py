"""URL map: the storefront at /, one prefix per portal, the REST API at /api/v1/, admin."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from ehub.api import api
from ehub.web import health

admin.site.site_header = "eHub"
admin.site.site_title = "eHub admin"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("accounts/", include("ehub.accounts.urls")),
    path("merchant/products/", include("ehub.catalog.urls")),
    path("merchant/stock/", include("ehub.catalog.urls_inventory")),
    path("merchant/campaigns/", include("ehub.campaigns.urls_merchant")),
    path("ops/campaigns/", include("ehub.campaigns.urls_ops")),
    path("campaigns/", include("ehub.campaigns.urls_public")),
    path("customs/declarations/", include("ehub.customs.urls")),
    path("pay/", include("ehub.payments.urls_provider")),  # sandbox wallet's hosted page
    path("payments/", include("ehub.payments.urls")),  # provider webhooks, return pages
    path("merchant/finance/", include("ehub.payments.urls_merchant")),
    path("ops/finance/", include("ehub.payments.urls_ops")),
    path("cart/", include("ehub.orders.urls_cart")),  # cart and checkout
    path("orders/", include("ehub.orders.urls")),  # buyer's orders
    path("merchant/orders/", include("ehub.orders.urls_merchant")),
    path("ops/orders/", include("ehub.orders.urls_ops")),
    path("hub/", include("ehub.fulfillment.urls")),  # hub portal (dashboard at /hub/)
    path("merchant/inbound/", include("ehub.fulfillment.urls_merchant")),
    path("track/", include("ehub.fulfillment.urls_public")),
    path("academy/", include("ehub.academy.urls")),  # academy portal and /academy/verify/<code>
    path("", include("ehub.web.urls")),
]

# Uploaded product images. In production put MEDIA_ROOT behind the web server or object storage;
# `static()` serves them only when EHUB_DEBUG is on (the demo).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
