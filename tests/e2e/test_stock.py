"""A manager in headless Chromium: receives stock on a SKU's page, reads the new ledger row and
available quantity, writes off damaged units with a reason, and sees the SKU turn 부족 (low)."""

from __future__ import annotations

import re

import pytest

from catalog.models import Sku
from inventory.models import StockMovement
from oms.roles import Role
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_manager_receives_and_adjusts_stock_on_the_sku_page(page, live_server, make_user) -> None:
    make_user(Role.MANAGER, username="manager1", last_name="이", first_name="운영")
    warehouse = LocationFactory.create(code="WH01", name="파주 물류센터", priority=10)
    LocationFactory.create(code="ST01", name="성수 매장", priority=20)
    product = ProductFactory.create(name="울 라운드 니트", code="P-KNIT")
    sku = SkuFactory.create(
        product=product, code="KNIT-BK-S", option_label="블랙 / S", safety_stock=1, low_stock_threshold=5
    )
    base = live_server.url
    log_in(page, base, "manager1")

    # From the overview (sold out: never received) to the SKU's page.
    page.click("nav.sidebar >> text=재고")
    row = page.locator('tr[data-sku="KNIT-BK-S"]')
    assert row.locator("[data-stock-state]").get_attribute("data-stock-state") == "soldout"
    row.locator("a", has_text="KNIT-BK-S").click()
    page.wait_for_url(re.compile(rf".*/stock/sku/{sku.pk}/$"))

    # 입고: the receive form is open on the SKU page.
    form = page.locator('form[data-action="receive"]')
    form.locator("select[name=location]").select_option(str(warehouse.pk))
    form.locator("input[name=quantity]").fill("9")
    form.locator("input[name=reference]").fill("PO-2026-031")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert page.locator(".stock-figures [data-available]").inner_text() == "8"  # 9 - 1 safety
    assert page.locator(".stock-figures [data-stock-state]").get_attribute("data-stock-state") == "ok"
    first = page.locator("#ledger tbody tr").first
    assert first.get_attribute("data-type") == "receive"
    first_text = first.inner_text()
    assert "+9" in first_text and "PO-2026-031" in first_text and "이운영" in first_text
    on_hand_cell = page.locator('#levels tr[data-location="WH01"] td.num').first
    assert on_hand_cell.inner_text() == "9"
    screenshot(page, "stock-sku-received")

    # 조정 without a reason is refused; with one it goes through and the SKU turns low.
    page.click('.action-tabs a[href*="/adjust/"]')
    form = page.locator('form[data-action="adjust"]')
    form.locator("select[name=location]").select_option(str(warehouse.pk))
    form.locator("input[name=delta]").fill("-4")
    form.locator("input[name=reason]").evaluate("el => el.removeAttribute('required')")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".field.has-error")
    assert StockMovement.objects.filter(sku=sku, type="adjust").count() == 0

    form = page.locator('form[data-action="adjust"]')
    form.locator("input[name=reason]").fill("파손")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert page.locator(".stock-figures [data-available]").inner_text() == "4"  # 5 - 1 safety
    assert page.locator(".stock-figures [data-stock-state]").get_attribute("data-stock-state") == "low"
    first = page.locator("#ledger tbody tr").first
    assert first.get_attribute("data-type") == "adjust"
    assert "-4" in first.inner_text() and "파손" in first.inner_text()
    screenshot(page, "stock-sku-adjusted")

    # The overview and the 재고 부족 list agree.
    page.click(".crumbs a")
    row = page.locator('tr[data-sku="KNIT-BK-S"]')
    assert row.locator("[data-stock-state]").get_attribute("data-stock-state") == "low"
    assert row.locator("[data-available]").inner_text() == "4"
    page.click('.stock-subnav a[href$="/stock/low/"]')
    assert page.locator('tr[data-sku="KNIT-BK-S"]').count() == 1
    screenshot(page, "stock-low-list")
    assert Sku.objects.get(pk=sku.pk).stock_levels.get().on_hand == 5
