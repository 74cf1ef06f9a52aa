"""manage.py dispatch: the same service as the Dispatch page, against the fake marketplaces; one
summary line; exit 1 with each refused line, exit 2 on bad input; Excel-only channels skipped
with a hint or written as sheets with --excel-dir."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from channels.models import ChannelAccount, Marketplace
from channels.services_sync import channel_orders_collect
from inventory.models import Location, StockLevel, StockMovement
from orders.models import LineStatus, OrderLine
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
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


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("dispatch", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _boxes(
    naver: FakeNaver, account: ChannelAccount, count: int, courier_code: str = "CJGLS"
) -> list[Shipment]:
    for _ in range(count):
        naver.add_order(lines=[{"seller_product_code": "KNIT-BK-S"}])
    channel_orders_collect(account_id=account.pk)
    lines = OrderLine.objects.filter(account=account, shipment_item__isnull=True).order_by("pk")
    return [
        shipment_of([line], courier=courier(courier_code), tracking_number=f"{1234567890 + n}")
        for n, line in enumerate(lines)
    ]


@pytest.fixture
def stock(warehouse: Location) -> None:
    stocked("KNIT-BK-S", 50, location=warehouse)


@pytest.mark.usefixtures("stock")
def test_dispatch_sends_every_ready_box_with_each_marketplaces_courier_code(
    naver: FakeNaver, naver_account: ChannelAccount, coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    _boxes(naver, naver_account, 2, courier_code="HYUNDAI")
    coupang.add_order(items=[{"external_vendor_sku_code": "KNIT-BK-S"}], status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    shipment_of(
        list(OrderLine.objects.filter(account=coupang_account)),
        courier=courier("KGB"),
        tracking_number="98765432101",
    )

    out, err = run()

    assert out.splitlines()[0] == (
        "Dispatch: 3 shipments, 3 lines sent, 0 refused, 3 shipments shipped, "
        "0 lines of Excel-only channels skipped."
    )
    assert not err
    assert [d["deliveryCompanyCode"] for d in naver.dispatched] == ["HYUNDAI", "HYUNDAI"]
    assert [(i["deliveryCompanyCode"], i["invoiceNumber"]) for i in coupang.invoices] == [
        ("KGB", "98765432101")
    ]
    assert set(OrderLine.objects.values_list("status", flat=True)) == {LineStatus.SHIPPED}
    level = StockLevel.objects.get(sku__code="KNIT-BK-S")
    assert (level.on_hand, level.reserved) == (50 - 3, 0)

    # the same cron run again: nothing is ready, nothing sent, stock left once
    again, _err = run()
    assert again.strip() == "Nothing to dispatch: no shipment with a tracking number is waiting."
    assert len(naver.dispatched) == 2 and len(coupang.invoices) == 1
    assert StockMovement.objects.filter(type=StockMovement.Type.SHIP).count() == 3


@pytest.mark.usefixtures("stock")
def test_account_filter_sends_only_that_accounts_lines(
    naver: FakeNaver, naver_account: ChannelAccount, coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    _boxes(naver, naver_account, 1)
    coupang.add_order(items=[{"external_vendor_sku_code": "KNIT-BK-S"}], status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    shipment_of(
        list(OrderLine.objects.filter(account=coupang_account)),
        courier=courier(),
        tracking_number="1111111111",
    )

    out, _err = run("--account", coupang_account.name)

    assert out.startswith("Dispatch: 1 shipments, 1 lines sent, 0 refused")
    assert len(coupang.invoices) == 1 and not naver.dispatched
    assert OrderLine.objects.get(account=naver_account).status == LineStatus.READY


def test_an_unknown_account_is_bad_input_exit_2(naver_account: ChannelAccount) -> None:
    with pytest.raises(CommandError) as caught:
        run("--account", "없는 계정")

    assert caught.value.returncode == 2
    assert "No channel account named 없는 계정" in str(caught.value) and naver_account.name in str(
        caught.value
    )


def test_a_missing_excel_folder_is_bad_input_exit_2(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        run("--excel-dir", str(tmp_path / "nope"))

    assert caught.value.returncode == 2 and "No such folder" in str(caught.value)


@pytest.mark.usefixtures("stock")
def test_refused_lines_exit_1_naming_box_line_and_reason_and_the_next_run_retries_them(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    good, bad = _boxes(naver, naver_account, 2)
    refused = bad.items.get().line
    naver.fail_items(
        [refused.external_line_id], code="CLAIM_REQUESTED", message="클레임이 요청된 상품주문입니다."
    )
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("dispatch", stdout=out, stderr=err)

    assert caught.value.returncode == 1
    assert "1 lines sent, 1 refused" in out.getvalue()
    assert (
        f"{bad.number} / {refused.external_line_id} ({naver_account.name}): "
        "클레임이 요청된 상품주문입니다. (CLAIM_REQUESTED)"
    ) in err.getvalue()
    assert "run the command again to retry" in str(caught.value)
    assert Shipment.objects.get(pk=good.pk).status == ShipmentStatus.SHIPPED

    naver.item_failures.clear()
    retry, _err = run()

    assert retry.startswith("Dispatch: 1 shipments, 1 lines sent, 0 refused, 1 shipments shipped")
    assert Shipment.objects.get(pk=bad.pk).status == ShipmentStatus.SHIPPED


@pytest.mark.usefixtures("stock")
def test_an_auth_failure_exits_1_with_coupangs_reason(
    coupang: FakeCoupang, coupang_account: ChannelAccount
) -> None:
    coupang.add_order(items=[{"external_vendor_sku_code": "KNIT-BK-S"}], status="INSTRUCT")
    channel_orders_collect(account_id=coupang_account.pk)
    shipment_of(list(OrderLine.objects.all()), courier=courier(), tracking_number="1111111111")
    coupang.fail_next(FakeCoupang.auth_error(), path="/orders/invoices")

    with pytest.raises(CommandError) as caught:
        run()

    assert caught.value.returncode == 1
    assert f"{coupang_account.name}: Specified signature is not matched." in str(caught.value)
    assert ShipmentItem.objects.get().dispatch_state == ShipmentItem.Dispatch.FAILED


def _excel_box(account: ChannelAccount) -> Shipment:
    (order,) = ingest_orders(account, [channel_order(channel_line(codes=("KNIT-BK-S",)))])
    return shipment_of(list(order.lines.all()), courier=courier(), tracking_number="444444444444")


@pytest.mark.usefixtures("stock")
def test_excel_only_channels_are_skipped_with_a_hint(warehouse: Location) -> None:
    eleven = ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가")
    _excel_box(eleven)

    out, _err = run()

    assert "1 lines of Excel-only channels skipped." in out
    assert "download it on the Dispatch page, or run again with --excel-dir FOLDER" in out
    assert OrderLine.objects.get().status == LineStatus.READY


@pytest.mark.usefixtures("stock")
def test_excel_dir_writes_the_sheet_and_ships_the_lines(tmp_path: Path) -> None:
    eleven = ChannelAccountFactory.create(marketplace=Marketplace.ELEVENST, name="11번가")
    box = _excel_box(eleven)

    out, _err = run("--excel-dir", str(tmp_path))

    (sheet,) = tmp_path.glob("*.xlsx")
    assert f"Dispatch sheet written: {sheet}" in out and "0 lines of Excel-only channels skipped." in out
    rows = CalamineWorkbook.from_path(str(sheet)).get_sheet_by_name("발송처리").to_python()
    line = OrderLine.objects.select_related("order").get()
    assert rows[1] == [
        line.order.external_order_id,
        line.external_line_id,
        "CJ대한통운",
        "00034",
        "444444444444",
    ]
    assert line.status == LineStatus.SHIPPED
    assert Shipment.objects.get(pk=box.pk).status == ShipmentStatus.SHIPPED
    assert ShipmentItem.objects.get().dispatch_state == ShipmentItem.Dispatch.EXCEL


def test_the_help_documents_the_exit_codes() -> None:
    from shipping.management.commands.dispatch import Command

    assert "Exit 0" in Command.help and "1:" in Command.help and "2: bad input" in Command.help
