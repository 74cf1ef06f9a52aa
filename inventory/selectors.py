"""Reads for stock: available-to-sell per DESIGN.md, with bundles resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, Sum

from catalog.models import BundleItem, Sku
from inventory.models import StockLevel


def free_map(sku_ids: Iterable[int]) -> dict[int, int]:
    """{single sku_id: sum of (on_hand - reserved) over selling, active locations}."""
    ids = set(sku_ids)
    out = dict.fromkeys(ids, 0)
    rows = (
        StockLevel.objects.filter(sku_id__in=ids, location__sells=True, location__is_active=True)
        .values("sku_id")
        .annotate(free_total=Sum(F("on_hand") - F("reserved")))
    )
    for row in rows:
        out[row["sku_id"]] = row["free_total"] or 0
    return out


def available_map(sku_ids: Iterable[int]) -> dict[int, int]:
    """{sku_id: available-to-sell} for single and bundle SKUs.

    single: sum over selling locations of (on_hand - reserved) - safety stock, never below 0.
    bundle: min over components of (component available // quantity), minus the bundle's own
    safety stock, never below 0. Derived every time, never stored."""
    ids = set(sku_ids)
    skus = {s["pk"]: s for s in Sku.objects.filter(pk__in=ids).values("pk", "kind", "safety_stock")}
    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bundle_ids = [pk for pk, s in skus.items() if s["kind"] == Sku.Kind.BUNDLE]
    for bundle_id, component_id, quantity in BundleItem.objects.filter(bundle_id__in=bundle_ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        components[bundle_id].append((component_id, quantity))
    component_ids = {c for items in components.values() for c, _q in items}
    singles = {pk for pk, s in skus.items() if s["kind"] == Sku.Kind.SINGLE} | component_ids
    safety = dict(Sku.objects.filter(pk__in=singles).values_list("pk", "safety_stock"))
    free = free_map(singles)
    single_available = {pk: max(0, free.get(pk, 0) - safety.get(pk, 0)) for pk in singles}
    out: dict[int, int] = {}
    for pk, sku in skus.items():
        if sku["kind"] == Sku.Kind.BUNDLE:
            items = components.get(pk)
            value = min((single_available[c] // q for c, q in items), default=0) if items else 0
            out[pk] = max(0, value - sku["safety_stock"])
        else:
            out[pk] = single_available[pk]
    return out
