"""The Naver Commerce adapter over real HTTP against FakeNaver (tests/fakes/naver.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import bcrypt
import pytest
import requests
from django.utils import timezone

from channels.adapters.base import (
    Capability,
    ChannelAuthError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
)
from channels.adapters.naver import KST, NaverCommerceAdapter, NaverSkippedItems
from channels.registry import adapter_class
from channels.types import (
    AccountConfig,
    ChannelOrder,
    Dispatch,
    ItemResult,
    LineState,
    OrderRef,
    ProductUpdate,
    StockUpdate,
)
from tests.fakes.naver import REMOVE, FakeNaver
from tests.fakes.server import RecordingSession, recent_window

pytestmark = pytest.mark.usefixtures("english")

CHANGED = "/last-changed-statuses"
DETAILS = "/product-orders/query"


@pytest.fixture
def naver() -> Iterator[FakeNaver]:
    with FakeNaver() as fake:
        yield fake


def adapter_for(
    naver: FakeNaver,
    *,
    secret: str | None = None,
    cls: type[NaverCommerceAdapter] = NaverCommerceAdapter,
    session: requests.Session | None = None,
    base_url: str | None = None,
) -> NaverCommerceAdapter:
    account = AccountConfig(
        account_id=7,
        marketplace="smartstore",
        name="테스트 스토어",
        base_url=base_url or naver.api_url,
        credentials={"client_id": naver.client_id, "client_secret": secret or naver.client_secret},
    )
    return cls(account=account, session=session or requests.Session())


def collect(
    adapter: NaverCommerceAdapter, since: datetime | None = None, until: datetime | None = None
) -> list[ChannelOrder]:
    start, end = recent_window()
    return list(adapter.fetch_orders(since=since or start, until=until or end))


def queries(naver: FakeNaver, fragment: str) -> list[dict[str, list[str]]]:
    return [r.query for r in naver.requests if fragment in r.path]


# --- registry and declaration -------------------------------------------------------------------


def test_registered_in_settings_as_the_smartstore_adapter() -> None:
    assert adapter_class("smartstore") is NaverCommerceAdapter
    assert NaverCommerceAdapter.capabilities >= {
        Capability.COLLECT_ORDERS,
        Capability.CONFIRM_ORDERS,
        Capability.DISPATCH,
        Capability.PUSH_STOCK,
        Capability.PUSH_PRODUCT,
    }
    fields = {f.name: f for f in NaverCommerceAdapter.credential_fields}
    assert (fields["client_id"].secret, fields["client_secret"].secret) == (False, True)
    assert (NaverCommerceAdapter.confirm_batch, NaverCommerceAdapter.dispatch_batch) == (30, 30)


# --- token --------------------------------------------------------------------------------------


def test_token_is_signed_with_bcrypt_and_shared_through_the_cache(naver: FakeNaver) -> None:
    naver.add_order()

    assert len(collect(adapter_for(naver))) == 1
    assert len(collect(adapter_for(naver))) == 1  # a new adapter (another worker) reuses the token

    assert naver.tokens_issued == 1
    form = {
        k: v[-1]
        for k, v in parse_qs(next(r for r in naver.requests if "oauth2" in r.path).body.decode()).items()
    }
    assert (form["grant_type"], form["type"], form["client_id"]) == (
        "client_credentials",
        "SELF",
        naver.client_id,
    )
    sign = base64.b64decode(form["client_secret_sign"])
    assert sign.startswith(naver.client_secret.encode())
    assert bcrypt.checkpw(f"{naver.client_id}_{form['timestamp']}".encode(), sign)
    api_calls = [r for r in naver.requests if "oauth2" not in r.path]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


def test_a_changed_secret_never_reuses_the_old_token(naver: FakeNaver) -> None:
    collect(adapter_for(naver))
    other_secret = bcrypt.gensalt(4, prefix=b"2a").decode()

    with pytest.raises(ChannelAuthError):
        collect(adapter_for(naver, secret=other_secret))


def test_wrong_secret_is_an_auth_error_carrying_navers_reason(naver: FakeNaver) -> None:
    with pytest.raises(ChannelAuthError) as caught:
        collect(adapter_for(naver, secret=bcrypt.gensalt(4, prefix=b"2a").decode()))
    assert "client_secret_sign" in caught.value.message
    assert naver.calls(CHANGED) == 0


def test_a_secret_that_is_no_bcrypt_salt_is_an_auth_error_before_any_call(naver: FakeNaver) -> None:
    with pytest.raises(ChannelAuthError, match=r"\$2a\$"):
        collect(adapter_for(naver, secret="plain-text-secret"))
    assert naver.requests == []


def test_expired_token_is_renewed_once_and_the_call_repeated(naver: FakeNaver) -> None:
    naver.add_order()
    collect(adapter_for(naver))
    naver.expire_tokens()

    orders = collect(adapter_for(naver))

    assert len(orders) == 1
    assert naver.tokens_issued == 2
    assert naver.calls(CHANGED) == 3  # first run, the refused call, its one repetition


def test_a_second_401_is_an_auth_error_after_exactly_one_retry(naver: FakeNaver) -> None:
    naver.fail_next(FakeNaver.auth_expired(), path=CHANGED, times=2)

    with pytest.raises(ChannelAuthError) as caught:
        collect(adapter_for(naver))

    assert caught.value.status == 401
    assert caught.value.code == "GW.AUTHN"
    assert "만료" in caught.value.message
    assert naver.calls(CHANGED) == 2
    assert naver.tokens_issued == 2


def test_401_then_success_on_a_write(naver: FakeNaver) -> None:
    order = naver.add_order()
    naver.fail_next(FakeNaver.auth_expired(), path="/confirm")

    results = adapter_for(naver).confirm_orders([OrderRef(order.order_id, order.product_order_ids[0])])

    assert results == [ItemResult(key=order.product_order_ids[0], ok=True)]
    assert naver.confirmed == order.product_order_ids


def test_check_auth_reports_both_outcomes(naver: FakeNaver) -> None:
    assert adapter_for(naver).check_auth().ok
    refused = adapter_for(naver, secret=bcrypt.gensalt(4, prefix=b"2a").decode()).check_auth()
    assert not refused.ok
    assert "client_secret_sign" in refused.message


# --- collecting --------------------------------------------------------------------------------


def test_paging_follows_more_from_and_more_sequence_and_details_go_in_batches_of_300(
    naver: FakeNaver,
) -> None:
    # All 650 changed in the same millisecond: only moreSequence tells the pages apart.
    at = timezone.now() - timedelta(minutes=5)
    for _ in range(650):
        naver.add_order(changed_at=at)

    orders = collect(adapter_for(naver))

    assert len(orders) == 650
    assert len({o.external_order_id for o in orders}) == 650
    pages = queries(naver, CHANGED)
    assert len(pages) == 3
    assert "moreSequence" not in pages[0]
    assert pages[1]["moreSequence"] and pages[2]["moreSequence"]
    assert all(p["limitCount"] == ["300"] for p in pages)
    detail_sizes = [len(r.json()["productOrderIds"]) for r in naver.requests if DETAILS in r.path]
    assert detail_sizes == [300, 300, 50]


def test_a_range_longer_than_24_hours_is_read_in_24_hour_windows(naver: FakeNaver) -> None:
    now = timezone.now()
    for hours in (70, 50, 30, 1):
        naver.add_order(changed_at=now - timedelta(hours=hours))

    orders = collect(adapter_for(naver), since=now - timedelta(hours=72), until=now)

    assert len(orders) == 4
    spans = [
        datetime.fromisoformat(q["lastChangedTo"][0]) - datetime.fromisoformat(q["lastChangedFrom"][0])
        for q in queries(naver, CHANGED)
    ]
    assert spans == [timedelta(hours=24)] * 3
    assert all(q["lastChangedFrom"][0].endswith("+09:00") for q in queries(naver, CHANGED))


def test_an_order_is_yielded_once_with_every_line_even_across_a_detail_batch(naver: FakeNaver) -> None:
    at = timezone.now() - timedelta(minutes=5)
    for _ in range(298):
        naver.add_order(changed_at=at)
    big = naver.add_order(lines=4, changed_at=at)  # would straddle the 300 boundary if split

    orders = collect(adapter_for(naver))

    ids = [o.external_order_id for o in orders]
    assert len(ids) == len(set(ids)) == 299
    found = next(o for o in orders if o.external_order_id == big.order_id)
    assert [ln.external_line_id for ln in found.lines] == big.product_order_ids
    assert all(len(r.json()["productOrderIds"]) <= 300 for r in naver.requests if DETAILS in r.path)


def test_an_order_maps_to_the_plain_dataclasses(naver: FakeNaver) -> None:
    ordered = datetime(2025, 3, 2, 14, 5, 9, tzinfo=KST)
    naver.add_order(
        order_id="2025030212345678",
        ordered_at=ordered,
        paid_at=ordered + timedelta(minutes=1),
        buyer_name="홍길동",
        buyer_tel="010-9876-5432",
        recipient={
            "name": "성춘향",
            "tel1": "010-1111-2222",
            "tel2": "0505-123-4567",
            "zipCode": "04524",
            "baseAddress": "서울특별시 중구 세종대로 110",
            "detailedAddress": "3층 301호",
        },
        memo="부재 시 문 앞",
        package_number="PKG-77",
        changed_at=timezone.now() - timedelta(minutes=1),
        lines=[
            {
                "product_order_id": "2025030212345679",
                "product_id": "8800001",
                "product_name": "오버핏 맨투맨",
                "option": "색상: 그레이 / 사이즈: L",
                "option_code": "44001",
                "option_manage_code": "MTM-GR-L",
                "seller_product_code": "MTM",
                "quantity": 2,
                "unit_price": 29000,
                "option_price": 1000,
                "total": 55000,
                "delivery_fee": 3000,
            },
            {"product_order_id": "2025030212345680", "seller_product_code": "TEE", "delivery_fee": 0},
        ],
    )

    (order,) = collect(adapter_for(naver))

    assert order.external_order_id == "2025030212345678"
    assert order.ordered_at == ordered
    assert order.paid_at == ordered + timedelta(minutes=1)
    assert (order.buyer_name, order.buyer_phone) == ("홍길동", "010-9876-5432")
    assert (order.recipient_name, order.recipient_phone, order.recipient_phone2) == (
        "성춘향",
        "010-1111-2222",
        "0505-123-4567",
    )
    assert (order.zip_code, order.address1, order.address2) == (
        "04524",
        "서울특별시 중구 세종대로 110",
        "3층 301호",
    )
    assert (order.delivery_message, order.shipping_fee, order.bundle_key) == ("부재 시 문 앞", 3000, "PKG-77")
    first, second = order.lines
    assert first.external_line_id == "2025030212345679"
    # the origin product number: what option-stock and change-status address
    assert (first.channel_product_id, first.channel_option_id) == ("4000000001", "44001")
    assert (first.product_name, first.option_text) == ("오버핏 맨투맨", "색상: 그레이 / 사이즈: L")
    assert first.seller_codes == ("MTM-GR-L", "MTM")  # most specific first
    assert (first.quantity, first.unit_price, first.line_total, first.discount) == (2, 30000, 55000, 5000)
    assert (first.state, first.channel_status) == (LineState.NEW, "PAYED:NOT_YET")
    assert second.seller_codes == ("TEE",)


@pytest.mark.parametrize(
    ("status", "place", "claim", "expected"),
    [
        ("PAYED", "NOT_YET", None, LineState.NEW),
        ("PAYED", "OK", None, LineState.CONFIRMED),
        ("DELIVERING", "OK", None, LineState.SHIPPED),
        ("DELIVERED", "OK", None, LineState.DELIVERED),
        ("PURCHASE_DECIDED", "OK", None, LineState.COMPLETED),
        ("CANCELED", "NOT_YET", None, LineState.CANCELLED),
        ("RETURNED", "OK", None, LineState.RETURNED),
        ("EXCHANGED", "OK", None, LineState.EXCHANGED),
        ("PAYED", "NOT_YET", ("CANCEL", "CANCEL_REQUEST"), LineState.CANCEL_REQUESTED),
        ("PAYED", "OK", ("ADMIN_CANCEL", "ADMIN_CANCELING"), LineState.CANCEL_REQUESTED),
        ("PAYED", "OK", ("CANCEL", "CANCEL_REJECT"), LineState.CONFIRMED),
        ("DELIVERED", "OK", ("RETURN", "RETURN_REQUEST"), LineState.RETURN_REQUESTED),
        ("DELIVERED", "OK", ("RETURN", "COLLECT_DONE"), LineState.RETURN_REQUESTED),
        ("DELIVERED", "OK", ("RETURN", "RETURN_REJECT"), LineState.DELIVERED),
        ("DELIVERED", "OK", ("EXCHANGE", "EXCHANGE_REQUEST"), LineState.EXCHANGE_REQUESTED),
        ("DELIVERED", "OK", ("EXCHANGE", "EXCHANGE_REDELIVERING"), LineState.EXCHANGE_REQUESTED),
        ("CANCELED", "OK", ("CANCEL", "CANCEL_DONE"), LineState.CANCELLED),
        ("RETURNED", "OK", ("RETURN", "RETURN_DONE"), LineState.RETURNED),
        (
            "DELIVERED",
            "OK",
            ("PURCHASE_DECISION_HOLDBACK", "PURCHASE_DECISION_HOLDBACK"),
            LineState.DELIVERED,
        ),
    ],
)
def test_state_mapping(
    naver: FakeNaver, status: str, place: str, claim: tuple[str, str] | None, expected: LineState
) -> None:
    line: dict[str, Any] = {"status": status, "place_order_status": place}
    if claim:
        line.update(claim_type=claim[0], claim_status=claim[1])
    naver.add_order(lines=[line])

    (order,) = collect(adapter_for(naver))

    assert order.lines[0].state == expected
    assert order.lines[0].channel_status.startswith(f"{status}:{place}")


def test_claim_read_from_current_claim_when_the_product_order_lacks_it(naver: FakeNaver) -> None:
    order = naver.add_order()
    naver.claim(order.product_order_ids[0], "CANCEL", "CANCEL_REQUEST")
    naver.override(order.product_order_ids[0], claimType=REMOVE, claimStatus=REMOVE)

    (collected,) = collect(adapter_for(naver))

    assert collected.lines[0].state == LineState.CANCEL_REQUESTED


def test_unpaid_product_orders_are_left_out_silently(naver: FakeNaver) -> None:
    naver.add_order(lines=[{"status": "PAYMENT_WAITING"}])
    naver.add_order(lines=[{"status": "CANCELED_BY_NOPAYMENT"}])
    paid = naver.add_order()

    orders = collect(adapter_for(naver))

    assert [o.external_order_id for o in orders] == [paid.order_id]


def test_a_changed_address_is_collected_again(naver: FakeNaver) -> None:
    order = naver.add_order(changed_at=timezone.now() - timedelta(minutes=30))
    adapter = adapter_for(naver)
    collect(adapter)

    naver.change_address(order.order_id, baseAddress="부산광역시 해운대구 센텀중앙로 79", zipCode="48058")
    (again,) = collect(adapter, since=timezone.now() - timedelta(minutes=5))

    assert (again.zip_code, again.address1) == ("48058", "부산광역시 해운대구 센텀중앙로 79")


def test_a_malformed_item_is_reported_after_every_good_order_was_yielded(naver: FakeNaver) -> None:
    good = [naver.add_order() for _ in range(3)]
    broken = naver.add_order(lines=2)
    naver.override(broken.product_order_ids[1], quantity="many")
    weird = naver.add_order()
    naver.override(weird.product_order_ids[0], productOrderStatus="TELEPORTED")
    naver.override(good[0].product_order_ids[0], section="order", orderDate="어제")
    adapter = adapter_for(naver)

    yielded: list[ChannelOrder] = []
    with pytest.raises(NaverSkippedItems) as caught:
        for order in adapter.fetch_orders(since=recent_window()[0], until=recent_window()[1]):
            yielded.append(order)

    assert isinstance(caught.value, ChannelTemporaryError)
    assert {o.external_order_id for o in yielded} == {good[1].order_id, good[2].order_id, broken.order_id}
    kept = next(o for o in yielded if o.external_order_id == broken.order_id)
    assert [ln.external_line_id for ln in kept.lines] == broken.product_order_ids[:1]
    reasons = {item.key: item.message for item in caught.value.items}
    assert reasons.keys() == {
        good[0].product_order_ids[0],
        broken.product_order_ids[1],
        weird.product_order_ids[0],
    }
    assert "quantity" in reasons[broken.product_order_ids[1]]
    assert "TELEPORTED" in reasons[weird.product_order_ids[0]]
    assert "orderDate" in reasons[good[0].product_order_ids[0]]
    assert adapter.skipped == caught.value.items
    assert "3" in caught.value.message


# --- transport failures ---------------------------------------------------------------------------


def test_429_is_rate_limited_with_the_retry_after_hint(naver: FakeNaver) -> None:
    naver.fail_next(FakeNaver.rate_limited(retry_after=2), path=CHANGED)
    with pytest.raises(ChannelRateLimited) as caught:
        collect(adapter_for(naver))
    assert (caught.value.retry_after, caught.value.code, caught.value.status) == (2.0, "GW.RATE_LIMIT", 429)


def test_429_without_retry_after_uses_the_gateway_rate_header(naver: FakeNaver) -> None:
    naver.fail_next(FakeNaver.rate_limited(retry_after=None), path=DETAILS)
    naver.add_order()
    with pytest.raises(ChannelRateLimited) as caught:
        collect(adapter_for(naver))
    assert caught.value.retry_after == 0.5  # Replenish-Rate 2 a second


def test_the_fakes_own_token_bucket_answers_429(naver: FakeNaver) -> None:
    with FakeNaver(rate_limit_per_second=2) as limited:
        adapter = adapter_for(limited)
        with pytest.raises(ChannelRateLimited):
            for _ in range(5):
                collect(adapter)
        assert not adapter.check_auth().ok


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_temporary(naver: FakeNaver, status: int) -> None:
    naver.fail_next(FakeNaver.server_error(status), path=CHANGED)
    with pytest.raises(ChannelTemporaryError) as caught:
        collect(adapter_for(naver))
    assert caught.value.status == status


def test_a_slow_answer_times_out_as_temporary(naver: FakeNaver) -> None:
    class Impatient(NaverCommerceAdapter):
        timeout = (2.0, 0.3)

    naver.slow_next(1.0, path=CHANGED)
    with pytest.raises(ChannelTemporaryError, match="in time"):
        collect(adapter_for(naver, cls=Impatient))


def test_malformed_json_is_temporary_not_a_traceback(naver: FakeNaver) -> None:
    naver.add_order()
    naver.fail_next(FakeNaver.malformed_json(), path=DETAILS)
    with pytest.raises(ChannelTemporaryError, match="not JSON"):
        collect(adapter_for(naver))


@pytest.mark.parametrize(
    "body",
    [
        {"data": "nope"},
        {"data": {"lastChangeStatuses": "x"}},
        [1, 2],
        {"data": {"more": {"moreSequence": "1"}}},
    ],
)
def test_an_unexpected_page_shape_is_temporary(naver: FakeNaver, body: Any) -> None:
    from tests.fakes.server import Response

    naver.fail_next(Response(200, body), path=CHANGED)
    with pytest.raises(ChannelTemporaryError):
        collect(adapter_for(naver))


def test_an_unreachable_server_is_temporary(naver: FakeNaver) -> None:
    adapter = adapter_for(naver)
    adapter.check_auth()
    url = naver.api_url
    naver.stop()
    with pytest.raises(ChannelTemporaryError, match="reach"):
        collect(adapter_for(naver, base_url=url))


def test_a_refused_request_is_a_request_error_with_navers_invalid_inputs(naver: FakeNaver) -> None:
    class TooGreedy(NaverCommerceAdapter):
        confirm_batch = 31

    refs = [OrderRef(o.order_id, o.product_order_ids[0]) for o in (naver.add_order() for _ in range(31))]
    with pytest.raises(ChannelRequestError) as caught:
        adapter_for(naver, cls=TooGreedy).confirm_orders(refs)
    assert caught.value.status == 400
    assert "productOrderIds" in caught.value.message and "30" in caught.value.message


def test_every_request_carries_the_timeout(naver: FakeNaver) -> None:
    naver.add_order()
    session = RecordingSession()
    adapter = adapter_for(naver, session=session)
    collect(adapter)
    adapter.confirm_orders([OrderRef("x", "1")])
    adapter.push_stock([StockUpdate("4000000001", "30000001", 3)])
    assert len(session.sent) >= 5
    assert all(call["timeout"] == NaverCommerceAdapter.timeout for call in session.sent)


# --- writes ------------------------------------------------------------------------------------


def test_confirm_in_batches_of_30_with_partial_failures(naver: FakeNaver) -> None:
    orders = [naver.add_order() for _ in range(34)]
    refs = [OrderRef(o.order_id, o.product_order_ids[0]) for o in orders]
    refs.append(OrderRef("0", "9999"))
    naver.fail_items({refs[3].external_line_id: ("104105", "이미 취소 요청된 주문입니다.")})

    results = adapter_for(naver).confirm_orders(refs)

    assert [r.key for r in results] == [ref.external_line_id for ref in refs]
    failed = {r.key: r for r in results if not r.ok}
    assert failed.keys() == {refs[3].external_line_id, "9999"}
    assert (failed[refs[3].external_line_id].code, failed[refs[3].external_line_id].message) == (
        "104105",
        "이미 취소 요청된 주문입니다.",
    )
    assert failed["9999"].code == "NOT_FOUND"
    assert [len(r.json()["productOrderIds"]) for r in naver.requests if "/confirm" in r.path] == [30, 5]
    assert len(naver.confirmed) == 33


def test_dispatch_in_batches_of_30_with_courier_codes_and_partial_failures(naver: FakeNaver) -> None:
    orders = [naver.add_order() for _ in range(32)]
    sent_at = datetime(2025, 5, 1, 9, 30, tzinfo=KST)
    dispatches = [
        Dispatch(OrderRef(o.order_id, o.product_order_ids[0]), "CJGLS", f"6{n:011d}", sent_at)
        for n, o in enumerate(orders)
    ]
    dispatches[1] = Dispatch(dispatches[1].ref, "LOTTE", "123456789012", sent_at)  # Naver calls 롯데 HYUNDAI
    dispatches[2] = Dispatch(dispatches[2].ref, "HYUNDAI", "123456789013")

    results = adapter_for(naver).dispatch(dispatches)

    assert [r.ok for r in results] == [True, False] + [True] * 30
    assert results[1].code == "INVALID_DELIVERY_COMPANY"
    assert [len(r.json()["dispatchProductOrders"]) for r in naver.requests if "/dispatch" in r.path] == [
        30,
        2,
    ]
    first = naver.dispatched[0]
    assert first["deliveryMethod"] == "DELIVERY"
    assert (first["deliveryCompanyCode"], first["trackingNumber"]) == ("CJGLS", "600000000000")
    assert first["dispatchDate"] == "2025-05-01T09:30:00.000+09:00"
    assert naver.dispatched[1]["deliveryCompanyCode"] == "HYUNDAI"
    assert naver.dispatched[1]["dispatchDate"].endswith("+09:00")
    # Dispatching again (a redelivered task) is answered as done, not as an error.
    again = adapter_for(naver).dispatch([dispatches[0]])
    assert again == [ItemResult(key=orders[0].product_order_ids[0], ok=True)]


def test_stock_push_groups_options_by_origin_product(naver: FakeNaver) -> None:
    naver.add_product("4000000001", ["101", "102", "103"], sale_price=19900)
    naver.add_product("4000000002", ["201"])
    naver.add_product("4000000003", stock=1, sale_price=12900)  # no options

    results = adapter_for(naver).push_stock(
        [
            StockUpdate("4000000001", "101", 5),
            StockUpdate("4000000002", "201", 0),
            StockUpdate("4000000001", "102", 0, price=20900, base_price=19900),
            StockUpdate("4000000001", "101", 4),  # the later quantity wins
            StockUpdate("4000000003", "", 9),
        ]
    )

    assert all(r.ok for r in results), results
    assert [r.key for r in results] == ["101", "201", "102", "101", "4000000003"]  # one per update
    assert naver.calls("/option-stock", "PUT") == 2
    body = dict(naver.stock_pushes)["4000000001"]
    assert body["optionInfo"]["optionCombinations"] == [
        {"id": 101, "stockQuantity": 4, "usable": True},
        {"id": 102, "stockQuantity": 0, "usable": True, "price": 1000},  # the extra over 19,900
    ]
    assert body["productSalePrice"] == {"salePrice": 19900}
    assert naver.stock[("4000000001", "101")] == 4
    assert naver.stock[("4000000002", "201")] == 0
    assert naver.prices[("4000000001", "102")] == 20900
    # a product without options: read, stock changed, the whole product sent back
    assert [r.method for r in naver.requests if "/v2/products/origin-products/4000000003" in r.path] == [
        "GET",
        "PUT",
    ]
    assert naver.stock[("4000000003", "")] == 9
    kept = naver.origin_products["4000000003"]["originProduct"]
    assert (kept["salePrice"], kept["name"]) == (12900, "기본 반팔 티셔츠 4000000003")


def test_option_prices_are_sent_as_the_amount_added_to_the_sale_price(naver: FakeNaver) -> None:
    # given options of a 19,900 product: one dearer, one cheaper, one priced without its base
    naver.add_product("4000000001", ["101", "102", "103"], sale_price=19900)

    results = adapter_for(naver).push_product(
        [
            ProductUpdate("4000000001", "101", price=22900, base_price=19900),
            ProductUpdate("4000000001", "102", price=17900, base_price=19900),
        ]
    )
    missing_base = adapter_for(naver).push_stock([StockUpdate("4000000001", "103", 1, price=25900)])

    assert [r.ok for r in results] == [True, True]
    (_no, body) = naver.stock_pushes[0]
    assert [c["price"] for c in body["optionInfo"]["optionCombinations"]] == [3000, -2000]
    assert (naver.prices[("4000000001", "101")], naver.prices[("4000000001", "102")]) == (22900, 17900)
    assert (missing_base[0].ok, missing_base[0].code) == (False, "NO_BASE_PRICE")
    assert len(naver.stock_pushes) == 1  # nothing sent for it


def test_naver_refuses_a_full_price_sent_as_the_option_price(naver: FakeNaver) -> None:
    # The old mistake: the SKU's whole price as optionCombinations[].price.
    naver.add_product("4000000001", ["101"], sale_price=19900)
    token = adapter_for(naver)._access_token()
    with requests.Session() as http:
        answer = http.put(
            naver.api_url + "/v1/products/origin-products/4000000001/option-stock",
            json={"optionInfo": {"optionCombinations": [{"id": 101, "price": 19900}]}},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 400
    assert answer.json()["invalidInputs"][0]["name"] == "optionInfo.optionCombinations[0].price"


def test_a_product_without_options_is_not_sent_to_option_stock(naver: FakeNaver) -> None:
    naver.add_product("4000000003", stock=2)
    naver.fail_next(FakeNaver.server_error(503), path="/v2/products/origin-products/4000000003", method="PUT")

    (failed,) = adapter_for(naver).push_stock([StockUpdate("4000000003", "", 7)])
    (done,) = adapter_for(naver).push_stock([StockUpdate("4000000003", "", 7)])

    assert (failed.ok, failed.retryable) == (False, True) and done.ok
    assert naver.calls("/option-stock") == 0
    assert naver.stock[("4000000003", "")] == 7


def test_a_refused_product_fails_only_its_own_stock_items(naver: FakeNaver) -> None:
    naver.add_product("4000000001", ["101"])
    naver.add_product("4000000002", ["201", "202"])
    naver.fail_next(FakeNaver.server_error(503), path="/4000000003/")

    results = adapter_for(naver).push_stock(
        [
            StockUpdate("4000000001", "101", 5),
            StockUpdate("4000000002", "201", 1),
            StockUpdate("4000000002", "999", 1),  # not an option of that product
            StockUpdate("4000000003", "301", 1),
            StockUpdate("not-a-number", "1", 1),
        ]
    )

    by_key = {r.key: r for r in results}
    assert by_key["101"].ok
    assert not by_key["201"].ok and not by_key["999"].ok
    assert "999" in by_key["999"].message and not by_key["999"].retryable
    assert not by_key["301"].ok and by_key["301"].retryable
    assert by_key["1"].code == "BAD_PRODUCT_NO"
    assert naver.stock[("4000000002", "201")] == 0  # nothing of the refused product was applied


def test_stock_push_stops_on_a_rate_limit(naver: FakeNaver) -> None:
    naver.fail_next(FakeNaver.rate_limited(retry_after=3), path="/option-stock")
    with pytest.raises(ChannelRateLimited) as caught:
        adapter_for(naver).push_stock(
            [StockUpdate("4000000001", "101", 5), StockUpdate("4000000002", "201", 1)]
        )
    assert caught.value.retry_after == 3.0
    assert naver.stock_pushes == []


def test_push_product_changes_sale_status_and_price(naver: FakeNaver) -> None:
    naver.add_product("4000000001", ["101"], sale_price=19900)
    naver.add_product("4000000002")

    results = adapter_for(naver).push_product(
        [
            ProductUpdate("4000000001", on_sale=False),
            ProductUpdate("4000000002", on_sale=True, price=15900),
            ProductUpdate("4000000001", "101", price=21900, base_price=19900),
            ProductUpdate("4000000002", name="새 이름"),
        ]
    )

    assert [r.ok for r in results] == [True, True, True, False]
    assert [r.key for r in results] == ["4000000001", "4000000002", "101", "4000000002"]
    assert results[3].code == "NAME_NOT_SUPPORTED"
    assert sorted(naver.status_changes) == [("4000000001", "SUSPENSION"), ("4000000002", "SALE")]
    assert naver.prices[("4000000001", "101")] == 21900
    assert naver.option_extras[("4000000001", "101")] == 2000
    assert naver.prices[("4000000002", "")] == 15900


def test_push_product_reports_a_refused_status_change(naver: FakeNaver) -> None:
    naver.fail_items(["4000000009"], code="PRODUCT_CLOSED", message="판매종료된 상품입니다.")
    (result,) = adapter_for(naver).push_product([ProductUpdate("4000000009", on_sale=True)])
    assert (result.ok, result.code, result.retryable) == (False, "PRODUCT_CLOSED", False)
    assert result.message.startswith("판매종료된 상품입니다.")
