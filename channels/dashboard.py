"""Dashboard cards (settings.OMS_DASHBOARD_CARDS): each channel account in error, with the
marketplace's reason (expired key, IP not allowed, rate limited), so nobody finds out from
orders that stopped arriving."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels.models import SyncJob
from channels.selectors import accounts_in_error
from oms.dashboard import DashboardCard

MAX_CARDS = 6


def account_error_cards(request: HttpRequest) -> list[DashboardCard]:
    user = request.user
    sees_accounts = user.has_perm("channels.view_channelaccount")
    if not sees_accounts and not user.has_perm("channels.view_syncjob"):
        return []
    since = timezone.now() - timedelta(hours=24)
    accounts = list(
        accounts_in_error().annotate(
            failed_today=Count(
                "sync_jobs",
                filter=Q(sync_jobs__status=SyncJob.Status.FAILED, sync_jobs__created_at__gte=since),
            )
        )[: MAX_CARDS + 1]
    )
    jobs_url = reverse("channels:job_list")
    cards = []
    for account in accounts[:MAX_CARDS]:
        url = (
            reverse("channels:account_detail", args=[account.pk])
            if sees_accounts
            else f"{jobs_url}?account={account.pk}&status={SyncJob.Status.FAILED}"
        )
        cards.append(
            DashboardCard(
                title=_("Channel error: %(name)s") % {"name": account.name},
                count=account.failed_today,
                url=url,
                tone="bad",
                hint=_("%(reason)s · %(count)d failed syncs in 24 h")
                % {
                    "reason": account.last_error or _("The marketplace refused the connection."),
                    "count": account.failed_today,
                },
            )
        )
    if len(accounts) > MAX_CARDS:
        total = accounts_in_error().count()
        cards.append(
            DashboardCard(
                title=_("More channel accounts in error"),
                count=total - MAX_CARDS,
                url=f"{reverse('channels:account_list')}?status=error" if sees_accounts else jobs_url,
                tone="bad",
            )
        )
    return cards
