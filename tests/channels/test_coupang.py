"""The Coupang adapter over real HTTP against FakeCoupang (tests/fakes/coupang.py)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
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
from channels.adapters.coupang import (
    COUPANG_RATE_PER_SECOND,
    KST,
    RATE_LIMIT_DEFAULT_WAIT,
    CoupangAdapter,
    CoupangSkippedItems,
)
from channels.http import RetryPolicy
from channels.http import adapter_for as channel_adapter_for
from channels.models import CallLog, Marketplace
from channels.registry import adapter_class
from channels.services_accounts import channel_account_create
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
from orders.excel import parse_order_sheet
from orders.excel_profiles import BUILTIN_PROFILES
from orders.ingest import orders_ingest
from orders.models import Order, OrderLine
from tests.channels.factories import ChannelAccountFactory
from tests.fakes.coupang import REMOVE, FakeCoupang, error
from tests.fakes.server import RecordingSession, Response, recent_window

pytestmark = pytest.mark.usefixtures("english")

SHEETS = "/ordersheets"
ACK = "/ordersheets/acknowledgement"
INVOICES = "/orders/invoices"
SAMPLE = Path(__file__).parents[1] / "samples" / "coupang_DeliveryList_sample.xlsx"


class TamperingSession(requests.Session):
    """Changes the query after the adapter signed it, like a proxy that rewrites URLs."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        assert isinstance(url, str)
        return super().request(method, url.replace("maxPerPage=50", "maxPerPage=49"), *args, **kwargs)


@pytest.fixture
def coupang() -> Iterator[FakeCoupang]:
    with FakeCoupang() as fake:
        yield fake


def adapter_for(
    coupang: FakeCoupang,
    *,
    cls: type[CoupangAdapter] = CoupangAdapter,
    session: requests.Session | None = None,
    base_url: str | None = None,
    **credentials: str,
) -> CoupangAdapter:
    account = AccountConfig(
        account_id=9,
        marketplace="coupang",
        name="쿠팡 테스트",
        base_url=base_url or coupang.base_url,
        credentials={**coupang.credentials, **credentials},
    )
    return cls(account=account, session=session or requests.Session())


def collect(
    adapter: CoupangAdapter, since: datetime | None = None, until: datetime | None = None
) -> list[ChannelOrder]:
    start, end = recent_window()
    return list(adapter.fetch_orders(since=since or start, until=until or end))


def sheet_queries(coupang: FakeCoupang) -> list[dict[str, list[str]]]:
    return [r.query for r in coupang.requests if r.path.endswith(SHEETS)]


def bodies(coupang: FakeCoupang, fragment: str) -> list[Any]:
    return [r.json() for r in coupang.requests if r.path.endswith(fragment)]


# --- registry and declaration -------------------------------------------------------------------


def test_registered_in_settings_as_the_coupang_adapter() -> None:
    assert adapter_class("coupang") is CoupangAdapter
    assert CoupangAdapter.code == Marketplace.COUPANG
    assert CoupangAdapter.capabilities >= {
        Capability.COLLECT_ORDERS,
        Capability.CONFIRM_ORDERS,
        Capability.DISPATCH,
        Capability.PUSH_STOCK,
        Capability.PUSH_PRODUCT,
    }
    fields = {f.name: f.secret for f in CoupangAdapter.credential_fields}
    assert fields == {"access_key": False, "secret_key": True, "vendor_id": False}
    assert CoupangAdapter.default_base_url == "https://api-gateway.coupang.com"
    assert CoupangAdapter.rate_per_second == COUPANG_RATE_PER_SECOND <= 10
    assert CoupangAdapter.confirm_batch == 50


# --- signing --------------------------------------------------------------------------------------


def test_every_call_is_signed_with_cea_hmac_over_method_path_and_the_query_as_sent(
    coupang: FakeCoupang,
) -> None:
    box = coupang.add_order()
    adapter = adapter_for(coupang)

    collect(adapter)
    adapter.confirm_orders([OrderRef(box.order_id, box.line_ids[0])])
    adapter.push_stock([StockUpdate("1", "70000000001", 3)])

    assert coupang.auth_refusals == []
    assert len(coupang.requests) == 5 + 1 + 1 + 1  # five statuses, the cancel receipts, two writes
    pattern = re.compile(
        r"CEA algorithm=HmacSHA256, access-key=(?P<key>[^,]+), "
        r"signed-date=(?P<date>\d{6}T\d{6}Z), signature=(?P<sig>[0-9a-f]{64})"
    )
    for request in coupang.requests:
        match = pattern.fullmatch(request.headers["authorization"])
        assert match, request.headers["authorization"]
        assert match["key"] == coupang.access_key
        signed = datetime.strptime(match["date"], "%y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert abs(datetime.now(UTC) - signed) < timedelta(minutes=1)  # UTC, not Korean time
        message = f"{match['date']}{request.method}{request.path}{request.raw_query}"
        expected = hmac.new(coupang.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()
        assert match["sig"] == expected
        assert request.headers["x-requested-by"] == coupang.vendor_id
    first = coupang.requests[0]
    assert first.path == f"/v2/providers/openapi/apis/api/v4/vendors/{coupang.vendor_id}/ordersheets"
    assert first.raw_query.startswith("searchType=timeFrame&createdAtFrom=")
    assert "%3A" in first.raw_query  # the colon of HH:mm, encoded once and signed encoded


def test_a_query_changed_after_signing_is_refused(coupang: FakeCoupang) -> None:
    with pytest.raises(ChannelAuthError) as caught:
        collect(adapter_for(coupang, session=TamperingSession()))

    assert caught.value.status == 401
    assert caught.value.message == "Specified signature is not matched."
    assert coupang.auth_refusals == ["Specified signature is not matched."]


def test_a_wrong_secret_is_an_auth_error_carrying_coupangs_reason(coupang: FakeCoupang) -> None:
    with pytest.raises(ChannelAuthError, match="signature is not matched"):
        collect(adapter_for(coupang, secret_key="not-the-secret"))

    refused = adapter_for(coupang, secret_key="not-the-secret").check_auth()
    assert not refused.ok
    assert "signature" in refused.message


def test_a_wrong_access_key_or_vendor_is_refused(coupang: FakeCoupang) -> None:
    with pytest.raises(ChannelAuthError, match="access key"):
        collect(adapter_for(coupang, access_key="someone-else"))
    with pytest.raises(ChannelAuthError, match="A00099999"):
        collect(adapter_for(coupang, vendor_id="A00099999"))


def test_missing_or_odd_credentials_are_auth_errors_before_any_call(coupang: FakeCoupang) -> None:
    with pytest.raises(ChannelAuthError, match="not all set"):
        collect(adapter_for(coupang, secret_key=" "))
    with pytest.raises(ChannelAuthError, match="vendor code"):
        adapter_for(coupang, vendor_id="A000 12345").confirm_orders([OrderRef("1", "2-3")])
    assert not adapter_for(coupang, vendor_id="").check_auth().ok
    assert coupang.requests == []


def test_check_auth_says_which_vendor_answered(coupang: FakeCoupang) -> None:
    check = adapter_for(coupang).check_auth()
    assert check.ok
    assert coupang.vendor_id in check.message
    assert coupang.requests[0].query["maxPerPage"] == ["1"]


# --- collecting --------------------------------------------------------------------------------


def test_paging_follows_next_token_until_it_is_empty(coupang: FakeCoupang) -> None:
    at = timezone.now() - timedelta(minutes=30)
    boxes = coupang.add_orders(120, start=at, step=timedelta(milliseconds=1))

    orders = collect(adapter_for(coupang))

    assert sorted(o.external_order_id for o in orders) == sorted(b.order_id for b in boxes)
    accept = [q for q in sheet_queries(coupang) if q["status"] == ["ACCEPT"]]
    assert len(accept) == 3
    assert "nextToken" not in accept[0]
    assert accept[1]["nextToken"][0] and accept[2]["nextToken"][0] != accept[1]["nextToken"][0]
    assert all(q["maxPerPage"] == ["50"] and q["searchType"] == ["timeFrame"] for q in accept)


def test_every_status_of_the_window_is_read_in_the_order_a_box_moves(coupang: FakeCoupang) -> None:
    collect(adapter_for(coupang))

    assert [q["status"][0] for q in sheet_queries(coupang)] == [
        "ACCEPT",
        "INSTRUCT",
        "DEPARTURE",
        "DELIVERING",
        "FINAL_DELIVERY",
    ]


def test_a_range_longer_than_24_hours_is_read_in_24_hour_windows(coupang: FakeCoupang) -> None:
    now = timezone.now().replace(second=30, microsecond=0)
    boxes = [coupang.add_order(ordered_at=now - timedelta(hours=h)) for h in (70, 50, 30, 1)]
    # On the boundary minute two windows share: read by both, yielded once.
    boundary = coupang.add_order(ordered_at=now - timedelta(hours=48))

    orders = collect(adapter_for(coupang), since=now - timedelta(hours=72), until=now)

    assert sorted(o.external_order_id for o in orders) == sorted(b.order_id for b in [*boxes, boundary])
    accept = [q for q in sheet_queries(coupang) if q["status"] == ["ACCEPT"]]
    spans = [
        (datetime.fromisoformat(q["createdAtFrom"][0]), datetime.fromisoformat(q["createdAtTo"][0]))
        for q in accept
    ]
    assert [end - start for start, end in spans] == [timedelta(hours=24)] * 3
    assert spans[0][0] == (now - timedelta(hours=72)).astimezone(KST).replace(second=0, tzinfo=None)
    assert spans[-1][1] == now.astimezone(KST).replace(second=0, microsecond=0, tzinfo=None)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_an_order_sheet_maps_to_the_plain_dataclasses(coupang: FakeCoupang) -> None:
    ordered = datetime(2025, 3, 2, 14, 5, 9, tzinfo=KST)
    coupang.add_order(
        shipment_box_id="640000001",
        order_id="27000000000101",
        ordered_at=ordered,
        paid_at=ordered + timedelta(minutes=1),
        orderer={"name": "홍*동", "safeNumber": "0502-1111-2222"},
        receiver={
            "name": "성춘향",
            "safeNumber": "0504-3333-4444",
            "receiverNumber": "010-9876-5432",
            "addr1": "서울특별시 중구 세종대로 110",
            "addr2": "3층 301호",
            "postCode": "04524",
        },
        message="부재 시 문 앞",
        shipping_price=3000,
        items=[
            {
                "vendor_item_id": "85000000011",
                "vendor_item_name": "오버핏 맨투맨, 그레이 L",
                "seller_product_id": "13500000001",
                "seller_product_name": "오버핏 맨투맨",
                "seller_product_item_name": "그레이 L",
                "external_vendor_sku_code": "MTM-GR-L",
                "shipping_count": 2,
                "sales_price": 29000,
                "order_price": 55000,
            },
            {"vendor_item_id": "85000000012", "seller_product_name": "", "vendor_item_name": "양말, 흰색"},
        ],
    )

    (order,) = collect(adapter_for(coupang), since=ordered - timedelta(minutes=1), until=ordered)

    assert (order.external_order_id, order.bundle_key) == ("27000000000101", "640000001")
    assert (order.ordered_at, order.paid_at) == (ordered, ordered + timedelta(minutes=1))
    assert (order.buyer_name, order.buyer_phone) == ("홍*동", "0502-1111-2222")
    assert (order.recipient_name, order.recipient_phone, order.recipient_phone2) == (
        "성춘향",
        "0504-3333-4444",
        "010-9876-5432",
    )
    assert (order.zip_code, order.address1, order.address2) == (
        "04524",
        "서울특별시 중구 세종대로 110",
        "3층 301호",
    )
    assert (order.delivery_message, order.shipping_fee) == ("부재 시 문 앞", 3000)
    first, second = order.lines
    assert first.external_line_id == "640000001-85000000011"
    # 노출상품ID, the id the DeliveryList sheet carries, so mappings serve Excel and API alike
    assert (first.channel_product_id, first.channel_option_id) == ("7000000001", "85000000011")
    assert (first.product_name, first.option_text, first.seller_codes) == (
        "오버핏 맨투맨",
        "그레이 L",
        ("MTM-GR-L",),
    )
    assert (first.quantity, first.unit_price, first.line_total, first.discount) == (2, 29000, 55000, 3000)
    assert (first.state, first.channel_status) == (LineState.NEW, "ACCEPT")
    assert (second.product_name, second.seller_codes) == ("양말, 흰색", ())  # vendorItemName when unnamed
    assert order.raw["orderSheets"][0]["shipmentBoxId"] == 640000001


def test_the_boxes_of_one_order_become_one_order(coupang: FakeCoupang) -> None:
    first = coupang.add_order(items=[{"vendor_item_id": "81"}], shipping_price=2500)
    second = coupang.add_order(
        order_id=first.order_id, items=[{"vendor_item_id": "82"}], status="INSTRUCT", shipping_price=3000
    )

    (order,) = collect(adapter_for(coupang))

    assert order.bundle_key == first.shipment_box_id
    assert [ln.external_line_id for ln in order.lines] == [*first.line_ids, *second.line_ids]
    assert [ln.state for ln in order.lines] == [LineState.NEW, LineState.CONFIRMED]
    assert order.shipping_fee == 5500


def test_money_may_come_as_coupangs_money_objects(coupang: FakeCoupang) -> None:
    box = coupang.add_order()
    coupang.override(
        box.shipment_box_id,
        "70000000001",
        salesPrice={"currencyCode": "KRW", "units": 12000, "nanos": 0},
        orderPrice={"currencyCode": "KRW", "units": 12000, "nanos": 0},
    )
    coupang.override(box.shipment_box_id, shippingPrice={"currencyCode": "KRW", "units": 2500, "nanos": 0})

    (order,) = collect(adapter_for(coupang))

    assert (order.lines[0].unit_price, order.lines[0].line_total, order.shipping_fee) == (12000, 12000, 2500)


@pytest.mark.parametrize(
    ("status", "cancel", "expected", "channel_status"),
    [
        ("ACCEPT", None, LineState.NEW, "ACCEPT"),
        ("INSTRUCT", None, LineState.CONFIRMED, "INSTRUCT"),
        ("DEPARTURE", None, LineState.SHIPPED, "DEPARTURE"),
        ("DELIVERING", None, LineState.SHIPPED, "DELIVERING"),
        ("FINAL_DELIVERY", None, LineState.DELIVERED, "FINAL_DELIVERY"),
        ("ACCEPT", {}, LineState.CANCELLED, "ACCEPT:CANCELLED"),
        ("INSTRUCT", {"requested": True}, LineState.CANCEL_REQUESTED, "INSTRUCT:CANCEL_HOLD 3"),
        ("INSTRUCT", {"count": 1}, LineState.CONFIRMED, "INSTRUCT:CANCEL 1/3"),
    ],
)
def test_state_mapping(
    coupang: FakeCoupang, status: str, cancel: dict[str, Any] | None, expected: LineState, channel_status: str
) -> None:
    box = coupang.add_order(status=status, items=[{"shipping_count": 3}])
    if cancel is not None:
        coupang.cancel(box.shipment_box_id, **cancel)

    (order,) = collect(adapter_for(coupang))

    assert (order.lines[0].state, order.lines[0].channel_status) == (expected, channel_status)
    assert order.lines[0].quantity == 3


def test_a_cancel_of_an_order_made_days_ago_is_collected_in_the_window_of_the_cancel(
    coupang: FakeCoupang,
) -> None:
    # given an order made three days ago (outside this window) with two boxes, one cancelled now
    three_days_ago = timezone.now() - timedelta(days=3)
    old = coupang.add_order(ordered_at=three_days_ago, items=[{"shipping_count": 2}])
    coupang.add_order(order_id=old.order_id, ordered_at=three_days_ago, items=[{"shipping_count": 1}])
    coupang.cancel(old.shipment_box_id, requested=True)
    fresh = coupang.add_order()

    orders = {o.external_order_id: o for o in collect(adapter_for(coupang))}

    # then the old order comes back with the cancelled box's line, now a cancel request
    assert orders.keys() == {old.order_id, fresh.order_id}
    (line,) = orders[old.order_id].lines
    assert (line.external_line_id, line.state) == (old.line_ids[0], LineState.CANCEL_REQUESTED)
    assert orders[old.order_id].recipient_name  # a whole sheet: the address is not blanked
    # found through the cancel receipts of this window, then that one box read again
    receipts = [r.query for r in coupang.requests if r.path.endswith("/returnRequests")]
    assert [q["cancelType"] for q in receipts] == [["CANCEL"]]
    assert coupang.calls(f"/ordersheets/{old.shipment_box_id}") == 1


def test_cancel_receipts_refused_leave_the_collection_of_order_sheets_whole(coupang: FakeCoupang) -> None:
    # A key without the returns permission (403) or a gateway without the endpoint (404):
    # the order sheets still come in, and nothing is held back for the next run.
    box = coupang.add_order()
    coupang.fail_next(error(404, "Not Found"), path="/returnRequests")
    (order,) = collect(adapter_for(coupang))
    coupang.fail_next(error(403, "권한이 없습니다."), path="/returnRequests")
    adapter = adapter_for(coupang)
    (again,) = collect(adapter)
    assert order.external_order_id == again.external_order_id == box.order_id
    assert adapter.skipped == []


def test_a_cancel_receipt_of_a_box_already_read_costs_no_extra_call(coupang: FakeCoupang) -> None:
    box = coupang.add_order(items=[{"shipping_count": 2}])
    coupang.cancel(box.shipment_box_id)

    (order,) = collect(adapter_for(coupang))

    assert order.lines[0].state == LineState.CANCELLED
    assert coupang.calls(f"/ordersheets/{box.shipment_box_id}") == 0


def test_a_box_that_moved_on_during_the_collection_is_yielded_once_in_its_later_state(
    coupang: FakeCoupang,
) -> None:
    box = coupang.add_order()

    class Moving(requests.Session):
        def request(
            self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
        ) -> requests.Response:
            answer = super().request(method, url, *args, **kwargs)
            if "status=ACCEPT" in str(url):
                coupang.set_status(box.shipment_box_id, "INSTRUCT")  # acknowledged in Wing meanwhile
            return answer

    orders = collect(adapter_for(coupang, session=Moving()))

    assert len(orders) == 1
    assert orders[0].lines[0].state == LineState.CONFIRMED


def test_malformed_items_are_reported_after_every_good_order_was_yielded(coupang: FakeCoupang) -> None:
    good = coupang.add_order()
    partly = coupang.add_order(items=2)
    coupang.override(partly.shipment_box_id, "70000000002", shippingCount="many")
    no_order = coupang.add_order()
    coupang.override(no_order.shipment_box_id, orderId=REMOVE)
    odd = coupang.add_order()
    coupang.override(odd.shipment_box_id, orderItems="none")
    dated = coupang.add_order()
    coupang.override(dated.shipment_box_id, orderedAt="어제")
    adapter = adapter_for(coupang)

    yielded: list[ChannelOrder] = []
    with pytest.raises(CoupangSkippedItems) as caught:
        for order in adapter.fetch_orders(since=recent_window()[0], until=recent_window()[1]):
            yielded.append(order)

    assert isinstance(caught.value, ChannelTemporaryError)
    assert {o.external_order_id for o in yielded} == {good.order_id, partly.order_id}
    kept = next(o for o in yielded if o.external_order_id == partly.order_id)
    assert [ln.external_line_id for ln in kept.lines] == partly.line_ids[:1]
    reasons = {item.key: item.message for item in caught.value.items}
    assert reasons.keys() == {
        partly.line_ids[1],
        no_order.shipment_box_id,
        odd.shipment_box_id,
        dated.shipment_box_id,
    }
    assert "shippingCount" in reasons[partly.line_ids[1]]
    assert "orderId" in reasons[no_order.shipment_box_id]
    assert "orderItems" in reasons[odd.shipment_box_id]
    assert "orderedAt" in reasons[dated.shipment_box_id]
    assert adapter.skipped == caught.value.items
    assert "4" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "data": "nope"},
        [1, 2],
        {"code": 200, "data": [], "nextToken": {"page": 2}},
    ],
)
def test_an_unexpected_page_shape_is_temporary(coupang: FakeCoupang, body: Any) -> None:
    coupang.fail_next(Response(200, body), path=SHEETS)
    with pytest.raises(ChannelTemporaryError):
        collect(adapter_for(coupang))


def test_a_server_that_repeats_its_next_token_does_not_hang_the_worker(coupang: FakeCoupang) -> None:
    coupang.fail_next(Response(200, {"code": 200, "data": [], "nextToken": "7"}), path=SHEETS, times=3)
    with pytest.raises(ChannelTemporaryError, match="same page"):
        collect(adapter_for(coupang))


# --- the same ids as the DeliveryList Excel ---------------------------------------------------


@pytest.mark.django_db
def test_an_order_imported_by_excel_and_then_collected_by_api_is_not_duplicated(coupang: FakeCoupang) -> None:
    # given: the DeliveryList sample, and the same order sheets on Coupang's side
    account = ChannelAccountFactory.create(marketplace=Marketplace.COUPANG, name="쿠팡")
    parsed = parse_order_sheet(
        SAMPLE, account=account, profile=BUILTIN_PROFILES["coupang"], filename=SAMPLE.name
    )
    assert parsed.errors == []
    rows = list(openpyxl.load_workbook(SAMPLE, read_only=True)["Delivery"].iter_rows(values_only=True))
    header = list(rows[0])
    col = {
        name: header.index(name) for name in ("묶음배송번호", "주문번호", "옵션ID", "구매수(수량)", "주문일")
    }
    boxes: dict[str, dict[str, Any]] = {}
    for row in rows[1:]:
        box = boxes.setdefault(
            str(row[col["묶음배송번호"]]),
            {
                "order_id": str(row[col["주문번호"]]),
                "ordered_at": datetime.fromisoformat(str(row[col["주문일"]])).replace(tzinfo=KST),
                "items": [],
            },
        )
        box["items"].append(
            {"vendor_item_id": str(row[col["옵션ID"]]), "shipping_count": int(row[col["구매수(수량)"]])}
        )
    for box_id, box in boxes.items():
        coupang.add_order(shipment_box_id=box_id, status="INSTRUCT", **box)
    times = [box["ordered_at"] for box in boxes.values()]
    collected = collect(adapter_for(coupang), since=min(times), until=max(times) + timedelta(minutes=1))

    # then: the ids are the Excel profile's
    def ids(orders: list[ChannelOrder]) -> set[tuple[str, str, str]]:
        return {(o.external_order_id, o.bundle_key, ln.external_line_id) for o in orders for ln in o.lines}

    assert len(collected) == len(parsed.orders) > 0
    assert ids(collected) == ids(parsed.orders)

    # and: ingesting the Excel import, then the API collection, creates each order once
    first = orders_ingest(account=account, orders=parsed.orders, source=Order.Source.EXCEL)
    again = orders_ingest(account=account, orders=collected, source=Order.Source.API)

    assert first.orders_created == len(parsed.orders)
    assert (again.orders_created, again.lines_created) == (0, 0)
    assert Order.objects.filter(account=account).count() == len(parsed.orders)
    assert OrderLine.objects.filter(order__account=account).count() == parsed.line_count


@pytest.mark.django_db
def test_signatures_survive_the_services_session_with_its_retries_and_redacted_call_log(
    coupang: FakeCoupang,
) -> None:
    account = channel_account_create(
        actor=None,
        marketplace=Marketplace.COUPANG,
        name="쿠팡 본점",
        base_url=coupang.base_url,
        credentials=coupang.credentials,
    )
    box = coupang.add_order()
    coupang.fail_next(FakeCoupang.rate_limited(retry_after=0.2), path=SHEETS)
    coupang.fail_next(FakeCoupang.server_error(502), path=SHEETS)
    adapter = channel_adapter_for(
        account, policy=RetryPolicy(max_tries=3, backoff_base=0.01, backoff_cap=0.05)
    )
    assert isinstance(adapter, CoupangAdapter)

    (order,) = collect(adapter)

    assert order.external_order_id == box.order_id
    assert coupang.auth_refusals == []
    assert coupang.calls(SHEETS) == 5 + 2  # the 429 and the 502 were sent again, signed as before
    logged = " ".join(c.request_excerpt + c.response_excerpt + c.path for c in CallLog.objects.all())
    assert CallLog.objects.filter(account=account).count() == 8  # and the cancel receipts
    assert coupang.secret_key not in logged
    assert not re.search(r"[0-9a-f]{64}", logged)


# --- transport failures ---------------------------------------------------------------------------


def test_429_is_rate_limited_with_the_retry_after_hint(coupang: FakeCoupang) -> None:
    coupang.fail_next(FakeCoupang.rate_limited(retry_after=2), path=SHEETS)
    with pytest.raises(ChannelRateLimited) as caught:
        collect(adapter_for(coupang))
    assert (caught.value.retry_after, caught.value.status) == (2.0, 429)
    assert caught.value.message == "Too many requests"


def test_429_without_retry_after_waits_the_default(coupang: FakeCoupang) -> None:
    with FakeCoupang(rate_limit_per_second=2) as limited:
        adapter = adapter_for(limited)
        with pytest.raises(ChannelRateLimited) as caught:
            collect(adapter)  # five status queries at once
        assert caught.value.retry_after == RATE_LIMIT_DEFAULT_WAIT
        assert not adapter.check_auth().ok


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_temporary(coupang: FakeCoupang, status: int) -> None:
    coupang.fail_next(FakeCoupang.server_error(status), path=SHEETS)
    with pytest.raises(ChannelTemporaryError, match="일시적인 오류") as caught:
        collect(adapter_for(coupang))
    assert caught.value.status == status


def test_a_slow_answer_times_out_as_temporary(coupang: FakeCoupang) -> None:
    class Impatient(CoupangAdapter):
        timeout = (2.0, 0.3)

    coupang.slow_next(1.0, path=SHEETS)
    with pytest.raises(ChannelTemporaryError, match="in time"):
        collect(adapter_for(coupang, cls=Impatient))


def test_malformed_json_is_temporary_not_a_traceback(coupang: FakeCoupang) -> None:
    coupang.fail_next(FakeCoupang.malformed_json(), path=SHEETS)
    with pytest.raises(ChannelTemporaryError, match="not JSON"):
        collect(adapter_for(coupang))


def test_an_unreachable_server_is_temporary(coupang: FakeCoupang) -> None:
    url = coupang.base_url
    coupang.stop()
    with pytest.raises(ChannelTemporaryError, match="reach"):
        collect(adapter_for(coupang, base_url=url))


def test_a_403_is_an_auth_error_with_coupangs_message(coupang: FakeCoupang) -> None:
    coupang.fail_next(Response(403, {"code": "ERROR", "message": "허용되지 않은 IP입니다."}), path=SHEETS)
    with pytest.raises(ChannelAuthError, match="허용되지 않은 IP") as caught:
        collect(adapter_for(coupang))
    assert caught.value.status == 403


def test_an_error_body_with_200_is_a_request_error_with_its_message(coupang: FakeCoupang) -> None:
    coupang.fail_next(Response(200, {"code": "ERROR", "message": "잘못된 요청입니다."}), path=ACK)
    with pytest.raises(ChannelRequestError, match="잘못된 요청입니다"):
        adapter_for(coupang).confirm_orders([OrderRef("1", "123-456")])


def test_every_request_carries_the_timeout(coupang: FakeCoupang) -> None:
    box = coupang.add_order(status="INSTRUCT")
    session = RecordingSession()
    adapter = adapter_for(coupang, session=session)
    collect(adapter)
    adapter.confirm_orders([OrderRef(box.order_id, box.line_ids[0])])
    adapter.dispatch([Dispatch(OrderRef(box.order_id, box.line_ids[0]), "CJGLS", "123456789012")])
    adapter.push_stock([StockUpdate("1", "70000000001", 3, price=9900)])
    adapter.push_product([ProductUpdate("1", "70000000001", on_sale=False)])
    adapter.check_auth()
    assert len(session.sent) == 5 + 1 + 1 + 1 + 2 + 1 + 1
    assert all(call["timeout"] == CoupangAdapter.timeout for call in session.sent)


# --- writes ------------------------------------------------------------------------------------


def test_acknowledgement_in_batches_of_50_boxes_with_partial_results(coupang: FakeCoupang) -> None:
    boxes = [coupang.add_order() for _ in range(51)]
    two_lines = coupang.add_order(items=2)
    refs = [OrderRef(b.order_id, b.line_ids[0], bundle_key=b.shipment_box_id) for b in boxes]
    refs += [OrderRef(two_lines.order_id, line_id) for line_id in two_lines.line_ids]  # no bundle_key
    refs.append(OrderRef("0", "999999-1"))
    refs.append(OrderRef("0", "엑셀-행"))
    coupang.fail_items({boxes[3].shipment_box_id: ("SERVER_BUSY", "잠시 후 다시 시도해 주세요.")}, retry=True)
    coupang.set_status(boxes[4].shipment_box_id, "DEPARTURE")

    results = adapter_for(coupang).confirm_orders(refs)

    assert [r.key for r in results] == [ref.external_line_id for ref in refs]
    failed = {r.key: r for r in results if not r.ok}
    assert failed.keys() == {refs[3].external_line_id, refs[4].external_line_id, "999999-1", "엑셀-행"}
    busy = failed[refs[3].external_line_id]
    assert (busy.code, busy.message, busy.retryable) == ("SERVER_BUSY", "잠시 후 다시 시도해 주세요.", True)
    assert failed[refs[4].external_line_id].code == "INVALID_STATUS"
    assert not failed[refs[4].external_line_id].retryable
    assert failed["999999-1"].code == "NOT_FOUND"
    assert failed["엑셀-행"].code == "BAD_SHIPMENT_BOX"
    sent = bodies(coupang, ACK)
    assert [len(b["shipmentBoxIds"]) for b in sent] == [50, 3]  # 51 + the two-line box + 999999
    assert all(b["vendorId"] == coupang.vendor_id for b in sent)
    assert sent[0]["shipmentBoxIds"][0] == int(boxes[0].shipment_box_id)
    assert len(coupang.acknowledged) == 50
    assert coupang.boxes[two_lines.shipment_box_id].status == "INSTRUCT"
    # Acknowledging again (a redelivered task) is answered as done.
    assert adapter_for(coupang).confirm_orders(refs[:1]) == [
        ItemResult(key=refs[0].external_line_id, ok=True)
    ]


def test_box_answers_missing_from_the_response_list(coupang: FakeCoupang) -> None:
    refs = [OrderRef("1", "101-7"), OrderRef("2", "102-7")]
    coupang.fail_next(Response(200, {"code": 200, "data": {"responseCode": 0, "responseList": []}}), path=ACK)
    assert [r.ok for r in adapter_for(coupang).confirm_orders(refs)] == [True, True]

    listed_one = {
        "code": 200,
        "data": {
            "responseCode": 1,
            "responseList": [
                {"shipmentBoxId": 101, "succeed": True, "resultCode": "OK", "retryRequired": False}
            ],
        },
    }
    coupang.fail_next(Response(200, listed_one), path=ACK)
    first, second = adapter_for(coupang).confirm_orders(refs)
    assert first.ok
    assert (second.ok, second.code, second.retryable) == (False, "NO_ANSWER", True)

    coupang.fail_next(Response(200, {"code": 200, "data": {"responseCode": 99}}), path=ACK)
    assert [r.code for r in adapter_for(coupang).confirm_orders(refs)] == ["NO_ANSWER", "NO_ANSWER"]


def test_a_refused_batch_is_a_request_error_with_coupangs_reason(coupang: FakeCoupang) -> None:
    class TooGreedy(CoupangAdapter):
        confirm_batch = 51

    refs = [OrderRef(b.order_id, b.line_ids[0]) for b in (coupang.add_order() for _ in range(51))]
    with pytest.raises(ChannelRequestError) as caught:
        adapter_for(coupang, cls=TooGreedy).confirm_orders(refs)
    assert caught.value.status == 400
    assert "50" in caught.value.message


def test_invoice_upload_sends_one_invoice_per_shipment_box(coupang: FakeCoupang) -> None:
    two = coupang.add_order(items=2, status="INSTRUCT")
    one = coupang.add_order(status="INSTRUCT")
    waiting = coupang.add_order()  # not acknowledged yet
    wrong_courier = coupang.add_order(status="INSTRUCT")
    split = coupang.add_order(items=2, status="INSTRUCT")
    dispatches = [
        Dispatch(OrderRef(two.order_id, two.line_ids[0]), "CJGLS", "6012-3456-7890"),
        Dispatch(OrderRef(two.order_id, two.line_ids[1]), "CJGLS", "601234567890"),
        Dispatch(
            OrderRef(one.order_id, one.line_ids[0], channel_option_id="70000000001"), "HYUNDAI", "2345678901"
        ),
        Dispatch(OrderRef(waiting.order_id, waiting.line_ids[0]), "CJGLS", "601234567891"),
        Dispatch(OrderRef(wrong_courier.order_id, wrong_courier.line_ids[0]), "LOTTE", "601234567892"),
        Dispatch(OrderRef(split.order_id, split.line_ids[0]), "KGB", "30123456789"),
        Dispatch(OrderRef(split.order_id, split.line_ids[1]), "KGB", "30123456790"),
        Dispatch(OrderRef("", "770000000-1"), "CJGLS", "601234567893"),
    ]

    results = adapter_for(coupang).dispatch(dispatches)

    assert [r.key for r in results] == [d.ref.external_line_id for d in dispatches]
    assert [r.ok for r in results] == [True, True, True, False, False, True, False, False]
    assert "발주확인" in results[3].message
    assert results[4].code == "INVALID_DELIVERY_COMPANY"
    assert results[6].code == "SPLIT_SHIPPING"
    assert results[7].code == "NO_ORDER_ID"
    (sent,) = bodies(coupang, INVOICES)
    assert sent["vendorId"] == coupang.vendor_id
    dtos = sent["orderSheetInvoiceApplyDtos"]
    assert [d["shipmentBoxId"] for d in dtos] == [
        int(b.shipment_box_id) for b in (two, one, waiting, wrong_courier, split)
    ]
    assert dtos[0] == {
        "shipmentBoxId": int(two.shipment_box_id),
        "orderId": int(two.order_id),
        "vendorItemId": 70000000001,
        "deliveryCompanyCode": "CJGLS",
        "invoiceNumber": "601234567890",
        "splitShipping": False,
        "preSplitShipped": False,
        "estimatedShippingDate": "",
    }
    assert coupang.boxes[two.shipment_box_id].status == "DEPARTURE"
    assert coupang.boxes[split.shipment_box_id].invoice == {
        "deliveryCompanyCode": "KGB",
        "invoiceNumber": "30123456789",
    }
    assert coupang.boxes[waiting.shipment_box_id].status == "ACCEPT"
    # Uploading the same invoice again (a redelivered task) is answered as done.
    assert adapter_for(coupang).dispatch(dispatches[:1]) == [ItemResult(key=two.line_ids[0], ok=True)]


def test_invoices_go_in_batches(coupang: FakeCoupang) -> None:
    boxes = [coupang.add_order(status="INSTRUCT") for _ in range(52)]
    dispatches = [
        Dispatch(OrderRef(b.order_id, b.line_ids[0]), "EPOST", f"{6000000000000 + n}")
        for n, b in enumerate(boxes)
    ]

    results = adapter_for(coupang).dispatch(dispatches)

    assert all(r.ok for r in results)
    assert [len(b["orderSheetInvoiceApplyDtos"]) for b in bodies(coupang, INVOICES)] == [50, 2]
    assert len(coupang.invoices) == 52


def test_stock_push_sets_each_vendor_item_and_fails_only_the_refused_one(coupang: FakeCoupang) -> None:
    coupang.fail_items(["70000000002"], message="판매중지된 옵션은 재고를 변경할 수 없습니다.")
    coupang.fail_next(FakeCoupang.server_error(503), path="/vendor-items/70000000004/")

    results = adapter_for(coupang).push_stock(
        [
            StockUpdate("13000000001", "70000000001", 5),
            StockUpdate("13000000001", "70000000002", 1),
            StockUpdate("13000000001", "70000000003", -2),  # never below 0
            StockUpdate("13000000001", "70000000004", 7),
            StockUpdate("13000000001", "70000000001", 4),  # the later quantity wins
            StockUpdate("13000000001", "70000000005", 3, price=15900),
            StockUpdate("13000000001", "70000000006", 3, price=15905),
            StockUpdate("13000000001", "", 3),
        ]
    )

    assert [r.key for r in results] == [
        "70000000001",
        "70000000002",
        "70000000003",
        "70000000004",
        "70000000001",
        "70000000005",
        "70000000006",
        "13000000001",
    ]
    assert [r.ok for r in results] == [True, False, True, False, True, True, False, False]
    assert (results[1].message, results[1].retryable) == (
        "판매중지된 옵션은 재고를 변경할 수 없습니다.",
        False,
    )
    assert results[3].retryable and "일시적인 오류" in results[3].message
    assert "10원" in results[6].message
    assert results[7].code == "BAD_VENDOR_ITEM_ID"
    assert coupang.quantity_pushes == [
        ("70000000001", 4),
        ("70000000003", 0),
        ("70000000005", 3),
        ("70000000006", 3),
    ]
    assert coupang.prices == {"70000000005": 15900}
    assert coupang.calls("/quantities/", "PUT") == 6


def test_stock_push_stops_on_a_rate_limit(coupang: FakeCoupang) -> None:
    coupang.fail_next(FakeCoupang.rate_limited(retry_after=3), path="/quantities/")
    with pytest.raises(ChannelRateLimited) as caught:
        adapter_for(coupang).push_stock(
            [StockUpdate("1", "70000000001", 5), StockUpdate("1", "70000000002", 1)]
        )
    assert caught.value.retry_after == 3.0
    assert coupang.quantity_pushes == []


def test_push_product_sets_price_and_sale_state_per_vendor_item(coupang: FakeCoupang) -> None:
    coupang.add_vendor_item("70000000001", price=19900)
    coupang.add_vendor_item("70000000002", on_sale=False)

    results = adapter_for(coupang).push_product(
        [
            ProductUpdate("13000000001", "70000000001", price=17900, on_sale=False),
            ProductUpdate("13000000001", "70000000002", on_sale=True),
            ProductUpdate("13000000001", "70000000003", name="새 이름"),
            ProductUpdate("13000000001", price=9900),
        ]
    )

    assert [r.key for r in results] == ["70000000001", "70000000002", "70000000003", "13000000001"]
    assert [r.ok for r in results] == [True, True, False, False]
    assert results[2].code == "NAME_NOT_SUPPORTED"
    assert results[3].code == "NO_VENDOR_ITEM"
    assert coupang.prices["70000000001"] == 17900
    assert coupang.sales_changes == [("70000000001", "stop"), ("70000000002", "resume")]
    assert coupang.on_sale == {"70000000001": False, "70000000002": True}


def test_push_product_reports_an_unknown_vendor_item(coupang: FakeCoupang) -> None:
    with FakeCoupang(strict_vendor_items=True) as strict:
        (result,) = adapter_for(strict).push_product([ProductUpdate("1", "70000000009", on_sale=True)])
    assert (result.ok, result.code, result.retryable) == (False, "ERROR", False)
    assert "70000000009" in result.message
