"""Reads for stock: available-to-sell per DESIGN.md, with bundles resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import pgettext_lazy

from catalog.models import BundleItem, Product, Sku
from inventory.models import Location, StockLevel, StockMovement
from oms.models import User
from oms.roles import Role


def free_map(sku_ids: Iterable[int]) -> dict[int, int]:
    """{single sku_id: sum of (on_hand - reserved) over selling, active locations}."""
    ids = set(sku_ids)
    out = dict.fromkeys(ids, 0)
    rows = (
        StockLevel.objects.filter(sku_id__in=ids, location__sells=True, location__is_active=True)
        .values("sku_id")
        .annotate(free_total=Sum(F("on_hand") - F("reserved")))
    )
    for row in rows:
        out[row["sku_id"]] = row["free_total"] or 0
    return out


def available_map(sku_ids: Iterable[int]) -> dict[int, int]:
    """{sku_id: available-to-sell} for single and bundle SKUs.

    single: sum over selling locations of (on_hand - reserved) - safety stock, never below 0.
    bundle: min over components of (component available // quantity), minus the bundle's own
    safety stock, never below 0. Derived every time, never stored."""
    ids = set(sku_ids)
    skus = {s["pk"]: s for s in Sku.objects.filter(pk__in=ids).values("pk", "kind", "safety_stock")}
    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bundle_ids = [pk for pk, s in skus.items() if s["kind"] == Sku.Kind.BUNDLE]
    for bundle_id, component_id, quantity in BundleItem.objects.filter(bundle_id__in=bundle_ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        components[bundle_id].append((component_id, quantity))
    component_ids = {c for items in components.values() for c, _q in items}
    singles = {pk for pk, s in skus.items() if s["kind"] == Sku.Kind.SINGLE} | component_ids
    safety = dict(Sku.objects.filter(pk__in=singles).values_list("pk", "safety_stock"))
    free = free_map(singles)
    single_available = {pk: max(0, free.get(pk, 0) - safety.get(pk, 0)) for pk in singles}
    out: dict[int, int] = {}
    for pk, sku in skus.items():
        if sku["kind"] == Sku.Kind.BUNDLE:
            items = components.get(pk)
            value = min((single_available[c] // q for c, q in items), default=0) if items else 0
            out[pk] = max(0, value - sku["safety_stock"])
        else:
            out[pk] = single_available[pk]
    return out


# --- Stock pages ---------------------------------------------------------------------------------
# The overview, the low-stock list, the dashboard counts and the daily e-mail all read the same
# per-SKU figures, computed by the database in the queryset, never per row in Python. Two ways
# to the same numbers, chosen by what the query must look at:
# - a page in SKU-code order (no stock-state filter): a correlated subquery per row over the
#   (sku, location) unique index, so LIMIT 51 touches 51 SKUs whatever the catalogue size;
# - a stock-state filter, the 재고 부족 list and the counts must judge every SKU anyway: one
#   LEFT JOIN + GROUP BY pass, several times cheaper than 100k subqueries.


class StockState(models.TextChoices):
    """The badge a SKU wears: 품절 when nothing is available, 부족 at or below its
    low-stock threshold (품절기준수량), 정상 otherwise."""

    SOLD_OUT = "soldout", pgettext_lazy("stock state", "Sold out")
    LOW = "low", pgettext_lazy("stock state", "Low")
    OK = "ok", pgettext_lazy("stock state", "OK")


# A filter value, not a badge: 품절 or 부족 (everything on the 재고 부족 list).
SHORT = "short"


def stock_state(available: int, threshold: int) -> StockState:
    """The badge in Python, for one object (bundles, the SKU page); same rule as the SQL."""
    if available <= 0:
        return StockState.SOLD_OUT
    if available <= threshold:
        return StockState.LOW
    return StockState.OK


def _selling_location_ids() -> list[int]:
    # Never empty: "IN ()" inside a join condition is not valid SQL everywhere, and no
    # location has the id 0.
    return list(Location.objects.filter(sells=True, is_active=True).values_list("pk", flat=True)) or [0]


def with_stock(queryset: QuerySet[Sku], *, scan: bool = False) -> QuerySet[Sku]:
    """Annotate single SKUs with `available`: on hand minus reserved over selling, active
    locations, minus safety stock, never below 0 (as available_map). The badge follows from it
    (stock_state(available, low_stock_threshold)); filter on it with stock_state_q().

    scan=True computes it in one grouped pass over all stock rows (for filters and counts over
    the whole catalogue); the default, per row (for a page in SKU-code order). One expression
    per row on purpose: Postgres evaluates a repeated subquery once per mention."""
    location_ids = _selling_location_ids()
    free: Any
    if scan:
        queryset = queryset.annotate(
            selling_levels=FilteredRelation(
                "stock_levels", condition=Q(stock_levels__location_id__in=location_ids)
            )
        )
        free = Sum(F("selling_levels__on_hand") - F("selling_levels__reserved"))
    else:
        free = Subquery(
            StockLevel.objects.filter(sku_id=OuterRef("pk"), location_id__in=location_ids)
            .values("sku_id")
            .annotate(total=Sum(F("on_hand") - F("reserved")))
            .values("total"),
            output_field=IntegerField(),
        )
    return queryset.annotate(available=Greatest(Coalesce(free, Value(0)) - F("safety_stock"), Value(0)))


def stock_state_q(state: str) -> Q:
    if state == StockState.SOLD_OUT:
        return Q(available__lte=0)
    if state == StockState.LOW:
        return Q(available__gt=0, available__lte=F("low_stock_threshold"))
    if state == StockState.OK:
        return Q(available__gt=F("low_stock_threshold"))
    if state == SHORT:
        # The threshold is never negative, so this includes every sold-out SKU.
        return Q(available__lte=F("low_stock_threshold"))
    return Q()


def _search_q(text: str) -> Q:
    """Every word must match the SKU code, barcode, product code, product name or option."""
    condition = Q()
    for word in text.split()[:8]:
        condition &= (
            Q(code__icontains=word)
            | Q(barcode=word)
            | Q(product__code__icontains=word)
            | Q(product__name__icontains=word)
            | Q(option_label__icontains=word)
        )
    return condition


def stock_overview(*, filters: Mapping[str, Any]) -> QuerySet[Sku]:
    """Single SKUs with their stock figures (see with_stock), filtered by
    q (SKU code / barcode / product code / name / option words), location (a stock row there),
    state (soldout / low / ok / short), brand, category (that category or below it),
    active ("1" active SKUs not discontinued, "0" the others)."""
    qs = Sku.objects.filter(kind=Sku.Kind.SINGLE)
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(_search_q(text))
    location = filters.get("location")
    if location:
        qs = qs.filter(Exists(StockLevel.objects.filter(sku_id=OuterRef("pk"), location=location)))
    if filters.get("brand"):
        qs = qs.filter(product__brand=filters["brand"])
    category = filters.get("category")
    if category:
        qs = qs.filter(Q(product__category=category) | Q(product__category__startswith=f"{category}>"))
    active = filters.get("active")
    if active == "1":
        qs = qs.filter(_sellable_sku_q())
    elif active == "0":
        qs = qs.exclude(_sellable_sku_q())
    state = filters.get("state")
    if state:
        # Judging the state needs every SKU's figure: one grouped pass, products fetched after.
        grouped = with_stock(qs, scan=True).filter(stock_state_q(state))
        return grouped.prefetch_related("product")
    return with_stock(qs).select_related("product")


def _sellable_sku_q() -> Q:
    discontinued = Product.Status.DISCONTINUED
    return Q(is_active=True) & ~Q(status=discontinued) & ~Q(product__status=discontinued)


def low_stock_list(*, filters: Mapping[str, Any]) -> QuerySet[Sku]:
    """재고 부족: active single SKUs (not discontinued) at or below their
    low-stock threshold, sold out included. `state` narrows to soldout or low."""
    state = filters.get("state")
    return stock_overview(
        filters={**filters, "active": "1", "state": state if state in _SHORT_STATES else SHORT}
    )


_SHORT_STATES = {StockState.SOLD_OUT.value, StockState.LOW.value}

# The 재고 부족 list reads emptiest first (keyset order: ends in a unique field).
LOW_STOCK_ORDER = ("available", "code", "pk")


@dataclass(frozen=True)
class LowStockCounts:
    sold_out: int
    low: int

    @property
    def total(self) -> int:
        return self.sold_out + self.low


def low_stock_counts() -> LowStockCounts:
    """How many SKUs are on the 재고 부족 list, split into 품절 and 부족 (one query)."""
    short = with_stock(Sku.objects.filter(_sellable_sku_q(), kind=Sku.Kind.SINGLE), scan=True).filter(
        stock_state_q(SHORT)
    )
    counts = short.aggregate(
        sold_out=Count("pk", filter=Q(available__lte=0)),
        low=Count("pk", filter=Q(available__gt=0)),
    )
    return LowStockCounts(sold_out=counts["sold_out"] or 0, low=counts["low"] or 0)


def stock_brands() -> list[str]:
    return list(
        Product.objects.exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct()
    )


def stock_categories() -> list[str]:
    return list(
        Product.objects.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def stock_locations(*, include_inactive: bool = False) -> QuerySet[Location]:
    qs = Location.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("priority", "pk")


def levels_by_sku(
    *, sku_ids: Iterable[int], location_ids: Iterable[int] | None = None
) -> dict[int, dict[int, StockLevel]]:
    """{sku_id: {location_id: StockLevel}} for a page of SKUs (one query)."""
    qs = StockLevel.objects.filter(sku_id__in=set(sku_ids))
    if location_ids is not None:
        qs = qs.filter(location_id__in=set(location_ids))
    out: dict[int, dict[int, StockLevel]] = defaultdict(dict)
    for level in qs:
        out[level.sku_id][level.location_id] = level
    return out


def level_values_by_sku(*, sku_ids: Iterable[int]) -> dict[int, dict[int, tuple[int, int]]]:
    """{sku_id: {location_id: (on_hand, reserved)}}: levels_by_sku as plain values (exports)."""
    out: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    rows = StockLevel.objects.filter(sku_id__in=set(sku_ids)).values_list(
        "sku_id", "location_id", "on_hand", "reserved"
    )
    for sku_id, location_id, on_hand, reserved in rows:
        out[sku_id][location_id] = (on_hand, reserved)
    return out


def sku_stock_get(*, pk: int) -> Sku:
    """One SKU with its stock figures; bundles too (their figures are derived: use
    available_map, the annotations of a bundle are 0)."""
    return with_stock(Sku.objects.select_related("product")).get(pk=pk)


@dataclass(frozen=True)
class LocationLevel:
    location: Location
    on_hand: int
    reserved: int
    updated_at: datetime | None

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


def sku_levels(*, sku: Sku) -> list[LocationLevel]:
    """The SKU at every active location (0 where it has no row yet), plus any inactive
    location that still holds some of it."""
    levels = {lv.location_id: lv for lv in StockLevel.objects.filter(sku=sku)}
    out = []
    for location in stock_locations(include_inactive=True):
        level = levels.get(location.pk)
        if not location.is_active and (level is None or (level.on_hand == 0 and level.reserved == 0)):
            continue
        out.append(
            LocationLevel(
                location=location,
                on_hand=level.on_hand if level else 0,
                reserved=level.reserved if level else 0,
                updated_at=level.updated_at if level else None,
            )
        )
    return out


def sku_movements(*, sku: Sku, filters: Mapping[str, Any]) -> QuerySet[StockMovement]:
    """A SKU's ledger (page it newest first: order ("-pk",), index movement_sku_idx)."""
    qs = StockMovement.objects.filter(sku=sku).select_related("location", "user")
    if filters.get("location"):
        qs = qs.filter(location=filters["location"])
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    return qs


def location_list() -> QuerySet[Location]:
    """Every location with how many SKUs it holds and the units on hand and reserved there."""
    held = StockLevel.objects.filter(location_id=OuterRef("pk"))
    return Location.objects.annotate(
        sku_count=Coalesce(
            Subquery(
                held.filter(on_hand__gt=0).values("location_id").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        on_hand_total=Coalesce(
            Subquery(
                held.values("location_id").annotate(n=Sum("on_hand")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        reserved_total=Coalesce(
            Subquery(
                held.values("location_id").annotate(n=Sum("reserved")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
    ).order_by("priority", "pk")


def low_stock_recipients() -> QuerySet[User]:
    """Active managers and administrators with an e-mail address."""
    groups = [Role.MANAGER.group_name, Role.ADMIN.group_name]
    return (
        User.objects.filter(is_active=True, groups__name__in=groups)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def bundle_components(*, sku: Sku) -> list[BundleItem]:
    """A bundle's components (with their products), for its derived stock."""
    return list(
        BundleItem.objects.filter(bundle=sku).select_related("component__product").order_by("component__code")
    )
