"""매칭 and 재할당 under real concurrency (Postgres only): two people saving the same option,
auto-match racing a hand save, and 재할당 pressed twice while orders are being cancelled.
Whatever the interleaving, every line is mapped once and stock is never over-reserved."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Sum

from channels.models import OptionMapping, OptionMappingItem
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from oms.roles import Role
from orders.ingest import orders_ingest
from orders.mapping import backorder_reassign, option_mapping_save, unmapped_auto_match
from orders.models import LineSku, LineStatus, OrderEvent, OrderLine
from orders.services import order_line_cancel
from tests.catalog.factories import SkuFactory
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.inventory.test_concurrency import assert_books_balance, run_together
from tests.orders.builders import channel_line, channel_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def waiting(make_user):
    """10 orders of an option nobody mapped, 6 sweaters on hand."""

    class Waiting:
        account = ChannelAccountFactory.create()
        warehouse = LocationFactory.create()
        sweater = SkuFactory.create(code="KNIT-BK-S")
        manager = make_user(Role.MANAGER)

    stock_receive(sku=Waiting.sweater, location=Waiting.warehouse, quantity=6)
    orders_ingest(
        account=Waiting.account,
        orders=[channel_order(channel_line(option="KNIT-BK-S"), minutes_ago=100 - i) for i in range(10)],
    )
    return Waiting


def save(w) -> object:
    return option_mapping_save(
        account=w.account,
        channel_product_id="P100",
        option_key="KNIT-BK-S",
        product_name="울 라운드 니트",
        option_text="KNIT-BK-S",
        items=[(w.sweater, 1)],
        actor=w.manager,
    )


def assert_each_line_mapped_once_and_oldest_reserved(w) -> None:
    assert not OrderLine.objects.filter(unmapped=True).exists()
    assert Counter(LineSku.objects.values_list("line_id", flat=True)).most_common(1)[0][1] == 1
    assert LineSku.objects.count() == 10
    assert OrderEvent.objects.filter(type=OrderEvent.Type.MAPPED).count() == 10
    assert OptionMapping.objects.count() == 1 and OptionMappingItem.objects.count() == 1
    assert StockLevel.objects.get(sku=w.sweater).reserved == 6
    lines = list(OrderLine.objects.order_by("ordered_at"))
    assert [ln.backorder for ln in lines] == [False] * 6 + [True] * 4
    assert_books_balance()


@pytest.mark.parametrize("saved_before", [False, True], ids=["new-mapping", "mapping-exists"])
def test_eight_people_saving_the_same_option_at_once_map_each_line_once(waiting, saved_before) -> None:
    if saved_before:
        # Saved while these orders were being collected: they came in unmapped all the same.
        mapping = OptionMapping.objects.create(
            account=waiting.account,
            channel_product_id="P100",
            option_key="KNIT-BK-S",
            product_name="울 라운드 니트",
            option_text="KNIT-BK-S",
        )
        OptionMappingItem.objects.create(mapping=mapping, sku=waiting.sweater, quantity=1)

    outcomes = run_together([lambda: save(waiting)] * 8)

    assert [repr(o.error) for o in outcomes if o.error] == []
    assert sum(o.value.counts.mapped for o in outcomes) == 10
    assert_each_line_mapped_once_and_oldest_reserved(waiting)


def test_auto_match_racing_hand_saves_maps_each_line_once(waiting) -> None:
    jobs = [lambda: unmapped_auto_match(actor=waiting.manager)] * 3 + [lambda: save(waiting)] * 3
    outcomes = run_together(jobs)

    assert [repr(o.error) for o in outcomes if o.error] == []
    assert_each_line_mapped_once_and_oldest_reserved(waiting)


def test_reassign_pressed_four_times_while_lines_are_cancelled_never_over_reserves(waiting) -> None:
    save(waiting)  # 6 reserved, 4 short
    stock_receive(sku=waiting.sweater, location=waiting.warehouse, quantity=3)
    short = list(OrderLine.objects.filter(backorder=True).order_by("ordered_at"))
    cancelled = short[:2]
    jobs = [lambda: backorder_reassign(actor=waiting.manager)] * 4 + [
        (lambda line=line: order_line_cancel(line=line, actor=waiting.manager)) for line in cancelled
    ]

    outcomes = run_together(jobs)

    assert [repr(o.error) for o in outcomes if o.error] == []
    level = StockLevel.objects.get(sku=waiting.sweater)
    assert level.reserved <= level.on_hand == 9
    for line in cancelled:
        line.refresh_from_db()
        assert line.status == LineStatus.CANCELLED and not line.backorder
        assert not Reservation.objects.filter(reference=line.reservation_reference, quantity__gt=0).exists()
    # The two that were not cancelled got the 3 new sweaters; no line holds twice.
    open_lines = OrderLine.objects.exclude(status=LineStatus.CANCELLED)
    assert not open_lines.filter(backorder=True).exists()
    held = Reservation.objects.filter(quantity__gt=0).values("reference").annotate(q=Sum("quantity"))
    assert sorted(row["q"] for row in held) == [1] * 8
    assert level.reserved == 8
    assert_books_balance()
