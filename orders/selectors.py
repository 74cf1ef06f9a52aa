"""Reads for the order desk: the line list (상품주문 목록) with its filters, search and tab counts,
the order detail, and the global-search lookup.

The list pages by keyset on (SORT_AT, id) with the matching indexes on OrderLine, so a page costs
the same at row 50 and at row 900,000. Every search path is an indexed lookup except the product
name, which is a substring match (see line_search_q)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from inventory.models import Reservation
from inventory.selectors import available_map
from orders.models import (
    SORT_AT,
    LineSku,
    LineStatus,
    Order,
    OrderEvent,
    OrderLine,
    reservation_reference,
)
from orders.normalize import normalize_phone

# Flags shown beside the state, as (filter value, model field).
FLAGS = ("unmapped", "backorder", "address_changed")

SORTS = {
    "newest": ("-sort_at", "-pk"),
    "oldest": ("sort_at", "pk"),
}

# Tab counts are cached this long (seconds) per filter set, and dropped at once after a change
# made from the order screens; a line collected meanwhile shows up in the counts within this time.
COUNTS_TTL = 30
_COUNTS_VERSION_KEY = "orders:counts:version"

_DIGITS = re.compile(r"[\d\-\s()+]+")


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- The line list ------------------------------------------------------------------------------


def line_search_q(text: str) -> Q:
    """The search box: order no., line no., recipient/buyer name, phone (full or last 4 digits),
    SKU code, product name.

    A number is looked up only where a number can be (phones, order and line numbers), all
    indexed; text also matches names by prefix, SKU codes exactly and the product name as a
    substring. Matching orders and lines are resolved first through their own indexes so the
    final filter is a short id list the planner can combine."""
    q = text.strip()
    if not q:
        return Q()
    digits = re.sub(r"\D", "", q)
    is_number = bool(_DIGITS.fullmatch(q)) and bool(digits)
    order_q = Q(external_order_id=q)
    line_q = Q(external_line_id=q)
    if is_number:
        if len(digits) == 4:
            order_q |= Q(phone_last4=digits)
        elif len(digits) >= 7:
            phone = normalize_phone(q).digits
            order_q |= Q(recipient_phone=phone) | Q(buyer_phone=phone) | Q(recipient_phone2=phone)
        if digits != q:
            order_q |= Q(external_order_id=digits)
            line_q |= Q(external_line_id=digits)
        return Q(order__in=Order.objects.filter(order_q).values("pk")) | Q(
            pk__in=OrderLine.objects.filter(line_q).values("pk")
        )
    order_q |= Q(recipient_name__startswith=q) | Q(buyer_name__startswith=q)
    sku_ids = Sku.objects.filter(code__iexact=q).values("pk")
    line_q |= Q(pk__in=LineSku.objects.filter(sku__in=sku_ids).values("line_id"))
    return (
        Q(order__in=Order.objects.filter(order_q).values("pk"))
        | Q(pk__in=OrderLine.objects.filter(line_q).values("pk"))
        | Q(product_name__icontains=q)
    )


def order_line_list(*, filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    """Lines (상품주문) with their order and account, filtered; annotated with `sort_at`.

    filters: account (ChannelAccount or id), status, flag (one of FLAGS), date_field
    ("ordered" or "paid"), date_from, date_to, q (search box)."""
    qs: QuerySet[OrderLine] = OrderLine.objects.select_related("order", "account").annotate(sort_at=SORT_AT)
    qs = _apply_base_filters(qs, filters)
    status = filters.get("status")
    if status:
        qs = qs.filter(status=status)
    flag = filters.get("flag")
    if flag in FLAGS:
        qs = qs.filter(**{flag: True})
    return qs


def _apply_base_filters(qs: QuerySet[OrderLine], filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    account = filters.get("account")
    if account:
        qs = qs.filter(account=account)
    date_from, date_to = filters.get("date_from"), filters.get("date_to")
    if date_from or date_to:
        if filters.get("date_field") == "paid":
            if date_from:
                qs = qs.filter(order__paid_at__gte=_day_start(date_from))
            if date_to:
                qs = qs.filter(order__paid_at__lt=_day_start(date_to + dt.timedelta(days=1)))
        else:
            if date_from:
                qs = qs.filter(**{"sort_at__gte": _day_start(date_from)})
            if date_to:
                qs = qs.filter(**{"sort_at__lt": _day_start(date_to + dt.timedelta(days=1))})
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(line_search_q(text))
    return qs


def line_sort(filters: Mapping[str, Any]) -> tuple[str, ...]:
    return SORTS.get(filters.get("sort") or "newest", SORTS["newest"])


def with_line_skus(lines: list[OrderLine]) -> list[OrderLine]:
    """Attach each line's SKU allocation (one query for the page)."""
    if not lines:
        return lines
    by_line: dict[int, list[LineSku]] = defaultdict(list)
    for ls in LineSku.objects.filter(line__in=lines).select_related("sku").order_by("pk"):
        by_line[ls.line_id].append(ls)
    for line in lines:
        line.sku_list = by_line.get(line.pk, [])  # type: ignore[attr-defined]
    return lines


# --- Tab counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TabCounts:
    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_flag: dict[str, int] = field(default_factory=dict)

    def status(self, value: str) -> int:
        return self.by_status.get(value, 0)


def _counts_key(filters: Mapping[str, Any]) -> str:
    version = cache.get(_COUNTS_VERSION_KEY) or 0
    account = filters.get("account")
    relevant = {
        "account": getattr(account, "pk", account),
        "date_field": filters.get("date_field") or "",
        "date_from": str(filters.get("date_from") or ""),
        "date_to": str(filters.get("date_to") or ""),
        "q": (filters.get("q") or "").strip(),
    }
    digest = hashlib.sha1(json.dumps(relevant, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return f"orders:counts:{version}:{digest}"


def counts_invalidate() -> None:
    """Drop every cached tab count (after a change made from the order screens)."""
    try:
        cache.incr(_COUNTS_VERSION_KEY)
    except ValueError:
        cache.set(_COUNTS_VERSION_KEY, 1, None)


def line_tab_counts(*, filters: Mapping[str, Any]) -> TabCounts:
    """Lines per state and per flag under the filters other than state and flag (the tabs).

    One GROUP BY over the (status, ...) index plus one partial-index count per flag; cached
    for COUNTS_TTL seconds per filter set."""
    key = _counts_key(filters)
    cached = cache.get(key)
    if cached is not None:
        return TabCounts(**cached)
    annotated: QuerySet[OrderLine] = OrderLine.objects.annotate(sort_at=SORT_AT)
    base = _apply_base_filters(annotated, filters)
    by_status = {row["status"]: row["n"] for row in base.order_by().values("status").annotate(n=Count("pk"))}
    by_flag = {flag: base.filter(**{flag: True}).count() for flag in FLAGS}
    counts = TabCounts(total=sum(by_status.values()), by_status=by_status, by_flag=by_flag)
    cache.set(key, {"total": counts.total, "by_status": by_status, "by_flag": by_flag}, COUNTS_TTL)
    return counts


def line_count(*, filters: Mapping[str, Any], counts: TabCounts | None = None) -> int:
    """How many lines the filters select (what "select all matching" acts on)."""
    counts = counts or line_tab_counts(filters=filters)
    status, flag = filters.get("status"), filters.get("flag")
    if flag not in FLAGS:
        flag = None
    if status and flag:
        return order_line_list(filters=filters).count()
    if status:
        return counts.status(status)
    if flag:
        return counts.by_flag.get(flag, 0)
    return counts.total


# --- Order detail -------------------------------------------------------------------------------


@dataclass
class LineStock:
    """What stock a line holds: held units per SKU, and shortages when it waits for stock."""

    held: int = 0
    wanted: int = 0
    consumed: int = 0
    released: int = 0
    shortages: list[tuple[Sku, int]] = field(default_factory=list)  # (SKU, units short)


def order_get_for_detail(*, pk: int) -> Order:
    lines = OrderLine.objects.order_by("pk").prefetch_related(
        Prefetch("skus", queryset=LineSku.objects.select_related("sku__product").order_by("pk"))
    )
    return (
        Order.objects.select_related("account", "import_batch")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .get(pk=pk)
    )


def order_line_get(*, pk: int) -> OrderLine:
    return (
        OrderLine.objects.select_related("order", "account")
        .prefetch_related(
            Prefetch("skus", queryset=LineSku.objects.select_related("sku__product").order_by("pk"))
        )
        .get(pk=pk)
    )


def line_stock_map(lines: Iterable[OrderLine]) -> dict[int, LineStock]:
    """{line id: LineStock} from the lines' reservations, with live shortages for BACKORDER
    lines (what each SKU lacks now, bundles resolved)."""
    lines = list(lines)
    refs = {reservation_reference(line.pk): line.pk for line in lines}
    out = {line.pk: LineStock() for line in lines}
    rows = (
        Reservation.objects.filter(reference__in=refs)
        .values("reference")
        .annotate(
            held=Sum("quantity"),
            wanted=Sum("original_quantity"),
            consumed=Sum("consumed"),
            released=Sum("released"),
        )
    )
    for row in rows:
        stock = out[refs[row["reference"]]]
        stock.held, stock.wanted = row["held"] or 0, row["wanted"] or 0
        stock.consumed, stock.released = row["consumed"] or 0, row["released"] or 0
    short_lines = [line for line in lines if line.backorder]
    if short_lines:
        needs = {line.pk: [(ls.sku, ls.quantity) for ls in line.skus.all()] for line in short_lines}
        available = available_map({sku.pk for items in needs.values() for sku, _q in items})
        for line_id, items in needs.items():
            out[line_id].shortages = [
                (sku, quantity - available.get(sku.pk, 0))
                for sku, quantity in items
                if quantity > available.get(sku.pk, 0)
            ]
    return out


def order_timeline(*, order: Order) -> QuerySet[OrderEvent]:
    return order.events.select_related("user", "line").order_by("-pk")


def order_status_summary(order: Order) -> list[tuple[str, str, int]]:
    """[(status value, label, line count)] for the order header."""
    counts: dict[str, int] = defaultdict(int)
    for line in order.lines.all():
        counts[line.status] += 1
    return [(value, str(LineStatus(value).label), n) for value, n in counts.items()]


# --- Manual orders ------------------------------------------------------------------------------


def manual_account_list() -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(marketplace=Marketplace.MANUAL, is_active=True).order_by("name")


def sku_search(*, text: str, limit: int = 15) -> list[tuple[Sku, int]]:
    """Active SKUs whose code, barcode, option or product name matches, with what is
    available to sell: [(sku, available)]."""
    text = text.strip()
    if not text:
        return []
    skus = list(
        Sku.objects.filter(is_active=True)
        .filter(
            Q(code__istartswith=text)
            | Q(barcode=text)
            | Q(product__name__icontains=text)
            | Q(product__code__istartswith=text)
            | Q(option_label__icontains=text)
        )
        .select_related("product")
        .order_by("code")[:limit]
    )
    available = available_map([s.pk for s in skus])
    return [(sku, available.get(sku.pk, 0)) for sku in skus]


# --- Global search ------------------------------------------------------------------------------


def order_search(*, text: str, limit: int = 20) -> list[Order]:
    """Orders for the global search box: order no., line no., phone, name (indexed lookups)."""
    q = text.strip()
    if not q:
        return []
    lines = OrderLine.objects.filter(line_search_q(q)) if _is_lookup_only(q) else None
    if lines is None:
        orders_q = (
            Q(external_order_id=q)
            | Q(recipient_name__startswith=q)
            | Q(buyer_name__startswith=q)
            | Q(pk__in=OrderLine.objects.filter(external_line_id=q).values("order_id"))
        )
        qs = Order.objects.filter(orders_q)
    else:
        qs = Order.objects.filter(pk__in=lines.values("order_id"))
    return list(qs.select_related("account").order_by("-ordered_at", "-pk")[:limit])


def _is_lookup_only(q: str) -> bool:
    return bool(_DIGITS.fullmatch(q)) and bool(re.sub(r"\D", "", q))
