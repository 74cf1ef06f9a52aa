"""Global search provider for shipments (settings.OMS_SEARCH_PROVIDERS): 출고번호, tracking
number, and order no. of a boxed line."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oms.search import SEARCH_LIMIT, SearchHit, SearchSection
from shipping.selectors import shipment_list


def search_shipments(request: HttpRequest, query: str) -> SearchSection | None:
    if not request.user.has_perm("shipping.view_shipment"):
        return None
    hits = []
    for shipment in shipment_list(filters={"q": query}).order_by("-pk")[:SEARCH_LIMIT]:
        parts = [shipment.get_status_display()]
        if shipment.tracking_number:
            parts.append(
                f"{shipment.courier.name if shipment.courier else ''} {shipment.tracking_number}".strip()
            )
        parts.append(f"{timezone.localtime(shipment.created_at):%Y-%m-%d}")
        hits.append(
            SearchHit(
                label=f"{shipment.number} · {shipment.recipient_name}",
                url=reverse("shipping:shipment_detail", args=[shipment.pk]),
                detail=" · ".join(parts),
            )
        )
    return SearchSection(title=_("Shipments"), hits=hits)
