"""The tracking-number upload: our 출고번호 sheet, SmartStore's bulk dispatch sheet and Coupang's
DeliveryList (built here in their real header layouts), told apart by headers; every bad row named
by sheet row, column and reason; all or nothing."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msoffcrypto
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.services_import import import_session_plan, import_session_start_commit
from channels.models import ChannelAccount, Marketplace
from oms.models import ImportSession, Job, User
from oms.sheets import HeaderNotFound, PasswordRequired
from orders.models import Order
from shipping.models import Courier, Shipment, ShipmentItem, ShipmentStatus
from shipping.services_tracking import shipment_set_tracking
from shipping.services_tracking_import import tracking_import_start
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import courier, ingest_orders, shipment_of, stocked_sku

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def xlsx(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, sheet: str = "Sheet1", above: Sequence[Any] = ()
) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    if above:
        ws.append(list(above))
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def preview(user: User, data: bytes, name: str = "tracking.xlsx", password: str = "") -> ImportSession:
    return tracking_import_start(owner=user, upload=SimpleUploadedFile(name, data), password=password)


def errors_of(session: ImportSession) -> list[tuple[int, str, str]]:
    plan = import_session_plan(session)
    assert plan is not None
    return [(e.row, e.column, e.message) for e in plan.errors]


def box_for(
    account: ChannelAccount, *line_ids: str, order_id: str | None = None, name: str = "홍길동"
) -> Shipment:
    sku = stocked_sku(f"SKU-{line_ids[0]}")
    (order,) = ingest_orders(
        account,
        [
            channel_order(
                *(channel_line(line_id=i, codes=(sku.code,)) for i in line_ids),
                order_id=order_id,
                recipient_name=name,
            )
        ],
    )
    return shipment_of(list(order.lines.all()))


@pytest.fixture
def store() -> ChannelAccount:
    return ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE)


@pytest.fixture
def coupang() -> ChannelAccount:
    return ChannelAccountFactory.create(marketplace=Marketplace.COUPANG, name="쿠팡")


# --- Our sheet -------------------------------------------------------------------------------------


def test_our_sheet_by_shipment_number_previews_then_saves(store: ChannelAccount, staff_user: User) -> None:
    a = box_for(store, "L-A1", name="가나다")
    b = box_for(store, "L-B1", name="라마바")
    data = xlsx(
        ["출고번호", "수취인", "주문번호", "택배사", "송장번호"],
        [[a.number, "가나다", "", "", "6012-3456-7890"], [b.number, "라마바", "", "롯데택배", 123456789012]],
    )
    session = preview(staff_user, data)
    assert session.status == ImportSession.Status.READY
    counts = session.counts
    assert (counts["boxes_new"], counts["boxes_changed"], counts["boxes_unchanged"]) == (2, 0, 0)
    assert not Shipment.objects.exclude(tracking_number="").exists()  # the preview writes nothing

    done = import_session_start_commit(session=session, actor=staff_user)
    assert done.status == ImportSession.Status.COMMITTED
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.courier is not None and b.courier is not None
    assert (a.courier.code, a.tracking_number) == ("CJGLS", "601234567890")  # blank 택배사: the default
    assert (b.courier.code, b.tracking_number) == ("HYUNDAI", "123456789012")


def test_a_blank_courier_keeps_the_boxs_own_courier(store: ChannelAccount, staff_user: User) -> None:
    box = box_for(store, "L-OWN")
    Shipment.objects.filter(pk=box.pk).update(courier=courier("HANJIN"))
    session = preview(
        staff_user, xlsx(["출고번호", "택배사", "송장번호"], [[box.number, None, "123456789012"]])
    )
    import_session_start_commit(session=session, actor=staff_user)
    box.refresh_from_db()
    assert box.courier is not None and box.courier.code == "HANJIN"


def test_our_sheet_by_order_and_by_line_number(store: ChannelAccount, staff_user: User) -> None:
    by_order = box_for(store, "L-O1", "L-O2", order_id="ORD-1", name="가나다")
    by_line = box_for(store, "L-X1", name="라마바")
    data = xlsx(
        ["주문번호", "상품주문번호", "택배사", "송장번호"],
        [["ORD-1", "", "CJ대한통운", "111111111111"], ["", "L-X1", "한진", "222222222222"]],
    )
    session = preview(staff_user, data)
    assert session.status == ImportSession.Status.READY, errors_of(session)
    import_session_start_commit(session=session, actor=staff_user)
    by_order.refresh_from_db()
    by_line.refresh_from_db()
    assert by_order.tracking_number == "111111111111"
    assert by_line.tracking_number == "222222222222"
    assert by_line.courier is not None and by_line.courier.code == "HANJIN"


def test_rows_without_a_number_are_skipped(store: ChannelAccount, staff_user: User) -> None:
    a = box_for(store, "L-S1")
    b = box_for(store, "L-S2")
    session = preview(
        staff_user, xlsx(["출고번호", "송장번호"], [[a.number, "123456789012"], [b.number, None]])
    )
    assert session.counts["blank_rows"] == 1 and session.counts["boxes_new"] == 1


def test_the_same_number_again_is_unchanged(store: ChannelAccount, staff_user: User) -> None:
    box = box_for(store, "L-U1")
    shipment_set_tracking(shipment=box, courier=courier(), number="123456789012", actor=None)
    session = preview(
        staff_user, xlsx(["출고번호", "택배사", "송장번호"], [[box.number, "CJ대한통운", "123456789012"]])
    )
    assert session.counts["boxes_unchanged"] == 1 and session.counts["boxes_new"] == 0


# --- The channels' own sheets ----------------------------------------------------------------------

SMARTSTORE_HEADERS = [
    "상품주문번호",
    "주문번호",
    "배송속성",
    "풀필먼트사(주문 기준)",
    "택배사(주문 기준)",
    "배송방법(구매자 요청)",
    "배송방법",
    "택배사",
    "송장번호",
    "발송일",
    "판매채널",
    "구매자명",
    "구매자ID",
    "수취인명",
    "주문상태",
    "주문세부상태",
    "결제일",
    "상품번호",
    "상품명",
    "옵션정보",
    "옵션관리코드",
    "수량",
    "배송비 묶음번호",
    "수취인연락처1",
    "통합배송지",
    "우편번호",
]


def smartstore_row(line_id: str, order_id: str, courier_name: str, number: Any) -> list[Any]:
    values = dict.fromkeys(SMARTSTORE_HEADERS, None)
    values.update({"상품주문번호": line_id, "주문번호": order_id, "배송방법(구매자 요청)": "택배,등기,소포"})
    values.update(
        {"배송방법": "택배,등기,소포", "택배사": courier_name, "송장번호": number, "수취인명": "홍길동"}
    )
    return [values[h] for h in SMARTSTORE_HEADERS]


def test_smartstore_bulk_dispatch_sheet_with_its_notice_row(store: ChannelAccount, staff_user: User) -> None:
    one = box_for(store, "2026112000030001", "2026112000030002", order_id="20261120000300")
    two = box_for(store, "2026112000030103", order_id="20261120000301", name="서지호")
    data = xlsx(
        SMARTSTORE_HEADERS,
        [
            smartstore_row("2026112000030001", "20261120000300", "CJ대한통운", "601234567890"),
            smartstore_row("2026112000030002", "20261120000300", "CJ대한통운", "601234567890"),
            smartstore_row("2026112000030103", "20261120000301", "로젠택배", "12345678901"),
        ],
        sheet="발송처리",
        above=["※ 개인정보 보호를 위해 다운로드 파일에 비밀번호가 설정되었습니다."],
    )
    session = preview(staff_user, data, "발송처리.xlsx")
    assert session.status == ImportSession.Status.READY, errors_of(session)
    assert session.summary["header_row"] == 2 and session.counts["layout_smartstore"] == 1
    assert session.counts["boxes_new"] == 2
    import_session_start_commit(session=session, actor=staff_user)
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.tracking_number == "601234567890"
    assert two.courier is not None and (two.courier.code, two.tracking_number) == ("KGB", "12345678901")


def test_the_real_smartstore_download_needs_its_password(staff_user: User) -> None:
    data = (SAMPLES / "smartstore_발송처리_sample.xlsx").read_bytes()
    with pytest.raises(PasswordRequired):
        preview(staff_user, data, "발송처리.xlsx")
    assert not ImportSession.objects.exists()


def test_the_real_smartstore_download_filled_in(store: ChannelAccount, staff_user: User) -> None:
    # The sample as staff would upload it: decrypted by its password, numbers typed into 택배사/송장번호.
    box = box_for(store, "20261120000300001", "20261120000300002", order_id="20261120000300")
    office = msoffcrypto.OfficeFile(io.BytesIO((SAMPLES / "smartstore_발송처리_sample.xlsx").read_bytes()))
    office.load_key(password="sample1234")
    plain = io.BytesIO()
    office.decrypt(plain)
    book = openpyxl.load_workbook(plain)
    ws = book["발송처리"]
    headers = [c.value for c in ws[2]]
    col_courier, col_number = headers.index("택배사") + 1, headers.index("송장번호") + 1
    for r in (3, 4):  # the two lines of order 20261120000300
        ws.cell(r, col_courier, "CJ대한통운")
        ws.cell(r, col_number, "601234567890")
    out = io.BytesIO()
    book.save(out)
    session = preview(staff_user, out.getvalue(), "발송처리.xlsx")
    assert session.status == ImportSession.Status.READY, errors_of(session)
    assert session.counts["blank_rows"] == 19  # the other orders have no number yet
    import_session_start_commit(session=session, actor=staff_user)
    box.refresh_from_db()
    assert box.tracking_number == "601234567890"


def coupang_sheet(fill: dict[int, tuple[str, str]]) -> bytes:
    """The sample DeliveryList (sheet Delivery, 39 columns) with 택배사/운송장번호 filled on some rows."""
    book = openpyxl.load_workbook(SAMPLES / "coupang_DeliveryList_sample.xlsx")
    ws = book["Delivery"]
    headers = [c.value for c in ws[1]]
    col_courier, col_number = headers.index("택배사") + 1, headers.index("운송장번호") + 1
    for row, (courier_name, number) in fill.items():
        ws.cell(row, col_courier, courier_name)
        ws.cell(row, col_number, number)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_coupang_delivery_list_with_tracking_numbers(coupang: ChannelAccount, staff_user: User) -> None:
    # Rows 6 and 7 are box 400000504 (two options); line ids are 묶음배송번호-옵션ID, as the adapter
    # makes them.
    first = box_for(coupang, "400000500-80000000001", order_id="22000000000500", name="최*우")
    both = box_for(
        coupang, "400000504-80000000005", "400000504-80000000006", order_id="22000000000504", name="안*안"
    )
    data = coupang_sheet(
        {
            2: ("CJ대한통운", "601234567890"),
            6: ("롯데택배", "2345678901234"),
            7: ("롯데택배", "2345678901234"),
        }
    )
    session = preview(staff_user, data, "DeliveryList.xlsx")
    assert session.status == ImportSession.Status.READY, errors_of(session)
    assert session.counts["layout_coupang"] == 1
    assert (session.counts["boxes_new"], session.counts["blank_rows"]) == (2, 4)
    import_session_start_commit(session=session, actor=staff_user)
    first.refresh_from_db()
    both.refresh_from_db()
    assert first.tracking_number == "601234567890"
    assert both.courier is not None and (both.courier.code, both.tracking_number) == (
        "HYUNDAI",
        "2345678901234",
    )


def test_coupang_rows_of_one_box_must_agree(coupang: ChannelAccount, staff_user: User) -> None:
    both = box_for(coupang, "400000504-80000000005", "400000504-80000000006", order_id="22000000000504")
    session = preview(
        staff_user, coupang_sheet({6: ("CJ대한통운", "601234567890"), 7: ("CJ대한통운", "601234567891")})
    )
    assert session.status == ImportSession.Status.INVALID
    errors = errors_of(session)
    assert {e[0] for e in errors} == {6, 7}
    assert all(
        e[1] == "운송장번호" and both.number in e[2] and "different tracking numbers" in e[2] for e in errors
    )


# --- Bad rows --------------------------------------------------------------------------------------


def test_every_bad_row_is_named_and_nothing_is_written(store: ChannelAccount, staff_user: User) -> None:
    good = box_for(store, "L-GOOD", name="정상")
    other = box_for(store, "L-OTHER", name="다른사람")
    shipment_set_tracking(shipment=other, courier=courier(), number="999999999999", actor=None)
    shipped = box_for(store, "L-SHIPPED", name="출고됨")
    Shipment.objects.filter(pk=shipped.pk).update(status=ShipmentStatus.SHIPPED)
    box_for(store, "L-TW1", "L-TW2", name="두번")
    sku = stocked_sku("LOOSE")
    (loose_order,) = ingest_orders(store, [channel_order(channel_line(line_id="L-LOOSE", codes=(sku.code,)))])
    data = xlsx(
        ["출고번호", "상품주문번호", "택배사", "송장번호"],
        [
            [good.number, "", "CJ대한통운", "601234567890"],  # 2 fine on its own
            ["S99999999", "", "", "601234567891"],  # 3 unknown 출고번호
            ["", "L-NOPE", "", "601234567892"],  # 4 unknown line
            ["", "L-LOOSE", "", "601234567893"],  # 5 line not in a box
            [good.number, "", "퀵서비스", "601234567890"],  # 6 unknown courier
            ["", "L-TW1", "우체국택배", "123456789012"],  # 7 wrong length (우체국 = 13)
            ["", "L-TW2", "", "601234567899"],  # 8 and 9: two numbers for one box
            ["", "L-TW1", "", "601234567898"],  # 9
            [shipped.number, "", "", "601234567894"],  # 10 already shipped
            ["", "L-GOOD", "", "999999999999"],  # 11 used for another recipient (and disagrees with row 2)
        ],
    )
    session = preview(staff_user, data)
    assert session.status == ImportSession.Status.INVALID
    errors = errors_of(session)
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, column, message in errors:
        by_row.setdefault(row, []).append((column, message))
    assert by_row[3] == [("출고번호", "There is no shipment S99999999.")]
    assert by_row[4] == [("상품주문번호", "There is no order line L-NOPE.")]
    assert by_row[5][0][0] == "상품주문번호" and "not in a shipment" in by_row[5][0][1]
    assert by_row[6][0][0] == "택배사" and "Unknown courier 퀵서비스" in by_row[6][0][1]
    assert by_row[7][0][0] == "송장번호" and "13" in by_row[7][0][1]
    assert by_row[8][0][0] == "송장번호" and "different tracking numbers" in by_row[8][0][1]
    assert by_row[10][0][0] == "출고번호" and "already shipped" in by_row[10][0][1]
    assert any("different tracking numbers" in m for _c, m in by_row[11])
    assert loose_order.pk and 2 in by_row  # row 2 disagrees with row 11 about box `good`
    assert import_session_plan(session) is not None
    assert not Shipment.objects.filter(tracking_number__startswith="6012").exists()


def test_a_number_used_for_another_recipient_is_a_row_error(store: ChannelAccount, staff_user: User) -> None:
    other = box_for(store, "L-OTHER", name="다른사람")
    shipment_set_tracking(shipment=other, courier=courier(), number="999999999999", actor=None)
    box = box_for(store, "L-MINE", name="나")
    session = preview(staff_user, xlsx(["출고번호", "송장번호"], [[box.number, "999999999999"]]))
    ((row, column, message),) = errors_of(session)
    assert (row, column) == (2, "송장번호") and other.number in message and "another recipient" in message


def test_an_order_in_several_boxes_asks_for_the_shipment_number(
    store: ChannelAccount, staff_user: User
) -> None:
    sku = stocked_sku("SPLIT")
    (order,) = ingest_orders(
        store,
        [
            channel_order(
                channel_line(codes=(sku.code,)), channel_line(codes=(sku.code,)), order_id="ORD-SPLIT"
            )
        ],
    )
    first, second = order.lines.order_by("pk")
    a = shipment_of([first])
    b = shipment_of([second])
    session = preview(staff_user, xlsx(["주문번호", "송장번호"], [["ORD-SPLIT", "123456789012"]]))
    ((_row, column, message),) = errors_of(session)
    assert column == "주문번호" and a.number in message and b.number in message


def test_a_sheet_without_a_box_column_is_refused_at_upload(staff_user: User) -> None:
    with pytest.raises(HeaderNotFound, match="출고번호"):
        preview(staff_user, xlsx(["수취인", "송장번호"], [["홍길동", "123456789012"]]))
    assert not ImportSession.objects.exists()


def test_a_sheet_without_tracking_numbers_is_refused_at_upload(staff_user: User) -> None:
    with pytest.raises(HeaderNotFound, match="송장번호"):
        preview(staff_user, xlsx(["출고번호", "택배사"], [["S00000001", "CJ대한통운"]]))


def test_a_box_shipped_between_preview_and_apply_stops_the_apply(
    store: ChannelAccount, staff_user: User
) -> None:
    box = box_for(store, "L-RACE")
    session = preview(staff_user, xlsx(["출고번호", "송장번호"], [[box.number, "123456789012"]]))
    Shipment.objects.filter(pk=box.pk).update(status=ShipmentStatus.SHIPPED)
    after = import_session_start_commit(session=session, actor=staff_user)
    assert after.status == ImportSession.Status.INVALID
    assert "row 2" in after.message
    box.refresh_from_db()
    assert box.tracking_number == ""


# --- Big sheets --------------------------------------------------------------------------------------


def test_a_big_sheet_is_checked_and_applied_by_a_job(
    settings: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
    store: ChannelAccount,
    staff_user: User,
) -> None:
    from oms.celery import app

    settings.OMS_IMPORT_JOB_ROWS = 2
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    boxes = [box_for(store, f"L-BIG{i}", name=f"고객{i}") for i in range(3)]
    data = xlsx(["출고번호", "송장번호"], [[b.number, f"60123456789{i}"] for i, b in enumerate(boxes)])
    with django_capture_on_commit_callbacks(execute=True):
        session = preview(staff_user, data)
    session.refresh_from_db()
    assert session.job is not None and session.status == ImportSession.Status.READY
    with django_capture_on_commit_callbacks(execute=True):
        import_session_start_commit(session=session, actor=staff_user)
    session.refresh_from_db()
    assert session.status == ImportSession.Status.COMMITTED
    assert session.job is not None
    assert Job.objects.get(pk=session.job.pk).status == Job.Status.SUCCEEDED
    assert Shipment.objects.filter(tracking_number__startswith="6012345678").count() == 3


def test_five_thousand_rows_preview_and_apply_in_seconds(staff_user: User, settings: Any) -> None:
    settings.OMS_IMPORT_JOB_ROWS = 100_000  # measure the import itself, here in the test
    Shipment.objects.bulk_create(
        [
            Shipment(recipient_name=f"고객{i}", recipient_phone=f"0101234{i:04d}", address=f"주소 {i}")
            for i in range(5000)
        ]
    )
    ids = list(Shipment.objects.order_by("pk").values_list("pk", flat=True))
    data = xlsx(
        ["출고번호", "택배사", "송장번호"],
        [[f"S{pk:08d}", "CJ대한통운", f"6{i:011d}"] for i, pk in enumerate(ids)],
    )
    started = time.monotonic()
    session = preview(staff_user, data)
    checked = time.monotonic()
    assert session.counts["boxes_new"] == 5000
    done = import_session_start_commit(session=session, actor=staff_user)
    applied = time.monotonic()
    assert done.status == ImportSession.Status.COMMITTED
    assert Shipment.objects.filter(tracking_number__startswith="6").count() == 5000
    assert checked - started < 4, checked - started
    assert applied - checked < 6, applied - checked


def test_lines_of_a_box_keep_their_items(store: ChannelAccount, staff_user: User) -> None:
    box = box_for(store, "L-K1", "L-K2")
    preview_session = preview(staff_user, xlsx(["상품주문번호", "송장번호"], [["L-K1", "123456789012"]]))
    import_session_start_commit(session=preview_session, actor=staff_user)
    assert ShipmentItem.objects.filter(shipment=box).count() == 2
    assert Order.objects.count() == 1


# --- Courier sheets coming back ------------------------------------------------------------------------


def test_cj_result_file_keyed_by_customer_order_number_is_cj(store: ChannelAccount, staff_user: User) -> None:
    box = box_for(store, "L-CJ")
    Courier.objects.filter(is_default=True).update(is_default=False)
    Courier.objects.filter(code="HYUNDAI").update(is_default=True)  # the default is 롯데, the file is CJ's
    headers = ["예약구분", "받는분성명", "받는분주소(전체, 분할)", "운송장번호", "고객주문번호", "품목명"]
    rows = [
        ["", "홍길동", "서울", "601234567890", box.number, "니트"],
        ["", "누구", "부산", "601234567891", "", "양말"],
    ]
    refused = preview(staff_user, xlsx(headers, rows))
    assert errors_of(refused) == [(3, "고객주문번호", "Required: which box this number is for is empty.")]
    session = preview(staff_user, xlsx(headers, rows[:1]))
    assert session.status == ImportSession.Status.READY, errors_of(session)
    assert session.counts["layout_cj"] == 1
    import_session_start_commit(session=session, actor=staff_user)
    box.refresh_from_db()
    assert box.courier is not None and (box.courier.code, box.tracking_number) == ("CJGLS", "601234567890")


def test_our_courier_sheet_with_numbers_typed_in_goes_back(store: ChannelAccount, staff_user: User) -> None:
    from shipping.excel_courier import GENERIC, Sender, courier_sheet_rows, courier_sheet_write

    box = box_for(store, "L-SHEET")
    out = io.BytesIO()
    sender = Sender(
        name="데모상점", phone="0212345678", zip_code="04524", address="서울특별시 중구 세종대로 110"
    )
    courier_sheet_write(out, layout=GENERIC, sender=sender, rows=courier_sheet_rows([box.pk]))
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    ws = book.worksheets[0]
    headers = [c.value for c in ws[1]]
    ws.cell(2, headers.index("송장번호") + 1, "601234567890")
    filled = io.BytesIO()
    book.save(filled)
    session = preview(staff_user, filled.getvalue())
    assert session.status == ImportSession.Status.READY, errors_of(session)
    import_session_start_commit(session=session, actor=staff_user)
    box.refresh_from_db()
    assert box.tracking_number == "601234567890"
