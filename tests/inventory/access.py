"""Permission-matrix rules for the stock pages (inventory/urls_stock.py): everyone with a role
reads stock and locations; only managers and administrators change stock or locations."""

from __future__ import annotations

from typing import Any

from oms.models import User
from tests.access import ALL, MANAGER_UP, READ_ONLY, Rule
from tests.catalog.factories import SkuFactory
from tests.inventory.factories import LocationFactory


def _sku(user: User, other: User) -> list[Any]:
    return [SkuFactory.create().pk]


def _location(user: User, other: User) -> list[Any]:
    return [LocationFactory.create().pk]


RULES = {
    "inventory:stock_list": Rule(get=ALL, post=READ_ONLY),
    "inventory:low_stock": Rule(get=ALL, post=READ_ONLY),
    "inventory:sku_stock": Rule(get=ALL, post=READ_ONLY, args=_sku),
    "inventory:stock_receive": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_sku),
    "inventory:stock_adjust": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_sku),
    "inventory:stock_transfer": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_sku),
    "inventory:stock_count": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_sku),
    "inventory:location_list": Rule(get=ALL, post=READ_ONLY),
    "inventory:location_create": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "inventory:location_edit": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_location),
}
