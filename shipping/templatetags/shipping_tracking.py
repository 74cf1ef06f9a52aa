"""For the tracking cell of a desk row: the couriers to choose from, read once per request
(a desk page has a hundred rows)."""

from __future__ import annotations

from typing import Any

from django import template

from shipping.models import Courier

register = template.Library()

_CACHE_ATTR = "_shipping_tracking_couriers"


@register.simple_tag
def tracking_couriers(request: Any) -> list[Courier]:
    couriers: list[Courier] | None = getattr(request, _CACHE_ATTR, None) if request is not None else None
    if couriers is None:
        couriers = list(Courier.objects.filter(is_active=True).order_by("sort_order", "name"))
        if request is not None:
            setattr(request, _CACHE_ATTR, couriers)
    return couriers


@register.simple_tag
def tracking_default_courier_id(shipment: Any, couriers: list[Courier]) -> int | None:
    """The courier the select starts on: the box's own, else the default courier."""
    if getattr(shipment, "courier_id", None):
        return int(shipment.courier_id)
    return next((c.pk for c in couriers if c.is_default), couriers[0].pk if couriers else None)


@register.simple_tag
def tracking_editable(shipment: Any, request: Any) -> bool:
    """Whether this user may type this box's number here: open boxes, shipping.change_shipment."""
    from shipping.models import OPEN_SHIPMENT_STATES

    user = getattr(request, "user", None)
    return bool(
        shipment is not None
        and shipment.status in OPEN_SHIPMENT_STATES
        and user is not None
        and user.has_perm("shipping.change_shipment")
    )


_SCRIPT_ATTR = "_shipping_tracking_script"


@register.simple_tag
def tracking_script(request: Any) -> str:
    """The editor's script tag, once per response however many rows include the cell (the
    script itself ignores a second load, e.g. from an htmx swap)."""
    from django.templatetags.static import static
    from django.utils.html import format_html

    if request is not None:
        if getattr(request, _SCRIPT_ATTR, False):
            return ""
        setattr(request, _SCRIPT_ATTR, True)
    return format_html('<script src="{}" defer></script>', static("js/tracking.js"))
