"""Writes for the catalog. Product and SKU edits that channels show (name, price, sale state)
mark the SKUs changed in the same transaction, for the channel product push to drain."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from catalog.models import SkuChange


def sku_mark_changed(sku_ids: Iterable[int]) -> None:
    """Durably note that these SKUs' name, price or sale state changed. Call it inside the
    transaction that made the change; upserts in SKU order (stable lock order)."""
    now = timezone.now()
    rows = [SkuChange(sku_id=sku_id, marked_at=now) for sku_id in sorted(set(sku_ids))]
    if rows:
        SkuChange.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["sku"], update_fields=["marked_at"]
        )
