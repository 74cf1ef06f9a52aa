"""stock_reserve outside a transaction on Postgres: one statement (inventory_reserve_one).

These tests run without the test's wrapping transaction (transaction=True), so stock_reserve
takes the one-statement path, and check it keeps every rule of stock_reserve_many: all or
nothing with the shortage per SKU, bundles resolved, locations by priority, a reference served
once, a released reference reserving again, the ledger and the stock-dirty marks.
"""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import Reservation, StockDirty, StockLevel, StockMovement
from inventory.services import InsufficientStock, InventoryError, stock_receive, stock_release, stock_reserve
from tests.catalog.factories import SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory
from tests.inventory.test_services import assert_ledger_balances

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _outside_a_transaction() -> None:
    assert connection.vendor == "postgresql" and not connection.in_atomic_block


def test_a_short_request_reserves_nothing_and_names_each_short_sku() -> None:
    warehouse = LocationFactory.create()
    knit = SkuFactory.create(code="KNIT-BK-S")
    cup = SkuFactory.create(code="CUP")
    stock_receive(sku=knit, location=warehouse, quantity=5)
    stock_receive(sku=cup, location=warehouse, quantity=1)
    before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(reference="orderline:1", lines=[(knit.pk, 2), (cup.pk, 3)])

    assert [(s.sku_code, s.wanted, s.available, s.short) for s in refused.value.shortages] == [
        ("CUP", 3, 1, 2)
    ]
    assert "CUP" in str(refused.value)
    assert StockMovement.objects.count() == before
    assert not Reservation.objects.exists()
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0


def test_bundles_resolve_to_components_served_by_location_priority() -> None:
    near, far = LocationFactory.create(priority=1), LocationFactory.create(priority=5)
    cup = SkuFactory.create(code="CUP")
    knit = SkuFactory.create(code="KNIT")
    stock_receive(sku=cup, location=near, quantity=3)
    stock_receive(sku=cup, location=far, quantity=10)
    stock_receive(sku=knit, location=far, quantity=2)
    gift = make_bundle([(cup, 2), (knit, 1)], code="SET")
    StockDirty.objects.all().delete()

    # two sets and one more cup on the same order line: 5 cups, 2 knits
    held = stock_reserve(reference="orderline:9", lines=[(gift.pk, 2), (cup.pk, 1)])

    assert sorted((r.sku_id, r.location_id, r.quantity) for r in held) == sorted(
        [(cup.pk, near.pk, 3), (cup.pk, far.pk, 2), (knit.pk, far.pk, 2)]
    )
    assert set(StockDirty.objects.values_list("sku_id", flat=True)) == {cup.pk, knit.pk}
    moves = StockMovement.objects.filter(type=StockMovement.Type.RESERVE, reference="orderline:9")
    assert sorted(moves.values_list("sku_id", "location_id", "reserved_delta", "reserved_after")) == sorted(
        [(cup.pk, near.pk, 3, 3), (cup.pk, far.pk, 2, 2), (knit.pk, far.pk, 2, 2)]
    )
    assert_ledger_balances()


def test_a_reference_is_served_once_and_reserves_again_after_release() -> None:
    warehouse = LocationFactory.create()
    knit = SkuFactory.create()
    stock_receive(sku=knit, location=warehouse, quantity=5)

    first = stock_reserve(reference="orderline:3", lines=[(knit.pk, 2)])
    again = stock_reserve(reference="orderline:3", lines=[(knit.pk, 2)])
    assert [r.pk for r in again] == [r.pk for r in first]
    assert StockLevel.objects.get().reserved == 2

    stock_release(reference="orderline:3")
    reopened = stock_reserve(reference="orderline:3", lines=[(knit.pk, 1)])
    row = Reservation.objects.get()
    assert [r.pk for r in reopened] == [row.pk]
    assert (row.quantity, row.original_quantity, row.released) == (1, 3, 2)
    assert StockLevel.objects.get().reserved == 1
    assert_ledger_balances()


def test_a_bundle_without_components_is_refused() -> None:
    empty = make_bundle([], code="SET-EMPTY")
    with pytest.raises(InventoryError):
        stock_reserve(reference="orderline:4", lines=[(empty.pk, 1)])
    assert not Reservation.objects.exists()


def test_two_bundles_sharing_a_component_and_an_unknown_sku() -> None:
    """Each line's SKU is looked up by key (migration 0005): two bundles sharing the cup add up,
    and an id that is no SKU at all comes back short instead of being dropped."""
    warehouse = LocationFactory.create()
    cup, knit = SkuFactory.create(code="CUP"), SkuFactory.create(code="KNIT")
    stock_receive(sku=cup, location=warehouse, quantity=3)
    stock_receive(sku=knit, location=warehouse, quantity=1)
    pair = make_bundle([(cup, 2)], code="CUP-PAIR")
    gift = make_bundle([(cup, 1), (knit, 1)], code="GIFT")

    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(reference="orderline:5", lines=[(pair.pk, 1), (gift.pk, 2)])
    assert [(s.sku_code, s.wanted, s.available) for s in refused.value.shortages] == [
        ("CUP", 4, 3),
        ("KNIT", 2, 1),
    ]

    held = stock_reserve(reference="orderline:6", lines=[(pair.pk, 1), (gift.pk, 1)])
    assert sorted((r.sku_id, r.quantity) for r in held) == sorted([(cup.pk, 3), (knit.pk, 1)])

    missing = knit.pk + 1000
    with pytest.raises(InsufficientStock) as unknown:
        stock_reserve(reference="orderline:7", lines=[(missing, 1)])
    assert [(s.sku_id, s.wanted, s.available) for s in unknown.value.shortages] == [(missing, 1, 0)]
    assert_ledger_balances()
