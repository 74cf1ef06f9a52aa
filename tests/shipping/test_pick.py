"""Pick list: stock SKU x quantity per location from the lines' reservations (bundles as their
components), in walking order, with the boxes each SKU goes to; and the screen and A4 pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.services import stock_receive
from orders.models import Order
from shipping.models import ShipmentStatus
from shipping.selectors_pick import BoxFilters, parse_shipment_ids, pick_list, pick_shipments
from tests.catalog.factories import make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, shipment_of, stocked_sku

pytestmark = pytest.mark.django_db


def box(account, *lines):
    (order,) = ingest_orders(account, [channel_order(*lines)])
    return shipment_of(list(order.lines.all()))


@pytest.fixture
def floor():
    """Two warehouses: 1층 (picked first) holds 2 sweaters, 2층 holds more sweaters, socks and
    scarves. A gift set is 1 sweater + 2 socks."""

    class Floor:
        first = LocationFactory.create(code="A-1F", name="1층", priority=10)
        second = LocationFactory.create(code="B-2F", name="2층", priority=20)
        sweater = stocked_sku("KNIT-BK-S", quantity=2, location=first, barcode="8800000000011")
        socks = stocked_sku("SOCK-GR", quantity=50, location=second, barcode="8800000000028")
        scarf = stocked_sku("ACC-SCARF", quantity=20, location=second, barcode="")
        gift = make_bundle([(sweater, 1), (socks, 2)], code="SET-GIFT")
        account = ChannelAccountFactory.create(name="스마트스토어 본점")

    stock_receive(sku=Floor.sweater, location=Floor.second, quantity=10)
    return Floor


def test_quantities_per_location_include_bundle_components_and_boxes_sharing_a_sku(floor) -> None:
    # given: box 1 takes 2 sweaters (both on 1층, reserved first), box 2 a gift set (its sweater
    # comes from 2층 since 1층 is empty now) and 1 scarf, box 3 one sweater and 3 socks.
    one = box(floor.account, channel_line(codes=("KNIT-BK-S",), quantity=2))
    two = box(floor.account, channel_line(codes=("SET-GIFT",)), channel_line(codes=("ACC-SCARF",)))
    three = box(
        floor.account, channel_line(codes=("KNIT-BK-S",)), channel_line(codes=("SOCK-GR",), quantity=3)
    )

    # when
    pick = pick_list(shipment_ids=[one.pk, two.pk, three.pk])

    # then: one row per SKU and location, walking 1층 first, then 2층 by SKU code
    got = [(r.location and r.location.code, r.sku.code, r.quantity, dict(r.numbers)) for r in pick.rows]
    assert got == [
        ("A-1F", "KNIT-BK-S", 2, {one.number: 2}),
        ("B-2F", "ACC-SCARF", 1, {two.number: 1}),
        ("B-2F", "KNIT-BK-S", 2, {two.number: 1, three.number: 1}),
        ("B-2F", "SOCK-GR", 5, {two.number: 2, three.number: 3}),
    ]
    assert pick.unit_total == 10
    assert (pick.shipment_count, pick.sku_count, pick.location_count) == (3, 3, 2)
    assert pick.short == []
    assert [loc.code for loc, _rows in pick.by_location()] == ["A-1F", "B-2F"]


def test_units_not_reserved_are_listed_as_short(floor) -> None:
    # 12 sweaters in stock; a box of 13 reserves none (all or nothing) and is flagged short.
    big = box(floor.account, channel_line(codes=("KNIT-BK-S",), quantity=13))
    pick = pick_list(shipment_ids=[big.pk])
    assert pick.rows == []
    assert [(r.sku.code, r.quantity, dict(r.numbers)) for r in pick.short] == [
        ("KNIT-BK-S", 13, {big.number: 13})
    ]


def test_a_thousand_boxes_take_a_fixed_number_of_queries(floor) -> None:
    account = floor.account
    stock_receive(sku=floor.socks, location=floor.second, quantity=2000)
    orders = ingest_orders(account, [channel_order(channel_line(codes=("SOCK-GR",))) for _ in range(300)])
    boxes = [shipment_of(list(o.lines.all())) for o in Order.objects.filter(pk__in=[o.pk for o in orders])]
    with CaptureQueriesContext(connection) as ctx:
        pick = pick_list(shipment_ids=[b.pk for b in boxes])
    assert pick.rows[0].quantity == 300 and pick.rows[0].box_count == 300
    assert len(ctx.captured_queries) <= 8


def test_open_unpacked_boxes_by_default_and_chosen_ids_otherwise(floor) -> None:
    one = box(floor.account, channel_line(codes=("ACC-SCARF",)))
    two = box(floor.account, channel_line(codes=("ACC-SCARF",)))
    two.status = ShipmentStatus.PACKED
    two.save()
    gone = box(floor.account, channel_line(codes=("ACC-SCARF",)))
    gone.status = ShipmentStatus.CANCELLED
    gone.save()
    assert list(pick_shipments(filters=BoxFilters())) == [one]
    assert list(pick_shipments(filters=BoxFilters(status="packed"))) == [two]
    assert list(pick_shipments(filters=BoxFilters(ids=(one.pk, two.pk, gone.pk)))) == [one, two]
    other = ChannelAccountFactory.create()
    assert list(pick_shipments(filters=BoxFilters(account_id=other.pk))) == []
    assert parse_shipment_ids(["3,S00000004", "5", "x", "3"]) == [3, 4, 5]


def test_pick_page_and_a4_print_show_the_same_rows(floor, staff_user, client) -> None:
    one = box(floor.account, channel_line(codes=("SET-GIFT",)))
    two = box(floor.account, channel_line(codes=("KNIT-BK-S",)))
    client.force_login(staff_user)

    page = client.get(reverse("shipping:picking"), {"ids": f"{one.pk},{two.pk}"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "피킹리스트" in html
    assert html.index('data-sku="KNIT-BK-S"') < html.index('data-sku="SOCK-GR"')
    assert f"{reverse('shipping:picking_print')}?ids={one.pk}%2C{two.pk}" in html

    sheet = client.get(reverse("shipping:picking_print"), {"ids": f"{one.pk},{two.pk}"})
    text = sheet.content.decode()
    assert sheet.status_code == 200
    assert "shipping_print.css" in text and 'class="print-button"' in text
    assert '<tr data-sku="SOCK-GR" data-quantity="2">' in text
    assert one.number in text and two.number in text
    assert "8800000000028" in text  # the barcode printed beside the SKU


def test_pick_page_with_nothing_to_pick_says_so(staff_user, client) -> None:
    client.force_login(staff_user)
    page = client.get(reverse("shipping:picking"))
    assert "피킹할 상자가 없습니다" in page.content.decode()


def test_the_desk_may_post_a_long_selection(floor, staff_user, client) -> None:
    one = box(floor.account, channel_line(codes=("ACC-SCARF",)))
    client.force_login(staff_user)
    page = client.post(reverse("shipping:picking_print"), {"ids": f"{one.pk}"})
    assert page.status_code == 200
    assert 'data-sku="ACC-SCARF"' in page.content.decode()


def test_codes_are_walked_in_shelf_order(floor) -> None:
    for code in ("SHELF-10", "SHELF-2", "SHELF-1"):
        stocked_sku(code, quantity=5, location=floor.second)
    one = box(floor.account, *(channel_line(codes=(c,)) for c in ("SHELF-10", "SHELF-2", "SHELF-1")))
    pick = pick_list(shipment_ids=[one.pk])
    assert [r.sku.code for r in pick.rows] == ["SHELF-1", "SHELF-2", "SHELF-10"]
