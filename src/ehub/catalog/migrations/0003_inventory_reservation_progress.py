"""Reservations count what was given back and what shipped, so partial releases are exact."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_search")]

    operations = [
        migrations.AddField(
            model_name="reservation",
            name="consumed_qty",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="reservation",
            name="released_qty",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="reservation",
            constraint=models.CheckConstraint(
                condition=models.Q(released_qty__lte=models.F("qty") - models.F("consumed_qty")),
                name="reservation_closed_within_qty",
            ),
        ),
    ]
