"""Re-create inventory_reserve_one so it finds out whether each requested SKU is a bundle with
a primary-key look-up per line, instead of a join that the function's generic plan (planned for
"about ten lines") turned into a sequential scan of catalog_sku on every reservation whenever
the catalogue was small enough to look cheap (2,000 SKUs: 80 of its 190 microseconds). Bundle
components are read the same way, only for lines that are bundles. The rest of the body is
0004's; an unknown SKU id still stays in the needs as itself and comes back short."""

from importlib import import_module

from django.db import migrations

_0004 = import_module("inventory.migrations.0004_reserve_function_dirty_mark")

_JOIN = """        FROM unnest(p_sku_ids, p_quantities) AS l(sku, qty)
        LEFT JOIN catalog_sku s ON s.id = l.sku AND s.kind = 'bundle'
        LEFT JOIN catalog_bundleitem b ON b.bundle_id = s.id
        GROUP BY 1"""
_BY_KEY = """        FROM (
            SELECT u.sku, u.qty, (SELECT s.kind = 'bundle' FROM catalog_sku s WHERE s.id = u.sku) AS bundle
            FROM unnest(p_sku_ids, p_quantities) AS u(sku, qty)
        ) l
        LEFT JOIN LATERAL (
            -- OFFSET 0 keeps this a per-line look-up (the planner would flatten it into a join)
            SELECT bi.id, bi.component_id, bi.quantity FROM catalog_bundleitem bi
            WHERE l.bundle AND bi.bundle_id = l.sku OFFSET 0
        ) b ON true
        GROUP BY 1"""
_EMPTY = "bool_or(s.id IS NOT NULL AND b.id IS NULL) AS empty"
_EMPTY_BY_KEY = "bool_or(l.bundle AND b.id IS NULL) AS empty"
assert _0004.CREATE.count(_JOIN) == 1 and _0004.CREATE.count(_EMPTY) == 1
CREATE = _0004.CREATE.replace(_JOIN, _BY_KEY).replace(_EMPTY, _EMPTY_BY_KEY)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_reserve_function_dirty_mark")]

    operations = [migrations.RunPython(create, _0004.create)]
