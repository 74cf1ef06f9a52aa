"""Writes for locations (the stock services live in inventory.services).

Turning a location's `sells` flag or `is_active` changes what every SKU held there may sell,
so those edits mark the SKUs stock-dirty in the same transaction, like any stock change."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from inventory.models import Location, StockLevel
from inventory.services import InventoryError, mark_stock_dirty
from oms.models import User
from oms.services import audit_record, field_changes

LOCATION_FIELDS = ("code", "name", "kind", "sells", "priority", "is_active")
_DIRTY_BATCH = 1000


def _mark_skus_held_at(location: Location) -> None:
    """Mark every SKU with free stock at `location` stock-dirty, in batches."""
    sku_ids = (
        StockLevel.objects.filter(location=location)
        .exclude(on_hand=F("reserved"))
        .order_by("sku_id")
        .values_list("sku_id", flat=True)
        .iterator(chunk_size=_DIRTY_BATCH)
    )
    while batch := list(islice(sku_ids, _DIRTY_BATCH)):
        mark_stock_dirty(batch)


def _refuse_closing_while_holding(location: Location) -> None:
    held = StockLevel.objects.filter(location=location).aggregate(on_hand=Sum("on_hand"))["on_hand"] or 0
    if held > 0:
        raise InventoryError(
            _(
                "%(location)s still holds %(units)d units. Move or count them out before closing it, "
                "or untick 'counts toward sellable stock' to keep it open without selling from it."
            )
            % {"location": location.name, "units": held}
        )


@transaction.atomic
def location_create(*, values: Mapping[str, Any], actor: User | None) -> Location:
    location = Location(**{name: values[name] for name in LOCATION_FIELDS if name in values})
    location.full_clean()
    location.save(force_insert=True)
    audit_record(
        actor=actor,
        action="location.create",
        obj=location,
        changes={name: getattr(location, name) for name in LOCATION_FIELDS},
    )
    return location


@transaction.atomic
def location_update(*, location: Location, values: Mapping[str, Any], actor: User | None) -> Location:
    """Edit a location. Closing one (is_active off) is refused while it holds stock."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    changes = field_changes(location, {name: values[name] for name in LOCATION_FIELDS if name in values})
    if not changes:
        return location
    if "is_active" in changes and not values["is_active"]:
        _refuse_closing_while_holding(location)
    for name, (_old, new) in changes.items():
        setattr(location, name, new)
    location.full_clean()
    location.save(update_fields=list(changes))
    if "sells" in changes or "is_active" in changes:
        _mark_skus_held_at(location)
    audit_record(actor=actor, action="location.update", obj=location, changes=changes)
    return location
