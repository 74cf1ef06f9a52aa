"""Who may use the order desk: everyone with a role reads the list and the detail (staff hold
orders.view_*); managers and administrators act (confirm, hold, cancel, memo, manual orders)."""

from __future__ import annotations

from typing import Any

from oms.models import User
from orders.ingest import orders_ingest
from orders.models import Order, OrderLine
from tests.access import ALL, MANAGER_UP, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order


def _order(user: User, other: User) -> list[Any]:
    account = ChannelAccountFactory.create()
    result = orders_ingest(account=account, orders=[channel_order(channel_line())])
    return [Order.objects.get(pk=result.order_ids[0]).pk]


def _line(user: User, other: User) -> list[Any]:
    order_id = _order(user, other)[0]
    return [OrderLine.objects.filter(order_id=order_id).get().pk]


RULES = {
    "orders:order_list": Rule(get=ALL, post=NO_METHOD),
    "orders:order_bulk": Rule(get=NO_METHOD, post=MANAGER_UP),
    "orders:order_export": Rule(get=NO_METHOD, post=ALL),
    "orders:order_create": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "orders:sku_search": Rule(get=MANAGER_UP, post=NO_METHOD),
    "orders:order_detail": Rule(get=ALL, post=NO_METHOD, args=_order),
    "orders:order_memo": Rule(get=NO_METHOD, post=MANAGER_UP, args=_order),
    "orders:line_confirm": Rule(get=NO_METHOD, post=MANAGER_UP, args=_line),
    "orders:line_hold": Rule(get=NO_METHOD, post=MANAGER_UP, args=_line),
    "orders:line_unhold": Rule(get=NO_METHOD, post=MANAGER_UP, args=_line),
    "orders:line_cancel": Rule(get=NO_METHOD, post=MANAGER_UP, args=_line),
}
