"""FakeCoupang: Coupang Open API (쿠팡 Wing) over real HTTP, for adapter, end-to-end and benchmark
tests. It speaks the shapes in ../shared/channel-specs.md and checks what Coupang checks.

Starting it
    with FakeCoupang() as coupang:                  # or coupang = FakeCoupang().start(); .stop()
        account = AccountConfig(..., base_url=coupang.api_url,   # == base_url, no prefix
                                credentials=coupang.credentials)
    `credentials` is {"access_key", "secret_key", "vendor_id"} as the adapter's account form asks.
    FakeCoupang(access_key=..., secret_key=..., vendor_id="A00012345",
                rate_limit_per_second=None, strict_vendor_items=False) sets the keys, an optional
    token bucket that answers 429 {"code": "ERROR"} (no Retry-After) when exceeded, and whether a
    write to a vendor item never registered with add_vendor_item() is refused (400) or accepted.

What it checks, like Coupang
    - Every call: `Authorization: CEA algorithm=HmacSHA256, access-key=, signed-date=,
      signature=`. The signature is recomputed from the request as received: hex(HMAC-SHA256(
      secret key, signed-date + METHOD + path + raw query string)). A malformed header, an
      unknown access key, a signed-date more than 5 minutes away from now, a signature that
      does not match, or a vendor id that differs from the keys' vendor (in the path, in
      X-Requested-By or in a body's vendorId) gets 401 {"code": "ERROR", "message": ...}.
      `auth_refusals` lists the messages of those refusals.
    - GET .../vendors/{vendorId}/ordersheets: status required (ACCEPT, INSTRUCT, DEPARTURE,
      DELIVERING, FINAL_DELIVERY, NONE_TRACKING); minute mode (searchType=timeFrame,
      createdAtFrom/To as yyyy-MM-ddTHH:mm KST, both minutes inclusive, window <= 24 h) or day
      mode (yyyy-MM-dd, window <= 31 days); 1 <= maxPerPage <= 50; pages with nextToken (an
      opaque token; "" on the last page). Boxes are filtered by orderedAt and status.
    - GET .../vendors/{vendorId}/ordersheets/{shipmentBoxId}: one sheet as it is now.
    - GET /v2/providers/openapi/apis/api/v6/vendors/{vendorId}/returnRequests: cancelType=CANCEL
      (or a status RU, UC, PR, CC) and minute mode required (window <= 24 h): the cancel
      receipts made by cancel(), by their createdAt, each naming its boxes in returnItems.
    - PATCH .../ordersheets/acknowledgement: <= 50 shipmentBoxIds; ACCEPT -> INSTRUCT (an
      INSTRUCT box is acknowledged again harmlessly); other states, cancelled or unknown boxes
      fail per item. data.responseCode 0 (all ok), 1 (partial), 99 (all failed) with
      data.responseList[{shipmentBoxId, succeed, resultCode, retryRequired, resultMessage}].
    - POST .../orders/invoices: one invoice per shipment box (the same box twice in a call
      fails the second); orderId and vendorItemId must belong to the box; the courier code must
      be one of COURIER_CODES, the invoice number 8-16 digits; the box must be INSTRUCT (->
      DEPARTURE). A box already shipped under the same courier and number succeeds again.
      Same reply shape as the acknowledgement.
    - PUT /v2/providers/seller_api/apis/api/v1/marketplace/vendor-items/{vendorItemId}/
      quantities/{n} (0 <= n <= 99999), prices/{p} (10 won steps), sales/stop, sales/resume:
      200 {"code": "SUCCESS"} or 400 {"code": "ERROR", "message"}.

Steering
    Orders (all times are aware datetimes; the default order time is now):
        add_order(items=[{...}, ...] | n, order_id=, shipment_box_id=, ordered_at=, paid_at=,
                  status="ACCEPT", orderer={name, email, safeNumber},
                  receiver={name, safeNumber, receiverNumber, addr1, addr2, postCode},
                  message=, shipping_price=2500) -> FakeShipmentBox
            One order sheet (shipment box). Each item dict takes FakeOrderItem's fields
            (vendor_item_id, vendor_item_name, seller_product_id, seller_product_name,
            seller_product_item_name, product_id, external_vendor_sku_code, shipping_count,
            sales_price, order_price, cancel_count, hold_count_for_cancel). Pass an existing
            order_id to give an order a second box. box.line_ids are the OMS line ids
            (f"{shipmentBoxId}-{vendorItemId}").
        add_orders(count, start=, step=timedelta(seconds=1), items_per_order=1, status=,
                   **item_fields) -> list[FakeShipmentBox]: many varied orders fast.
        set_status(shipment_box_id, status)
        cancel(shipment_box_id, vendor_item_id=None, count=None, requested=False, at=None)
            cancelCount (or, requested=True, holdCountForCancel: a cancel waiting for refund)
            of one item or every item; count defaults to the item's whole shippingCount. Also
            files a cancel receipt created `at` (default now), listed by returnRequests.
        override(shipment_box_id, vendor_item_id=None, **fields)
            patch the order sheet JSON (or one of its orderItems; REMOVE deletes a key):
            malformed-item tests.
    Failures:
        fail_items({id: (code, message)}) or fail_items([ids], code=, message=, retry=False):
            per-item failures for acknowledgement / invoices (shipmentBoxId; retry sets
            retryRequired) and vendor-item writes (vendorItemId: that PUT answers 400 with the
            message).
        Harness faults (tests/fakes/server.py): fail_next(FakeCoupang.auth_error(), path=...),
            fail_next(FakeCoupang.rate_limited(retry_after=2)),
            fail_next(FakeCoupang.server_error(503)), fail_next(FakeCoupang.malformed_json()),
            slow_next(seconds, path=...).
    Vendor items:
        add_vendor_item(vendor_item_id, quantity=0, price=0, on_sale=True)
    What it received:
        acknowledged [shipmentBoxId], invoices [invoice dto dicts], quantities {vendorItemId: n},
        prices {vendorItemId: price}, on_sale {vendorItemId: bool}, quantity_pushes
        [(vendorItemId, n)], sales_changes [(vendorItemId, "stop" | "resume")], auth_refusals
        [message], calls(path_fragment, method=None) -> number of requests seen, `requests`.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from tests.fakes.server import COURIER_CODES, FakeMarketplace, Request, Response

KST = timezone(timedelta(hours=9))
DEFAULT_ACCESS_KEY = "7c1d5e2a-3b4f-4a6e-9d8c-0f1e2d3c4b5a"
DEFAULT_SECRET_KEY = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233"
DEFAULT_VENDOR_ID = "A00012345"
SIGNED_DATE_TOLERANCE = timedelta(minutes=5)
TIME_FRAME_WINDOW = timedelta(hours=24)
DAY_WINDOW = timedelta(days=31)
MAX_PER_PAGE = 50
ACKNOWLEDGE_LIMIT = 50
ORDER_STATUSES = frozenset(
    {"ACCEPT", "INSTRUCT", "DEPARTURE", "DELIVERING", "FINAL_DELIVERY", "NONE_TRACKING"}
)
SHIPPED_STATUSES = frozenset({"DEPARTURE", "DELIVERING", "FINAL_DELIVERY", "NONE_TRACKING"})
RETURN_STATUSES = frozenset({"RU", "UC", "PR", "CC"})
OPENAPI = re.compile(
    r"^/v2/providers/openapi/apis/api/(?P<version>v4|v6)/vendors/(?P<vendor>[^/]+)/(?P<rest>.+)$"
)
ONE_SHEET = re.compile(r"^ordersheets/(?P<box>[0-9]+)$")
VENDOR_ITEM = re.compile(
    r"^/v2/providers/seller_api/apis/api/v1/marketplace/vendor-items/(?P<item>[^/]+)/(?P<action>.+)$"
)
AUTH_HEADER = re.compile(
    r"^CEA algorithm=HmacSHA256, access-key=(?P<key>[^,\s]+), signed-date=(?P<date>\d{6}T\d{6}Z), "
    r"signature=(?P<sig>[0-9a-fA-F]{64})$"
)
REMOVE = object()  # override(..., field=REMOVE) deletes the key from the order sheet JSON

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "지민", "주원", "하은", "예준", "수아"]
_OPTIONS = ("블랙 S", "블랙 M", "화이트 M", "화이트 L", "네이비 L")
_STREETS = [
    ("06236", "서울특별시 강남구 테헤란로 152"),
    ("04524", "서울특별시 중구 세종대로 110"),
    ("48058", "부산광역시 해운대구 센텀중앙로 79"),
    ("13494", "경기도 성남시 분당구 판교역로 235"),
    ("61945", "광주광역시 서구 내방로 111"),
    ("35242", "대전광역시 서구 둔산로 100"),
]


def error(status: int, message: str) -> Response:
    """Coupang's error answer."""
    return Response(status, {"code": "ERROR", "message": message})


def _stamp(moment: datetime) -> str:
    """Coupang's order times: KST without an offset, e.g. 2025-01-15T09:30:00."""
    return moment.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S")


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    return int(moment.timestamp() * 1000)


def _num(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _mask(name: str) -> str:
    return name[0] + "*" + name[2:] if len(name) >= 3 else name[:1] + "*"


@dataclass
class FakeOrderItem:
    vendor_item_id: str = "70000000001"
    vendor_item_name: str = "기본 반팔 티셔츠, 블랙 M"
    seller_product_id: str = "13000000001"
    seller_product_name: str = "기본 반팔 티셔츠"
    seller_product_item_name: str = "블랙 M"
    product_id: str = "7000000001"  # 노출상품ID
    external_vendor_sku_code: str = ""
    shipping_count: int = 1
    sales_price: int = 19900
    order_price: int | None = None
    cancel_count: int = 0
    hold_count_for_cancel: int = 0


@dataclass
class FakeShipmentBox:
    shipment_box_id: str
    order_id: str
    ordered_at: datetime
    paid_at: datetime
    status: str
    items: list[FakeOrderItem]
    orderer: dict[str, Any]
    receiver: dict[str, Any]
    parcel_print_message: str = ""
    shipping_price: int = 2500
    invoice: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    item_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def line_ids(self) -> list[str]:
        """The OMS line ids of this box: f"{shipmentBoxId}-{vendorItemId}"."""
        return [f"{self.shipment_box_id}-{item.vendor_item_id}" for item in self.items]

    def item(self, vendor_item_id: str) -> FakeOrderItem:
        return next(i for i in self.items if i.vendor_item_id == vendor_item_id)


class FakeCoupang(FakeMarketplace):
    def __init__(
        self,
        *,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        vendor_id: str = DEFAULT_VENDOR_ID,
        rate_limit_per_second: float | None = None,
        strict_vendor_items: bool = False,
    ) -> None:
        super().__init__(rate_limit_per_second=rate_limit_per_second)
        self.access_key = access_key
        self.secret_key = secret_key
        self.vendor_id = vendor_id
        self.strict_vendor_items = strict_vendor_items
        self.boxes: dict[str, FakeShipmentBox] = {}
        self.item_failures: dict[str, tuple[str, str, bool]] = {}
        self.acknowledged: list[str] = []
        self.invoices: list[dict[str, Any]] = []
        self.vendor_items: set[str] = set()
        self.quantities: dict[str, int] = {}
        self.prices: dict[str, int] = {}
        self.on_sale: dict[str, bool] = {}
        self.quantity_pushes: list[tuple[str, int]] = []
        self.sales_changes: list[tuple[str, str]] = []
        self.auth_refusals: list[str] = []
        # Cancel receipts (returnRequests, cancelType=CANCEL), made by cancel(): what a
        # collection reads to learn of a cancel of an order created before its window.
        self.receipts: list[dict[str, Any]] = []
        self._ids = itertools.count(int(time.time()) % 100_000 * 10_000_000 + 100_000_000_000)
        self._index: list[tuple[int, int, str]] = []
        self._index_dirty = False

    @property
    def api_url(self) -> str:
        """The account's base URL (Coupang's API has no prefix: base_url itself)."""
        return self.base_url

    @property
    def credentials(self) -> dict[str, str]:
        return {"access_key": self.access_key, "secret_key": self.secret_key, "vendor_id": self.vendor_id}

    # --- canned answers for the harness's fail_next ----------------------------------------------

    @staticmethod
    def auth_error(message: str = "Specified signature is not matched.") -> Response:
        return error(401, message)

    @staticmethod
    def rate_limited(retry_after: float | None = 1) -> Response:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return Response(429, {"code": "ERROR", "message": "Too many requests"}, headers=headers)

    @staticmethod
    def server_error(status: int = 500) -> Response:
        return error(status, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.")

    @staticmethod
    def malformed_json() -> Response:
        return Response(200, b'{"code": 200, "message": "OK", "data": [{"shipmentBoxId": ')

    # --- steering: orders ---------------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_order(
        self,
        *,
        items: Sequence[Mapping[str, Any]] | int = 1,
        order_id: str | None = None,
        shipment_box_id: str | None = None,
        ordered_at: datetime | None = None,
        paid_at: datetime | None = None,
        status: str = "ACCEPT",
        orderer: Mapping[str, Any] | None = None,
        receiver: Mapping[str, Any] | None = None,
        message: str = "",
        shipping_price: int = 2500,
    ) -> FakeShipmentBox:
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order sheet status {status}")
        with self.lock:
            ordered_at = ordered_at or datetime.now(KST)
            if ordered_at.tzinfo is None:
                raise ValueError("aware datetimes only")
            box_id = shipment_box_id or self._next_id()
            if box_id in self.boxes:
                raise ValueError(f"shipment box {box_id} exists")
            specs = [{} for _ in range(items)] if isinstance(items, int) else list(items)
            made: list[FakeOrderItem] = []
            for number, spec in enumerate(specs):
                values = dict(spec)
                if "vendor_item_id" not in values:
                    values["vendor_item_id"] = str(70000000001 + number)
                made.append(FakeOrderItem(**values))
            if len({i.vendor_item_id for i in made}) != len(made):
                raise ValueError("one box lists a vendor item once")
            box = FakeShipmentBox(
                shipment_box_id=box_id,
                order_id=order_id or self._next_id(),
                ordered_at=ordered_at,
                paid_at=paid_at or ordered_at,
                status=status,
                items=made,
                orderer={
                    "name": "김*준",
                    "email": "buy***@coupang.com",
                    "safeNumber": "0502-1234-5678",
                    **(orderer or {}),
                },
                receiver={
                    "name": "김민준",
                    "safeNumber": "0503-2345-6789",
                    "receiverNumber": None,
                    "addr1": "서울특별시 강남구 테헤란로 152",
                    "addr2": "12층",
                    "postCode": "06236",
                    **(receiver or {}),
                },
                parcel_print_message=message,
                shipping_price=shipping_price,
            )
            self.boxes[box_id] = box
            self._index_dirty = True
            return box

    def add_orders(
        self,
        count: int,
        *,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        items_per_order: int = 1,
        status: str = "ACCEPT",
        **item_fields: Any,
    ) -> list[FakeShipmentBox]:
        """Many varied orders (names, phones, addresses, options), order times start + i*step."""
        start = start or datetime.now(KST) - step * count
        made = []
        for i in range(count):
            zip_code, street = _STREETS[i % len(_STREETS)]
            name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i // len(_SURNAMES)) % len(_GIVEN)]
            items = [
                {
                    "vendor_item_id": str(70000000001 + (i + n) % 5),
                    "seller_product_item_name": _OPTIONS[(i + n) % 5],
                    "vendor_item_name": f"기본 반팔 티셔츠, {_OPTIONS[(i + n) % 5]}",
                    "shipping_count": 1 + (i + n) % 3,
                    **item_fields,
                }
                for n in range(items_per_order)
            ]
            if len({item["vendor_item_id"] for item in items}) != len(items):
                items = [{**item, "vendor_item_id": str(70000000001 + n)} for n, item in enumerate(items)]
            made.append(
                self.add_order(
                    items=items,
                    ordered_at=start + step * i,
                    status=status,
                    orderer={
                        "name": _mask(name),
                        "safeNumber": f"0502-{1000 + i % 9000:04d}-{i % 10000:04d}",
                    },
                    receiver={
                        "name": name,
                        "safeNumber": f"0504-{1000 + i % 9000:04d}-{(i * 7919) % 10000:04d}",
                        "addr1": street,
                        "addr2": f"{100 + i % 900}호",
                        "postCode": zip_code,
                    },
                    message=("문 앞에 놓아주세요", "", "부재 시 경비실에 맡겨주세요")[i % 3],
                )
            )
        return made

    def set_status(self, shipment_box_id: str, status: str) -> None:
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order sheet status {status}")
        with self.lock:
            self.boxes[shipment_box_id].status = status

    def cancel(
        self,
        shipment_box_id: str,
        vendor_item_id: str | None = None,
        *,
        count: int | None = None,
        requested: bool = False,
        at: datetime | None = None,
    ) -> None:
        with self.lock:
            box = self.boxes[shipment_box_id]
            items = [box.item(vendor_item_id)] if vendor_item_id else box.items
            returned = []
            for item in items:
                amount = item.shipping_count if count is None else count
                if requested:
                    item.hold_count_for_cancel = amount
                else:
                    item.cancel_count, item.hold_count_for_cancel = amount, 0
                returned.append(
                    {
                        "shipmentBoxId": int(box.shipment_box_id),
                        "vendorItemId": _num(item.vendor_item_id),
                        "vendorItemName": item.vendor_item_name,
                        "purchaseCount": item.shipping_count,
                        "cancelCount": amount,
                    }
                )
            self.receipts.append(
                {
                    "receiptId": int(self._next_id()),
                    "orderId": _num(box.order_id),
                    "cancelType": "CANCEL",
                    # RU: 출고중지요청 (waiting for the seller), CC: done.
                    "receiptStatus": "RELEASE_STOP_UNCHECKED" if requested else "CANCEL_COMPLETE",
                    "createdAt": _stamp(at or datetime.now(KST)),
                    "returnItems": returned,
                }
            )

    def override(self, shipment_box_id: str, vendor_item_id: str | None = None, **fields: Any) -> None:
        with self.lock:
            box = self.boxes[shipment_box_id]
            if vendor_item_id is None:
                box.overrides.update(fields)
            else:
                box.item_overrides.setdefault(vendor_item_id, {}).update(fields)

    # --- steering: failures and vendor items ----------------------------------------------------

    def fail_items(
        self,
        items: Mapping[str, tuple[str, str]] | Iterable[str],
        *,
        code: str = "INVALID_STATUS",
        message: str = "처리할 수 없는 상태입니다.",
        retry: bool = False,
    ) -> None:
        with self.lock:
            if isinstance(items, Mapping):
                self.item_failures.update({str(k): (c, m, retry) for k, (c, m) in items.items()})
            else:
                self.item_failures.update({str(key): (code, message, retry) for key in items})

    def add_vendor_item(
        self, vendor_item_id: str, *, quantity: int = 0, price: int = 0, on_sale: bool = True
    ) -> None:
        with self.lock:
            self.vendor_items.add(vendor_item_id)
            self.quantities[vendor_item_id] = quantity
            self.prices[vendor_item_id] = price
            self.on_sale[vendor_item_id] = on_sale

    def handle(self, request: Request) -> Response:
        with self.lock:
            limited = self.take_rate_token()
            if limited is not None:
                return limited
            refused = self._check_signature(request)
            if refused is not None:
                return refused
            openapi = OPENAPI.match(request.path)
            if openapi:
                if openapi["vendor"] != self.vendor_id:
                    return self._refuse(f"vendorId {openapi['vendor']}는 이 키의 업체가 아닙니다.")
                route = (request.method, openapi["rest"])
                if openapi["version"] == "v6":
                    if route == ("GET", "returnRequests"):
                        return self._return_requests(request)
                    return error(404, f"{request.method} {request.path} not found")
                one = ONE_SHEET.match(openapi["rest"])
                if one and request.method == "GET":
                    return self._one_sheet(one["box"])
                if route == ("GET", "ordersheets"):
                    return self._ordersheets(request)
                if route == ("PATCH", "ordersheets/acknowledgement"):
                    return self._acknowledge(request)
                if route == ("POST", "orders/invoices"):
                    return self._invoices(request)
            vendor_item = VENDOR_ITEM.match(request.path)
            if vendor_item and request.method == "PUT":
                return self._vendor_item(vendor_item["item"], vendor_item["action"])
            return error(404, f"{request.method} {request.path} not found")

    def _refuse(self, message: str) -> Response:
        self.auth_refusals.append(message)
        return error(401, message)

    def _check_signature(self, request: Request) -> Response | None:
        match = AUTH_HEADER.match(request.headers.get("authorization", ""))
        if not match:
            return self._refuse("Invalid authorization header: CEA algorithm=HmacSHA256 expected.")
        if not hmac.compare_digest(match["key"], self.access_key):
            return self._refuse("Invalid access key.")
        try:
            signed = datetime.strptime(match["date"], "%y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._refuse("Invalid signed-date.")
        if abs(datetime.now(UTC) - signed) > SIGNED_DATE_TOLERANCE:
            return self._refuse("Request is expired: signed-date must be within 5 minutes.")
        message = f"{match['date']}{request.method}{request.path}{request.raw_query}"
        expected = hmac.new(self.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["sig"].lower()):
            return self._refuse("Specified signature is not matched.")
        requested_by = request.headers.get("x-requested-by", "")
        if requested_by != self.vendor_id:
            return self._refuse(f"X-Requested-By {requested_by or '(none)'}는 이 키의 업체가 아닙니다.")
        return None

    # --- order sheets -------------------------------------------------------------------------

    def _sorted_index(self) -> list[tuple[int, int, str]]:
        if self._index_dirty:
            self._index = sorted(
                (_ms(box.ordered_at), int(box.shipment_box_id), box.shipment_box_id)
                for box in self.boxes.values()
            )
            self._index_dirty = False
        return self._index

    def _ordersheets(self, request: Request) -> Response:
        status = request.arg("status")
        if status not in ORDER_STATUSES:
            return error(400, f"status가 유효하지 않습니다: {status or '(없음)'}")
        raw_from, raw_to = request.arg("createdAtFrom"), request.arg("createdAtTo")
        if request.arg("searchType") == "timeFrame":
            try:
                start = datetime.strptime(raw_from, "%Y-%m-%dT%H:%M").replace(tzinfo=KST)
                last = datetime.strptime(raw_to, "%Y-%m-%dT%H:%M").replace(tzinfo=KST)
            except ValueError:
                return error(400, "createdAtFrom/createdAtTo는 yyyy-MM-ddTHH:mm 형식이어야 합니다.")
            end, limit, span = last + timedelta(minutes=1), TIME_FRAME_WINDOW, "24시간"
        elif request.arg("searchType"):
            return error(400, f"searchType이 유효하지 않습니다: {request.arg('searchType')}")
        else:
            try:
                first_day, last_day = date.fromisoformat(raw_from), date.fromisoformat(raw_to)
            except ValueError:
                return error(400, "createdAtFrom/createdAtTo는 yyyy-MM-dd 형식이어야 합니다.")
            start = datetime.combine(first_day, datetime.min.time(), KST)
            last = datetime.combine(last_day, datetime.min.time(), KST)
            end, limit, span = last + timedelta(days=1), DAY_WINDOW, "31일"
        if last < start:
            return error(400, "createdAtTo가 createdAtFrom보다 앞설 수 없습니다.")
        if last - start > limit:
            return error(400, f"조회 기간은 {span}을 넘을 수 없습니다.")
        try:
            per_page = int(request.arg("maxPerPage", str(MAX_PER_PAGE)))
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= MAX_PER_PAGE:
            return error(400, f"maxPerPage는 1~{MAX_PER_PAGE}이어야 합니다.")
        token = request.arg("nextToken")
        after: tuple[int, int, str] = (_ms(start), -1, "")
        if token:
            try:
                ms, box_id = token.split(".")
                after = (int(ms), int(box_id), box_id)
            except ValueError:
                return error(400, f"nextToken이 유효하지 않습니다: {token}")
        end_ms = _ms(end)
        page: list[FakeShipmentBox] = []
        next_token = ""
        index = self._sorted_index()
        for key in itertools.islice(index, bisect.bisect_left(index, max(after, (_ms(start), -1, ""))), None):
            if key[0] >= end_ms:
                break
            box = self.boxes[key[2]]
            if box.status != status:
                continue
            if len(page) == per_page:
                next_token = f"{key[0]}.{key[1]}"
                break
            page.append(box)
        return Response(
            200,
            {"code": 200, "message": "OK", "data": [self._sheet(b) for b in page], "nextToken": next_token},
        )

    def _one_sheet(self, box_id: str) -> Response:
        """발주서 단건 조회 (by shipmentBoxId): the sheet as it is now, whatever its order time."""
        box = self.boxes.get(box_id)
        if box is None:
            return error(400, f"발주서를 찾을 수 없습니다: {box_id}")
        return Response(200, {"code": 200, "message": "OK", "data": self._sheet(box)})

    def _return_requests(self, request: Request) -> Response:
        """Cancel receipts (cancelType=CANCEL) created in a minute window (<= 24 h, inclusive)."""
        if request.arg("cancelType") != "CANCEL" and request.arg("status") not in RETURN_STATUSES:
            return error(400, "cancelType=CANCEL 또는 status(RU, UC, PR, CC)가 필요합니다.")
        if request.arg("searchType") != "timeFrame":
            return error(400, "searchType=timeFrame이 필요합니다.")
        try:
            start = datetime.strptime(request.arg("createdAtFrom"), "%Y-%m-%dT%H:%M").replace(tzinfo=KST)
            last = datetime.strptime(request.arg("createdAtTo"), "%Y-%m-%dT%H:%M").replace(tzinfo=KST)
        except ValueError:
            return error(400, "createdAtFrom/createdAtTo는 yyyy-MM-ddTHH:mm 형식이어야 합니다.")
        if last < start or last - start > TIME_FRAME_WINDOW:
            return error(400, "조회 기간은 24시간을 넘을 수 없습니다.")
        end = last + timedelta(minutes=1)
        found = [
            r
            for r in self.receipts
            if r["cancelType"] == "CANCEL"
            and start <= datetime.fromisoformat(r["createdAt"]).replace(tzinfo=KST) < end
        ]
        return Response(200, {"code": 200, "message": "OK", "data": found, "nextToken": ""})

    def _sheet(self, box: FakeShipmentBox) -> dict[str, Any]:
        items = []
        for item in box.items:
            order_price = (
                item.order_price if item.order_price is not None else item.sales_price * item.shipping_count
            )
            entry: dict[str, Any] = {
                "vendorItemPackageId": 0,
                "vendorItemPackageName": item.seller_product_name,
                "productId": _num(item.product_id),
                "vendorItemId": _num(item.vendor_item_id),
                "vendorItemName": item.vendor_item_name,
                "shippingCount": item.shipping_count,
                "salesPrice": item.sales_price,
                "orderPrice": order_price,
                "discountPrice": 0,
                "externalVendorSkuCode": item.external_vendor_sku_code or None,
                "sellerProductId": _num(item.seller_product_id),
                "sellerProductName": item.seller_product_name,
                "sellerProductItemName": item.seller_product_item_name,
                "firstSellerProductItemName": item.seller_product_item_name,
                "cancelCount": item.cancel_count,
                "holdCountForCancel": item.hold_count_for_cancel,
                "estimatedShippingDate": "",
                "invoiceNumber": box.invoice.get("invoiceNumber", ""),
            }
            for name, value in box.item_overrides.get(item.vendor_item_id, {}).items():
                if value is REMOVE:
                    entry.pop(name, None)
                else:
                    entry[name] = value
            items.append(entry)
        sheet: dict[str, Any] = {
            "shipmentBoxId": _num(box.shipment_box_id),
            "orderId": _num(box.order_id),
            "orderedAt": _stamp(box.ordered_at),
            "paidAt": _stamp(box.paid_at),
            "status": box.status,
            "shippingPrice": box.shipping_price,
            "remotePrice": 0,
            "remoteArea": False,
            "parcelPrintMessage": box.parcel_print_message or None,
            "splitShipping": False,
            "ableSplitShipping": False,
            "orderer": dict(box.orderer),
            "receiver": dict(box.receiver),
            "orderItems": items,
            "deliveryCompanyName": box.invoice.get("deliveryCompanyCode", ""),
            "invoiceNumber": box.invoice.get("invoiceNumber", ""),
        }
        for name, value in box.overrides.items():
            if value is REMOVE:
                sheet.pop(name, None)
            else:
                sheet[name] = value
        return sheet

    # --- acknowledgement and invoices ----------------------------------------------------------

    def _body(self, request: Request, key: str) -> list[Any] | Response:
        try:
            body = request.json()
        except ValueError:
            return error(400, "요청 본문이 JSON이 아닙니다.")
        if not isinstance(body, dict):
            return error(400, "요청 본문이 객체가 아닙니다.")
        if str(body.get("vendorId") or "") != self.vendor_id:
            return self._refuse(f"vendorId {body.get('vendorId')}는 이 키의 업체가 아닙니다.")
        values = body.get(key)
        if not isinstance(values, list) or not values:
            return error(400, f"{key}가 없습니다.")
        return values

    @staticmethod
    def _answer(results: list[dict[str, Any]]) -> Response:
        ok = sum(1 for r in results if r["succeed"])
        code = 0 if ok == len(results) else 99 if ok == 0 else 1
        message = {0: "SUCCESS", 1: "PARTIAL_ERROR", 99: "ERROR"}[code]
        return Response(
            200,
            {
                "code": 200,
                "message": "OK",
                "data": {"responseCode": code, "responseMessage": message, "responseList": results},
            },
        )

    @staticmethod
    def _item(box_id: str, reason: tuple[str, str, bool] | None) -> dict[str, Any]:
        if reason is None:
            return {
                "shipmentBoxId": _num(box_id),
                "succeed": True,
                "resultCode": "OK",
                "retryRequired": False,
                "resultMessage": "",
            }
        return {
            "shipmentBoxId": _num(box_id),
            "succeed": False,
            "resultCode": reason[0],
            "retryRequired": reason[2],
            "resultMessage": reason[1],
        }

    def _acknowledge(self, request: Request) -> Response:
        ids = self._body(request, "shipmentBoxIds")
        if isinstance(ids, Response):
            return ids
        if len(ids) > ACKNOWLEDGE_LIMIT:
            return error(400, f"shipmentBoxIds는 한 번에 {ACKNOWLEDGE_LIMIT}개까지 요청할 수 있습니다.")
        results = []
        for raw_id in ids:
            box_id = str(raw_id)
            box = self.boxes.get(box_id)
            reason = self.item_failures.get(box_id)
            if reason is None:
                if box is None:
                    reason = ("NOT_FOUND", "존재하지 않는 묶음배송번호입니다.", False)
                elif all(i.cancel_count >= i.shipping_count for i in box.items):
                    reason = ("CANCELED", "취소된 주문입니다.", False)
                elif box.status not in ("ACCEPT", "INSTRUCT"):
                    reason = ("INVALID_STATUS", f"{box.status} 상태에서는 발주확인할 수 없습니다.", False)
            if reason is None and box is not None and box.status == "ACCEPT":
                box.status = "INSTRUCT"
                self.acknowledged.append(box_id)
            results.append(self._item(box_id, reason))
        return self._answer(results)

    def _invoices(self, request: Request) -> Response:
        dtos = self._body(request, "orderSheetInvoiceApplyDtos")
        if isinstance(dtos, Response):
            return dtos
        results = []
        seen: set[str] = set()
        for dto in dtos:
            if not isinstance(dto, dict):
                return error(400, "orderSheetInvoiceApplyDtos 항목이 객체가 아닙니다.")
            box_id = str(dto.get("shipmentBoxId") or "")
            reason = self.item_failures.get(box_id)
            if reason is None:
                reason = self._invoice_problem(dto, box_id, seen)
            seen.add(box_id)
            box = self.boxes.get(box_id)
            if reason is None and box is not None and box.status == "INSTRUCT":
                box.status = "DEPARTURE"
                box.invoice = {
                    "deliveryCompanyCode": dto["deliveryCompanyCode"],
                    "invoiceNumber": str(dto["invoiceNumber"]),
                }
                self.invoices.append(dict(dto))
            results.append(self._item(box_id, reason))
        return self._answer(results)

    def _invoice_problem(
        self, dto: dict[str, Any], box_id: str, seen: set[str]
    ) -> tuple[str, str, bool] | None:
        box = self.boxes.get(box_id)
        if box is None:
            return ("NOT_FOUND", "존재하지 않는 묶음배송번호입니다.", False)
        if box_id in seen:
            return ("DUPLICATED", "같은 묶음배송번호에 송장을 두 번 등록할 수 없습니다.", False)
        if str(dto.get("orderId") or "") != box.order_id:
            return ("INVALID_ORDER", "주문번호가 묶음배송번호와 맞지 않습니다.", False)
        if str(dto.get("vendorItemId") or "") not in {i.vendor_item_id for i in box.items}:
            return ("INVALID_VENDOR_ITEM", "옵션ID가 묶음배송에 없습니다.", False)
        if dto.get("splitShipping") is not False or dto.get("preSplitShipped") is not False:
            return ("SPLIT_NOT_ALLOWED", "분리배송 정보가 유효하지 않습니다.", False)
        courier = dto.get("deliveryCompanyCode")
        if courier not in COURIER_CODES:
            return ("INVALID_DELIVERY_COMPANY", f"택배사 코드가 유효하지 않습니다: {courier}", False)
        number = str(dto.get("invoiceNumber") or "")
        if not number.isdigit() or not 8 <= len(number) <= 16:
            return ("INVALID_INVOICE_NUMBER", f"운송장번호가 유효하지 않습니다: {number}", False)
        if all(i.cancel_count >= i.shipping_count for i in box.items):
            return ("CANCELED", "취소된 주문입니다.", False)
        if box.status in SHIPPED_STATUSES:
            same = box.invoice == {"deliveryCompanyCode": courier, "invoiceNumber": number}
            return None if same else ("ALREADY_SHIPPED", "이미 송장이 등록된 주문입니다.", False)
        if box.status != "INSTRUCT":
            return (
                "INVALID_STATUS",
                f"{box.status} 상태에서는 송장을 등록할 수 없습니다. 발주확인을 먼저 하세요.",
                False,
            )
        return None

    # --- vendor items ---------------------------------------------------------------------------

    def _vendor_item(self, vendor_item_id: str, action: str) -> Response:
        if not vendor_item_id.isdigit():
            return error(400, f"옵션ID가 유효하지 않습니다: {vendor_item_id}")
        if vendor_item_id in self.item_failures:
            return error(400, self.item_failures[vendor_item_id][1])
        if self.strict_vendor_items and vendor_item_id not in self.vendor_items:
            return error(400, f"존재하지 않는 옵션입니다: {vendor_item_id}")
        kind, _, value = action.partition("/")
        if kind == "quantities" and value.isdigit():
            quantity = int(value)
            if quantity > 99999:
                return error(400, "재고수량은 0~99999 사이여야 합니다.")
            self.quantities[vendor_item_id] = quantity
            self.quantity_pushes.append((vendor_item_id, quantity))
            return Response(200, {"code": "SUCCESS", "message": "재고 변경을 완료했습니다.", "data": None})
        if kind == "prices" and value.isdigit():
            price = int(value)
            if price < 10 or price % 10:
                return error(400, "판매가격은 10원 단위로 입력해 주세요.")
            self.prices[vendor_item_id] = price
            return Response(200, {"code": "SUCCESS", "message": "가격 변경을 완료했습니다.", "data": None})
        if kind == "sales" and value in ("stop", "resume"):
            self.on_sale[vendor_item_id] = value == "resume"
            self.sales_changes.append((vendor_item_id, value))
            return Response(200, {"code": "SUCCESS", "message": "판매 상태를 변경했습니다.", "data": None})
        return error(400, f"요청이 유효하지 않습니다: {action}")
