"""Who may enter tracking numbers: every role (staff hold every shipping permission but the
courier table's). Typing one in place and the sheet upload need shipping.change_shipment; the
sheets to fill in need shipping.view_shipment."""

from __future__ import annotations

from typing import Any

from oms.models import ImportSession, User
from tests.access import ALL, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory
from tests.shipping.factories import ready_shipment


def _shipment(user: User, other: User) -> list[Any]:
    return [ready_shipment(ChannelAccountFactory.create()).pk]


def _own_upload(user: User, other: User) -> list[Any]:
    session = ImportSession.objects.create(
        kind=ImportSession.Kind.TRACKING,
        owner=user,
        original_name="tracking.xlsx",
        status=ImportSession.Status.INVALID,
    )
    return [session.pk]


RULES = {
    "shipping:shipment_tracking": Rule(get=NO_METHOD, post=ALL, args=_shipment),
    "shipping:tracking_import": Rule(get=ALL, post=ALL),
    "shipping:tracking_import_template": Rule(get=ALL, post=NO_METHOD),
    "shipping:tracking_import_export": Rule(get=ALL, post=NO_METHOD),
    "shipping:tracking_import_detail": Rule(get=ALL, post=NO_METHOD, args=_own_upload),
    "shipping:tracking_import_commit": Rule(get=NO_METHOD, post=ALL, args=_own_upload),
    "shipping:tracking_import_cancel": Rule(get=NO_METHOD, post=ALL, args=_own_upload),
    "shipping:tracking_import_errors": Rule(get=ALL, post=NO_METHOD, args=_own_upload),
}
