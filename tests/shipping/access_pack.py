"""Who may use the pick list, packing slips and the packing table: every role (staff pick and
pack; scanning needs shipping.change_shipment, which every role holds)."""

from __future__ import annotations

from typing import Any

from oms.models import User
from tests.access import ALL, NO_METHOD, READ_ONLY, Rule
from tests.channels.factories import ChannelAccountFactory
from tests.shipping.factories import ready_shipment


def _box(user: User, other: User) -> list[Any]:
    return [ready_shipment(ChannelAccountFactory.create()).pk]


RULES = {
    "shipping:picking": Rule(get=ALL, post=READ_ONLY),
    "shipping:picking_print": Rule(get=ALL, post=READ_ONLY),
    "shipping:slips": Rule(get=ALL, post=READ_ONLY),
    "shipping:pack": Rule(get=ALL, post=NO_METHOD),
    "shipping:pack_scan": Rule(get=NO_METHOD, post=ALL),
    "shipping:pack_box": Rule(get=ALL, post=NO_METHOD, args=_box),
    "shipping:pack_reset": Rule(get=NO_METHOD, post=ALL, args=_box),
}
