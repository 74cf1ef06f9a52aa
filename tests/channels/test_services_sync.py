"""Order collection, 발주확인 and 발송처리 on the channel, against FakeNaver and FakeCoupang over
real HTTP through the real adapters and session (rate limit, retries, call log)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels.adapters.naver import NaverCommerceAdapter
from channels.models import CallLog, ChannelAccount, Listing, SyncJob
from channels.services_sync import (
    COLLECT_OVERLAP,
    SyncBusy,
    SyncRefused,
    channel_dispatch,
    channel_orders_collect,
    channel_orders_confirm,
    run_lock,
)
from channels.sync_models import LineSync
from inventory.models import StockLevel
from orders.models import LineStatus, Order, OrderLine
from orders.services import lines_transition
from tests.channels.sync_support import (
    coupang,
    coupang_account,
    naver,
    naver_account,
    naver_account_for,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import REMOVE, FakeNaver
from tests.fakes.server import Request, Response

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

DETAILS = "/product-orders/query"


def _confirm_in_oms(lines) -> None:
    outcome = lines_transition(lines=list(lines), target=LineStatus.CONFIRMED, actor=None)
    assert not outcome.refused


# --- collection -----------------------------------------------------------------------------------


def test_collect_stores_orders_reserves_stock_and_fills_the_listings(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    # given a SKU with 1 in stock and two paid orders for it on Naver
    tee = stocked("TEE-BK-M", 1, location=warehouse)
    first = naver.add_order(lines=[{"seller_product_code": "TEE-BK-M"}], buyer_name="김민준")
    second = naver.add_order(lines=[{"seller_product_code": "TEE-BK-M"}], buyer_name="이서연")

    # when the account is collected
    outcome = channel_orders_collect(account_id=naver_account.pk)

    # then both orders are stored: the older reserved, the newer short of stock
    assert outcome.ok and outcome.fetched == 2
    job = SyncJob.objects.get(pk=outcome.job.pk)
    assert (job.kind, job.status, job.fetched, job.created, job.failed) == ("collect", "succeeded", 2, 2, 0)
    assert job.duration_seconds is not None and job.params["reserved"] == 1 and job.params["backorder"] == 1
    lines = {ln.order.external_order_id: ln for ln in OrderLine.objects.select_related("order")}
    assert lines[first.order_id].backorder is False and lines[second.order_id].backorder is True
    assert StockLevel.objects.get(sku=tee).reserved == 1
    # the cursor moved to the end of the window and the API calls are on the job
    naver_account.refresh_from_db()
    assert naver_account.collect_cursor == outcome.until
    assert CallLog.objects.filter(job=job, path__contains="last-changed-statuses").exists()
    # the channel product became a listing, linked by its seller code
    listing = Listing.objects.get(account=naver_account)
    assert (listing.external_product_id, listing.external_option_id) == (
        "4000000001",
        "30000001",
    )  # the origin product no. the stock push uses
    assert listing.sku == tee and listing.linked_by == Listing.LinkedBy.SKU_CODE


def test_collecting_again_creates_nothing(naver: FakeNaver, naver_account: ChannelAccount, warehouse) -> None:
    stocked("TEE-BK-M", 10, location=warehouse)
    naver.add_orders(3, seller_product_code="TEE-BK-M")
    first = channel_orders_collect(account_id=naver_account.pk)
    assert first.ingest.orders_created == 3

    again = channel_orders_collect(account_id=naver_account.pk, since=timezone.now() - timedelta(days=1))

    assert again.fetched == 3 and again.ingest.orders_created == 0 and again.ingest.lines_created == 0
    assert again.job.created == 0 and again.job.skipped == 3
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 3
    assert StockLevel.objects.get(sku__code="TEE-BK-M").reserved == sum(
        ln.quantity for ln in OrderLine.objects.all()
    )


def test_each_run_rereads_an_overlap_and_catches_a_late_address_change(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    order = naver.add_order(recipient={"baseAddress": "서울특별시 중구 세종대로 110"})
    first = channel_orders_collect(account_id=naver_account.pk)
    cursor = first.until
    # Naver indexes the address change a little late: its change time is before our cursor.
    naver.change_address(
        order.order_id, at=cursor - timedelta(minutes=3), baseAddress="부산광역시 해운대구 센텀중앙로 79"
    )

    second = channel_orders_collect(account_id=naver_account.pk)

    assert second.since == cursor - COLLECT_OVERLAP
    stored = Order.objects.get(external_order_id=order.order_id)
    assert stored.address1 == "부산광역시 해운대구 센텀중앙로 79"
    assert OrderLine.objects.get(order=stored).address_changed is True
    assert second.ingest.orders_updated == 1 and second.job.updated >= 1


def test_unreadable_items_are_listed_the_good_orders_kept_and_the_cursor_stays(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    good = naver.add_order()
    broken = naver.add_order()
    naver.override(broken.product_order_ids[0], quantity=REMOVE)

    outcome = channel_orders_collect(account_id=naver_account.pk)

    assert set(Order.objects.values_list("external_order_id", flat=True)) == {good.order_id}
    assert [item.key for item in outcome.skipped_items] == broken.product_order_ids
    job = SyncJob.objects.get(pk=outcome.job.pk)
    assert (job.status, job.failed) == (SyncJob.Status.PARTIAL, 1)
    assert broken.product_order_ids[0] in job.params["skipped_items"]
    naver_account.refresh_from_db()
    assert naver_account.collect_cursor is None  # not past the failure
    assert naver_account.status == ChannelAccount.Status.ACTIVE

    # Naver answers properly again: the next run reads the same window and gets it
    naver.override(broken.product_order_ids[0], quantity=1)
    again = channel_orders_collect(account_id=naver_account.pk)
    assert again.ok and again.ingest.orders_created == 1
    naver_account.refresh_from_db()
    assert naver_account.collect_cursor == again.until


def test_a_failure_midway_keeps_the_orders_read_before_it_and_the_cursor(
    naver: FakeNaver, naver_account: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # detail calls of two product orders, stored two orders at a time
    monkeypatch.setattr(NaverCommerceAdapter, "details_batch", 2)
    monkeypatch.setattr("channels.services_sync.collect.INGEST_BATCH", 2)
    made = naver.add_orders(5)
    original = naver.handle
    seen = {"details": 0}

    def third_detail_call_fails(request: Request) -> Response:
        if DETAILS in request.path:
            seen["details"] += 1
            if seen["details"] == 3:  # a POST is not repeated by the session: the next run is the retry
                return FakeNaver.server_error(503)
        return original(request)

    monkeypatch.setattr(naver, "handle", third_detail_call_fails)
    outcome = channel_orders_collect(account_id=naver_account.pk)

    assert outcome.error is not None and "503" in outcome.error.message
    assert Order.objects.count() == 4  # the two detail batches before the failure are stored
    job = SyncJob.objects.get(pk=outcome.job.pk)
    assert job.status == SyncJob.Status.FAILED and "503" in job.error and job.created == 4
    account = ChannelAccount.objects.get(pk=naver_account.pk)
    assert account.collect_cursor is None
    assert account.status == ChannelAccount.Status.ACTIVE and "503" in account.last_error

    monkeypatch.setattr(naver, "handle", original)
    again = channel_orders_collect(account_id=naver_account.pk)
    assert again.ok and again.ingest.orders_created == 1 and Order.objects.count() == len(made)


def test_refused_credentials_fail_the_job_and_turn_the_account_to_error(
    naver: FakeNaver, real_adapters: None, quick_http: None
) -> None:
    account = naver_account_for(naver, name="만료된 키")
    naver.client_secret = "$2a$04$abcdefghijklmnopqrstuu"  # the seller re-issued the secret on Naver

    outcome = channel_orders_collect(account_id=account.pk)

    assert outcome.error is not None
    job = SyncJob.objects.get(pk=outcome.job.pk)
    assert job.status == SyncJob.Status.FAILED and "client_secret_sign" in job.error
    account.refresh_from_db()
    assert account.status == ChannelAccount.Status.ERROR and "client_secret_sign" in account.last_error
    assert account.collect_cursor is None


def test_coupang_orders_are_collected_with_box_line_ids(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse
) -> None:
    stocked("TEE-WH-L", 3, location=warehouse)
    box = coupang.add_order(items=[{"external_vendor_sku_code": "TEE-WH-L", "shipping_count": 2}])

    outcome = channel_orders_collect(account_id=coupang_account.pk)

    assert outcome.ok and outcome.ingest.orders_created == 1 and outcome.ingest.reserved == 1
    line = OrderLine.objects.get()
    assert line.external_line_id == box.line_ids[0] and line.order.bundle_key == box.shipment_box_id
    assert StockLevel.objects.get(sku__code="TEE-WH-L").reserved == 2


def test_a_coupang_cancel_of_an_older_order_releases_its_stock_on_the_next_collection(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse
) -> None:
    # given an order collected two days ago, its stock reserved
    stocked("TEE-WH-L", 3, location=warehouse)
    two_days_ago = timezone.now() - timedelta(days=2)
    box = coupang.add_order(
        ordered_at=two_days_ago, items=[{"external_vendor_sku_code": "TEE-WH-L", "shipping_count": 2}]
    )
    channel_orders_collect(account_id=coupang_account.pk, since=two_days_ago - timedelta(minutes=1))
    assert StockLevel.objects.get(sku__code="TEE-WH-L").reserved == 2
    # when the buyer cancels it now and the schedule collects its usual short window
    coupang.cancel(box.shipment_box_id)
    outcome = channel_orders_collect(account_id=coupang_account.pk)
    # then the line is cancelled and the reservation released
    assert outcome.ok and outcome.since > two_days_ago + timedelta(days=1)
    assert OrderLine.objects.get().status == LineStatus.CANCELLED
    assert StockLevel.objects.get(sku__code="TEE-WH-L").reserved == 0


def test_two_collections_of_one_account_never_overlap(naver_account: ChannelAccount) -> None:
    with run_lock(f"collect:{naver_account.pk}", ttl=timedelta(minutes=1)), pytest.raises(SyncBusy):
        channel_orders_collect(account_id=naver_account.pk)
    assert not SyncJob.objects.exists()
    # released: the next one runs
    assert channel_orders_collect(account_id=naver_account.pk).ok


def test_an_expired_lock_of_a_killed_worker_is_taken_over(naver_account: ChannelAccount) -> None:
    with run_lock(f"collect:{naver_account.pk}", ttl=timedelta(seconds=-1)):
        assert channel_orders_collect(account_id=naver_account.pk).ok


def test_a_window_that_starts_after_the_cursor_does_not_move_it(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    channel_orders_collect(account_id=naver_account.pk)
    old = timezone.now() - timedelta(days=2)
    ChannelAccount.objects.filter(pk=naver_account.pk).update(collect_cursor=old)

    outcome = channel_orders_collect(account_id=naver_account.pk, since=timezone.now() - timedelta(hours=1))

    assert outcome.ok and not outcome.cursor_advanced
    assert ChannelAccount.objects.get(pk=naver_account.pk).collect_cursor == old


def test_an_excel_only_account_is_refused_before_any_job(db: None) -> None:
    account = ChannelAccount.objects.create(marketplace="other", name="지마켓 엑셀")
    with pytest.raises(SyncRefused, match="Excel"):
        channel_orders_collect(account_id=account.pk)
    assert not SyncJob.objects.exists()


# --- 발주확인 ----------------------------------------------------------------------------------------


def test_confirm_sends_the_oms_confirmed_lines_in_batches_of_30_once(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.add_orders(35)
    already = naver.add_order(lines=[{"place_order_status": "OK"}])  # confirmed in SmartStore Center
    channel_orders_collect(account_id=naver_account.pk)
    new_lines = OrderLine.objects.exclude(order__external_order_id=already.order_id)
    _confirm_in_oms(new_lines)

    outcome = channel_orders_confirm(account_id=naver_account.pk)

    assert outcome.ok and outcome.done == 35
    assert sorted(naver.confirmed) == sorted(new_lines.values_list("external_line_id", flat=True))
    assert naver.calls("/product-orders/confirm") == 2
    assert LineSync.objects.filter(confirmed_at__isnull=False).count() == 35
    assert outcome.job is not None and (outcome.job.status, outcome.job.updated) == ("succeeded", 35)
    # nothing left: no job, no call
    assert channel_orders_confirm(account_id=naver_account.pk).job is None
    assert naver.calls("/product-orders/confirm") == 2


def test_confirm_records_each_refusal_with_navers_reason_and_retries_on_request(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    orders = naver.add_orders(3)
    channel_orders_collect(account_id=naver_account.pk)
    _confirm_in_oms(OrderLine.objects.all())
    refused = orders[1].product_order_ids[0]
    naver.fail_items({refused: ("CLAIM_REQUESTED", "취소 요청된 상품주문입니다.")})

    outcome = channel_orders_confirm(account_id=naver_account.pk)

    assert (outcome.done, outcome.failed) == (2, 1)
    sync = LineSync.objects.get(line__external_line_id=refused)
    assert sync.confirmed_at is None and sync.confirm_error == "취소 요청된 상품주문입니다."
    assert sync.confirm_code == "CLAIM_REQUESTED" and sync.confirm_attempts == 1
    assert outcome.job is not None
    job = SyncJob.objects.get(pk=outcome.job.pk)
    assert job.status == SyncJob.Status.PARTIAL and refused in job.params["failed_items"]
    # the schedule does not hammer a refusal the marketplace gave for good...
    assert channel_orders_confirm(account_id=naver_account.pk).job is None
    # ...a retry from the monitor sends it again
    naver.item_failures.clear()
    retried = channel_orders_confirm(account_id=naver_account.pk, include_failed=True, retry_of=job)
    assert retried.done == 1 and retried.job is not None and retried.job.retry_of == job
    sync.refresh_from_db()
    assert sync.confirmed_at is not None and sync.confirm_error == "" and sync.confirm_attempts == 2


def test_coupang_acknowledgement_retryable_refusal_is_tried_again_by_the_schedule(
    coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    boxes = coupang.add_orders(2)
    channel_orders_collect(account_id=coupang_account.pk)
    _confirm_in_oms(OrderLine.objects.all())
    coupang.fail_items(
        [boxes[0].shipment_box_id], code="BUSY", message="잠시 후 다시 시도해 주세요.", retry=True
    )

    first = channel_orders_confirm(account_id=coupang_account.pk)

    assert (first.done, first.failed) == (1, 1) and first.lines[0].retryable in (True, False)
    failed = next(line for line in first.lines if not line.ok)
    assert failed.retryable and failed.message == "잠시 후 다시 시도해 주세요."
    coupang.item_failures.clear()
    second = channel_orders_confirm(account_id=coupang_account.pk)
    assert second.done == 1 and sorted(coupang.acknowledged) == sorted(b.shipment_box_id for b in boxes)


def test_an_outage_stops_the_run_without_counting_an_attempt(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.add_orders(2)
    channel_orders_collect(account_id=naver_account.pk)
    _confirm_in_oms(OrderLine.objects.all())
    naver.fail_next(FakeNaver.server_error(502), path="/confirm")

    outcome = channel_orders_confirm(account_id=naver_account.pk)

    assert outcome.error is not None and outcome.job is not None
    assert outcome.job.status == SyncJob.Status.FAILED
    assert not LineSync.objects.exists()
    assert channel_orders_confirm(account_id=naver_account.pk).done == 2


# --- 발송처리 ----------------------------------------------------------------------------------------


def test_dispatch_answers_per_line_and_never_sends_a_line_twice(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.add_orders(3)
    channel_orders_collect(account_id=naver_account.pk)
    a, b, c = OrderLine.objects.order_by("pk")

    outcome = channel_dispatch(
        account_id=naver_account.pk,
        dispatches=[(a, "CJGLS", "123456789012"), (b, "LOTTE", "223456789012"), (c, "HYUNDAI", "3234567890")],
    )

    assert [(o.external_line_id, o.ok) for o in outcome.lines] == [
        (a.external_line_id, True),
        (b.external_line_id, False),
        (c.external_line_id, True),
    ]
    assert outcome.lines[1].code == "INVALID_DELIVERY_COMPANY" and "LOTTE" in outcome.lines[1].message
    assert SyncJob.objects.filter(pk=getattr(outcome.job, "pk", 0), status=SyncJob.Status.PARTIAL).exists()
    sync_b = LineSync.objects.get(line=b)
    assert sync_b.dispatched_at is None and (sync_b.courier_code, sync_b.dispatch_code) == (
        "LOTTE",
        "INVALID_DELIVERY_COMPANY",
    )
    sent = len(naver.dispatched)

    # the shipping desk sends all three again, with b's courier corrected
    again = channel_dispatch(
        account_id=naver_account.pk,
        dispatches=[(a, "CJGLS", "123456789012"), (b, "HYUNDAI", "223456789012"), (c, "KGB", "99999999999")],
    )

    assert [(o.ok, o.already) for o in again.lines] == [(True, True), (True, False), (False, True)]
    assert again.lines[2].code == "ALREADY_DISPATCHED"
    assert len(naver.dispatched) == sent + 1 and naver.dispatched[-1]["deliveryCompanyCode"] == "HYUNDAI"
    assert LineSync.objects.filter(dispatched_at__isnull=False).count() == 3


def test_a_dispatch_cut_off_by_an_outage_is_sent_by_the_next_run_as_asked(
    coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    boxes = coupang.add_orders(2, status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    lines = list(OrderLine.objects.order_by("pk"))
    coupang.fail_next(FakeCoupang.server_error(503), path="/orders/invoices")

    outcome = channel_dispatch(
        account_id=coupang_account.pk,
        dispatches=[(line, "CJGLS", f"55512345678{n}") for n, line in enumerate(lines)],
    )

    assert outcome.error is not None and all(not o.ok and o.retryable for o in outcome.lines)
    assert not coupang.invoices
    pending = LineSync.objects.filter(dispatched_at__isnull=True, dispatch_retryable=True)
    assert pending.count() == 2

    retried = channel_dispatch(account_id=coupang_account.pk)

    assert retried.ok and retried.done == 2
    assert sorted(i["invoiceNumber"] for i in coupang.invoices) == ["555123456780", "555123456781"]
    assert {str(i["shipmentBoxId"]) for i in coupang.invoices} == {b.shipment_box_id for b in boxes}


def test_a_line_of_another_account_is_refused(
    naver: FakeNaver, naver_account: ChannelAccount, coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    coupang.add_order(status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    line = OrderLine.objects.get()

    outcome = channel_dispatch(account_id=naver_account.pk, dispatches=[(line, "CJGLS", "123456789012")])

    assert [(o.ok, o.code) for o in outcome.lines] == [(False, "OTHER_ACCOUNT")]
    assert not naver.dispatched and not LineSync.objects.exists()
