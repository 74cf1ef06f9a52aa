"""The Celery tasks of the channel sync (run eagerly here; tests/e2e/test_channel_sync_worker.py
runs them in a real worker) and the per-account beat schedules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from channels.models import CallLog, ChannelAccount, SyncJob
from channels.schedules import account_schedule_sync, account_schedules_sync_all, collect_schedule_name
from channels.services_accounts import (
    channel_account_pause,
    channel_account_resume,
    channel_account_update,
    sync_job_retry,
    sync_job_task,
)
from channels.services_sync import STOCK_PUSH_LOCK, run_lock
from channels.sync_models import LineSync
from channels.tasks import (
    CALLLOG_KEEP,
    channel_calllog_prune_task,
    channel_dispatch_task,
    channel_orders_collect_task,
    channel_pending_writes_task,
    channel_schedules_sync_task,
    channel_stock_push_task,
    channel_stock_reconcile_task,
)
from inventory.models import StockDirty
from oms.celery import app
from orders.models import LineStatus, Order, OrderLine
from orders.services import lines_transition
from tests.channels.sync_support import (
    coupang,
    coupang_account,
    listing,
    naver,
    naver_account,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.fakes.naver import FakeNaver

pytestmark = pytest.mark.django_db

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

DETAILS = "/product-orders/query"


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks queued with .delay() run at once in this process (the monitor's retry button)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _schedule(account: ChannelAccount) -> PeriodicTask:
    return PeriodicTask.objects.get(name=collect_schedule_name(account.pk))


# --- schedules ------------------------------------------------------------------------------------


def test_an_account_gets_a_collection_schedule_that_follows_its_edits(naver_account: ChannelAccount) -> None:
    task = _schedule(naver_account)
    assert task.enabled and task.task == "channels.tasks.channel_orders_collect_task"
    assert json.loads(task.kwargs) == {"account_id": naver_account.pk, "scheduled": True}
    assert (task.interval.every, task.interval.period) == (5, IntervalSchedule.MINUTES)

    channel_account_update(actor=None, account=naver_account, settings={"collect_interval_minutes": 2})
    assert _schedule(naver_account).interval.every == 2

    channel_account_pause(actor=None, account=naver_account)
    assert not _schedule(naver_account).enabled
    channel_account_resume(actor=None, account=naver_account)
    assert _schedule(naver_account).enabled

    channel_account_update(actor=None, account=naver_account, settings={"is_active": False})
    assert not _schedule(naver_account).enabled
    assert PeriodicTask.objects.filter(name__startswith="channels: collect").count() == 1


def test_an_excel_only_account_has_no_schedule_and_missing_ones_are_made(db: None) -> None:
    excel = ChannelAccount.objects.create(marketplace="other", name="지마켓 엑셀")
    made_outside = ChannelAccount.objects.create(marketplace="coupang", name="쿠팡 (명령으로)")
    assert account_schedule_sync(excel) is None

    channel_schedules_sync_task.apply()

    assert not PeriodicTask.objects.filter(name=collect_schedule_name(excel.pk)).exists()
    # no credentials yet: nothing to collect with
    assert not _schedule(made_outside).enabled
    channel_account_update(
        actor=None,
        account=made_outside,
        credentials={"access_key": "ak", "secret_key": "sk-123456", "vendor_id": "A00012345"},
    )
    assert _schedule(made_outside).enabled
    # the first run is due at once, not one interval from now
    assert _schedule(made_outside).start_time is not None
    assert account_schedules_sync_all() == 2  # and again changes nothing
    assert PeriodicTask.objects.filter(name__startswith="channels: collect").count() == 1


def test_the_fixed_schedules_are_in_the_beat_settings() -> None:
    schedule: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE
    beat = {entry["task"]: entry for entry in schedule.values()}
    push = beat["channels.tasks.channel_stock_push_task"]
    assert push["schedule"] <= 5 and push["options"]["expires"] <= 10
    assert beat["channels.tasks.channel_product_push_task"]["schedule"] == 60
    assert "channels.tasks.channel_stock_reconcile_task" in beat
    assert "channels.tasks.channel_pending_writes_task" in beat


def test_old_api_calls_are_pruned_daily_by_beat(naver_account: ChannelAccount) -> None:
    # given a call row older than what is kept and a fresh one
    old = CallLog.objects.create(account=naver_account, method="GET", path="/old")
    CallLog.objects.filter(pk=old.pk).update(at=timezone.now() - CALLLOG_KEEP - timedelta(days=1))
    fresh = CallLog.objects.create(account=naver_account, method="GET", path="/new")
    # then beat runs the prune once a day ...
    schedule: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE
    (entry,) = [e for e in schedule.values() if e["task"] == "channels.tasks.channel_calllog_prune_task"]
    assert isinstance(entry["schedule"], crontab)
    daily: Any = entry["schedule"]  # (celery's stubs do not declare crontab's parsed fields)
    assert daily.hour == {4} and daily.minute == {40}
    assert "channels.tasks.channel_calllog_prune_task" in app.tasks
    # ... and the task drops only the old row
    assert channel_calllog_prune_task.apply().get() == 1
    assert list(CallLog.objects.values_list("pk", flat=True)) == [fresh.pk]


# --- tasks ----------------------------------------------------------------------------------------


def test_the_collect_task_collects_and_retries_a_temporary_failure(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.add_orders(2)
    naver.fail_next(FakeNaver.server_error(503), path=DETAILS, times=2)

    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk, "scheduled": True})

    jobs = list(
        SyncJob.objects.filter(kind=SyncJob.Kind.COLLECT).order_by("pk").values_list("status", flat=True)
    )
    assert jobs == ["failed", "failed", "succeeded"]
    assert Order.objects.count() == 2


def test_a_rate_limit_is_retried_after_the_marketplaces_hint(
    naver: FakeNaver, naver_account: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    naver.add_orders(1)
    # longer than the session waits by itself: handed to the task's retry
    naver.fail_next(FakeNaver.rate_limited(retry_after=45), path="last-changed-statuses")
    countdowns: list[float] = []
    real_retry = channel_orders_collect_task.retry

    def retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(channel_orders_collect_task, "retry", retry)
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk})

    assert len(countdowns) == 1 and countdowns[0] >= 45
    assert Order.objects.count() == 1


def test_scheduled_runs_leave_paused_and_refused_accounts_alone(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.add_orders(1)
    ChannelAccount.objects.filter(pk=naver_account.pk).update(status=ChannelAccount.Status.ERROR)
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk, "scheduled": True})
    assert not SyncJob.objects.exists() and not naver.requests

    # the monitor's retry of a job is a person asking: it runs, and the account recovers
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk})
    assert Order.objects.count() == 1
    assert ChannelAccount.objects.get(pk=naver_account.pk).status == ChannelAccount.Status.ACTIVE

    channel_account_pause(actor=None, account=naver_account)
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk})
    assert SyncJob.objects.count() == 1


def test_a_collection_already_running_makes_the_task_end_quietly(naver_account: ChannelAccount) -> None:
    with run_lock(f"collect:{naver_account.pk}", ttl=timedelta(minutes=1)):
        result = channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk})
    assert result.successful() and not SyncJob.objects.exists()


def test_the_stock_push_task_drains_and_gives_way_to_a_running_push(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 3, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    with run_lock(STOCK_PUSH_LOCK, ttl=timedelta(minutes=1)):
        assert channel_stock_push_task.apply().successful()
    assert StockDirty.objects.exists() and not naver.stock

    channel_stock_push_task.apply()

    assert naver.stock == {("4000000001", "30000001"): 3} and not StockDirty.objects.exists()


def test_the_monitor_retries_a_failed_push_as_a_reconciliation_of_that_account(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse, eager: None
) -> None:
    tee = stocked("TEE-BK-M", 3, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    naver.fail_items({"4000000001": ("TEMPORARILY_LOCKED", "상품 수정 중입니다.")})
    channel_stock_push_task.apply()
    failed = SyncJob.objects.get(kind=SyncJob.Kind.STOCK_PUSH)
    assert failed.status == SyncJob.Status.PARTIAL and not StockDirty.objects.exists()
    naver.item_failures.clear()

    assert sync_job_task(SyncJob.Kind.STOCK_PUSH) is channel_stock_push_task
    sync_job_retry(actor=None, job=failed)

    retry = SyncJob.objects.get(retry_of=failed)
    assert retry.kind == SyncJob.Kind.RECONCILE and retry.status == SyncJob.Status.SUCCEEDED
    assert naver.stock == {("4000000001", "30000001"): 3}


def test_the_monitor_retries_a_failed_collection(
    naver: FakeNaver, naver_account: ChannelAccount, eager
) -> None:
    naver.add_orders(1)
    naver.fail_next(FakeNaver.server_error(500), path=DETAILS, times=20)
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk}, retries=6)  # last try
    failed = SyncJob.objects.get()
    assert failed.status == SyncJob.Status.FAILED
    naver.faults.clear()

    sync_job_retry(actor=None, job=failed)

    assert SyncJob.objects.get(retry_of=failed).status == SyncJob.Status.SUCCEEDED
    assert Order.objects.count() == 1


def test_pending_confirmations_and_dispatches_are_sent_by_the_schedule(
    naver: FakeNaver, naver_account: ChannelAccount, eager: None
) -> None:
    naver.add_orders(3)
    channel_orders_collect_task.apply(kwargs={"account_id": naver_account.pk})
    lines = list(OrderLine.objects.order_by("pk"))
    lines_transition(lines=lines[:2], target=LineStatus.CONFIRMED, actor=None)
    # a dispatch asked while Naver was down (longer than the task's own retries) waits on its line
    naver.fail_next(FakeNaver.server_error(502), path="/dispatch", times=20)
    result = channel_dispatch_task.apply(
        kwargs={"account_id": naver_account.pk, "dispatches": [(lines[2].pk, "CJGLS", "123456789012")]}
    )
    assert result.failed() and naver.calls("/dispatch") == 7  # the first try and 6 retries
    assert LineSync.objects.get(line=lines[2]).dispatched_at is None
    naver.faults.clear()

    channel_pending_writes_task.apply()

    assert sorted(naver.confirmed) == sorted(line.external_line_id for line in lines[:2])
    assert [d["productOrderId"] for d in naver.dispatched] == [lines[2].external_line_id]
    assert LineSync.objects.get(line=lines[2]).dispatched_at is not None
    # and nothing is left for the next minute
    calls = len(naver.requests)
    channel_pending_writes_task.apply()
    assert len(naver.requests) == calls


def test_the_reconcile_task_repairs_drift(naver: FakeNaver, naver_account: ChannelAccount, warehouse) -> None:
    tee = stocked("TEE-BK-M", 3, location=warehouse)
    StockDirty.objects.all().delete()
    listing(naver_account, "4000000001", "30000001", tee, last_pushed_quantity=9)

    channel_stock_reconcile_task.apply()

    assert naver.stock == {("4000000001", "30000001"): 3}
