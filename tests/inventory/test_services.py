from __future__ import annotations

import pytest
from django.db.models import Sum

from catalog.models import Sku
from inventory.models import Location, Reservation, StockDirty, StockLevel, StockMovement
from inventory.selectors import available_map
from inventory.services import (
    InsufficientStock,
    InventoryError,
    ReserveRequest,
    stock_adjust,
    stock_consume,
    stock_count,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
    stock_transfer,
)
from tests.catalog.factories import SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


def level(sku: Sku, location: Location) -> StockLevel:
    return StockLevel.objects.get(sku=sku, location=location)


def assert_ledger_balances() -> None:
    for lv in StockLevel.objects.all():
        sums = StockMovement.objects.filter(sku_id=lv.sku_id, location_id=lv.location_id).aggregate(
            q=Sum("quantity"), r=Sum("reserved_delta")
        )
        assert (sums["q"] or 0) == lv.on_hand, lv
        assert (sums["r"] or 0) == lv.reserved, lv
        held = Reservation.objects.filter(sku_id=lv.sku_id, location_id=lv.location_id).aggregate(
            h=Sum("quantity")
        )
        assert (held["h"] or 0) == lv.reserved, lv


def test_the_sweater_example_five_in_stock_seven_orders_five_reserved_two_short() -> None:
    # given "울 라운드 니트 블랙 S" with 5 in stock
    warehouse = LocationFactory.create()
    sweater = SkuFactory.create(code="KNIT-BK-S")
    stock_receive(sku=sweater, location=warehouse, quantity=5, reason="입고")
    # when 7 channels each take one order
    results = stock_reserve_many(
        requests=[ReserveRequest(f"orderline:{i}", [(sweater.pk, 1)]) for i in range(7)]
    )
    # then exactly 5 are reserved and 2 are short by 1 each
    assert [r.ok for r in results] == [True] * 5 + [False] * 2
    assert results[5].shortages[0].short == 1
    assert level(sweater, warehouse).reserved == 5
    assert available_map([sweater.pk]) == {sweater.pk: 0}
    # and cancelling one frees one unit for the next order
    stock_release(reference="orderline:0")
    stock_reserve(reference="orderline:5", lines=[(sweater.pk, 1)])
    assert level(sweater, warehouse).reserved == 5
    assert_ledger_balances()


def test_a_request_that_cannot_be_met_in_full_reserves_nothing() -> None:
    warehouse = LocationFactory.create()
    a, b = SkuFactory.create(), SkuFactory.create()
    stock_receive(sku=a, location=warehouse, quantity=10)
    stock_receive(sku=b, location=warehouse, quantity=1)
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(reference="orderline:1", lines=[(a.pk, 2), (b.pk, 1), (b.pk, 1)])
    assert caught.value.shortages[0].sku_code == b.code
    assert caught.value.shortages[0].wanted == 2
    assert "부족" in str(caught.value) or "short" in str(caught.value)
    assert level(a, warehouse).reserved == 0
    assert not Reservation.objects.exists()


def test_bundles_reserve_their_components_and_derive_their_availability() -> None:
    warehouse = LocationFactory.create()
    cup, saucer = SkuFactory.create(code="CUP"), SkuFactory.create(code="SAUCER")
    stock_receive(sku=cup, location=warehouse, quantity=7)
    stock_receive(sku=saucer, location=warehouse, quantity=4)
    set_of_two = make_bundle([(cup, 2), (saucer, 1)], code="SET-CUP2")
    assert available_map([set_of_two.pk]) == {set_of_two.pk: 3}
    stock_reserve(reference="orderline:9", lines=[(set_of_two.pk, 2), (cup.pk, 1)])
    assert level(cup, warehouse).reserved == 5
    assert level(saucer, warehouse).reserved == 2
    assert available_map([set_of_two.pk, cup.pk, saucer.pk]) == {set_of_two.pk: 1, cup.pk: 2, saucer.pk: 2}
    with pytest.raises(InventoryError):
        stock_receive(sku=set_of_two, location=warehouse, quantity=1)


def test_reservation_spreads_over_selling_locations_by_priority_and_skips_non_selling() -> None:
    main = LocationFactory.create(priority=1)
    store = LocationFactory.create(priority=2)
    defects = LocationFactory.create(priority=0, sells=False)
    sku = SkuFactory.create()
    for loc, q in ((main, 2), (store, 3), (defects, 10)):
        stock_receive(sku=sku, location=loc, quantity=q)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 4)])
    assert (level(sku, main).reserved, level(sku, store).reserved, level(sku, defects).reserved) == (2, 2, 0)
    with pytest.raises(InsufficientStock):
        stock_reserve(reference="orderline:2", lines=[(sku.pk, 2)])


def test_reserving_the_same_reference_twice_reserves_once() -> None:
    warehouse = LocationFactory.create()
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=warehouse, quantity=3)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 2)])
    (again,) = stock_reserve_many(requests=[ReserveRequest("orderline:1", [(sku.pk, 2)])])
    assert again.already_reserved
    assert level(sku, warehouse).reserved == 2


def test_consume_ships_once_even_when_repeated_and_partial_consume_keeps_the_rest() -> None:
    warehouse = LocationFactory.create()
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=warehouse, quantity=5)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 3)])
    stock_consume(reference="orderline:1", quantities={sku.pk: 1})
    assert (level(sku, warehouse).on_hand, level(sku, warehouse).reserved) == (4, 2)
    stock_consume(reference="orderline:1")
    stock_consume(reference="orderline:1")
    assert (level(sku, warehouse).on_hand, level(sku, warehouse).reserved) == (2, 0)
    assert StockMovement.objects.filter(type="ship").aggregate(s=Sum("quantity"))["s"] == -3
    assert stock_release(reference="orderline:1") == []
    assert_ledger_balances()


def test_adjust_needs_a_reason_and_never_goes_below_reserved() -> None:
    warehouse = LocationFactory.create()
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=warehouse, quantity=5)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 3)])
    with pytest.raises(InventoryError):
        stock_adjust(sku=sku, location=warehouse, delta=-1, reason=" ")
    with pytest.raises(InventoryError):
        stock_adjust(sku=sku, location=warehouse, delta=-3, reason="파손")
    stock_adjust(sku=sku, location=warehouse, delta=-2, reason="파손")
    assert level(sku, warehouse).on_hand == 3
    assert_ledger_balances()


def test_count_sets_the_number_and_records_the_difference() -> None:
    warehouse = LocationFactory.create()
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=warehouse, quantity=10)
    movement = stock_count(sku=sku, location=warehouse, counted=7)
    assert movement is not None and movement.quantity == -3 and movement.on_hand_after == 7
    assert stock_count(sku=sku, location=warehouse, counted=7) is None
    assert_ledger_balances()


def test_transfer_moves_only_free_stock() -> None:
    a, b = LocationFactory.create(), LocationFactory.create()
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=a, quantity=5)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 4)])
    with pytest.raises(InsufficientStock):
        stock_transfer(sku=sku, from_location=a, to_location=b, quantity=2)
    stock_transfer(sku=sku, from_location=a, to_location=b, quantity=1)
    assert (level(sku, a).on_hand, level(sku, b).on_hand) == (4, 1)
    assert_ledger_balances()


def test_every_change_marks_the_sku_stock_dirty() -> None:
    warehouse = LocationFactory.create()
    sku, other = SkuFactory.create(), SkuFactory.create()
    stock_receive(sku=sku, location=warehouse, quantity=1)
    assert set(StockDirty.objects.values_list("sku_id", flat=True)) == {sku.pk}
    first = StockDirty.objects.get().marked_at
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 1)])
    assert StockDirty.objects.get().marked_at >= first
    assert not StockDirty.objects.filter(sku=other).exists()


def test_bad_quantities_are_refused_and_change_nothing() -> None:
    warehouse = LocationFactory.create()
    sku = SkuFactory.create()
    for bad in (0, -1, True):
        with pytest.raises(InventoryError):
            stock_receive(sku=sku, location=warehouse, quantity=bad)
    with pytest.raises(InventoryError):
        stock_reserve(reference="orderline:1", lines=[(sku.pk, 0)])
    assert not StockMovement.objects.exists()
