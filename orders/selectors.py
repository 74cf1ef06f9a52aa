"""Reads for the order desk: the line list (상품주문 목록) with its filters, search and tab counts,
the order detail, and the global-search lookup.

The list pages by keyset on (SORT_AT, id) with the matching indexes on OrderLine, so a page costs
the same at row 50 and at row 900,000; every search path is an indexed lookup (line_search); tab
counts are bounded (line_tab_counts)."""

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
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from inventory.models import Reservation
from inventory.selectors import available_map
from oms.listing import COUNT_CAP, KeysetPage, capped_counts, keyset_page
from oms.listing import _decode as decode_cursor
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

# What a list row never shows: the channel's raw payload (can be kilobytes per order) and the
# account's sync state and credentials.
LIST_DEFERRED = (
    "order__raw",
    "account__credentials_encrypted",
    "account__cursor_state",
    "account__last_error",
)

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


# A search component that matches more than this many orders or lines is kept as a subquery
# (dense: the ordered scan meets matches at once) instead of a literal id list (sparse: the
# planner combines the id lists through their indexes).
SEARCH_ID_CAP = 5000


@dataclass(frozen=True)
class LineSearch:
    """The search box resolved into a filter. kind: "ids" (every part resolved to short id
    lists: a few thousand lines at most) or "dense" (some part matches very many rows)."""

    q: Q
    kind: str


def _part(ids_query: QuerySet[Any], target: str, dense: Q) -> tuple[Q, bool]:
    """One search part: a literal id list when it is short (sparse: the planner combines the
    lists through their indexes), else a per-row EXISTS probe (dense: the ordered scan meets
    matches at once, and no per-query hash of a huge id set is built)."""
    ids = list(ids_query[: SEARCH_ID_CAP + 1])
    if len(ids) > SEARCH_ID_CAP:
        return dense, False
    return (Q(**{f"{target}__in": ids}), True) if ids else (Q(), True)


def line_search(text: str) -> LineSearch:
    """The search box: order no., line no., recipient/buyer name (prefix), phone (full or last 4
    digits), SKU code, product name.

    Every part is an indexed lookup resolved first on its own table: a number is looked up only
    where a number can be (phones, order and line numbers); text matches order and line numbers,
    names by prefix, and products through the lines' SKUs (SKU code, catalog product name or
    option). Lines not mapped to a SKU yet are matched on the channel's product name. The
    channel's product name of a mapped line is not scanned: that would read every line (1-2 s at
    a million lines) for what the catalog name already finds."""
    q = text.strip()
    digits = re.sub(r"\D", "", q)
    order_q = Q(external_order_id=q)
    line_q = Q(external_line_id=q)
    parts: list[tuple[Q, bool]] = []
    if _DIGITS.fullmatch(q) and digits:
        if len(digits) == 4:
            order_q |= Q(phone_last4=digits)
        elif len(digits) >= 7:
            phone = normalize_phone(q).digits
            order_q |= Q(recipient_phone=phone) | Q(buyer_phone=phone) | Q(recipient_phone2=phone)
        if digits != q:
            order_q |= Q(external_order_id=digits)
            line_q |= Q(external_line_id=digits)
    else:
        order_q |= Q(recipient_name__startswith=q) | Q(buyer_name__startswith=q)
        sku_ids = list(
            Sku.objects.filter(
                Q(code__iexact=q) | Q(product__name__icontains=q) | Q(option_label__icontains=q)
            ).values_list("pk", flat=True)[:SEARCH_ID_CAP]
        )
        if sku_ids:
            parts.append(
                _part(
                    LineSku.objects.filter(sku_id__in=sku_ids).values_list("line_id", flat=True),
                    "pk",
                    Q(Exists(LineSku.objects.filter(line_id=OuterRef("pk"), sku_id__in=sku_ids))),
                )
            )
        unmapped_named = Q(unmapped=True, product_name__icontains=q)
        parts.append(
            _part(OrderLine.objects.filter(unmapped_named).values_list("pk", flat=True), "pk", unmapped_named)
        )
    parts.append(
        _part(
            Order.objects.filter(order_q).values_list("pk", flat=True),
            "order_id",
            Q(Exists(Order.objects.filter(order_q, pk=OuterRef("order_id")))),
        )
    )
    parts.append(
        _part(
            OrderLine.objects.filter(line_q).values_list("pk", flat=True),
            "pk",
            line_q,
        )
    )
    combined, sparse = Q(), True
    for part, is_sparse in parts:
        if part:
            combined |= part
            sparse &= is_sparse
    if not combined:
        return LineSearch(Q(pk__in=[]), "ids")
    return LineSearch(combined, "ids" if sparse else "dense")


def line_search_q(text: str) -> Q:
    return line_search(text).q


def prepare_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters with the search box resolved once (the list, its counts and its Excel all
    use the same resolution)."""
    out = dict(filters)
    text = (out.get("q") or "").strip()
    if text and "search" not in out:
        out["search"] = line_search(text)
    return out


def order_line_list(*, filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    """Lines (상품주문) with their order and account, filtered; annotated with `sort_at`.

    filters: account (ChannelAccount or id), batch (the ImportBatch that created the orders, or its
    id), status, flag (one of FLAGS), date_field
    ("ordered" or "paid"), date_from, date_to, q (search box; see prepare_filters)."""
    search = _search_of(filters)
    sort_at = SORT_AT
    if search is not None and search.kind == "ids":
        # The same value, spelled so that no index matches it: for a few thousand matching ids
        # the planner must fetch them by id and sort, not walk the whole sort index backwards
        # hoping to meet them (it guesses from their share of the table, and guesses badly
        # when they are old lines).
        sort_at = Coalesce("ordered_at", "created_at", "created_at")
    qs: QuerySet[OrderLine] = OrderLine.objects.select_related("order", "account").annotate(sort_at=sort_at)
    qs = _apply_base_filters(qs, {**filters, "search": search})
    status = filters.get("status")
    if status:
        qs = qs.filter(status=status)
    flag = filters.get("flag")
    if flag in FLAGS:
        qs = qs.filter(**{flag: True})
    return qs


def _search_of(filters: Mapping[str, Any]) -> LineSearch | None:
    search = filters.get("search")
    if isinstance(search, LineSearch):
        return search
    if "search" in filters:  # resolved: no search
        return None
    text = (filters.get("q") or "").strip()
    return line_search(text) if text else None


def _apply_base_filters(qs: QuerySet[OrderLine], filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    account = filters.get("account")
    if account:
        qs = qs.filter(account=account)
    batch = filters.get("batch")
    if batch:
        qs = qs.filter(order__import_batch=batch)
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
    search = _search_of(filters)
    if search is not None:
        qs = qs.filter(search.q)
    return qs


def line_page(
    *, queryset: QuerySet[OrderLine], order: tuple[str, ...], after: str | None, before: str | None
) -> KeysetPage[OrderLine]:
    """One keyset page. The cursor's first value also bounds the sort key as a plain range
    (sort_at <= v when paging down a newest-first list), which the planner turns into an index
    condition: without it, a page 900,000 lines deep scans the 900,000 lines before it."""
    cursor = after or before
    values = decode_cursor(cursor) if cursor else None
    if values is not None and len(values) == len(order):
        first = order[0].lstrip("-")
        descending = order[0].startswith("-")
        going_down = bool(after)
        lookup = "lte" if descending == going_down else "gte"
        queryset = queryset.filter(**{f"{first}__{lookup}": values[0]})
    # Find the page's ids on the lines alone, then load those few rows with their order and
    # account: the planner never joins thousands of matches only to keep fifty.
    keys = keyset_page(
        queryset.select_related(None).only("pk", "ordered_at", "created_at"),
        order=order,
        after=after,
        before=before,
    )
    full = (
        OrderLine.objects.select_related("order", "account")
        .defer(*LIST_DEFERRED)
        .in_bulk([row.pk for row in keys.items])
    )
    items = []
    for row in keys.items:
        line = full.get(row.pk)
        if line is not None:  # deleted in between: gone from the page too
            line.sort_at = row.sort_at  # type: ignore[attr-defined]
            items.append(line)
    return KeysetPage(
        items=items, next_cursor=keys.next_cursor, prev_cursor=keys.prev_cursor, is_first=keys.is_first
    )


def line_sort(filters: Mapping[str, Any]) -> tuple[str, ...]:
    return SORTS.get(filters.get("sort") or "newest", SORTS["newest"])


def line_sku_codes(lines: list[OrderLine]) -> dict[int, list[tuple[str, int]]]:
    """{line id: [(SKU code, quantity)]} for a page of lines, in one narrow query."""
    by_line: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if lines:
        rows = LineSku.objects.filter(line_id__in=[line.pk for line in lines]).order_by("pk")
        for line_id, code, quantity in rows.values_list("line_id", "sku__code", "quantity"):
            by_line[line_id].append((code, quantity))
    return by_line


# --- Tab counts ---------------------------------------------------------------------------------


DENSE_SEARCH_COUNT_CAP = 1_000


@dataclass(frozen=True)
class TabCounts:
    """Lines per state and per flag; a count equal to `cap` means "cap or more"."""

    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_flag: dict[str, int] = field(default_factory=dict)
    cap: int = COUNT_CAP
    per_tab: bool = True  # False: only the total was counted (a search matching very many lines)

    def status(self, value: str) -> int:
        return self.by_status.get(value, 0)

    def is_capped(self, count: int) -> bool:
        return count >= self.cap


def _counts_key(filters: Mapping[str, Any]) -> str:
    version = cache.get(_COUNTS_VERSION_KEY) or 0
    account, batch = filters.get("account"), filters.get("batch")
    relevant = {
        "account": getattr(account, "pk", account),
        "batch": getattr(batch, "pk", batch),
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


def _grouped_counts(base: QuerySet[OrderLine]) -> tuple[dict[str, int], dict[str, int]]:
    """One pass over a small (or unavoidably scanned) set: per state, and per flag."""
    by_status: dict[str, int] = {}
    by_flag = dict.fromkeys(FLAGS, 0)
    rows = (
        base.order_by()
        .values("status")
        .annotate(n=Count("pk"), **{f"f_{flag}": Count("pk", filter=Q(**{flag: True})) for flag in FLAGS})
    )
    for row in rows:
        values: dict[str, Any] = dict(row)
        by_status[values["status"]] = values["n"]
        for flag in FLAGS:
            by_flag[flag] += values[f"f_{flag}"]
    return by_status, by_flag


def _capped_counts(base: QuerySet[OrderLine], cap: int) -> tuple[int, dict[str, int], dict[str, int]]:
    """Every count at once, each stopping at `cap` (oms.listing.capped_counts), each an index
    range (state, account, flag)."""
    parts: list[tuple[str, QuerySet[Any]]] = [("all", base)]
    parts += [(f"s:{value}", base.filter(status=value)) for value in LineStatus.values]
    parts += [(f"f:{flag}", base.filter(**{flag: True})) for flag in FLAGS]
    results = capped_counts(parts, cap)
    by_status = {k[2:]: n for k, n in results.items() if k.startswith("s:") and n}
    by_flag = {flag: results.get(f"f:{flag}", 0) for flag in FLAGS}
    return results.get("all", 0), by_status, by_flag


def line_tab_counts(*, filters: Mapping[str, Any]) -> TabCounts:
    """Lines per state and per flag under the filters other than state and flag (the tabs),
    cached for COUNTS_TTL seconds per filter set.

    Without a search every count stops at COUNT_CAP (one statement, each part an index range);
    a search resolved to short id lists is counted exactly in one GROUP BY."""
    key = _counts_key(filters)
    cached = cache.get(key)
    if cached is not None:
        return TabCounts(**cached)
    annotated: QuerySet[OrderLine] = OrderLine.objects.annotate(sort_at=SORT_AT)
    base = _apply_base_filters(annotated, filters)
    search = _search_of(filters)
    per_tab = True
    if search is None:
        total, by_status, by_flag = _capped_counts(base, COUNT_CAP)
        cap = COUNT_CAP
    elif search.kind == "ids":
        by_status, by_flag = _grouped_counts(base)
        total = sum(by_status.values())
        cap = max(COUNT_CAP, total + 1)
    else:
        # A search matching very many lines (a common product word, a one-letter name) is
        # spread through every state's range: counting each tab would probe most of the table.
        # Only the total is counted, to a lower cap; the tabs still filter.
        cap, per_tab, by_status, by_flag = DENSE_SEARCH_COUNT_CAP, False, {}, {}
        total = base.order_by().values("pk")[:cap].count()
    counts = TabCounts(total=total, by_status=by_status, by_flag=by_flag, cap=cap, per_tab=per_tab)
    cache.set(key, counts.__dict__, COUNTS_TTL)
    return counts


def line_count(*, filters: Mapping[str, Any], counts: TabCounts | None = None) -> int:
    """How many lines the filters select (what "select all matching" acts on), capped like
    the tabs: counts.is_capped(n) means "n or more"."""
    counts = counts or line_tab_counts(filters=filters)
    status, flag = filters.get("status"), filters.get("flag")
    if flag not in FLAGS:
        flag = None
    if ((status or flag) and not counts.per_tab) or (status and flag):
        return order_line_list(filters=filters).order_by().values("pk")[: counts.cap].count()
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
