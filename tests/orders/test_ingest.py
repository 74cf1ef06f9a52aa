from __future__ import annotations

import pytest

from channels.models import OptionMapping, OptionMappingItem
from channels.types import LineState
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from orders.ingest import orders_ingest, reserve_lines
from orders.models import LineSku, LineStatus, Order, OrderEvent, OrderLine
from tests.catalog.factories import SkuFactory, make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    account = ChannelAccountFactory.create()
    warehouse = LocationFactory.create()
    sweater = SkuFactory.create(code="KNIT-BK-S")
    stock_receive(sku=sweater, location=warehouse, quantity=5)
    return account, warehouse, sweater


def test_the_same_input_twice_creates_nothing(setup) -> None:
    account, _warehouse, sweater = setup
    orders = [channel_order(channel_line(codes=("KNIT-BK-S",))) for _ in range(3)]
    first = orders_ingest(account=account, orders=orders)
    assert (first.orders_created, first.lines_created, first.reserved) == (3, 3, 3)
    second = orders_ingest(account=account, orders=orders)
    assert (second.orders_created, second.lines_created, second.orders_unchanged, second.lines_unchanged) == (
        0,
        0,
        3,
        3,
    )
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 3
    assert StockLevel.objects.get(sku=sweater).reserved == 3
    assert Reservation.objects.count() == 3


def test_seven_orders_for_five_sweaters_reserve_five_oldest_first_and_flag_two(setup) -> None:
    account, _warehouse, sweater = setup
    orders = [channel_order(channel_line(codes=("KNIT-BK-S",)), minutes_ago=100 - i) for i in range(7)]
    result = orders_ingest(account=account, orders=orders)
    assert (result.reserved, result.backorder) == (5, 2)
    short = OrderLine.objects.filter(backorder=True).order_by("ordered_at")
    assert [ln.order.external_order_id for ln in short] == [
        orders[5].external_order_id,
        orders[6].external_order_id,
    ]
    assert StockLevel.objects.get(sku=sweater).reserved == 5
    assert OrderEvent.objects.filter(type=OrderEvent.Type.BACKORDER).count() == 2


def test_backorder_lines_are_reserved_oldest_first_when_stock_arrives(setup) -> None:
    account, warehouse, sweater = setup
    orders = [channel_order(channel_line(codes=("KNIT-BK-S",)), minutes_ago=100 - i) for i in range(7)]
    orders_ingest(account=account, orders=orders)
    stock_receive(sku=sweater, location=warehouse, quantity=1)
    waiting = list(OrderLine.objects.filter(backorder=True))
    reserved, short = reserve_lines(waiting, actor=None)
    assert [ln.order.external_order_id for ln in reserved] == [orders[5].external_order_id]
    assert len(short) == 1
    assert StockLevel.objects.get(sku=sweater).reserved == 6


def test_unmapped_lines_are_kept_and_flagged(setup) -> None:
    account, _w, _s = setup
    result = orders_ingest(account=account, orders=[channel_order(channel_line(codes=("NO-SUCH-SKU",)))])
    assert result.unmapped == 1
    line = OrderLine.objects.get()
    assert line.unmapped and not line.backorder and line.status == LineStatus.NEW
    assert not LineSku.objects.exists()


def test_option_mapping_wins_over_seller_codes_and_multiplies_quantities(setup) -> None:
    account, warehouse, sweater = setup
    scarf = SkuFactory.create(code="SCARF")
    stock_receive(sku=scarf, location=warehouse, quantity=10)
    mapping = OptionMapping.objects.create(account=account, channel_product_id="P100", option_key="블랙 / S")
    OptionMappingItem.objects.create(mapping=mapping, sku=sweater, quantity=1)
    OptionMappingItem.objects.create(mapping=mapping, sku=scarf, quantity=2)
    orders_ingest(account=account, orders=[channel_order(channel_line(codes=("SCARF",), quantity=2))])
    allocation = dict(LineSku.objects.values_list("sku__code", "quantity"))
    assert allocation == {"KNIT-BK-S": 2, "SCARF": 4}
    assert StockLevel.objects.get(sku=scarf).reserved == 4


def test_bundle_sku_codes_reserve_components(setup) -> None:
    account, warehouse, sweater = setup
    cup = SkuFactory.create(code="CUP")
    stock_receive(sku=cup, location=warehouse, quantity=4)
    make_bundle([(cup, 2), (sweater, 1)], code="SET-CUP-KNIT")
    orders_ingest(account=account, orders=[channel_order(channel_line(codes=("SET-CUP-KNIT",), quantity=2))])
    assert StockLevel.objects.get(sku=cup).reserved == 4
    assert StockLevel.objects.get(sku=sweater).reserved == 2
    assert OrderLine.objects.get().backorder is False


def test_a_changed_address_updates_the_order_flags_lines_and_writes_an_event(setup) -> None:
    account, _w, _s = setup
    original = channel_order(channel_line(codes=("KNIT-BK-S",)), order_id="O-1")
    orders_ingest(account=account, orders=[original])
    moved = channel_order(*original.lines, order_id="O-1", address1="부산광역시 해운대구 해운대로 570")
    result = orders_ingest(account=account, orders=[moved])
    assert result.orders_updated == 1
    order = Order.objects.get()
    assert order.address1 == "부산광역시 해운대구 해운대로 570"
    assert order.lines.get().address_changed
    event = OrderEvent.objects.get(type=OrderEvent.Type.ADDRESS_CHANGED)
    assert "address1" in event.message


def test_a_channel_cancel_releases_the_stock(setup) -> None:
    account, _w, sweater = setup
    line = channel_line(codes=("KNIT-BK-S",), line_id="L-1")
    orders_ingest(account=account, orders=[channel_order(line, order_id="O-1")])
    assert StockLevel.objects.get(sku=sweater).reserved == 1
    cancelled = channel_line(codes=("KNIT-BK-S",), line_id="L-1", state=LineState.CANCELLED)
    orders_ingest(account=account, orders=[channel_order(cancelled, order_id="O-1")])
    assert OrderLine.objects.get().status == LineStatus.CANCELLED
    assert StockLevel.objects.get(sku=sweater).reserved == 0
    # and a third identical collection changes nothing more
    again = orders_ingest(account=account, orders=[channel_order(cancelled, order_id="O-1")])
    assert again.lines_updated == 0


def test_phones_and_zips_are_normalised(setup) -> None:
    account, _w, _s = setup
    orders_ingest(
        account=account,
        orders=[
            channel_order(channel_line(codes=("KNIT-BK-S",)), recipient_phone=1012345678.0, zip_code=4524)
        ],
    )
    order = Order.objects.get()
    assert (order.recipient_phone, order.zip_code, order.phone_last4) == ("01012345678", "04524", "5678")


def test_lines_that_arrive_already_cancelled_reserve_nothing(setup) -> None:
    account, _w, sweater = setup
    orders_ingest(
        account=account,
        orders=[channel_order(channel_line(codes=("KNIT-BK-S",), state=LineState.CANCELLED))],
    )
    assert OrderLine.objects.get().status == LineStatus.CANCELLED
    assert StockLevel.objects.get(sku=sweater).reserved == 0


def test_orders_are_never_split_across_transactions(setup) -> None:
    account, _w, _s = setup
    orders = [channel_order(channel_line(codes=("KNIT-BK-S",)), channel_line()) for _ in range(5)]
    calls: list[int] = []
    result = orders_ingest(account=account, orders=orders, batch_size=2, progress=calls.append)
    assert calls == [2, 4, 5]
    assert result.lines_created == 10
    for order in Order.objects.all():
        assert order.lines.count() == 2


def test_without_a_product_id_the_same_option_of_two_products_is_two_mappings(setup) -> None:
    account, _warehouse, sweater = setup
    from orders.ingest import option_key

    knit = channel_line(product_id="", option="블랙")
    mug = channel_line(product_id="", option="블랙")
    mug = type(mug)(**{**mug.__dict__, "product_name": "머그컵"})
    assert option_key(knit) != option_key(mug)
    mapping = OptionMapping.objects.create(
        account=account, channel_product_id="", option_key=option_key(knit)
    )
    OptionMappingItem.objects.create(mapping=mapping, sku=sweater, quantity=1)
    orders_ingest(account=account, orders=[channel_order(knit), channel_order(mug)])
    mapped = dict(OrderLine.objects.values_list("product_name", "unmapped"))
    assert mapped == {"울 라운드 니트": False, "머그컵": True}


def test_the_same_data_again_writes_nothing_and_a_change_is_still_seen(setup) -> None:
    account, _w, _s = setup
    original = channel_order(channel_line(codes=("KNIT-BK-S",)), order_id="O-9")
    orders_ingest(account=account, orders=[original])
    stamp = Order.objects.values_list("updated_at", "ingest_digest").get()
    events = OrderEvent.objects.count()

    # the same order again (a re-uploaded sheet) is recognised by its digest: nothing is written
    again = orders_ingest(account=account, orders=[original])
    assert (again.orders_unchanged, again.lines_unchanged, again.orders_updated) == (1, 1, 0)
    assert Order.objects.values_list("updated_at", "ingest_digest").get() == stamp
    assert OrderEvent.objects.count() == events

    # a changed delivery message is compared field by field and recorded
    changed = channel_order(*original.lines, order_id="O-9", delivery_message="경비실")
    result = orders_ingest(account=account, orders=[changed])
    assert result.orders_updated == 1
    order = Order.objects.get()
    assert order.delivery_message == "경비실" and order.ingest_digest != stamp[1]
    assert OrderEvent.objects.filter(type=OrderEvent.Type.UPDATED).count() == 1


def test_orders_stored_before_digests_are_compared_field_by_field(setup) -> None:
    account, _w, _s = setup
    original = channel_order(channel_line(codes=("KNIT-BK-S",)), order_id="O-10")
    orders_ingest(account=account, orders=[original])
    Order.objects.update(ingest_digest="")
    moved = channel_order(*original.lines, order_id="O-10", address1="부산광역시 해운대구 해운대로 570")
    result = orders_ingest(account=account, orders=[moved])
    assert result.orders_updated == 1 and Order.objects.get().ingest_digest
    assert OrderLine.objects.get().address_changed


def test_a_new_order_of_three_lines_has_one_reserved_event_naming_them(setup) -> None:
    account, warehouse, _sweater = setup
    cup = SkuFactory.create(code="CUP")
    stock_receive(sku=cup, location=warehouse, quantity=1)
    knit = channel_line(codes=("KNIT-BK-S",))
    mug = type(knit)(**{**channel_line(codes=("CUP",)).__dict__, "product_name": "머그컵"})
    mug_short = type(knit)(**{**channel_line(codes=("CUP",)).__dict__, "product_name": "머그컵"})
    orders_ingest(account=account, orders=[channel_order(knit, mug, mug_short)])

    reserved = OrderEvent.objects.get(type=OrderEvent.Type.RESERVED)
    assert reserved.line is None and reserved.message == "울 라운드 니트, 머그컵"
    assert len(reserved.data["lines"]) == 2
    short = OrderEvent.objects.get(type=OrderEvent.Type.BACKORDER)
    assert short.line is not None and short.line.backorder and "CUP -1" in short.message
    types = list(OrderEvent.objects.order_by("id").values_list("type", flat=True))
    assert types[0] == OrderEvent.Type.COLLECTED


def test_a_new_order_whose_line_is_already_stored_does_not_duplicate_it(setup) -> None:
    account, _w, sweater = setup
    line = channel_line(codes=("KNIT-BK-S",), line_id="L-SHARED")
    orders_ingest(account=account, orders=[channel_order(line, order_id="O-A")])
    result = orders_ingest(account=account, orders=[channel_order(line, order_id="O-B")])
    assert result.lines_created == 0 and OrderLine.objects.count() == 1
    assert StockLevel.objects.get(sku=sweater).reserved == 1


def test_new_lines_take_ascending_keys_in_input_order_and_leave_the_garbage_collector_on(setup) -> None:
    import gc

    account, _warehouse, _sweater = setup
    orders = [
        channel_order(*(channel_line(codes=("KNIT-BK-S",)) for _ in range(3))),
        channel_order(channel_line(codes=("NO-SUCH",))),
    ]
    assert gc.isenabled()
    orders_ingest(account=account, orders=orders)
    assert gc.isenabled()
    stored = list(OrderLine.objects.order_by("pk").values_list("external_line_id", flat=True))
    assert stored == [ln.external_line_id for o in orders for ln in o.lines]
    assert list(Order.objects.order_by("pk").values_list("external_order_id", flat=True)) == [
        o.external_order_id for o in orders
    ]


def test_the_garbage_collector_pause_restores_what_it_found() -> None:
    import gc

    from oms.db import without_cyclic_gc

    with without_cyclic_gc():
        assert not gc.isenabled()
        with without_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it off and leaves it off
    assert gc.isenabled()
    gc.disable()
    try:
        with without_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
