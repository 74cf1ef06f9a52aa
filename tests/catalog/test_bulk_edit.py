"""Bulk edit from the product list: price (absolute, +/- won, +/- %, rounded to 10 won), name
prefix/suffix, sale status. All or nothing, audited per object, marks the SKUs changed, and a
big selection costs a handful of queries, not one per row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product, Sku, SkuChange
from catalog.services import (
    CatalogError,
    NameMode,
    PriceMode,
    name_after,
    price_after,
    product_bulk_rename,
    product_bulk_rename_preview,
    round_to_10,
    sku_bulk_price,
    sku_bulk_price_preview,
    sku_bulk_status,
    sku_bulk_status_preview,
)
from oms.models import AuditLog
from tests.catalog.factories import ProductFactory, SkuFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


# --- The arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(39994, 39990), (39995, 40000), (39999, 40000), (0, 0), (5, 10), (4, 0), (Decimal("42899.5"), 42900)],
)
def test_round_to_10_rounds_half_up(value, rounded: int) -> None:
    assert round_to_10(value) == rounded


@pytest.mark.parametrize(
    ("price", "mode", "amount", "after"),
    [
        (39000, PriceMode.SET, Decimal(45000), 45000),
        (39000, PriceMode.SET, Decimal(12345), 12350),
        (39000, PriceMode.ADD, Decimal(1000), 40000),
        (39000, PriceMode.SUBTRACT, Decimal(1500), 37500),
        (39000, PriceMode.PERCENT_UP, Decimal(10), 42900),
        (19900, PriceMode.PERCENT_UP, Decimal(15), 22890),  # 22,885 rounds up
        (12900, PriceMode.PERCENT_DOWN, Decimal("12.5"), 11290),  # 11,287.5
        (39000, PriceMode.PERCENT_DOWN, Decimal(100), 0),
        (1000, PriceMode.SUBTRACT, Decimal(2000), -1000),
    ],
)
def test_price_after(price: int, mode: str, amount: Decimal, after: int) -> None:
    assert price_after(price, mode=mode, amount=amount) == after


@pytest.mark.parametrize(
    ("name", "mode", "text", "after"),
    [
        ("울 니트", NameMode.ADD_PREFIX, "[특가]", "[특가] 울 니트"),
        ("[특가] 울 니트", NameMode.ADD_PREFIX, "[특가]", "[특가] 울 니트"),
        ("울 니트", NameMode.ADD_SUFFIX, " (당일발송) ", "울 니트 (당일발송)"),
        ("[특가] 울 니트", NameMode.REMOVE_PREFIX, "[특가]", "울 니트"),
        ("울 니트", NameMode.REMOVE_PREFIX, "[특가]", "울 니트"),
        ("울 니트 (당일발송)", NameMode.REMOVE_SUFFIX, "(당일발송)", "울 니트"),
    ],
)
def test_name_after(name: str, mode: str, text: str, after: str) -> None:
    assert name_after(name, mode=mode, text=text) == after


# --- Prices -----------------------------------------------------------------------------------


def _product_with_skus(code: str, sale_price: int, extras: list[int]) -> tuple[Product, list[Sku]]:
    product = ProductFactory.create(code=code, sale_price=sale_price)
    return product, [SkuFactory.create(product=product, extra_price=e) for e in extras]


def test_raising_a_whole_product_by_10_percent_moves_its_base_price(manager_user) -> None:
    product, skus = _product_with_skus("KN", 39000, [0, 0, 2000])
    before = timezone.now()

    result = sku_bulk_price(
        actor=manager_user,
        skus=Sku.objects.filter(product=product),
        mode=PriceMode.PERCENT_UP,
        amount=Decimal(10),
    )

    product.refresh_from_db()
    assert product.sale_price == 42900
    assert [s.price for s in Sku.objects.filter(product=product).order_by("pk")] == [42900, 42900, 45100]
    assert [s.extra_price for s in Sku.objects.filter(product=product).order_by("pk")] == [0, 0, 2200]
    assert product.updated_at >= before and Sku.objects.get(pk=skus[2].pk).updated_at >= before
    assert (result.changed, result.unchanged, result.products_changed) == (3, 0, 1)
    assert AuditLog.objects.get(action="product.bulk_price").changes == {"sale_price": [39000, 42900]}
    sku_audit = AuditLog.objects.filter(action="sku.bulk_price").order_by("pk")
    assert [a.changes["price"] for a in sku_audit] == [[39000, 42900], [39000, 42900], [41000, 45100]]
    assert {a.actor_id for a in sku_audit} == {manager_user.pk}
    assert set(SkuChange.objects.values_list("sku_id", flat=True)) == {s.pk for s in skus}


def test_a_partly_selected_product_keeps_its_base_and_changes_only_the_selected_extras() -> None:
    product, (first, second) = _product_with_skus("KN", 39000, [0, 0])

    sku_bulk_price(actor=None, skus=Sku.objects.filter(pk=first.pk), mode=PriceMode.ADD, amount=Decimal(1000))

    product.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert product.sale_price == 39000
    assert (first.extra_price, first.price, second.price) == (1000, 40000, 39000)
    assert list(SkuChange.objects.values_list("sku_id", flat=True)) == [first.pk]
    assert not AuditLog.objects.filter(action="product.bulk_price").exists()


def test_setting_an_absolute_price_on_a_whole_product_clears_the_extra_prices() -> None:
    product, _skus = _product_with_skus("TS", 19900, [0, 2000])
    sku_bulk_price(actor=None, skus=Sku.objects.all(), mode=PriceMode.SET, amount=Decimal(15000))
    product.refresh_from_db()
    assert product.sale_price == 15000
    assert list(Sku.objects.order_by("pk").values_list("extra_price", flat=True)) == [0, 0]


def test_a_price_that_would_fall_below_zero_refuses_the_whole_change() -> None:
    cheap, _ = _product_with_skus("CHEAP", 1000, [0])
    dear, _dear_skus = _product_with_skus("DEAR", 50000, [0])

    with pytest.raises(CatalogError) as caught:
        sku_bulk_price(actor=None, skus=Sku.objects.all(), mode=PriceMode.SUBTRACT, amount=Decimal(2000))

    assert "Nothing was changed: 1 SKUs would get a price below 0" in str(caught.value)
    assert "(-1,000)" in str(caught.value)
    cheap.refresh_from_db()
    dear.refresh_from_db()
    assert (cheap.sale_price, dear.sale_price) == (1000, 50000)
    assert not AuditLog.objects.exists() and not SkuChange.objects.exists()


def test_the_base_stays_when_lowering_it_would_go_below_zero_but_option_prices_do_not() -> None:
    # Base 1,000 with +5,000 options: -2,000 on every option is fine, a base of -1,000 is not.
    product, _skus = _product_with_skus("P", 1000, [5000, 6000])
    sku_bulk_price(actor=None, skus=Sku.objects.all(), mode=PriceMode.SUBTRACT, amount=Decimal(2000))
    product.refresh_from_db()
    assert product.sale_price == 1000
    assert [s.price for s in Sku.objects.order_by("pk")] == [4000, 5000]


def test_the_price_preview_shows_old_new_refusals_and_writes_nothing() -> None:
    _product_with_skus("A", 1000, [0, 500])
    _product_with_skus("B", 30000, [0])

    preview = sku_bulk_price_preview(skus=Sku.objects.all(), mode=PriceMode.SUBTRACT, amount=Decimal(1200))

    assert (preview.selected, preview.changed, preview.refused_count) == (3, 2, 1)
    assert [(line.old, line.new) for line in preview.sample] == [(1500, 300), (30000, 28800)]
    assert [(line.code, line.old, line.new) for line in preview.refused] == [
        (Sku.objects.order_by("pk")[0].code, 1000, -200)
    ]
    assert "below 0" in preview.refused[0].problem
    assert not preview.ok
    assert not AuditLog.objects.exists()


def test_a_price_already_at_the_target_counts_as_unchanged() -> None:
    _product_with_skus("A", 10000, [0])
    result = sku_bulk_price(actor=None, skus=Sku.objects.all(), mode=PriceMode.SET, amount=Decimal(10000))
    assert (result.changed, result.unchanged) == (0, 1)
    assert not AuditLog.objects.exists() and not SkuChange.objects.exists()


def test_a_big_price_change_costs_a_fixed_number_of_queries() -> None:
    products = ProductFactory.create_batch(30, sale_price=10000)
    for product in products:
        SkuFactory.create_batch(10, product=product)
    with CaptureQueriesContext(connection) as small:
        sku_bulk_price(
            actor=None,
            skus=Sku.objects.filter(product__in=products[:3]),
            mode=PriceMode.ADD,
            amount=Decimal(10),
        )
    with CaptureQueriesContext(connection) as big:
        sku_bulk_price(actor=None, skus=Sku.objects.all(), mode=PriceMode.ADD, amount=Decimal(10))

    assert Sku.objects.filter(product__sale_price=10020).count() == 30  # the first 3 products moved twice
    assert AuditLog.objects.filter(action="sku.bulk_price").count() == 330
    # Ten times the rows: at most a few more batches (SQLite batches by its parameter limit).
    assert len(big) - len(small) <= 5, [q["sql"][:80] for q in big.captured_queries]
    assert len(big) < 25


# --- Names ------------------------------------------------------------------------------------


def test_renaming_adds_a_prefix_to_each_selected_product_once_and_marks_all_its_skus() -> None:
    knit, knit_skus = _product_with_skus("KN", 1000, [0, 0])
    knit.name = "울 니트"
    knit.save()
    tee, _tee_skus = _product_with_skus("TS", 1000, [0])
    tee.name = "[특가] 티셔츠"
    tee.save()

    # One of the knit's two SKUs selected: the name belongs to the product, so both are marked.
    selection = Sku.objects.filter(
        pk__in=[knit_skus[0].pk, *Sku.objects.filter(product=tee).values_list("pk", flat=True)]
    )
    result = product_bulk_rename(actor=None, skus=selection, mode=NameMode.ADD_PREFIX, text="[특가]")

    knit.refresh_from_db()
    tee.refresh_from_db()
    assert (knit.name, tee.name) == ("[특가] 울 니트", "[특가] 티셔츠")
    assert (result.changed, result.unchanged) == (1, 1)
    assert AuditLog.objects.get(action="product.bulk_rename").changes == {
        "name": ["울 니트", "[특가] 울 니트"]
    }
    assert set(SkuChange.objects.values_list("sku_id", flat=True)) == {s.pk for s in knit_skus}


def test_a_name_that_would_pass_200_characters_refuses_the_rename() -> None:
    long_name = ProductFactory.create(name="가" * 195)
    SkuFactory.create(product=long_name)
    preview = product_bulk_rename_preview(skus=Sku.objects.all(), mode=NameMode.ADD_SUFFIX, text="(당일발송)")
    assert preview.refused_count == 1
    with pytest.raises(CatalogError, match="at most 200"):
        product_bulk_rename(actor=None, skus=Sku.objects.all(), mode=NameMode.ADD_SUFFIX, text="(당일발송)")
    long_name.refresh_from_db()
    assert long_name.name == "가" * 195


def test_renaming_needs_words() -> None:
    SkuFactory.create()
    with pytest.raises(CatalogError):
        product_bulk_rename(actor=None, skus=Sku.objects.all(), mode=NameMode.ADD_PREFIX, text="  ")


# --- Sale status ----------------------------------------------------------------------------------


def test_marking_skus_sold_out_audits_each_and_follows_on_the_product(manager_user) -> None:
    product, skus = _product_with_skus("KN", 1000, [0, 0])
    other, _other_skus = _product_with_skus("TS", 1000, [0])

    preview = sku_bulk_status_preview(
        skus=Sku.objects.filter(product=product), status=Product.Status.SOLD_OUT
    )
    assert (preview.selected, preview.changed) == (2, 2)

    result = sku_bulk_status(actor=manager_user, skus=Sku.objects.filter(product=product), status="sold_out")

    assert (result.changed, result.unchanged, result.products_changed) == (2, 0, 1)
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.status, other.status) == ("sold_out", "on_sale")
    assert AuditLog.objects.filter(action="sku.bulk_status", actor=manager_user).count() == 2
    assert set(SkuChange.objects.values_list("sku_id", flat=True)) == {s.pk for s in skus}

    again = sku_bulk_status(actor=manager_user, skus=Sku.objects.all(), status="sold_out")
    assert (again.changed, again.unchanged) == (1, 2)


def test_discontinued_and_back_on_sale() -> None:
    product, skus = _product_with_skus("KN", 1000, [0, 0])
    sku_bulk_status(actor=None, skus=Sku.objects.all(), status=Product.Status.DISCONTINUED)
    product.refresh_from_db()
    assert product.status == Product.Status.DISCONTINUED
    sku_bulk_status(actor=None, skus=Sku.objects.filter(pk=skus[0].pk), status=Product.Status.ON_SALE)
    product.refresh_from_db()
    assert product.status == Product.Status.ON_SALE


def test_an_unknown_status_is_refused() -> None:
    SkuFactory.create()
    with pytest.raises(CatalogError):
        sku_bulk_status(actor=None, skus=Sku.objects.all(), status="gone")
