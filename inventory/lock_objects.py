"""Row locks for inventory. Every lock on StockLevel goes through here, always in primary-key
order, so two transactions that need overlapping rows queue instead of deadlocking."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from inventory.models import StockLevel


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
