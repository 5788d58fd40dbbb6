"""URLs (namespace `catalog`)."""

app_name = "catalog"
urlpatterns: list = []
