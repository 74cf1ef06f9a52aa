"""Row locks for inventory. Every lock on StockLevel goes through here, always in primary-key
order, so two transactions that need overlapping rows queue instead of deadlocking."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from catalog.models import BundleItem, Sku
from inventory.models import Location, StockLevel


def lock_stock_levels(
    *, sku_ids: Iterable[int], location_ids: Iterable[int] | None = None
) -> list[StockLevel]:
    """Lock and return the StockLevel rows of these SKUs (at these locations), in pk order.

    Must run inside a transaction. On SQLite, select_for_update is a no-op and the IMMEDIATE
    transaction mode serialises writers instead."""
    qs: QuerySet[StockLevel] = StockLevel.objects.filter(sku_id__in=set(sku_ids))
    if location_ids is not None:
        qs = qs.filter(location_id__in=set(location_ids))
    return list(qs.order_by("pk").select_for_update())


@dataclass
class Shelf:
    """A locked StockLevel row at a selling location, as a reservation sees it."""

    pk: int
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int
    priority: int

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class LockedForReserve:
    """What lock_for_reserve found: `parts` {requested sku_id: [(component_id, quantity)]} for
    bundles, None for a single SKU (a bundle without components maps to []), and the locked
    selling shelves of every single SKU involved, in pk order."""

    parts: dict[int, list[tuple[int, int]] | None]
    shelves: list[Shelf]


# One round trip on Postgres: resolve bundles and lock the selling shelves of every component.
# FOR UPDATE in an ORDER BY query locks the rows in that order (pk), like lock_stock_levels.
_LOCK_FOR_RESERVE_SQL = f"""
WITH line AS (
    SELECT s.id, s.kind = %(bundle)s AS is_bundle, b.component_id, b.quantity
    FROM {Sku._meta.db_table} s
    LEFT JOIN {BundleItem._meta.db_table} b ON b.bundle_id = s.id AND s.kind = %(bundle)s
    WHERE s.id = ANY(%(sku_ids)s::bigint[])
), shelf AS MATERIALIZED (
    SELECT sl.id, sl.sku_id, sl.location_id, sl.on_hand, sl.reserved, l.priority
    FROM {StockLevel._meta.db_table} sl
    JOIN {Location._meta.db_table} l ON l.id = sl.location_id
    WHERE l.sells AND l.is_active
      AND sl.sku_id IN (SELECT CASE WHEN is_bundle THEN component_id ELSE id END FROM line)
    ORDER BY sl.id
    FOR UPDATE OF sl
)
SELECT 'line', id, component_id, quantity, is_bundle::int, NULL, NULL FROM line
UNION ALL
SELECT 'shelf', id, sku_id, location_id, on_hand, reserved, priority FROM shelf
"""  # noqa: S608 (only table names from Meta are formatted in)


def lock_for_reserve(*, sku_ids: Iterable[int]) -> LockedForReserve:
    """Resolve these (single or bundle) SKUs to components and lock the StockLevel rows of
    every component at the selling, active locations, in pk order. Inside a transaction."""
    ids = sorted(set(sku_ids))
    parts: dict[int, list[tuple[int, int]] | None] = {}
    shelves: list[Shelf] = []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_FOR_RESERVE_SQL, {"sku_ids": ids, "bundle": Sku.Kind.BUNDLE.value})
            for tag, a, b, c, d, e, f in cursor.fetchall():
                if tag == "shelf":
                    shelves.append(Shelf(a, b, c, d, e, f))
                elif d:  # a bundle: one row per component (component NULL: it has none)
                    items = parts.setdefault(a, [])
                    assert items is not None
                    if b is not None:
                        items.append((b, c))
                else:
                    parts[a] = None
        shelves.sort(key=lambda s: s.pk)
        return LockedForReserve(parts, shelves)

    bundles = set(Sku.objects.filter(pk__in=ids, kind=Sku.Kind.BUNDLE).values_list("pk", flat=True))
    for sku_id in ids:
        parts[sku_id] = [] if sku_id in bundles else None
    for bundle_id, component_id, quantity in BundleItem.objects.filter(bundle_id__in=bundles).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        parts[bundle_id].append((component_id, quantity))  # type: ignore[union-attr]
    single_ids = {c for items in parts.values() for c, _q in (items or [])}
    single_ids |= {sku_id for sku_id, items in parts.items() if items is None}
    levels = (
        StockLevel.objects.filter(sku_id__in=single_ids, location__sells=True, location__is_active=True)
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", "sku_id", "location_id", "on_hand", "reserved", "location__priority")
    )
    shelves = [Shelf(*row) for row in levels]
    return LockedForReserve(parts, shelves)
