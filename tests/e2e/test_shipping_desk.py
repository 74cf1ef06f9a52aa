"""The whole shipping desk in headless Chromium, against a fake Naver SmartStore over HTTP:
a manager confirms the day's orders, makes boxes (two orders of one recipient in one Naver
package go into one box), prints the pick list, uploads the tracking numbers as an Excel sheet
and dispatches; Naver receives every line, the lines are SHIPPED and the stock is consumed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from channels.models import OptionMapping, OptionMappingItem
from channels.services_accounts import channel_account_create
from channels.services_sync import channel_orders_collect
from inventory.models import StockLevel, StockMovement
from oms.models import Company
from oms.roles import Role
from orders.models import LineStatus, OrderLine
from shipping.models import Shipment, ShipmentStatus
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot
from tests.fakes.naver import FakeNaver
from tests.shipping.factories import stocked_sku

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def naver() -> Iterator[FakeNaver]:
    with FakeNaver() as fake:
        yield fake


def test_a_day_of_shipping_from_confirm_to_dispatch(
    page, live_server, make_user, naver, tmp_path: Path
) -> None:
    # given: three paid Naver orders, two of them to 김하늘 in one package (배송비 묶음)
    make_user(Role.MANAGER, username="seller")
    Company.objects.update_or_create(pk=1, defaults={"name": "데모상회", "phone": "02-1234-5678"})
    knit = stocked_sku("KNIT-BK-S", quantity=10)
    account = channel_account_create(
        actor=None,
        marketplace="smartstore",
        name="스마트스토어 본점",
        base_url=naver.api_url,
        credentials={"client_id": naver.client_id, "client_secret": naver.client_secret},
        settings={"stock_push_enabled": False},
    )
    mapping = OptionMapping.objects.create(
        account=account, channel_product_id="4000000001", option_key="30000001"
    )
    OptionMappingItem.objects.create(mapping=mapping, sku=knit, quantity=1)
    kim = {
        "name": "김하늘",
        "tel1": "010-2222-1234",
        "zipCode": "04524",
        "baseAddress": "서울 중구 세종대로 110",
    }
    line = {"option_code": "30000001", "quantity": 1}
    naver.add_order(lines=[line], buyer_name="김하늘", recipient=kim, package_number="P-1")
    naver.add_order(lines=[{**line, "quantity": 2}], buyer_name="김하늘", recipient=kim, package_number="P-1")
    naver.add_order(
        lines=[line],
        buyer_name="박구름",
        recipient={
            "name": "박구름",
            "tel1": "010-7777-4321",
            "zipCode": "06236",
            "baseAddress": "서울 강남구",
        },
    )
    assert channel_orders_collect(account_id=account.pk, since=timezone.now() - timedelta(days=1)).ok
    lines = list(OrderLine.objects.order_by("pk"))
    assert len(lines) == 3 and not any(ln.unmapped or ln.backorder for ln in lines)
    assert StockLevel.objects.get(sku=knit).reserved == 4
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "seller")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # 1. 발주확인 on the order list
    page.goto(f"{base}/orders/?status=new")
    for ln in lines:
        page.check(f"input[name=ids][value='{ln.pk}']")
    page.click("[data-bulk-bar] button[value=confirm]")
    page.wait_for_selector(".bulk-result")
    assert OrderLine.objects.filter(status=LineStatus.CONFIRMED).count() == 3

    # 2. 출고 생성 (합포장) on the desk: two boxes, Kim's two orders in one
    page.click("nav.sidebar a[href='/shipping/']")
    page.click(".desk-build-form button[type=submit]")
    page.wait_for_selector("input[name=ids][aria-label^=S]")
    boxes = list(Shipment.objects.order_by("pk"))
    assert [b.items.count() for b in boxes] == [2, 1]
    assert OrderLine.objects.filter(status=LineStatus.READY).count() == 3
    screenshot(page, "shipping-desk-built")

    # 3. the pick list of the chosen boxes: 4 pieces of the knit
    for box in boxes:
        page.check(f"input[name=ids][value='{box.pk}']")
    page.click("button[name=go][value=picking]")
    page.wait_for_selector("section.pick-location")
    pick = page.locator("section.pick-location").inner_text()
    assert "KNIT-BK-S" in pick and "4" in pick
    screenshot(page, "shipping-pick-list")

    # 4. tracking numbers by Excel: 출고번호 | 택배사 | 송장번호
    sheet = tmp_path / "송장.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["출고번호", "택배사", "송장번호"])
    for n, box in enumerate(boxes):
        ws.append([box.number, "CJ대한통운", f"60123456789{n}"])
    book.save(sheet)
    page.goto(f"{base}/shipping/tracking/")
    page.set_input_files("form.import-form input[type=file]", str(sheet))
    page.click("form.import-form button[type=submit]")
    page.click("[data-import-commit]")
    page.wait_for_function("() => !document.querySelector('[data-import-commit]')")
    assert sorted(Shipment.objects.values_list("tracking_number", flat=True)) == [
        "601234567890",
        "601234567891",
    ]
    screenshot(page, "shipping-tracking-uploaded")

    # 5. 발송처리: every line goes to Naver, the boxes and lines are shipped, stock consumed
    page.goto(f"{base}/shipping/dispatch/")
    for box in boxes:
        page.check(f"input[name=ids][value='{box.pk}']")
    page.click(".dispatch-form button[type=submit]")
    page.wait_for_selector("[data-count=sent]")
    assert page.locator("[data-count=sent]").inner_text() == "3"
    screenshot(page, "shipping-dispatched")

    sent = {(d["deliveryCompanyCode"], d["trackingNumber"]) for d in naver.dispatched}
    assert len(naver.dispatched) == 3 and sent == {("CJGLS", "601234567890"), ("CJGLS", "601234567891")}
    assert OrderLine.objects.filter(status=LineStatus.SHIPPED).count() == 3
    assert set(Shipment.objects.values_list("status", flat=True)) == {ShipmentStatus.SHIPPED}
    level = StockLevel.objects.get(sku=knit)
    assert (level.on_hand, level.reserved) == (6, 0)
    assert StockMovement.objects.filter(sku=knit, type=StockMovement.Type.SHIP).count() == 3
