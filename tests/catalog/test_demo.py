"""The demo catalogue: about 30 products / 120 SKUs with Korean names and options, two selling
locations, opening stock through the stock service, bundles, some SKUs low or sold out; and
loading it twice changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from catalog.demo import OPENING_REFERENCE, load_demo
from catalog.models import BundleItem, Product, Sku
from catalog.selectors import sku_list, sku_stock_rows
from inventory.models import Location, StockLevel, StockMovement
from oms.models import AuditLog

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "products": Product.objects.count(),
        "skus": Sku.objects.count(),
        "bundle_items": BundleItem.objects.count(),
        "locations": Location.objects.count(),
        "movements": StockMovement.objects.count(),
        "audit": AuditLog.objects.count(),
        "on_hand": sum(StockLevel.objects.values_list("on_hand", flat=True)),
    }


def test_the_demo_catalogue_is_a_small_korean_shop() -> None:
    summary = load_demo()

    assert 28 <= Product.objects.count() <= 35 and 110 <= Sku.objects.count() <= 130
    assert summary.products_created + summary.bundles_created == Product.objects.count()
    names = set(Product.objects.values_list("name", flat=True))
    for word in ("니트", "티셔츠", "슬랙스", "원피스", "머그컵"):
        assert any(word in name for name in names), word
    knit = Sku.objects.get(code="DM-KN01-BK-S")
    assert knit.option_values == {"색상": "블랙", "사이즈": "S"} and knit.option_label == "블랙 / S"
    assert list(Location.objects.order_by("priority").values_list("name", "priority", "sells")) == [
        ("본사 창고", 1, True),
        ("성수 매장", 2, True),
    ]
    assert Sku.objects.filter(kind=Sku.Kind.BUNDLE).count() == 3
    assert (
        StockMovement.objects.filter(reference=OPENING_REFERENCE, type="receive").count()
        == summary.receipts
        > 100
    )
    states = {state.value for _s, _a, state in sku_stock_rows(sku_list(filters={}))}
    assert states == {"soldout", "low", "ok"}
    assert sku_list(filters={"stock": "soldout"}).count() >= 5
    assert sku_list(filters={"stock": "low"}).count() >= 5


def test_loading_the_demo_twice_changes_nothing() -> None:
    load_demo()
    before = _counts()
    again = load_demo()
    assert (again.products_created, again.skus_created, again.bundles_created, again.receipts) == (0, 0, 0, 0)
    assert _counts() == before


def test_the_load_demo_command_loads_the_catalogue_too(capsys) -> None:
    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "catalog: 0 products / 0 SKUs / 0 bundles created, 0 opening receipts" in out
    assert Product.objects.filter(code="DM-SET01").exists()
    assert AuditLog.objects.filter(action="product.create", actor__username="admin").exists()
