"""Packing slips: one A4 page per box with the sender, the 출고번호 as a scannable barcode, the
recipient, the message, every item (bundles with their components), order numbers and channel."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from oms.models import Company
from shipping.barcodes import code128_svg
from shipping.models import Shipment, ShipmentStatus
from shipping.selectors_pick import slip_list
from tests.catalog.factories import make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, shipment_of, stocked_sku

pytestmark = pytest.mark.django_db


@pytest.fixture
def box() -> Shipment:
    Company.objects.create(
        pk=1, name="데모상회", phone="02-123-4567", return_zip_code="10881", return_address="파주시 회동길 1"
    )
    sweater = stocked_sku("KNIT-BK-S", barcode="8800000000011", option_label="블랙 / S")
    socks = stocked_sku("SOCK-GR", barcode="8800000000028")
    make_bundle([(sweater, 1), (socks, 2)], code="SET-GIFT")
    account = ChannelAccountFactory.create(name="스마트스토어 본점")
    orders = ingest_orders(
        account,
        [
            channel_order(
                channel_line(codes=("KNIT-BK-S",), quantity=2, option="블랙 / S"), order_id="2026112500001"
            ),
            channel_order(channel_line(codes=("SET-GIFT",), option="선물세트"), order_id="2026112500002"),
        ],
    )
    return shipment_of(
        [line for order in orders for line in order.lines.all()], delivery_message="부재 시 경비실"
    )


def test_a_slip_holds_every_item_with_bundles_opened(box) -> None:
    (slip,) = slip_list(shipments=[box])
    assert slip.order_numbers == ["2026112500001", "2026112500002"]
    assert slip.channels == ["스마트스토어 본점"]
    assert slip.unit_total == 3 and slip.pack_units == 5  # 2 sweaters + the set opened (1 sweater, 2 socks)
    rows = [
        (s.sku.code, s.quantity, [(c.code, n) for c, n in s.components]) for sl in slip.lines for s in sl.skus
    ]
    assert rows == [("KNIT-BK-S", 2, []), ("SET-GIFT", 1, [("KNIT-BK-S", 1), ("SOCK-GR", 2)])]


def test_the_barcode_is_code128_svg_of_the_shipment_number() -> None:
    svg = str(code128_svg("S00000123"))
    assert svg.startswith("<svg ") and 'data-barcode="S00000123"' in svg
    assert "<?xml" not in svg and "DOCTYPE" not in svg
    assert len(re.findall(r"<rect ", svg)) > 20  # bars, not an empty picture


def test_the_slips_page_prints_one_page_per_box(box, staff_user, client) -> None:
    other = shipment_of(
        list(ingest_orders(box.account, [channel_order(channel_line(codes=("SOCK-GR",)))])[0].lines.all())
    )
    client.force_login(staff_user)
    response = client.get(reverse("shipping:slips"), {"ids": f"{box.pk},{other.pk}"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<article class="sheet slip"') == 2
    first = html[html.index(f'data-shipment="{box.number}"') : html.index(f'data-shipment="{other.number}"')]
    assert f'data-barcode="{box.number}"' in first
    for text in (
        "데모상회",
        "02-123-4567",
        "파주시 회동길 1",
        "홍길동",
        "010-1234-5678",
        "서울특별시 중구 세종대로 110 3층",
    ):
        assert text in first, text
    assert "부재 시 경비실" in first and "2026112500001" in first and "스마트스토어 본점" in first
    assert "8800000000011" in first and "SOCK-GR" in first and "세트상품" in first
    assert "shipping_print.css" in html and "포장명세서" in html


def test_slips_do_not_change_the_box_state(box, staff_user, client) -> None:
    client.force_login(staff_user)
    client.get(reverse("shipping:slips"), {"ids": box.pk})
    box.refresh_from_db()
    assert box.status == ShipmentStatus.READY and box.printed_at is None


def test_slips_come_in_runs_with_a_link_to_the_next(box, staff_user, client, monkeypatch) -> None:
    monkeypatch.setattr("shipping.views_pack.SLIPS_PER_PRINT", 1)
    other = shipment_of(
        list(ingest_orders(box.account, [channel_order(channel_line(codes=("SOCK-GR",)))])[0].lines.all())
    )
    client.force_login(staff_user)
    html = client.get(reverse("shipping:slips")).content.decode()
    assert html.count('<article class="sheet slip"') == 1 and box.number in html
    assert "다음 명세서 (1건 남음)" in html
    nxt = re.search(r'class="print-next" href="([^"]+)"', html)
    assert nxt
    html2 = client.get(nxt.group(1).replace("&amp;", "&")).content.decode()
    assert other.number in html2 and html2.count('<article class="sheet slip"') == 1


@pytest.mark.parametrize("text", ["S00000123", "8800000000011", "KNIT-bk-s"])
def test_the_bars_are_the_ones_python_barcode_draws(text) -> None:
    from barcode import Code128
    from barcode.writer import SVGWriter

    theirs_svg = Code128(text, writer=SVGWriter()).render(
        writer_options={"write_text": False, "module_width": 1, "quiet_zone": 10}
    )
    theirs = [
        (round(float(x)), round(float(w)))
        for x, w in re.findall(r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm"', theirs_svg.decode())
    ]
    ours = [
        (int(x), int(w))
        for x, w in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)"', str(code128_svg(text)))
    ]
    assert ours == theirs and len(ours) > 20
