"""FakeNaver: Naver Commerce API (스마트스토어) over real HTTP, for adapter, end-to-end and
benchmark tests. It speaks the shapes in ../shared/channel-specs.md and checks what Naver checks.

Starting it
    with FakeNaver() as naver:                      # or naver = FakeNaver().start(); naver.stop()
        account = AccountConfig(..., base_url=naver.api_url,
                                credentials={"client_id": naver.client_id,
                                             "client_secret": naver.client_secret})
    `api_url` is base_url + "/external", like the real https://api.commerce.naver.com/external.
    FakeNaver(client_id=..., client_secret=..., token_ttl=10800, rate_limit_per_second=None,
              strict_products=False) sets the application, the token lifetime (seconds), an optional
    token bucket that answers 429 GW.RATE_LIMIT when exceeded, and whether option-stock for an
    origin product never registered with add_product() is refused (404) or accepted.

What it checks, like Naver
    - POST /v1/oauth2/token issues a token only for the right client_id and a client_secret_sign
      equal to base64(bcrypt.hashpw(f"{client_id}_{timestamp}", client_secret)) with the
      timestamp (ms) within 5 minutes; otherwise 400 with invalidInputs.
    - Every other call needs `Authorization: Bearer <token>`: a missing, unknown or expired
      token gets 401 {"code": "GW.AUTHN"}.
    - last-changed-statuses: lastChangedFrom required (with an offset), window <= 24 h,
      1 <= limitCount <= 300; pages with data.more {moreFrom, moreSequence} (half-open window
      [from, to), ordered by change time then sequence).
    - query <= 300 ids, confirm <= 30, dispatch <= 30; 400 in Naver's error body
      {"code", "message", "timestamp", "traceId", "invalidInputs": [{name, type, message}]}.
    - dispatch checks the courier code (COURIER_CODES), the tracking number (digits) and the
      state; confirm checks the state (an open claim or a shipped line fails).

Steering
    Orders (all times are aware datetimes; the default change time is now):
        add_order(lines=[{...}, ...] | n, order_id=, ordered_at=, paid_at=, buyer_name=,
                  buyer_tel=, recipient={name, tel1, tel2, zipCode, baseAddress,
                  detailedAddress}, memo=, package_number=, changed_at=) -> FakeOrder
            Each line dict takes FakeProductOrder's fields (product_order_id, product_id,
            product_name, option, option_code, option_manage_code, seller_product_code,
            quantity, unit_price, option_price, total, delivery_fee, status,
            place_order_status, claim_type, claim_status, origin_product_no).
        add_orders(count, start=, step=timedelta(seconds=1), lines_per_order=1, **line_fields)
            -> list[FakeOrder]: many varied orders fast (benchmarks: 10,000 in well under 1 s).
        set_status(product_order_id, status, place_order_status=, changed_type=, at=)
        claim(product_order_id, claim_type, claim_status, at=)     e.g. ("CANCEL", "CANCEL_REQUEST")
        change_address(order_id, at=, **shippingAddress fields)
        override(product_order_id, section="productOrder", **fields)
            patch the detail JSON of one item (REMOVE deletes a key): malformed-item tests.
    Failures:
        fail_items({id: (code, message)}) or fail_items([ids], code=, message=): per-item
            failures for confirm / dispatch (productOrderId) and option-stock / change-status
            (originProductNo or option combination id: that product's whole PUT fails with 400).
        expire_tokens(): every issued token now answers 401 GW.AUTHN.
        Harness faults (tests/fakes/server.py): fail_next(FakeNaver.auth_expired(), path=...),
            fail_next(FakeNaver.rate_limited(retry_after=2)), fail_next(FakeNaver.server_error()),
            fail_next(FakeNaver.malformed_json()), slow_next(seconds, path=...).
    Products:
        add_product(origin_product_no, option_ids=[...], stock=0, sale_price=None)
            With options, option-stock edits it: optionInfo is required, a combination's
            price is the option price ADDED to the sale price (productSalePrice in the body, or
            the one given here) and must stay within +-50% of it. Without options only the
            whole-product edit changes it: GET then PUT /v2/products/origin-products/{no}
            with every required originProduct field (ORIGIN_REQUIRED) sent back.
    What it received:
        tokens_issued (count), confirmed [productOrderId], dispatched [dispatch item dicts],
        stock_pushes [(originProductNo, body)], stock {(originProductNo, option id): quantity}
        (option id "" for products without options), prices {(no, option id): what a buyer
        pays (sale price + option price)}, option_extras {(no, option id): option price as sent},
        sale_prices {no: salePrice}, origin_products {no: the stored product of the v2 edit},
        status_changes [(originProductNo, statusType)], sale_status {no: statusType},
        calls(path_fragment, method=None) -> number of requests seen, `requests` (all of them).
"""

from __future__ import annotations

import base64
import bisect
import copy
import hmac
import itertools
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import bcrypt

from tests.fakes.server import COURIER_CODES, FakeMarketplace, Request, Response

KST = timezone(timedelta(hours=9))
DEFAULT_CLIENT_ID = "fake-naver-app"
DEFAULT_CLIENT_SECRET = "$2a$04$YepVh3vy.AowCGpkMw1rW."  # a bcrypt salt, like Naver's secrets
PRODUCT_ORDER_STATUSES = frozenset(
    {
        "PAYMENT_WAITING",
        "PAYED",
        "DELIVERING",
        "DELIVERED",
        "PURCHASE_DECIDED",
        "EXCHANGED",
        "CANCELED",
        "RETURNED",
        "CANCELED_BY_NOPAYMENT",
    }
)
SALE_STATUSES = frozenset({"SALE", "SUSPENSION", "OUTOFSTOCK", "CLOSE"})
MAX_WINDOW = timedelta(hours=24)
PREFIX = "/external"
REMOVE = object()  # override(..., field=REMOVE) deletes the key from the detail JSON

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "지민", "주원", "하은", "예준", "수아"]
_COLOURS = ("블랙", "화이트", "네이비")
_STREETS = [
    ("06236", "서울특별시 강남구 테헤란로 152"),
    ("04524", "서울특별시 중구 세종대로 110"),
    ("48058", "부산광역시 해운대구 센텀중앙로 79"),
    ("13494", "경기도 성남시 분당구 판교역로 235"),
    ("61945", "광주광역시 서구 내방로 111"),
    ("35242", "대전광역시 서구 둔산로 100"),
]


def iso(moment: datetime) -> str:
    kst = moment.astimezone(KST)
    return kst.strftime("%Y-%m-%dT%H:%M:%S.") + f"{kst.microsecond // 1000:03d}+09:00"


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    return int(moment.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, KST)


def error_body(code: str, message: str, invalid_inputs: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "timestamp": iso(datetime.now(KST)),
        "traceId": secrets.token_hex(8),
        "invalidInputs": [{"name": n, "type": "Invalid", "message": m} for n, m in invalid_inputs],
    }


# Fields the whole-product edit needs back (the read answer carries them all).
ORIGIN_REQUIRED = (
    "statusType",
    "leafCategoryId",
    "name",
    "images",
    "detailContent",
    "salePrice",
    "stockQuantity",
)


def _origin_product(product_no: str, *, stock: int, sale_price: int) -> dict[str, Any]:
    """The read answer of a product without options (상품 조회, v2), trimmed to what matters."""
    return {
        "originProduct": {
            "statusType": "SALE",
            "saleType": "NEW",
            "leafCategoryId": "50000803",
            "name": f"기본 반팔 티셔츠 {product_no}",
            "images": {"representativeImage": {"url": "https://shop-phinf.pstatic.net/fake.jpg"}},
            "detailContent": "<p>상세 설명</p>",
            "salePrice": sale_price,
            "stockQuantity": stock,
            "deliveryInfo": {"deliveryType": "DELIVERY", "deliveryCompany": "CJGLS"},
            "detailAttribute": {"sellerCodeInfo": {"sellerManagementCode": f"SKU-{product_no}"}},
        },
        "smartstoreChannelProduct": {
            "channelProductDisplayStatusType": "ON",
            "naverShoppingRegistration": True,
        },
    }


def _bad_request(message: str, *inputs: tuple[str, str]) -> Response:
    return Response(400, error_body("BadRequest", message, inputs))


@dataclass
class FakeProductOrder:
    product_order_id: str = ""
    order_id: str = ""
    product_id: str = "5000000001"
    origin_product_no: str = "4000000001"
    product_name: str = "기본 반팔 티셔츠"
    option: str = "색상: 블랙 / 사이즈: M"
    option_code: str = "30000001"
    option_manage_code: str = ""
    seller_product_code: str = ""
    quantity: int = 1
    unit_price: int = 19900
    option_price: int = 0
    total: int | None = None
    delivery_fee: int = 0
    package_number: str = ""
    status: str = "PAYED"
    place_order_status: str = "NOT_YET"
    claim_type: str = ""
    claim_status: str = ""
    memo: str = ""
    address: dict[str, str] = field(default_factory=dict)
    address_changed: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)
    changed_ms: int = 0
    seq: int = 0
    changed_type: str = "PAYED"
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FakeOrder:
    order_id: str
    ordered_at: datetime
    paid_at: datetime | None
    buyer_name: str
    buyer_tel: str
    lines: list[FakeProductOrder]

    @property
    def product_order_ids(self) -> list[str]:
        return [line.product_order_id for line in self.lines]


class FakeNaver(FakeMarketplace):
    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_ttl: int = 10800,
        rate_limit_per_second: float | None = None,
        strict_products: bool = False,
    ) -> None:
        super().__init__(rate_limit_per_second=rate_limit_per_second)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.strict_products = strict_products
        self.tokens: dict[str, float] = {}  # token -> expires at (time.time())
        self.tokens_issued = 0
        self.orders: dict[str, FakeOrder] = {}
        self.product_orders: dict[str, FakeProductOrder] = {}
        self.products: dict[str, set[str]] = {}
        self.confirmed: list[str] = []
        self.dispatched: list[dict[str, Any]] = []
        self.stock_pushes: list[tuple[str, dict[str, Any]]] = []
        self.stock: dict[tuple[str, str], int] = {}
        # What a buyer pays: option -> sale price + option price (Naver's 옵션가, an amount added
        # to the product's sale price: option_extras); product without options -> its sale price.
        self.prices: dict[tuple[str, str], int] = {}
        self.option_extras: dict[tuple[str, str], int] = {}
        self.sale_prices: dict[str, int] = {}
        self.origin_products: dict[str, dict[str, Any]] = {}
        self.status_changes: list[tuple[str, str]] = []
        self.sale_status: dict[str, str] = {}
        self.item_failures: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(2025_0101_0000_0001)
        self._seq = itertools.count(1)
        self._index: list[tuple[int, int, str]] = []
        self._index_dirty = False

    def __enter__(self) -> FakeNaver:
        return self.start()

    @property
    def api_url(self) -> str:
        return self.base_url + PREFIX

    # --- canned answers for the harness's fail_next ----------------------------------------------

    @staticmethod
    def auth_expired() -> Response:
        return Response(401, error_body("GW.AUTHN", "인증 토큰이 만료되었거나 유효하지 않습니다."))

    @staticmethod
    def rate_limited(retry_after: float | None = 1) -> Response:
        headers = {
            "GNCP-GW-RateLimit-Replenish-Rate": "2",
            "GNCP-GW-RateLimit-Burst-Capacity": "2",
            "GNCP-GW-RateLimit-Remaining": "0",
        }
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return Response(429, error_body("GW.RATE_LIMIT", "요청이 많아 처리할 수 없습니다."), headers=headers)

    @staticmethod
    def server_error(status: int = 500) -> Response:
        return Response(status, error_body("GW.INTERNAL", "일시적인 오류가 발생했습니다."))

    @staticmethod
    def malformed_json() -> Response:
        return Response(200, b'{"timestamp": "2025-01-01T00:00:00.000+09:00", "data": [{"order": ')

    # --- steering: orders -----------------------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _touch(self, line: FakeProductOrder, changed_type: str, at: datetime | None) -> None:
        line.changed_ms = _ms(at or datetime.now(KST))
        line.seq = next(self._seq)
        line.changed_type = changed_type
        self._index_dirty = True

    def add_order(
        self,
        *,
        lines: Sequence[Mapping[str, Any]] | int = 1,
        order_id: str | None = None,
        ordered_at: datetime | None = None,
        paid_at: datetime | None = None,
        buyer_name: str = "김민준",
        buyer_tel: str = "010-1234-5678",
        recipient: Mapping[str, str] | None = None,
        memo: str = "",
        package_number: str | None = None,
        changed_at: datetime | None = None,
    ) -> FakeOrder:
        with self.lock:
            order_id = order_id or self._next_id()
            ordered_at = ordered_at or changed_at or datetime.now(KST)
            address = {
                "name": buyer_name,
                "tel1": buyer_tel,
                "tel2": "",
                "zipCode": "06236",
                "baseAddress": "서울특별시 강남구 테헤란로 152",
                "detailedAddress": "12층",
                **(recipient or {}),
            }
            specs = [{} for _ in range(lines)] if isinstance(lines, int) else list(lines)
            package = package_number if package_number is not None else self._next_id()
            order = FakeOrder(order_id, ordered_at, paid_at or ordered_at, buyer_name, buyer_tel, [])
            for number, spec in enumerate(specs):
                values = {"delivery_fee": 3000 if number == 0 else 0, "memo": memo, **spec}
                line = FakeProductOrder(
                    order_id=order_id,
                    package_number=package,
                    address=dict(address),
                    **{k: v for k, v in values.items() if k != "product_order_id"},
                )
                line.product_order_id = str(spec.get("product_order_id") or self._next_id())
                if line.status not in PRODUCT_ORDER_STATUSES:
                    raise ValueError(f"unknown productOrderStatus {line.status}")
                self._touch(line, "PAYED" if line.status != "PAYMENT_WAITING" else "PAY_WAITING", changed_at)
                order.lines.append(line)
                self.product_orders[line.product_order_id] = line
            self.orders[order_id] = order
            return order

    def add_orders(
        self,
        count: int,
        *,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        lines_per_order: int = 1,
        **line_fields: Any,
    ) -> list[FakeOrder]:
        """Many varied orders (names, phones, addresses, options), change times start + i*step."""
        start = start or datetime.now(KST) - step * count
        made = []
        for i in range(count):
            zip_code, street = _STREETS[i % len(_STREETS)]
            name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i // len(_SURNAMES)) % len(_GIVEN)]
            tel = f"010-{1000 + i % 9000:04d}-{(i * 7919) % 10000:04d}"
            at = start + step * i
            lines = [
                {
                    "option": f"색상: {_COLOURS[(i + n) % 3]} / 사이즈: {'SML'[(i + n) % 3]}",
                    "option_code": str(30000001 + (i + n) % 9),
                    "quantity": 1 + (i + n) % 3,
                    **line_fields,
                }
                for n in range(lines_per_order)
            ]
            made.append(
                self.add_order(
                    lines=lines,
                    ordered_at=at,
                    changed_at=at,
                    buyer_name=name,
                    buyer_tel=tel,
                    recipient={
                        "name": name,
                        "tel1": tel,
                        "zipCode": zip_code,
                        "baseAddress": street,
                        "detailedAddress": f"{100 + i % 900}호",
                    },
                    memo=("문 앞에 놓아주세요", "", "부재 시 경비실에 맡겨주세요")[i % 3],
                )
            )
        return made

    def set_status(
        self,
        product_order_id: str,
        status: str,
        *,
        place_order_status: str | None = None,
        changed_type: str | None = None,
        at: datetime | None = None,
    ) -> None:
        if status not in PRODUCT_ORDER_STATUSES:
            raise ValueError(f"unknown productOrderStatus {status}")
        with self.lock:
            line = self.product_orders[product_order_id]
            line.status = status
            if place_order_status is not None:
                line.place_order_status = place_order_status
            default_type = {
                "DELIVERING": "DISPATCHED",
                "PURCHASE_DECIDED": "PURCHASE_DECIDED",
                "CANCELED": "CLAIM_COMPLETED",
                "RETURNED": "CLAIM_COMPLETED",
                "EXCHANGED": "CLAIM_COMPLETED",
            }.get(status, status)
            self._touch(line, changed_type or default_type, at)

    def claim(
        self, product_order_id: str, claim_type: str, claim_status: str, *, at: datetime | None = None
    ) -> None:
        with self.lock:
            line = self.product_orders[product_order_id]
            line.claim_type, line.claim_status = claim_type, claim_status
            done = claim_status.endswith("_DONE")
            if done:
                line.status = {"CANCEL": "CANCELED", "ADMIN_CANCEL": "CANCELED", "RETURN": "RETURNED"}.get(
                    claim_type, "EXCHANGED"
                )
            self._touch(line, "CLAIM_COMPLETED" if done else "CLAIM_REQUESTED", at)

    def change_address(self, order_id: str, *, at: datetime | None = None, **fields: str) -> None:
        with self.lock:
            for line in self.orders[order_id].lines:
                line.address.update(fields)
                line.address_changed = True
                self._touch(line, "DELIVERY_ADDRESS_CHANGED", at)

    def override(self, product_order_id: str, section: str = "productOrder", **fields: Any) -> None:
        with self.lock:
            self.product_orders[product_order_id].overrides.setdefault(section, {}).update(fields)

    # --- steering: failures and products -------------------------------------------------------

    def fail_items(
        self,
        items: Mapping[str, tuple[str, str]] | Iterable[str],
        *,
        code: str = "INVALID_STATUS",
        message: str = "처리할 수 없는 상태입니다.",
    ) -> None:
        with self.lock:
            if isinstance(items, Mapping):
                self.item_failures.update(items)
            else:
                self.item_failures.update({str(key): (code, message) for key in items})

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def add_product(
        self,
        origin_product_no: str,
        option_ids: Iterable[str] = (),
        *,
        stock: int = 0,
        sale_price: int | None = None,
    ) -> None:
        """A product with combination options (option-stock edits it), or without options (only
        the whole-product edit, GET then PUT /v2/products/origin-products/{no}, changes it)."""
        with self.lock:
            options = {str(o) for o in option_ids}
            self.products[origin_product_no] = options
            if sale_price is not None:
                self.sale_prices[origin_product_no] = sale_price
            for option in options or {""}:
                self.stock[(origin_product_no, option)] = stock
            if not options:
                self.origin_products[origin_product_no] = _origin_product(
                    origin_product_no, stock=stock, sale_price=sale_price or 19900
                )
                self.prices[(origin_product_no, "")] = sale_price or 19900

    def handle(self, request: Request) -> Response:
        path = request.path[len(PREFIX) :] if request.path.startswith(PREFIX + "/") else request.path
        with self.lock:
            limited = self.take_rate_token()
            if limited is not None:
                return limited
            if path == "/v1/oauth2/token" and request.method == "POST":
                return self._token(request)
            if not self._authorised(request):
                return self.auth_expired()
            route = (request.method, path)
            if route == ("GET", "/v1/pay-order/seller/product-orders/last-changed-statuses"):
                return self._last_changed(request)
            if route == ("POST", "/v1/pay-order/seller/product-orders/query"):
                return self._query(request)
            if route == ("POST", "/v1/pay-order/seller/product-orders/confirm"):
                return self._confirm(request)
            if route == ("POST", "/v1/pay-order/seller/product-orders/dispatch"):
                return self._dispatch(request)
            parts = path.strip("/").split("/")
            if (
                request.method == "PUT"
                and len(parts) == 5
                and parts[:3] == ["v1", "products", "origin-products"]
            ):
                if parts[4] == "option-stock":
                    return self._option_stock(parts[3], request)
                if parts[4] == "change-status":
                    return self._change_status(parts[3], request)
            if len(parts) == 4 and parts[:3] == ["v2", "products", "origin-products"]:
                if request.method == "GET":
                    return self._origin_product_get(parts[3])
                if request.method == "PUT":
                    return self._origin_product_put(parts[3], request)
            return Response(404, error_body("NOT_FOUND", f"{request.method} {request.path} 없음"))

    def _token(self, request: Request) -> Response:
        form = request.form()
        missing = [
            name
            for name in ("client_id", "timestamp", "client_secret_sign", "grant_type", "type")
            if not form.get(name)
        ]
        if missing:
            return _bad_request(
                "필수 파라미터가 없습니다.", *((name, "필수 항목입니다.") for name in missing)
            )
        if form["grant_type"] != "client_credentials" or form["type"] not in ("SELF", "SELLER"):
            return _bad_request(
                "grant_type 또는 type이 유효하지 않습니다.", ("grant_type", form["grant_type"])
            )
        if form["client_id"] != self.client_id:
            return _bad_request("존재하지 않는 애플리케이션입니다.", ("client_id", "유효하지 않은 client_id"))
        try:
            stamp = int(form["timestamp"])
        except ValueError:
            return _bad_request("timestamp가 유효하지 않습니다.", ("timestamp", "밀리초 단위 숫자"))
        if abs(time.time() * 1000 - stamp) > 5 * 60 * 1000:
            return _bad_request("timestamp가 만료되었습니다.", ("timestamp", "5분 이내의 시각이어야 합니다."))
        try:
            sign = base64.b64decode(form["client_secret_sign"], validate=True)
        except ValueError:
            sign = b""
        expected = bcrypt.hashpw(f"{form['client_id']}_{stamp}".encode(), self.client_secret.encode())
        if not sign or not hmac.compare_digest(sign, expected):
            return _bad_request(
                "client_secret_sign이 유효하지 않습니다.", ("client_secret_sign", "서명이 일치하지 않습니다.")
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_ttl
        self.tokens_issued += 1
        return Response(200, {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer"})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        expires = self.tokens.get(header[len("Bearer ") :])
        return expires is not None and expires > time.time()

    # --- orders --------------------------------------------------------------------------------------

    def _sorted_index(self) -> list[tuple[int, int, str]]:
        if self._index_dirty:
            self._index = sorted(
                (po.changed_ms, po.seq, po.product_order_id) for po in self.product_orders.values()
            )
            self._index_dirty = False
        return self._index

    def _last_changed(self, request: Request) -> Response:
        try:
            start = datetime.fromisoformat(request.arg("lastChangedFrom"))
        except ValueError:
            return _bad_request("lastChangedFrom이 유효하지 않습니다.", ("lastChangedFrom", "ISO-8601 일시"))
        raw_to = request.arg("lastChangedTo")
        try:
            end = datetime.fromisoformat(raw_to) if raw_to else start + MAX_WINDOW
        except ValueError:
            return _bad_request("lastChangedTo가 유효하지 않습니다.", ("lastChangedTo", "ISO-8601 일시"))
        if start.tzinfo is None or end.tzinfo is None:
            return _bad_request("일시에 시간대가 없습니다.", ("lastChangedFrom", "+09:00 형식"))
        if end - start > MAX_WINDOW:
            return _bad_request("조회 기간은 24시간을 넘을 수 없습니다.", ("lastChangedTo", "24시간 이내"))
        if end < start:
            return _bad_request("조회 기간이 잘못되었습니다.", ("lastChangedTo", "lastChangedFrom 이후"))
        try:
            limit = int(request.arg("limitCount", "300"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 300:
            return _bad_request("limitCount는 1~300이어야 합니다.", ("limitCount", "1~300"))
        sequence = request.arg("moreSequence")
        try:
            seq = int(sequence) if sequence else -1
        except ValueError:
            return _bad_request("moreSequence가 유효하지 않습니다.", ("moreSequence", sequence))
        index = self._sorted_index()
        end_ms = _ms(end)
        low = bisect.bisect_left(index, (_ms(start), seq, ""))
        page: list[FakeProductOrder] = []
        position = low
        while position < len(index) and len(page) < limit and index[position][0] < end_ms:
            page.append(self.product_orders[index[position][2]])
            position += 1
        data: dict[str, Any] = {
            "lastChangeStatuses": [self._status_item(po) for po in page],
            "count": len(page),
        }
        if position < len(index) and index[position][0] < end_ms:
            data["more"] = {
                "moreFrom": iso(_from_ms(index[position][0])),
                "moreSequence": f"{index[position][1]:020d}",
            }
        return Response(
            200, {"timestamp": iso(datetime.now(KST)), "traceId": secrets.token_hex(8), "data": data}
        )

    def _status_item(self, po: FakeProductOrder) -> dict[str, Any]:
        order = self.orders[po.order_id]
        item = {
            "orderId": po.order_id,
            "productOrderId": po.product_order_id,
            "lastChangedType": po.changed_type,
            "paymentDate": iso(order.paid_at) if order.paid_at else None,
            "lastChangedDate": iso(_from_ms(po.changed_ms)),
            "productOrderStatus": po.status,
            "claimType": po.claim_type or None,
            "claimStatus": po.claim_status or None,
            "receiverAddressChanged": po.address_changed,
            "giftReceivingStatus": None,
        }
        return {k: v for k, v in item.items() if v is not None}

    def _ids_from(self, request: Request, key: str, limit: int) -> list[Any] | Response:
        body = request.json_or_none()
        if body is None:
            return _bad_request("요청 본문이 JSON이 아닙니다.")
        ids = body.get(key) if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return _bad_request(f"{key}가 없습니다.", (key, "필수 항목입니다."))
        if len(ids) > limit:
            return _bad_request(f"한 번에 {limit}개까지 요청할 수 있습니다.", (key, f"최대 {limit}개"))
        return ids

    def _query(self, request: Request) -> Response:
        ids = self._ids_from(request, "productOrderIds", 300)
        if isinstance(ids, Response):
            return ids
        data = [self._detail(self.product_orders[str(i)]) for i in ids if str(i) in self.product_orders]
        return Response(
            200, {"timestamp": iso(datetime.now(KST)), "traceId": secrets.token_hex(8), "data": data}
        )

    def _detail(self, po: FakeProductOrder) -> dict[str, Any]:
        order = self.orders[po.order_id]
        total_product = (po.unit_price + po.option_price) * po.quantity
        total = po.total if po.total is not None else total_product
        product_order: dict[str, Any] = {
            "productOrderId": po.product_order_id,
            "productOrderStatus": po.status,
            "placeOrderStatus": po.place_order_status,
            "claimType": po.claim_type or None,
            "claimStatus": po.claim_status or None,
            "productId": po.product_id,
            "originalProductId": po.origin_product_no,
            "productName": po.product_name,
            "productOption": po.option or None,
            "optionCode": po.option_code or None,
            "optionManageCode": po.option_manage_code or None,
            "sellerProductCode": po.seller_product_code or None,
            "quantity": po.quantity,
            "unitPrice": po.unit_price,
            "optionPrice": po.option_price,
            "totalProductAmount": total_product,
            "productDiscountAmount": total_product - total,
            "totalPaymentAmount": total,
            "deliveryFeeAmount": po.delivery_fee,
            "packageNumber": po.package_number,
            "shippingMemo": po.memo or None,
            "shippingAddress": {"addressType": "DOMESTIC", **po.address},
            "expectedDeliveryMethod": "DELIVERY",
        }
        item: dict[str, Any] = {
            "order": {
                "orderId": po.order_id,
                "orderDate": iso(order.ordered_at),
                "paymentDate": iso(order.paid_at) if order.paid_at else None,
                "ordererId": "buyer****",
                "ordererName": order.buyer_name,
                "ordererTel": order.buyer_tel,
                "paymentMeans": "신용카드",
                "payLocationType": "MOBILE",
            },
            "productOrder": product_order,
        }
        if po.delivery:
            item["delivery"] = dict(po.delivery)
        if po.claim_type:
            key = {
                "CANCEL": "cancel",
                "ADMIN_CANCEL": "cancel",
                "RETURN": "return",
                "EXCHANGE": "exchange",
            }.get(po.claim_type)
            if key:
                item["currentClaim"] = {
                    key: {"claimStatus": po.claim_status, "claimRequestDate": iso(_from_ms(po.changed_ms))}
                }
        for section, fields in po.overrides.items():
            target = item.setdefault(section, {})
            for name, value in fields.items():
                if value is REMOVE:
                    target.pop(name, None)
                else:
                    target[name] = value
        for part in (item["order"], product_order):
            for name in [k for k, v in part.items() if v is None]:
                del part[name]
        return item

    def _confirm(self, request: Request) -> Response:
        ids = self._ids_from(request, "productOrderIds", 30)
        if isinstance(ids, Response):
            return ids
        success, failed = [], []
        for raw_id in ids:
            po_id = str(raw_id)
            po = self.product_orders.get(po_id)
            reason = self.item_failures.get(po_id)
            if reason is None and po is None:
                reason = ("NOT_FOUND", "존재하지 않는 상품주문입니다.")
            elif (
                reason is None
                and po is not None
                and (po.status != "PAYED" or po.claim_status.endswith("REQUEST"))
            ):
                reason = ("INVALID_STATUS", "발주확인할 수 없는 주문 상태입니다.")
            if reason is not None:
                failed.append({"productOrderId": po_id, "code": reason[0], "message": reason[1]})
                continue
            assert po is not None
            po.place_order_status = "OK"  # confirming twice is harmless, like Naver
            self.confirmed.append(po_id)
            success.append({"productOrderId": po_id, "isReceiverAddressChanged": po.address_changed})
        return Response(
            200,
            {
                "timestamp": iso(datetime.now(KST)),
                "data": {"successProductOrderInfos": success, "failProductOrderInfos": failed},
            },
        )

    def _dispatch(self, request: Request) -> Response:
        items = self._ids_from(request, "dispatchProductOrders", 30)
        if isinstance(items, Response):
            return items
        success, failed = [], []
        for item in items:
            if not isinstance(item, dict):
                return _bad_request("dispatchProductOrders 항목이 객체가 아닙니다.")
            po_id = str(item.get("productOrderId") or "")
            po = self.product_orders.get(po_id)
            reason = self.item_failures.get(po_id) or self._dispatch_problem(po, item)
            if reason is not None:
                failed.append({"productOrderId": po_id, "code": reason[0], "message": reason[1]})
                continue
            assert po is not None
            if po.status == "PAYED":
                po.status, po.place_order_status = "DELIVERING", "OK"
                po.delivery = {
                    "deliveryMethod": item["deliveryMethod"],
                    "deliveryCompany": item["deliveryCompanyCode"],
                    "trackingNumber": item["trackingNumber"],
                    "sendDate": item["dispatchDate"],
                    "deliveryStatus": "DELIVERING",
                }
                self._touch(po, "DISPATCHED", None)
                self.dispatched.append(dict(item))
            success.append(po_id)
        return Response(
            200,
            {
                "timestamp": iso(datetime.now(KST)),
                "data": {"successProductOrderIds": success, "failProductOrderInfos": failed},
            },
        )

    def _dispatch_problem(self, po: FakeProductOrder | None, item: dict[str, Any]) -> tuple[str, str] | None:
        if po is None:
            return ("NOT_FOUND", "존재하지 않는 상품주문입니다.")
        if item.get("deliveryMethod") != "DELIVERY":
            return ("INVALID_DELIVERY_METHOD", "배송방법이 유효하지 않습니다.")
        if item.get("deliveryCompanyCode") not in COURIER_CODES:
            return (
                "INVALID_DELIVERY_COMPANY",
                f"택배사 코드가 유효하지 않습니다: {item.get('deliveryCompanyCode')}",
            )
        tracking = str(item.get("trackingNumber") or "")
        if not tracking.isdigit() or not 8 <= len(tracking) <= 16:
            return ("INVALID_TRACKING_NUMBER", "송장번호가 유효하지 않습니다.")
        try:
            datetime.fromisoformat(str(item.get("dispatchDate")))
        except ValueError:
            return ("INVALID_DISPATCH_DATE", "발송일이 유효하지 않습니다.")
        if po.claim_status.endswith("REQUEST"):
            return ("CLAIM_REQUESTED", "클레임이 요청된 상품주문입니다.")
        if po.status == "DELIVERING":
            same = (po.delivery.get("deliveryCompany"), po.delivery.get("trackingNumber")) == (
                item["deliveryCompanyCode"],
                tracking,
            )
            return None if same else ("ALREADY_DISPATCHED", "이미 발송처리된 상품주문입니다.")
        if po.status != "PAYED":
            return ("INVALID_STATUS", "발송처리할 수 없는 주문 상태입니다.")
        return None

    # --- products --------------------------------------------------------------------------------------

    def _product_problem(self, product_no: str, option_ids: Iterable[str]) -> Response | None:
        if not product_no.isdigit():
            return _bad_request("원상품번호가 유효하지 않습니다.", ("originProductNo", product_no))
        for key in (product_no, *option_ids):
            if key in self.item_failures:
                code, message = self.item_failures[key]
                return Response(400, error_body(code, message, [("originProductNo", product_no)]))
        known = self.products.get(product_no)
        if known is None and self.strict_products:
            return Response(404, error_body("NOT_FOUND", f"상품을 찾을 수 없습니다: {product_no}"))
        if known is not None:
            unknown = [o for o in option_ids if o not in known]
            if unknown:
                return _bad_request(
                    "존재하지 않는 옵션입니다.",
                    *((f"optionInfo.optionCombinations[id={o}]", "존재하지 않는 옵션 ID") for o in unknown),
                )
        return None

    def _option_stock(self, product_no: str, request: Request) -> Response:
        body = request.json_or_none()
        if body is None:
            return _bad_request("요청 본문이 JSON이 아닙니다.")
        if not isinstance(body, dict):
            return _bad_request("요청 본문이 객체가 아닙니다.")
        combos = (body.get("optionInfo") or {}).get("optionCombinations") or []
        if not combos:
            # optionInfo is required: option-stock edits only products set up with options.
            return _bad_request("옵션 정보가 없습니다.", ("optionInfo", "필수 항목입니다."))
        if self.products.get(product_no) == set():
            return _bad_request(
                "옵션을 사용하지 않는 상품입니다. 상품 수정으로 재고를 변경하세요.",
                ("optionInfo", "옵션 없음"),
            )
        inputs = []
        for number, combo in enumerate(combos):
            prefix = f"optionInfo.optionCombinations[{number}]"
            if not isinstance(combo, dict) or "id" not in combo:
                inputs.append((f"{prefix}.id", "필수 항목입니다."))
                continue
            for name in ("stockQuantity", "price"):
                value = combo.get(name)
                if name in combo and (
                    not isinstance(value, int)
                    or isinstance(value, bool)
                    or (name == "stockQuantity" and value < 0)
                ):
                    inputs.append((f"{prefix}.{name}", "정수여야 합니다 (재고는 0 이상)."))
        if inputs:
            return _bad_request("요청 값이 유효하지 않습니다.", *inputs)
        sale = body.get("productSalePrice")
        sale_price = sale.get("salePrice") if isinstance(sale, dict) else self.sale_prices.get(product_no)
        for number, combo in enumerate(combos):
            if "price" not in combo:
                continue
            if not isinstance(sale_price, int) or sale_price <= 0:
                return _bad_request(
                    "판매가를 알 수 없습니다.", ("productSalePrice.salePrice", "필수 항목입니다.")
                )
            # 옵션가 is the amount added to the sale price; Naver keeps it near the sale price.
            if abs(combo["price"]) > sale_price // 2:
                inputs.append(
                    (
                        f"optionInfo.optionCombinations[{number}].price",
                        "옵션가는 판매가의 ±50% 이내여야 합니다.",
                    )
                )
        if inputs:
            return _bad_request("옵션가가 허용 범위를 벗어났습니다.", *inputs)
        problem = self._product_problem(product_no, [str(c["id"]) for c in combos])
        if problem is not None:
            return problem
        self.stock_pushes.append((product_no, body))
        if isinstance(sale_price, int):
            self.sale_prices[product_no] = sale_price
        for combo in combos:
            key = (product_no, str(combo["id"]))
            if "stockQuantity" in combo:
                self.stock[key] = combo["stockQuantity"]
            if "price" in combo:
                self.option_extras[key] = combo["price"]
        for (no, option), extra in self.option_extras.items():
            if no == product_no:
                self.prices[(no, option)] = self.sale_prices[no] + extra
        return Response(200, b"")

    def _origin_product_get(self, product_no: str) -> Response:
        problem = self._product_problem(product_no, [])
        if problem is not None:
            return problem
        product = self.origin_products.get(product_no)
        if product is None:
            return Response(404, error_body("NOT_FOUND", f"상품을 찾을 수 없습니다: {product_no}"))
        return Response(200, copy.deepcopy(product))

    def _origin_product_put(self, product_no: str, request: Request) -> Response:
        """The whole-product edit: every required field must come back (Naver does not patch)."""
        body = request.json_or_none()
        if body is None:
            return _bad_request("요청 본문이 JSON이 아닙니다.")
        origin = body.get("originProduct") if isinstance(body, dict) else None
        if not isinstance(origin, dict) or not isinstance(body.get("smartstoreChannelProduct"), dict):
            return _bad_request(
                "상품 정보가 없습니다.",
                ("originProduct", "필수 항목입니다."),
                ("smartstoreChannelProduct", "필수 항목입니다."),
            )
        missing = [name for name in ORIGIN_REQUIRED if name not in origin]
        if missing:
            return _bad_request(
                "필수 항목이 없습니다.", *((f"originProduct.{n}", "필수 항목입니다.") for n in missing)
            )
        stock, price = origin.get("stockQuantity"), origin.get("salePrice")
        if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
            return _bad_request(
                "재고 수량이 유효하지 않습니다.", ("originProduct.stockQuantity", "0 이상의 정수")
            )
        if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
            return _bad_request("판매가가 유효하지 않습니다.", ("originProduct.salePrice", "1 이상의 정수"))
        if product_no not in self.origin_products:
            return Response(404, error_body("NOT_FOUND", f"상품을 찾을 수 없습니다: {product_no}"))
        problem = self._product_problem(product_no, [])
        if problem is not None:
            return problem
        self.origin_products[product_no] = copy.deepcopy(body)
        self.stock_pushes.append((product_no, body))
        self.stock[(product_no, "")] = stock
        self.prices[(product_no, "")] = price
        return Response(200, {"originProductNo": int(product_no)})

    def _change_status(self, product_no: str, request: Request) -> Response:
        body = request.json_or_none()
        if body is None:
            return _bad_request("요청 본문이 JSON이 아닙니다.")
        status = body.get("statusType") if isinstance(body, dict) else None
        if status not in SALE_STATUSES:
            return _bad_request("statusType이 유효하지 않습니다.", ("statusType", str(status)))
        problem = self._product_problem(product_no, [])
        if problem is not None:
            return problem
        self.status_changes.append((product_no, str(status)))
        self.sale_status[product_no] = str(status)
        return Response(200, b"")
