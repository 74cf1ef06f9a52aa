"""Global search provider for orders (settings.OMS_SEARCH_PROVIDERS): order no., line no.,
phone (full or last 4 digits) and recipient or buyer name."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oms.search import SEARCH_LIMIT, SearchHit, SearchSection
from orders.selectors import order_search


def search_orders(request: HttpRequest, query: str) -> SearchSection | None:
    if not request.user.has_perm("orders.view_order"):
        return None
    hits = []
    for order in order_search(text=query, limit=SEARCH_LIMIT):
        when = f"{timezone.localtime(order.ordered_at):%Y-%m-%d}" if order.ordered_at else ""
        hits.append(
            SearchHit(
                label=f"{order.external_order_id} · {order.recipient_name}",
                url=reverse("orders:order_detail", args=[order.pk]),
                detail=" · ".join(p for p in (order.account.name, when) if p),
            )
        )
    return SearchSection(title=_("Orders"), hits=hits)
