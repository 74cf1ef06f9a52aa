"""The day's shipping from the command line only, as cron runs it, on orders collected from the
fake Naver and Coupang servers: collect_orders -> confirm_lines -> build_shipments ->
export_courier_sheet -> import_tracking (our own sheet keyed by 상품주문번호 / 주문번호, couriers
by Korean name) -> dispatch, twice. The fakes must receive HYUNDAI for 롯데 and KGB for 로젠, and
stock on hand must drop exactly once per shipped unit."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from channels.models import ChannelAccount
from inventory.models import Location, StockLevel, StockMovement
from oms.models import Company
from orders.models import LineStatus, OrderLine
from shipping.models import Shipment, ShipmentItem, ShipmentStatus
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

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

KIM = {"name": "김하늘", "tel1": "010-2222-1234", "zipCode": "04524", "baseAddress": "서울 중구 세종대로 110"}
PARK = {
    "name": "박구름",
    "tel1": "010-7777-4321",
    "zipCode": "06236",
    "baseAddress": "서울 강남구 테헤란로 1",
}


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def tracking_sheet(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["주문번호", "상품주문번호", "택배사", "송장번호"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_the_daily_batch_from_collection_to_dispatch(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse: Location,
    tmp_path: Path,
) -> None:
    # given: Kim ordered twice on Naver in one package (2 + 1 knits), Park once on Naver and
    # once on Coupang (a cap each); stock 10 knits and 10 caps
    Company.objects.update_or_create(pk=1, defaults={"name": "데모상회", "phone": "02-1234-5678"})
    knit = stocked("KNIT-BK-S", 10, location=warehouse)
    cap = stocked("CAP-BK", 10, location=warehouse)
    first = naver.add_order(
        lines=[{"seller_product_code": "KNIT-BK-S", "quantity": 2}], recipient=KIM, package_number="P-KIM"
    )
    second = naver.add_order(
        lines=[{"seller_product_code": "KNIT-BK-S"}], recipient=KIM, package_number="P-KIM"
    )
    park_naver = naver.add_order(lines=[{"seller_product_code": "CAP-BK"}], recipient=PARK)
    box = coupang.add_order(
        items=[{"external_vendor_sku_code": "CAP-BK"}],
        receiver={
            "name": PARK["name"],
            "safeNumber": "0502-1234-5678",
            "postCode": PARK["zipCode"],
            "addr1": PARK["baseAddress"],
            "addr2": "",
        },
    )

    for account in (naver_account, coupang_account):
        run("collect_orders", "--account", account.name)
    assert OrderLine.objects.filter(backorder=False, unmapped=False).count() == 4

    assert "4 lines confirmed" in run("confirm_lines")
    built = run("build_shipments")
    assert Shipment.objects.count() == 3, built
    boxes = {
        item.line.order.external_order_id: item.shipment_id
        for item in ShipmentItem.objects.select_related("line__order")
    }
    assert boxes[first.order_id] == boxes[second.order_id]  # 합포장: one Naver package, one box
    assert len(set(boxes.values())) == 3  # Park's Naver and Coupang orders stay apart

    sheet = tmp_path / "courier.xlsx"
    run("export_courier_sheet", "--layout", "cj", str(sheet))
    rows = list(CalamineWorkbook.from_path(str(sheet)).get_sheet_by_index(0).to_python())
    assert len(rows) == 1 + 3

    # when: our own tracking sheet, keyed by channel line / order numbers, couriers by name
    kim_lines = [po for order in (first, second) for po in order.product_order_ids]
    bad = tracking_sheet(
        tmp_path / "bad.xlsx",
        [
            (first.order_id, kim_lines[0], "롯데택배", "123456789012"),
            (first.order_id, kim_lines[0] + "9", "롯데택배", "123456789012"),  # no such line
            (park_naver.order_id, park_naver.product_order_ids[0], "로젠택배", "123"),  # too short
        ],
    )
    with pytest.raises(CommandError):
        call_command("import_tracking", str(bad), stdout=StringIO(), stderr=(errors := StringIO()))
    assert "row 3" in errors.getvalue().lower() and "row 4" in errors.getvalue().lower()
    assert not Shipment.objects.exclude(tracking_number="").exists()  # nothing written

    good = tracking_sheet(
        tmp_path / "good.xlsx",
        [
            (first.order_id, kim_lines[0], "롯데택배", "123456789012"),
            (second.order_id, kim_lines[1], "롯데택배", "123456789012"),
            (park_naver.order_id, park_naver.product_order_ids[0], "로젠택배", "30012345678"),
            (box.order_id, "", "CJ대한통운", "601234567890"),
        ],
    )
    run("import_tracking", str(good))
    assert Shipment.objects.filter(tracking_number="").count() == 0
    out = run("dispatch")

    # then: the marketplaces got their own courier codes, every line is shipped
    assert sorted((d["deliveryCompanyCode"], d["trackingNumber"]) for d in naver.dispatched) == [
        ("HYUNDAI", "123456789012"),
        ("HYUNDAI", "123456789012"),
        ("KGB", "30012345678"),
    ]
    assert [(i["deliveryCompanyCode"], i["invoiceNumber"]) for i in coupang.invoices] == [
        ("CJGLS", "601234567890")
    ]
    assert OrderLine.objects.filter(status=LineStatus.SHIPPED).count() == 4, out
    assert set(Shipment.objects.values_list("status", flat=True)) == {ShipmentStatus.SHIPPED}

    # and dispatching again (a retry from cron) sends and consumes nothing more
    run("dispatch")
    assert len(naver.dispatched) == 3 and len(coupang.invoices) == 1
    assert StockLevel.objects.get(sku=knit).on_hand == 7 and StockLevel.objects.get(sku=cap).on_hand == 8
    assert StockLevel.objects.get(sku=knit).reserved == 0 == StockLevel.objects.get(sku=cap).reserved
    ships = StockMovement.objects.filter(type=StockMovement.Type.SHIP)
    assert sorted(ships.values_list("sku__code", "quantity")) == [
        ("CAP-BK", -1),
        ("CAP-BK", -1),
        ("KNIT-BK-S", -2),
        ("KNIT-BK-S", -1),
    ]
