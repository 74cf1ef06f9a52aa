"""The figures behind the stock pages: available, the 품절 / 부족 / 정상 badge, the overview
filters, the 재고 부족 list and its counts, computed by the database."""

from __future__ import annotations

import itertools

import pytest

from catalog.models import Product, Sku
from inventory.models import Location
from inventory.selectors import (
    LOW_STOCK_ORDER,
    SHORT,
    StockState,
    available_map,
    location_list,
    low_stock_counts,
    low_stock_list,
    low_stock_recipients,
    sku_levels,
    sku_stock_get,
    stock_overview,
    stock_state,
    stock_state_q,
    with_stock,
)
from inventory.services import stock_receive, stock_reserve
from oms.roles import Role
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse() -> Location:
    return LocationFactory.create(code="WH", name="파주 물류센터", priority=10)


def stocked(location: Location, quantity: int, **sku_fields: object) -> Sku:
    sku = SkuFactory.create(**sku_fields)
    if quantity:
        stock_receive(sku=sku, location=location, quantity=quantity)
    return sku


def overview_codes(**filters: object) -> list[str]:
    return list(stock_overview(filters=filters).order_by("code").values_list("code", flat=True))


# --- Badge rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "threshold", "state"),
    [
        (0, 0, StockState.SOLD_OUT),
        (0, 5, StockState.SOLD_OUT),
        (1, 0, StockState.OK),
        (4, 5, StockState.LOW),
        (5, 5, StockState.LOW),
        (6, 5, StockState.OK),
    ],
)
def test_badge_is_sold_out_at_zero_low_at_or_below_the_threshold_else_ok(
    warehouse, available, threshold, state
) -> None:
    sku = stocked(warehouse, available, low_stock_threshold=threshold)
    row = sku_stock_get(pk=sku.pk)
    assert row.available == available  # type: ignore[attr-defined]
    assert stock_state(available, threshold) == state
    assert set(stock_overview(filters={"state": state.value}).values_list("pk", flat=True)) == {sku.pk}


def test_available_is_selling_stock_minus_reserved_minus_safety_stock(warehouse) -> None:
    store = LocationFactory.create(code="ST", priority=20)
    defects = LocationFactory.create(code="DEF", sells=False)
    closed = LocationFactory.create(code="OLD")
    sku = stocked(warehouse, 10, safety_stock=2, low_stock_threshold=3)
    stock_receive(sku=sku, location=store, quantity=4)
    stock_receive(sku=sku, location=defects, quantity=7)
    stock_receive(sku=sku, location=closed, quantity=9)
    Location.objects.filter(pk=closed.pk).update(is_active=False)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 5)])

    row = sku_stock_get(pk=sku.pk)

    # selling + active: 10 + 4 on hand, 5 reserved, 2 safety -> 7
    assert row.available == 7  # type: ignore[attr-defined]
    assert row.available == available_map([sku.pk])[sku.pk]  # type: ignore[attr-defined]
    levels = sku_levels(sku=sku)  # what the page sums for on hand / reserved: every location
    assert sum(lv.on_hand for lv in levels) == 10 + 4 + 7 + 9
    assert sum(lv.reserved for lv in levels) == 5
    assert stock_state(row.available, row.low_stock_threshold) == StockState.OK  # type: ignore[attr-defined]


def test_safety_stock_above_what_is_free_reads_as_sold_out_never_negative(warehouse) -> None:
    sku = stocked(warehouse, 2, safety_stock=5, low_stock_threshold=1)
    row = sku_stock_get(pk=sku.pk)
    assert row.available == 0  # type: ignore[attr-defined]
    assert list(stock_overview(filters={"state": "soldout"})) == [sku]


def test_a_sku_never_received_is_sold_out(warehouse) -> None:
    sku = SkuFactory.create(low_stock_threshold=3)
    row = sku_stock_get(pk=sku.pk)
    assert row.available == 0  # type: ignore[attr-defined]
    assert list(stock_overview(filters={"state": "soldout"})) == [sku]


def test_database_badge_agrees_with_python_for_every_combination(warehouse) -> None:
    cases = {}
    thresholds = {}
    for i, (on_hand, safety, threshold) in enumerate(itertools.product([0, 1, 3, 6], [0, 2], [0, 3, 5])):
        sku = stocked(
            warehouse, on_hand, safety_stock=safety, low_stock_threshold=threshold, code=f"C{i:03d}"
        )
        cases[sku.pk] = stock_state(max(0, on_hand - safety), threshold)
        thresholds[sku.pk] = threshold
    base = Sku.objects.all()
    per_row = {sku.pk: sku.available for sku in with_stock(base)}  # type: ignore[attr-defined]
    grouped = {sku.pk: sku.available for sku in with_stock(base, scan=True)}  # type: ignore[attr-defined]
    assert per_row == grouped
    for state in StockState:
        expected = {pk for pk, s in cases.items() if s == state}
        assert set(with_stock(base).filter(stock_state_q(state)).values_list("pk", flat=True)) == expected
        assert (
            set(with_stock(base, scan=True).filter(stock_state_q(state)).values_list("pk", flat=True))
            == expected
        )
        assert {
            pk for pk, available in per_row.items() if stock_state(available, thresholds[pk]) == state
        } == expected


# --- Overview filters ----------------------------------------------------------------------------


def test_overview_lists_single_skus_only_bundles_are_derived(warehouse) -> None:
    part = stocked(warehouse, 5, code="PART")
    make_bundle([(part, 1)], code="SET")
    assert overview_codes() == ["PART"]


def test_search_matches_sku_code_product_name_option_and_exact_barcode(warehouse) -> None:
    knit = ProductFactory.create(name="울 라운드 니트", code="P-KNIT")
    shirt = ProductFactory.create(name="코튼 셔츠", code="P-SHIRT")
    stocked(warehouse, 1, product=knit, code="KNIT-BK-S", option_label="블랙 / S", barcode="8801111111111")
    stocked(
        warehouse, 1, product=knit, code="KNIT-IV-M", option_label="아이보리 / M", barcode="8802222222222"
    )
    stocked(warehouse, 1, product=shirt, code="SHIRT-BK-M", option_label="블랙 / M", barcode="8803333333333")

    assert overview_codes(q="knit-bk") == ["KNIT-BK-S"]
    assert overview_codes(q="니트") == ["KNIT-BK-S", "KNIT-IV-M"]
    assert overview_codes(q="니트 블랙") == ["KNIT-BK-S"]
    assert overview_codes(q="블랙") == ["KNIT-BK-S", "SHIRT-BK-M"]
    assert overview_codes(q="8803333333333") == ["SHIRT-BK-M"]
    assert overview_codes(q="333333") == []  # barcodes match whole, not in part
    assert overview_codes(q="p-shirt") == ["SHIRT-BK-M"]
    assert overview_codes(q="없는상품") == []


def test_location_filter_keeps_skus_with_a_stock_row_there(warehouse) -> None:
    store = LocationFactory.create(code="ST")
    stocked(warehouse, 3, code="A")
    both = stocked(warehouse, 3, code="B")
    stock_receive(sku=both, location=store, quantity=1)
    SkuFactory.create(code="C")
    assert overview_codes(location=store) == ["B"]
    assert overview_codes(location=warehouse) == ["A", "B"]


def test_state_filters_split_sold_out_low_and_ok(warehouse) -> None:
    stocked(warehouse, 0, code="OUT", low_stock_threshold=3)
    stocked(warehouse, 3, code="LOW", low_stock_threshold=3)
    stocked(warehouse, 4, code="OK", low_stock_threshold=3)
    stocked(warehouse, 2, code="OUT-SAFETY", safety_stock=2)
    assert overview_codes(state=StockState.SOLD_OUT) == ["OUT", "OUT-SAFETY"]
    assert overview_codes(state=StockState.LOW) == ["LOW"]
    assert overview_codes(state=StockState.OK) == ["OK"]
    assert overview_codes(state=SHORT) == ["LOW", "OUT", "OUT-SAFETY"]


def test_brand_and_category_filters_include_subcategories(warehouse) -> None:
    knitwear = ProductFactory.create(brand="데일리핏", category="의류>니트")
    cardigan = ProductFactory.create(brand="포근", category="의류>니트>가디건")
    lookalike = ProductFactory.create(brand="데일리핏", category="의류>니트웨어")
    bags = ProductFactory.create(brand="마롱", category="잡화>가방")
    for product, code in [(knitwear, "K"), (cardigan, "C"), (lookalike, "W"), (bags, "B")]:
        stocked(warehouse, 1, product=product, code=code)
    assert overview_codes(brand="데일리핏") == ["K", "W"]
    assert overview_codes(category="의류>니트") == ["C", "K"]
    assert overview_codes(category="의류") == ["C", "K", "W"]
    assert overview_codes(category="의류>니트", brand="포근") == ["C"]


def test_active_filter_separates_inactive_and_discontinued_skus(warehouse) -> None:
    stocked(warehouse, 1, code="ON")
    stocked(warehouse, 1, code="OFF", is_active=False)
    stocked(warehouse, 1, code="GONE", status=Product.Status.DISCONTINUED)
    assert overview_codes(active="1") == ["ON"]
    assert overview_codes(active="0") == ["GONE", "OFF"]


# --- 재고 부족 -------------------------------------------------------------------------------------


def test_low_stock_list_has_active_skus_at_or_below_threshold_emptiest_first(warehouse) -> None:
    stocked(warehouse, 5, code="AT-THRESHOLD", low_stock_threshold=5)
    stocked(warehouse, 2, code="BELOW", low_stock_threshold=5)
    stocked(warehouse, 0, code="ZERO")
    stocked(warehouse, 6, code="ABOVE", low_stock_threshold=5)
    stocked(warehouse, 0, code="INACTIVE", is_active=False)
    stocked(warehouse, 0, code="DISCONTINUED", status=Product.Status.DISCONTINUED)
    make_bundle([(SkuFactory.create(code="PART"), 1)], code="SET")

    listed = low_stock_list(filters={}).order_by(*LOW_STOCK_ORDER)

    assert [s.code for s in listed] == ["PART", "ZERO", "BELOW", "AT-THRESHOLD"]
    assert sorted(s.code for s in low_stock_list(filters={"state": "soldout"})) == ["PART", "ZERO"]
    assert sorted(s.code for s in low_stock_list(filters={"state": "low"})) == ["AT-THRESHOLD", "BELOW"]
    # "ok" is not a low-stock state: the list falls back to everything short
    assert low_stock_list(filters={"state": "ok"}).count() == 4
    assert low_stock_counts().sold_out == 2
    assert low_stock_counts().low == 2
    assert low_stock_counts().total == 4


def test_low_stock_counts_follow_a_receive(warehouse) -> None:
    sku = stocked(warehouse, 0, low_stock_threshold=3)
    assert (low_stock_counts().sold_out, low_stock_counts().low) == (1, 0)
    stock_receive(sku=sku, location=warehouse, quantity=2)
    assert (low_stock_counts().sold_out, low_stock_counts().low) == (0, 1)
    stock_receive(sku=sku, location=warehouse, quantity=2)
    assert low_stock_counts().total == 0


def test_low_stock_recipients_are_active_managers_and_admins_with_an_address(make_user) -> None:
    manager = make_user(Role.MANAGER, email="mgr@example.com")
    admin = make_user(Role.ADMIN, email="boss@example.com")
    make_user(Role.MANAGER)  # no address
    make_user(Role.STAFF, email="packer@example.com")
    retired = make_user(Role.ADMIN, email="old@example.com")
    retired.is_active = False
    retired.save()
    assert list(low_stock_recipients()) == [manager, admin]


# --- A SKU's levels and the location list --------------------------------------------------------


def test_sku_levels_show_every_active_location_and_closed_ones_still_holding_stock(warehouse) -> None:
    empty_store = LocationFactory.create(code="ST", priority=20)
    closed_empty = LocationFactory.create(code="OLD1", is_active=False)
    closed_full = LocationFactory.create(code="OLD2", priority=99)
    sku = stocked(warehouse, 4)
    stock_receive(sku=sku, location=closed_full, quantity=2)
    Location.objects.filter(pk=closed_full.pk).update(is_active=False)

    levels = sku_levels(sku=sku)

    assert [(lv.location.code, lv.on_hand, lv.free) for lv in levels] == [
        ("WH", 4, 4),
        ("ST", 0, 0),
        ("OLD2", 2, 2),
    ]
    assert closed_empty.code not in {lv.location.code for lv in levels}
    assert empty_store.code in {lv.location.code for lv in levels}


def test_location_list_counts_skus_units_and_reservations(warehouse) -> None:
    store = LocationFactory.create(code="ST", priority=20)
    a = stocked(warehouse, 5)
    stocked(warehouse, 3)
    stock_receive(sku=a, location=store, quantity=1)
    stock_reserve(reference="orderline:9", lines=[(a.pk, 2)])
    rows = {loc.code: loc for loc in location_list()}
    assert (rows["WH"].sku_count, rows["WH"].on_hand_total, rows["WH"].reserved_total) == (2, 8, 2)  # type: ignore[attr-defined]
    assert (rows["ST"].sku_count, rows["ST"].on_hand_total, rows["ST"].reserved_total) == (1, 1, 0)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("filters", "queries"),
    [
        ({}, 3),  # selling locations, the page (figures per row), its stock levels
        ({"state": SHORT}, 4),  # ... the page (one grouped pass), its products, its stock levels
    ],
)
def test_an_overview_page_costs_the_same_queries_for_five_rows_or_fifty(
    warehouse, django_assert_max_num_queries, filters, queries
) -> None:
    from inventory.selectors import levels_by_sku
    from oms.listing import keyset_page

    def one_page() -> None:
        page = keyset_page(stock_overview(filters=filters), order=("code", "pk"))
        levels_by_sku(sku_ids=[s.pk for s in page.items])
        for sku in page.items:
            assert sku.product.name

    for _ in range(5):
        stocked(warehouse, 1, low_stock_threshold=2)
    with django_assert_max_num_queries(queries):
        one_page()
    for _ in range(45):
        stocked(warehouse, 1, low_stock_threshold=2)
    with django_assert_max_num_queries(queries):
        one_page()
