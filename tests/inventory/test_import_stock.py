"""The stock Excel upload: 설정 sets the count, 증감 adds or removes; preview first, then one
all-or-nothing transaction around the inventory services."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from catalog.models import Sku
from catalog.services_import import (
    import_session_create,
    import_session_plan,
    import_session_start_commit,
    import_session_start_preview,
)
from inventory.models import Location, StockLevel, StockMovement
from inventory.services import stock_receive, stock_reserve
from oms.models import AuditLog, ImportSession, User
from tests.catalog.factories import SkuFactory, make_bundle
from tests.conftest import client_for
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db

HEADERS = ["SKU코드", "위치", "수량", "방식"]


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Messages are asserted in English (the msgids), whatever the Korean catalog says."""
    with translation.override("en"):
        yield


def xlsx(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("재고")
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.close()
    return buf.getvalue()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def preview(user: User, data: bytes) -> ImportSession:
    session, _t = import_session_create(
        owner=user, kind="stock", upload=SimpleUploadedFile("stock.xlsx", data)
    )
    return import_session_start_preview(session=session, actor=user)


def commit(user: User, session: ImportSession) -> ImportSession:
    return import_session_start_commit(session=session, actor=user)


def on_hand(sku: Sku, location: Location) -> int:
    level = StockLevel.objects.filter(sku=sku, location=location).first()
    return level.on_hand if level else 0


def ledger_sum(sku: Sku, location: Location) -> int:
    return StockMovement.objects.filter(sku=sku, location=location).aggregate(s=Sum("quantity"))["s"] or 0


@pytest.fixture
def wh() -> Location:
    return LocationFactory.create(code="WH01", name="본사 창고")


@pytest.fixture
def store() -> Location:
    return LocationFactory.create(code="ST01", name="매장")


def test_set_and_add_and_remove_then_the_ledger_agrees(
    manager_user: User, wh: Location, store: Location
) -> None:
    a, b, c = SkuFactory.create(code="A"), SkuFactory.create(code="B"), SkuFactory.create(code="C")
    stock_receive(sku=a, location=wh, quantity=7)
    stock_receive(sku=b, location=wh, quantity=5)
    stock_receive(sku=c, location=store, quantity=3)
    rows = [
        ["A", "WH01", 10, "설정"],  # 7 -> 10
        ["B", "본사 창고", -2, "증감"],  # by name: 5 -> 3
        ["C", "st01", 4, "증감"],  # code, any case: 3 -> 7
        ["A", "매장", 0, "설정"],  # 0 -> 0: unchanged
    ]
    session = preview(manager_user, xlsx(rows))
    assert session.status == ImportSession.Status.READY, session.message
    assert session.counts["update"] == 3 and session.counts["unchanged"] == 1
    plan = import_session_plan(session)
    assert plan is not None
    assert plan.rows[0].changes[0] == ["재고", 7, 10]
    assert on_hand(a, wh) == 7  # the preview writes nothing

    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.COMMITTED, session.message
    assert (on_hand(a, wh), on_hand(b, wh), on_hand(c, store), on_hand(a, store)) == (10, 3, 7, 0)
    for sku, location in ((a, wh), (b, wh), (c, store)):
        assert ledger_sum(sku, location) == on_hand(sku, location)
    moves = StockMovement.objects.filter(reference=f"import:{session.pk}")
    assert sorted(moves.values_list("type", flat=True)) == ["adjust", "count", "receive"]
    assert set(moves.values_list("user", flat=True)) == {manager_user.pk}
    assert set(moves.values_list("reason", flat=True)) == {"Excel upload"}
    assert AuditLog.objects.filter(action="inventory.stock_import").count() == 1


def test_a_reason_column_goes_into_the_ledger(manager_user: User, wh: Location) -> None:
    SkuFactory.create(code="A")
    session = preview(manager_user, xlsx([["A", "WH01", 3, "증감", "3월 입고"]], [*HEADERS, "사유"]))
    commit(manager_user, session)
    assert StockMovement.objects.get(reference=f"import:{session.pk}").reason == "3월 입고"


def test_bad_rows_name_row_column_reason_and_nothing_is_written(manager_user: User, wh: Location) -> None:
    a = SkuFactory.create(code="A")
    bundle = make_bundle([(a, 2)], code="SET-1")
    LocationFactory.create(code="OLD", name="폐쇄 창고", is_active=False)
    LocationFactory.create(code="D1", name="중복")
    LocationFactory.create(code="D2", name="중복")
    stock_receive(sku=a, location=wh, quantity=5)
    stock_reserve(reference="orderline:1", lines=[(a.pk, 4)])
    rows: list[list[Any]] = [
        ["A", "WH01", 6, "설정"],  # 2: fine
        ["NOPE", "WH01", 1, "증감"],  # 3: unknown SKU
        [bundle.code, "WH01", 1, "증감"],  # 4: bundle
        ["A", "어딘가", 1, "증감"],  # 5: unknown location
        ["A", "폐쇄 창고", 1, "증감"],  # 6: inactive
        ["A", "중복", 1, "증감"],  # 7: ambiguous name
        ["A", "WH01", 1, "더하기"],  # 8: bad mode (and a duplicate pair)
        ["A", "D1", "열개", "증감"],  # 9: not a number
        ["A", "D2", -1, "설정"],  # 10: negative count
    ]
    session = preview(manager_user, xlsx(rows))
    assert session.status == ImportSession.Status.INVALID
    plan = import_session_plan(session)
    assert plan is not None
    errors = {(e.row, e.column): e.message for e in plan.errors}
    assert "NOPE" in errors[(3, "SKU코드")]
    assert "bundle" in errors[(4, "SKU코드")]
    assert "어딘가" in errors[(5, "위치")] and "WH01" in errors[(5, "위치")]
    assert (6, "위치") in errors and (7, "위치") in errors and "D1" in errors[(7, "위치")]
    assert (8, "방식") in errors and "row 2" in errors[(8, "SKU코드")]
    assert (9, "수량") in errors and (10, "수량") in errors

    with pytest.raises(Exception, match="cannot be applied"):
        commit(manager_user, session)
    assert on_hand(a, wh) == 5


def test_a_count_below_what_orders_hold_is_refused_in_the_preview(manager_user: User, wh: Location) -> None:
    a = SkuFactory.create(code="A")
    stock_receive(sku=a, location=wh, quantity=5)
    stock_reserve(reference="orderline:1", lines=[(a.pk, 4)])
    session = preview(manager_user, xlsx([["A", "WH01", 3, "설정"], ["A", "WH01", 0, "증감"]][:1]))
    plan = import_session_plan(session)
    assert plan is not None
    (error,) = plan.errors
    assert (error.row, error.column) == (2, "수량") and "reserved" in error.message


def test_a_service_refusal_while_applying_refuses_the_whole_sheet_and_names_the_row(
    manager_user: User, wh: Location
) -> None:
    a, b = SkuFactory.create(code="A"), SkuFactory.create(code="B")
    stock_receive(sku=a, location=wh, quantity=5)
    stock_receive(sku=b, location=wh, quantity=5)
    session = preview(manager_user, xlsx([["A", "WH01", 10, "설정"], ["B", "WH01", -3, "증감"]]))
    assert session.status == ImportSession.Status.READY
    # Orders reserve B after the preview: taking 3 away would now leave less than reserved.
    stock_reserve(reference="orderline:9", lines=[(b.pk, 4)])

    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.INVALID
    assert "row 3" in session.message
    assert (on_hand(a, wh), on_hand(b, wh)) == (5, 5)
    assert not StockMovement.objects.filter(reference=f"import:{session.pk}").exists()
    plan = import_session_plan(session)
    assert plan is not None and [e.row for e in plan.errors] == [3]


def test_an_inventory_error_while_applying_rolls_back_every_row_and_names_the_row(
    manager_user: User, wh: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inventory.services_import as stock_import
    from inventory.services import InventoryError

    a, b = SkuFactory.create(code="A"), SkuFactory.create(code="B")
    stock_receive(sku=a, location=wh, quantity=5)
    session = preview(manager_user, xlsx([["A", "WH01", 10, "설정"], ["B", "WH01", 3, "증감"]]))
    real_receive = stock_import.stock_receive

    def refuse_b(**kwargs: Any) -> Any:
        if kwargs["sku"].code == "B":
            raise InventoryError("B is blocked")
        return real_receive(**kwargs)

    monkeypatch.setattr(stock_import, "stock_receive", refuse_b)
    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.INVALID
    assert "row 3" in session.message and "B is blocked" in session.message
    assert (on_hand(a, wh), on_hand(b, wh)) == (5, 0)  # row 2 was rolled back too
    assert not StockMovement.objects.filter(reference=f"import:{session.pk}").exists()
    plan = import_session_plan(session)
    assert plan is not None and [e.row for e in plan.errors] == [3]


def test_a_changed_count_between_preview_and_apply_shows_a_new_preview(
    manager_user: User, wh: Location
) -> None:
    a = SkuFactory.create(code="A")
    stock_receive(sku=a, location=wh, quantity=5)
    session = preview(manager_user, xlsx([["A", "WH01", 10, "설정"]]))
    stock_receive(sku=a, location=wh, quantity=1)  # 6 now: the preview said 5 -> 10
    session = commit(manager_user, session)
    assert session.status == ImportSession.Status.READY and session.message
    plan = import_session_plan(session)
    assert plan is not None and plan.rows[0].changes[0] == ["재고", 6, 10]
    assert on_hand(a, wh) == 6
    assert commit(manager_user, session).status == ImportSession.Status.COMMITTED
    assert on_hand(a, wh) == 10


def test_uploading_the_count_sheet_back_changes_nothing(
    manager_user: User, wh: Location, store: Location
) -> None:
    a, b = SkuFactory.create(code="A"), SkuFactory.create(code="B")
    stock_receive(sku=a, location=wh, quantity=4)
    stock_receive(sku=b, location=store, quantity=9)
    response = client_for(manager_user).get(reverse("inventory:stock_import_export"))
    data = body(response)
    session = preview(manager_user, data)
    assert session.counts["unchanged"] == 2 and session.counts["update"] == 0
    one = client_for(manager_user).get(reverse("inventory:stock_import_export"), {"location": store.pk})
    sheet = load_workbook(io.BytesIO(body(one))).worksheets[0]
    assert [[c.value for c in r] for r in sheet.iter_rows(min_row=2)] == [["B", "ST01", 9, "설정", None]]


def test_the_template_uses_the_sellers_locations(manager_user: User, wh: Location) -> None:
    SkuFactory.create(code="KNIT-001-BK-S")
    SkuFactory.create(code="KNIT-001-BK-M")
    data = body(client_for(manager_user).get(reverse("inventory:stock_import_template")))
    session = preview(manager_user, data)
    assert session.status == ImportSession.Status.READY, import_session_plan(session)


def test_the_command_imports_and_refuses(
    tmp_path: Path, wh: Location, capsys: pytest.CaptureFixture[str]
) -> None:
    a = SkuFactory.create(code="A")
    path = tmp_path / "stock.xlsx"
    path.write_bytes(xlsx([["A", "WH01", 12, "설정"]]))
    call_command("import_stock", str(path), "--dry-run")
    assert on_hand(a, wh) == 0 and "dry run" in capsys.readouterr().out
    call_command("import_stock", str(path))
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "12 units in" in out
    assert on_hand(a, wh) == 12

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([["A", "WH01", 1, "증감"], ["A", "없는곳", 1, "증감"]]))
    with pytest.raises(CommandError) as exc:
        call_command("import_stock", str(bad))
    assert exc.value.returncode == 1
    assert "Row 3, 위치" in capsys.readouterr().err
    assert on_hand(a, wh) == 12

    stock_reserve(reference="orderline:1", lines=[(a.pk, 10)])
    refused = tmp_path / "refused.xlsx"
    refused.write_bytes(xlsx([["A", "WH01", 5, "설정"]]))
    with pytest.raises(CommandError) as exc:
        call_command("import_stock", str(refused))
    assert exc.value.returncode == 1
    assert on_hand(a, wh) == 12


def test_staff_cannot_upload_stock(staff_user: User, wh: Location) -> None:
    client = client_for(staff_user)
    data = SimpleUploadedFile("s.xlsx", xlsx([["A", "WH01", 1, "증감"]]))
    assert client.post(reverse("inventory:stock_import"), {"file": data}).status_code == 403
    assert not ImportSession.objects.exists()
    assert client.get(reverse("inventory:stock_import_template")).status_code == 200
