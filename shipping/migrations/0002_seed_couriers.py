"""Seed the couriers of channel-specs.md (the list lives in shipping/courier_seed.py)."""

from django.db import migrations

from shipping.courier_seed import seed_couriers


def seed(apps, schema_editor):
    seed_couriers(apps.get_model("shipping", "Courier"))


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
