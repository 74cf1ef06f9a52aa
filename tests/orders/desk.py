"""A small, known order desk for the view and selector tests: two accounts, stocked and
short SKUs, and orders whose names, phones and states the tests search and filter by."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from inventory.models import Location
from inventory.services import stock_receive
from orders.ingest import orders_ingest
from orders.models import Order, OrderLine
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order


@dataclass
class Desk:
    store: ChannelAccount
    coupang: ChannelAccount
    warehouse: Location
    knit: Sku  # 10 in stock
    cap: Sku  # none in stock
    kim: Order  # store, 니트 x2, phone 010-2222-1234, ordered 2 days ago
    lee: Order  # store, 니트 x1 + unmapped option, phone 0504-5555-6789 (safe number)
    park: Order  # coupang, cap x1 -> short of stock, phone 010-7777-4321
    choi: Order  # coupang, 니트 x1, 6-digit zip, paid yesterday

    def line(self, order: Order, index: int = 0) -> OrderLine:
        return list(order.lines.order_by("pk"))[index]


def make_desk() -> Desk:
    store = ChannelAccountFactory.create(name="스마트스토어 본점", marketplace=Marketplace.SMARTSTORE)
    coupang = ChannelAccountFactory.create(name="쿠팡 본점", marketplace=Marketplace.COUPANG)
    warehouse = LocationFactory.create()
    knit = SkuFactory.create(code="KNIT-BK-S", product=ProductFactory.create(name="울 라운드 니트"))
    cap = SkuFactory.create(
        code="CAP-BK", product=ProductFactory.create(name="코튼 볼캡"), option_label="블랙"
    )
    stock_receive(sku=knit, location=warehouse, quantity=10)
    now = timezone.now()

    def ingest(account: ChannelAccount, order: object) -> Order:
        result = orders_ingest(account=account, orders=[order])  # type: ignore[list-item]
        return Order.objects.get(pk=result.order_ids[0])

    kim = ingest(
        store,
        channel_order(
            channel_line(line_id="L-KIM-1", codes=("KNIT-BK-S",), quantity=2),
            order_id="2026010100000001",
            recipient_name="김하늘",
            recipient_phone="010-2222-1234",
            buyer_name="김하늘",
            buyer_phone="010-2222-1234",
            minutes_ago=2 * 24 * 60,
        ),
    )
    lee = ingest(
        store,
        channel_order(
            channel_line(line_id="L-LEE-1", codes=("KNIT-BK-S",)),
            channel_line(line_id="L-LEE-2", option="사은품 에코백", product_id="GIFT"),
            order_id="2026010100000002",
            recipient_name="이바다",
            recipient_phone="0504-5555-6789",
            buyer_name="이바다",
            buyer_phone="0504-5555-6789",
            minutes_ago=24 * 60 + 30,
        ),
    )
    park = ingest(
        coupang,
        channel_order(
            channel_line(line_id="L-PARK-1", codes=("CAP-BK",), option="블랙", product_id="C1"),
            order_id="3000000001",
            recipient_name="박구름",
            recipient_phone="010-7777-4321",
            buyer_name="박구름",
            buyer_phone="010-7777-4321",
            minutes_ago=90,
        ),
    )
    choi = ingest(
        coupang,
        channel_order(
            channel_line(line_id="L-CHOI-1", codes=("KNIT-BK-S",)),
            order_id="3000000002",
            recipient_name="최별",
            recipient_phone="010-9999-0000",
            buyer_name="최별",
            buyer_phone="010-9999-0000",
            zip_code="135-080",
            paid_at=now - dt.timedelta(days=1),
            minutes_ago=30,
        ),
    )
    return Desk(store, coupang, warehouse, knit, cap, kim, lee, park, choi)
