from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from channels.models import Marketplace
from channels.types import LineState
from oms.sheets import WrongPassword
from orders.excel import NoProfileFits, parse_order_sheet
from orders.excel_profiles import BUILTIN_PROFILES
from orders.models import ExcelProfile
from tests.channels.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parents[1] / "samples"


def xlsx(rows: list[list[Any]], sheet: str = "Sheet1") -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"strings_to_numbers": False})
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
            elif value is not None:
                ws.write(r, c, value)
    book.close()
    return buf.getvalue()


COUPANG_HEADERS = [
    "번호",
    "묶음배송번호",
    "주문번호",
    "택배사",
    "운송장번호",
    "주문일",
    "등록상품명",
    "등록옵션명",
    "노출상품ID",
    "옵션ID",
    "업체상품코드",
    "결제액",
    "배송비",
    "구매수(수량)",
    "옵션판매가(판매단가)",
    "구매자",
    "구매자전화번호",
    "수취인이름",
    "수취인전화번호",
    "우편번호",
    "수취인 주소",
    "배송메세지",
]


def coupang_row(n: int, **overrides: Any) -> list[Any]:
    values = {
        "번호": n,
        "묶음배송번호": f"4000{n}",
        "주문번호": f"2200{n}",
        "택배사": "",
        "운송장번호": "",
        "주문일": "2026-11-21 10:20:00",
        "등록상품명": "울 라운드 니트",
        "등록옵션명": "블랙 / S",
        "노출상품ID": "7000",
        "옵션ID": f"800{n}",
        "업체상품코드": "KNIT-BK-S",
        "결제액": "39,000",
        "배송비": 0,
        "구매수(수량)": "1",
        "옵션판매가(판매단가)": 39000.0,
        "구매자": "최*우",
        "구매자전화번호": "0502-****-1234",
        "수취인이름": "최*우",
        "수취인전화번호": 1012345678,
        "우편번호": 4524,
        "수취인 주소": " 서울  중구 세종대로 110 ",
        "배송메세지": "문 앞",
    }
    values.update(overrides)
    return [values[h] for h in COUPANG_HEADERS]


def test_smartstore_sample_needs_its_password_and_then_reads_every_order() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE)
    path = SAMPLES / "smartstore_발송처리_sample.xlsx"
    with pytest.raises(WrongPassword):
        parse_order_sheet(path, account=account, password="wrong", filename=path.name)
    parsed = parse_order_sheet(path, account=account, password="sample1234", filename=path.name)
    assert parsed.profile.key == "smartstore"
    assert parsed.table.header_row == 2
    assert (len(parsed.orders), parsed.line_count, parsed.errors) == (12, 21, [])
    first = parsed.orders[0]
    assert first.shipping_fee == 3000  # one fee per bundle, from the line that carries it
    assert first.lines[0].seller_codes == ("KNIT-BK-M",)


def test_coupang_sample_is_detected_from_its_headers() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG)
    path = SAMPLES / "coupang_DeliveryList_sample.xlsx"
    parsed = parse_order_sheet(path, account=account, filename=path.name)
    assert parsed.profile.key == "coupang"
    assert (len(parsed.orders), parsed.line_count) == (6, 7)
    assert all(line.state == LineState.CONFIRMED for o in parsed.orders for line in o.lines)


def test_awkward_cells_are_tolerated() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG)
    reordered = [*reversed(COUPANG_HEADERS), "쓸모없는 열"]
    rows = [[" " + h + " " for h in reordered]]
    for n in (1, 2):
        row = coupang_row(n, 주문일=46347.43 if n == 2 else "2026-11-21 10:20:00")
        rows.append([*reversed(row), "x"])
    parsed = parse_order_sheet(xlsx(rows, "Delivery"), account=account, filename="d.xlsx")
    assert parsed.errors == []
    order = parsed.orders[0]
    assert order.lines[0].line_total == 39000 and order.lines[0].quantity == 1
    assert order.recipient_phone == "1012345678"  # normalised on ingestion, kept raw here
    assert order.ordered_at is not None
    assert parsed.orders[1].ordered_at is not None and parsed.orders[1].ordered_at.year == 2026


def test_a_bad_row_holds_back_its_whole_order_and_names_row_column_and_reason() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG)
    rows = [
        COUPANG_HEADERS,
        coupang_row(1),
        coupang_row(2, **{"구매수(수량)": "두개"}),
        coupang_row(3, 주문번호="22002", 묶음배송번호="40002", 옵션ID="8009"),  # same order as row 3
        coupang_row(4, 수취인이름=""),
    ]
    parsed = parse_order_sheet(xlsx(rows, "Delivery"), account=account, filename="d.xlsx")
    assert [o.external_order_id for o in parsed.orders] == ["22001"]
    by_row = {e.row: e for e in parsed.errors}
    assert by_row[3].column == "구매수(수량)"
    assert by_row[4].column == "주문번호" and "3" in by_row[4].message
    assert by_row[5].column == "수취인이름"


def test_headers_that_fit_no_profile_are_refused() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG)
    with pytest.raises(NoProfileFits):
        parse_order_sheet(xlsx([["이름", "전화"], ["a", "b"]]), account=account, filename="x.xlsx")


def test_a_user_defined_profile_maps_the_sellers_own_headers() -> None:
    account = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    ExcelProfile.objects.create(
        account=account,
        name="지마켓 주문",
        mapping={
            "external_order_id": "주문번호",
            "external_line_id": "상품주문번호",
            "product_name": "상품명",
            "option_text": "옵션",
            "quantity": "수량",
            "recipient_name": "받는분",
            "recipient_phone": "받는분 휴대폰",
            "address_full": "주소",
            "seller_code": "판매자코드|관리코드",
            "line_total": "금액",
        },
    )
    rows: list[list[Any]] = [
        [
            "주문번호",
            "상품주문번호",
            "상품명",
            "옵션",
            "수량",
            "받는분",
            "받는분 휴대폰",
            "주소",
            "관리코드",
            "금액",
        ],
        [
            "G1",
            "G1-1",
            "머그컵",
            "화이트",
            2,
            "김철수",
            "010-2222-3333",
            "서울 강남구 테헤란로 1",
            "MUG-WH",
            "24,000",
        ],
    ]
    parsed = parse_order_sheet(xlsx(rows), account=account, filename="g.xlsx")
    assert parsed.profile.user_defined
    line = parsed.orders[0].lines[0]
    assert (line.seller_codes, line.quantity, line.line_total) == (("MUG-WH",), 2, 24000)


def test_every_builtin_profile_maps_the_required_fields() -> None:
    for profile in BUILTIN_PROFILES.values():
        assert "external_order_id" in profile.headers
        assert "quantity" in profile.headers and "product_name" in profile.headers
