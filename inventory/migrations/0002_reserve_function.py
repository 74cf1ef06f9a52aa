"""inventory_reserve_one(): one reservation request in one statement on PostgreSQL.

inventory.services.stock_reserve calls it when it is not inside a transaction, so a single
reservation is one round trip that holds the stock rows' locks only inside the server. It does
exactly what stock_reserve_many does for one request: bundles resolved to components, the
selling shelves locked in primary-key order, "this reference already holds stock" checked under
the lock, all or nothing, each SKU served from its shelves in location priority order, a
Reservation row (a closed one is reopened), a RESERVE ledger row per shelf and the stock-dirty
marks. Kept in step with inventory/services.py by the same tests (tests/inventory).
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION inventory_reserve_one(
    p_reference varchar, p_sku_ids bigint[], p_quantities integer[], p_user_id bigint, p_now timestamptz
) RETURNS TABLE (
    tag text, id bigint, sku_id bigint, location_id bigint, quantity integer,
    original_quantity integer, consumed integer, released integer, created_at timestamptz
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    need_skus bigint[];
    need_qty integer[];
    empty_bundle bigint;
    remaining integer;
    take integer;
    shelf record;
BEGIN
    -- What the lines need of each single SKU (bundles resolved to their components).
    SELECT array_agg(n.sku ORDER BY n.sku), array_agg(n.qty ORDER BY n.sku)
    INTO need_skus, need_qty
    FROM (
        SELECT COALESCE(b.component_id, l.sku) AS sku, sum(l.qty * COALESCE(b.quantity, 1))::integer AS qty
        FROM unnest(p_sku_ids, p_quantities) AS l(sku, qty)
        LEFT JOIN catalog_sku s ON s.id = l.sku AND s.kind = 'bundle'
        LEFT JOIN catalog_bundleitem b ON b.bundle_id = s.id
        GROUP BY 1
    ) n;
    -- A bundle left in the needs has no components.
    SELECT s.id INTO empty_bundle FROM catalog_sku s
    WHERE s.id = ANY(need_skus) AND s.kind = 'bundle' LIMIT 1;
    IF empty_bundle IS NOT NULL THEN
        RETURN QUERY SELECT 'empty_bundle'::text, NULL::bigint, empty_bundle, NULL::bigint, NULL::integer,
                            NULL::integer, NULL::integer, NULL::integer, NULL::timestamptz;
        RETURN;
    END IF;

    -- Lock the selling shelves in primary-key order (as every stock writer does).
    PERFORM 1 FROM inventory_stocklevel sl JOIN inventory_location loc ON loc.id = sl.location_id
    WHERE sl.sku_id = ANY(need_skus) AND loc.sells AND loc.is_active
    ORDER BY sl.id FOR UPDATE OF sl;

    -- Under the lock (a new snapshot per statement): does the reference hold stock already?
    RETURN QUERY
        SELECT 'held'::text, r.id, r.sku_id, r.location_id, r.quantity, r.original_quantity, r.consumed,
               r.released, r.created_at
        FROM inventory_reservation r WHERE r.reference = p_reference AND r.quantity > 0 ORDER BY r.id;
    IF FOUND THEN
        RETURN;
    END IF;

    -- All or nothing: every SKU short of what it needs is reported and nothing is written.
    RETURN QUERY
        SELECT 'short'::text, NULL::bigint, n.sku, NULL::bigint, n.qty, COALESCE(f.free, 0)::integer,
               NULL::integer, NULL::integer, NULL::timestamptz
        FROM unnest(need_skus, need_qty) AS n(sku, qty)
        LEFT JOIN (
            SELECT sl.sku_id AS sku, sum(sl.on_hand - sl.reserved) AS free
            FROM inventory_stocklevel sl JOIN inventory_location loc ON loc.id = sl.location_id
            WHERE sl.sku_id = ANY(need_skus) AND loc.sells AND loc.is_active
            GROUP BY sl.sku_id
        ) f ON f.sku = n.sku
        WHERE COALESCE(f.free, 0) < n.qty
        ORDER BY n.sku;
    IF FOUND THEN
        RETURN;
    END IF;

    FOR i IN 1 .. coalesce(array_length(need_skus, 1), 0) LOOP
        remaining := need_qty[i];
        FOR shelf IN
            SELECT sl.id AS shelf_id, sl.location_id AS loc_id, sl.on_hand AS on_hand, sl.reserved AS reserved
            FROM inventory_stocklevel sl JOIN inventory_location loc ON loc.id = sl.location_id
            WHERE sl.sku_id = need_skus[i] AND loc.sells AND loc.is_active AND sl.on_hand > sl.reserved
            ORDER BY loc.priority, sl.location_id
        LOOP
            take := least(remaining, shelf.on_hand - shelf.reserved);
            UPDATE inventory_stocklevel SET reserved = reserved + take, updated_at = p_now
            WHERE inventory_stocklevel.id = shelf.shelf_id;
            RETURN QUERY
                INSERT INTO inventory_reservation AS r
                    (sku_id, location_id, reference, quantity, original_quantity, consumed, released,
                     created_at, updated_at)
                VALUES (need_skus[i], shelf.loc_id, p_reference, take, take, 0, 0, p_now, p_now)
                ON CONFLICT (reference, sku_id, location_id) DO UPDATE
                SET quantity = r.quantity + EXCLUDED.quantity,
                    original_quantity = r.original_quantity + EXCLUDED.quantity,
                    updated_at = EXCLUDED.updated_at
                RETURNING 'reserved'::text, r.id, r.sku_id, r.location_id, r.quantity, r.original_quantity,
                          r.consumed, r.released, r.created_at;
            INSERT INTO inventory_stockmovement
                (sku_id, location_id, type, quantity, reserved_delta, on_hand_after, reserved_after, reason,
                 reference, user_id, created_at)
            VALUES (need_skus[i], shelf.loc_id, 'reserve', 0, take, shelf.on_hand, shelf.reserved + take, '',
                    p_reference, p_user_id, p_now);
            remaining := remaining - take;
            EXIT WHEN remaining = 0;
        END LOOP;
    END LOOP;

    INSERT INTO inventory_stockdirty (sku_id, marked_at)
    SELECT d.sku, p_now FROM unnest(need_skus) AS d(sku) ORDER BY d.sku
    ON CONFLICT (sku_id) DO UPDATE SET marked_at = EXCLUDED.marked_at;
END
$fn$;
"""

DROP = "DROP FUNCTION IF EXISTS inventory_reserve_one(varchar, bigint[], integer[], bigint, timestamptz);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial"), ("catalog", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
