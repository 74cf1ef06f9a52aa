"""Re-create inventory_reserve_one with its "already holds stock" look-up spelt quantity <> 0,
so it uses the reference index alone (see inventory.services.HOLDING), and its statements
planned once per session (plan_cache_mode = force_generic_plan). Databases migrated with the
first version of 0002 get the new body; on new ones this repeats 0002's CREATE OR REPLACE."""

from importlib import import_module

from django.db import migrations

_0002 = import_module("inventory.migrations.0002_reserve_function")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_reserve_function")]

    operations = [migrations.RunPython(_0002.create, migrations.RunPython.noop)]
