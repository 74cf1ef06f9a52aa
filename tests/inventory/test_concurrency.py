"""Never oversell, under real concurrency (Postgres only).

Every test starts its workers together on a threading.Barrier; each worker is a thread with
its own database connection (closed when it ends), so the reservations really collide on the
StockLevel rows. The assertions are about the outcome a seller would see: how many orders got
stock, what is reserved against what is on hand, and whether the ledger still adds up. They
fail when the row lock in inventory/lock_objects.py is removed (see bench/RESULTS.md).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from catalog.models import Sku
from inventory.models import Location, Reservation, StockLevel, StockMovement
from inventory.services import (
    InsufficientStock,
    ReserveRequest,
    stock_consume,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
)
from tests.catalog.factories import SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 50


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def run_together(jobs: Sequence[Callable[[], Any]]) -> list[Outcome]:
    """Run every job in its own thread and database connection, all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [Outcome() for _ in jobs]

    def work(index: int) -> None:
        try:
            connection.ensure_connection()  # connect before the start line, not after it
            barrier.wait(timeout=60)
            outcomes[index].value = jobs[index]()
        except BaseException as exc:
            outcomes[index].error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    return outcomes


def unexpected_errors(outcomes: Sequence[Outcome]) -> list[str]:
    """Every error except a clean 'not enough stock' refusal (a deadlock, a constraint
    violation or a unique-key clash is a bug, not an answer)."""
    return [
        repr(o.error) for o in outcomes if o.error is not None and not isinstance(o.error, InsufficientStock)
    ]


def receive(sku: Sku, location: Location, quantity: int) -> None:
    stock_receive(sku=sku, location=location, quantity=quantity, reason="입고")


def held_by_reference() -> dict[str, dict[int, int]]:
    """{reference: {sku_id: quantity held}} from the Reservation rows."""
    held: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for reference, sku_id, quantity in Reservation.objects.filter(quantity__gt=0).values_list(
        "reference", "sku_id", "quantity"
    ):
        held[reference][sku_id] += quantity
    return {ref: dict(by_sku) for ref, by_sku in held.items()}


def reserved_by_sku() -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for sku_id, reserved in StockLevel.objects.values_list("sku_id", "reserved"):
        out[sku_id] += reserved
    return dict(out)


def assert_books_balance() -> None:
    """Per (SKU, location): ledger sums equal on_hand and reserved, the open reservations
    add up to reserved, and 0 <= reserved <= on_hand."""
    ledger = {
        (row["sku_id"], row["location_id"]): (row["q"], row["r"])
        for row in StockMovement.objects.values("sku_id", "location_id").annotate(
            q=Sum("quantity"), r=Sum("reserved_delta")
        )
    }
    held = {
        (row["sku_id"], row["location_id"]): row["h"]
        for row in Reservation.objects.values("sku_id", "location_id").annotate(h=Sum("quantity"))
    }
    for lv in StockLevel.objects.all():
        key = (lv.sku_id, lv.location_id)
        assert 0 <= lv.reserved <= lv.on_hand, f"oversold: {lv}"
        assert ledger.get(key, (0, 0)) == (lv.on_hand, lv.reserved), f"ledger {ledger.get(key)} != {lv}"
        assert held.get(key, 0) == lv.reserved, f"reservations hold {held.get(key, 0)} but {lv}"


def test_fifty_orders_for_twenty_units_of_one_hot_sku_reserve_exactly_twenty() -> None:
    # given one sweater with 20 sellable units over two warehouses, and plenty in a
    # location that does not sell (its stock must never be promised)
    main = LocationFactory.create(priority=1)
    store = LocationFactory.create(priority=2)
    defects = LocationFactory.create(priority=0, sells=False)
    sweater = SkuFactory.create(code="KNIT-BK-S")
    receive(sweater, main, 12)
    receive(sweater, store, 8)
    receive(sweater, defects, 100)

    # when 50 channels each take one order at the same moment
    def order(i: int) -> Callable[[], Any]:
        return lambda: stock_reserve(reference=f"orderline:{i}", lines=[(sweater.pk, 1)])

    outcomes = run_together([order(i) for i in range(WORKERS)])

    # then exactly 20 orders got a unit and the other 30 were told it is gone
    assert unexpected_errors(outcomes) == []
    reserved_ok = [i for i, o in enumerate(outcomes) if o.error is None]
    refused = [o.error for o in outcomes if isinstance(o.error, InsufficientStock)]
    assert len(reserved_ok) == 20, f"{len(reserved_ok)} orders reserved 20 units"
    assert len(refused) == WORKERS - 20
    assert all(e.shortages[0].wanted == 1 and e.shortages[0].available == 0 for e in refused)
    assert held_by_reference() == {f"orderline:{i}": {sweater.pk: 1} for i in reserved_ok}
    levels = {lv.location_id: lv for lv in StockLevel.objects.filter(sku=sweater)}
    assert (levels[main.pk].reserved, levels[store.pk].reserved) == (12, 8)
    assert levels[defects.pk].reserved == 0
    assert StockMovement.objects.filter(type=StockMovement.Type.RESERVE).count() == 20
    assert_books_balance()


def test_a_mix_of_skus_and_overlapping_bundles_reserves_exactly_what_the_stock_allows() -> None:
    # given cups, saucers, spoons and a knit over two selling warehouses, and two bundles
    # that share the cup: A = cup x2 + saucer, B = cup + spoon
    main = LocationFactory.create(priority=1)
    store = LocationFactory.create(priority=2)
    cup, saucer, spoon, knit = (SkuFactory.create(code=c) for c in ("CUP", "SAUCER", "SPOON", "KNIT"))
    stock = {cup: (9, 4), saucer: (3, 2), spoon: (4, 2), knit: (2, 1)}
    for sku, (at_main, at_store) in stock.items():
        receive(sku, main, at_main)
        receive(sku, store, at_store)
    set_a = make_bundle([(cup, 2), (saucer, 1)], code="SET-A")
    set_b = make_bundle([(cup, 1), (spoon, 1)], code="SET-B")
    # what one unit of each SKU takes from the shelves, written out by hand rather than
    # asked of the service under test
    parts = {
        set_a.pk: {cup.pk: 2, saucer.pk: 1},
        set_b.pk: {cup.pk: 1, spoon.pk: 1},
        **{s.pk: {s.pk: 1} for s in (cup, saucer, spoon, knit)},
    }
    orders: list[list[tuple[int, int]]] = [
        [(set_a.pk, 1)],
        [(set_b.pk, 1)],
        [(cup.pk, 1), (cup.pk, 1)],  # two lines of the same SKU in one request
        [(set_a.pk, 1), (spoon.pk, 1)],
        [(knit.pk, 1)],
        [(set_b.pk, 2)],
        [(cup.pk, 1)],
        [(set_a.pk, 1), (set_b.pk, 1)],  # both bundles: 3 cups in one request
        [(saucer.pk, 1), (knit.pk, 1)],
    ]
    requests = [ReserveRequest(f"orderline:{i}", orders[i % len(orders)]) for i in range(WORKERS + 10)]

    def need_of(request: ReserveRequest) -> dict[int, int]:
        need: dict[int, int] = defaultdict(int)
        for sku_id, quantity in request.lines:
            for part, per_unit in parts[sku_id].items():
                need[part] += per_unit * quantity
        return dict(need)

    # when 50 workers reserve at once: most one order each through stock_reserve, the last
    # five a batch of three through stock_reserve_many
    def single(request: ReserveRequest) -> Callable[[], Any]:
        return lambda: stock_reserve(reference=request.reference, lines=request.lines)

    def batch(chunk: list[ReserveRequest]) -> Callable[[], Any]:
        return lambda: stock_reserve_many(requests=chunk)

    singles, batched = requests[: WORKERS - 5], requests[WORKERS - 5 :]
    jobs = [single(r) for r in singles] + [batch(batched[i : i + 3]) for i in range(0, 15, 3)]
    assert len(jobs) == WORKERS
    outcomes = run_together(jobs)

    # then every request was either served in full or refused for a real shortage
    assert unexpected_errors(outcomes) == []
    succeeded: set[str] = set()
    refused: dict[str, list[int]] = {}
    for request, outcome in zip(singles, outcomes, strict=False):
        if outcome.error is None:
            succeeded.add(request.reference)
        else:
            assert isinstance(outcome.error, InsufficientStock)
            refused[request.reference] = [s.sku_id for s in outcome.error.shortages]
    for outcome in outcomes[len(singles) :]:
        assert outcome.error is None
        for result in outcome.value:
            if result.ok:
                succeeded.add(result.reference)
            else:
                refused[result.reference] = [s.sku_id for s in result.shortages]
    assert len(succeeded) + len(refused) == len(requests)

    # never oversold: what the served requests need fits in the stock, SKU by SKU
    by_reference = {r.reference: r for r in requests}
    promised: Counter[int] = Counter()
    for reference in succeeded:
        promised.update(need_of(by_reference[reference]))
    oversold = {
        sku.code: (promised[sku.pk], sum(on_shelves))
        for sku, on_shelves in stock.items()
        if promised[sku.pk] > sum(on_shelves)
    }
    assert oversold == {}, f"promised more than in stock (promised, stock): {oversold}"
    assert succeeded and refused

    # a served request holds exactly its need; a refused one holds nothing
    held = held_by_reference()
    assert set(held) == succeeded
    for reference in succeeded:
        assert held[reference] == need_of(by_reference[reference]), reference
    assert {sku.code: reserved_by_sku()[sku.pk] for sku in stock} == {
        sku.code: promised[sku.pk] for sku in stock
    }
    assert_books_balance()

    # and nothing was refused that the stock could still serve: each refused request is
    # short of a SKU it named, even now (stock only went down during the race)
    free = {sku.pk: sum(stock[sku]) - promised[sku.pk] for sku in stock}
    for reference, short_skus in refused.items():
        need = need_of(by_reference[reference])
        assert short_skus and set(short_skus) <= set(need)
        assert any(free[sku_id] < need[sku_id] for sku_id in short_skus), (reference, need, free)


def test_one_reference_reserved_by_fifty_workers_at_once_holds_its_stock_once() -> None:
    # given a SKU with 2 units in each of three warehouses (a second reservation of the same
    # order line would find free stock in the next warehouse, so only the lock stops it)
    warehouses = [LocationFactory.create(priority=p) for p in (1, 2, 3)]
    sku = SkuFactory.create()
    for warehouse in warehouses:
        receive(sku, warehouse, 2)

    # when the same order line is collected by 50 workers at once (a redelivered task)
    outcomes = run_together(
        [lambda: stock_reserve_many(requests=[ReserveRequest("orderline:7", [(sku.pk, 2)])])] * WORKERS
    )

    # then it holds two units, once
    assert [o.error for o in outcomes if o.error is not None] == []
    results = [o.value[0] for o in outcomes]
    assert sum(not r.already_reserved for r in results) == 1
    assert all(r.ok for r in results)
    assert held_by_reference() == {"orderline:7": {sku.pk: 2}}
    assert reserved_by_sku()[sku.pk] == 2
    assert_books_balance()


def test_one_reference_shipped_by_fifty_workers_at_once_ships_once() -> None:
    # given an order line holding 3 cups over two warehouses
    main = LocationFactory.create(priority=1)
    store = LocationFactory.create(priority=2)
    cup = SkuFactory.create()
    receive(cup, main, 2)
    receive(cup, store, 5)
    stock_reserve(reference="orderline:1", lines=[(cup.pk, 3)])

    # when 50 packing stations scan it as shipped at the same moment
    outcomes = run_together([lambda: stock_consume(reference="orderline:1")] * WORKERS)

    # then it ships once: one worker wrote the two SHIP rows, the others found nothing left
    assert [o.error for o in outcomes if o.error is not None] == []
    shipped_by = [o.value for o in outcomes if o.value]
    assert len(shipped_by) == 1 and len(shipped_by[0]) == 2
    levels = {lv.location_id: lv for lv in StockLevel.objects.filter(sku=cup)}
    assert (levels[main.pk].on_hand, levels[store.pk].on_hand) == (0, 4)
    assert sum(lv.reserved for lv in levels.values()) == 0
    ships = StockMovement.objects.filter(type=StockMovement.Type.SHIP)
    assert ships.aggregate(s=Sum("quantity"))["s"] == -3
    reservation_rows = Reservation.objects.filter(reference="orderline:1")
    assert sum(r.consumed for r in reservation_rows) == 3
    assert_books_balance()


def test_ship_cancel_and_new_orders_on_one_sku_at_once_keep_every_count_exact() -> None:
    # given 35 sweaters, 30 of them held by orders 0..29 and 5 still free
    warehouse = LocationFactory.create()
    sweater = SkuFactory.create()
    receive(sweater, warehouse, 35)
    stock_reserve_many(requests=[ReserveRequest(f"orderline:{i}", [(sweater.pk, 1)]) for i in range(30)])

    # when, at once: orders 0..9 ship (each scanned twice), orders 10..19 are cancelled and
    # 20 new orders come in
    jobs: list[Callable[[], Any]] = []
    for i in range(10):
        jobs += [partial(stock_consume, reference=f"orderline:{i}")] * 2
    for i in range(10, 20):
        jobs.append(partial(stock_release, reference=f"orderline:{i}"))
    for i in range(100, 120):
        jobs.append(partial(stock_reserve, reference=f"orderline:{i}", lines=[(sweater.pk, 1)]))
    assert len(jobs) == WORKERS
    outcomes = run_together(jobs)

    # then each shipped order left the shelf once, each cancel gave its unit back once, and
    # new orders got at least the 5 free units and at most those plus the 10 cancelled
    assert unexpected_errors(outcomes) == []
    new_ok = sum(o.error is None for o in outcomes[30:])
    assert new_ok <= 15, f"oversold: {new_ok} new orders got one of 5 free + 10 cancelled units"
    assert new_ok >= 5
    lv = StockLevel.objects.get(sku=sweater, location=warehouse)
    assert lv.on_hand == 35 - 10
    assert lv.reserved == 10 + new_ok  # orders 20..29 plus the new ones
    ships = StockMovement.objects.filter(type=StockMovement.Type.SHIP)
    assert sorted(ships.values_list("reference", flat=True)) == sorted(f"orderline:{i}" for i in range(10))
    releases = StockMovement.objects.filter(type=StockMovement.Type.RELEASE)
    assert releases.count() == 10
    assert_books_balance()


def test_one_reference_reserved_by_fifty_single_calls_at_once_holds_its_stock_once() -> None:
    # given the same three warehouses, and stock_reserve called outside a transaction (on
    # Postgres one statement: the inventory_reserve_one function)
    warehouses = [LocationFactory.create(priority=p) for p in (1, 2, 3)]
    sku = SkuFactory.create()
    for warehouse in warehouses:
        receive(sku, warehouse, 2)
    assert not connection.in_atomic_block

    # when 50 workers reserve the same order line with single calls at once
    outcomes = run_together([lambda: stock_reserve(reference="orderline:8", lines=[(sku.pk, 2)])] * WORKERS)

    # then every call answers with the same two units, held once
    assert [o.error for o in outcomes if o.error is not None] == []
    assert {tuple((r.sku_id, r.quantity) for r in o.value) for o in outcomes} == {((sku.pk, 2),)}
    assert held_by_reference() == {"orderline:8": {sku.pk: 2}}
    assert reserved_by_sku()[sku.pk] == 2
    assert_books_balance()
