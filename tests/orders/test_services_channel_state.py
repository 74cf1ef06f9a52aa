"""A state the channel reports moves the line, and stock follows: a line the marketplace says
was shipped (sent from its own screen) no longer holds stock on our shelf."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory.models import StockLevel, StockMovement
from orders.models import LineStatus, OrderLine
from orders.services import order_line_apply_channel_state, order_lines_ship
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, make_ready, stocked_sku

pytestmark = pytest.mark.django_db


def _line(quantity: int = 2) -> OrderLine:
    sku = stocked_sku("KNIT-BK-S", quantity=10)
    (order,) = ingest_orders(
        ChannelAccountFactory.create(), [channel_order(channel_line(codes=(sku.code,), quantity=quantity))]
    )
    return order.lines.get()


def _level() -> StockLevel:
    return StockLevel.objects.get(sku__code="KNIT-BK-S")


def test_a_line_the_channel_reports_shipped_consumes_its_reservation_once() -> None:
    line = _line()
    assert (_level().on_hand, _level().reserved) == (10, 2)

    with transaction.atomic():
        order_line_apply_channel_state(
            line=OrderLine.objects.select_for_update().get(pk=line.pk), target=LineStatus.SHIPPED, actor=None
        )
    assert (_level().on_hand, _level().reserved) == (8, 0)
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP, quantity=-2).count() == 1

    # Delivered later, then our own dispatch answers too: nothing is taken twice.
    with transaction.atomic():
        order_line_apply_channel_state(
            line=OrderLine.objects.select_for_update().get(pk=line.pk),
            target=LineStatus.DELIVERED,
            actor=None,
        )
    order_lines_ship(lines=[OrderLine.objects.get(pk=line.pk)], actor=None)
    assert (_level().on_hand, _level().reserved) == (8, 0)
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() == 1


def test_a_cancel_the_channel_reports_releases_instead() -> None:
    line = make_ready([_line()])[0]
    with transaction.atomic():
        order_line_apply_channel_state(
            line=OrderLine.objects.select_for_update().get(pk=line.pk),
            target=LineStatus.CANCELLED,
            actor=None,
        )
    assert (_level().on_hand, _level().reserved) == (10, 0)
    assert not StockMovement.objects.filter(type=StockMovement.Type.SHIP).exists()
