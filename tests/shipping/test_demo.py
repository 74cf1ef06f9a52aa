"""The shipping desk demo (shipping/demo.py, run by load_demo): a desk with boxes in every
state, made through the services, and a second load changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from inventory.models import StockMovement
from oms.models import User
from orders.models import LineStatus, OrderEvent, OrderLine
from shipping.demo import REPEAT_ORDERS
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.selectors import buildable_lines
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple:
    return (
        sorted(Shipment.objects.values_list("pk", "status", "tracking_number", "merge_key")),
        sorted(ShipmentItem.objects.values_list("pk", "shipment_id", "line_id", "dispatch_state")),
        sorted(OrderLine.objects.values_list("status").annotate(n=Count("pk"))),
        OrderEvent.objects.count(),
        StockMovement.objects.count(),
    )


def test_demo_desk_has_boxes_in_every_state_and_loads_twice_without_duplicates() -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "shipping desk:" in out.getvalue()
    first = _snapshot()
    statuses = dict(Shipment.objects.values_list("status").annotate(n=Count("pk")))
    for state in (
        ShipmentStatus.READY,
        ShipmentStatus.PRINTED,
        ShipmentStatus.PACKED,
        ShipmentStatus.SHIPPED,
    ):
        assert statuses.get(state, 0) >= 1, (state, statuses)
    # Confirmed lines still wait for a box.
    assert buildable_lines().count() > 0
    # Printed boxes with and without the courier's number.
    printed = Shipment.objects.filter(status=ShipmentStatus.PRINTED)
    assert printed.exclude(tracking_number="").exists() and printed.filter(tracking_number="").exists()
    # The repeat customer's two orders share one READY box (합포장).
    merged = Shipment.objects.get(items__line__order__external_order_id=REPEAT_ORDERS[0])
    assert merged.status == ShipmentStatus.READY
    assert set(merged.items.values_list("line__order__external_order_id", flat=True).distinct()) == set(
        REPEAT_ORDERS
    )
    # Its lines' history says where they went (a box of one order is not "합포장").
    line = merged.items.order_by("pk")[0].line
    messages = set(OrderEvent.objects.filter(line=line).values_list("message", flat=True))
    assert f"출고 {merged.number}에 담음" in messages and "발주확인 → 출고대기 (출고 생성)" in messages
    # Shipped boxes went out by the Excel-only channels' dispatch sheet: lines SHIPPED, stock consumed.
    shipped_lines = OrderLine.objects.filter(shipment_item__shipment__status=ShipmentStatus.SHIPPED)
    assert set(shipped_lines.values_list("status", flat=True)) == {LineStatus.SHIPPED}
    assert set(
        ShipmentItem.objects.filter(shipment__status=ShipmentStatus.SHIPPED).values_list(
            "dispatch_state", flat=True
        )
    ) == {ShipmentItem.Dispatch.EXCEL}
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() >= shipped_lines.count()
    assert Shipment.objects.filter(status=ShipmentStatus.PACKED, packed_by__isnull=False).exists()

    call_command("load_demo", stdout=StringIO())
    assert _snapshot() == first

    # The seller's first look: the desk lists the boxes to work on, the repeat customer's among them.
    response = client_for(User.objects.get(username="staff")).get(reverse("shipping:desk"))
    assert response.status_code == 200
    assert merged.number in response.content.decode()
