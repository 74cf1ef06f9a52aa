"""Order-sheet upload services: preview counts, registering valid orders, idempotency, refusals
that keep nothing, and the worker path with its progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import translation

from channels.models import ChannelAccount, Marketplace
from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.models import AuditLog, Job
from orders import services_import
from orders.excel_profiles import BUILTIN_PROFILES
from orders.models import ExcelProfile, ImportBatch, Order, OrderLine
from orders.services_import import (
    OrderImportError,
    order_import_cancel,
    order_import_commit,
    order_import_start_commit,
    order_import_upload,
    profile_resolve,
)
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.test_excel import COUPANG_HEADERS, coupang_row, xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SAMPLES = Path(__file__).parents[1] / "samples"
SMARTSTORE = SAMPLES / "smartstore_발송처리_sample.xlsx"
COUPANG = SAMPLES / "coupang_DeliveryList_sample.xlsx"
PASSWORD = "sample1234"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> Iterator[None]:
    """Files under a fresh MEDIA_ROOT; messages asserted in English (the msgids)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "imports" / "orders"
    return sorted(root.iterdir()) if root.exists() else []


def smartstore_account() -> ChannelAccount:
    return ChannelAccountFactory.create(name="니트샵 스마트스토어", marketplace=Marketplace.SMARTSTORE)


def coupang_account() -> ChannelAccount:
    return ChannelAccountFactory.create(name="니트샵 쿠팡", marketplace=Marketplace.COUPANG)


def upload(
    account: ChannelAccount, path: Path = SMARTSTORE, password: str = PASSWORD, **kw: Any
) -> ImportBatch:
    return order_import_upload(
        account=account, upload=path.read_bytes(), password=password, actor=None, filename=path.name, **kw
    )


# --- Preview ---------------------------------------------------------------------------------------


def test_smartstore_sample_previews_every_order_as_new_and_keeps_the_decrypted_file() -> None:
    account = smartstore_account()
    batch = upload(account)
    c = batch.counts
    assert (c["rows"], c["orders"], c["lines"]) == (21, 12, 21)
    assert (c["new_orders"], c["new_lines"], c["present_orders"], c["present_lines"]) == (12, 21, 0, 0)
    assert (c["error_rows"], batch.errors) == (0, [])
    assert (c["sheet"], c["header_row"]) == ("발송처리", 2)
    assert batch.status == ImportBatch.Status.PREVIEW
    assert batch.filename == SMARTSTORE.name
    assert str(batch.profile_name) == str(BUILTIN_PROFILES["smartstore"].label)
    # Kept decrypted (a plain xlsx zip), so registering needs no password.
    assert batch.stored_path.startswith("imports/orders/") and batch.stored_path.endswith(".xlsx")
    with default_storage.open(batch.stored_path, "rb") as fh:
        assert fh.read(4) == b"PK\x03\x04"
    assert not Order.objects.exists()  # a preview registers nothing
    assert AuditLog.objects.filter(action="orders.import_upload").count() == 1


def test_coupang_sample_previews_its_orders() -> None:
    batch = upload(coupang_account(), COUPANG, password="")
    c = batch.counts
    assert (c["orders"], c["lines"], c["new_orders"], c["error_rows"]) == (6, 7, 6, 0)
    assert batch.counts["profile"]["key"] == "coupang"


def test_preview_says_how_many_new_lines_no_sku_maps_yet() -> None:
    SkuFactory.create(code="KNIT-BK-M")
    batch = upload(smartstore_account())
    assert 0 < batch.counts["new_lines_unmapped"] < 21


# --- Register ---------------------------------------------------------------------------------


def test_register_stores_every_valid_order_reserves_stock_and_drops_the_file() -> None:
    warehouse = LocationFactory.create()
    knit = SkuFactory.create(code="KNIT-BK-M", product=ProductFactory.create(name="울 라운드 니트"))
    stock_receive(sku=knit, location=warehouse, quantity=100)
    account = smartstore_account()
    batch = upload(account)
    stored = batch.stored_path

    batch = order_import_start_commit(batch=batch, actor=None)

    assert batch.status == ImportBatch.Status.COMMITTED and batch.committed_at is not None
    assert Order.objects.filter(account=account, import_batch=batch, source=Order.Source.EXCEL).count() == 12
    assert OrderLine.objects.filter(account=account).count() == 21
    result = batch.counts["result"]
    assert (result["orders_created"], result["lines_created"], result["orders_unchanged"]) == (12, 21, 0)
    knit_lines = OrderLine.objects.filter(skus__sku=knit)
    assert knit_lines.exists() and not knit_lines.filter(backorder=True).exists()
    assert StockLevel.objects.get(sku=knit).reserved == sum(ln.quantity for ln in knit_lines)
    assert result["reserved"] == knit_lines.count()
    assert result["unmapped"] == OrderLine.objects.filter(unmapped=True).count() > 0
    assert not default_storage.exists(stored) and batch.stored_path == ""
    assert AuditLog.objects.filter(action="orders.import_commit").count() == 1


def test_the_same_sheet_twice_creates_nothing_the_second_time() -> None:
    account = smartstore_account()
    first = order_import_start_commit(batch=upload(account), actor=None)
    assert first.counts["result"]["orders_created"] == 12

    second = upload(account)
    c = second.counts
    assert (c["new_orders"], c["new_lines"], c["present_orders"], c["present_lines"]) == (0, 0, 12, 21)
    second = order_import_start_commit(batch=second, actor=None)
    result = second.counts["result"]
    assert (result["orders_created"], result["lines_created"], result["orders_unchanged"]) == (0, 0, 12)
    assert Order.objects.count() == 12 and OrderLine.objects.count() == 21
    assert not Order.objects.filter(import_batch=second).exists()


def test_registering_twice_does_nothing_the_second_time() -> None:
    account = coupang_account()
    batch = upload(account, COUPANG, password="")
    order_import_commit(batch=batch, actor=None)
    counts = ImportBatch.objects.get(pk=batch.pk).counts
    again = order_import_commit(batch=batch, actor=None)
    assert again.status == ImportBatch.Status.COMMITTED and again.counts == counts
    assert order_import_start_commit(batch=batch, actor=None).counts == counts
    assert Order.objects.count() == 6
    assert AuditLog.objects.filter(action="orders.import_commit").count() == 1


def test_bad_rows_are_named_and_held_back_with_their_order_while_valid_orders_register() -> None:
    account = coupang_account()
    rows = [
        COUPANG_HEADERS,
        coupang_row(1),
        coupang_row(2, **{"구매수(수량)": "두개"}),
        coupang_row(3, 주문번호="22002", 묶음배송번호="40002", 옵션ID="8009"),  # same order as row 3
        coupang_row(4, 수취인이름=""),
        coupang_row(5),
    ]
    batch = order_import_upload(account=account, upload=xlsx(rows, "Delivery"), actor=None, filename="d.xlsx")
    c = batch.counts
    assert (c["rows"], c["orders"], c["error_rows"]) == (5, 2, 3)
    by_row = {row: (column, message, value) for row, column, message, value in batch.errors}
    assert by_row[3][0] == "구매수(수량)" and by_row[3][2] == "두개"
    assert by_row[4][0] == "주문번호" and "3" in by_row[4][1]
    assert by_row[5][0] == "수취인이름"

    batch = order_import_start_commit(batch=batch, actor=None)
    assert sorted(Order.objects.values_list("external_order_id", flat=True)) == ["22001", "22005"]
    assert batch.errors and batch.counts["error_rows"] == 3  # still there for the result page


def test_a_sheet_with_only_bad_rows_cannot_be_registered() -> None:
    account = coupang_account()
    rows = [COUPANG_HEADERS, coupang_row(1, 수취인이름="")]
    batch = order_import_upload(account=account, upload=xlsx(rows, "Delivery"), actor=None, filename="d.xlsx")
    assert batch.counts["orders"] == 0 and batch.counts["error_rows"] == 1
    with pytest.raises(OrderImportError):
        order_import_start_commit(batch=batch, actor=None)
    assert not Order.objects.exists()


def test_cancel_deletes_the_file_and_a_cancelled_upload_cannot_be_registered() -> None:
    batch = upload(smartstore_account())
    stored = batch.stored_path
    batch = order_import_cancel(batch=batch, actor=None)
    assert batch.status == ImportBatch.Status.CANCELLED
    assert not default_storage.exists(stored) and stored_files() == []
    with pytest.raises(OrderImportError):
        order_import_start_commit(batch=batch, actor=None)
    assert order_import_commit(batch=batch, actor=None).status == ImportBatch.Status.CANCELLED
    assert not Order.objects.exists()


def test_a_registered_upload_cannot_be_cancelled() -> None:
    batch = order_import_start_commit(batch=upload(smartstore_account()), actor=None)
    with pytest.raises(OrderImportError):
        order_import_cancel(batch=batch, actor=None)


# --- Refusals keep nothing -----------------------------------------------------------------------


def _assert_nothing_kept() -> None:
    assert not ImportBatch.objects.exists()
    assert not Order.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    ("password", "says"),
    [("wrong", "password"), ("", "password-protected")],
)
def test_wrong_or_missing_password_changes_nothing(password: str, says: str) -> None:
    with pytest.raises(OrderImportError) as exc:
        upload(smartstore_account(), password=password)
    assert says in str(exc.value)
    _assert_nothing_kept()


def test_a_file_that_is_not_a_spreadsheet_changes_nothing() -> None:
    with pytest.raises(OrderImportError) as exc:
        order_import_upload(
            account=smartstore_account(), upload=b"%PDF-1.7 not a sheet\x00\x01", actor=None, filename="a.pdf"
        )
    assert "spreadsheet" in str(exc.value)
    _assert_nothing_kept()


def test_an_oversize_file_is_refused_before_reading(settings) -> None:
    settings.OMS_UPLOAD_MAX_BYTES = 10_000
    with pytest.raises(OrderImportError) as exc:
        upload(smartstore_account())
    assert "MB" in str(exc.value)
    _assert_nothing_kept()


def test_headers_that_fit_no_profile_change_nothing() -> None:
    data = xlsx([["이름", "전화"], ["홍길동", "010-1234-5678"]])
    with pytest.raises(OrderImportError) as exc:
        order_import_upload(account=coupang_account(), upload=data, actor=None, filename="x.xlsx")
    assert "profile" in str(exc.value)
    _assert_nothing_kept()


def test_a_profile_chosen_by_hand_that_does_not_fit_changes_nothing() -> None:
    with pytest.raises(OrderImportError):
        upload(coupang_account(), COUPANG, password="", profile=BUILTIN_PROFILES["smartstore"])
    _assert_nothing_kept()


def test_headers_without_rows_change_nothing() -> None:
    data = xlsx([COUPANG_HEADERS], "Delivery")
    with pytest.raises(OrderImportError) as exc:
        order_import_upload(account=coupang_account(), upload=data, actor=None, filename="x.xlsx")
    assert "no order rows" in str(exc.value)
    _assert_nothing_kept()


# --- Profiles ------------------------------------------------------------------------------------

GMARKET_MAPPING = {
    "external_order_id": "주문번호",
    "external_line_id": "상품주문번호",
    "product_name": "상품명",
    "quantity": "수량",
    "recipient_name": "받는분",
    "recipient_phone": "받는분 휴대폰",
    "address_full": "주소",
    "seller_code": "판매자코드",
}
GMARKET_ROWS: list[list[Any]] = [
    ["주문번호", "상품주문번호", "상품명", "수량", "받는분", "받는분 휴대폰", "주소", "판매자코드"],
    ["G1", "G1-1", "머그컵", 2, "김철수", "010-2222-3333", "서울 강남구 테헤란로 1", "MUG-WH"],
    ["G2", "G2-1", "머그컵", 1, "이영희", "1044445555", "부산 해운대구 해운대로 2", "MUG-WH"],
]


def test_a_user_profile_still_registers_the_preview_after_it_was_deleted() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    profile = ExcelProfile.objects.create(account=account, name="지마켓", mapping=GMARKET_MAPPING)
    batch = order_import_upload(account=account, upload=xlsx(GMARKET_ROWS), actor=None, filename="g.xlsx")
    assert batch.counts["profile"]["key"] == f"user:{profile.pk}"
    assert batch.profile_name == "지마켓"
    profile.delete()
    batch = order_import_start_commit(batch=batch, actor=None)
    assert batch.counts["result"]["orders_created"] == 2
    assert set(Order.objects.values_list("recipient_phone", flat=True)) == {"01022223333", "01044445555"}


def test_profiles_resolve_by_builtin_key_own_name_or_id_and_unknown_ones_are_named() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    other = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    own = ExcelProfile.objects.create(account=account, name="지마켓", mapping=GMARKET_MAPPING)
    foreign = ExcelProfile.objects.create(account=other, name="남의 것", mapping=GMARKET_MAPPING)
    assert profile_resolve(account=account, key="coupang") is BUILTIN_PROFILES["coupang"]
    assert profile_resolve(account=account, key="지마켓").key == f"user:{own.pk}"
    assert profile_resolve(account=account, key=f"user:{own.pk}").label == "지마켓"
    for key in ("남의 것", f"user:{foreign.pk}", "gmarket"):
        with pytest.raises(OrderImportError) as exc:
            profile_resolve(account=account, key=key)
        assert "smartstore" in str(exc.value) and "지마켓" in str(exc.value)


# --- Big sheets: the worker with a progress bar ----------------------------------------------------


def test_a_big_sheet_registers_in_a_job_with_progress(
    settings, django_capture_on_commit_callbacks, admin_user, monkeypatch
) -> None:
    from oms.celery import app

    settings.ORDER_IMPORT_JOB_THRESHOLD = 5
    # Celery read its settings when the app was first used; change the app itself.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    batch = upload(smartstore_account())
    progress: list[int] = []
    real = services_import.job_progress

    def spy(*, job_id: int, done: int, message: str = "") -> None:
        progress.append(done)
        real(job_id=job_id, done=done, message=message)

    monkeypatch.setattr(services_import, "job_progress", spy)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = order_import_start_commit(batch=batch, actor=admin_user)
        assert started.status == ImportBatch.Status.PREVIEW and started.job is not None
        assert not Order.objects.exists()  # nothing until the worker runs
    assert len(callbacks) == 1
    batch.refresh_from_db()
    assert batch.job_id is not None
    job = Job.objects.get(pk=batch.job_id)
    assert batch.status == ImportBatch.Status.COMMITTED
    assert job.status == Job.Status.SUCCEEDED and job.total == 12 and job.created_by == admin_user
    assert job.result_url == f"/orders/import/{batch.pk}/"
    assert progress[0] == 0 and progress[-1] == 12
    assert Order.objects.filter(import_batch=batch).count() == 12


def test_the_task_run_twice_or_for_another_job_does_nothing_more(settings) -> None:
    from orders.tasks import order_import_commit_task

    settings.ORDER_IMPORT_JOB_THRESHOLD = 5
    batch = order_import_start_commit(batch=upload(smartstore_account()), actor=None)
    assert batch.job_id is not None
    order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id + 999)  # not the claiming job
    assert not Order.objects.exists()
    order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id)
    order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id)  # redelivered
    assert Order.objects.count() == 12
    assert ImportBatch.objects.get(pk=batch.pk).counts["result"]["orders_created"] == 12
    # Clicking again while or after it ran starts nothing new.
    assert order_import_start_commit(batch=batch, actor=None).status == ImportBatch.Status.COMMITTED


def test_a_worker_that_dies_midway_leaves_whole_orders_and_a_second_run_finishes_the_rest(
    settings, monkeypatch
) -> None:
    from orders.tasks import order_import_commit_task

    settings.ORDER_IMPORT_JOB_THRESHOLD = 5
    real_ingest = services_import.orders_ingest

    def dies_after_five(**kwargs: Any) -> Any:
        real_ingest(**{**kwargs, "orders": kwargs["orders"][:5]})
        raise RuntimeError("worker killed")

    batch = order_import_start_commit(batch=upload(smartstore_account()), actor=None)
    assert batch.job_id is not None
    monkeypatch.setattr(services_import, "orders_ingest", dies_after_five)
    with pytest.raises(RuntimeError):
        order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEW and batch.job_id is None  # can be tried again
    assert Job.objects.get().status == Job.Status.FAILED
    assert Order.objects.count() == 5
    first_five = {o.pk: o.lines.count() for o in Order.objects.all()}

    monkeypatch.setattr(services_import, "orders_ingest", real_ingest)
    batch = order_import_start_commit(batch=batch, actor=None)
    assert batch.job_id is not None
    order_import_commit_task(batch_id=batch.pk, job_id=batch.job_id)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED
    assert Order.objects.count() == 12 and OrderLine.objects.count() == 21
    assert {pk: Order.objects.get(pk=pk).lines.count() for pk in first_five} == first_five
    # The result counts the orders the first run stored as this upload's.
    assert batch.counts["result"]["orders_created"] == 12 and batch.counts["result"]["orders_unchanged"] == 0


def test_stale_previews_are_dropped_with_their_files() -> None:
    from datetime import timedelta

    from django.utils import timezone

    old = upload(smartstore_account())
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    fresh = upload(coupang_account(), COUPANG, password="")
    old.refresh_from_db()
    assert old.status == ImportBatch.Status.CANCELLED and old.stored_path == ""
    assert [p.name for p in stored_files()] == [Path(fresh.stored_path).name]


def test_a_conflict_while_registering_at_once_writes_nothing_and_can_be_retried(monkeypatch) -> None:
    from django.db import IntegrityError

    real_ingest = services_import.orders_ingest

    def conflicts(**kwargs: Any) -> Any:
        real_ingest(**kwargs)
        raise IntegrityError("duplicate key value violates unique constraint")

    batch = upload(smartstore_account())
    monkeypatch.setattr(services_import, "orders_ingest", conflicts)
    with pytest.raises(OrderImportError) as exc:
        order_import_start_commit(batch=batch, actor=None)
    assert "nothing was registered" in str(exc.value)
    assert not Order.objects.exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEW and default_storage.exists(batch.stored_path)

    monkeypatch.setattr(services_import, "orders_ingest", real_ingest)
    assert order_import_start_commit(batch=batch, actor=None).counts["result"]["orders_created"] == 12
