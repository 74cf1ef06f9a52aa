"""The 샌드박스 마켓 page in headless Chromium: a manager watches what the sandbox received, and
a stock push sent through the sandbox adapter over real HTTP shows up without reloading (the
page refreshes itself); an administrator places orders by hand."""

from __future__ import annotations

import random

import pytest

from channels.http import adapter_for
from channels.models import Marketplace
from channels.sandbox.generator import sandbox_orders_generate
from channels.services_accounts import channel_account_create
from channels.types import StockUpdate
from oms.roles import Role
from tests.channels.test_sandbox_helpers import issue_token, make_listing
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sandbox_on(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = True
    settings.OMS_SANDBOX_FAULT_RATE = 0.0


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_manager_sees_orders_and_a_stock_push_arrive_without_reloading(page, live_server, make_user):
    make_user(Role.MANAGER, username="watcher")
    base = live_server.url
    shirt = make_listing(stock=8, name="오버핏 코튼 티셔츠", seller_code="DM-TS01-BK-M")
    make_listing(
        stock=0, name="울 라운드 니트", option_text="색상: 블랙 / 사이즈: S", seller_code="DM-KN01-BK-S"
    )
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.SANDBOX,
        name="샌드박스 마켓",
        base_url=f"{base}/sandbox/api",
        credentials={"api_token": issue_token()},
    )
    placed = sandbox_orders_generate(count=2, rng=random.Random(5))

    _login(page, base, "watcher")
    page.goto(f"{base}/sandbox/")
    events = page.locator("table.sandbox-events tbody tr[data-event-kind=order_placed]")
    assert events.count() == 2
    for order in placed:
        assert page.locator("table.sandbox-orders").get_by_text(order.order_no).is_visible()
    # Only the shirt could be ordered: the knit is at stock 0.
    assert page.locator(f"tr[data-option='{shirt.option_id}'] td.num").nth(2).inner_text() != "0"

    # The OMS pushes stock 0 for the shirt through the adapter, over HTTP, while the page is open.
    [result] = adapter_for(account).push_stock([StockUpdate(shirt.product_id, shirt.option_id, 0)])
    assert result.ok
    page.locator("table.sandbox-events tbody tr[data-event-kind=stock]").wait_for(timeout=10_000)
    stock_cell = page.locator(f"tr[data-option='{shirt.option_id}'] td[data-stock]")
    assert stock_cell.inner_text().strip() == "0"
    page.locator("table.sandbox-events tbody tr[data-event-kind=stock] summary").click()
    assert page.get_by_text(f"{shirt.option_id}").first.is_visible()
    screenshot(page, "sandbox-page")


def test_admin_places_orders_by_hand(page, live_server, make_user):
    make_user(Role.ADMIN, username="owner")
    base = live_server.url
    make_listing(stock=20, seller_code="DM-MG01-WH", name="스톤웨어 머그컵", option_text="색상: 화이트")

    _login(page, base, "owner")
    page.goto(f"{base}/sandbox/")
    page.fill("form.sandbox-generate input[name=count]", "2")
    page.click("form.sandbox-generate button[type=submit]")
    page.wait_for_url(f"{base}/sandbox/")
    assert page.locator(".flash.success").is_visible()
    assert page.locator("table.sandbox-orders tbody tr").count() == 2
    assert page.locator("table.sandbox-events tbody tr[data-event-kind=order_placed]").count() == 2
