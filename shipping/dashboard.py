"""Dashboard cards for the shipping desk (settings.OMS_DASHBOARD_CARDS): confirmed lines waiting
for a box, boxes waiting to ship, open boxes without a tracking number, and boxes holding a
cancelled line; each a link to the desk filtered that way."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from oms.dashboard import DashboardCard
from shipping.models import OPEN_SHIPMENT_STATES, Shipment, ShipmentStatus
from shipping.selectors import buildable_line_count, shipment_attention_count


def shipping_cards(request: HttpRequest) -> list[DashboardCard]:
    if not request.user.has_perm("shipping.view_shipment"):
        return []
    url = reverse("shipping:desk")
    counts = Shipment.objects.filter(status__in=OPEN_SHIPMENT_STATES).aggregate(
        ready=Count("pk", filter=Q(status=ShipmentStatus.READY)),
        untracked=Count("pk", filter=Q(tracking_number="")),
    )
    waiting = buildable_line_count()
    attention = shipment_attention_count()
    cards = [
        DashboardCard(
            title=_("Lines waiting for a box"),
            count=waiting,
            url=url,
            tone="warn" if waiting else "ok",
            hint=_("Confirmed lines not in a shipment yet"),
        ),
        DashboardCard(
            title=_("Ready to ship"),
            count=counts["ready"],
            url=f"{url}?status={ShipmentStatus.READY.value}",
            tone="warn" if counts["ready"] else "ok",
            hint=_("Boxes waiting to be printed, packed and shipped"),
        ),
        DashboardCard(
            title=_("No tracking number"),
            count=counts["untracked"],
            url=f"{url}?status=open&tracking=no",
            tone="warn" if counts["untracked"] else "ok",
            hint=_("Open boxes without a tracking number"),
        ),
    ]
    if attention:
        cards.append(
            DashboardCard(
                title=_("Boxes with cancelled lines"),
                count=attention,
                url=f"{url}?attention=on",
                tone="bad",
                hint=_("Take the cancelled lines out before packing"),
            )
        )
    return cards
