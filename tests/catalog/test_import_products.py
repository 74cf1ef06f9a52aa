"""Bulk product Excel (일괄등록/수정): upload -> preview -> all-or-nothing apply."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from catalog.models import Product, Sku, SkuChange
from catalog.services_import import (
    import_session_commit,
    import_session_create,
    import_session_plan,
    import_session_start_commit,
    import_session_start_preview,
)
from oms.models import AuditLog, ImportSession, Job, User
from oms.sheets import HeaderNotFound
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HEADERS = [
    "상품코드",
    "상품명",
    "브랜드",
    "카테고리",
    "옵션명",
    "SKU코드",
    "바코드",
    "판매가",
    "원가",
    "안전재고",
    "품절기준수량",
]


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Messages are asserted in English (the msgids), whatever the Korean catalog says."""
    with translation.override("en"):
        yield


def xlsx(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, sheet: str = "상품") -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet)
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.close()
    return buf.getvalue()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def upload(data: bytes, name: str = "products.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def preview(user: User, data: bytes) -> ImportSession:
    session, _table = import_session_create(owner=user, kind="products", upload=upload(data))
    return import_session_start_preview(session=session, actor=user)


def commit(user: User, session: ImportSession) -> ImportSession:
    return import_session_start_commit(session=session, actor=user)


def rows_by_status(session: ImportSession) -> dict[str, list[Any]]:
    plan = import_session_plan(session)
    assert plan is not None
    out: dict[str, list[Any]] = {}
    for row in plan.rows:
        out.setdefault(row.status, []).append(row)
    return out


KNIT = [
    "KNIT-1",
    "울 라운드 니트",
    "데모브랜드",
    "의류>니트",
    "블랙 / S",
    "KNIT-1-BK-S",
    "8801234567890",
    39000,
    15000,
    2,
    3,
]
KNIT_M = [
    "KNIT-1",
    "울 라운드 니트",
    "데모브랜드",
    "의류>니트",
    "블랙 / M",
    "KNIT-1-BK-M",
    "8801234567891",
    39000,
    15000,
    2,
    3,
]


# --- Creating and updating --------------------------------------------------------------------


def test_a_new_sheet_previews_then_creates_products_and_skus(manager_user: User) -> None:
    session = preview(manager_user, xlsx([KNIT, KNIT_M]))

    # nothing is written by the preview
    assert session.status == ImportSession.Status.READY
    assert not Product.objects.exists()
    assert session.counts["create"] == 2 and session.counts["products_create"] == 1

    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.COMMITTED
    product = Product.objects.get(code="KNIT-1")
    assert (product.name, product.brand, product.category, product.sale_price, product.cost) == (
        "울 라운드 니트",
        "데모브랜드",
        "의류>니트",
        39000,
        15000,
    )
    sku = Sku.objects.get(code="KNIT-1-BK-S")
    assert (
        sku.product_id,
        sku.option_label,
        sku.barcode,
        sku.cost,
        sku.safety_stock,
        sku.low_stock_threshold,
    ) == (
        product.pk,
        "블랙 / S",
        "8801234567890",
        15000,
        2,
        3,
    )
    audit = AuditLog.objects.get(action="catalog.product_import")
    assert audit.actor == manager_user
    assert audit.changes["skus_created"] == 2 and audit.changes["products_created"] == 1


def test_updates_show_old_and_new_and_mark_skus_changed_for_the_channels(manager_user: User) -> None:
    product = ProductFactory.create(code="KNIT-1", name="울 니트", sale_price=39000)
    s = SkuFactory.create(
        product=product,
        code="KNIT-1-BK-S",
        option_label="블랙 / S",
        barcode="8801234567890",
        cost=15000,
        safety_stock=2,
        low_stock_threshold=3,
    )
    other = SkuFactory.create(product=product, code="KNIT-1-IV-S")
    untouched = SkuFactory.create(code="OTHER-1")
    row = list(KNIT)
    row[1] = "울 라운드 니트"  # name changes
    row[7] = 42000  # price changes
    row[9] = 5  # safety stock changes

    session = preview(manager_user, xlsx([row]))
    (update,) = rows_by_status(session)["update"]
    assert ["상품명", "울 니트", "울 라운드 니트"] in update.changes
    assert ["판매가", 39000, 42000] in update.changes
    assert ["안전재고", 2, 5] in update.changes
    assert not any(c[0] == "바코드" for c in update.changes)

    commit(manager_user, session)
    product.refresh_from_db()
    s.refresh_from_db()
    assert (product.name, product.sale_price, s.safety_stock) == ("울 라운드 니트", 42000, 5)
    # Name and price are product-level: every SKU of the product is marked, others are not.
    assert set(SkuChange.objects.values_list("sku_id", flat=True)) == {s.pk, other.pk}
    assert untouched.pk not in SkuChange.objects.values_list("sku_id", flat=True)


def test_a_stock_only_field_change_does_not_mark_the_sku_for_channels(manager_user: User) -> None:
    product = ProductFactory.create(
        code="KNIT-1", name="울 라운드 니트", brand="데모브랜드", category="의류>니트", sale_price=39000
    )
    SkuFactory.create(
        product=product,
        code="KNIT-1-BK-S",
        option_label="블랙 / S",
        barcode="8801234567890",
        cost=15000,
        safety_stock=2,
        low_stock_threshold=3,
    )
    row = list(KNIT)
    row[10] = 7
    commit(manager_user, preview(manager_user, xlsx([row])))
    assert Sku.objects.get(code="KNIT-1-BK-S").low_stock_threshold == 7
    assert not SkuChange.objects.exists()


def test_headers_in_any_order_with_spaces_case_and_extra_columns(manager_user: User) -> None:
    headers = ["메모", " sku코드 ", "판매가", "상품 코드", "상품명", "쇼핑몰 URL"]
    rows = [["무시", "A-1", "15,000원", "A", "에코백", "http://x"]]
    session = preview(manager_user, xlsx(rows, headers))
    assert session.status == ImportSession.Status.READY, session.message
    assert set(session.summary["ignored_headers"]) == {"메모", "쇼핑몰 URL"}
    commit(manager_user, session)
    assert Product.objects.get(code="A").sale_price == 15000
    assert Sku.objects.get(code="A-1").product.name == "에코백"


def test_blank_cells_keep_the_current_values(manager_user: User) -> None:
    product = ProductFactory.create(code="KNIT-1", name="울 니트", brand="브랜드", sale_price=39000)
    SkuFactory.create(product=product, code="KNIT-1-BK-S", barcode="111", cost=15000)
    session = preview(
        manager_user, xlsx([["KNIT-1", None, None, None, None, "KNIT-1-BK-S", None, None, 16000, None, None]])
    )
    (row,) = rows_by_status(session)["update"]
    assert row.changes == [["원가", 15000, 16000]]
    commit(manager_user, session)
    product.refresh_from_db()
    assert (product.name, product.brand) == ("울 니트", "브랜드")
    assert Sku.objects.get(code="KNIT-1-BK-S").barcode == "111"


def test_codes_stored_as_numbers_come_back_without_a_trailing_zero(manager_user: User) -> None:
    session = preview(
        manager_user,
        xlsx([[1001, "숫자코드", None, None, None, 1001001, 8801234567890.0, 9900.0, None, None, None]]),
    )
    commit(manager_user, session)
    sku = Sku.objects.get(code="1001001")
    assert sku.product.code == "1001" and sku.barcode == "8801234567890" and sku.product.sale_price == 9900


# --- Round trips --------------------------------------------------------------------------------


def test_the_template_uploads_as_is_and_creates_its_sample(manager_user: User) -> None:
    client = client_for(manager_user)
    response = client.get(reverse("catalog:product_import_template"))
    data = body(response)
    book = load_workbook(io.BytesIO(data))
    assert [c.value for c in book.worksheets[0][1]][:11] == HEADERS
    assert len(book.worksheets) == 2  # the data sheet and the guide

    session = preview(manager_user, data)
    assert session.status == ImportSession.Status.READY, session.message
    commit(manager_user, session)
    assert Sku.objects.filter(product__code="KNIT-001").count() == 2
    assert Sku.objects.get(code="KNIT-001-BK-M").price == 41000


def test_download_edit_upload_round_trips_and_a_second_upload_changes_nothing(manager_user: User) -> None:
    product = ProductFactory.create(code="P-1", name="=SUM(A1) 이름", sale_price=10000)  # formula-like text
    SkuFactory.create(product=product, code="007", barcode="00123", option_label="+1 증정", extra_price=-500)
    SkuFactory.create(code="P-2-S")
    client = client_for(manager_user)
    data = body(client.get(reverse("catalog:product_import_export")))

    session = preview(manager_user, data)
    assert session.counts["unchanged"] == 2 and session.counts["update"] == 0, import_session_plan(session)
    assert session.counts["create"] == 0 and session.counts["error"] == 0

    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.COMMITTED
    assert session.summary["result"]["skus_updated"] == 0
    assert not SkuChange.objects.exists()


# --- Bad rows ----------------------------------------------------------------------------------


def test_bad_rows_name_row_column_and_reason_and_nothing_is_written(manager_user: User) -> None:
    existing = ProductFactory.create(code="OLD", sale_price=1000)
    SkuFactory.create(product=existing, code="OLD-1")
    rows: list[list[Any]] = [
        KNIT,  # row 2: good
        [
            "KNIT-1",
            "울 라운드 니트",
            None,
            None,
            None,
            "KNIT-1-BK-M",
            None,
            "삼만원",
            None,
            None,
            None,
        ],  # row 3
        ["KNIT-1", "다른 이름", None, None, None, "KNIT-1-BK-L", None, None, None, -1, None],  # row 4
        [None, "코드 없음", None, None, None, "X-1", None, 1000, None, None, None],  # row 5
        ["NEW", None, None, None, None, "NEW-1", None, None, None, None, 1.5],  # row 6
        ["KNIT-2", "니트2", None, None, None, "KNIT-1-BK-S", None, 1000, None, None, None],  # row 7 dup SKU
        ["KNIT-3", "니트3", None, None, None, "OLD-1", None, 1000, None, None, None],  # row 8 moves SKU
    ]
    session = preview(manager_user, xlsx(rows))
    assert session.status == ImportSession.Status.INVALID
    errors = {(e.row, e.column): e.message for r in rows_by_status(session)["error"] for e in r.errors}
    assert "삼만원" in errors[(3, "판매가")]
    assert "row 2" in errors[(4, "상품명")]  # a product's name differs from its first row
    assert (4, "안전재고") in errors
    assert (5, "상품코드") in errors
    assert (6, "상품명") in errors and (6, "판매가") in errors  # a new product needs both
    assert (6, "품절기준수량") in errors
    assert "row 2" in errors[(7, "SKU코드")]
    assert "OLD" in errors[(8, "SKU코드")]
    assert [r.row for r in rows_by_status(session)["create"]] == [2]

    with pytest.raises(Exception, match="cannot be applied"):
        commit(manager_user, session)
    assert not Product.objects.exclude(pk=existing.pk).exists()
    assert Sku.objects.count() == 1


def test_the_bad_rows_download_has_row_reason_and_the_row_as_read(manager_user: User) -> None:
    session = preview(
        manager_user, xlsx([KNIT, ["KNIT-9", "니트", None, None, None, "K9", None, "abc", None, None, None]])
    )
    response = client_for(manager_user).get(reverse("catalog:product_import_errors", args=[session.pk]))
    sheet = load_workbook(io.BytesIO(body(response))).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["Row", "Column", "Reason", "상품코드"] or values[0][3] == "상품코드"
    assert len(values) == 2
    assert values[1][0] == 3 and values[1][1] == "판매가" and "abc" in values[1][2]
    assert values[1][3] == "KNIT-9" and "abc" in values[1]


def test_a_sheet_without_the_required_headers_is_refused_and_not_kept(manager_user: User) -> None:
    with pytest.raises(HeaderNotFound) as exc:
        import_session_create(owner=manager_user, kind="products", upload=upload(xlsx([["A"]], ["상품명"])))
    assert exc.value.missing == ["상품코드", "SKU코드"]
    assert not ImportSession.objects.exists()


# --- All or nothing -----------------------------------------------------------------------------


def test_a_change_between_preview_and_commit_is_revalidated_and_nothing_is_written(
    manager_user: User,
) -> None:
    product = ProductFactory.create(
        code="KNIT-1", name="울 라운드 니트", brand="데모브랜드", category="의류>니트", sale_price=39000
    )
    SkuFactory.create(
        product=product,
        code="KNIT-1-BK-S",
        option_label="블랙 / S",
        barcode="8801234567890",
        cost=15000,
        safety_stock=2,
        low_stock_threshold=3,
    )
    row, row_m = list(KNIT), list(KNIT_M)
    row[7] = row_m[7] = 45000
    session = preview(manager_user, xlsx([row, row_m]))
    assert session.counts["update"] == 1

    # someone else changes the price in between
    Product.objects.filter(pk=product.pk).update(sale_price=41000)
    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.READY
    assert "changed after the preview" in session.message
    assert not Sku.objects.filter(code="KNIT-1-BK-M").exists()
    (update,) = rows_by_status(session)["update"]
    assert ["판매가", 41000, 45000] in update.changes  # the new preview shows the new old value

    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.COMMITTED
    assert Product.objects.get(pk=product.pk).sale_price == 45000


def test_a_failure_while_writing_rolls_back_everything(
    manager_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.services_import as services

    session = preview(manager_user, xlsx([KNIT, KNIT_M]))

    monkeypatch.setattr(services.ProductImporter, "apply", _apply_then_fail(services.ProductImporter.apply))
    with pytest.raises(RuntimeError):
        commit(manager_user, session)
    assert not Product.objects.exists() and not Sku.objects.exists()
    assert not AuditLog.objects.filter(action="catalog.product_import").exists()
    session.refresh_from_db()
    assert session.status == ImportSession.Status.READY  # may be tried again


def _apply_then_fail(apply: Any) -> Any:
    def wrapped(self: Any, plan: Any, **kwargs: Any) -> Any:
        apply(self, plan, **kwargs)
        assert Product.objects.exists()  # written inside the transaction...
        raise RuntimeError("after the writes")  # ...and rolled back

    return wrapped


def test_applying_twice_is_refused(manager_user: User) -> None:
    session = commit(manager_user, preview(manager_user, xlsx([KNIT])))
    with pytest.raises(Exception, match="cannot be applied"):
        commit(manager_user, session)
    # a redelivered task for an applied session does nothing
    assert import_session_commit(session_id=session.pk, actor=manager_user).status == "committed"
    assert Sku.objects.count() == 1


# --- Big files run as a job -------------------------------------------------------------------


def test_big_sheets_are_checked_and_applied_by_a_job(
    manager_user: User,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from catalog.tasks import import_session_task

    settings.OMS_IMPORT_JOB_ROWS = 3
    monkeypatch.setattr(import_session_task, "delay", lambda **kw: import_session_task.apply(kwargs=kw))
    rows = [["BIG", "대량", None, None, None, f"BIG-{i}", None, 1000, None, None, None] for i in range(10)]
    with django_capture_on_commit_callbacks(execute=True):
        session, _t = import_session_create(owner=manager_user, kind="products", upload=upload(xlsx(rows)))
        session = import_session_start_preview(session=session, actor=manager_user)
    session.refresh_from_db()
    assert session.job is not None and session.job.kind == "products_import_check"
    assert session.job.status == Job.Status.SUCCEEDED and session.job.result["create"] == 10
    assert session.status == ImportSession.Status.READY

    with django_capture_on_commit_callbacks(execute=True):
        commit(manager_user, session)
    session.refresh_from_db()
    assert session.status == ImportSession.Status.COMMITTED
    assert session.job is not None and session.job.kind == "products_import_apply"
    assert session.job.status == Job.Status.SUCCEEDED
    assert session.job.result_url == reverse("catalog:product_import_detail", args=[session.pk])
    assert Sku.objects.filter(product__code="BIG").count() == 10


def test_twenty_thousand_rows_import_in_seconds(
    manager_user: User, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    settings.OMS_IMPORT_JOB_ROWS = 100_000  # measure the import itself, here in the test
    rows: list[list[Any]] = [
        [
            f"P{i // 4:05d}",
            f"상품 {i // 4}",
            "브랜드",
            "카테고리",
            f"옵션 {i % 4}",
            f"P{i // 4:05d}-{i % 4}",
            f"88{i:011d}",
            10000 + i // 4,
            5000,
            1,
            2,
        ]
        for i in range(20_000)
    ]
    data = xlsx(rows)
    started, cpu_started = time.perf_counter(), time.process_time()
    session = preview(manager_user, data)
    checked = time.perf_counter()
    commit(manager_user, session)
    created = time.perf_counter()
    assert Sku.objects.count() == 20_000 and Product.objects.count() == 5_000

    changed = [[*r[:7], r[7] + 100, *r[8:]] for r in rows]
    session = preview(manager_user, xlsx(changed))
    assert session.counts["update"] == 5_000  # the price is product-level: one row per product shows it
    commit(manager_user, session)
    updated = time.perf_counter()
    assert Product.objects.filter(sale_price__gte=10100).count() == 5_000
    assert SkuChange.objects.count() == 20_000
    with capsys.disabled():
        print(
            f"\n20k rows: preview {checked - started:.1f}s, create {created - checked:.1f}s, "
            f"preview+update {updated - created:.1f}s (wall); CPU {time.process_time() - cpu_started:.1f}s"
        )
    # Wall time depends on the machine's load; the work itself (this process's CPU, plus the
    # database's when it is SQLite) must stay well under a minute.
    assert time.process_time() - cpu_started < 40


# --- Command line ------------------------------------------------------------------------------


def _file(tmp_path: Path, data: bytes, name: str = "products.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_command_imports_and_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, xlsx([KNIT, KNIT_M]))
    call_command("import_products", path, "--dry-run")
    assert not Product.objects.exists()
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "dry run" in out

    call_command("import_products", path)
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "2 new" in out
    assert Sku.objects.count() == 2
    assert AuditLog.objects.filter(action="catalog.product_import").count() == 1

    call_command("import_products", path)
    assert "2 unchanged" in capsys.readouterr().out


def test_the_command_exits_non_zero_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _file(
        tmp_path, xlsx([KNIT, ["KNIT-1", None, None, None, None, "KNIT-1-X", None, "abc", None, None, None]])
    )
    with pytest.raises(CommandError) as exc:
        call_command("import_products", bad)
    assert exc.value.returncode == 1
    assert "Row 3, 판매가" in capsys.readouterr().err
    assert not Product.objects.exists()

    not_a_sheet = _file(tmp_path, b"%PDF-1.4 not a sheet\x00\x01", "products.xlsx")
    with pytest.raises(CommandError) as exc:
        call_command("import_products", not_a_sheet)
    assert exc.value.returncode == 2 and "not a spreadsheet" in str(exc.value)

    with pytest.raises(CommandError) as exc:
        call_command("import_products", str(tmp_path / "missing.xlsx"))
    assert exc.value.returncode == 2


def test_the_command_as_a_process_exits_with_the_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = _file(tmp_path, b"hello", "x.xlsx")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_products", bad, "--dry-run"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "x.xlsx" in done.stderr
