"""The sandbox adapter against the sandbox API over real HTTP (pytest-django's live_server),
and the demo's loop end to end in the test process: orders placed in the sandbox are fetched
by the adapter and ingested, and stock pushed through the adapter lands on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

import channels.sandbox.api as sandbox_api
from catalog.models import Sku
from channels.adapters.base import Capability, ChannelAuthError, ChannelRateLimited, ChannelTemporaryError
from channels.adapters.sandbox import SandboxAdapter, SandboxSkippedItems
from channels.http import adapter_for
from channels.models import CallLog, ChannelAccount, Marketplace
from channels.registry import adapter_class
from channels.sandbox.generator import sandbox_orders_generate
from channels.sandbox.services import sandbox_key_revoke
from channels.sandbox_models import SandboxApiKey, SandboxEvent, SandboxListing, SandboxOrderLine
from channels.services_accounts import channel_account_create
from channels.types import AccountConfig, Dispatch, LineState, OrderRef, ProductUpdate, StockUpdate
from inventory.selectors import available_map
from inventory.services import stock_receive
from orders.ingest import orders_ingest
from orders.models import LineStatus, Order, OrderLine
from tests.catalog.factories import SkuFactory
from tests.channels.test_sandbox_helpers import issue_token, make_listing, make_order
from tests.fakes.server import recent_window as window
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("english")]


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls.append((str(method), str(url)))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(autouse=True)
def _sandbox_on(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = True
    settings.OMS_SANDBOX_FAULT_RATE = 0.0
    settings.OMS_CHANNEL_HTTP_BACKOFF = 0.01
    settings.OMS_CHANNEL_HTTP_BACKOFF_CAP = 0.05


@pytest.fixture
def api_url(live_server) -> str:
    return f"{live_server.url}/sandbox/api"


@pytest.fixture
def token() -> str:
    return issue_token()


@pytest.fixture
def session() -> Iterator[CountingSession]:
    s = CountingSession()
    yield s
    s.close()


def make_adapter(api_url: str, token: str, session: requests.Session) -> SandboxAdapter:
    config = AccountConfig(
        account_id=1,
        marketplace="sandbox",
        name="샌드박스",
        base_url=api_url,
        credentials={"api_token": token},
    )
    return SandboxAdapter(account=config, session=session)


def test_the_adapter_is_registered_with_every_capability_the_api_offers() -> None:
    assert adapter_class("sandbox") is SandboxAdapter
    assert SandboxAdapter.capabilities >= {
        Capability.COLLECT_ORDERS,
        Capability.CONFIRM_ORDERS,
        Capability.DISPATCH,
        Capability.PUSH_STOCK,
        Capability.PUSH_PRODUCT,
    }
    assert [(f.name, f.secret) for f in SandboxAdapter.credential_fields] == [("api_token", True)]


def test_check_auth_says_connected_or_gives_the_sandbox_reason(api_url: str, token: str, session) -> None:
    make_listing()
    ok = make_adapter(api_url, token, session).check_auth()
    assert ok.ok and "샌드박스 마켓" in ok.message and "1" in ok.message
    bad = make_adapter(api_url, "sbx_wrong", session).check_auth()
    assert not bad.ok and "not valid" in bad.message
    lost = make_adapter(api_url.replace("/sandbox/api", "/nowhere"), token, session).check_auth()
    assert not lost.ok and "base URL" in lost.message
    unset = make_adapter(api_url, "", session).check_auth()
    assert not unset.ok and "not set" in unset.message


def test_fetch_pages_through_every_order_once_and_maps_them(api_url: str, token: str, session) -> None:
    listing = make_listing(seller_code="DM-TS01-BK-M")
    made = [make_order([(listing, 1 + i % 2)]) for i in range(230)]
    confirmed = made[0].lines.get()
    SandboxOrderLine.objects.filter(pk=confirmed.pk).update(status="CONFIRMED")
    dispatched = made[1].lines.get()
    SandboxOrderLine.objects.filter(pk=dispatched.pk).update(
        status="DISPATCHED", courier_code="CJGLS", tracking_number="601234567890"
    )
    orders = list(make_adapter(api_url, token, session).fetch_orders(since=window()[0], until=window()[1]))
    assert sorted(o.external_order_id for o in orders) == sorted(o.order_no for o in made)
    assert len([c for c in session.calls if "/orders" in c[1]]) == 3  # 100 + 100 + 30
    first = next(o for o in orders if o.external_order_id == made[0].order_no)
    assert (first.buyer_name, first.recipient_name, first.recipient_phone) == (
        "김민준",
        "이서연",
        "0504-1234-5678",
    )
    assert (first.zip_code, first.address1, first.address2) == (
        "06164",
        "서울특별시 강남구 테헤란로 521",
        "파르나스타워 15층",
    )
    assert first.delivery_message == "문 앞에 놔주세요" and first.shipping_fee == 3000
    assert first.bundle_key == made[0].order_no and first.ordered_at is not None
    [line] = first.lines
    assert (line.external_line_id, line.channel_product_id, line.channel_option_id) == (
        confirmed.line_no,
        listing.product_id,
        listing.option_id,
    )
    assert line.seller_codes == ("DM-TS01-BK-M",) and line.state == LineState.CONFIRMED
    assert line.unit_price == listing.price and line.line_total == listing.price
    assert first.total_amount == listing.price + 3000
    shipped = next(o for o in orders if o.external_order_id == made[1].order_no)
    assert shipped.lines[0].state == LineState.SHIPPED and shipped.lines[0].channel_status == "DISPATCHED"


def test_a_long_window_is_asked_seven_days_at_a_time(api_url: str, token: str, session) -> None:
    listing = make_listing()
    old = make_order([(listing, 1)], changed_at=timezone.now() - timedelta(days=9))
    new = make_order([(listing, 1)])
    since = timezone.now() - timedelta(days=10)
    orders = list(make_adapter(api_url, token, session).fetch_orders(since=since, until=timezone.now()))
    assert {o.external_order_id for o in orders} == {old.order_no, new.order_no}
    assert len([c for c in session.calls if "/orders" in c[1]]) == 2


def test_an_unreadable_order_is_skipped_after_the_good_ones(
    api_url: str, token: str, session, monkeypatch
) -> None:
    listing = make_listing()
    good, bad = make_order([(listing, 1)]), make_order([(listing, 1)])
    real = sandbox_api._order_json

    def broken(order: Any) -> dict[str, Any]:
        body = real(order)
        if order.order_no == bad.order_no:
            body["lines"][0]["quantity"] = "two"
        return body

    monkeypatch.setattr(sandbox_api, "_order_json", broken)
    adapter = make_adapter(api_url, token, session)
    got = []
    with pytest.raises(SandboxSkippedItems) as caught:
        for order in adapter.fetch_orders(since=window()[0], until=window()[1]):
            got.append(order.external_order_id)
    assert got == [good.order_no]
    assert [i.key for i in caught.value.items] == [bad.order_no]
    assert "quantity" in caught.value.items[0].message


def test_a_revoked_token_is_an_auth_error(api_url: str, token: str, session) -> None:
    sandbox_key_revoke(actor=None, key=SandboxApiKey.objects.get())
    with pytest.raises(ChannelAuthError, match="revoked"):
        list(make_adapter(api_url, token, session).fetch_orders(since=window()[0], until=window()[1]))


def test_confirm_and_dispatch_answer_per_line_in_batches(api_url: str, token: str, session) -> None:
    listing = make_listing()
    lines = [make_order([(listing, 1)]).lines.get() for _ in range(60)]
    adapter = make_adapter(api_url, token, session)
    refs = [OrderRef(ln.order.order_no, ln.line_no) for ln in lines] + [OrderRef("x", "404")]
    results = adapter.confirm_orders(refs)
    assert [r.key for r in results] == [ln.line_no for ln in lines] + ["404"]
    assert all(r.ok for r in results[:60]) and results[60].code == "NOT_FOUND"
    assert len([c for c in session.calls if c[1].endswith("/orders/confirm")]) == 2  # 50 + 11
    dispatches = [
        Dispatch(OrderRef("", lines[0].line_no), "CJGLS", "601234567890"),
        Dispatch(OrderRef("", lines[1].line_no), "LOGEN", "12345678901"),
        Dispatch(OrderRef("", lines[2].line_no), "KGB", "123"),
    ]
    results = adapter.dispatch(dispatches)
    assert [(r.key, r.ok, r.code) for r in results] == [
        (lines[0].line_no, True, ""),
        (lines[1].line_no, False, "INVALID_COURIER"),
        (lines[2].line_no, False, "INVALID_TRACKING_NUMBER"),
    ]
    assert not results[1].retryable and "LOGEN" in results[1].message
    assert SandboxOrderLine.objects.get(pk=lines[0].pk).status == "DISPATCHED"


def test_stock_and_product_pushes_land_on_the_sandbox(api_url: str, token: str, session) -> None:
    a, b = make_listing(stock=9), make_listing(stock=9)
    adapter = make_adapter(api_url, token, session)
    results = adapter.push_stock(
        [
            StockUpdate(a.product_id, a.option_id, 0),
            StockUpdate(b.product_id, b.option_id, 4, price=17_900),
            StockUpdate(a.product_id, "404", 1),
        ]
    )
    assert [(r.key, r.ok, r.code) for r in results] == [
        (a.option_id, True, ""),
        (b.option_id, True, ""),
        ("404", False, "NOT_FOUND"),
    ]
    results = adapter.push_product(
        [
            ProductUpdate(a.product_id, a.option_id, on_sale=False),
            ProductUpdate(b.product_id, b.option_id, price=5),
        ]
    )
    assert [(r.ok, r.code) for r in results] == [(True, ""), (False, "INVALID_PRICE")]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock_quantity, a.sale_status) == (0, SandboxListing.SaleStatus.SUSPENDED)
    assert (b.stock_quantity, b.price) == (4, 17_900)


def test_a_simulated_500_on_a_stock_push_is_retried_by_the_session(
    api_url: str, token: str, monkeypatch
) -> None:
    listing = make_listing(stock=9)
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.SANDBOX,
        name="샌드박스",
        base_url=api_url,
        credentials={"api_token": token},
    )
    failures = iter([sandbox_api._error(500, "INTERNAL_ERROR", "boom")])
    monkeypatch.setattr(sandbox_api, "_fault", lambda request: next(failures, None))
    [result] = adapter_for(account).push_stock([StockUpdate(listing.product_id, listing.option_id, 3)])
    assert result.ok
    assert list(CallLog.objects.filter(account=account).values_list("status", flat=True).order_by("pk")) == [
        500,
        200,
    ]
    listing.refresh_from_db()
    assert listing.stock_quantity == 3


def test_a_sandbox_that_keeps_failing_gives_a_typed_retryable_error(
    api_url: str, token: str, settings
) -> None:
    settings.OMS_SANDBOX_FAULT_RATE = 1.0
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.SANDBOX,
        name="샌드박스",
        base_url=api_url,
        credentials={"api_token": token},
    )
    with pytest.raises((ChannelRateLimited, ChannelTemporaryError)):
        list(adapter_for(account).fetch_orders(since=window()[0], until=window()[1]))
    assert SandboxEvent.objects.filter(kind=SandboxEvent.Kind.FAULT).exists()


def test_the_token_never_reaches_the_call_log(api_url: str, token: str) -> None:
    make_order([(make_listing(), 1)])
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.SANDBOX,
        name="샌드박스",
        base_url=api_url,
        credentials={"api_token": token},
    )
    list(adapter_for(account).fetch_orders(since=window()[0], until=window()[1]))
    assert token not in ChannelAccount.objects.get(pk=account.pk).credentials_encrypted
    for call in CallLog.objects.filter(account=account):
        assert token not in f"{call.path} {call.request_excerpt} {call.response_excerpt} {call.error}"


# --- the demo's loop, end to end in this process -------------------------------------------------------


def test_orders_placed_in_the_sandbox_are_ingested_and_the_stock_push_lands_there(
    api_url: str, token: str
) -> None:
    # given a SKU with 5 in stock, listed in the sandbox under its SKU code
    location = LocationFactory.create()
    sku = SkuFactory.create(code="DM-TS01-BK-M")
    stock_receive(sku=sku, location=location, quantity=5, reason="입고")
    listing = make_listing(stock=5, seller_code=sku.code)
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.SANDBOX,
        name="샌드박스",
        base_url=api_url,
        credentials={"api_token": token},
    )
    # when buyers order and the OMS collects through the adapter
    placed = sandbox_orders_generate(count=2)
    sold = sum(ln.quantity for o in placed for ln in o.lines.all())
    orders = list(adapter_for(account).fetch_orders(since=window()[0], until=window()[1]))
    result = orders_ingest(account=account, orders=orders, source=Order.Source.API)
    # then every sandbox line is an OMS line mapped to the SKU and reserved
    assert result.orders_created == len(placed)
    lines = OrderLine.objects.filter(account=account)
    assert {ln.external_line_id for ln in lines} == {ln.line_no for o in placed for ln in o.lines.all()}
    assert all(ln.status == LineStatus.NEW for ln in lines)
    assert {s for ln in lines for s in ln.skus.values_list("sku_id", flat=True)} == {sku.pk}
    available = available_map([sku.pk])[sku.pk]
    assert available == 5 - sold
    # and collecting again creates nothing
    again = list(adapter_for(account).fetch_orders(since=window()[0], until=window()[1]))
    assert orders_ingest(account=account, orders=again, source=Order.Source.API).orders_created == 0
    # when the OMS pushes the new available quantity through the adapter
    [pushed] = adapter_for(account).push_stock(
        [StockUpdate(listing.product_id, listing.option_id, account.exposed_quantity(available))]
    )
    # then the sandbox shows it
    assert pushed.ok
    listing.refresh_from_db()
    assert listing.stock_quantity == available
    assert Sku.objects.get(pk=sku.pk).code == listing.seller_code
