"""Search index for products (reserved for the storefront search work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations: list = []
