from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from channels.models import ChannelAccount
from oms.models import AuditLog, Company
from orders.models import LineStatus, Order, OrderLine
from shipping.excel_courier import CJ, CompanyDetailsMissing, items_summary, short_option
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.services_sheet import SheetFilters, courier_sheet_export, courier_sheet_select
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import client_for, sheet_of
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ShipmentFactory, courier, ingest_orders, shipment_of, stocked_sku

pytestmark = pytest.mark.django_db


@pytest.fixture
def company() -> Company:
    return Company.objects.create(
        pk=1,
        name="니트공방",
        phone="0212345678",
        zip_code="06236",
        address="서울특별시 강남구 테헤란로 1",
        return_zip_code="10881",
        return_address="경기도 파주시 회동길 2 반품센터",
    )


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create(name="니트 스마트스토어")


def _sheet(data: bytes | BytesIO | str) -> Worksheet:
    source = BytesIO(data) if isinstance(data, bytes) else data
    sheet = load_workbook(source).active
    assert isinstance(sheet, Worksheet)
    return sheet


def _rows(sheet: Worksheet) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    headers = [str(h) for h in values[0]]
    return [dict(zip(headers, row, strict=True)) for row in values[1:]]


def _export(ids: list[int], *, layout: str = "generic", mark: bool = False) -> tuple[Worksheet, Any]:
    out = BytesIO()
    result = courier_sheet_export(fileobj=out, shipment_ids=ids, layout=layout, mark_printed=mark, actor=None)
    out.seek(0)
    return _sheet(out), result


def _two_line_box(account: ChannelAccount, **fields: Any) -> Shipment:
    stocked_sku("KNIT-BK-S")
    stocked_sku("SCARF-GR")
    (order,) = ingest_orders(
        account,
        [
            channel_order(
                channel_line(codes=("KNIT-BK-S",), quantity=2, option="색상: 블랙 / 사이즈: S"),
                channel_line(codes=("SCARF-GR",), option="그레이"),
                order_id="2026112500001",
                recipient_phone="010-2345-6789",
            )
        ],
    )
    return shipment_of(list(order.lines.order_by("pk")), **fields)


# --- The item summary ----------------------------------------------------------------------------


def test_items_are_summarised_by_the_first_line_and_how_many_others() -> None:
    items = [("울 라운드 니트", "색상: 블랙 / 사이즈: S", 2), ("머플러", "그레이", 1)]
    assert items_summary(items) == "울 라운드 니트 블랙/S x2 외 1건"
    assert items_summary(items[:1]) == "울 라운드 니트 블랙/S x2"
    assert items_summary([("머플러", "", 1)]) == "머플러"
    assert short_option("블랙, S") == "블랙, S"


def test_a_long_summary_is_cut_to_the_byte_limit_and_keeps_its_count() -> None:
    items = [("아주 긴 상품명 " * 30, "블랙", 3), ("양말", "", 1), ("모자", "", 1)]
    text = items_summary(items, max_bytes=150)
    assert len(text.encode("cp949")) <= 150
    assert text.endswith("… x3 외 2건")
    assert text.startswith("아주 긴 상품명")


@pytest.mark.usefixtures("english")
def test_the_summary_speaks_english_in_english() -> None:
    assert items_summary([("Wool knit", "Black", 2), ("Scarf", "", 1)]) == "Wool knit Black x2 and 1 more"


# --- The sheet -----------------------------------------------------------------------------------


def test_generic_sheet_has_one_row_per_box_with_sender_recipient_and_items(
    company: Company, account: ChannelAccount
) -> None:
    box = _two_line_box(account, recipient_phone2="0311234567", delivery_message="부재시 경비실")

    sheet, result = _export([box.pk])

    assert result.count == 1
    (row,) = _rows(sheet)
    assert row["출고번호"] == box.number
    assert row["보내는분"] == "니트공방"
    assert row["보내는분 전화"] == "0212345678"
    assert row["보내는분 주소"] == "경기도 파주시 회동길 2 반품센터"  # the return address first
    assert row["보내는분 우편번호"] == "10881"
    assert row["받는분"] == "홍길동"
    assert row["받는분 전화"] == box.recipient_phone
    assert row["받는분 전화2"] == "0311234567"
    assert row["우편번호"] == "04524"
    assert row["주소"] == "서울특별시 중구 세종대로 110 3층"
    assert row["품목명"] == "울 라운드 니트 블랙/S x2 외 1건"
    assert row["수량"] == 3
    assert row["배송메세지"] == "부재시 경비실"
    assert row["주문번호"] == "2026112500001"
    assert row["판매처"] == "니트 스마트스토어"
    assert row["택배사"] == "CJ대한통운"  # no courier on the box yet: the default


def test_phones_and_zip_codes_stay_text_and_formulas_stay_text(company: Company) -> None:
    box = ShipmentFactory.create(
        recipient_phone="01012345678", zip_code="01234", address="=1+1", delivery_message="@SUM(A1)"
    )

    sheet, _result = _export([box.pk], layout="cj")

    headers = [c.value for c in sheet[1]]
    cells = {h: c for h, c in zip(headers, sheet[2], strict=True)}
    assert cells["받는분전화번호"].value == "01012345678"
    assert cells["받는분전화번호"].data_type == "s"
    assert cells["받는분전화번호"].number_format == "@"
    assert cells["받는분우편번호"].value == "01234"
    assert cells["보내는분전화번호"].value == "0212345678"
    assert cells["받는분주소(전체, 분할)"].data_type == "s"
    assert cells["받는분주소(전체, 분할)"].value == "'=1+1"
    assert cells["배송메세지1"].value == "'@SUM(A1)"


def test_cj_layout_uses_cjs_columns_in_order_and_carries_the_shipment_number(
    company: Company, account: ChannelAccount
) -> None:
    box = _two_line_box(account)

    sheet, _result = _export([box.pk], layout="cj")

    headers = [c.value for c in sheet[1]]
    assert headers == [str(c.header) for c in CJ.columns]
    assert headers[:3] == ["예약구분", "집하예정일", "보내는분성명"]
    for name in (
        "받는분성명",
        "받는분전화번호",
        "받는분기타연락처",
        "받는분우편번호",
        "받는분주소(전체, 분할)",
    ):
        assert name in headers
    (row,) = _rows(sheet)
    assert row["고객주문번호"] == box.number
    assert row["품목명"] == "울 라운드 니트 블랙/S x2 외 1건"
    assert row["내품수량"] == 3
    assert row["박스수량"] == 1
    assert row["운송장번호"] is None
    assert row["예약구분"] is None  # CJ's program fills its default


def test_sender_falls_back_to_the_company_address_without_a_return_address(company: Company) -> None:
    company.return_address = ""
    company.return_zip_code = ""
    company.save()
    box = ShipmentFactory.create()

    (row,) = _rows(_export([box.pk])[0])

    assert row["보내는분 주소"] == "서울특별시 강남구 테헤란로 1"
    assert row["보내는분 우편번호"] == "06236"


def test_export_is_refused_without_the_company_name_or_phone() -> None:
    Company.objects.create(pk=1, name="니트공방", phone="")
    box = ShipmentFactory.create()

    with pytest.raises(CompanyDetailsMissing, match="전화번호"):
        courier_sheet_export(
            fileobj=BytesIO(), shipment_ids=[box.pk], layout="generic", mark_printed=True, actor=None
        )

    box.refresh_from_db()
    assert box.status == ShipmentStatus.READY


# --- Choosing the shipments ----------------------------------------------------------------------


def test_default_selection_is_open_boxes_without_a_tracking_number() -> None:
    ready = ShipmentFactory.create()
    packed = ShipmentFactory.create(status=ShipmentStatus.PACKED)
    ShipmentFactory.create(tracking_number="601234567890")
    ShipmentFactory.create(status=ShipmentStatus.SHIPPED)
    ShipmentFactory.create(status=ShipmentStatus.CANCELLED)

    assert courier_sheet_select(filters=SheetFilters()) == [ready.pk, packed.pk]
    assert courier_sheet_select(filters=SheetFilters(statuses=("packed",))) == [packed.pk]


def test_courier_filter_takes_boxes_without_a_courier_for_the_default_one() -> None:
    unassigned = ShipmentFactory.create()
    cj = ShipmentFactory.create(courier=courier("CJGLS"))
    lotte = ShipmentFactory.create(courier=courier("HYUNDAI"))

    assert courier_sheet_select(filters=SheetFilters(courier=courier("CJGLS"))) == [unassigned.pk, cj.pk]
    assert courier_sheet_select(filters=SheetFilters(courier=courier("HYUNDAI"))) == [lotte.pk]


def test_account_filter_includes_boxes_mixing_that_account_with_others(account: ChannelAccount) -> None:
    other = ChannelAccountFactory.create()
    own = _two_line_box(account)
    mixed = ShipmentFactory.create(account=None)
    line = OrderLine.objects.filter(order__account=account).first()
    assert line is not None
    # a second box holding another account's line only
    theirs = ShipmentFactory.create(account=other)

    ShipmentItem.objects.filter(line=line).update(shipment=mixed)

    assert courier_sheet_select(filters=SheetFilters(account=account)) == [own.pk, mixed.pk]
    assert theirs.pk not in courier_sheet_select(filters=SheetFilters(account=account))


def test_the_page_says_which_picked_boxes_stay_off_the_sheet(company: Company, staff_user) -> None:
    open_box = ShipmentFactory.create()
    shipped = ShipmentFactory.create(status=ShipmentStatus.SHIPPED)

    page = (
        client_for(staff_user)
        .get(reverse("shipping:courier_sheet"), {"ids": f"{open_box.pk},{shipped.pk}"})
        .content.decode()
    )

    assert "출고 목록에서 고른 2건" in page
    assert "그중 1건은 출고완료·배송완료·취소 상태라 시트에서 빠집니다." in page
    assert "시트 내려받기 (1건)" in page


def test_picked_ids_are_taken_even_with_a_tracking_number_but_never_shipped_ones() -> None:
    with_tracking = ShipmentFactory.create(tracking_number="601234567890")
    shipped = ShipmentFactory.create(status=ShipmentStatus.SHIPPED)
    ShipmentFactory.create()

    assert courier_sheet_select(filters=SheetFilters(ids=(with_tracking.pk, shipped.pk))) == [
        with_tracking.pk
    ]


# --- Marking printed -----------------------------------------------------------------------------


def test_exported_ready_boxes_become_printed_and_others_keep_their_state(company: Company) -> None:
    ready = ShipmentFactory.create()
    packed = ShipmentFactory.create(status=ShipmentStatus.PACKED)

    _, result = _export([ready.pk, packed.pk], mark=True)

    assert result.count == 2
    assert result.marked_printed == 1
    ready.refresh_from_db()
    packed.refresh_from_db()
    assert ready.status == ShipmentStatus.PRINTED
    assert ready.printed_at is not None
    assert packed.status == ShipmentStatus.PACKED
    assert packed.printed_at is None
    assert AuditLog.objects.filter(action="shipment.courier_sheet").exists()


def test_export_without_marking_changes_nothing(company: Company) -> None:
    ready = ShipmentFactory.create()

    _export([ready.pk], mark=False)

    ready.refresh_from_db()
    assert ready.status == ShipmentStatus.READY
    assert ready.printed_at is None


# --- Speed ---------------------------------------------------------------------------------------


def _boxes(account: ChannelAccount, count: int) -> list[int]:
    """`count` boxes of two lines each, written in bulk (the sheet reads, it never changes lines)."""
    orders = Order.objects.bulk_create(
        [
            Order(
                account=account,
                external_order_id=f"B{n:07d}",
                recipient_name=f"수취인{n}",
                recipient_phone=f"010{n:08d}",
                zip_code="04524",
                address1="서울특별시 중구 세종대로 110",
            )
            for n in range(count)
        ]
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                account=account,
                external_line_id=f"{order.external_order_id}-{k}",
                product_name="울 라운드 니트",
                option_text="블랙 / S",
                quantity=k + 1,
                status=LineStatus.READY,
            )
            for order in orders
            for k in range(2)
        ]
    )
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                account=account,
                recipient_name=o.recipient_name,
                recipient_phone=o.recipient_phone,
                zip_code=o.zip_code,
                address=o.address1,
            )
            for o in orders
        ]
    )
    ShipmentItem.objects.bulk_create(
        [ShipmentItem(shipment=shipments[i // 2], line=line) for i, line in enumerate(lines)]
    )
    return [s.pk for s in shipments]


def test_the_sheet_costs_the_same_few_queries_for_ten_or_three_hundred_boxes(
    company: Company, account: ChannelAccount, django_assert_max_num_queries: Any
) -> None:
    ids = _boxes(account, 300)

    with django_assert_max_num_queries(8):
        sheet, result = _export(ids, mark=True)

    assert result.count == 300
    assert sheet.max_row == 301
    assert _rows(sheet)[0]["품목명"] == "울 라운드 니트 블랙/S 외 1건"
    assert _rows(sheet)[0]["수량"] == 3


def test_five_thousand_boxes_are_exported_and_marked_in_one_go(
    company: Company, account: ChannelAccount
) -> None:
    # Speed is measured in bench/shipping_desk.py; the query-count test above catches per-row queries.
    ids = _boxes(account, 5000)

    _, result = _export(courier_sheet_select(filters=SheetFilters()), mark=True)

    assert result.count == 5000 == len(ids)
    assert result.marked_printed == 5000


# --- The page ------------------------------------------------------------------------------------


def test_page_counts_the_boxes_and_previews_them(
    company: Company, account: ChannelAccount, staff_user
) -> None:
    box = _two_line_box(account)

    response = client_for(staff_user).get(reverse("shipping:courier_sheet"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "시트 내려받기 (1건)" in page
    assert box.number in page
    assert "울 라운드 니트 블랙/S x2 외 1건" in page
    assert "니트공방" in page


def test_download_gives_the_xlsx_and_marks_the_boxes_printed(company: Company, staff_user) -> None:
    boxes = [ShipmentFactory.create(), ShipmentFactory.create()]

    response = client_for(staff_user).post(
        reverse("shipping:courier_sheet"),
        {"action": "export", "layout": "cj", "without_tracking": "on", "mark_printed": "on"},
    )

    assert response.status_code == 200
    assert "courier_sheet_cj_" in response["Content-Disposition"]
    sheet = sheet_of(response)
    assert [r["고객주문번호"] for r in _rows(sheet)] == [b.number for b in boxes]
    assert set(Shipment.objects.values_list("status", flat=True)) == {ShipmentStatus.PRINTED}


def test_download_without_ticking_the_box_leaves_the_state(company: Company, staff_user) -> None:
    box = ShipmentFactory.create()

    response = client_for(staff_user).post(
        reverse("shipping:courier_sheet"), {"action": "export", "layout": "generic", "without_tracking": "on"}
    )

    assert response.status_code == 200
    box.refresh_from_db()
    assert box.status == ShipmentStatus.READY


def test_boxes_picked_on_the_desk_arrive_by_ids(company: Company, staff_user) -> None:
    picked = [ShipmentFactory.create(), ShipmentFactory.create()]
    ShipmentFactory.create()
    client = client_for(staff_user)

    by_get = client.get(reverse("shipping:courier_sheet"), {"ids": f"{picked[0].pk},{picked[1].pk}"})
    by_post = client.post(reverse("shipping:courier_sheet"), {"ids": [picked[0].pk, picked[1].pk]})

    for response in (by_get, by_post):
        assert response.status_code == 200
        assert "출고 목록에서 고른 2건" in response.content.decode()
        assert "시트 내려받기 (2건)" in response.content.decode()
    download = client.post(
        reverse("shipping:courier_sheet"),
        {"action": "export", "layout": "generic", "ids": f"{picked[0].pk},{picked[1].pk}"},
    )
    assert [r["출고번호"] for r in _rows(sheet_of(download))] == [p.number for p in picked]


def test_page_sends_the_seller_to_the_company_details_when_the_sender_is_missing(staff_user) -> None:
    ShipmentFactory.create()
    client = client_for(staff_user)

    page = client.get(reverse("shipping:courier_sheet")).content.decode()
    response = client.post(reverse("shipping:courier_sheet"), {"action": "export", "layout": "generic"})

    assert "회사 정보 페이지" in page
    assert reverse("company") in page
    assert response.status_code == 400
    assert "회사 정보 페이지" in response.content.decode()
    assert Shipment.objects.get().status == ShipmentStatus.READY


def test_nothing_to_export_says_so_instead_of_an_empty_file(company: Company, staff_user) -> None:
    response = client_for(staff_user).post(
        reverse("shipping:courier_sheet"), {"action": "export", "layout": "generic", "without_tracking": "on"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "내보낼 출고가 없습니다" in response.content.decode()


# --- The command ---------------------------------------------------------------------------------


def test_command_writes_the_sheet_and_prints_one_line(company: Company, tmp_path: Path, capsys: Any) -> None:
    cj_box = ShipmentFactory.create(courier=courier("CJGLS"))
    ShipmentFactory.create(courier=courier("HYUNDAI"))
    target = tmp_path / "cj.xlsx"

    call_command("export_courier_sheet", "--courier", "CJGLS", "--layout", "cj", str(target))

    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert "1건" in out
    assert [r["고객주문번호"] for r in _rows(_sheet(str(target)))] == [cj_box.number]
    cj_box.refresh_from_db()
    assert cj_box.status == ShipmentStatus.PRINTED


def test_command_accepts_a_courier_name_and_can_leave_the_state(company: Company, tmp_path: Path) -> None:
    box = ShipmentFactory.create(courier=courier("HYUNDAI"))

    call_command(
        "export_courier_sheet", "--courier", "롯데택배", "--no-mark-printed", str(tmp_path / "l.xlsx")
    )

    assert [r["출고번호"] for r in _rows(_sheet(str(tmp_path / "l.xlsx")))] == [box.number]
    box.refresh_from_db()
    assert box.status == ShipmentStatus.READY


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--courier", "드론"], "알 수 없는 택배사"),
        (["--layout", "lotte"], "알 수 없는 시트 양식"),
        (["--account", "없는계정"], "없는계정"),
        (["--status", "shipped"], "알 수 없는 상태"),
    ],
)
def test_command_refuses_bad_input_with_exit_2(
    company: Company, tmp_path: Path, args: list[str], message: str
) -> None:
    ShipmentFactory.create()
    target = tmp_path / "x.xlsx"

    with pytest.raises(CommandError, match=message) as caught:
        call_command("export_courier_sheet", *args, str(target))

    assert caught.value.returncode == 2
    assert not target.exists()
    assert Shipment.objects.get().status == ShipmentStatus.READY


def test_command_refuses_without_company_details(tmp_path: Path) -> None:
    ShipmentFactory.create()

    with pytest.raises(CommandError, match="회사 정보") as caught:
        call_command("export_courier_sheet", str(tmp_path / "x.xlsx"))

    assert caught.value.returncode == 2
    assert not (tmp_path / "x.xlsx").exists()


def test_command_with_nothing_to_export_says_so_and_writes_no_file(
    company: Company, tmp_path: Path, capsys: Any
) -> None:
    call_command("export_courier_sheet", str(tmp_path / "x.xlsx"))

    assert "내보낼 출고가 없어" in capsys.readouterr().out
    assert not (tmp_path / "x.xlsx").exists()


def test_page_warns_when_boxes_were_already_on_a_courier_sheet(company: Company, staff_user) -> None:
    ShipmentFactory.create()
    client = client_for(staff_user)
    client.post(
        reverse("shipping:courier_sheet"), {"action": "export", "layout": "generic", "mark_printed": "on"}
    )
    ShipmentFactory.create()

    page = client.get(reverse("shipping:courier_sheet")).content.decode()
    ready_only = client.get(
        reverse("shipping:courier_sheet"), {"status": "ready", "layout": "generic", "without_tracking": "on"}
    ).content.decode()

    assert "이 중 1건은 이미 택배 접수 파일로 내보낸 출고입니다" in page
    assert "시트 내려받기 (2건)" in page
    assert "이미 택배 접수 파일로" not in ready_only
    assert "시트 내려받기 (1건)" in ready_only


def test_command_filters_by_account_status_and_can_include_boxes_with_tracking(
    company: Company, account: ChannelAccount, tmp_path: Path
) -> None:
    own = _two_line_box(account, status=ShipmentStatus.PACKED, tracking_number="601234567890")
    ShipmentFactory.create(account=ChannelAccountFactory.create())
    target = tmp_path / "own.xlsx"

    call_command(
        "export_courier_sheet",
        "--account",
        "니트 스마트스토어",
        "--status",
        "packed",
        "--with-tracking",
        str(target),
    )

    (row,) = _rows(_sheet(str(target)))
    assert row["출고번호"] == own.number
    assert row["송장번호"] == "601234567890"
    own.refresh_from_db()
    assert own.status == ShipmentStatus.PACKED  # only READY boxes become printed
