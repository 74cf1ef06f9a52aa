"""Reads for the 매칭 and 재고 부족 pages: unmapped lines grouped by the key a mapping is saved
under, the saved mappings, SKU search for the mapping editor, and backorder lines with what
each one is short of now."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from catalog.models import BundleItem, Sku
from channels.models import ChannelAccount, OptionMapping
from channels.types import ChannelOrderLine
from inventory.selectors import available_map, free_map
from orders.ingest import option_key
from orders.models import RESERVING_STATES, LineSku, LineStatus, OrderLine

# The most lines the editor lists for one group (the count above it is exact).
EDITOR_SAMPLE = 20
SKU_SEARCH_LIMIT = 15


def line_option_key(line: OrderLine) -> str:
    """The OptionMapping key of a stored line: the same function ingestion uses on the
    incoming line, so a mapping saved here is the one the next order finds."""
    return option_key(
        ChannelOrderLine(
            external_line_id=line.external_line_id,
            product_name=line.product_name,
            quantity=line.quantity,
            option_text=line.option_text,
            channel_product_id=line.channel_product_id,
            channel_option_id=line.channel_option_id,
        )
    )


def key_candidates(*, account_id: int, channel_product_id: str, key: str) -> QuerySet[OrderLine]:
    """Unmapped lines that may carry `key`: the ones with that option id, and the ones without
    an option id (their key is their option text with spaces collapsed, so filter them with
    line_option_key)."""
    return OrderLine.objects.filter(
        account_id=account_id, channel_product_id=channel_product_id, unmapped=True
    ).filter(Q(channel_option_id=key) | Q(channel_option_id=""))


def waiting_lines_for_key(*, account_id: int, channel_product_id: str, key: str) -> list[OrderLine]:
    """Every unmapped line of one mapping key, oldest first."""
    lines = key_candidates(
        account_id=account_id, channel_product_id=channel_product_id, key=key
    ).select_related("order")
    found = [line for line in lines if line_option_key(line) == key]
    found.sort(key=lambda ln: (ln.ordered_at or ln.created_at, ln.pk))
    return found


# --- Unmapped groups ---------------------------------------------------------------------------


def _unmapped_lines(filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    # A cancelled line has nothing to map for; every other unmapped line waits here.
    qs = OrderLine.objects.filter(unmapped=True).exclude(status=LineStatus.CANCELLED)
    if filters.get("account"):
        qs = qs.filter(account=filters["account"])
    for word in (filters.get("q") or "").split()[:6]:
        qs = qs.filter(
            Q(product_name__icontains=word)
            | Q(option_text__icontains=word)
            | Q(channel_product_id=word)
            | Q(channel_option_id=word)
            | Q(order__external_order_id=word)
        )
    return qs


GROUP_SORTS = {
    "oldest": (F("oldest").asc(nulls_last=True), "account_id", "channel_product_id", "option_text"),
    "lines": ("-lines", F("oldest").asc(nulls_last=True), "account_id", "channel_product_id", "option_text"),
}


def unmapped_group_list(*, filters: Mapping[str, Any]) -> QuerySet[Any]:
    """Unmapped lines grouped by (account, channel product, option): one dict per group with
    lines, quantity, reserving (lines that will hold stock once mapped), oldest and newest
    order time and the product name. Sorted oldest first, or by line count (`sort=lines`)."""
    sort = GROUP_SORTS.get(filters.get("sort") or "", GROUP_SORTS["oldest"])
    return (
        _unmapped_lines(filters)
        # Without a channel product id the product name tells two products' "블랙" apart.
        .annotate(name_key=Case(When(channel_product_id="", then=F("product_name")), default=Value("")))
        .values("account_id", "channel_product_id", "channel_option_id", "option_text", "name_key")
        .annotate(
            lines=Count("pk"),
            quantity=Sum("quantity"),
            reserving=Count("pk", filter=Q(status__in=RESERVING_STATES)),
            oldest=Min(Coalesce("ordered_at", "created_at")),
            newest=Max(Coalesce("ordered_at", "created_at")),
            product_name=Max("product_name"),
        )
        .order_by(*sort)
    )


@dataclass
class UnmappedGroup:
    account: ChannelAccount
    channel_product_id: str
    channel_option_id: str
    option_text: str
    product_name: str
    lines: int
    quantity: int
    reserving: int
    oldest: datetime | None
    newest: datetime | None
    key: str
    mapping: OptionMapping | None = None

    @property
    def dom_id(self) -> str:
        """A stable HTML id for the group's row (the key itself may hold any characters)."""
        raw = f"{self.account.pk}\x1f{self.channel_product_id}\x1f{self.key}".encode()
        return "g" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:12]


def unmapped_groups(rows: Iterable[Mapping[str, Any]]) -> list[UnmappedGroup]:
    """Page rows of unmapped_group_list as objects with their account, key and saved mapping."""
    rows = list(rows)
    accounts = ChannelAccount.objects.in_bulk({r["account_id"] for r in rows})
    groups = []
    for row in rows:
        key = option_key(
            ChannelOrderLine(
                external_line_id="",
                product_name=row["product_name"] or "",
                quantity=1,
                option_text=row["option_text"],
                channel_product_id=row["channel_product_id"],
                channel_option_id=row["channel_option_id"],
            )
        )
        groups.append(
            UnmappedGroup(
                account=accounts[row["account_id"]],
                channel_product_id=row["channel_product_id"],
                channel_option_id=row["channel_option_id"],
                option_text=row["option_text"],
                product_name=row["product_name"] or "",
                lines=row["lines"],
                quantity=row["quantity"] or 0,
                reserving=row["reserving"],
                oldest=row["oldest"],
                newest=row["newest"],
                key=key,
            )
        )
    saved = mappings_for_keys({(g.account.pk, g.channel_product_id, g.key) for g in groups})
    for group in groups:
        group.mapping = saved.get((group.account.pk, group.channel_product_id, group.key))
    return groups


def mappings_for_keys(keys: set[tuple[int, str, str]]) -> dict[tuple[int, str, str], OptionMapping]:
    if not keys:
        return {}
    condition = Q()
    for account_id, product_id, key in keys:
        condition |= Q(account_id=account_id, channel_product_id=product_id, option_key=key)
    rows = OptionMapping.objects.filter(condition).prefetch_related("items__sku__product")
    return {(m.account_id, m.channel_product_id, m.option_key): m for m in rows}


@dataclass(frozen=True)
class MatchingCounts:
    unmapped_lines: int
    unmapped_groups: int
    backorder_lines: int


def matching_counts(*, account: ChannelAccount | None = None) -> MatchingCounts:
    """The figures on the 매칭 tabs (and for the dashboard)."""
    unmapped = _unmapped_lines({"account": account})
    groups = unmapped.values(
        "account_id", "channel_product_id", "channel_option_id", "option_text"
    ).distinct()
    return MatchingCounts(
        unmapped_lines=unmapped.count(),
        unmapped_groups=groups.count(),
        backorder_lines=backorder_line_list(filters={"account": account}).count(),
    )


# --- Saved mappings ------------------------------------------------------------------------------


def option_mapping_list(*, filters: Mapping[str, Any]) -> QuerySet[OptionMapping]:
    """Saved mappings, filtered by account and by words matching the channel product id, name,
    option or a mapped SKU's code or name. Page it newest first: order ("-pk",)."""
    qs = OptionMapping.objects.select_related("account", "created_by").prefetch_related("items__sku__product")
    if filters.get("account"):
        qs = qs.filter(account=filters["account"])
    words = (filters.get("q") or "").split()[:6]
    for word in words:
        qs = qs.filter(
            Q(channel_product_id=word)
            | Q(product_name__icontains=word)
            | Q(option_text__icontains=word)
            | Q(option_key__icontains=word)
            | Q(items__sku__code__icontains=word)
            | Q(items__sku__product__name__icontains=word)
        )
    if words:
        qs = qs.distinct()
    return qs


# --- SKU search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuHit:
    sku: Sku
    available: int


def sku_search(*, text: str, limit: int = SKU_SEARCH_LIMIT) -> list[SkuHit]:
    """Active SKUs for the mapping editor: every word must match the SKU code, barcode,
    product code, product name or option. An exact code or barcode comes first. Each hit
    carries its available-to-sell (bundles resolved)."""
    words = text.split()[:6]
    if not words:
        return []
    qs = Sku.objects.filter(is_active=True).select_related("product")
    for word in words:
        qs = qs.filter(
            Q(code__icontains=word)
            | Q(barcode=word)
            | Q(product__code__icontains=word)
            | Q(product__name__icontains=word)
            | Q(option_label__icontains=word)
        )
    whole = text.strip()
    qs = qs.annotate(
        rank=Case(
            When(code__iexact=whole, then=Value(0)),
            When(barcode=whole, then=Value(0)),
            When(code__istartswith=whole, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("rank", "code")
    skus = list(qs[:limit])
    available = available_map([s.pk for s in skus])
    return [SkuHit(sku=s, available=available.get(s.pk, 0)) for s in skus]


_NAME_WORDS = re.compile(r"[\s\[\]()<>{}/,·|+_-]+")
_OPTION_PARTS = re.compile(r"[/,|]+")
_LABEL_TOKENS = re.compile(r"[\s/,·|:]+")
SUGGESTION_LIMIT = 6


def _option_values(option_text: str) -> list[str]:
    """["화이트", "l"] from "색상: 화이트 / 사이즈: L": the value after each "name:"."""
    values = []
    for part in _OPTION_PARTS.split(option_text):
        value = part.split(":", 1)[-1].strip().lower()
        if value:
            values.append(value)
    return values


def sku_suggestions(*, product_name: str, option_text: str, limit: int = SUGGESTION_LIMIT) -> list[SkuHit]:
    """Active SKUs that look like a channel product and option: the product name shares a word
    with the channel product name; SKUs whose option has every option value of the channel
    option (as whole words: "L" is not "XL") come first."""
    words = [w.lower() for w in _NAME_WORDS.split(product_name) if len(w) >= 2][:8]
    if not words:
        return []
    condition = Q()
    for word in words:
        condition |= Q(product__name__icontains=word)
    values = _option_values(option_text)
    scored = []
    for sku in Sku.objects.filter(condition, is_active=True).select_related("product").order_by("pk")[:400]:
        name = sku.product.name.lower()
        tokens = set(_LABEL_TOKENS.split(sku.option_label.lower()))
        value_hits = sum(1 for v in values if set(_LABEL_TOKENS.split(v)) <= tokens)
        name_hits = sum(1 for w in words if w in name)
        scored.append((-value_hits, -name_hits, sku.code, sku))
    scored.sort(key=lambda row: row[:3])
    skus = [row[3] for row in scored[:limit]]
    available = available_map([s.pk for s in skus])
    return [SkuHit(sku=s, available=available.get(s.pk, 0)) for s in skus]


def skus_by_code(codes: Iterable[str]) -> dict[str, Sku]:
    """{code: Sku} for the codes that exist (active or not: the service says why it refuses)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return {s.code: s for s in Sku.objects.filter(code__in=wanted).select_related("product")}


# --- Backorders ------------------------------------------------------------------------------------


# Oldest first, the order 재할당 serves: by `sort_at` (see backorder_line_list), then pk.
BACKORDER_ORDER = ("sort_at", "pk")


def backorder_line_list(*, filters: Mapping[str, Any]) -> QuerySet[OrderLine]:
    """Lines flagged 재고 부족 that still wait for stock, with `sort_at` (order time, else
    collection time): page them oldest first, order ("sort_at", "pk"), the order 재할당 serves."""
    qs = (
        OrderLine.objects.filter(backorder=True, unmapped=False, status__in=RESERVING_STATES)
        .select_related("order", "account")
        .prefetch_related("skus__sku__product")
        .annotate(sort_at=Coalesce("ordered_at", "created_at"))
    )
    if filters.get("account"):
        qs = qs.filter(account=filters["account"])
    for word in (filters.get("q") or "").split()[:6]:
        qs = qs.filter(
            Q(order__external_order_id=word)
            | Q(external_line_id=word)
            | Q(product_name__icontains=word)
            | Q(option_text__icontains=word)
            | Q(skus__sku__code__icontains=word)
            | Q(order__recipient_name=word)
        )
    if filters.get("q"):
        qs = qs.distinct()
    return qs


@dataclass(frozen=True)
class SkuNeed:
    """One SKU of a backorder line: what the line needs, what is free now, the shortfall."""

    sku: Sku
    needed: int
    free: int
    available: int

    @property
    def short(self) -> int:
        return max(0, self.needed - self.free)


@dataclass
class BackorderRow:
    line: OrderLine
    needs: list[SkuNeed] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return any(n.short for n in self.needs)


def _bundle_components(sku_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for bundle_id, component_id, quantity in BundleItem.objects.filter(
        bundle_id__in=set(sku_ids)
    ).values_list("bundle_id", "component_id", "quantity"):
        out[bundle_id].append((component_id, quantity))
    return out


def _free_by_sku(skus: Iterable[Sku]) -> dict[int, int]:
    """What a reservation could take now per SKU: on hand minus reserved over selling
    locations (reservations ignore safety stock); a bundle's is min(component // quantity)."""
    skus = list(skus)
    components = _bundle_components(s.pk for s in skus if s.is_bundle)
    singles = {s.pk for s in skus if not s.is_bundle} | {
        c for items in components.values() for c, _q in items
    }
    free = free_map(singles)
    out = {}
    for sku in skus:
        if sku.is_bundle:
            items = components.get(sku.pk, [])
            out[sku.pk] = min((max(0, free.get(c, 0)) // q for c, q in items), default=0)
        else:
            out[sku.pk] = max(0, free.get(sku.pk, 0))
    return out


def backorder_rows(lines: Sequence[OrderLine]) -> list[BackorderRow]:
    """A page of backorder lines with, per SKU, what the line needs and what is free now."""
    skus = {ls.sku_id: ls.sku for line in lines for ls in line.skus.all()}
    free = _free_by_sku(skus.values())
    available = available_map(skus)
    rows = []
    for line in lines:
        row = BackorderRow(line=line)
        for ls in sorted(line.skus.all(), key=lambda x: x.sku.code):
            row.needs.append(
                SkuNeed(sku=ls.sku, needed=ls.quantity, free=free[ls.sku_id], available=available[ls.sku_id])
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class SkuShortage:
    """One SKU over every waiting backorder line: how much they need, what is free, the gap."""

    sku: Sku
    lines: int
    needed: int
    free: int

    @property
    def short(self) -> int:
        return max(0, self.needed - self.free)


def backorder_sku_totals(*, account: ChannelAccount | None = None, limit: int = 10) -> list[SkuShortage]:
    """The stock-holding SKUs the waiting backorder lines are short of (bundles counted as their
    components, which is what gets restocked), biggest gap first."""
    waiting = backorder_line_list(filters={"account": account}).values("pk")
    rows = list(LineSku.objects.filter(line_id__in=waiting).values_list("line_id", "sku_id", "quantity"))
    components = _bundle_components({sku_id for _l, sku_id, _q in rows})
    needed: dict[int, int] = defaultdict(int)
    lines: dict[int, set[int]] = defaultdict(set)
    for line_id, sku_id, quantity in rows:
        for component_id, per in components.get(sku_id) or [(sku_id, 1)]:
            needed[component_id] += per * quantity
            lines[component_id].add(line_id)
    free = free_map(needed)
    skus = Sku.objects.select_related("product").in_bulk(list(needed))
    totals = [
        SkuShortage(sku=skus[sku_id], lines=len(lines[sku_id]), needed=n, free=max(0, free.get(sku_id, 0)))
        for sku_id, n in needed.items()
        if n > free.get(sku_id, 0)
    ]
    totals.sort(key=lambda t: (-t.short, t.sku.code))
    return totals[:limit]


# The preview walks at most this many lines (oldest first); past it, it says "at least".
PREVIEW_LIMIT = 5000


@dataclass(frozen=True)
class ReassignPreview:
    waiting: int
    would_reserve: int
    complete: bool


def backorder_reassign_preview(*, account: ChannelAccount | None = None) -> ReassignPreview:
    """How many backorder lines a 재할당 now would reserve: the same oldest-first, all or
    nothing walk over free stock that the reservation does, without writing anything."""
    qs = backorder_line_list(filters={"account": account}).order_by(
        Coalesce("ordered_at", "created_at"), "pk"
    )
    waiting = qs.count()
    line_ids = list(qs.values_list("pk", flat=True)[:PREVIEW_LIMIT])
    allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line_id, sku_id, quantity in LineSku.objects.filter(line_id__in=line_ids).values_list(
        "line_id", "sku_id", "quantity"
    ):
        allocations[line_id].append((sku_id, quantity))
    components = _bundle_components({s for items in allocations.values() for s, _q in items})
    needs: list[dict[int, int]] = []
    for line_id in line_ids:
        need: dict[int, int] = defaultdict(int)
        for sku_id, quantity in allocations.get(line_id, []):
            for component_id, per in components.get(sku_id) or [(sku_id, 1)]:
                need[component_id] += per * quantity
        needs.append(need)
    free = free_map({s for need in needs for s in need})
    would = 0
    for need in needs:
        if need and all(free.get(s, 0) >= q for s, q in need.items()):
            for s, q in need.items():
                free[s] -= q
            would += 1
    return ReassignPreview(waiting=waiting, would_reserve=would, complete=waiting <= PREVIEW_LIMIT)
