"""Plain ChannelOrder builders for ingestion tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from channels.types import ChannelOrder, ChannelOrderLine, LineState

_seq = itertools.count(1)


def channel_line(
    *,
    line_id: str | None = None,
    codes: tuple[str, ...] = (),
    quantity: int = 1,
    option: str = "블랙 / S",
    product_id: str = "P100",
    state: LineState = LineState.NEW,
    price: int = 39000,
    **extra: Any,
) -> ChannelOrderLine:
    return ChannelOrderLine(
        external_line_id=line_id or f"L{next(_seq):08d}",
        product_name="울 라운드 니트",
        option_text=option,
        channel_product_id=product_id,
        quantity=quantity,
        unit_price=price,
        seller_codes=codes,
        state=state,
        **extra,
    )


def channel_order(
    *lines: ChannelOrderLine, order_id: str | None = None, minutes_ago: int = 60, **extra: Any
) -> ChannelOrder:
    values: dict[str, Any] = {
        "ordered_at": timezone.now() - dt.timedelta(minutes=minutes_ago),
        "recipient_name": "홍길동",
        "recipient_phone": "010-1234-5678",
        "buyer_name": "홍길동",
        "buyer_phone": "01012345678",
        "zip_code": "04524",
        "address1": "서울특별시 중구 세종대로 110",
        "address2": "3층",
        "delivery_message": "문 앞",
    }
    values.update(extra)
    return ChannelOrder(external_order_id=order_id or f"O{next(_seq):08d}", lines=tuple(lines), **values)
