"""Reads of the sandbox marketplace: the order API's pages and the page's lists."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from channels.sandbox_models import (
    SandboxApiKey,
    SandboxEvent,
    SandboxListing,
    SandboxOrder,
    SandboxOrderLine,
)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class OrdersPage:
    orders: list[SandboxOrder]
    next_cursor: str | None


def encode_cursor(order: SandboxOrder) -> str:
    raw = json.dumps([order.changed_at.isoformat(), order.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        changed, pk = json.loads(raw)
        moment = datetime.fromisoformat(changed)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if moment.tzinfo is None or not isinstance(pk, int):
        raise BadCursor(cursor)
    return moment, pk


def sandbox_orders_changed(*, since: datetime, until: datetime, cursor: str = "", limit: int) -> OrdersPage:
    """Orders changed in [since, until), oldest change first, `limit` at a time. The cursor is
    the last order of the previous page (its change time and id). BadCursor when unreadable."""
    orders = SandboxOrder.objects.filter(changed_at__gte=since, changed_at__lt=until)
    if cursor:
        moment, pk = decode_cursor(cursor)
        orders = orders.filter(Q(changed_at__gt=moment) | Q(changed_at=moment, pk__gt=pk))
    rows = list(
        orders.order_by("changed_at", "pk").prefetch_related(
            Prefetch("lines", queryset=SandboxOrderLine.objects.order_by("pk"))
        )[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return OrdersPage(orders=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


def sandbox_event_list(*, kind: str = "") -> QuerySet[SandboxEvent]:
    events = SandboxEvent.objects.all()
    if kind:
        events = events.filter(kind=kind)
    return events


def sandbox_listing_list() -> QuerySet[SandboxListing]:
    return SandboxListing.objects.annotate(
        sold=Sum("order_lines__quantity"),
    ).order_by("product_id", "option_id")


def sandbox_order_list() -> QuerySet[SandboxOrder]:
    return SandboxOrder.objects.prefetch_related(
        Prefetch("lines", queryset=SandboxOrderLine.objects.order_by("pk"))
    ).order_by("-pk")


@dataclass(frozen=True)
class SandboxCounts:
    orders: int
    lines_new: int
    lines_confirmed: int
    lines_dispatched: int
    listings: int
    sold_out: int


def sandbox_counts() -> SandboxCounts:
    by_status = dict(
        SandboxOrderLine.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    listings = SandboxListing.objects.aggregate(
        total=Count("pk"), sold_out=Count("pk", filter=Q(stock_quantity=0))
    )
    return SandboxCounts(
        orders=SandboxOrder.objects.count(),
        lines_new=by_status.get(SandboxOrderLine.Status.NEW, 0),
        lines_confirmed=by_status.get(SandboxOrderLine.Status.CONFIRMED, 0),
        lines_dispatched=by_status.get(SandboxOrderLine.Status.DISPATCHED, 0),
        listings=listings["total"],
        sold_out=listings["sold_out"],
    )


def sandbox_key_list() -> QuerySet[SandboxApiKey]:
    return SandboxApiKey.objects.order_by("-pk")
