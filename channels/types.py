"""Plain frozen dataclasses that cross the adapter boundary. Adapters (and Excel profiles) turn
vendor shapes into these; orders.ingest turns these into rows. No ORM objects in here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class LineState(enum.StrEnum):
    """The marketplace's state of a line, normalised. Ingestion maps it to the OMS line state."""

    NEW = "new"  # paid, waiting for 발주확인
    CONFIRMED = "confirmed"  # 발주확인 done on the channel
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"  # 구매확정
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"
    EXCHANGE_REQUESTED = "exchange_requested"
    EXCHANGED = "exchanged"


@dataclass(frozen=True)
class ChannelOrderLine:
    external_line_id: str
    product_name: str
    quantity: int
    unit_price: int = 0
    option_text: str = ""
    channel_product_id: str = ""
    channel_option_id: str = ""
    # Seller codes the line carries (판매자 상품코드, 옵션관리코드, 업체상품코드), most specific first.
    seller_codes: tuple[str, ...] = ()
    discount: int = 0
    line_total: int | None = None
    state: LineState = LineState.NEW
    channel_status: str = ""


@dataclass(frozen=True)
class ChannelOrder:
    external_order_id: str
    lines: tuple[ChannelOrderLine, ...]
    ordered_at: datetime | None = None
    paid_at: datetime | None = None
    buyer_name: str = ""
    buyer_phone: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    recipient_phone2: str = ""
    zip_code: str = ""
    address1: str = ""
    address2: str = ""
    delivery_message: str = ""
    shipping_fee: int = 0
    total_amount: int | None = None
    # The channel's own bundle id (Naver packageNumber, Coupang shipmentBoxId, 11st dlvNo).
    bundle_key: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
