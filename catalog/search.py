"""Global search provider for products and SKUs (listed in settings.OMS_SEARCH_PROVIDERS)."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Sku
from oms.search import SEARCH_LIMIT, SearchHit, SearchSection


def search_products(request: HttpRequest, query: str) -> SearchSection | None:
    """Products by name or product code, and SKUs by SKU code, barcode or option; exact codes
    and barcodes first (a scanned barcode lands on its SKU)."""
    if not request.user.has_perm("catalog.view_product"):
        return None
    text = query.strip()
    hits: list[SearchHit] = []
    seen_skus: set[int] = set()
    exact = Sku.objects.select_related("product").filter(Q(code__iexact=text) | Q(barcode=text))[
        :SEARCH_LIMIT
    ]
    skus = list(exact)
    seen_skus.update(s.pk for s in skus)
    if len(skus) < SEARCH_LIMIT:
        skus += list(
            Sku.objects.select_related("product")
            .filter(Q(code__icontains=text) | Q(barcode__startswith=text))
            .exclude(pk__in=seen_skus)
            .order_by("-product_id", "pk")[: SEARCH_LIMIT - len(skus)]
        )
    for sku in skus:
        url = reverse("catalog:product_detail", args=[sku.product_id]) + f"#sku-{sku.pk}"
        label = f"{sku.code} · {sku.product.name}"
        if sku.option_label:
            label += f" ({sku.option_label})"
        detail = f"{_('Barcode')} {sku.barcode}" if sku.barcode else str(_("SKU"))
        hits.append(SearchHit(label=label, url=url, detail=detail))
    room = SEARCH_LIMIT - len(hits)
    if room > 0:
        products = Product.objects.filter(Q(name__icontains=text) | Q(code__icontains=text)).order_by("-pk")[
            :room
        ]
        for product in products:
            hits.append(
                SearchHit(
                    label=f"{product.name} [{product.code}]",
                    url=reverse("catalog:product_detail", args=[product.pk]),
                    detail=product.get_status_display(),
                )
            )
    return SearchSection(title=_("Products"), hits=hits)
