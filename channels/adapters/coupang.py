"""Coupang Open API (쿠팡 Wing) adapter.

HTTP and Coupang JSON <-> channels.types, nothing else (see channels.adapters.base). The facts
it relies on are in ../shared/channel-specs.md ("Coupang Open API (Wing)"); the ones not
confirmed by Coupang's own documentation sit behind the module constants below, so they can be
corrected in one place.

Signing
    Every call carries `Authorization: CEA algorithm=HmacSHA256, access-key=..., signed-date=...,
    signature=...` where signature = hex(HMAC-SHA256(secret key, signed-date + METHOD + path +
    query)), signed-date in UTC as yyMMdd'T'HHmmss'Z' and the query without "?". The query
    string is encoded once (urlencode) and that exact string is both signed and sent; nothing
    else re-encodes it (ids in paths are checked to be plain digits or letters first), so what
    Coupang recomputes from the request line is what we signed. `X-Requested-By` names the
    vendor.

Collecting orders
    ordersheets is read in minute mode (searchType=timeFrame, createdAtFrom/createdAtTo as
    yyyy-MM-ddTHH:mm in KST), in windows of at most 24 h, following nextToken page by page
    (maxPerPage=50). Coupang filters order sheets by status and by creation time only, so each
    window is read once per status of COLLECT_STATUSES, in the order a shipment box moves
    through them (ACCEPT -> INSTRUCT -> DEPARTURE -> DELIVERING -> FINAL_DELIVERY): a box that
    moves on while a collection runs is met again by a later status query, never missed by an
    earlier one, and the later copy wins. Reading every status (not only ACCEPT) means a
    collection that ran late, or the overlap the collection service re-reads, still brings in
    orders already acknowledged or shipped in Wing and their current state.

    The minute bounds are read as inclusive; consecutive windows share their boundary minute,
    so the boundary is read whichever way Coupang counts it, and an order met twice is yielded
    once. The shipment boxes (order sheets) of one orderId are merged into one ChannelOrder:
    external_order_id = orderId, bundle_key = its (first) shipmentBoxId and one line per order
    item with external_line_id f"{shipmentBoxId}-{vendorItemId}": the same ids the Coupang
    DeliveryList Excel profile builds (묶음배송번호-옵션ID), so an order imported by Excel and
    collected by API later is the same order.

Items Coupang answers with but we cannot read
    A shipment box or order item with a missing or mistyped field, or a status this adapter does
    not know, is skipped without losing the others: every good order is yielded first, then
    CoupangSkippedItems (a ChannelTemporaryError) is raised naming each skipped item and why.
    The collection service therefore ingests the good orders (idempotently) and keeps its cursor
    where it was, so the next run reads the skipped items again; `adapter.skipped` holds the
    same list.

Cancellations
    A line whose cancelCount reaches its quantity is CANCELLED; a line with holdCountForCancel
    (refund waiting, 취소 요청) before shipping is CANCEL_REQUESTED. Partial cancellations keep
    the box's state and show in channel_status. Since order sheets are found by creation time
    only, each window also reads the cancel receipts made in it (returnRequests,
    cancelType=CANCEL) and reads again, one by one (발주서 단건 조회), the boxes they name that
    the status queries did not bring: a cancel of an order made days ago reaches the OMS with
    the next collection, not only when someone looks at claims. Returns and exchanges proper
    are not read by this adapter.

Writes
    Acknowledgement (발주확인) and invoice upload (송장 등록) act on shipment boxes: refs and
    dispatches name lines, so lines of one box share the box's answer, and the results come
    back one per ref / dispatch, in the order given. Stock, price and sale state are set per
    vendor item (one call each); a refusal fails only its own item, a rate limit or an auth
    error stops the batch (setting a quantity is idempotent: the service pushes again).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.adapters._values import KST
from channels.adapters._values import NO_DEFAULT as _NO_DEFAULT
from channels.adapters._values import Malformed as _Malformed
from channels.adapters._values import PendingOrder as _PendingOrder
from channels.adapters._values import aware as _aware
from channels.adapters._values import body_code as _body_code
from channels.adapters._values import chunks as _chunks
from channels.adapters._values import date_kst as _date
from channels.adapters._values import json_or_none as _json_or_none
from channels.adapters._values import keyed as _keyed
from channels.adapters._values import required_text as _required_text
from channels.adapters._values import text as _text
from channels.adapters._values import whole_number as _int
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
    CredentialField,
)
from channels.http import retry_after_seconds
from channels.types import (
    AuthCheck,
    ChannelOrder,
    ChannelOrderLine,
    Dispatch,
    ItemResult,
    LineState,
    OrderRef,
    ProductUpdate,
    StockUpdate,
)

logger = logging.getLogger("channels.coupang")

# --- Coupang's limits and names (channel-specs.md) ------------------------------------------------
# Coupang allows about 10 calls a second per vendor and then blocks for minutes; 8 leaves room
# for the seller's other tools on the same keys.
COUPANG_RATE_PER_SECOND = 8.0
# A 429 without Retry-After: Coupang's block lasts minutes (unverified how long exactly).
RATE_LIMIT_DEFAULT_WAIT = 60.0
ORDERSHEETS_MAX_PER_PAGE = 50
ORDERSHEETS_WINDOW = timedelta(hours=24)  # minute mode (searchType=timeFrame)
ACKNOWLEDGE_BATCH = 50  # shipmentBoxIds per acknowledgement
INVOICE_BATCH = 50  # invoices per upload (unverified; Coupang documents no limit)
MAX_PAGES = 10_000  # a server that pages forever must not hang a worker
SIGNED_DATE_FORMAT = "%y%m%dT%H%M%SZ"
TIME_FRAME_FORMAT = "%Y-%m-%dT%H:%M"

OPENAPI_VENDOR = "/v2/providers/openapi/apis/api/v4/vendors/{vendor_id}"
ORDERSHEETS_PATH = OPENAPI_VENDOR + "/ordersheets"
ORDERSHEET_PATH = ORDERSHEETS_PATH + "/{box_id}"  # 발주서 단건 조회 (by shipmentBoxId)
# Cancel receipts (returnRequests with cancelType=CANCEL, by the receipt's creation time).
RETURN_REQUESTS_PATH = "/v2/providers/openapi/apis/api/v6/vendors/{vendor_id}/returnRequests"
ACKNOWLEDGE_PATH = OPENAPI_VENDOR + "/ordersheets/acknowledgement"
INVOICES_PATH = OPENAPI_VENDOR + "/orders/invoices"
VENDOR_ITEM_PATH = "/v2/providers/seller_api/apis/api/v1/marketplace/vendor-items/{vendor_item_id}"

# Order sheet statuses read on every collection, in the order a box moves through them.
COLLECT_STATUSES = ("ACCEPT", "INSTRUCT", "DEPARTURE", "DELIVERING", "FINAL_DELIVERY")
STATUS_STATES: dict[str, LineState] = {
    "ACCEPT": LineState.NEW,  # 결제완료
    "INSTRUCT": LineState.CONFIRMED,  # 상품준비중 (acknowledged)
    "DEPARTURE": LineState.SHIPPED,  # 배송지시 (invoice uploaded)
    "DELIVERING": LineState.SHIPPED,
    "FINAL_DELIVERY": LineState.DELIVERED,
    "NONE_TRACKING": LineState.SHIPPED,  # 업체 직접 배송: shipped without tracking
}
ERROR_CODES = frozenset({"ERROR", "FAIL", "FAILURE"})
# Plain ids only: anything else would be re-encoded by requests and no longer match the signature.
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def signed_date(moment: datetime) -> str:
    """Coupang's signed-date: UTC, yyMMdd'T'HHmmss'Z' (e.g. 250115T093000Z)."""
    return moment.astimezone(UTC).strftime(SIGNED_DATE_FORMAT)


def signature(secret_key: str, date: str, method: str, path: str, query: str) -> str:
    message = f"{date}{method.upper()}{path}{query}"
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


class CoupangSkippedItems(ChannelTemporaryError):
    """Raised after every readable order was yielded: these items could not be read."""

    def __init__(self, items: list[ItemResult]) -> None:
        shown = "; ".join(f"{item.key}: {item.message}" for item in items[:5])
        more = len(items) - 5
        message = gettext("Coupang returned %(count)d order items that could not be read: %(items)s") % {
            "count": len(items),
            "items": shown + (f" (+{more})" if more > 0 else ""),
        }
        super().__init__(message, code="MALFORMED_ITEMS")
        self.items = items


@dataclass(frozen=True)
class _Box:
    """The ids of the shipment box a ref or dispatch acts on, or why they cannot be told."""

    box_id: str
    order_id: str
    vendor_item_id: str
    problem: str = ""


class CoupangAdapter(ChannelAdapter):
    code = "coupang"
    label = _("Coupang")
    capabilities = frozenset(
        {
            Capability.COLLECT_ORDERS,
            Capability.CONFIRM_ORDERS,
            Capability.DISPATCH,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRODUCT,
        }
    )
    credential_fields = (
        CredentialField(
            "access_key",
            _("Access key"),
            secret=False,
            help_text=_("Coupang Wing → Seller information → Open API key: the access key."),
        ),
        CredentialField(
            "secret_key",
            _("Secret key"),
            help_text=_("Coupang Wing → Seller information → Open API key: the secret key."),
        ),
        CredentialField(
            "vendor_id",
            _("Vendor ID"),
            secret=False,
            help_text=_("Your Coupang vendor code (업체코드), e.g. A00123456."),
        ),
    )
    default_base_url = "https://api-gateway.coupang.com"
    rate_per_second = COUPANG_RATE_PER_SECOND
    confirm_batch = ACKNOWLEDGE_BATCH
    dispatch_batch = INVOICE_BATCH
    stock_batch = 50  # one call per vendor item; this bounds one push_stock call
    collect_statuses: ClassVar[tuple[str, ...]] = COLLECT_STATUSES
    max_per_page: ClassVar[int] = ORDERSHEETS_MAX_PER_PAGE
    window: ClassVar[timedelta] = ORDERSHEETS_WINDOW

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skipped: list[ItemResult] = []

    # --- auth ------------------------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        now = dj_timezone.now()
        try:
            vendor_id = self._credentials()[2]
            self._call(
                "GET",
                ORDERSHEETS_PATH.format(vendor_id=vendor_id),
                params=self._sheet_params(now - timedelta(minutes=1), now, "ACCEPT", per_page=1),
            )
        except ChannelError as exc:
            return AuthCheck(ok=False, message=exc.message)
        return AuthCheck(
            ok=True,
            message=gettext("Connected: Coupang accepted the keys for vendor %(vendor)s.")
            % {"vendor": vendor_id},
        )

    def _credentials(self) -> tuple[str, str, str]:
        creds = self.account.credentials
        access_key = (creds.get("access_key") or "").strip()
        secret_key = (creds.get("secret_key") or "").strip()
        vendor_id = (creds.get("vendor_id") or "").strip()
        if not access_key or not secret_key or not vendor_id:
            raise ChannelAuthError(gettext("The access key, secret key and vendor ID are not all set."))
        if not _PLAIN_ID.match(vendor_id):
            raise ChannelAuthError(
                gettext("The vendor ID %(vendor)s is not a Coupang vendor code (e.g. A00123456).")
                % {"vendor": vendor_id}
            )
        return access_key, secret_key, vendor_id

    # --- HTTP ------------------------------------------------------------------------------------

    def _base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json: Any = None,
    ) -> Any:
        """One signed call; the parsed JSON body (None when empty) or a typed error."""
        access_key, secret_key, vendor_id = self._credentials()
        query = urlencode(list(params))
        date = signed_date(datetime.now(UTC))
        headers = {
            "Authorization": (
                f"CEA algorithm=HmacSHA256, access-key={access_key}, signed-date={date}, "
                f"signature={signature(secret_key, date, method, path, query)}"
            ),
            "X-Requested-By": vendor_id,
            "Accept": "application/json",
        }
        if json is not None:
            headers["Content-Type"] = "application/json;charset=UTF-8"
        url = self._base_url() + path + (f"?{query}" if query else "")
        try:
            response = self.session.request(method, url, json=json, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise ChannelTemporaryError(
                gettext("Coupang did not answer in time (%(path)s).") % {"path": path}
            ) from exc
        except requests.RequestException as exc:
            raise ChannelTemporaryError(
                gettext("Could not reach Coupang (%(path)s): %(error)s")
                % {"path": path, "error": type(exc).__name__}
            ) from exc
        return self._checked_json(response, path)

    def _checked_json(self, response: requests.Response, path: str) -> Any:
        status = response.status_code
        body = _json_or_none(response)
        message = _error_message(body)
        code = _body_code(body)
        if status == 429:
            raise ChannelRateLimited(
                message or gettext("Coupang's rate limit was reached."),
                retry_after=_retry_after(response),
                status=status,
                code=code,
            )
        if status in (401, 403):
            # 401: keys or signature refused; 403: the key lacks the permission or the
            # server's IP is not registered in Wing.
            raise ChannelAuthError(
                message or gettext("Coupang refused the keys (%(status)d).") % {"status": status},
                status=status,
                code=code,
            )
        if status >= 500:
            raise ChannelTemporaryError(
                gettext("Coupang answered %(status)d: %(message)s")
                % {"status": status, "message": message or response.reason},
                status=status,
                code=code,
            )
        if status >= 400:
            raise ChannelRequestError(
                message or gettext("Coupang refused the request (%(status)d).") % {"status": status},
                status=status,
                code=code,
            )
        if not response.content.strip():
            return None
        if body is None:
            raise ChannelTemporaryError(
                gettext("Coupang answered %(path)s with something that is not JSON.") % {"path": path},
                status=status,
            )
        if code.upper() in ERROR_CODES or _numeric_error(body):
            # Coupang sometimes answers 200 with its error body.
            raise ChannelRequestError(
                message or gettext("Coupang refused the request."), status=status, code=code
            )
        return body

    # --- orders ----------------------------------------------------------------------------------

    def fetch_orders(self, *, since: datetime, until: datetime) -> Iterator[ChannelOrder]:
        self.skipped = []
        vendor_id = self._credentials()[2]
        yielded: set[str] = set()
        for start, end in _windows(_aware(since), _aware(until), self.window):
            # shipmentBoxId -> (sheet, status); a box met again under a later status replaces
            # the earlier copy.
            boxes: dict[str, tuple[dict[str, Any], str]] = {}
            for status in self.collect_statuses:
                for raw in self._order_sheets(vendor_id, start, end, status):
                    box_id = _text(raw.get("shipmentBoxId")) if isinstance(raw, dict) else ""
                    if not box_id or not isinstance(raw, dict):
                        self._skip(str(raw)[:60], gettext("an order sheet without shipmentBoxId"))
                        continue
                    boxes.pop(box_id, None)
                    boxes[box_id] = (raw, status)
            # Order sheets are found by creation time only: a cancel of an older order is
            # found through its cancel receipt (made in this window), and its boxes read again.
            for box_id in self._cancelled_boxes(vendor_id, start, end):
                if box_id not in boxes:
                    sheet = self._one_sheet(vendor_id, box_id)
                    if sheet is not None:
                        boxes[box_id] = (sheet, _text(sheet.get("status")))
            pending: dict[str, _PendingOrder] = {}
            for box_id, (raw, status) in sorted(boxes.items(), key=_box_order):
                try:
                    order_id, head, lines = self._parse_sheet(raw, status)
                except _Malformed as exc:
                    self._skip(box_id, str(exc))
                    continue
                if not lines:
                    continue
                # Each shipment box of an order pays its own shipping; the order pays the sum.
                pending.setdefault(
                    order_id, _PendingOrder(head=head, bundle_key=box_id, raw_key="orderSheets")
                ).add(lines, raw, head["shipping_fee"])
            for order_id, order in pending.items():
                if order_id not in yielded:
                    yielded.add(order_id)
                    yield order.build(order_id)
        if self.skipped:
            raise CoupangSkippedItems(list(self.skipped))

    def _skip(self, key: str, message: str) -> None:
        self.skipped.append(ItemResult(key=key, ok=False, code="MALFORMED", message=message))

    def _sheet_params(
        self, start: datetime, end: datetime, status: str, *, per_page: int | None = None
    ) -> list[tuple[str, str]]:
        return [
            ("searchType", "timeFrame"),
            ("createdAtFrom", _minute(start).strftime(TIME_FRAME_FORMAT)),
            ("createdAtTo", _minute(end).strftime(TIME_FRAME_FORMAT)),
            ("status", status),
            ("maxPerPage", str(per_page or self.max_per_page)),
        ]

    def _order_sheets(self, vendor_id: str, start: datetime, end: datetime, status: str) -> Iterator[Any]:
        yield from self._pages(
            ORDERSHEETS_PATH.format(vendor_id=vendor_id), self._sheet_params(start, end, status)
        )

    def _cancelled_boxes(self, vendor_id: str, start: datetime, end: datetime) -> list[str]:
        """The shipment boxes named by cancel receipts made in [start, end] (minute bounds).

        Best effort: the order sheets stay the record of every order, so a refusal of this
        call (a key without the returns permission, an endpoint a gateway does not serve) or
        an unreadable receipt is logged and the collection goes on without it; such a cancel
        then arrives with the box's next status change. Rate limits, outages and refused keys
        stop the collection as usual."""
        params = [
            ("searchType", "timeFrame"),
            ("createdAtFrom", _minute(start).strftime(TIME_FRAME_FORMAT)),
            ("createdAtTo", _minute(end).strftime(TIME_FRAME_FORMAT)),
            ("cancelType", "CANCEL"),
        ]
        found: dict[str, None] = {}
        try:
            for receipt in self._pages(RETURN_REQUESTS_PATH.format(vendor_id=vendor_id), params):
                items = receipt.get("returnItems") if isinstance(receipt, dict) else None
                for item in items if isinstance(items, list) else []:
                    box_id = _text(item.get("shipmentBoxId")) if isinstance(item, dict) else ""
                    if box_id.isdigit():
                        found[box_id] = None
                    else:
                        logger.warning("coupang: a cancel receipt item without shipmentBoxId: %.80s", item)
        except (ChannelRequestError, ChannelAuthError) as exc:
            if isinstance(exc, ChannelAuthError) and exc.status != 403:
                raise
            logger.warning("coupang: cancel receipts not read (%s): %s", exc.status, exc.message)
        return list(found)

    def _one_sheet(self, vendor_id: str, box_id: str) -> dict[str, Any] | None:
        try:
            body = self._call("GET", ORDERSHEET_PATH.format(vendor_id=vendor_id, box_id=box_id))
        except ChannelRequestError as exc:
            logger.warning("coupang: the sheet of cancelled box %s not read: %s", box_id, exc.message)
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            logger.warning("coupang: the sheet of cancelled box %s has no data object", box_id)
            return None
        return data

    def _pages(self, path: str, params: list[tuple[str, str]]) -> Iterator[Any]:
        """The data items of a list call, following nextToken page by page."""
        token = ""
        seen_tokens: set[str] = set()
        for _page in range(MAX_PAGES):
            body = self._call("GET", path, params=params + ([("nextToken", token)] if token else []))
            if not isinstance(body, dict):
                raise ChannelTemporaryError(gettext("Coupang's order sheet answer is not an object."))
            data = body.get("data")
            if data is None:
                data = []
            if not isinstance(data, list):
                raise ChannelTemporaryError(gettext("Coupang's order sheet answer has no data list."))
            yield from data
            next_token = body.get("nextToken")
            if next_token in (None, ""):
                return
            if not isinstance(next_token, str | int) or isinstance(next_token, bool):
                raise ChannelTemporaryError(gettext("Coupang's nextToken is malformed."))
            token = str(next_token)
            if token in seen_tokens:
                raise ChannelTemporaryError(gettext("Coupang returned the same page twice."))
            seen_tokens.add(token)
        raise ChannelTemporaryError(gettext("Coupang kept paging without end."))

    def _parse_sheet(
        self, raw: dict[str, Any], queried_status: str
    ) -> tuple[str, dict[str, Any], list[ChannelOrderLine]]:
        """(orderId, order-level fields, the box's readable lines). Raises _Malformed for the
        box; unreadable order items are skipped one by one."""
        box_id = _required_text(raw, "shipmentBoxId")
        order_id = _required_text(raw, "orderId")
        status = _text(raw.get("status")) or queried_status
        if status not in STATUS_STATES:
            raise _Malformed(gettext("unknown status %(status)s") % {"status": status})
        items = raw.get("orderItems")
        if not isinstance(items, list) or not items:
            raise _Malformed(gettext("orderItems is missing"))
        orderer = _optional_obj(raw, "orderer")
        receiver = _optional_obj(raw, "receiver")
        shipping_fee = _money(raw, "shippingPrice", default=0) + _money(raw, "remotePrice", default=0)
        recipient_phone = _text(receiver.get("safeNumber")) or _text(receiver.get("receiverNumber"))
        real_number = _text(receiver.get("receiverNumber"))
        head = {
            "ordered_at": _date(raw, "orderedAt"),
            "paid_at": _date(raw, "paidAt"),
            "buyer_name": _text(orderer.get("name")),
            "buyer_phone": _text(orderer.get("safeNumber")) or _text(orderer.get("ordererNumber")),
            "recipient_name": _text(receiver.get("name")),
            "recipient_phone": recipient_phone,
            "recipient_phone2": real_number if real_number != recipient_phone else "",
            "zip_code": _text(receiver.get("postCode")),
            "address1": _text(receiver.get("addr1")),
            "address2": _text(receiver.get("addr2")),
            "delivery_message": _text(raw.get("parcelPrintMessage")),
            "shipping_fee": shipping_fee,
        }
        lines: list[ChannelOrderLine] = []
        for item in items:
            vendor_item_id = _text(item.get("vendorItemId")) if isinstance(item, dict) else ""
            key = f"{box_id}-{vendor_item_id or '?'}"
            try:
                lines.append(_parse_item(item, box_id, status))
            except _Malformed as exc:
                self._skip(key, str(exc))
        return order_id, head, lines

    # --- writes ----------------------------------------------------------------------------------

    def confirm_orders(self, refs: Sequence[OrderRef]) -> list[ItemResult]:
        """발주확인: PATCH acknowledgement for the refs' shipment boxes, at most `confirm_batch`
        boxes a call. One result per ref; the lines of one box share its answer."""
        vendor_id = self._credentials()[2]
        boxes = [_box_of(ref) for ref in refs]
        outcome: dict[str, ItemResult] = {}
        wanted = list(dict.fromkeys(b.box_id for b in boxes if not b.problem))
        for chunk in _chunks(wanted, self.confirm_batch):
            body = self._call(
                "PATCH",
                ACKNOWLEDGE_PATH.format(vendor_id=vendor_id),
                json={"vendorId": vendor_id, "shipmentBoxIds": [_number(b) for b in chunk]},
            )
            outcome.update(_box_results(body, chunk, gettext("acknowledgement")))
        return [_result_for(box, outcome, ref.external_line_id) for box, ref in zip(boxes, refs, strict=True)]

    def dispatch(self, dispatches: Sequence[Dispatch]) -> list[ItemResult]:
        """송장 등록: one invoice per shipment box, at most `dispatch_batch` boxes a call. The
        first dispatch of a box gives its invoice; another line of the same box under the
        same courier and number shares the box's answer, under a different number it fails
        (Coupang ships one box under one invoice; split shipping is not offered here)."""
        vendor_id = self._credentials()[2]
        boxes: list[_Box] = []
        invoices: dict[str, dict[str, Any]] = {}
        for d in dispatches:
            box = _box_of(d.ref)
            tracking = re.sub(r"[\s-]", "", d.tracking_number)
            courier = d.courier_code.strip()
            if not box.problem and not (tracking and courier):
                box = _Box(box.box_id, box.order_id, box.vendor_item_id, "NO_INVOICE")
            if not box.problem and not box.order_id:
                box = _Box(box.box_id, box.order_id, box.vendor_item_id, "NO_ORDER_ID")
            if not box.problem and not box.vendor_item_id.isdigit():
                box = _Box(box.box_id, box.order_id, box.vendor_item_id, "BAD_VENDOR_ITEM")
            if not box.problem:
                known = invoices.get(box.box_id)
                if known is None:
                    invoices[box.box_id] = {
                        "shipmentBoxId": _number(box.box_id),
                        "orderId": _number(box.order_id),
                        "vendorItemId": _number(box.vendor_item_id),
                        "deliveryCompanyCode": courier,
                        "invoiceNumber": tracking,
                        "splitShipping": False,
                        "preSplitShipped": False,
                        "estimatedShippingDate": "",
                    }
                elif (known["deliveryCompanyCode"], known["invoiceNumber"]) != (courier, tracking):
                    box = _Box(box.box_id, box.order_id, box.vendor_item_id, "SPLIT_SHIPPING")
            boxes.append(box)
        outcome: dict[str, ItemResult] = {}
        for chunk in _chunks(list(invoices), self.dispatch_batch):
            body = self._call(
                "POST",
                INVOICES_PATH.format(vendor_id=vendor_id),
                json={"vendorId": vendor_id, "orderSheetInvoiceApplyDtos": [invoices[b] for b in chunk]},
            )
            outcome.update(_box_results(body, chunk, gettext("invoice upload")))
        return [
            _result_for(box, outcome, d.ref.external_line_id)
            for box, d in zip(boxes, dispatches, strict=True)
        ]

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """PUT quantities/{n} per vendor item (and prices/{p} when the update carries a price);
        one result per update, in the order given. The same vendor item twice: the later
        update is sent, both get its answer."""
        latest: dict[str, StockUpdate] = {}
        for update in updates:
            latest[update.channel_option_id.strip()] = update
        outcome: dict[str, ItemResult] = {}
        for vendor_item_id, update in latest.items():
            result = self._vendor_item_put(vendor_item_id, f"quantities/{max(0, update.quantity)}")
            if result.ok and update.price is not None:
                result = self._vendor_item_put(vendor_item_id, f"prices/{update.price}")
            outcome[vendor_item_id] = result
        return [_keyed(outcome[u.channel_option_id.strip()], _stock_key(u)) for u in updates]

    def push_product(self, updates: Sequence[ProductUpdate]) -> list[ItemResult]:
        """Price (prices/{p}) and sale state (sales/stop, sales/resume) per vendor item; one
        result per update, in the order given. Names are not sent: Coupang changes a name only
        through a seller-product edit that goes back to review, so a name change is answered
        as a per-item failure telling the seller to edit it in Wing."""
        results: list[ItemResult] = []
        for update in updates:
            key = update.channel_option_id.strip() or update.channel_product_id.strip()
            vendor_item_id = update.channel_option_id.strip()
            if not vendor_item_id:
                results.append(
                    ItemResult(
                        key=key,
                        ok=False,
                        code="NO_VENDOR_ITEM",
                        message=gettext("Coupang sets prices and sale state per option (vendor item ID)."),
                    )
                )
                continue
            outcome = ItemResult(key=vendor_item_id, ok=True)
            if update.price is not None:
                outcome = self._vendor_item_put(vendor_item_id, f"prices/{update.price}")
            if outcome.ok and update.on_sale is not None:
                outcome = self._vendor_item_put(
                    vendor_item_id, "sales/resume" if update.on_sale else "sales/stop"
                )
            if outcome.ok and update.name is not None:
                outcome = ItemResult(
                    key=vendor_item_id,
                    ok=False,
                    code="NAME_NOT_SUPPORTED",
                    message=gettext("Coupang product names can only be changed in Coupang Wing."),
                )
            results.append(_keyed(outcome, key))
        return results

    def _vendor_item_put(self, vendor_item_id: str, action: str) -> ItemResult:
        """One vendor-item write; its outcome, or a raised rate limit or auth error, which stop
        the whole batch."""
        if not vendor_item_id.isdigit():
            return ItemResult(
                key=vendor_item_id or "?",
                ok=False,
                code="BAD_VENDOR_ITEM_ID",
                message=gettext("Not a Coupang vendor item ID (옵션ID)."),
            )
        try:
            self._call("PUT", VENDOR_ITEM_PATH.format(vendor_item_id=vendor_item_id) + "/" + action)
        except (ChannelRateLimited, ChannelAuthError):
            raise
        except ChannelRequestError as exc:
            return ItemResult(key=vendor_item_id, ok=False, code=exc.code, message=exc.message)
        except ChannelTemporaryError as exc:
            return ItemResult(
                key=vendor_item_id, ok=False, code=exc.code, message=exc.message, retryable=True
            )
        return ItemResult(key=vendor_item_id, ok=True)


# --- order sheet parsing ------------------------------------------------------------------------


def _parse_item(item: Any, box_id: str, status: str) -> ChannelOrderLine:
    if not isinstance(item, dict):
        raise _Malformed(gettext("the order item is not an object"))
    vendor_item_id = _required_text(item, "vendorItemId")
    shipping = _int(item, "shippingCount")
    cancelled = _int(item, "cancelCount", default=0)
    held = _int(item, "holdCountForCancel", default=0)
    if shipping < 0 or cancelled < 0 or held < 0:
        raise _Malformed(gettext("a count is negative"))
    # A fully cancelled item may come back with shippingCount 0: its quantity was the cancelled one.
    quantity = shipping or cancelled
    if quantity <= 0:
        raise _Malformed(gettext("shippingCount %(q)d is not positive") % {"q": shipping})
    state = STATUS_STATES[status]
    detail = status
    if cancelled >= quantity:
        state, detail = LineState.CANCELLED, f"{status}:CANCELLED"
    elif held > 0 and state in (LineState.NEW, LineState.CONFIRMED):
        state, detail = LineState.CANCEL_REQUESTED, f"{status}:CANCEL_HOLD {held}"
    elif cancelled > 0:
        detail = f"{status}:CANCEL {cancelled}/{quantity}"
    unit_price = _money(item, "salesPrice", default=0)
    line_total = _money(item, "orderPrice", default=unit_price * quantity)
    code = _text(item.get("externalVendorSkuCode"))
    return ChannelOrderLine(
        external_line_id=f"{box_id}-{vendor_item_id}",
        product_name=_text(item.get("sellerProductName")) or _text(item.get("vendorItemName")),
        quantity=quantity,
        unit_price=unit_price,
        option_text=_text(item.get("sellerProductItemName")),
        # 노출상품ID (productId), as in the DeliveryList sheet, so option mappings made for Excel
        # imports also serve API-collected orders; sellerProductId only when it is missing.
        channel_product_id=_text(item.get("productId")) or _text(item.get("sellerProductId")),
        channel_option_id=vendor_item_id,
        seller_codes=(code,) if code else (),
        discount=max(0, unit_price * quantity - line_total),
        line_total=line_total,
        state=state,
        channel_status=detail[:50],
    )


def _box_order(entry: tuple[str, tuple[dict[str, Any], str]]) -> tuple[str, int, str]:
    """Boxes in order time, then by box id: the first box of an order gives its bundle key."""
    box_id, (raw, _status) = entry
    return (_text(raw.get("orderedAt")), len(box_id), box_id)


def _optional_obj(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(gettext("%(name)s is not an object") % {"name": name})
    return value


def _money(obj: dict[str, Any], name: str, default: Any = _NO_DEFAULT) -> int:
    """A won amount: a number, or Coupang's money object {"currencyCode", "units", "nanos"}."""
    value = obj.get(name)
    if isinstance(value, dict):
        return _int(value, "units")
    return _int(obj, name, default)


# --- small helpers ---------------------------------------------------------------------------------


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(KST).replace(second=0, microsecond=0)


def _windows(since: datetime, until: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Minute windows of at most `size` covering [since, until]; neighbours share a minute."""
    if until <= since:
        return
    start, last = _minute(since), _minute(until)
    while True:
        end = min(start + size, last)
        yield start, end
        if end >= last:
            return
        start = end


def _number(value: str) -> int | str:
    """Coupang's ids are numbers in JSON."""
    return int(value) if value.isdigit() else value


def _box_of(ref: OrderRef) -> _Box:
    """The shipment box, order and vendor item a ref names. The line id is
    f"{shipmentBoxId}-{vendorItemId}" (API and Excel alike); bundle_key and channel_option_id
    win when given."""
    line_id = ref.external_line_id.strip()
    box_part, _, item_part = line_id.rpartition("-")
    box_id = ref.bundle_key.strip() or box_part
    vendor_item_id = ref.channel_option_id.strip() or item_part
    if not box_id.isdigit():
        return _Box(box_id or line_id, ref.external_order_id.strip(), vendor_item_id, "BAD_SHIPMENT_BOX")
    return _Box(box_id, ref.external_order_id.strip(), vendor_item_id)


_PROBLEMS = {
    "BAD_SHIPMENT_BOX": _("Not a Coupang line (shipmentBoxId-vendorItemId): the shipment box is unknown."),
    "NO_INVOICE": _("The courier code or the tracking number is empty."),
    "NO_ORDER_ID": _("The Coupang order number is missing."),
    "BAD_VENDOR_ITEM": _("The line has no Coupang vendor item ID (옵션ID)."),
    "SPLIT_SHIPPING": _(
        "Another line of this Coupang shipment box has a different tracking number: "
        "one box ships under one invoice."
    ),
}


def _result_for(box: _Box, outcome: dict[str, ItemResult], key: str) -> ItemResult:
    if box.problem:
        return ItemResult(key=key, ok=False, code=box.problem, message=str(_PROBLEMS[box.problem]))
    return _keyed(outcome[box.box_id], key)


def _box_results(body: Any, box_ids: list[str], what: str) -> dict[str, ItemResult]:
    """data.responseList of an acknowledgement or invoice answer, one result per box asked."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ChannelTemporaryError(gettext("Coupang's %(what)s answer has no data object.") % {"what": what})
    listed = data.get("responseList")
    if listed is not None and not isinstance(listed, list):
        raise ChannelTemporaryError(
            gettext("Coupang's %(what)s responseList is not a list.") % {"what": what}
        )
    answers: dict[str, dict[str, Any]] = {}
    for item in listed or []:
        if isinstance(item, dict) and _text(item.get("shipmentBoxId")):
            answers[_text(item.get("shipmentBoxId"))] = item
    all_ok = _text(data.get("responseCode")) == "0"
    results: dict[str, ItemResult] = {}
    for box_id in box_ids:
        answer = answers.get(box_id)
        if answer is None:
            results[box_id] = (
                ItemResult(key=box_id, ok=True)
                if all_ok and not answers
                else ItemResult(
                    key=box_id,
                    ok=False,
                    code="NO_ANSWER",
                    message=gettext("Coupang's answer did not mention this shipment box."),
                    retryable=True,
                )
            )
        elif answer.get("succeed") is True:
            results[box_id] = ItemResult(key=box_id, ok=True)
        else:
            results[box_id] = ItemResult(
                key=box_id,
                ok=False,
                code=_text(answer.get("resultCode")) or "FAILED",
                message=_text(answer.get("resultMessage"))
                or gettext("Coupang refused this shipment box without a reason."),
                retryable=answer.get("retryRequired") is True,
            )
    return results


def _stock_key(update: StockUpdate) -> str:
    return update.channel_option_id.strip() or update.channel_product_id.strip()


def _numeric_error(body: Any) -> bool:
    """A body code like 400 or 500 (ordersheets answer {"code": 200, ...} when fine)."""
    code = body.get("code") if isinstance(body, dict) else None
    return isinstance(code, int) and not isinstance(code, bool) and code >= 400


def _error_message(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    message = _text(body.get("message")) or _text(body.get("errorMessage")) or _text(body.get("error"))
    if not message and isinstance(body.get("data"), dict):
        message = _text(body["data"].get("message"))
    return message


def _retry_after(response: requests.Response) -> float:
    wait = retry_after_seconds(response)
    return RATE_LIMIT_DEFAULT_WAIT if wait is None else wait
