"""Shipping test data. `ready_shipment` makes a box the way the desk would find one: orders
ingested with stock reserved, their lines confirmed and READY, in one Shipment. It writes the
rows directly (not through the build service) so each workflow's tests stand on their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import factory

from catalog.models import Sku
from channels.models import ChannelAccount
from channels.types import ChannelOrder
from inventory.models import Location
from inventory.services import stock_receive
from orders.ingest import orders_ingest
from orders.models import LineStatus, Order, OrderLine
from orders.services import lines_transition
from shipping.models import Courier, Shipment, ShipmentItem
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order


def courier(code: str = "CJGLS") -> Courier:
    """A seeded courier (the migration seeds channel-specs.md's list)."""
    return Courier.objects.get(code=code)


class ShipmentFactory(factory.django.DjangoModelFactory[Shipment]):
    class Meta:
        model = Shipment

    recipient_name = "홍길동"
    recipient_phone = "01012345678"
    zip_code = "04524"
    address = "서울특별시 중구 세종대로 110 3층"


def stocked_sku(code: str, *, quantity: int = 100, location: Location | None = None, **extra: Any) -> Sku:
    sku = SkuFactory.create(code=code, product=ProductFactory.create(name=f"상품 {code}"), **extra)
    stock_receive(sku=sku, location=location or LocationFactory.create(), quantity=quantity)
    return sku


def ingest_orders(account: ChannelAccount, orders: Sequence[ChannelOrder]) -> list[Order]:
    result = orders_ingest(account=account, orders=list(orders))
    return list(Order.objects.filter(pk__in=result.order_ids).order_by("pk"))


def make_ready(lines: Sequence[OrderLine]) -> list[OrderLine]:
    """NEW -> CONFIRMED -> READY through the state machine (refused lines raise)."""
    for target in (LineStatus.CONFIRMED, LineStatus.READY):
        todo = [ln for ln in OrderLine.objects.filter(pk__in=[ln.pk for ln in lines]) if ln.status != target]
        outcome = lines_transition(lines=todo, target=target, actor=None)
        assert not outcome.refused, outcome.refused
    return list(OrderLine.objects.filter(pk__in=[ln.pk for ln in lines]).order_by("pk"))


def shipment_of(lines: Sequence[OrderLine], **fields: Any) -> Shipment:
    """One box holding `lines` (made READY first), recipient copied from the first order."""
    lines = make_ready(lines)
    order = lines[0].order
    accounts = {ln.account_id for ln in lines}
    values: dict[str, Any] = {
        "account_id": accounts.pop() if len(accounts) == 1 else None,
        "recipient_name": order.recipient_name,
        "recipient_phone": order.recipient_phone,
        "zip_code": order.zip_code,
        "address": f"{order.address1} {order.address2}".strip(),
        "delivery_message": order.delivery_message,
    }
    values.update(fields)
    shipment = ShipmentFactory.create(**values)
    ShipmentItem.objects.bulk_create([ShipmentItem(shipment=shipment, line=ln) for ln in lines])
    return shipment


def ready_shipment(account: ChannelAccount, sku_code: str = "KNIT-BK-S", *, quantity: int = 1) -> Shipment:
    """The shortest way to a READY box: one order of one line of a stocked SKU."""
    sku = Sku.objects.filter(code=sku_code).first() or stocked_sku(sku_code)
    (order,) = ingest_orders(account, [channel_order(channel_line(codes=(sku.code,), quantity=quantity))])
    return shipment_of(list(order.lines.all()))
