"""URLs (namespace `campaigns`)."""

app_name = "campaigns"
urlpatterns: list = []
