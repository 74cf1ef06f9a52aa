"""The boxes of an order, for the order page: which shipment each line is in, its state, the
courier and tracking number (a link to the courier's tracking page) and when it left."""

from __future__ import annotations

from typing import Any

from django import template

from shipping.models import Shipment, ShipmentItem

register = template.Library()


@register.inclusion_tag("shipping/order_shipments.html", takes_context=True)
def order_shipments(context: dict[str, Any], order: Any) -> dict[str, Any]:
    boxes = list(
        Shipment.objects.filter(items__line__order=order).select_related("courier").distinct().order_by("pk")
    )
    lines: dict[int, list[str]] = {}
    for shipment_id, line_no in (
        ShipmentItem.objects.filter(line__order=order)
        .order_by("line_id")
        .values_list("shipment_id", "line__external_line_id")
    ):
        lines.setdefault(shipment_id, []).append(line_no)
    for box in boxes:
        box.order_lines = lines.get(box.pk, [])  # type: ignore[attr-defined]
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "boxes": boxes,
        "can_open": bool(user is not None and user.has_perm("shipping.view_shipment")),
    }
