from __future__ import annotations

import pytest
from django.db.models import Count

from channels.models import ChannelAccount
from inventory.models import StockLevel
from inventory.services import stock_receive
from orders.demo import ACCOUNTS, orders_demo_load
from orders.models import LineStatus, Order, OrderEvent, OrderLine
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog() -> None:
    warehouse = LocationFactory.create()
    for p in range(8):
        product = ProductFactory.create(sale_price=19000 + p * 5000)
        for s in range(3):
            sku = SkuFactory.create(product=product, option_label=f"옵션 {s}")
            if (p, s) != (0, 0):  # one SKU has nothing: its orders wait for stock
                stock_receive(sku=sku, location=warehouse, quantity=40)


def _snapshot() -> tuple:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        sorted(OrderLine.objects.values_list("status").annotate(n=Count("pk"))),
        sorted(StockLevel.objects.values_list("sku_id", "on_hand", "reserved")),
        sorted(Order.objects.values_list("external_order_id", "recipient_name", "address1", "paid_at")),
    )


def test_demo_orders_cover_every_state_and_flag_and_load_twice_without_change(catalog: None) -> None:
    first = orders_demo_load()
    assert first.accounts_created == 4 and first.orders_created == sum(a.orders for a in ACCOUNTS)
    assert set(ChannelAccount.objects.values_list("name", flat=True)) == {a.name for a in ACCOUNTS}
    statuses = set(OrderLine.objects.values_list("status", flat=True))
    assert {
        LineStatus.NEW,
        LineStatus.CONFIRMED,
        LineStatus.HOLD,
        LineStatus.CANCELLED,
        LineStatus.CANCEL_REQUESTED,
        LineStatus.SHIPPED,
    } <= statuses
    new = OrderLine.objects.filter(status=LineStatus.NEW).count()
    assert new > OrderLine.objects.count() / 2  # mostly new, as a morning queue looks
    assert OrderLine.objects.filter(unmapped=True).exists()
    assert OrderLine.objects.filter(backorder=True).exists()
    assert OrderLine.objects.filter(address_changed=True).exists()
    assert Order.objects.filter(zip_is_old=True).exists()
    assert Order.objects.filter(recipient_phone__startswith="050").exists()
    # Every status change went through the state machine, with its event.
    moved = OrderLine.objects.exclude(status=LineStatus.NEW).filter(
        status__in=["confirmed", "hold", "cancelled"]
    )
    assert OrderEvent.objects.filter(type=OrderEvent.Type.STATUS).count() >= moved.count()
    # Held lines remember where they came from, as the machine records it.
    assert not OrderLine.objects.filter(status=LineStatus.HOLD, status_before_hold="").exists()

    before = _snapshot()
    second = orders_demo_load()
    assert (second.accounts_created, second.orders_created, second.lines_created, second.actions) == (
        0,
        0,
        0,
        0,
    )
    assert _snapshot() == before


def test_demo_without_a_catalog_says_so_and_writes_nothing() -> None:
    result = orders_demo_load()
    assert result.notes and not ChannelAccount.objects.exists() and not Order.objects.exists()
