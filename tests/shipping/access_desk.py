"""Who may use the shipment list and a box's detail: every role runs the shipping desk (staff
hold every shipping permission except changing couriers), so everyone reads, builds, combines,
splits and cancels boxes."""

from __future__ import annotations

from typing import Any

from channels.models import ChannelAccount
from oms.models import User
from tests.access import ALL, NO_METHOD, Rule
from tests.shipping.factories import ready_shipment


def _shipment(user: User, other: User) -> list[Any]:
    account = ChannelAccount.objects.first()
    if account is None:
        from tests.channels.factories import ChannelAccountFactory

        account = ChannelAccountFactory.create()
    return [ready_shipment(account).pk]


RULES = {
    "shipping:desk": Rule(get=ALL, post=NO_METHOD),
    "shipping:desk_bulk": Rule(get=NO_METHOD, post=ALL),
    "shipping:desk_export": Rule(get=NO_METHOD, post=ALL),
    "shipping:desk_build": Rule(get=NO_METHOD, post=ALL),
    "shipping:shipment_detail": Rule(get=ALL, post=NO_METHOD, args=_shipment),
    "shipping:shipment_split": Rule(get=NO_METHOD, post=ALL, args=_shipment),
    "shipping:shipment_cancel": Rule(get=NO_METHOD, post=ALL, args=_shipment),
    "shipping:shipment_prune": Rule(get=NO_METHOD, post=ALL, args=_shipment),
}
