"""End to end with a REAL Celery worker process on the configured broker (Redis in CI, the
filesystem transport on the embedded default), both fake marketplaces over real HTTP and the
test database: orders collected by the worker reserve stock once, the worker's stock push sends
the true number, collecting again creates nothing, and a storm of 429s and 5xx loses no order
and leaves no wrong number on either channel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from channels.models import ChannelAccount, Listing, SyncJob
from channels.tasks import channel_orders_collect_task, channel_stock_push_task
from inventory.models import StockDirty, StockLevel
from inventory.selectors import available_map
from orders.models import Order, OrderLine
from tests.channels.sync_support import (
    coupang_account_for,
    listing,
    naver_account_for,
    real_adapters,
    stocked,
)
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import FakeNaver
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["real_adapters"]

ROOT = Path(__file__).resolve().parents[2]
NAVER_PRODUCT, NAVER_OPTION = "5000000001", "30000001"
COUPANG_PRODUCT, COUPANG_ITEM = "13000000001", "70000000001"


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """`celery -A oms worker` on its own queue, against the test database."""

    def __init__(self) -> None:
        self.queue = f"test-sync-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "oms",
                "worker",
                "-Q",
                self.queue,
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def send(self, task: Any, **kwargs: Any) -> None:
        task.apply_async(kwargs=kwargs, queue=self.queue)

    def wait_for(self, what: str, done: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            if done():
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker did not {what} within {timeout:.0f} s")

    def output(self) -> str:
        self.stop()
        assert self.process.stdout is not None
        return self.process.stdout.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def worker() -> Iterator[Worker]:
    started = Worker()
    yield started
    started.stop()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeNaver, FakeCoupang]]:
    with FakeNaver() as naver, FakeCoupang() as coupang:
        yield naver, coupang


def _collected(account: ChannelAccount, runs: int) -> Callable[[], bool]:
    """At least `runs` successful collections of the account."""
    return lambda: (
        SyncJob.objects.filter(
            account=account, kind=SyncJob.Kind.COLLECT, status=SyncJob.Status.SUCCEEDED
        ).count()
        >= runs
    )


def _pushed_to(naver: FakeNaver, coupang: FakeCoupang, quantity: int) -> Callable[[], bool]:
    return lambda: (
        naver.stock.get((NAVER_PRODUCT, NAVER_OPTION)) == quantity
        and coupang.quantities.get(COUPANG_ITEM) == quantity
        and not StockDirty.objects.exists()
    )


def test_one_unit_two_channels_one_reserved_one_backorder_and_zero_pushed_everywhere(
    worker: Worker, fakes: tuple[FakeNaver, FakeCoupang], real_adapters: None
) -> None:
    naver, coupang = fakes
    # given one unit of a SKU, listed on Naver and on Coupang
    warehouse = LocationFactory.create()
    last_one = stocked("ONE-LEFT", 1, location=warehouse)
    naver_account = naver_account_for(naver)
    coupang_account = coupang_account_for(coupang)
    listing(naver_account, NAVER_PRODUCT, NAVER_OPTION, last_one)
    listing(coupang_account, COUPANG_PRODUCT, COUPANG_ITEM, last_one)
    worker.send(channel_stock_push_task)
    worker.wait_for("push the starting stock", _pushed_to(naver, coupang, 1))

    # when a buyer on each channel orders it, and the worker collects both
    naver.add_order(lines=[{"seller_product_code": "ONE-LEFT", "option_code": NAVER_OPTION}])
    coupang.add_order(items=[{"vendor_item_id": COUPANG_ITEM, "external_vendor_sku_code": "ONE-LEFT"}])
    worker.send(channel_orders_collect_task, account_id=naver_account.pk, scheduled=True)
    worker.wait_for("collect Naver", _collected(naver_account, 1))
    worker.send(channel_orders_collect_task, account_id=coupang_account.pk, scheduled=True)
    worker.wait_for("collect Coupang", _collected(coupang_account, 1))

    # then one line holds the unit and the other waits for stock
    lines = list(OrderLine.objects.order_by("pk"))
    assert len(lines) == 2
    assert [line.backorder for line in lines] == [False, True]
    level = StockLevel.objects.get(sku=last_one)
    assert (level.on_hand, level.reserved) == (1, 1)

    # and the worker's stock push sends 0 to both channels
    worker.send(channel_stock_push_task)
    worker.wait_for("push 0 to both channels", _pushed_to(naver, coupang, 0))
    assert set(Listing.objects.values_list("last_pushed_quantity", flat=True)) == {0}

    # collecting again creates nothing
    worker.send(channel_orders_collect_task, account_id=naver_account.pk)
    worker.send(channel_orders_collect_task, account_id=coupang_account.pk)
    worker.wait_for(
        "collect both again", lambda: _collected(naver_account, 2)() and _collected(coupang_account, 2)()
    )
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 2
    assert list(
        SyncJob.objects.filter(kind=SyncJob.Kind.COLLECT)
        .order_by("-pk")
        .values_list("created", flat=True)[:2]
    ) == [0, 0]
    assert StockLevel.objects.get(sku=last_one).reserved == 1


def test_a_storm_of_429s_and_5xx_loses_no_order_and_leaves_no_wrong_number(
    worker: Worker, fakes: tuple[FakeNaver, FakeCoupang], real_adapters: None
) -> None:
    naver, coupang = fakes
    warehouse = LocationFactory.create()
    tee = stocked("TEE-BK-M", 12, location=warehouse)
    naver_account = naver_account_for(naver, stock_keep_back=2)
    coupang_account = coupang_account_for(coupang, stock_expose_percent=50)
    listing(naver_account, NAVER_PRODUCT, NAVER_OPTION, tee)
    listing(coupang_account, COUPANG_PRODUCT, COUPANG_ITEM, tee)
    made_naver = naver.add_orders(15, seller_product_code="TEE-BK-M", option_code=NAVER_OPTION, quantity=1)
    made_coupang = coupang.add_orders(
        15, vendor_item_id=COUPANG_ITEM, external_vendor_sku_code="TEE-BK-M", shipping_count=1
    )

    # the storm: rate limits the session waits out, 5xx the session or the task retries
    naver.fail_next(FakeNaver.rate_limited(retry_after=1), path="last-changed-statuses", times=2)
    naver.fail_next(FakeNaver.server_error(503), path="/product-orders/query", times=2)
    naver.fail_next(FakeNaver.server_error(500), path="/option-stock", times=2)
    naver.fail_next(FakeNaver.rate_limited(retry_after=1), path="/option-stock", times=1)
    coupang.fail_next(FakeCoupang.rate_limited(retry_after=1), path="/ordersheets", times=2)
    coupang.fail_next(FakeCoupang.server_error(502), path="/ordersheets", times=3)
    coupang.fail_next(FakeCoupang.server_error(503), path="/quantities", times=2)

    worker.send(channel_orders_collect_task, account_id=naver_account.pk, scheduled=True)
    worker.send(channel_orders_collect_task, account_id=coupang_account.pk, scheduled=True)
    worker.wait_for(
        "collect both through the storm",
        lambda: _collected(naver_account, 1)() and _collected(coupang_account, 1)(),
        timeout=240,
    )

    # no order lost, none twice
    expected = {po for order in made_naver for po in order.product_order_ids} | {
        line_id for box in made_coupang for line_id in box.line_ids
    }
    assert set(OrderLine.objects.values_list("external_line_id", flat=True)) == expected
    assert OrderLine.objects.count() == 30
    level = StockLevel.objects.get(sku=tee)
    assert (level.on_hand, level.reserved) == (12, 12)
    assert OrderLine.objects.filter(backorder=True).count() == 18

    # the pushes: each one either sends the true number or leaves the SKU dirty for the next
    available = available_map([tee.pk])[tee.pk]
    assert available == 0
    deadline = time.monotonic() + 120
    while StockDirty.objects.exists() or naver.stock.get((NAVER_PRODUCT, NAVER_OPTION)) is None:
        assert time.monotonic() < deadline, "the stock push did not settle within 120 s"
        worker.send(channel_stock_push_task)
        time.sleep(1.5)
    worker.wait_for("settle", _pushed_to(naver, coupang, 0))

    # some stock comes back: the true exposed numbers (keep 2 back / 50 %) reach both channels
    from inventory.services import stock_receive

    stock_receive(sku=tee, location=warehouse, quantity=30, reason="입고")  # 18 short lines stay short
    worker.send(channel_stock_push_task)
    truth = available_map([tee.pk])[tee.pk]
    naver_account.refresh_from_db()
    coupang_account.refresh_from_db()
    worker.wait_for(
        "push the restocked numbers",
        lambda: (
            naver.stock.get((NAVER_PRODUCT, NAVER_OPTION)) == naver_account.exposed_quantity(truth)
            and coupang.quantities.get(COUPANG_ITEM) == coupang_account.exposed_quantity(truth)
            and not StockDirty.objects.exists()
        ),
    )
    assert truth == 30
    assert (naver.stock[(NAVER_PRODUCT, NAVER_OPTION)], coupang.quantities[COUPANG_ITEM]) == (28, 15)
    assert SyncJob.objects.filter(status=SyncJob.Status.FAILED).exists()  # the storm was real
