"""Reads for the shipping desk: the shipment list with its filters and search, a box's detail,
the lines waiting for a box, and the per-row summaries the list prints."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from channels.models import ChannelAccount
from oms.listing import COUNT_CAP, capped_counts
from orders.models import LineSku, LineStatus, OrderLine
from orders.normalize import normalize_phone
from shipping.models import (
    OPEN_SHIPMENT_STATES,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    shipment_pk_from_number,
)

S = LineStatus

# Lines a box may be built from: confirmed ones, and READY ones in no box (a line that left a
# box on a cancel request and came back).
BUILDABLE_STATES = (S.CONFIRMED, S.READY)
# The only line state that is picked, packed and shipped from a box.
LIVE_LINE_STATES = (S.READY,)
# Lines that left in their box (what a shipped box's page counts).
SENT_LINE_STATES = (S.SHIPPED, S.DELIVERED, S.COMPLETED)
# Lines of an open box in these states leave it (shipment_prune); held lines stay but don't ship.
PRUNED_LINE_STATES = (S.NEW, S.CONFIRMED, S.CANCEL_REQUESTED, S.CANCELLED)

# Boxes that can still be merged, split or dissolved: nothing packed, nothing sent.
EDITABLE_STATES = (ShipmentStatus.READY, ShipmentStatus.PRINTED)

_SHIPMENT_NO = re.compile(r"^[sS]\d{1,12}$")


# --- Items that ship (for pick lists, packing, dispatch) ---------------------------------------


def live_items_q(prefix: str = "") -> Q:
    """Items whose line really ships (READY): `ShipmentItem.objects.filter(live_items_q())`, or
    `Shipment.objects.filter(live_items_q("items__"))`."""
    return Q(**{f"{prefix}line__status__in": LIVE_LINE_STATES})


def stale_items_q(prefix: str = "") -> Q:
    """Items whose line will not ship from the box (cancelled, asked to be, back to confirmed)."""
    return Q(**{f"{prefix}line__status__in": PRUNED_LINE_STATES})


def live_items(shipment: Shipment | int) -> QuerySet[ShipmentItem]:
    """A box's items that ship: lines cancelled, asked to be cancelled or on hold are left out."""
    shipment_id = shipment if isinstance(shipment, int) else shipment.pk
    return (
        ShipmentItem.objects.filter(shipment_id=shipment_id)
        .filter(live_items_q())
        .select_related("line", "line__order")
        .order_by("pk")
    )


def shipments_from_ids(text: str | None) -> list[int]:
    """`?ids=1,2,3` (what the desk passes to the other pages) -> [1, 2, 3]; junk is ignored."""
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
        elif part:
            pk = shipment_pk_from_number(part)
            if pk:
                out.append(pk)
    return sorted(set(out))[:10000]


# --- Lines waiting for a box ----------------------------------------------------------------


def buildable_lines(
    *, account: ChannelAccount | None = None, line_ids: Sequence[int] | None = None
) -> QuerySet[OrderLine]:
    """Lines a build would box now: confirmed (or READY in no box), mapped, fully reserved."""
    lines = OrderLine.objects.filter(
        status__in=BUILDABLE_STATES,
        shipment_item__isnull=True,
        unmapped=False,
        backorder=False,
        skus__isnull=False,
    )
    if account is not None:
        lines = lines.filter(account=account)
    if line_ids is not None:
        lines = lines.filter(pk__in=list(line_ids))
    return lines.distinct()


def buildable_line_count(*, account: ChannelAccount | None = None) -> int:
    return buildable_lines(account=account).count()


def blocked_line_count(*, account: ChannelAccount | None = None) -> int:
    """Confirmed lines that can't be boxed yet (mapping, stock, hold)."""
    lines = OrderLine.objects.filter(shipment_item__isnull=True).filter(
        Q(status__in=BUILDABLE_STATES) & (Q(unmapped=True) | Q(backorder=True))
        | Q(status=S.HOLD, status_before_hold__in=BUILDABLE_STATES)
    )
    if account is not None:
        lines = lines.filter(account=account)
    return lines.count()


# --- The list --------------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def shipment_list(*, filters: dict[str, Any]) -> QuerySet[Shipment]:
    """Shipments matching the desk's filters: status (or "open"; none = every box but cancelled
    ones, unless searching), account, courier, tracking (yes/no), created from/to, ids, and the
    search box (출고번호, order or line no., recipient name by prefix, phone, tracking number)."""
    qs = Shipment.objects.select_related("account", "courier")
    status = filters.get("status") or ""
    if status == "open":
        qs = qs.filter(status__in=OPEN_SHIPMENT_STATES)
    elif status:
        qs = qs.filter(status=status)
    elif not filters.get("q") and not filters.get("ids") and not filters.get("with_cancelled"):
        # Boxes emptied by a merge or dissolved are history: shown on their own tab or when
        # searched for, not among the boxes to work on.
        qs = qs.exclude(status=ShipmentStatus.CANCELLED)
    if filters.get("account"):
        account = filters["account"]
        qs = qs.filter(account_id=getattr(account, "pk", account))
    if filters.get("courier"):
        courier = filters["courier"]
        qs = qs.filter(courier_id=getattr(courier, "pk", courier))
    if filters.get("tracking") == "yes":
        qs = qs.exclude(tracking_number="")
    elif filters.get("tracking") == "no":
        qs = qs.filter(tracking_number="")
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(created_at__lt=_day_start(filters["date_to"] + dt.timedelta(days=1)))
    if filters.get("ids"):
        qs = qs.filter(pk__in=filters["ids"])
    if filters.get("attention"):
        qs = qs.filter(status__in=OPEN_SHIPMENT_STATES).filter(
            pk__in=ShipmentItem.objects.filter(stale_items_q() | Q(line__status=S.HOLD)).values("shipment_id")
        )
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(_search_q(text))
    return qs


def _search_q(text: str) -> Q:
    by_line = ShipmentItem.objects.filter(
        Q(line__order__external_order_id=text) | Q(line__external_line_id=text)
    ).values("shipment_id")
    condition = Q(pk__in=by_line) | Q(recipient_name__startswith=text)
    if _SHIPMENT_NO.match(text):
        pk = shipment_pk_from_number(text)
        if pk:
            condition |= Q(pk=pk)
    digits = re.sub(r"[\s\-]", "", text)
    if digits.isdigit():
        condition |= Q(tracking_number=digits)
        phone = normalize_phone(text).digits
        if len(phone) >= 9:
            condition |= Q(recipient_phone=phone) | Q(recipient_phone2=phone)
    return condition


def shipment_status_counts(*, filters: dict[str, Any]) -> dict[str, int]:
    """Boxes per status under the other filters (the tabs), and under all of them ("total":
    the list's own count), each stopping at COUNT_CAP (a count equal to it means "or more"):
    delivered boxes pile up for years, and a tab need not count every one of them."""
    rest = {k: v for k, v in filters.items() if k not in {"status", "attention"}} | {"with_cancelled": True}
    others = shipment_list(filters=rest)
    parts: list[tuple[str, QuerySet[Any]]] = [
        (state.value, others.filter(status=state)) for state in ShipmentStatus
    ]
    parts.append(("total", shipment_list(filters=filters)))
    return capped_counts(parts, COUNT_CAP)


def shipment_attention_count() -> int:
    """Open boxes holding a line that won't ship (cancelled, asked to be, on hold)."""
    return shipment_list(filters={"attention": True}).count()


# --- Per-row summaries ---------------------------------------------------------------------


@dataclass
class BoxSummary:
    channels: list[str] = field(default_factory=list)
    orders: list[tuple[int, str]] = field(default_factory=list)  # (order id, order no.)
    products: list[str] = field(default_factory=list)
    quantity: int = 0
    lines: int = 0
    cancelled: int = 0  # lines that will not ship (cancelled or asked to be)
    held: int = 0

    @property
    def first_product(self) -> str:
        return self.products[0] if self.products else ""

    @property
    def more_products(self) -> int:
        return max(0, len(self.products) - 1)


def shipment_summaries(shipment_ids: Sequence[int]) -> dict[int, BoxSummary]:
    """What each box holds, in one query: channels, order numbers, products, quantity, and how
    many of its lines will not ship."""
    out: dict[int, BoxSummary] = defaultdict(BoxSummary)
    rows = (
        ShipmentItem.objects.filter(shipment_id__in=list(shipment_ids))
        .order_by("shipment_id", "pk")
        .values_list(
            "shipment_id",
            "line__order_id",
            "line__order__external_order_id",
            "line__account__name",
            "line__product_name",
            "line__option_text",
            "line__quantity",
            "line__status",
        )
    )
    for box_id, order_id, order_no, account, product, option, quantity, status in rows:
        summary = out[box_id]
        if account not in summary.channels:
            summary.channels.append(account)
        if (order_id, order_no) not in summary.orders:
            summary.orders.append((order_id, order_no))
        label = f"{product} {option}".strip() if option else product
        summary.products.append(f"{label} ×{quantity}")
        summary.lines += 1
        if status in PRUNED_LINE_STATES:
            summary.cancelled += 1
        elif status == S.HOLD:
            summary.held += 1
        else:
            summary.quantity += quantity
    return dict(out)


# --- Detail ----------------------------------------------------------------------------------


def shipment_get_for_detail(*, pk: int) -> Shipment:
    return Shipment.objects.select_related("account", "courier", "created_by", "packed_by").get(pk=pk)


def shipment_detail_items(*, shipment: Shipment) -> list[ShipmentItem]:
    """The box's items with their lines, orders and SKU allocations."""
    items = list(
        ShipmentItem.objects.filter(shipment=shipment)
        .select_related("line", "line__order", "line__account")
        .order_by("pk")
    )
    allocations: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for line_id, code, label, quantity in (
        LineSku.objects.filter(line_id__in=[it.line_id for it in items])
        .order_by("pk")
        .values_list("line_id", "sku__code", "sku__option_label", "quantity")
    ):
        allocations[line_id].append((code, label, quantity))
    for item in items:
        item.allocations = allocations.get(item.line_id, [])  # type: ignore[attr-defined]
        # A line that went out with the box still counts (quantity, not greyed out).
        item.live = item.line.status in LIVE_LINE_STATES or item.line.status in SENT_LINE_STATES  # type: ignore[attr-defined]
        item.stale = item.line.status in PRUNED_LINE_STATES  # type: ignore[attr-defined]
    return items


def open_status_values() -> list[str]:
    return [str(s) for s in OPEN_SHIPMENT_STATES]
