"""검수 (scan-to-pack): a box is opened by its 출고번호 or tracking number; right items count,
wrong items and over-scans are refused with nothing recorded; the last item packs the box;
two scanners on one box never count past what it needs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.models import AuditLog
from orders.models import LineStatus
from orders.services import lines_transition
from shipping.models import Shipment, ShipmentStatus
from shipping.services_pack import (
    PackRefused,
    pack_box_find,
    pack_box_open,
    pack_handle,
    pack_reset,
    pack_scan,
)
from tests.catalog.factories import make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.test_concurrency import run_together
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import courier, ingest_orders, shipment_of, stocked_sku

pytestmark = pytest.mark.django_db


def make_box(account, *lines, **order_fields) -> Shipment:
    (order,) = ingest_orders(account, [channel_order(*lines, **order_fields)])
    return shipment_of(list(order.lines.all()))


@pytest.fixture
def goods():
    class Goods:
        sweater = stocked_sku("KNIT-BK-S", barcode="8800000000011", option_label="블랙 / S")
        socks = stocked_sku("SOCK-GR", barcode="8800000000028")
        cap = stocked_sku("CAP-RED", barcode="8800000000035")
        gift = make_bundle([(sweater, 1), (socks, 2)], code="SET-GIFT")
        account = ChannelAccountFactory.create()

    return Goods


@pytest.fixture
def box(goods) -> Shipment:
    """2 sweaters and a gift set (1 sweater + 2 socks): 3 sweaters and 2 socks to scan."""
    return make_box(
        goods.account, channel_line(codes=("KNIT-BK-S",), quantity=2), channel_line(codes=("SET-GIFT",))
    )


def scanned(box: Shipment) -> dict[str, int]:
    box.refresh_from_db()
    return dict(box.pack_progress)


def test_opening_a_box_lists_what_to_pack_per_stock_sku_with_bundles_opened(box, goods) -> None:
    state = pack_box_open(code=box.number)
    assert [(n.sku.code, n.needed, n.scanned) for n in state.needs] == [
        ("KNIT-BK-S", 3, 0),
        ("SOCK-GR", 2, 0),
    ]
    assert state.needed_total == 5 and state.scanned_total == 0
    assert pack_box_open(code=f"s{box.pk}").shipment == box


def test_a_right_item_counts_by_barcode_or_sku_code(box, goods, staff_user) -> None:
    pack_scan(shipment_id=box.pk, code="8800000000011", actor=staff_user)
    result = pack_scan(shipment_id=box.pk, code="sock-gr", actor=staff_user)  # SKU code, any case
    assert scanned(box) == {str(goods.sweater.pk): 1, str(goods.socks.pk): 1}
    assert result.state.scanned_total == 2 and not result.packed_now
    assert box.status == ShipmentStatus.READY


def test_a_wrong_item_is_refused_and_nothing_is_recorded(box, goods, staff_user) -> None:
    with pytest.raises(PackRefused) as refused:
        pack_scan(shipment_id=box.pk, code="8800000000035", actor=staff_user)
    assert refused.value.code == "wrong"
    assert "잘못된 상품" in str(refused.value) and "CAP-RED" in str(refused.value)
    with pytest.raises(PackRefused, match="알 수 없는 바코드 0000"):
        pack_scan(shipment_id=box.pk, code="0000", actor=staff_user)
    assert scanned(box) == {}


def test_an_over_scan_is_refused_and_the_count_stays(box, goods, staff_user) -> None:
    pack_scan(shipment_id=box.pk, code="SOCK-GR", count=2, actor=staff_user)
    with pytest.raises(PackRefused) as refused:
        pack_scan(shipment_id=box.pk, code="8800000000028", actor=staff_user)
    assert refused.value.code == "over"
    assert "수량 초과" in str(refused.value) and "2개 필요" in str(refused.value)
    with pytest.raises(PackRefused, match="수량 초과"):
        pack_scan(shipment_id=box.pk, code="KNIT-BK-S", count=4, actor=staff_user)  # the count shortcut too
    assert scanned(box) == {str(goods.socks.pk): 2}


def test_the_last_item_packs_the_box(box, goods, staff_user) -> None:
    pack_scan(shipment_id=box.pk, code="SOCK-GR", count=2, actor=staff_user)
    pack_scan(shipment_id=box.pk, code="KNIT-BK-S", count=2, actor=staff_user)
    result = pack_scan(shipment_id=box.pk, code="8800000000011", actor=staff_user)
    assert result.packed_now and result.state.complete
    box.refresh_from_db()
    assert box.status == ShipmentStatus.PACKED
    assert box.packed_by == staff_user and box.packed_at is not None
    assert AuditLog.objects.filter(action="shipment.pack", object_id=str(box.pk)).exists()
    with pytest.raises(PackRefused, match="이미 검수완료"):
        pack_scan(shipment_id=box.pk, code="8800000000011", actor=staff_user)


def test_reset_clears_the_scans_and_unpacks(box, goods, staff_user) -> None:
    pack_scan(shipment_id=box.pk, code="SOCK-GR", count=2, actor=staff_user)
    pack_scan(shipment_id=box.pk, code="KNIT-BK-S", count=3, actor=staff_user)
    state = pack_reset(shipment_id=box.pk, actor=staff_user)
    box.refresh_from_db()
    assert (box.status, box.pack_progress, box.packed_at) == (ShipmentStatus.READY, {}, None)
    assert state.scanned_total == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [(ShipmentStatus.CANCELLED, "취소되었습니다"), (ShipmentStatus.SHIPPED, "이미 출고완료")],
)
def test_cancelled_and_shipped_boxes_are_refused(box, staff_user, status, message) -> None:
    Shipment.objects.filter(pk=box.pk).update(status=status)
    with pytest.raises(PackRefused, match=message):
        pack_box_open(code=box.number)
    with pytest.raises(PackRefused, match=message):
        pack_scan(shipment_id=box.pk, code="KNIT-BK-S", actor=staff_user)
    assert scanned(box) == {}


def test_a_box_with_a_line_no_longer_ready_is_refused_with_why(box, staff_user) -> None:
    line = box.items.select_related("line").first().line
    lines_transition(lines=[line], target=LineStatus.HOLD, actor=None)
    with pytest.raises(PackRefused) as refused:
        pack_box_open(code=box.number)
    assert line.external_line_id in str(refused.value) and "보류" in str(refused.value)


def test_a_box_is_found_by_its_tracking_number(box, goods) -> None:
    Shipment.objects.filter(pk=box.pk).update(courier=courier(), tracking_number="601234567890")
    assert pack_box_find(code="6012-3456-7890") == box
    with pytest.raises(PackRefused, match="출고번호나 송장번호가 123456789012인 출고가 없습니다"):
        pack_box_find(code="123456789012")


def test_a_tracking_number_on_boxes_of_two_recipients_is_ambiguous(box, goods) -> None:
    other = make_box(goods.account, channel_line(codes=("CAP-RED",)), recipient_name="김철수")
    Shipment.objects.filter(pk__in=[box.pk, other.pk]).update(tracking_number="601234567890")
    with pytest.raises(PackRefused) as refused:
        pack_box_find(code="601234567890")
    assert refused.value.code == "ambiguous"
    assert box.number in str(refused.value) and other.number in str(refused.value)


def test_scanning_another_box_number_moves_to_that_box(box, goods, staff_user) -> None:
    other = make_box(goods.account, channel_line(codes=("CAP-RED",)))
    pack_scan(shipment_id=box.pk, code="SOCK-GR", actor=staff_user)
    outcome = pack_handle(box_id=box.pk, code=other.number, actor=staff_user)
    assert outcome.result == "opened" and outcome.state and outcome.state.shipment == other
    assert box.number in outcome.message and "마치지 않았습니다" in outcome.message
    wrong = pack_handle(box_id=other.pk, code="SOCK-GR", actor=staff_user)
    assert wrong.refused and wrong.state and wrong.state.shipment == other
    done = pack_handle(box_id=other.pk, code="8800000000035", actor=staff_user)
    assert done.result == "packed"


# --- Pages ------------------------------------------------------------------------------------


def test_without_javascript_a_scan_posts_and_redirects_to_the_box(box, goods, staff_user, client) -> None:
    client.force_login(staff_user)
    opened = client.post(reverse("shipping:pack_scan"), {"code": box.number, "count": "1"})
    assert opened.status_code == 302 and opened["Location"] == reverse("shipping:pack_box", args=[box.pk])
    page = client.get(opened["Location"])
    html = page.content.decode()
    assert "출고를 열었습니다" in html
    assert f'name="box" form="pack-form" value="{box.pk}"' in html
    assert 'data-sku="KNIT-BK-S" data-scanned="0" data-needed="3"' in html

    wrong = client.post(reverse("shipping:pack_scan"), {"code": "8800000000035", "box": box.pk}, follow=True)
    html = wrong.content.decode()
    assert "flash error pack-alert" in html or "pack-alert error" in html
    assert "8800000000035" in html and "잘못된 상품" in html
    assert scanned(box) == {}


def test_with_htmx_a_scan_returns_the_panel_with_a_loud_refusal(box, goods, staff_user, client) -> None:
    client.force_login(staff_user)
    response = client.post(
        reverse("shipping:pack_scan"),
        {"code": "CAP-RED", "box": box.pk, "count": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="pack-panel"')
    assert 'data-result="refused"' in html and 'role="alert"' in html and "잘못된 상품" in html
    assert response["HX-Push-Url"] == reverse("shipping:pack_box", args=[box.pk])

    ok = client.post(
        reverse("shipping:pack_scan"),
        {"code": "KNIT-BK-S", "box": box.pk, "count": "3"},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-result="scanned"' in ok.content.decode()
    assert 'data-sku="KNIT-BK-S" data-scanned="3" data-needed="3" class="done' in ok.content.decode()


def test_the_reset_button_starts_the_box_over(box, goods, staff_user, client) -> None:
    pack_scan(shipment_id=box.pk, code="SOCK-GR", actor=staff_user)
    client.force_login(staff_user)
    response = client.post(reverse("shipping:pack_reset", args=[box.pk]), follow=True)
    assert "검수를 처음부터 다시 시작합니다" in response.content.decode()
    assert scanned(box) == {}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_never_count_past_what_the_box_needs(goods, make_user) -> None:
    # given: a box of 3 sweaters, and 8 scanners scanning a sweater at the same moment
    box = make_box(goods.account, channel_line(codes=("KNIT-BK-S",), quantity=3))
    user = make_user()

    def scan():
        return pack_scan(shipment_id=box.pk, code="8800000000011", actor=user)

    outcomes = run_together([scan] * 8)

    # then: exactly 3 count, 5 are refused as over-scans, and the box is packed once
    ok = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if isinstance(o.error, PackRefused)]
    assert (len(ok), len(refused)) == (3, 5), [o.error for o in outcomes]
    assert all(o.error.code in {"over", "packed"} for o in refused)  # type: ignore[union-attr]
    assert sum(o.value.packed_now for o in ok) == 1
    box.refresh_from_db()
    assert box.pack_progress == {str(goods.sweater.pk): 3} and box.status == ShipmentStatus.PACKED


def test_a_packed_box_page_says_who_packed_it_and_the_days_count(box, goods, make_user, client) -> None:
    packer = make_user(username="packer", last_name="박", first_name="포장")
    pack_scan(shipment_id=box.pk, code="SOCK-GR", count=2, actor=packer)
    pack_scan(shipment_id=box.pk, code="KNIT-BK-S", count=3, actor=packer)
    client.force_login(packer)
    html = client.get(reverse("shipping:pack_box", args=[box.pk])).content.decode()
    assert "박포장 검수완료" in html
    assert "검수 대기 0건 · 오늘 검수완료 1건" in html


def test_an_item_scanned_with_no_box_open_says_to_open_a_box_first(box, goods, staff_user) -> None:
    outcome = pack_handle(box_id=None, code="8800000000011", actor=staff_user)
    assert outcome.refused and outcome.state is None
    assert (
        "상품 바코드입니다(KNIT-BK-S)" in outcome.message and "먼저 출고번호나 송장번호를" in outcome.message
    )


def test_a_cancelled_boxs_tracking_number_says_cancelled(box) -> None:
    Shipment.objects.filter(pk=box.pk).update(tracking_number="601234567890", status=ShipmentStatus.CANCELLED)
    with pytest.raises(PackRefused, match="취소되었습니다"):
        pack_box_open(code="601234567890")


def test_a_count_out_of_range_is_refused_by_name(box, staff_user, client) -> None:
    client.force_login(staff_user)
    response = client.post(
        reverse("shipping:pack_scan"),
        {"code": "SOCK-GR", "box": box.pk, "count": "0"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'data-result="refused"' in html and "수량:" in html
    assert scanned(box) == {}
