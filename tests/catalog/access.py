"""Permission-matrix rules for the catalog screens (catalog/urls_products.py): every role reads
products; only managers and administrators create or change them."""

from __future__ import annotations

from typing import Any

from oms.models import User
from tests.access import ALL, MANAGER_UP, NO_METHOD, READ_ONLY, Rule
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle


def _product(user: User, other: User) -> list[Any]:
    return [ProductFactory.create().pk]


def _sku(user: User, other: User) -> list[Any]:
    return [SkuFactory.create().pk]


def _bundle(user: User, other: User) -> list[Any]:
    return [make_bundle([(SkuFactory.create(), 2)]).pk]


RULES = {
    "catalog:product_list": Rule(get=ALL, post=READ_ONLY),
    "catalog:product_bulk": Rule(get=NO_METHOD, post=MANAGER_UP),
    "catalog:product_create": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "catalog:product_detail": Rule(get=ALL, post=READ_ONLY, args=_product),
    "catalog:product_edit": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_product),
    "catalog:product_price": Rule(get=NO_METHOD, post=MANAGER_UP, args=_product),
    "catalog:product_status": Rule(get=NO_METHOD, post=MANAGER_UP, args=_product),
    "catalog:sku_add": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_product),
    "catalog:sku_update": Rule(get=NO_METHOD, post=MANAGER_UP, args=_sku),
    "catalog:sku_search": Rule(get=ALL, post=NO_METHOD),
    "catalog:bundle_create": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "catalog:bundle_edit": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_bundle),
    "catalog:bundle_component_row": Rule(get=ALL, post=NO_METHOD),
    "catalog:bundle_sellable": Rule(get=ALL, post=NO_METHOD),
}
