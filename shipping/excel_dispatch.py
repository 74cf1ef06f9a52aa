"""The dispatch upload sheets of Excel-only channels (발송처리 엑셀), filled in: the seller uploads
the file to the marketplace's seller centre and the lines there turn to 배송중.

- SmartStore bulk dispatch (channel-specs.md): 상품주문번호 | 배송방법 | 택배사 | 송장번호, the
  courier by its Korean name (CJ대한통운) and the delivery method "택배,등기,소포".
- Coupang: the DeliveryList layout (sheet Delivery, the columns of Wing's download, as in
  tests/samples/), which is also Wing's invoice upload template, with 택배사 and 운송장번호 filled.
- Every other marketplace: a generic sheet (주문번호, 상품주문번호, 택배사, 택배사코드, 송장번호), the
  courier code being the one that marketplace knows it by (Courier.code_for).
Cells are written by oms.excel, so nothing a buyer typed ever becomes a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import FileResponse
from django.utils import timezone

from channels.models import ChannelAccount, Marketplace
from oms.excel import write_xlsx, xlsx_response
from shipping.models import ShipmentItem

SMARTSTORE_DELIVERY_METHOD = "택배,등기,소포"

SMARTSTORE_HEADERS = ("상품주문번호", "배송방법", "택배사", "송장번호")

# Wing's DeliveryList, in the order of its download (tests/samples/coupang_DeliveryList_sample.xlsx).
COUPANG_HEADERS = (
    "번호",
    "묶음배송번호",
    "주문번호",
    "택배사",
    "운송장번호",
    "분리배송 Y/N",
    "분리배송 출고예정일",
    "주문시 출고예정일",
    "출고일(발송일)",
    "주문일",
    "등록상품명",
    "등록옵션명",
    "노출상품명(옵션명)",
    "노출상품ID",
    "옵션ID",
    "최초등록등록상품명/옵션명",
    "업체상품코드",
    "바코드",
    "결제액",
    "배송비구분",
    "배송비",
    "도서산간 추가배송비",
    "구매수(수량)",
    "옵션판매가(판매단가)",
    "구매자",
    "구매자전화번호",
    "수취인이름",
    "수취인전화번호",
    "우편번호",
    "수취인 주소",
    "배송메세지",
    "상품별 추가메시지",
    "주문자 추가메시지",
    "배송완료일",
    "구매확정일자",
    "개인통관번호(PCCC)",
    "통관용수취인전화번호",
    "기타",
    "결제위치",
)

GENERIC_HEADERS = ("주문번호", "상품주문번호", "택배사", "택배사코드", "송장번호")


@dataclass(frozen=True)
class SheetLayout:
    key: str
    sheet: str
    headers: Sequence[str]


LAYOUTS = {
    "smartstore": SheetLayout("smartstore", "발송처리", SMARTSTORE_HEADERS),
    "coupang": SheetLayout("coupang", "Delivery", COUPANG_HEADERS),
    "generic": SheetLayout("generic", "발송처리", GENERIC_HEADERS),
}


def sheet_layout(account: ChannelAccount) -> SheetLayout:
    if account.marketplace == Marketplace.SMARTSTORE:
        return LAYOUTS["smartstore"]
    if account.marketplace == Marketplace.COUPANG:
        return LAYOUTS["coupang"]
    return LAYOUTS["generic"]


def _day(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _coupang_row(number: int, item: ShipmentItem, shipped_on: date) -> list[Any]:
    line, order, box = item.line, item.line.order, item.shipment
    courier = box.courier
    option = line.option_text
    values = {
        "번호": number,
        "묶음배송번호": order.bundle_key,
        "주문번호": order.external_order_id,
        "택배사": courier.name if courier else "",
        "운송장번호": box.tracking_number,
        "분리배송 Y/N": "N",
        "출고일(발송일)": shipped_on.isoformat(),
        "주문일": _day(order.ordered_at),
        "등록상품명": line.product_name,
        "등록옵션명": option,
        "노출상품명(옵션명)": f"{line.product_name}, {option}" if option else line.product_name,
        "노출상품ID": line.channel_product_id,
        "옵션ID": line.channel_option_id,
        "업체상품코드": line.seller_codes[0] if line.seller_codes else "",
        "결제액": line.line_total,
        "배송비": order.shipping_fee,
        "구매수(수량)": line.quantity,
        "옵션판매가(판매단가)": line.unit_price,
        "구매자": order.buyer_name,
        "구매자전화번호": order.buyer_phone,
        "수취인이름": order.recipient_name,
        "수취인전화번호": order.recipient_phone,
        "우편번호": order.zip_code,
        "수취인 주소": f"{order.address1} {order.address2}".strip(),
        "배송메세지": order.delivery_message,
    }
    return [values.get(header, "") for header in COUPANG_HEADERS]


def sheet_rows(account: ChannelAccount, items: Iterable[ShipmentItem]) -> Iterator[list[Any]]:
    """One row per item (order line), in the layout of the account's marketplace. Ids are
    written as text so Excel keeps every digit of a 16-digit 상품주문번호."""
    layout = sheet_layout(account)
    shipped_on = timezone.localdate()
    for number, item in enumerate(items, start=1):
        courier = item.shipment.courier
        name = courier.name if courier else ""
        if layout.key == "smartstore":
            yield [
                item.line.external_line_id,
                SMARTSTORE_DELIVERY_METHOD,
                name,
                item.shipment.tracking_number,
            ]
        elif layout.key == "coupang":
            yield _coupang_row(number, item, shipped_on)
        else:
            yield [
                item.line.order.external_order_id,
                item.line.external_line_id,
                name,
                courier.code_for(account.marketplace) if courier else "",
                item.shipment.tracking_number,
            ]


def sheet_filename(account: ChannelAccount) -> str:
    return f"발송처리_{account.name}_{timezone.localdate():%Y%m%d}.xlsx"


def dispatch_sheet_response(*, account: ChannelAccount, items: Iterable[ShipmentItem]) -> FileResponse:
    layout = sheet_layout(account)
    return xlsx_response(
        filename=sheet_filename(account),
        sheet=layout.sheet,
        headers=layout.headers,
        rows=sheet_rows(account, items),
    )


def dispatch_sheet_write(fileobj: Any, *, account: ChannelAccount, items: Iterable[ShipmentItem]) -> None:
    layout = sheet_layout(account)
    write_xlsx(fileobj, sheet=layout.sheet, headers=layout.headers, rows=sheet_rows(account, items))
