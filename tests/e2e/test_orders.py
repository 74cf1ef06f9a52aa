"""A manager works the morning queue in headless Chromium: filter the order list to one channel's
new lines, tick two, 발주확인 them in bulk, open one order, put a line on hold and release it."""

from __future__ import annotations

import pytest

from oms.roles import Role
from orders.models import LineStatus, OrderEvent, OrderLine
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot
from tests.orders.desk import make_desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_confirms_two_lines_then_holds_and_releases_one(page, live_server, make_user) -> None:
    make_user(Role.MANAGER, username="seller")
    desk = make_desk()
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "seller")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.click("nav.sidebar a[href='/orders/']")
    page.wait_for_selector("table.order-lines")
    assert page.locator("table.order-lines tbody tr").count() == 5

    # Filter: the SmartStore account's new lines.
    page.select_option("select[name=account]", str(desk.store.pk))
    page.select_option("select[name=status]", LineStatus.NEW.value)
    page.click(".order-filters button[type=submit]")
    page.wait_for_url(f"**/orders/?*account={desk.store.pk}*")
    rows = page.locator("table.order-lines tbody tr")
    assert rows.count() == 3
    assert page.locator(".order-tabs .tab.active .n").inner_text() == "3"
    screenshot(page, "orders-filtered")

    kim, lee = desk.line(desk.kim), desk.line(desk.lee)
    page.check(f"input[name=ids][value='{kim.pk}']")
    page.check(f"input[name=ids][value='{lee.pk}']")
    assert page.locator("[data-bulk-count]").inner_text() == "2"
    page.click("[data-bulk-bar] button[value=confirm]")
    page.wait_for_selector(".bulk-result")
    assert "2" in page.locator(".bulk-result strong").inner_text()
    # Back on the same filters: only the one untouched new line is left.
    assert f"account={desk.store.pk}" in page.url
    assert page.locator("table.order-lines tbody tr").count() == 1
    screenshot(page, "orders-bulk-confirmed")
    assert set(OrderLine.objects.filter(status=LineStatus.CONFIRMED).values_list("pk", flat=True)) == {
        kim.pk,
        lee.pk,
    }

    # Open Kim's order and hold, then release, its line (htmx swaps, no reload).
    page.goto(f"{base}/orders/?q=김하늘")
    page.click("table.order-lines >> text=2026010100000001")
    page.wait_for_selector("#order-lines")
    assert "김하늘" in page.locator(".order-head").inner_text()
    row = page.locator(f"#line-{kim.pk}")
    row.locator("details:has(form[action$='/hold/']) summary").click()
    row.locator("form[action$='/hold/'] input[name=reason]").fill("고객 요청: 배송일 조정")
    row.locator("form[action$='/hold/'] button").click()
    page.wait_for_selector(f"#line-{kim.pk} .badge.st-warn")
    assert "고객 요청: 배송일 조정" in page.locator("#timeline").inner_text()
    screenshot(page, "order-held")
    assert OrderLine.objects.get(pk=kim.pk).status == LineStatus.HOLD

    page.locator(f"#line-{kim.pk} form[action$='/unhold/'] button").click()
    page.wait_for_selector(f"#line-{kim.pk} .badge.st-ok")
    screenshot(page, "order-released")
    assert OrderLine.objects.get(pk=kim.pk).status == LineStatus.CONFIRMED
    moves = OrderEvent.objects.filter(line_id=kim.pk, type=OrderEvent.Type.STATUS).order_by("pk")
    assert [e.data["to"] for e in moves] == ["confirmed", "hold", "confirmed"]
    assert {e.user.username for e in moves if e.user} == {"seller"}
