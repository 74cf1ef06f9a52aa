"""confirm_lines and build_shipments: the desk's services from the command line (cron), one
summary line, a non-zero exit with a clear message on bad input."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from channels.models import ChannelAccount
from orders.models import LineStatus, OrderLine
from shipping.models import Shipment, ShipmentItem
from tests.channels.factories import ChannelAccountFactory
from tests.channels.sync_support import naver, naver_account, quick_http, real_adapters, stocked, warehouse
from tests.fakes.naver import FakeNaver
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, stocked_sku

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["naver", "naver_account", "quick_http", "real_adapters", "warehouse"]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_confirm_lines_confirms_mapped_reserved_lines_and_tells_the_channel(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    stocked("TEE-BK-M", 5, location=warehouse)
    orders = naver.add_orders(2, seller_product_code="TEE-BK-M", quantity=1)
    short = naver.add_orders(1, seller_product_code="TEE-BK-M", quantity=10)  # not enough stock
    run("collect_orders", "--account", naver_account.name)

    output = run("confirm_lines", "--account", naver_account.name)

    assert output.count("\n") == 1
    assert "2 lines confirmed" in output and "channels acknowledged 2" in output
    assert sorted(naver.confirmed) == sorted(orders[0].product_order_ids + orders[1].product_order_ids)
    backorder = OrderLine.objects.get(external_line_id=short[0].product_order_ids[0])
    assert backorder.status == LineStatus.NEW and backorder.backorder


def test_confirm_lines_on_an_excel_only_account_confirms_without_calling_anyone() -> None:
    account = ChannelAccountFactory.create(marketplace="other", name="엑셀몰")
    sku = stocked_sku("CUP-01")
    ingest_orders(account, [channel_order(channel_line(codes=(sku.code,)))])

    output = run("confirm_lines")

    assert "1 lines confirmed" in output and "channels acknowledged 0" in output
    assert OrderLine.objects.get().status == LineStatus.CONFIRMED


def test_build_shipments_boxes_confirmed_lines_once() -> None:
    account = ChannelAccountFactory.create(marketplace="other", name="엑셀몰")
    sku = stocked_sku("CUP-01")
    for name in ("가", "가", "나"):
        ingest_orders(account, [channel_order(channel_line(codes=(sku.code,)), recipient_name=name)])
    run("confirm_lines", "--account", "엑셀몰")

    output = run("build_shipments", "--account", "엑셀몰")

    assert (
        output.strip() == "2 shipments created, 3 lines boxed (0 existing boxes took more), 0 lines skipped."
    )
    assert Shipment.objects.count() == 2 and ShipmentItem.objects.count() == 3
    again = run("build_shipments")
    assert again.startswith("0 shipments created, 0 lines boxed")


def test_build_shipments_across_channels_and_skipped_lines_with_verbosity() -> None:
    one = ChannelAccountFactory.create(marketplace="other", name="몰A")
    two = ChannelAccountFactory.create(marketplace="other", name="몰B")
    sku = stocked_sku("CUP-01")
    ingest_orders(one, [channel_order(channel_line(codes=(sku.code,)))])
    ingest_orders(two, [channel_order(channel_line(codes=(sku.code,)))])
    ingest_orders(
        two, [channel_order(channel_line(line_id="UNMAPPED-1", codes=("NOPE",)), recipient_name="김")]
    )
    OrderLine.objects.update(status=LineStatus.CONFIRMED)  # shortcut: the state machine is tested elsewhere

    output = run("build_shipments", "--across-channels", "-v", "2")

    assert output.splitlines()[0].startswith("1 shipments created, 2 lines boxed")
    assert "skipped UNMAPPED-1: needs mapping to a SKU" in output
    assert Shipment.objects.get().account is None


@pytest.mark.parametrize("command", ["confirm_lines", "build_shipments"])
def test_an_unknown_account_is_refused_by_name(command: str) -> None:
    ChannelAccountFactory.create(name="스마트스토어 본점")
    with pytest.raises(
        CommandError, match=re.escape("No channel account is named 없는몰. Accounts: 스마트스토어 본점")
    ):
        run(command, "--account", "없는몰")
