"""Dashboard cards for the order queue (listed in settings.OMS_DASHBOARD_CARDS): new lines to
confirm, lines waiting for a mapping (매칭 필요) and lines short of stock (재고 부족), each a link
to the order list filtered that way."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from oms.dashboard import DashboardCard
from orders.models import LineStatus
from orders.selectors import line_tab_counts


def order_cards(request: HttpRequest) -> list[DashboardCard]:
    if not request.user.has_perm("orders.view_order"):
        return []
    counts = line_tab_counts(filters={})
    url = reverse("orders:order_list")
    new = counts.status(LineStatus.NEW)
    unmapped = counts.by_flag.get("unmapped", 0)
    backorder = counts.by_flag.get("backorder", 0)

    def hint(count: int, text: Promise) -> str | Promise:
        # Counts stop at the cap (orders.selectors.COUNT_CAP); say so rather than print a round
        # number as if it were exact.
        if counts.is_capped(count):
            return _("%(text)s (%(count)s or more)") % {"text": text, "count": f"{count:,}"}
        return text

    return [
        DashboardCard(
            title=_("New orders"),
            count=new,
            url=f"{url}?status={LineStatus.NEW.value}",
            tone="warn" if new else "ok",
            hint=hint(new, _("Order lines waiting for 발주확인")),
        ),
        DashboardCard(
            title=_("Needs mapping"),
            count=unmapped,
            url=f"{url}?flag=unmapped",
            tone="bad" if unmapped else "ok",
            hint=hint(unmapped, _("Lines whose option is not matched to a SKU")),
        ),
        DashboardCard(
            title=_("Orders short of stock"),
            count=backorder,
            url=f"{url}?flag=backorder",
            tone="bad" if backorder else "ok",
            hint=hint(backorder, _("Lines waiting for stock to arrive")),
        ),
    ]
