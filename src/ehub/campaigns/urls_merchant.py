"""URLs (namespace `campaigns_merchant`)."""

app_name = "campaigns_merchant"
urlpatterns: list = []
