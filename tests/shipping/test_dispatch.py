"""발송처리 against FakeNaver and FakeCoupang over real HTTP (the real adapters, sessions and
channel_dispatch): per-item answers, partial failures and retries, auth failures, stock consumed
exactly once, Excel-only channels' sheets, tracking-number correction."""

from __future__ import annotations

import io
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from channels.services_sync import channel_dispatch, channel_orders_collect
from inventory.models import Location, StockLevel, StockMovement
from orders.models import LineStatus, OrderEvent, OrderLine
from orders.services import order_line_hold, order_lines_ship
from shipping.couriers import TrackingNumberInvalid
from shipping.excel_dispatch import COUPANG_HEADERS, dispatch_sheet_write
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
from shipping.services_dispatch import (
    DispatchRefused,
    dispatch_sheet_mark,
    sheet_items,
    shipment_correct_tracking,
    shipments_dispatch,
)
from tests.channels.factories import ChannelAccountFactory
from tests.channels.sync_support import (
    coupang,
    coupang_account,
    naver,
    naver_account,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import FakeNaver
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import courier, ingest_orders, shipment_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

SAMPLE_COUPANG = "tests/samples/coupang_DeliveryList_sample.xlsx"
Dispatch = ShipmentItem.Dispatch


def _naver_box(
    naver: FakeNaver,
    account: ChannelAccount,
    *codes: str,
    tracking: str = "123456789012",
    courier_code="CJGLS",
) -> Shipment:
    """One Naver order (a line per SKU code) collected, confirmed, READY in one box."""
    before = set(OrderLine.objects.values_list("pk", flat=True))
    naver.add_order(lines=[{"seller_product_code": code} for code in codes])
    channel_orders_collect(account_id=account.pk)
    lines = list(OrderLine.objects.exclude(pk__in=before).order_by("pk"))
    assert len(lines) == len(codes) and all(not ln.backorder for ln in lines)
    return shipment_of(lines, courier=courier(courier_code), tracking_number=tracking)


def _level(sku: Sku, location: Location) -> tuple[int, int]:
    level = StockLevel.objects.get(sku=sku, location=location)
    return level.on_hand, level.reserved


def test_dispatch_sends_each_line_with_the_marketplace_courier_code_ships_it_and_consumes_its_stock(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    # given two SKUs in stock and a box of one order with a line of each, under 롯데택배
    knit = stocked("KNIT-BK-S", 10, location=warehouse)
    tee = stocked("TEE-WH-M", 5, location=warehouse)
    box = _naver_box(
        naver, naver_account, "KNIT-BK-S", "TEE-WH-M", courier_code="HYUNDAI", tracking="2345678901"
    )
    assert _level(knit, warehouse) == (10, 1) and _level(tee, warehouse) == (5, 1)

    # when the box is dispatched
    outcome = shipments_dispatch(shipments=[box], actor=None)

    # then Naver received both lines under HYUNDAI (Naver's code for 롯데) and the tracking number
    assert outcome.ok and (outcome.sent, outcome.failed) == (2, 0)
    assert sorted(d["deliveryCompanyCode"] for d in naver.dispatched) == ["HYUNDAI", "HYUNDAI"]
    assert {d["trackingNumber"] for d in naver.dispatched} == {"2345678901"}
    # the lines are shipped, with an event each, and their stock left: on hand and reserved drop
    lines = list(OrderLine.objects.order_by("pk"))
    assert [ln.status for ln in lines] == [LineStatus.SHIPPED, LineStatus.SHIPPED]
    assert OrderEvent.objects.filter(line__in=lines, data__to=LineStatus.SHIPPED).count() == 2
    assert _level(knit, warehouse) == (9, 0) and _level(tee, warehouse) == (4, 0)
    ships = StockMovement.objects.filter(type=StockMovement.Type.SHIP)
    assert sorted((m.sku.code, m.quantity, m.reserved_delta) for m in ships) == [
        ("KNIT-BK-S", -1, -1),
        ("TEE-WH-M", -1, -1),
    ]
    # the ledger and the line's history say how it left (the ledger said "ship", untranslated)
    assert {m.reason for m in ships} == {"Dispatched to the channel"}
    assert (
        OrderEvent.objects.filter(
            line__in=lines, data__to=LineStatus.SHIPPED, message__endswith="(Dispatched to the channel)"
        ).count()
        == 2
    )
    # the box is shipped and each item says it was sent
    box.refresh_from_db()
    assert box.status == ShipmentStatus.SHIPPED and box.shipped_at is not None
    assert outcome.shipped == [box.pk]
    assert set(box.items.values_list("dispatch_state", flat=True)) == {Dispatch.SENT}
    assert all(item.dispatched_at is not None for item in box.items.all())


def test_a_refused_item_keeps_its_box_open_with_the_marketplace_reason_and_a_retry_ships_it(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    stocked("TEE-WH-M", 5, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S", "TEE-WH-M")
    first, second = OrderLine.objects.order_by("pk")
    naver.fail_items(
        [second.external_line_id], code="CLAIM_REQUESTED", message="클레임이 요청된 상품주문입니다."
    )

    outcome = shipments_dispatch(shipments=[box], actor=None)

    assert (outcome.sent, outcome.failed) == (1, 1) and not outcome.ok
    refused = ShipmentItem.objects.get(line=second)
    assert refused.dispatch_state == Dispatch.FAILED
    assert refused.dispatch_message == "클레임이 요청된 상품주문입니다. (CLAIM_REQUESTED)"
    box.refresh_from_db()
    assert box.status == ShipmentStatus.READY and box.shipped_at is None
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (LineStatus.SHIPPED, LineStatus.READY)
    assert StockLevel.objects.get(sku__code="TEE-WH-M").reserved == 1
    sent = len(naver.dispatched)

    # the marketplace accepts it now: the retry sends only the refused item
    naver.item_failures.clear()
    retry = shipments_dispatch(shipments=[box], actor=None)

    assert (retry.sent, retry.failed) == (1, 0)
    assert [d["productOrderId"] for d in naver.dispatched[sent:]] == [second.external_line_id]
    box.refresh_from_db()
    assert box.status == ShipmentStatus.SHIPPED
    assert ShipmentItem.objects.get(line=second).dispatch_message == ""
    assert StockLevel.objects.get(sku__code="TEE-WH-M").reserved == 0


def test_dispatching_twice_sends_nothing_new_and_consumes_stock_once(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    knit = stocked("KNIT-BK-S", 10, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S")
    shipments_dispatch(shipments=[box], actor=None)
    calls, ledger = naver.calls("/dispatch"), StockMovement.objects.count()

    again = shipments_dispatch(shipments=[box], actor=None)

    assert (again.sent, again.failed) == (0, 0)
    assert again.skipped_boxes == [(box.pk, "Shipped already.")]
    assert naver.calls("/dispatch") == calls and len(naver.dispatched) == 1
    assert StockMovement.objects.count() == ledger
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() == 1
    assert _level(knit, warehouse) == (9, 0)


def test_a_run_that_died_after_the_channel_answered_records_the_answer_without_sending_again(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    # given a line the channel already took (the run died before writing it down)
    knit = stocked("KNIT-BK-S", 10, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S")
    line = OrderLine.objects.get()
    channel_dispatch(account_id=naver_account.pk, dispatches=[(line, "CJGLS", "123456789012")])
    assert len(naver.dispatched) == 1 and ShipmentItem.objects.get().dispatch_state == Dispatch.WAITING

    # when the desk dispatches the box
    outcome = shipments_dispatch(shipments=[box], actor=None)

    # then nothing more reaches Naver, the item is sent, and the stock leaves once
    assert outcome.sent == 1 and outcome.items[0].already
    assert len(naver.dispatched) == 1
    assert ShipmentItem.objects.get().dispatch_message == "Dispatched on the channel before."
    assert _level(knit, warehouse) == (9, 0)
    # and shipping the line again (a redelivered task) consumes nothing more
    ship = order_lines_ship(lines=[line], actor=None)
    assert not ship.changed and ship.refused
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() == 1


def test_an_auth_failure_fails_every_item_with_coupangs_reason_and_turns_the_account_to_error(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    coupang.add_order(items=[{"external_vendor_sku_code": "KNIT-BK-S"}], status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    box = shipment_of(list(OrderLine.objects.all()), courier=courier("KGB"), tracking_number="12345678901")
    coupang.fail_next(FakeCoupang.auth_error(), path="/orders/invoices")

    outcome = shipments_dispatch(shipments=[box], actor=None)

    assert outcome.failed == 1 and outcome.errors
    assert "signature is not matched" in outcome.errors[0]
    item = ShipmentItem.objects.get()
    assert item.dispatch_state == Dispatch.FAILED and "signature is not matched" in item.dispatch_message
    assert OrderLine.objects.get().status == LineStatus.READY
    assert StockLevel.objects.get(sku__code="KNIT-BK-S").reserved == 1
    coupang_account.refresh_from_db()
    assert coupang_account.status == ChannelAccount.Status.ERROR
    assert not coupang.invoices

    # the retry (credentials fine again) sends the box under KGB, Coupang's code for 로젠
    retry = shipments_dispatch(shipments=[box], actor=None)
    assert retry.ok and retry.sent == 1
    assert [(i["deliveryCompanyCode"], i["invoiceNumber"]) for i in coupang.invoices] == [
        ("KGB", "12345678901")
    ]
    box.refresh_from_db()
    assert box.status == ShipmentStatus.SHIPPED


def test_partial_shipment_of_an_order_ships_only_the_lines_in_the_box(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    stocked("TEE-WH-M", 5, location=warehouse)
    naver.add_order(lines=[{"seller_product_code": "KNIT-BK-S"}, {"seller_product_code": "TEE-WH-M"}])
    channel_orders_collect(account_id=naver_account.pk)
    knit_line, tee_line = OrderLine.objects.order_by("pk")
    first = shipment_of([knit_line], courier=courier(), tracking_number="111111111111")
    second = shipment_of([tee_line], courier=courier(), tracking_number="222222222222")

    shipments_dispatch(shipments=[first], actor=None)

    knit_line.refresh_from_db()
    tee_line.refresh_from_db()
    assert (knit_line.status, tee_line.status) == (LineStatus.SHIPPED, LineStatus.READY)
    assert Shipment.objects.get(pk=first.pk).status == ShipmentStatus.SHIPPED
    assert Shipment.objects.get(pk=second.pk).status == ShipmentStatus.READY
    assert [d["trackingNumber"] for d in naver.dispatched] == ["111111111111"]


def test_a_held_line_is_not_sent_and_says_why(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S")
    order_line_hold(line=OrderLine.objects.get(), actor=None, reason="주소 확인")

    outcome = shipments_dispatch(shipments=[box], actor=None)

    assert outcome.skipped == 1 and not naver.dispatched
    item = ShipmentItem.objects.get()
    assert item.dispatch_state == Dispatch.WAITING
    assert item.dispatch_message == "The order line is On hold, so it was not dispatched."
    assert Shipment.objects.get().status == ShipmentStatus.READY


def test_boxes_without_a_tracking_number_or_not_packed_when_asked_are_skipped_with_the_reason(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    bare = _naver_box(naver, naver_account, "KNIT-BK-S", tracking="")
    printed = _naver_box(naver, naver_account, "KNIT-BK-S", tracking="333333333333")
    Shipment.objects.filter(pk=printed.pk).update(status=ShipmentStatus.PRINTED)

    strict = shipments_dispatch(shipments=[bare, printed], actor=None, packed_only=True)

    assert sorted(strict.skipped_boxes) == [
        (bare.pk, "No courier or tracking number yet."),
        (printed.pk, "Not packed yet (only packed boxes were asked for)."),
    ]
    assert not naver.dispatched
    # by default a printed box goes (sellers hand boxes over before 검수 is scanned)
    assert shipments_dispatch(shipments=[printed], actor=None).sent == 1


# --- Excel-only channels ---------------------------------------------------------------------------------


def _excel_box(account: ChannelAccount, sku: Sku, **order: Any) -> Shipment:
    (made,) = ingest_orders(account, [channel_order(channel_line(codes=(sku.code,), quantity=2), **order)])
    return shipment_of(list(made.lines.all()), courier=courier(), tracking_number="444444444444")


def _read(account: ChannelAccount, box: Shipment) -> tuple[list[Any], list[list[Any]]]:
    buffer = io.BytesIO()
    dispatch_sheet_write(buffer, account=account, items=sheet_items(account=account, shipment_ids=[box.pk]))
    book = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    (name,) = book.sheet_names
    rows = book.get_sheet_by_name(name).to_python()
    return [name, *rows[0]], rows[1:]


def test_an_excel_only_account_waits_for_its_sheet_and_the_download_ships_the_lines(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    eleven = ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가")
    sku = stocked("KNIT-BK-S", 10, location=warehouse)
    box = _excel_box(eleven, sku)

    outcome = shipments_dispatch(shipments=[box], actor=None)

    assert outcome.excel == {eleven.pk: [ShipmentItem.objects.get().pk]} and outcome.ok
    assert OrderLine.objects.get().status == LineStatus.READY and not naver.dispatched

    marked = dispatch_sheet_mark(account=eleven, shipment_ids=[box.pk], actor=None)

    assert len(marked) == 1
    item = ShipmentItem.objects.get()
    assert item.dispatch_state == Dispatch.EXCEL and item.dispatched_at is not None
    assert OrderLine.objects.get().status == LineStatus.SHIPPED
    assert _level(sku, warehouse) == (8, 0)
    assert Shipment.objects.get().status == ShipmentStatus.SHIPPED
    # a second download marks nothing new and consumes nothing more
    assert dispatch_sheet_mark(account=eleven, shipment_ids=[box.pk], actor=None) == []
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() == 1
    assert (
        StockMovement.objects.get(type=StockMovement.Type.SHIP).reason == "Dispatched by the channel's sheet"
    )
    # the generic sheet carries 11st's own code for CJ대한통운
    header, rows = _read(eleven, box)
    line = OrderLine.objects.select_related("order").get()
    assert header == ["발송처리", "주문번호", "상품주문번호", "택배사", "택배사코드", "송장번호"]
    assert rows == [
        [line.order.external_order_id, line.external_line_id, "CJ대한통운", "00034", "444444444444"]
    ]


def test_a_smartstore_account_without_credentials_gets_the_smartstore_bulk_dispatch_sheet(
    warehouse: Location,
) -> None:
    store = ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE, name="엑셀 스마트스토어")
    box = _excel_box(store, stocked("KNIT-BK-S", 10, location=warehouse))
    dispatch_sheet_mark(account=store, shipment_ids=[box.pk], actor=None)

    header, rows = _read(store, box)

    assert header == ["발송처리", "상품주문번호", "배송방법", "택배사", "송장번호"]
    assert rows == [
        [OrderLine.objects.get().external_line_id, "택배,등기,소포", "CJ대한통운", "444444444444"]
    ]


def test_a_coupang_sheet_has_wings_deliverylist_columns_with_the_invoice_filled(warehouse: Location) -> None:
    wing = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG, name="쿠팡 엑셀")
    box = _excel_box(
        wing, stocked("KNIT-BK-S", 10, location=warehouse), bundle_key="400000500", recipient_name="최수우"
    )
    dispatch_sheet_mark(account=wing, shipment_ids=[box.pk], actor=None)

    header, rows = _read(wing, box)

    sample = CalamineWorkbook.from_path(SAMPLE_COUPANG)
    assert header[0] == "Delivery" == sample.sheet_names[0]
    assert header[1:] == list(COUPANG_HEADERS) == sample.get_sheet_by_name("Delivery").to_python()[0]
    (row,) = rows
    cells = dict(zip(COUPANG_HEADERS, row, strict=True))
    line = OrderLine.objects.select_related("order").get()
    assert (cells["묶음배송번호"], cells["주문번호"]) == ("400000500", line.order.external_order_id)
    assert (cells["택배사"], cells["운송장번호"]) == ("CJ대한통운", "444444444444")
    assert (cells["수취인이름"], cells["구매수(수량)"]) == ("최수우", 2)


def test_the_sheet_is_refused_for_an_account_that_dispatches_by_api(naver_account: ChannelAccount) -> None:
    with pytest.raises(DispatchRefused, match="dispatches through its API"):
        dispatch_sheet_mark(account=naver_account, shipment_ids=[], actor=None)


def test_sheet_cells_never_become_formulas(warehouse: Location) -> None:
    other = ChannelAccountFactory.create(marketplace=Marketplace.OTHER, name="기타몰")
    sku = stocked("KNIT-BK-S", 10, location=warehouse)
    (made,) = ingest_orders(other, [channel_order(channel_line(codes=(sku.code,)), order_id="=HYPERLINK(1)")])
    box = shipment_of(list(made.lines.all()), courier=courier(), tracking_number="444444444444")
    dispatch_sheet_mark(account=other, shipment_ids=[box.pk], actor=None)

    _header, rows = _read(other, box)

    assert rows[0][0] == "'=HYPERLINK(1)"


# --- Tracking-number correction --------------------------------------------------------------------------


def test_correcting_a_dispatched_box_updates_it_and_tells_the_user_to_change_it_on_the_marketplace(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S")
    shipments_dispatch(shipments=[box], actor=None)

    result = shipment_correct_tracking(
        shipment=box, courier=courier("HANJIN"), number="5555-6666-7777", actor=None
    )

    box.refresh_from_db()
    assert result.changed and box.courier is not None
    assert (box.courier.code, box.tracking_number) == ("HANJIN", "555566667777")
    (notice,) = result.notices
    assert naver_account.name in notice and "555566667777" in notice and "seller centre" in notice
    assert OrderLine.objects.get().external_line_id in notice
    assert len(naver.dispatched) == 1  # nothing was sent: Naver offers no correction call


def test_correcting_before_dispatch_sends_the_new_number(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse: Location
) -> None:
    stocked("KNIT-BK-S", 10, location=warehouse)
    box = _naver_box(naver, naver_account, "KNIT-BK-S", tracking="123456789012")
    naver.fail_items(
        [OrderLine.objects.get().external_line_id],
        code="INVALID_TRACKING_NUMBER",
        message="송장번호가 유효하지 않습니다.",
    )
    shipments_dispatch(shipments=[box], actor=None)
    naver.item_failures.clear()

    result = shipment_correct_tracking(shipment=box, courier=courier(), number="987654321098", actor=None)
    shipments_dispatch(shipments=[box], actor=None)

    assert result.changed and not result.notices
    assert [d["trackingNumber"] for d in naver.dispatched] == ["987654321098"]


def test_a_correction_is_validated_by_the_couriers_rule_and_against_other_recipients(
    warehouse: Location,
) -> None:
    other = ChannelAccountFactory.create(marketplace=Marketplace.OTHER, name="기타몰")
    sku = stocked("KNIT-BK-S", 10, location=warehouse)
    box = _excel_box(other, sku)
    someone = _excel_box(other, sku, recipient_name="김철수", address1="부산광역시 해운대구 센텀중앙로 79")
    Shipment.objects.filter(pk=someone.pk).update(tracking_number="777777777777")

    with pytest.raises(TrackingNumberInvalid, match="10,12"):
        shipment_correct_tracking(shipment=box, courier=courier(), number="12345", actor=None)
    with pytest.raises(DispatchRefused, match="another recipient"):
        shipment_correct_tracking(shipment=box, courier=courier(), number="777777777777", actor=None)
    box.refresh_from_db()
    assert box.tracking_number == "444444444444"
