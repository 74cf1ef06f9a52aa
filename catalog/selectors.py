"""Reads for the catalog: the product list (one row per SKU, grouped by product), the product
page, SKU search, bundles, and each SKU's stock state.

The stock-state filter runs in the database, computing available-to-sell the way
inventory.selectors.available_map does (bundles resolved, safety stock taken off), so the
filter is one query however big the catalogue; the figures shown on a page come from
available_map itself (tests keep the two in agreement)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import pgettext_lazy

from catalog.models import BundleItem, Product, Sku
from inventory.models import StockLevel
from inventory.selectors import available_map
from oms.models import AuditLog

SEARCH_WORDS = 8


class StockState(models.TextChoices):
    """품절 when nothing is available, 부족 at or below the SKU's low-stock threshold
    (품절기준수량), 정상 otherwise. Same values as the stock pages use."""

    SOLD_OUT = "soldout", pgettext_lazy("stock state", "Sold out")
    LOW = "low", pgettext_lazy("stock state", "Low")
    OK = "ok", pgettext_lazy("stock state", "OK")


def stock_state(available: int, threshold: int) -> StockState:
    if available <= 0:
        return StockState.SOLD_OUT
    if available <= threshold:
        return StockState.LOW
    return StockState.OK


# --- Available-to-sell in SQL ----------------------------------------------------------------------


def _free_sum(sku_ref: Any) -> Coalesce:
    """sum(on_hand - reserved) over selling, active locations for the SKU at `sku_ref`."""
    levels = (
        StockLevel.objects.filter(sku_id=sku_ref, location__sells=True, location__is_active=True)
        .order_by()
        .values("sku_id")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )
    return Coalesce(Subquery(levels, output_field=IntegerField()), Value(0))


def available_expression() -> Case:
    """available_map as a column: single = max(0, free - safety stock); bundle = max(0,
    min over components of (component available // quantity) - the bundle's safety stock),
    0 for a bundle without components."""
    single = Greatest(_free_sum(OuterRef("pk")) - F("safety_stock"), Value(0))
    per_component = (
        BundleItem.objects.filter(bundle_id=OuterRef("pk"))
        .annotate(
            sets=Greatest(_free_sum(OuterRef("component_id")) - F("component__safety_stock"), Value(0))
            / F("quantity")
        )
        .order_by("sets")
        .values("sets")[:1]
    )
    bundle = Greatest(
        Coalesce(Subquery(per_component, output_field=IntegerField()), Value(0)) - F("safety_stock"), Value(0)
    )
    return Case(
        When(kind=Sku.Kind.BUNDLE, then=bundle),
        default=single,
        output_field=IntegerField(),
    )


def _state_q(state: str, field: str) -> Q:
    if state == StockState.SOLD_OUT:
        return Q(**{f"{field}__lte": 0})
    if state == StockState.LOW:
        return Q(**{f"{field}__gt": 0, f"{field}__lte": F("low_stock_threshold")})
    if state == StockState.OK:
        # The threshold is never negative, so this is also "above 0".
        return Q(**{f"{field}__gt": F("low_stock_threshold")})
    return Q(pk__in=[])


def stock_state_q(state: str) -> Q:
    """SKUs in one stock state, as a filter that stays fast over the whole catalogue: single
    SKUs in one grouped pass over their stock rows, bundles (few) through the per-row
    expression."""
    sellable = Q(stock_levels__location__sells=True, stock_levels__location__is_active=True)
    singles = (
        Sku.objects.filter(kind=Sku.Kind.SINGLE)
        .annotate(
            free=Coalesce(
                Sum(F("stock_levels__on_hand") - F("stock_levels__reserved"), filter=sellable), Value(0)
            )
        )
        .annotate(available_now=Greatest(F("free") - F("safety_stock"), Value(0)))
        .filter(_state_q(state, "available_now"))
        .values("pk")
    )
    bundles = (
        Sku.objects.filter(kind=Sku.Kind.BUNDLE)
        .annotate(available_now=available_expression())
        .filter(_state_q(state, "available_now"))
        .values("pk")
    )
    return Q(kind=Sku.Kind.SINGLE, pk__in=singles) | Q(kind=Sku.Kind.BUNDLE, pk__in=bundles)


# --- The product list --------------------------------------------------------------------------------

LIST_ORDER = ("-product_id", "pk")


def _search_q(text: str) -> Q:
    """Every word must match the product name, product code, SKU code, barcode or option."""
    condition = Q()
    for word in text.split()[:SEARCH_WORDS]:
        condition &= (
            Q(product__name__icontains=word)
            | Q(product__code__icontains=word)
            | Q(code__icontains=word)
            | Q(barcode=word)
            | Q(option_label__icontains=word)
        )
    return condition


def sku_list(*, filters: Mapping[str, Any]) -> QuerySet[Sku]:
    """SKUs with their product, newest product first (LIST_ORDER), filtered by
    q (words matching name / product code / SKU code / barcode / option), status (the SKU's
    sale status), brand, category (that category or below it: "의류" includes "의류>니트"),
    kind (single / bundle), active ("1" / "0") and stock (soldout / low / ok)."""
    qs = Sku.objects.select_related("product")
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(_search_q(text))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("brand"):
        qs = qs.filter(product__brand=filters["brand"])
    category = (filters.get("category") or "").strip()
    if category:
        qs = qs.filter(Q(product__category=category) | Q(product__category__startswith=f"{category}>"))
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    active = filters.get("active")
    if active in {"1", "0"}:
        qs = qs.filter(is_active=active == "1")
    stock = filters.get("stock")
    if stock:
        qs = qs.filter(stock_state_q(stock))
    return qs


def brand_choices(limit: int = 300) -> list[str]:
    return list(
        Product.objects.exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct()[:limit]
    )


def category_choices(limit: int = 300) -> list[str]:
    return list(
        Product.objects.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()[:limit]
    )


def sku_stock_rows(skus: Iterable[Sku]) -> list[tuple[Sku, int, StockState]]:
    """(sku, available, stock state) for the SKUs of one page, via available_map."""
    skus = list(skus)
    available = available_map(s.pk for s in skus)
    return [
        (s, available.get(s.pk, 0), stock_state(available.get(s.pk, 0), s.low_stock_threshold)) for s in skus
    ]


# --- The product page -----------------------------------------------------------------------------


def product_code_taken(code: str) -> bool:
    """Whether a product already uses this code, ignoring case."""
    return Product.objects.filter(code__iexact=code.strip()).exists()


def product_skus(*, product: Product) -> QuerySet[Sku]:
    return (
        product.skus.select_related("product")
        .prefetch_related("components__component")
        .order_by("kind", "pk")
    )


def product_history(*, product: Product, limit: int = 30) -> list[AuditLog]:
    """The latest audit entries for a product and its SKUs (who changed what, old -> new)."""
    from django.contrib.contenttypes.models import ContentType

    product_type = ContentType.objects.get_for_model(Product)
    sku_type = ContentType.objects.get_for_model(Sku)
    sku_ids = [str(pk) for pk in product.skus.values_list("pk", flat=True)]
    return list(
        AuditLog.objects.filter(
            Q(content_type=product_type, object_id=str(product.pk))
            | Q(content_type=sku_type, object_id__in=sku_ids)
        )
        .select_related("actor")
        .order_by("-pk")[:limit]
    )


# --- SKU search (bundle editor) and bundles --------------------------------------------------------------


def sku_search(*, query: str, kind: str | None = Sku.Kind.SINGLE, limit: int = 20) -> list[Sku]:
    """SKUs matching every word of `query` (exact SKU code and barcode first)."""
    text = query.strip()
    if len(text) < 1:
        return []
    qs = Sku.objects.select_related("product").filter(_search_q(text))
    if kind:
        qs = qs.filter(kind=kind)
    exact = Case(
        When(Q(code__iexact=text) | Q(barcode=text), then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(qs.annotate(exact=exact).order_by("exact", "-product_id", "pk")[:limit])


def skus_by_codes(codes: Iterable[str]) -> dict[str, Sku]:
    """{code as typed: SKU} for the codes that exist (case-insensitive)."""
    wanted = {c.strip(): c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return {}
    from django.db.models.functions import Upper

    found = {
        s.code.upper(): s
        for s in Sku.objects.select_related("product")
        .annotate(code_upper=Upper("code"))
        .filter(code_upper__in=set(wanted.values()))
    }
    return {typed: found[upper] for typed, upper in wanted.items() if upper in found}


def bundle_components(*, bundle: Sku) -> list[tuple[BundleItem, int]]:
    """(item, the component's available) for one bundle, components in the order added."""
    items = list(bundle.components.select_related("component__product").order_by("pk"))
    available = available_map(i.component_id for i in items)
    return [(i, available.get(i.component_id, 0)) for i in items]


def bundle_sellable(components: Iterable[tuple[Sku, int]], *, safety_stock: int = 0) -> int:
    """What a bundle of these components could sell now: min(component available // quantity)
    minus its own safety stock, as available_map derives it (for the editor before saving)."""
    components = list(components)
    if not components:
        return 0
    available = available_map(s.pk for s, _q in components)
    sets = min((available.get(s.pk, 0) // q for s, q in components if q > 0), default=0)
    return max(0, sets - safety_stock)
