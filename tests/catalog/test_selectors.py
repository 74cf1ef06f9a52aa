"""Catalog reads: the product list's search and filters, the stock-state filter (SQL) agreeing
with inventory.selectors.available_map, keyset paging, SKU search, bundle sellable quantity."""

from __future__ import annotations

import pytest

from catalog.models import Product, Sku
from catalog.selectors import (
    LIST_ORDER,
    StockState,
    available_expression,
    bundle_sellable,
    sku_list,
    sku_search,
    sku_stock_rows,
    skus_by_codes,
    stock_state,
)
from inventory.selectors import available_map
from inventory.services import stock_receive, stock_reserve
from oms.listing import keyset_page
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _codes(qs) -> set[str]:
    return set(qs.values_list("code", flat=True))


@pytest.fixture
def catalogue() -> dict[str, Sku]:
    knit = ProductFactory.create(code="KN-01", name="울 라운드 니트", brand="데모상회", category="의류>니트")
    tee = ProductFactory.create(code="TS-01", name="오버핏 티셔츠", brand="마린데이", category="의류>티셔츠")
    mug = ProductFactory.create(code="MG-01", name="머그컵", brand="데모리빙", category="리빙>주방")
    return {
        "knit_bk": SkuFactory.create(
            product=knit, code="KN-01-BK", barcode="8800000000011", option_label="블랙"
        ),
        "knit_iv": SkuFactory.create(
            product=knit, code="KN-01-IV", barcode="8800000000028", option_label="아이보리"
        ),
        "tee": SkuFactory.create(
            product=tee,
            code="TS-01-WH",
            barcode="8800000000035",
            status=Product.Status.SOLD_OUT,
            option_label="화이트",
        ),
        "mug": SkuFactory.create(
            product=mug, code="MG-01", barcode="8800000000042", is_active=False, option_label=""
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("니트", {"KN-01-BK", "KN-01-IV"}),  # product name
        ("ts-01", {"TS-01-WH"}),  # product code, any case
        ("KN-01-IV", {"KN-01-IV"}),  # SKU code
        ("8800000000035", {"TS-01-WH"}),  # barcode, exact
        ("아이보리", {"KN-01-IV"}),  # option
        ("니트 블랙", {"KN-01-BK"}),  # every word must match
        ("없는상품", set()),
    ],
)
def test_search_finds_by_name_product_code_sku_code_barcode_and_option(
    catalogue, q: str, expected: set
) -> None:
    assert _codes(sku_list(filters={"q": q})) == expected


def test_filters_by_status_brand_category_kind_and_use(catalogue) -> None:
    assert _codes(sku_list(filters={"status": "sold_out"})) == {"TS-01-WH"}
    assert _codes(sku_list(filters={"brand": "데모상회"})) == {"KN-01-BK", "KN-01-IV"}
    assert _codes(sku_list(filters={"category": "의류"})) == {"KN-01-BK", "KN-01-IV", "TS-01-WH"}
    assert _codes(sku_list(filters={"category": "의류>티셔츠"})) == {"TS-01-WH"}
    assert _codes(sku_list(filters={"category": "의"})) == set()  # a level, not a prefix of a word
    bundle = make_bundle([(catalogue["knit_bk"], 1)], code="SET-1")
    assert _codes(sku_list(filters={"kind": "bundle"})) == {bundle.code}
    assert _codes(sku_list(filters={"active": "0"})) == {"MG-01"}


def test_stock_state_badges() -> None:
    assert stock_state(0, 5) == StockState.SOLD_OUT
    assert stock_state(5, 5) == StockState.LOW
    assert stock_state(6, 5) == StockState.OK
    assert stock_state(1, 0) == StockState.OK


@pytest.fixture
def stocked() -> dict[str, Sku]:
    """Singles and bundles with reserved stock, safety stock, a non-selling location and an
    inactive one: every case available_map handles."""
    warehouse, store = LocationFactory.create(), LocationFactory.create()
    defect = LocationFactory.create(sells=False)
    closed = LocationFactory.create(is_active=False)
    skus = {
        "empty": SkuFactory.create(low_stock_threshold=3),
        "low": SkuFactory.create(low_stock_threshold=5, safety_stock=2),
        "ok": SkuFactory.create(low_stock_threshold=5),
        "reserved_out": SkuFactory.create(low_stock_threshold=1),
        "defect_only": SkuFactory.create(low_stock_threshold=1),
    }
    stock_receive(sku=skus["low"], location=warehouse, quantity=4)  # 4 - 2 safety = 2 <= 5
    stock_receive(sku=skus["low"], location=defect, quantity=50)
    stock_receive(sku=skus["ok"], location=warehouse, quantity=7)
    stock_receive(sku=skus["ok"], location=store, quantity=5)  # 12
    stock_receive(sku=skus["ok"], location=closed, quantity=100)
    stock_receive(sku=skus["reserved_out"], location=warehouse, quantity=3)
    stock_reserve(reference="orderline:1", lines=[(skus["reserved_out"].pk, 3)])
    stock_receive(sku=skus["defect_only"], location=defect, quantity=9)
    skus["bundle_ok"] = make_bundle([(skus["ok"], 2)])  # 12 // 2 = 6
    skus["bundle_ok"].low_stock_threshold = 2
    skus["bundle_ok"].safety_stock = 1  # 5
    skus["bundle_ok"].save()
    skus["bundle_out"] = make_bundle([(skus["ok"], 1), (skus["empty"], 1)])
    skus["bundle_low"] = make_bundle([(skus["ok"], 5), (skus["low"], 1)])  # min(2, 2) = 2
    skus["bundle_low"].low_stock_threshold = 2
    skus["bundle_low"].save()
    skus["bundle_none"] = SkuFactory.create(kind=Sku.Kind.BUNDLE)  # no components: 0
    return skus


def test_the_sql_available_agrees_with_available_map_for_singles_and_bundles(stocked) -> None:
    expected = available_map(s.pk for s in stocked.values())
    sql = dict(Sku.objects.annotate(available_sql=available_expression()).values_list("pk", "available_sql"))
    assert {name: sql[s.pk] for name, s in stocked.items()} == {
        name: expected[s.pk] for name, s in stocked.items()
    }
    assert {name: expected[s.pk] for name, s in stocked.items()} == {
        "empty": 0,
        "low": 2,
        "ok": 12,
        "reserved_out": 0,
        "defect_only": 0,
        "bundle_ok": 5,
        "bundle_out": 0,
        "bundle_low": 2,
        "bundle_none": 0,
    }


def test_the_stock_filter_matches_the_badges_shown(stocked) -> None:
    by_pk = {s.pk: name for name, s in stocked.items()}

    def names(state: str) -> set[str]:
        return {by_pk[pk] for pk in sku_list(filters={"stock": state}).values_list("pk", flat=True)}

    assert names("soldout") == {"empty", "reserved_out", "defect_only", "bundle_out", "bundle_none"}
    assert names("low") == {"low", "bundle_low"}
    assert names("ok") == {"ok", "bundle_ok"}
    for sku, available, state in sku_stock_rows(Sku.objects.all()):
        assert sku.pk in {pk for pk in sku_list(filters={"stock": state.value}).values_list("pk", flat=True)}
        assert available == available_map([sku.pk])[sku.pk]


def test_the_list_pages_newest_product_first_and_its_skus_in_order() -> None:
    older = ProductFactory.create()
    newer = ProductFactory.create()
    old_skus = SkuFactory.create_batch(3, product=older)
    new_skus = SkuFactory.create_batch(2, product=newer)

    first = keyset_page(sku_list(filters={}), order=LIST_ORDER, size=3)
    second = keyset_page(sku_list(filters={}), order=LIST_ORDER, size=3, after=first.next_cursor)

    assert [s.pk for s in first.items] == [new_skus[0].pk, new_skus[1].pk, old_skus[0].pk]
    assert [s.pk for s in second.items] == [old_skus[1].pk, old_skus[2].pk]
    assert second.next_cursor is None


def test_sku_search_puts_an_exact_code_or_barcode_first_and_can_leave_bundles_out(catalogue) -> None:
    make_bundle([(catalogue["knit_bk"], 1)], code="KN-01-SET")
    codes = [s.code for s in sku_search(query="KN-01")]
    assert set(codes) == {"KN-01-BK", "KN-01-IV"}
    assert sku_search(query="kn-01-iv")[0].code == "KN-01-IV"
    assert [s.code for s in sku_search(query="8800000000028")] == ["KN-01-IV"]
    assert "KN-01-SET" in [s.code for s in sku_search(query="KN-01", kind=None)]
    assert sku_search(query="  ") == []


def test_skus_by_codes_ignores_case_and_blanks(catalogue) -> None:
    found = skus_by_codes(["kn-01-bk", " TS-01-WH ", "", "NOPE"])
    assert {typed: s.code for typed, s in found.items()} == {"kn-01-bk": "KN-01-BK", "TS-01-WH": "TS-01-WH"}


def test_bundle_sellable_is_derived_like_available_map(stocked) -> None:
    assert bundle_sellable([(stocked["ok"], 5), (stocked["low"], 1)]) == 2
    assert bundle_sellable([(stocked["ok"], 2)], safety_stock=1) == 5
    assert bundle_sellable([]) == 0
