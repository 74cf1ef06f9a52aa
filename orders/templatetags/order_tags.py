"""Display helpers for the order screens."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from orders.models import LineStatus, Order

register = template.Library()

STATUS_TONES = {
    "new": "new",
    "confirmed": "ok",
    "ready": "ok",
    "shipped": "done",
    "delivered": "done",
    "completed": "done",
    "hold": "warn",
    "cancel_requested": "bad",
    "cancelled": "muted",
    "return_requested": "bad",
    "returned": "muted",
    "exchange_requested": "bad",
    "exchanged": "muted",
}


@register.filter
def phone(digits: str | None) -> str:
    """Stored phone digits as people write them: 010-1234-5678, 02-123-4567, 0504-1234-5678."""
    d = digits or ""
    if not d.isdigit():
        return d
    if d.startswith("02") and len(d) in (9, 10):
        return f"02-{d[2:-4]}-{d[-4:]}"
    if d.startswith("050") and len(d) == 12:
        return f"{d[:4]}-{d[4:8]}-{d[8:]}"
    if len(d) == 8 and d[0] == "1":
        return f"{d[:4]}-{d[4:]}"
    if len(d) in (10, 11) and d.startswith("0"):
        return f"{d[:3]}-{d[3:-4]}-{d[-4:]}"
    return d


@register.filter
def is_safe_number(digits: str | None) -> bool:
    """050x 안심번호: a temporary number the marketplace forwards, not the customer's own."""
    d = digits or ""
    return d.startswith("050") and len(d) in (11, 12)


@register.filter
def status_tone(status: str) -> str:
    return STATUS_TONES.get(status, "")


@register.filter
def source_label(value: str) -> str:
    """Where an order came from (API / Excel / manual), as the user reads it."""
    try:
        return str(Order.Source(value).label)
    except ValueError:
        return value


_STATUS_LABELS: dict[tuple[str, str], str] = {}


@register.filter
def status_label(status: str) -> str:
    """A line state's label; cheaper than get_status_display, which rebuilds the choices dict on
    every call (it showed up as the top cost of rendering a 50-line page)."""
    key = (get_language() or "", status)
    label = _STATUS_LABELS.get(key)
    if label is None:
        try:
            label = _STATUS_LABELS[key] = str(LineStatus(status).label)
        except ValueError:
            return status
    return label
