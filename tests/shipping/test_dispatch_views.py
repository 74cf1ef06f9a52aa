"""The dispatch pages: the ready list per channel account, 발송처리 with its per-item result page,
retry, the Excel-only channels' sheet download, tracking-number correction, and big runs as jobs."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from channels.models import ChannelAccount, Marketplace
from channels.services_sync import channel_orders_collect
from inventory.models import Location, StockLevel
from oms.models import Job, User
from orders.models import LineStatus, OrderLine
from shipping import services_dispatch
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from tests.channels.factories import ChannelAccountFactory
from tests.channels.sync_support import (
    naver,
    naver_account,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.conftest import client_for
from tests.fakes.naver import FakeNaver
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import courier, ingest_orders, shipment_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

Dispatch = ShipmentItem.Dispatch


@pytest.fixture
def staff(make_user) -> User:
    return make_user()


@pytest.fixture
def client(staff: User) -> Client:
    return client_for(staff)


def _naver_boxes(naver: FakeNaver, account: ChannelAccount, count: int) -> list[Shipment]:
    for _ in range(count):
        naver.add_order(lines=[{"seller_product_code": "KNIT-BK-S"}])
    channel_orders_collect(account_id=account.pk)
    return [
        shipment_of([line], courier=courier(), tracking_number=f"{123456789000 + n}")
        for n, line in enumerate(OrderLine.objects.filter(account=account).order_by("pk"))
    ]


def _excel_box(account: ChannelAccount) -> Shipment:
    (order,) = ingest_orders(account, [channel_order(channel_line(codes=("KNIT-BK-S",)))])
    return shipment_of(list(order.lines.all()), courier=courier(), tracking_number="444444444444")


def test_the_page_groups_ready_boxes_per_account_and_says_which_go_by_api_and_which_by_sheet(
    client: Client, naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    boxes = _naver_boxes(naver, naver_account, 2)
    eleven = ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가 본점")
    _excel_box(eleven)
    no_tracking = _excel_box(eleven)
    Shipment.objects.filter(pk=no_tracking.pk).update(tracking_number="")

    page = client.get(reverse("shipping:dispatch")).content.decode()

    assert "3 shipments ready" in page
    assert (
        page.count('class="card dispatch-group api') == 1
        and page.count('class="card dispatch-group excel') == 1
    )
    assert "By API" in page and "By Excel sheet" in page
    assert "1 box · 1 line<" in page and "2 boxes · 2 lines" in page
    for box in boxes:
        assert box.number in page
    assert no_tracking.number not in page
    # the desk's ?ids= shows only those boxes
    picked = client.get(reverse("shipping:dispatch"), {"ids": boxes[0].number}).content.decode()
    assert boxes[0].number in picked and boxes[1].number not in picked
    assert "Showing the 1 shipment picked on the shipment list." in picked


def test_dispatching_from_the_page_shows_each_refusal_with_the_marketplace_reason_and_retries_it(
    client: Client, naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    good, bad = _naver_boxes(naver, naver_account, 2)
    refused = bad.items.get().line
    naver.fail_items(
        [refused.external_line_id], code="CLAIM_REQUESTED", message="클레임이 요청된 상품주문입니다."
    )

    response = client.post(reverse("shipping:dispatch_start"), {"ids": [good.pk, bad.pk]})

    job = Job.objects.get(kind=services_dispatch.JOB_KIND)
    assert response.status_code == 302 and response["Location"] == reverse(
        "shipping:dispatch_result", args=[job.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert job.status == Job.Status.SUCCEEDED or Job.objects.get().status == Job.Status.SUCCEEDED
    assert 'data-count="sent">1<' in page and 'data-count="failed">1<' in page
    assert "클레임이 요청된 상품주문입니다. (CLAIM_REQUESTED)" in page and refused.external_line_id in page
    assert "Retry the lines not sent" in page
    assert Shipment.objects.get(pk=good.pk).status == ShipmentStatus.SHIPPED
    assert Shipment.objects.get(pk=bad.pk).status == ShipmentStatus.READY

    naver.item_failures.clear()
    retried = client.post(reverse("shipping:dispatch_retry", args=[job.pk]))

    again = Job.objects.exclude(pk=job.pk).get()
    assert retried["Location"] == reverse("shipping:dispatch_result", args=[again.pk])
    assert again.result["shipments"] == [bad.pk] and again.result["retry_of"] == job.pk
    page = client.get(retried["Location"]).content.decode()
    assert 'data-count="sent">1<' in page and 'data-count="failed">0<' in page
    assert Shipment.objects.get(pk=bad.pk).status == ShipmentStatus.SHIPPED
    assert len(naver.dispatched) == 2


def test_nothing_selected_is_refused_with_a_message(client: Client) -> None:
    response = client.post(reverse("shipping:dispatch_start"), {}, follow=True)

    assert "Select the shipments to dispatch." in response.content.decode()
    assert not Job.objects.exists()


def test_the_excel_sheet_download_ships_the_lines_and_can_be_downloaded_again(
    client: Client, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    store = ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE, name="엑셀 스토어")
    box = _excel_box(store)
    result = client.post(reverse("shipping:dispatch_start"), {"select_all": "filtered"})
    job = Job.objects.get()
    page = client.get(result["Location"]).content.decode()
    assert "1 line waits for the dispatch sheet." in page
    assert "Download the dispatch sheet and mark these lines shipped" in page
    url = reverse("shipping:dispatch_sheet", args=[job.pk, store.pk])

    download = client.post(url)

    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name("발송처리").to_python()
    line = OrderLine.objects.get()
    assert rows == [
        ["상품주문번호", "배송방법", "택배사", "송장번호"],
        [line.external_line_id, "택배,등기,소포", "CJ대한통운", "444444444444"],
    ]
    assert line.status == LineStatus.SHIPPED and ShipmentItem.objects.get().dispatch_state == Dispatch.EXCEL
    assert Shipment.objects.get(pk=box.pk).status == ShipmentStatus.SHIPPED
    assert StockLevel.objects.get(sku__code="KNIT-BK-S").on_hand == 19
    page = client.get(result["Location"]).content.decode()
    assert "1 line went out by this sheet." in page and "Download the sheet again" in page
    again = client.get(url)
    assert again.status_code == 200 and again["Content-Type"].startswith("application/vnd.openxmlformats")
    assert StockLevel.objects.get(sku__code="KNIT-BK-S").on_hand == 19


def test_correcting_a_sent_box_warns_to_change_it_on_the_marketplace(
    client: Client, naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    (box,) = _naver_boxes(naver, naver_account, 1)
    client.post(reverse("shipping:dispatch_start"), {"ids": [box.pk]})
    url = reverse("shipping:dispatch_correct", args=[box.pk])
    assert "already dispatched to their channel" in client.get(url).content.decode()

    bad = client.post(url, {"courier": courier().pk, "number": "12345"})
    assert bad.status_code == 400 and "CJ대한통운 tracking numbers have 10,12 digits" in bad.content.decode()

    done = client.post(url, {"courier": courier("HANJIN").pk, "number": "5555 6666 7777"}, follow=True)

    page = done.content.decode()
    assert f"{box.number} now ships under 한진택배 555566667777." in page
    assert "seller centre" in page and naver_account.name in page
    box.refresh_from_db()
    assert box.tracking_number == "555566667777"


def test_a_big_run_goes_to_the_worker_with_a_progress_bar(
    client: Client,
    staff: User,
    naver: FakeNaver,
    naver_account: ChannelAccount,
    warehouse: Location,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    from oms.celery import app

    stocked("KNIT-BK-S", 20, location=warehouse)
    boxes = _naver_boxes(naver, naver_account, 3)
    monkeypatch.setattr(services_dispatch, "INLINE_ITEMS", 2)
    monkeypatch.setattr(services_dispatch, "SEND_CHUNK", 1)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    progress: list[int] = []
    real = services_dispatch.job_progress

    def spy(*, job_id: int, done: int, message: str = "") -> None:
        progress.append(done)
        real(job_id=job_id, done=done, message=message)

    monkeypatch.setattr(services_dispatch, "job_progress", spy)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("shipping:dispatch_start"), {"ids": [b.pk for b in boxes]})
    job = Job.objects.get()
    assert job.status == Job.Status.QUEUED and not naver.dispatched
    waiting = client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' in waiting and "?part=progress" in waiting

    for callback in callbacks:
        callback()

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.created_by == staff and progress == [1, 2, 3]
    assert len(naver.dispatched) == 3
    poll = client.get(response["Location"] + "?part=progress", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"
    # the task delivered twice sends nothing more
    from shipping.tasks import shipments_dispatch_task

    shipments_dispatch_task.delay(job_id=job.pk, actor_id=staff.pk)
    assert len(naver.dispatched) == 3


def test_a_box_held_back_shows_why_on_the_ready_list(client: Client, warehouse: Location) -> None:
    from orders.services import order_line_hold
    from shipping.services_dispatch import shipments_dispatch

    stocked("KNIT-BK-S", 20, location=warehouse)
    eleven = ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가 본점")
    box = _excel_box(eleven)
    line = OrderLine.objects.get()
    order_line_hold(line=line, actor=None, reason="주소 확인")
    shipments_dispatch(shipments=[box], actor=None)

    page = client.get(reverse("shipping:dispatch")).content.decode()

    assert box.number in page
    assert f"{line.external_line_id}: The order line is On hold, so it was not dispatched." in page


def test_boxes_with_nothing_left_to_send_start_no_run(client: Client, warehouse: Location) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    box = _excel_box(ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가 본점"))
    ShipmentItem.objects.filter(shipment=box).update(dispatch_state=Dispatch.EXCEL)

    response = client.post(
        reverse("shipping:dispatch_start"), {"scope": str(box.pk), "ids": [box.pk]}, follow=True
    )

    assert not Job.objects.exists()
    assert "Select the shipments to dispatch." in response.content.decode()
    with pytest.raises(services_dispatch.DispatchRefused, match="nothing left to dispatch"):
        services_dispatch.dispatch_start(shipment_ids=[box.pk], actor=None)
    assert not Job.objects.exists()


def test_phone_orders_get_a_tracking_list_not_a_seller_centre_sheet(
    client: Client, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    phone = ChannelAccountFactory.create(marketplace=Marketplace.MANUAL, name="전화주문")
    _excel_box(phone)
    result = client.post(reverse("shipping:dispatch_start"), {"select_all": "filtered"})
    page = client.get(result["Location"]).content.decode()
    assert "Download the tracking list and mark these lines shipped" in page
    assert "Phone and offline orders have no seller centre to upload to" in page
    assert "Upload the file in the channel's seller centre" not in page


def test_recent_runs_say_whether_their_excel_sheets_are_still_waiting(
    client: Client, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 20, location=warehouse)
    store = ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE, name="엑셀 스토어")
    _excel_box(store)
    client.post(reverse("shipping:dispatch_start"), {"select_all": "filtered"})
    job = Job.objects.get()
    page = client.get(reverse("shipping:dispatch")).content.decode()
    assert "1 line still waits for its Excel sheet" in page

    client.post(reverse("shipping:dispatch_sheet", args=[job.pk, store.pk]))

    page = client.get(reverse("shipping:dispatch")).content.decode()
    # the run's own message is what it found then; beside it, what is true now
    assert "waiting for an Excel sheet 1" in page
    assert "Excel sheets downloaded" in page and "still waits for its Excel sheet" not in page
