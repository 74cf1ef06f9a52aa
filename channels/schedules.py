"""Per-account collection schedules for Celery beat (django-celery-beat's DatabaseScheduler).

Each account whose marketplace has an order API gets one PeriodicTask, "channels: collect
orders #<id>", running channels.tasks.channel_orders_collect_task every
collect_interval_minutes, the first time as soon as beat sees it; it is enabled while the
account is in use, not paused and has credentials saved. An account in error keeps its
schedule: the task itself leaves it alone until someone fixes the credentials, so the recovery
(new credentials, a connection test, 재개) needs no schedule edit.

The fixed schedules (stock push every few seconds, product push, reconciliation, pending
confirmations) are in settings.CELERY_BEAT_SCHEDULE.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from channels.adapters.base import Capability
from channels.models import ChannelAccount
from channels.registry import adapter_class

COLLECT_TASK = "channels.tasks.channel_orders_collect_task"


def collect_schedule_name(account_id: int) -> str:
    return f"channels: collect orders #{account_id}"


def _interval(minutes: int) -> IntervalSchedule:
    found = (
        IntervalSchedule.objects.filter(every=minutes, period=IntervalSchedule.MINUTES).order_by("pk").first()
    )
    return found or IntervalSchedule.objects.create(every=minutes, period=IntervalSchedule.MINUTES)


def _collects(account: ChannelAccount) -> bool:
    cls = adapter_class(account.marketplace)
    return cls is not None and Capability.COLLECT_ORDERS in cls.capabilities


@transaction.atomic
def account_schedule_sync(account: ChannelAccount) -> PeriodicTask | None:
    """Create, update or disable the account's collection schedule to match the account.
    Returns the schedule, or None for a marketplace without an order API (nothing to run)."""
    name = collect_schedule_name(account.pk)
    task = PeriodicTask.objects.select_for_update().filter(name=name).first()
    if not _collects(account):
        if task is not None and task.enabled:
            task.enabled = False
            task.save()
        return task
    interval = _interval(max(1, int(account.collect_interval_minutes)))
    enabled = account.is_active and account.status != ChannelAccount.Status.PAUSED and account.has_credentials
    kwargs = json.dumps({"account_id": account.pk, "scheduled": True})
    # A run that waited longer than one interval in the queue is dropped: the next one comes.
    expire_seconds = max(60, account.collect_interval_minutes * 60)
    description = f"{account.name} ({account.marketplace})"
    if task is None:
        return PeriodicTask.objects.create(
            name=name,
            task=COLLECT_TASK,
            interval=interval,
            kwargs=kwargs,
            enabled=enabled,
            expire_seconds=expire_seconds,
            description=description,
            # A start time makes beat run it at once rather than one interval from now.
            start_time=timezone.now(),
        )
    wanted = {
        "task": COLLECT_TASK,
        "interval_id": interval.pk,
        "kwargs": kwargs,
        "enabled": enabled,
        "expire_seconds": expire_seconds,
        "description": description,
    }
    if any(getattr(task, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(task, key, value)
        # save() (not update()) so the scheduler notices the change (PeriodicTasks.changed).
        task.save()
    return task


def account_schedules_sync_all() -> int:
    """Bring every account's schedule in line (accounts made before schedules existed, or
    edited by a path that did not sync it). Returns how many accounts were looked at."""
    count = 0
    for account in ChannelAccount.objects.order_by("pk"):
        account_schedule_sync(account)
        count += 1
    return count
