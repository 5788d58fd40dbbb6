"""Filed documents are stored encrypted (``CustomsDocument.xml``): ciphertext does not compress,
yet PostgreSQL tries to compress every value above about 2 kB before moving it out of line.
Storage EXTERNAL moves it out of line without trying (a quarter of the cost of writing a
document row in the clearance batch). Nothing changes for readers; other databases have no
such setting."""

from django.db import migrations

TABLE = "customs_customsdocument"


def _storage(mode: str):
    def apply(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        qn = connection.ops.quote_name
        schema_editor.execute(
            f"ALTER TABLE {qn(TABLE)} ALTER COLUMN {qn('xml')} SET STORAGE {mode}"
        )

    return apply


class Migration(migrations.Migration):
    dependencies = [("customs", "0004_webhooks")]

    operations = [
        migrations.RunPython(_storage("EXTERNAL"), _storage("EXTENDED"), elidable=False),
    ]
