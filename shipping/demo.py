"""Demo of the shipping desk: a day's shipping half done, so the desk opens lived in.

Runs after the orders demo and walks its confirmed lines through the real services, the way a
seller's day goes: two orders of one repeat customer arrive and are confirmed (orders_ingest,
lines_transition), 출고 생성 boxes the older confirmed lines (shipments_build, which puts the
repeat customer's two orders in one 합포장 box) and leaves the newest waiting for a box; the
courier sheet goes out for the oldest boxes (courier_sheet_export marks them PRINTED), the
courier's tracking numbers come back for most of them (shipments_set_tracking_many); a few boxes
are scanned at the packing table (pack_scan) and the oldest are dispatched (dispatch_start).

At load time no web server runs, so no marketplace API can be called: the boxes shipped here
belong to the Excel-only demo channels (no API credentials), and they are shipped the way such a
channel ships: the dispatch run leaves them waiting for the channel's dispatch sheet and
downloading that sheet (dispatch_sheet_mark) ships them. The sandbox marketplace's orders reach
the desk only once the app runs and the worker collects them; boxed and dispatched on the desk,
they go out through the sandbox adapter over HTTP (the sandbox page shows what it received).

Idempotent: the repeat customer's orders are ingested once; the desk stages run only while no
box exists yet, so a second load (and every `dev.py run`) leaves the desk as the seller left it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field, replace

from django.db.models import Min
from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from channels.types import ChannelOrder, ChannelOrderLine
from inventory.selectors import available_map
from oms.models import User
from orders.ingest import orders_ingest
from orders.models import LineStatus, Order, OrderLine
from orders.services import lines_transition
from shipping.couriers import default_courier
from shipping.models import Shipment, ShipmentStatus
from shipping.selectors import buildable_lines
from shipping.selectors_dispatch import account_sends_by_api
from shipping.services_build import shipments_build
from shipping.services_dispatch import dispatch_sheet_mark, dispatch_start
from shipping.services_pack import pack_scan, pack_state
from shipping.services_sheet import courier_sheet_export
from shipping.services_tracking import TrackingAssignment, shipments_set_tracking_many

REPEAT_ACCOUNT = "스마트스토어 데모"
REPEAT_ORDERS = ("2026190000000001", "2026190000000002")  # outside the orders demo's numbers
REPEAT_RECIPIENT = ChannelOrder(
    external_order_id="",
    lines=(),
    buyer_name="문채원",
    buyer_phone="010-4821-7730",
    recipient_name="문채원",
    recipient_phone="010-4821-7730",
    zip_code="03925",
    address1="서울특별시 마포구 월드컵북로 396",
    address2="102동 704호",
    delivery_message="문 앞에 놓아주세요",
)
WAITING_LINES = 12  # the newest confirmed lines stay waiting for a box
SHIPPED_BOXES = 10
PACKED_BOXES = 1
TRACKED_BOXES = 8  # PRINTED with a tracking number
PRINTED_BOXES = 4  # PRINTED, the courier's numbers not back yet
TRACKING_BASE = 684_100_000_000  # CJ대한통운 numbers are 12 digits


@dataclass
class ShippingDemoResult:
    orders_created: int = 0
    boxes: dict[str, int] = field(default_factory=dict)
    waiting_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.notes:
            return "shipping desk: " + "; ".join(self.notes)
        states = ", ".join(f"{count} {state}" for state, count in self.boxes.items())
        return (
            f"shipping desk: {self.orders_created} repeat-customer orders, boxes: {states or 'none'}, "
            f"{self.waiting_lines} confirmed lines waiting for a box"
        )


def _repeat_customer(actor: User | None, result: ShippingDemoResult) -> None:
    """Two orders of one recipient, an hour apart, both confirmed: 출고 생성 boxes them together."""
    account = ChannelAccount.objects.filter(name=REPEAT_ACCOUNT, marketplace=Marketplace.SMARTSTORE).first()
    if account is None:
        return
    if not Order.objects.filter(account=account, external_order_id__in=REPEAT_ORDERS).exists():
        skus = list(
            Sku.objects.filter(is_active=True, kind=Sku.Kind.SINGLE)
            .select_related("product")
            .order_by("pk")[:80]
        )
        available = available_map([s.pk for s in skus])
        stocked = sorted(
            (s for s in skus if available.get(s.pk, 0) >= 5), key=lambda s: (-available[s.pk], s.pk)
        )
        if len(stocked) < 3:
            result.notes.append("not enough stock for the repeat customer's orders")
            return
        first = Order.objects.filter(account=account).aggregate(first=Min("ordered_at"))["first"]
        start = (first or timezone.now()) + dt.timedelta(hours=1)
        orders = []
        for n, (order_no, picks) in enumerate(
            zip(REPEAT_ORDERS, ((stocked[0],), (stocked[1], stocked[2])), strict=True)
        ):
            ordered_at = start + dt.timedelta(minutes=70 * n)
            orders.append(
                replace(
                    REPEAT_RECIPIENT,
                    external_order_id=order_no,
                    lines=tuple(
                        ChannelOrderLine(
                            external_line_id=f"{order_no}{i + 1:02d}",
                            product_name=sku.product.name,
                            option_text=sku.option_label,
                            channel_product_id=str(7_000_000 + sku.product_id),
                            channel_option_id=str(9_000_000 + sku.pk),
                            seller_codes=(sku.code,),
                            quantity=1,
                            unit_price=sku.price or 10000,
                        )
                        for i, sku in enumerate(picks)
                    ),
                    ordered_at=ordered_at,
                    paid_at=ordered_at + dt.timedelta(minutes=2),
                    shipping_fee=3000 if n == 0 else 0,
                )
            )
        ingested = orders_ingest(account=account, orders=orders, source=Order.Source.EXCEL, actor=actor)
        result.orders_created += ingested.orders_created
    new_lines = list(
        OrderLine.objects.filter(
            account=account, order__external_order_id__in=REPEAT_ORDERS, status=LineStatus.NEW
        ).order_by("pk")
    )
    if new_lines:
        lines_transition(lines=new_lines, target=LineStatus.CONFIRMED, actor=actor)


def _box_order(boxes: list[Shipment]) -> list[Shipment]:
    """Oldest first: by the earliest order in each box."""
    oldest = dict(
        Shipment.objects.filter(pk__in=[b.pk for b in boxes])
        .annotate(first=Min("items__line__order__ordered_at"))
        .values_list("pk", "first")
    )
    far = timezone.now()
    return sorted(boxes, key=lambda b: (oldest.get(b.pk) or far, b.pk))


def _pack(box: Shipment, actor: User | None) -> None:
    for need in pack_state(shipment=box).needs:
        if need.needed > need.scanned:
            pack_scan(shipment_id=box.pk, code=need.sku.code, count=need.needed - need.scanned, actor=actor)


def _desk(actor: User | None, result: ShippingDemoResult) -> None:
    waiting = list(
        buildable_lines(account=None, line_ids=None)
        .exclude(order__external_order_id__in=REPEAT_ORDERS)
        .order_by("-order__ordered_at", "-pk")
        .values_list("pk", flat=True)[:WAITING_LINES]
    )
    to_box = list(
        buildable_lines(account=None, line_ids=None).exclude(pk__in=waiting).values_list("pk", flat=True)
    )
    if not to_box:
        result.notes.append("no confirmed lines to box: load the orders demo first")
        return
    shipments_build(actor=actor, line_ids=to_box)
    boxes = list(
        Shipment.objects.filter(status=ShipmentStatus.READY).select_related("account").order_by("pk")
    )
    merged = [b for b in boxes if b.items.values("line__order_id").distinct().count() > 1]
    # The repeat customer's box and the phone orders stay READY; the rest move on, oldest first.
    movable = [
        b
        for b in _box_order(boxes)
        if b not in merged and b.account is not None and b.account.marketplace != Marketplace.MANUAL
    ]
    shipped = [b for b in movable if b.account is not None and not account_sends_by_api(b.account)]
    shipped = shipped[:SHIPPED_BOXES]
    rest = [b for b in movable if b not in shipped]
    packed = rest[:PACKED_BOXES]
    tracked = rest[PACKED_BOXES : PACKED_BOXES + TRACKED_BOXES]
    printed = rest[PACKED_BOXES + TRACKED_BOXES : PACKED_BOXES + TRACKED_BOXES + PRINTED_BOXES]

    # The courier sheet of the oldest boxes goes to the courier: they are PRINTED.
    sheet = [b.pk for b in (*shipped, *packed, *tracked, *printed)]
    courier_sheet_export(
        fileobj=io.BytesIO(), shipment_ids=sheet, layout="cj", mark_printed=True, actor=actor
    )
    # The courier's numbers come back for all but the newest few.
    courier = default_courier()
    if courier is None:
        result.notes.append("no default courier")
        return
    numbered = [*shipped, *packed, *tracked]
    shipments_set_tracking_many(
        assignments=[
            TrackingAssignment(shipment_id=b.pk, courier=courier, number=str(TRACKING_BASE + b.pk * 7))
            for b in numbered
        ],
        actor=actor,
    )
    # Scanned at the packing table.
    for box in (*shipped, *packed):
        _pack(box, actor)
    # 발송처리: the Excel-only channels wait for their dispatch sheet; downloading it ships them.
    if shipped:
        dispatch_start(shipment_ids=[b.pk for b in shipped], actor=actor)
        by_account: dict[ChannelAccount, list[int]] = defaultdict(list)
        for box in shipped:
            if box.account is not None:
                by_account[box.account].append(box.pk)
        for account, ids in by_account.items():
            dispatch_sheet_mark(account=account, shipment_ids=ids, actor=actor)


def shipping_demo_load(*, actor: User | None = None) -> ShippingDemoResult:
    result = ShippingDemoResult()
    _repeat_customer(actor, result)
    if result.notes:
        return result
    if not Shipment.objects.exists():
        _desk(actor, result)
    counts = Shipment.objects.values_list("status", flat=True)
    tally: dict[str, int] = defaultdict(int)
    for status in counts:
        tally[status] += 1
    result.boxes = {s.value: tally[s.value] for s in ShipmentStatus if tally[s.value]}
    result.waiting_lines = buildable_lines(account=None, line_ids=None).count()
    return result
