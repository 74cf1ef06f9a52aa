"""Sandbox marketplace adapter: the fake marketplace this app serves itself in demo mode
(channels/sandbox, API under /sandbox/api/).

HTTP and the sandbox's JSON <-> channels.types, nothing else, exactly like the real adapters:
the demo's orders, confirmations, dispatches and stock go through the same services, sessions,
rate limits, retries and call log as Naver's and Coupang's.

Collecting orders
    GET orders?changed_from&changed_to&limit&cursor, in windows of at most 7 days, following
    next_cursor until it is null. Each order comes whole, with every line. An order the
    adapter cannot read is skipped without losing the others: every good order is yielded
    first, then SandboxSkippedItems (a ChannelTemporaryError with `items`) names the skipped
    ones, so the collection keeps its cursor and reads them again next time.

Writes
    Confirm, dispatch, stock and product calls answer per item ({"results": [{"id", "ok",
    "code", "message"}]}); each is idempotent on the sandbox (the same confirmation, dispatch
    or quantity sent twice is answered ok), so they are marked retry-safe for the session.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.adapters._values import Malformed as _Malformed
from channels.adapters._values import aware as _aware
from channels.adapters._values import ceil_ms as _ceil_ms
from channels.adapters._values import chunks as _chunks
from channels.adapters._values import text as _text
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
    CredentialField,
)
from channels.http import retry_after_seconds, retry_safe
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

WINDOW = timedelta(days=7)  # the API's longest changed_from .. changed_to
PAGE_SIZE = 100
MAX_PAGES = 100_000  # a server that pages forever must not hang a worker
STATUS = {"NEW": LineState.NEW, "CONFIRMED": LineState.CONFIRMED, "DISPATCHED": LineState.SHIPPED}


class SandboxSkippedItems(ChannelTemporaryError):
    """Raised after every readable order was yielded: these orders could not be read."""

    def __init__(self, items: list[ItemResult]) -> None:
        shown = "; ".join(f"{item.key}: {item.message}" for item in items[:5])
        more = len(items) - 5
        message = gettext("The sandbox returned %(count)d orders that could not be read: %(items)s") % {
            "count": len(items),
            "items": shown + (f" (+{more})" if more > 0 else ""),
        }
        super().__init__(message, code="MALFORMED_ITEMS")
        self.items = items


class SandboxAdapter(ChannelAdapter):
    code = "sandbox"
    label = _("Sandbox marketplace")
    demo_only = True
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
            "api_token",
            _("API token"),
            help_text=_("Issued on the sandbox marketplace page (/sandbox/); starts with sbx_."),
        ),
    )
    default_base_url = "http://127.0.0.1:8000/sandbox/api"
    rate_per_second = 20.0
    confirm_batch = 50
    dispatch_batch = 50
    stock_batch = 100
    timeout = (3.0, 20.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skipped: list[ItemResult] = []

    # --- HTTP ------------------------------------------------------------------------------------

    def _base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def _token(self) -> str:
        token = (self.account.credentials.get("api_token") or "").strip()
        if not token:
            raise ChannelAuthError(gettext("The API token is not set."))
        return token

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """One authenticated call; the parsed JSON body or a typed error."""
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        try:
            response = self.session.request(
                method,
                self._base_url() + path,
                params=params,
                json=json,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise ChannelTemporaryError(
                gettext("The sandbox did not answer in time (%(path)s).") % {"path": path}
            ) from exc
        except requests.RequestException as exc:
            raise ChannelTemporaryError(
                gettext("Could not reach the sandbox at %(url)s: %(error)s")
                % {"url": self._base_url(), "error": type(exc).__name__}
            ) from exc
        return self._checked(response, path)

    def _checked(self, response: requests.Response, path: str) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        code = str(body.get("code") or "") if isinstance(body, dict) else ""
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        if status in (401, 403):
            raise ChannelAuthError(
                message or gettext("The sandbox refused the API token."), status=status, code=code
            )
        if status == 429:
            raise ChannelRateLimited(
                message or gettext("The sandbox asked to slow down."),
                retry_after=retry_after_seconds(response),
                status=status,
                code=code,
            )
        if status >= 500:
            raise ChannelTemporaryError(
                gettext("The sandbox answered %(status)d: %(message)s")
                % {"status": status, "message": message or response.reason},
                status=status,
                code=code,
            )
        if status == 404 and not code:
            raise ChannelRequestError(
                gettext("%(url)s is not a sandbox API (404): check the account's base URL.")
                % {"url": self._base_url() + path},
                status=status,
            )
        if status >= 400:
            raise ChannelRequestError(
                message or gettext("The sandbox refused the request (%(status)d).") % {"status": status},
                status=status,
                code=code,
            )
        if body is None:
            raise ChannelTemporaryError(
                gettext("The sandbox answered %(path)s with something that is not JSON.") % {"path": path},
                status=status,
            )
        return body

    # --- auth ------------------------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        try:
            body = self._call("GET", "/auth")
        except (ChannelAuthError, ChannelRequestError, ChannelTemporaryError, ChannelRateLimited) as exc:
            return AuthCheck(ok=False, message=exc.message)
        store = body.get("store", "") if isinstance(body, dict) else ""
        listings = body.get("listings", 0) if isinstance(body, dict) else 0
        return AuthCheck(
            ok=True,
            message=gettext("Connected to %(store)s: %(count)s options on sale.")
            % {"store": store or gettext("the sandbox"), "count": listings},
        )

    # --- orders ----------------------------------------------------------------------------------

    def fetch_orders(self, *, since: datetime, until: datetime) -> Iterator[ChannelOrder]:
        self.skipped = []
        start = _aware(since)
        until = _aware(until)
        while start < until:
            end = min(start + WINDOW, until)
            yield from self._window(start, end)
            start = end
        if self.skipped:
            raise SandboxSkippedItems(list(self.skipped))

    def _window(self, start: datetime, end: datetime) -> Iterator[ChannelOrder]:
        params: dict[str, Any] = {
            "changed_from": _iso(_ceil_ms(start)),
            "changed_to": _iso(_ceil_ms(end)),
            "limit": PAGE_SIZE,
        }
        for _page in range(MAX_PAGES):
            body = self._call("GET", "/orders", params=params)
            orders = body.get("orders") if isinstance(body, dict) else None
            if not isinstance(orders, list):
                raise ChannelTemporaryError(gettext("The sandbox's order list has no orders list."))
            for raw in orders:
                try:
                    yield _order(raw)
                except _Malformed as exc:
                    key = str(raw.get("order_id") or "?") if isinstance(raw, dict) else "?"
                    self.skipped.append(ItemResult(key=key, ok=False, code="MALFORMED", message=str(exc)))
            cursor = body.get("next_cursor")
            if not cursor:
                return
            if cursor == params.get("cursor"):
                raise ChannelTemporaryError(gettext("The sandbox returned the same page twice."))
            params = {**params, "cursor": cursor}
        raise ChannelTemporaryError(gettext("The sandbox kept paging without end."))

    # --- writes ----------------------------------------------------------------------------------

    def _write(self, path: str, payload: dict[str, Any], keys: list[str]) -> list[ItemResult]:
        with retry_safe(self.session):
            body = self._call("POST", path, json=payload)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise ChannelTemporaryError(gettext("The sandbox's answer has no results list."))
        return _per_item(keys, results)

    def confirm_orders(self, refs: Sequence[OrderRef]) -> list[ItemResult]:
        out: list[ItemResult] = []
        for chunk in _chunks(list(refs), self.confirm_batch):
            keys = [ref.external_line_id for ref in chunk]
            out += self._write("/orders/confirm", {"line_ids": keys}, keys)
        return out

    def dispatch(self, dispatches: Sequence[Dispatch]) -> list[ItemResult]:
        out: list[ItemResult] = []
        for chunk in _chunks(list(dispatches), self.dispatch_batch):
            keys = [d.ref.external_line_id for d in chunk]
            items = [
                {
                    "line_id": d.ref.external_line_id,
                    "courier_code": d.courier_code,
                    "tracking_number": d.tracking_number,
                }
                for d in chunk
            ]
            out += self._write("/orders/dispatch", {"items": items}, keys)
        return out

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        out: list[ItemResult] = []
        for chunk in _chunks(list(updates), self.stock_batch):
            keys = [u.channel_option_id or u.channel_product_id for u in chunk]
            items = []
            for u in chunk:
                item: dict[str, Any] = {
                    "product_id": u.channel_product_id,
                    "option_id": u.channel_option_id,
                    "quantity": max(0, u.quantity),
                }
                if u.price is not None:
                    item["price"] = u.price
                items.append(item)
            out += self._write("/stock", {"items": items}, keys)
        return out

    def push_product(self, updates: Sequence[ProductUpdate]) -> list[ItemResult]:
        out: list[ItemResult] = []
        for chunk in _chunks(list(updates), self.stock_batch):
            keys = [u.channel_option_id or u.channel_product_id for u in chunk]
            items = []
            for u in chunk:
                item: dict[str, Any] = {"product_id": u.channel_product_id, "option_id": u.channel_option_id}
                if u.price is not None:
                    item["price"] = u.price
                if u.on_sale is not None:
                    item["sale_status"] = "ON_SALE" if u.on_sale else "SUSPENDED"
                if u.name is not None:
                    item["name"] = u.name
                items.append(item)
            out += self._write("/products", {"items": items}, keys)
        return out


# --- mapping ----------------------------------------------------------------------------------------


def _int(raw: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = raw.get(name)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(gettext("%(name)s is not a whole number") % {"name": name})
    return value


def _when(raw: dict[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _Malformed(gettext("%(name)s is not a date") % {"name": name}) from None
    return _aware(moment)


def _line(raw: Any) -> ChannelOrderLine:
    if not isinstance(raw, dict):
        raise _Malformed(gettext("a line is not an object"))
    line_id = _text(raw.get("line_id"))
    if not line_id:
        raise _Malformed(gettext("a line has no line_id"))
    status = _text(raw.get("status"))
    if status not in STATUS:
        raise _Malformed(gettext("unknown line status %(status)s") % {"status": status or "-"})
    quantity = _int(raw, "quantity")
    if quantity <= 0:
        raise _Malformed(gettext("quantity %(q)d is not positive") % {"q": quantity})
    unit_price = _int(raw, "unit_price", default=0)
    seller_code = _text(raw.get("seller_code"))
    return ChannelOrderLine(
        external_line_id=line_id,
        product_name=_text(raw.get("product_name")),
        quantity=quantity,
        unit_price=unit_price,
        option_text=_text(raw.get("option_text")),
        channel_product_id=_text(raw.get("product_id")),
        channel_option_id=_text(raw.get("option_id")),
        seller_codes=(seller_code,) if seller_code else (),
        line_total=unit_price * quantity,
        state=STATUS[status],
        channel_status=status,
    )


def _order(raw: Any) -> ChannelOrder:
    if not isinstance(raw, dict):
        raise _Malformed(gettext("the order is not an object"))
    order_id = _text(raw.get("order_id"))
    if not order_id:
        raise _Malformed(gettext("order_id is missing"))
    lines_raw = raw.get("lines")
    if not isinstance(lines_raw, list) or not lines_raw:
        raise _Malformed(gettext("the order has no lines"))
    lines = tuple(_line(item) for item in lines_raw)
    buyer = raw.get("buyer") if isinstance(raw.get("buyer"), dict) else {}
    recipient = raw.get("recipient") if isinstance(raw.get("recipient"), dict) else {}
    assert isinstance(buyer, dict) and isinstance(recipient, dict)
    shipping_fee = _int(raw, "shipping_fee", default=0)
    return ChannelOrder(
        external_order_id=order_id,
        lines=lines,
        ordered_at=_when(raw, "ordered_at"),
        paid_at=_when(raw, "paid_at"),
        buyer_name=_text(buyer.get("name")),
        buyer_phone=_text(buyer.get("phone")),
        recipient_name=_text(recipient.get("name")),
        recipient_phone=_text(recipient.get("phone")),
        recipient_phone2=_text(recipient.get("phone2")),
        zip_code=_text(recipient.get("zip_code")),
        address1=_text(recipient.get("address1")),
        address2=_text(recipient.get("address2")),
        delivery_message=_text(raw.get("delivery_message")),
        shipping_fee=shipping_fee,
        total_amount=sum(line.line_total or 0 for line in lines) + shipping_fee,
        bundle_key=order_id,
        raw=raw,
    )


def _per_item(keys: list[str], results: list[Any]) -> list[ItemResult]:
    """One ItemResult per key, in order. The sandbox answers in the order sent; an answer it
    left out is a retryable failure."""
    answers = [r for r in results if isinstance(r, dict)]
    if len(answers) == len(keys) and all(_text(a.get("id")) == k for a, k in zip(answers, keys, strict=True)):
        paired: list[dict[str, Any] | None] = list(answers)
    else:
        by_id = {_text(a.get("id")): a for a in answers}
        paired = [by_id.get(k) for k in keys]
    out = []
    for key, answer in zip(keys, paired, strict=True):
        if answer is None:
            out.append(
                ItemResult(
                    key=key,
                    ok=False,
                    code="NO_ANSWER",
                    message=gettext("The sandbox's answer did not mention this item."),
                    retryable=True,
                )
            )
            continue
        out.append(
            ItemResult(
                key=key,
                ok=answer.get("ok") is True,
                code=_text(answer.get("code")),
                message=_text(answer.get("message")),
            )
        )
    return out


def _iso(moment: datetime) -> str:
    return dj_timezone.localtime(moment).isoformat(timespec="milliseconds")
