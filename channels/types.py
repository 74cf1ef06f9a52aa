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


@dataclass(frozen=True)
class AccountConfig:
    """What an adapter knows of its account: no ORM object, decrypted credentials only in memory."""

    account_id: int
    marketplace: str
    name: str
    base_url: str
    credentials: dict[str, str] = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRef:
    """One line (or shipment box) to act on at the channel, with the ids the channel needs."""

    external_order_id: str
    external_line_id: str
    bundle_key: str = ""
    channel_option_id: str = ""


@dataclass(frozen=True)
class Dispatch:
    """발송처리: a line (or box) left with a courier under a tracking number."""

    ref: OrderRef
    courier_code: str  # the marketplace's own code (Naver/Coupang: CJGLS, HYUNDAI, KGB, ...)
    tracking_number: str
    dispatched_at: datetime | None = None


@dataclass(frozen=True)
class StockUpdate:
    """Set the sellable quantity of one channel option (listing) to `quantity`."""

    channel_product_id: str
    channel_option_id: str
    quantity: int
    price: int | None = None  # what the buyer pays for this option
    # The channel product's own sale price, for marketplaces that price an option as an amount
    # added to it (Naver: option price = price - base_price).
    base_price: int | None = None


@dataclass(frozen=True)
class ProductUpdate:
    """Name, price or sale state of one channel product/option, from a catalog change."""

    channel_product_id: str
    channel_option_id: str = ""
    name: str | None = None
    price: int | None = None  # what the buyer pays for this option (or product)
    on_sale: bool | None = None
    base_price: int | None = None  # the product's own sale price (see StockUpdate)


@dataclass(frozen=True)
class ItemResult:
    """The channel's answer for one item of a batch write."""

    key: str  # the line id / option id the item was about
    ok: bool
    code: str = ""
    message: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class AuthCheck:
    ok: bool
    message: str
