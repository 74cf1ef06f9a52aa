"""A manager in headless Chromium: two orders arrive with an option nobody mapped yet; open 매칭,
search the SKU as you type, map it, and both orders hold their stock."""

from __future__ import annotations

import pytest

from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.roles import Role
from orders.ingest import orders_ingest
from orders.models import OrderLine
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_maps_an_unmapped_option_and_its_orders_are_reserved(page, live_server, make_user) -> None:
    make_user(Role.MANAGER, username="seller")
    account = ChannelAccountFactory.create(name="니트샵 스마트스토어")
    warehouse = LocationFactory.create()
    knit = SkuFactory.create(
        code="KNIT-BK-S", option_label="블랙 / S", product=ProductFactory.create(name="울 라운드 니트")
    )
    SkuFactory.create(code="KNIT-BK-M", option_label="블랙 / M", product=knit.product)
    stock_receive(sku=knit, location=warehouse, quantity=5)
    orders_ingest(
        account=account,
        orders=[
            channel_order(channel_line(option="색상: 블랙 / 사이즈: S", quantity=2), minutes_ago=30),
            channel_order(channel_line(option="색상: 블랙 / 사이즈: S", quantity=1), minutes_ago=10),
        ],
    )
    assert OrderLine.objects.filter(unmapped=True).count() == 2
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "seller")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/orders/matching/")
    group = page.locator("[data-group]")
    assert group.count() == 1
    assert "색상: 블랙 / 사이즈: S" in group.inner_text()
    group.locator("a.btn").click()
    editor = page.locator("[data-map-editor]")
    editor.wait_for()
    assert editor.get_attribute("data-waiting-count") == "2"

    editor.locator("input[name=sku]").first.press_sequentially("라운드 니트", delay=30)
    page.wait_for_selector(".sku-pick[data-code='KNIT-BK-S']")
    assert page.locator(".sku-pick").count() == 2  # both sizes; M is not what this option is
    screenshot(page, "matching-search")
    page.click(".sku-pick[data-code='KNIT-BK-S']")
    assert editor.locator("input[name=sku]").first.input_value() == "KNIT-BK-S"
    page.click("[data-save-mapping]")

    saved = page.locator("[data-saved]")
    saved.wait_for()
    assert "KNIT-BK-S" in saved.inner_text()
    assert [saved.get_attribute(f"data-{n}") for n in ("mapped", "reserved", "short")] == ["2", "2", "0"]
    # The tab counts above the list follow without a reload.
    page.wait_for_function("document.querySelector('#match-tabs .count').textContent.trim() === '0'")
    screenshot(page, "matching-saved")
    assert not OrderLine.objects.filter(unmapped=True).exists()
    assert not OrderLine.objects.filter(backorder=True).exists()
    assert StockLevel.objects.get(sku=knit).reserved == 3

    # The option is remembered: the page has nothing left to map, and the mapping is listed.
    page.goto(f"{base}/orders/matching/")
    assert page.locator("[data-group]").count() == 0
    page.goto(f"{base}/orders/matching/mappings/")
    assert "KNIT-BK-S" in page.locator("table").inner_text()
