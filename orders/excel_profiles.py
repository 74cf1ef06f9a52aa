"""Order-sheet profiles: which header text holds which order field, per marketplace.

Built-in profiles follow ../shared/channel-specs.md (Order Excel sheets). Headers are matched
by text (several aliases each), never by position; the set and order of columns change over
time. A user-defined profile (orders.models.ExcelProfile) maps the same field names to the
seller's own header texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from channels.models import Marketplace
from channels.types import LineState


@dataclass(frozen=True)
class OrderField:
    name: str
    label: str | Promise
    kind: str = "text"  # text, int, money, datetime, phone, zip
    required: bool = False


# Every field a profile can map. A profile must map every required one.
ORDER_FIELDS: dict[str, OrderField] = {
    f.name: f
    for f in [
        OrderField("external_order_id", _("Order no."), required=True),
        OrderField("external_line_id", _("Line no.")),
        OrderField("line_seq", _("Line sequence")),
        OrderField("bundle_key", _("Bundle no.")),
        OrderField("ordered_at", _("Ordered at"), "datetime"),
        OrderField("paid_at", _("Paid at"), "datetime"),
        OrderField("buyer_name", _("Buyer")),
        OrderField("buyer_phone", _("Buyer phone"), "phone"),
        OrderField("recipient_name", _("Recipient"), required=True),
        OrderField("recipient_phone", _("Recipient phone"), "phone", required=True),
        OrderField("recipient_phone2", _("Recipient phone 2"), "phone"),
        OrderField("zip_code", _("Zip code"), "zip"),
        OrderField("address1", _("Address"), required=True),
        OrderField("address2", _("Address detail")),
        OrderField("address_full", _("Full address")),
        OrderField("delivery_message", _("Delivery message")),
        OrderField("channel_product_id", _("Channel product id")),
        OrderField("channel_option_id", _("Channel option id")),
        OrderField("product_name", _("Product name"), required=True),
        OrderField("option_text", _("Option")),
        OrderField("option_code", _("Option code (seller)")),
        OrderField("seller_code", _("Seller product code")),
        OrderField("quantity", _("Quantity"), "int", required=True),
        OrderField("unit_price", _("Unit price"), "money"),
        OrderField("option_price", _("Option price"), "money"),
        OrderField("discount", _("Discount"), "money"),
        OrderField("line_total", _("Line total"), "money"),
        OrderField("shipping_fee", _("Shipping fee"), "money"),
        OrderField("status", _("Order status")),
        OrderField("status_detail", _("Order status detail")),
    ]
}


@dataclass(frozen=True)
class SheetProfile:
    key: str
    label: str | Promise
    marketplace: str
    headers: dict[str, tuple[str, ...]]  # field name -> header texts, first match wins
    sheet_name: str = ""  # "" = the first sheet
    header_row: int | None = None  # 1-based; None = find it within the first rows
    line_state_default: LineState = LineState.NEW
    states: dict[str, LineState] = field(default_factory=dict)  # status text -> state
    # Optional: combine these fields into a line id when the sheet has none (Coupang, 11st).
    line_id_from: tuple[str, ...] = ()
    user_defined: bool = False


SMARTSTORE_STATES = {
    "신규주문": LineState.NEW,
    "결제완료": LineState.NEW,
    "발주확인": LineState.CONFIRMED,
    "배송준비": LineState.CONFIRMED,
    "배송중": LineState.SHIPPED,
    "배송완료": LineState.DELIVERED,
    "구매확정": LineState.COMPLETED,
    "취소요청": LineState.CANCEL_REQUESTED,
    "취소완료": LineState.CANCELLED,
    "취소": LineState.CANCELLED,
    "반품요청": LineState.RETURN_REQUESTED,
    "반품완료": LineState.RETURNED,
    "교환요청": LineState.EXCHANGE_REQUESTED,
    "교환완료": LineState.EXCHANGED,
}

SMARTSTORE = SheetProfile(
    key="smartstore",
    label=_("Naver SmartStore (발송처리 download)"),
    marketplace=Marketplace.SMARTSTORE,
    sheet_name="발송처리",
    headers={
        "external_line_id": ("상품주문번호",),
        "external_order_id": ("주문번호",),
        "bundle_key": ("배송비 묶음번호", "묶음배송번호"),
        "ordered_at": ("주문일시",),
        "paid_at": ("결제일",),
        "buyer_name": ("구매자명",),
        "buyer_phone": ("구매자연락처",),
        "recipient_name": ("수취인명",),
        "recipient_phone": ("수취인연락처1",),
        "recipient_phone2": ("수취인연락처2",),
        "zip_code": ("우편번호",),
        "address1": ("기본배송지",),
        "address2": ("상세배송지",),
        "address_full": ("통합배송지",),
        "delivery_message": ("배송메세지", "배송메시지"),
        "channel_product_id": ("상품번호",),
        "product_name": ("상품명",),
        "option_text": ("옵션정보",),
        "option_code": ("옵션관리코드",),
        "seller_code": ("판매자 상품코드",),
        "quantity": ("수량",),
        "unit_price": ("상품가격",),
        "option_price": ("옵션가격",),
        "discount": ("최종 상품별 할인액",),
        "line_total": ("최종 상품별 총 주문금액",),
        "shipping_fee": ("배송비 합계",),
        "status": ("주문상태",),
        "status_detail": ("주문세부상태",),
    },
    states=SMARTSTORE_STATES,
)

COUPANG = SheetProfile(
    key="coupang",
    label=_("Coupang DeliveryList"),
    marketplace=Marketplace.COUPANG,
    sheet_name="Delivery",
    header_row=None,
    headers={
        "external_order_id": ("주문번호",),
        "bundle_key": ("묶음배송번호",),
        "ordered_at": ("주문일",),
        "buyer_name": ("구매자",),
        "buyer_phone": ("구매자전화번호",),
        "recipient_name": ("수취인이름",),
        "recipient_phone": ("수취인전화번호",),
        "zip_code": ("우편번호",),
        "address_full": ("수취인 주소",),
        "delivery_message": ("배송메세지", "배송메시지"),
        "channel_product_id": ("노출상품ID",),
        "channel_option_id": ("옵션ID",),
        "product_name": ("등록상품명",),
        "option_text": ("등록옵션명",),
        "seller_code": ("업체상품코드",),
        "quantity": ("구매수(수량)",),
        "unit_price": ("옵션판매가(판매단가)",),
        "line_total": ("결제액",),
        "shipping_fee": ("배송비",),
    },
    # The DeliveryList lists orders in 상품준비중 (INSTRUCT): already acknowledged on Coupang.
    line_state_default=LineState.CONFIRMED,
    line_id_from=("bundle_key", "channel_option_id"),
)

ELEVENST = SheetProfile(
    key="11st",
    label=_("11st order sheet"),
    marketplace=Marketplace.ELEVENST,
    headers={
        "external_order_id": ("주문번호",),
        "line_seq": ("주문순번",),
        "paid_at": ("결제일시",),
        "ordered_at": ("주문일시",),
        "bundle_key": ("배송번호",),
        "product_name": ("상품명",),
        "option_text": ("옵션", "옵션명"),
        "quantity": ("수량",),
        "line_total": ("주문금액",),
        "recipient_name": ("수취인",),
        "recipient_phone": ("휴대폰번호",),
        "recipient_phone2": ("전화번호",),
        "zip_code": ("우편번호",),
        "address_full": ("주소",),
        "delivery_message": ("배송메시지", "배송메세지"),
        "seller_code": ("판매자상품번호", "판매자상품코드"),
    },
    line_id_from=("external_order_id", "line_seq"),
)

BUILTIN_PROFILES: dict[str, SheetProfile] = {p.key: p for p in (SMARTSTORE, COUPANG, ELEVENST)}
