"""URLs (namespace `campaigns_ops`)."""

app_name = "campaigns_ops"
urlpatterns: list = []
