"""Dashboard cards for stock (listed in settings.OMS_DASHBOARD_CARDS): how many SKUs are sold
out and how many are low, each linking to the 재고 부족 list filtered that way."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from inventory.selectors import StockState, low_stock_counts
from oms.dashboard import DashboardCard


def stock_cards(request: HttpRequest) -> list[DashboardCard]:
    if not request.user.has_perm("inventory.view_stocklevel"):
        return []
    counts = low_stock_counts()
    url = reverse("inventory:low_stock")
    return [
        DashboardCard(
            title=_("Out of stock"),
            count=counts.sold_out,
            url=f"{url}?state={StockState.SOLD_OUT.value}",
            tone="bad" if counts.sold_out else "ok",
            hint=_("Active SKUs with nothing available to sell"),
        ),
        DashboardCard(
            title=_("Low stock"),
            count=counts.low,
            url=f"{url}?state={StockState.LOW.value}",
            tone="warn" if counts.low else "ok",
            hint=_("At or below their low-stock threshold"),
        ),
    ]
