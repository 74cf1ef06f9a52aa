"""Who may use the courier table and the courier sheet: everyone with a role reads the couriers
and downloads courier sheets (staff run the shipping desk); only administrators add couriers,
change them or choose the default (oms.roles: the courier table is admin-edited)."""

from __future__ import annotations

from typing import Any

from oms.models import User
from tests.access import ADMIN, ALL, NO_METHOD, Rule
from tests.shipping.factories import courier


def _courier(user: User, other: User) -> list[Any]:
    return [courier("HANJIN").pk]


RULES = {
    "shipping:courier_list": Rule(get=ALL, post=NO_METHOD),
    "shipping:courier_create": Rule(get=ADMIN, post=ADMIN),
    "shipping:courier_edit": Rule(get=ADMIN, post=ADMIN, args=_courier),
    "shipping:courier_default": Rule(get=NO_METHOD, post=ADMIN, args=_courier),
    "shipping:courier_sheet": Rule(get=ALL, post=ALL),
}
