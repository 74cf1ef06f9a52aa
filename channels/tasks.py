"""Celery entry points of the channel sync: ids in, one service call, the retry policy.

All are acks_late and safe to run twice: collection is idempotent (orders.ingest), confirm and
dispatch skip what the channel already acknowledged, a push sends only values that differ.
Two runs of one kind never overlap (the services' run locks); a run that finds the lock taken
ends quietly, as the running one does the work.

A temporary failure (5xx, timeout, garbage) is retried with exponential backoff; a rate limit
after the marketplace's hint. Auth and request refusals are not retried: the job and the
account say why. The pushes are not retried at all: what they could not send stays marked,
and the schedule comes again within seconds.

channels.services_accounts.sync_job_task(kind) finds these through SYNC_JOB_TASKS for the sync
monitor's retry button, which calls task.delay(account_id, retry_of=<job id>).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

from celery import Task, shared_task

from channels.adapters.base import ChannelError, ChannelRateLimited, ChannelTemporaryError
from channels.models import ChannelAccount, SyncJob
from channels.schedules import account_schedules_sync_all
from channels.services_accounts import calllog_prune
from channels.services_sync import (
    SyncBusy,
    SyncRefused,
    accounts_with_pending_writes,
    channel_dispatch,
    channel_orders_collect,
    channel_orders_confirm,
    channel_product_push,
    channel_stock_push,
)
from orders.models import OrderLine

logger = logging.getLogger("channels.tasks")

MAX_RETRIES = 6
BACKOFF_SECONDS = 5
BACKOFF_MAX_SECONDS = 600
# Beat-driven pushes never wait for the push lock: the next tick comes in seconds.
SCHEDULED_LOCK_WAIT = 0.0
RECONCILE_LOCK_WAIT = 60.0
# API call rows are kept this long (the sync monitor shows a job's calls; jobs keep their counts
# and errors after their calls are gone).
CALLLOG_KEEP = timedelta(days=30)


def _retry_error(task: Task, error: ChannelError | None) -> None:
    """Raise what makes Celery retry: the temporary error itself (autoretry_for), or a retry
    after the marketplace's Retry-After for a rate limit."""
    if isinstance(error, ChannelRateLimited):
        backoff = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** int(task.request.retries or 0))
        wait = max(error.retry_after or 0.0, backoff) + random.uniform(0, 2)
        raise task.retry(exc=error, countdown=wait, max_retries=MAX_RETRIES)
    if isinstance(error, ChannelTemporaryError):
        raise error


def _job(retry_of: int | None) -> SyncJob | None:
    return SyncJob.objects.filter(pk=retry_of).first() if retry_of else None


def _syncs(account_id: int, *, scheduled: bool) -> bool:
    """Whether the account is to be synced now: in use and not paused; a scheduled run also
    leaves an account in error alone (its credentials were refused; someone must look)."""
    account = ChannelAccount.objects.filter(pk=account_id).first()
    if account is None or not account.syncs:
        return False
    return not (scheduled and account.status == ChannelAccount.Status.ERROR)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ChannelTemporaryError,),
    retry_backoff=BACKOFF_SECONDS,
    retry_backoff_max=BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def channel_orders_collect_task(
    self: Task, account_id: int, retry_of: int | None = None, scheduled: bool = False
) -> None:
    """Per-account schedule (channels.schedules) and the monitor's retry."""
    if not _syncs(account_id, scheduled=scheduled):
        return
    try:
        outcome = channel_orders_collect(account_id=account_id, retry_of=_job(retry_of))
    except SyncRefused as exc:  # busy (another collection runs) or nothing to collect with
        logger.info("collection of account %s not started: %s", account_id, exc)
        return
    _retry_error(self, outcome.error)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ChannelTemporaryError,),
    retry_backoff=BACKOFF_SECONDS,
    retry_backoff_max=BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def channel_orders_confirm_task(self: Task, account_id: int, retry_of: int | None = None) -> None:
    """발주확인 on the channel; a retry from the monitor also sends the refused lines again."""
    if not _syncs(account_id, scheduled=False):
        return
    try:
        outcome = channel_orders_confirm(
            account_id=account_id, retry_of=_job(retry_of), include_failed=retry_of is not None
        )
    except SyncRefused as exc:
        logger.info("confirmation for account %s not started: %s", account_id, exc)
        return
    _retry_error(self, outcome.error)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ChannelTemporaryError,),
    retry_backoff=BACKOFF_SECONDS,
    retry_backoff_max=BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def channel_dispatch_task(
    self: Task,
    account_id: int,
    retry_of: int | None = None,
    dispatches: list[tuple[int, str, str]] | None = None,
) -> None:
    """발송처리 of [(line id, courier code, tracking number)], or, without them, of the lines
    still waiting (all failed ones on a retry from the monitor)."""
    if not _syncs(account_id, scheduled=False):
        return
    lines = OrderLine.objects.in_bulk([line_id for line_id, _c, _t in dispatches or []])
    asked = [
        (lines[line_id], courier, number) for line_id, courier, number in dispatches or [] if line_id in lines
    ]
    try:
        outcome = channel_dispatch(
            account_id=account_id,
            dispatches=asked,
            retry_of=_job(retry_of),
            include_failed=retry_of is not None,
        )
    except SyncRefused as exc:
        logger.info("dispatch for account %s not started: %s", account_id, exc)
        return
    _retry_error(self, outcome.error)


@shared_task(acks_late=True, ignore_result=True)
def channel_stock_push_task(account_id: int | None = None, retry_of: int | None = None) -> None:
    """Beat, every few seconds: drain the stock-dirty SKUs to every account. A retry from the
    monitor reconciles that account instead (the failed listings are no longer marked dirty,
    but their last pushed value still differs)."""
    try:
        if retry_of is not None and account_id is not None:
            channel_stock_push(
                account_id=account_id, full=True, retry_of=_job(retry_of), lock_wait=RECONCILE_LOCK_WAIT
            )
        else:
            channel_stock_push(account_id=account_id, lock_wait=SCHEDULED_LOCK_WAIT)
    except SyncBusy:
        return
    except SyncRefused as exc:
        logger.info("stock push not started: %s", exc)


@shared_task(acks_late=True, ignore_result=True)
def channel_stock_reconcile_task(
    account_id: int | None = None, retry_of: int | None = None, force: bool = False
) -> None:
    """Beat, hourly: push every linked listing whose last pushed value differs (all with force)."""
    try:
        channel_stock_push(
            account_id=account_id,
            full=True,
            force=force,
            retry_of=_job(retry_of),
            lock_wait=RECONCILE_LOCK_WAIT,
        )
    except SyncRefused as exc:
        logger.info("stock reconciliation not run: %s", exc)


@shared_task(acks_late=True, ignore_result=True)
def channel_product_push_task(account_id: int | None = None, retry_of: int | None = None) -> None:
    """Beat, every minute: names, prices and sold-out changes the catalog marked."""
    try:
        channel_product_push(
            account_id=account_id,
            retry_of=_job(retry_of),
            force=retry_of is not None,
            lock_wait=SCHEDULED_LOCK_WAIT if retry_of is None else RECONCILE_LOCK_WAIT,
        )
    except SyncRefused as exc:
        logger.info("product push not run: %s", exc)


@shared_task(acks_late=True, ignore_result=True)
def channel_pending_writes_task() -> None:
    """Beat, every minute: queue 발주확인 and 발송처리 runs for the accounts with lines waiting."""
    for account_id, confirm, dispatch in accounts_with_pending_writes():
        if confirm:
            channel_orders_confirm_task.delay(account_id)
        if dispatch:
            channel_dispatch_task.delay(account_id)


@shared_task(acks_late=True, ignore_result=True)
def channel_schedules_sync_task() -> None:
    """Beat, every few minutes: every account has the collection schedule it should."""
    account_schedules_sync_all()


@shared_task(acks_late=True, ignore_result=True)
def channel_calllog_prune_task() -> int:
    """Beat, daily: drop API call rows older than CALLLOG_KEEP (every call of every account adds
    one, so the table would grow without end)."""
    deleted = calllog_prune(older_than=CALLLOG_KEEP)
    logger.info("pruned %d API call rows", deleted)
    return deleted


# The task for each kind of sync job, for the sync monitor's retry button.
SYNC_JOB_TASKS: dict[str, Any] = {
    SyncJob.Kind.COLLECT: channel_orders_collect_task,
    SyncJob.Kind.CONFIRM: channel_orders_confirm_task,
    SyncJob.Kind.DISPATCH: channel_dispatch_task,
    SyncJob.Kind.STOCK_PUSH: channel_stock_push_task,
    SyncJob.Kind.PRODUCT_PUSH: channel_product_push_task,
    SyncJob.Kind.RECONCILE: channel_stock_reconcile_task,
}
