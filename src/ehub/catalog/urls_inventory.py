"""URLs (namespace `inventory`)."""

app_name = "inventory"
urlpatterns: list = []
