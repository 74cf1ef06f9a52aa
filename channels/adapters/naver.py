"""Naver Commerce API (스마트스토어) adapter.

HTTP and Naver JSON <-> channels.types, nothing else (see channels.adapters.base). The facts
it relies on are in ../shared/channel-specs.md ("Naver Commerce API"); the ones not confirmed
by Naver's own documentation sit behind the module constants below, so they can be corrected
in one place.

Collecting orders
    last-changed-statuses is read in windows of at most 24 h, following data.more (moreFrom +
    moreSequence) until the window is exhausted; the changed product order ids are then read in
    detail calls of at most 300 ids, packed so that all the lines of one order go in the same call
    (an order is yielded once, complete with every changed line: orders.ingest keeps only the
    last copy of an order it is handed twice).

Items Naver answers with but we cannot read
    A detail item with a missing or mistyped field, or a state this adapter does not know, is
    skipped without losing the others: every good order is yielded first, then
    NaverSkippedItems (a ChannelTemporaryError) is raised naming each skipped product order and
    why. The collection service therefore ingests the good orders (idempotently) and keeps its
    cursor where it was, so the next run reads the skipped items again instead of losing them;
    `adapter.skipped` holds the same list for callers that want it without the exception.
    Product orders that are not paid yet (PAYMENT_WAITING) or were never paid
    (CANCELED_BY_NOPAYMENT) are not orders for the seller yet and are left out silently.

Stock and prices
    A product with options gets one option-stock PUT with its changed combinations; an option's
    price goes out as Naver's option price, the amount added to the product's sale price
    (price - base_price), with that sale price beside it. A product without options keeps stock
    and price on the origin product, which only the whole-product edit changes: read it, change
    stockQuantity / salePrice, send it back. See OPTION_STOCK_PATH and ORIGIN_PRODUCT_PATH.

Tokens
    POST /v1/oauth2/token with a bcrypt client_secret_sign. The token is cached per account in
    Django's cache (shared by every worker) until a little before it expires; a 401 with code
    GW.AUTHN issues a new token once and repeats the call once; a second 401 is a
    ChannelAuthError carrying Naver's message.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import bcrypt
import requests
from django.core.cache import cache
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.adapters._values import KST
from channels.adapters._values import Malformed as _Malformed
from channels.adapters._values import PendingOrder as _PendingOrder
from channels.adapters._values import aware as _aware
from channels.adapters._values import body_code as _body_code
from channels.adapters._values import ceil_ms as _ceil_ms
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

# --- Naver's limits and names (channel-specs.md) -------------------------------------------------
# Naver's rate limit ("요청량 제한", Commerce API Center docs; channel-specs.md "Limits"): a
# token bucket per API and per authenticated application, answered with 429 + GW.RATE_LIMIT
# and GNCP-GW-RateLimit-Replenish-Rate / -Burst-Capacity / -Remaining headers. Naver publishes
# no fixed number (the buckets are tuned per API and change without notice), so this is our own
# conservative pace for all APIs together, not a documented limit; a 429 is retried after
# Retry-After or one token's refill time from the replenish-rate header (_retry_after).
NAVER_RATE_PER_SECOND = 2.0
LAST_CHANGED_LIMIT = 300  # limitCount maximum
LAST_CHANGED_WINDOW = timedelta(hours=24)  # lastChangedFrom .. lastChangedTo maximum
DETAILS_BATCH = 300  # productOrderIds per /product-orders/query
CONFIRM_BATCH = 30
DISPATCH_BATCH = 30
OAUTH_PATH = "/v1/oauth2/token"
LAST_CHANGED_PATH = "/v1/pay-order/seller/product-orders/last-changed-statuses"
DETAILS_PATH = "/v1/pay-order/seller/product-orders/query"
CONFIRM_PATH = "/v1/pay-order/seller/product-orders/confirm"
DISPATCH_PATH = "/v1/pay-order/seller/product-orders/dispatch"
# 상품 옵션 재고 변경 (Commerce API Center, update-options-product): optionInfo is required and it
# edits only products set up with (combination) options; each combination's `price` is the
# option price (옵션가), the amount ADDED to the product's sale price (productSalePrice.salePrice),
# which Naver keeps within a band around the sale price (seller notice: about +-50%).
OPTION_STOCK_PATH = "/v1/products/origin-products/{no}/option-stock"
# A product without options keeps its stock and price on the origin product itself
# (originProduct.stockQuantity / .salePrice), changed only by the whole-product edit: read it,
# change the two fields, send it back (상품 조회 / 상품 수정, v2; the read answer is the edit body).
ORIGIN_PRODUCT_PATH = "/v2/products/origin-products/{no}"
CHANGE_STATUS_PATH = "/v1/products/origin-products/{no}/change-status"
AUTH_EXPIRED_CODE = "GW.AUTHN"
RATE_LIMIT_CODE = "GW.RATE_LIMIT"
RATE_HEADER_REPLENISH = "GNCP-GW-RateLimit-Replenish-Rate"  # tokens per second (unverified)
RATE_HEADER_REMAINING = "GNCP-GW-RateLimit-Remaining"
# Sale states sent by push_product (change-status statusType).
STATUS_ON_SALE = "SALE"
STATUS_STOPPED = "SUSPENSION"
# A token is reused until this long before Naver says it expires.
TOKEN_EARLY_RENEWAL = timedelta(minutes=10)

# productOrderStatus -> our line state; None: not an order for the seller (never paid).
ORDER_STATUS: dict[str, LineState | None] = {
    "PAYMENT_WAITING": None,
    "CANCELED_BY_NOPAYMENT": None,
    "PAYED": LineState.NEW,  # refined by placeOrderStatus
    "DELIVERING": LineState.SHIPPED,
    "DELIVERED": LineState.DELIVERED,
    "PURCHASE_DECIDED": LineState.COMPLETED,
    "EXCHANGED": LineState.EXCHANGED,
    "CANCELED": LineState.CANCELLED,
    "RETURNED": LineState.RETURNED,
}
# An open claim (claimType, claimStatus) overrides the product order status. Rejected or
# withdrawn claims, and claim types that do not change what the seller does (purchase
# decision holdback), leave the status as it is.
CLAIM_STATES: dict[tuple[str, str], LineState] = {
    **{
        (kind, status): LineState.CANCEL_REQUESTED
        for kind in ("CANCEL", "ADMIN_CANCEL")
        for status in ("CANCEL_REQUEST", "CANCELING", "ADMIN_CANCELING")
    },
    **{
        (kind, status): LineState.CANCELLED
        for kind in ("CANCEL", "ADMIN_CANCEL")
        for status in ("CANCEL_DONE", "ADMIN_CANCEL_DONE")
    },
    **{
        ("RETURN", status): LineState.RETURN_REQUESTED
        for status in ("RETURN_REQUEST", "COLLECTING", "COLLECT_DONE")
    },
    ("RETURN", "RETURN_DONE"): LineState.RETURNED,
    **{
        ("EXCHANGE", status): LineState.EXCHANGE_REQUESTED
        for status in ("EXCHANGE_REQUEST", "COLLECTING", "COLLECT_DONE", "EXCHANGE_REDELIVERING")
    },
    ("EXCHANGE", "EXCHANGE_DONE"): LineState.EXCHANGED,
}
# The key of each claim type under currentClaim in a detail item.
CLAIM_KEYS = {"cancel": "CANCEL", "return": "RETURN", "exchange": "EXCHANGE"}


class NaverSkippedItems(ChannelTemporaryError):
    """Raised after every readable order was yielded: these items could not be read."""

    def __init__(self, items: list[ItemResult]) -> None:
        shown = "; ".join(f"{item.key}: {item.message}" for item in items[:5])
        more = len(items) - 5
        message = gettext("Naver returned %(count)d product orders that could not be read: %(items)s") % {
            "count": len(items),
            "items": shown + (f" (+{more})" if more > 0 else ""),
        }
        super().__init__(message, code="MALFORMED_ITEMS")
        self.items = items


@dataclass(frozen=True)
class _Changed:
    order_id: str
    product_order_id: str


class NaverCommerceAdapter(ChannelAdapter):
    code = "smartstore"
    label = _("Naver SmartStore")
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
            "client_id",
            _("Application ID"),
            secret=False,
            help_text=_("Naver Commerce API Center → your application → Application ID."),
        ),
        CredentialField(
            "client_secret",
            _("Application secret"),
            help_text=_(
                "Naver Commerce API Center → your application → Application secret (starts with $2a$)."
            ),
        ),
    )
    default_base_url = "https://api.commerce.naver.com/external"
    rate_per_second = NAVER_RATE_PER_SECOND
    confirm_batch = CONFIRM_BATCH
    dispatch_batch = DISPATCH_BATCH
    stock_batch = 50  # option-stock takes one product per call; this bounds one push_stock call
    details_batch: ClassVar[int] = DETAILS_BATCH

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._token: str | None = None
        self.skipped: list[ItemResult] = []

    # --- auth ------------------------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        try:
            self._issue_token()
            now = dj_timezone.now()
            self._call(
                "GET",
                LAST_CHANGED_PATH,
                params={
                    "lastChangedFrom": _iso(now - timedelta(minutes=1)),
                    "lastChangedTo": _iso(now),
                    "limitCount": 1,
                },
            )
        except ChannelError as exc:
            return AuthCheck(ok=False, message=exc.message)
        return AuthCheck(ok=True, message=gettext("Connected: Naver issued a token and answered."))

    def _credentials(self) -> tuple[str, str]:
        client_id = (self.account.credentials.get("client_id") or "").strip()
        secret = (self.account.credentials.get("client_secret") or "").strip()
        if not client_id or not secret:
            raise ChannelAuthError(gettext("The application ID and secret are not set."))
        return client_id, secret

    def _cache_key(self) -> str:
        client_id, secret = self._credentials()
        # The secret and the base URL are part of the key: a changed secret or a different
        # server never reuses a token issued for the old one.
        digest = hashlib.sha256(f"{self._base_url()}|{client_id}|{secret}".encode()).hexdigest()[:24]
        return f"channels:naver:token:{self.account.account_id}:{digest}"

    def _access_token(self) -> str:
        if self._token is None:
            self._token = cache.get(self._cache_key())
        if self._token is None:
            self._token = self._issue_token()
        return self._token

    def _issue_token(self) -> str:
        client_id, secret = self._credentials()
        timestamp = str(int(time.time() * 1000))
        try:
            hashed = bcrypt.hashpw(f"{client_id}_{timestamp}".encode(), secret.encode())
        except ValueError as exc:
            raise ChannelAuthError(
                gettext("The application secret is not a valid Naver secret (expected $2a$...).")
            ) from exc
        form = {
            "client_id": client_id,
            "timestamp": timestamp,
            "grant_type": "client_credentials",
            "client_secret_sign": base64.b64encode(hashed).decode(),
            "type": "SELF",
        }
        response = self._send("POST", OAUTH_PATH, data=form)
        if response.status_code in (400, 401, 403):
            body = _json_or_none(response)
            raise ChannelAuthError(
                _error_message(body, response) or gettext("Naver refused the application ID or secret."),
                status=response.status_code,
                code=_body_code(body),
            )
        body = self._checked_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ChannelTemporaryError(gettext("Naver's token answer has no access_token."))
        try:
            expires_in = int(body.get("expires_in", 10800))
        except (TypeError, ValueError):
            expires_in = 10800
        ttl = max(30, int(expires_in - min(TOKEN_EARLY_RENEWAL.total_seconds(), expires_in / 10)))
        cache.set(self._cache_key(), token, ttl)
        self._token = token
        return token

    # --- HTTP ------------------------------------------------------------------------------------

    def _base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, self._base_url() + path, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise ChannelTemporaryError(
                gettext("Naver did not answer in time (%(path)s).") % {"path": path}
            ) from exc
        except requests.RequestException as exc:
            raise ChannelTemporaryError(
                gettext("Could not reach Naver (%(path)s): %(error)s")
                % {"path": path, "error": type(exc).__name__}
            ) from exc

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One authenticated call; the parsed JSON body (None when empty) or a typed error."""
        renewed = False
        while True:
            token = self._access_token()
            response = self._send(
                method,
                path,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if response.status_code == 401:
                body = _json_or_none(response)
                if _body_code(body) == AUTH_EXPIRED_CODE and not renewed:
                    renewed = True
                    self._forget_token(token)
                    continue
                raise ChannelAuthError(
                    _error_message(body, response) or gettext("Naver refused the access token."),
                    status=401,
                    code=_body_code(body),
                )
            return self._checked_json(response)

    def _forget_token(self, token: str) -> None:
        key = self._cache_key()
        # Another worker may already have stored a fresh token: only drop the one refused.
        if cache.get(key) == token:
            cache.delete(key)
        self._token = None

    def _checked_json(self, response: requests.Response) -> Any:
        status = response.status_code
        body = _json_or_none(response)
        code = _body_code(body)
        if status == 429 or code == RATE_LIMIT_CODE:
            raise ChannelRateLimited(
                _error_message(body, response) or gettext("Naver's rate limit was reached."),
                retry_after=_retry_after(response),
                status=status,
                code=code or RATE_LIMIT_CODE,
            )
        if status >= 500:
            raise ChannelTemporaryError(
                gettext("Naver answered %(status)d: %(message)s")
                % {"status": status, "message": _error_message(body, response) or response.reason},
                status=status,
                code=code,
            )
        if status in (401, 403):
            # 403: the application lacks the permission or the server's IP is not allowed.
            raise ChannelAuthError(
                _error_message(body, response) or gettext("Naver refused access."), status=status, code=code
            )
        if status >= 400:
            raise ChannelRequestError(
                _error_message(body, response)
                or gettext("Naver refused the request (%(status)d).") % {"status": status},
                status=status,
                code=code,
            )
        if not response.content.strip():
            return None
        if body is None:
            raise ChannelTemporaryError(
                gettext("Naver answered %(path)s with something that is not JSON.")
                % {"path": _path_of(response)},
                status=status,
            )
        return body

    # --- orders ----------------------------------------------------------------------------------

    def fetch_orders(self, *, since: datetime, until: datetime) -> Iterator[ChannelOrder]:
        self.skipped = []
        changed = self._changed_product_orders(_aware(since), _aware(until))
        pending: dict[str, _PendingOrder] = {}
        for batch, finished in _pack_batches(changed, self.details_batch):
            self._read_details(batch, pending)
            # Orders whose last changed line was in this batch are complete: yield them now.
            for order_id in finished:
                if order_id in pending:
                    yield pending.pop(order_id).build(order_id)
        for order_id in list(pending):  # details that named another orderId than the list did
            yield pending.pop(order_id).build(order_id)
        if self.skipped:
            raise NaverSkippedItems(list(self.skipped))

    def _changed_product_orders(self, since: datetime, until: datetime) -> list[_Changed]:
        seen: set[str] = set()
        found: list[_Changed] = []
        start = since
        while start < until:
            end = min(start + LAST_CHANGED_WINDOW, until)
            for item in self._changed_in_window(start, end):
                if item.product_order_id not in seen:
                    seen.add(item.product_order_id)
                    found.append(item)
            start = end
        return found

    def _changed_in_window(self, start: datetime, end: datetime) -> Iterator[_Changed]:
        params: dict[str, Any] = {
            # Both ends rounded up alike: the windows still meet exactly and never pass 24 h.
            "lastChangedFrom": _iso(_ceil_ms(start)),
            "lastChangedTo": _iso(_ceil_ms(end)),
            "limitCount": LAST_CHANGED_LIMIT,
        }
        pages = 0
        while True:
            body = self._call("GET", LAST_CHANGED_PATH, params=params)
            data = body.get("data") if isinstance(body, dict) else None
            if data is None and isinstance(body, dict) and "data" in body:
                return  # Naver sends data: null when nothing changed
            if not isinstance(data, dict):
                raise ChannelTemporaryError(gettext("Naver's changed-orders answer has no data object."))
            items = data.get("lastChangeStatuses") or []
            if not isinstance(items, list):
                raise ChannelTemporaryError(gettext("Naver's changed-orders list is not a list."))
            for raw in items:
                product_order_id = _text(raw.get("productOrderId")) if isinstance(raw, dict) else ""
                if not product_order_id:
                    self.skipped.append(
                        ItemResult(
                            key=str(raw)[:60],
                            ok=False,
                            code="MALFORMED",
                            message=gettext("a changed-order item without productOrderId"),
                        )
                    )
                    continue
                yield _Changed(_text(raw.get("orderId")) or product_order_id, product_order_id)
            more = data.get("more")
            if not more:
                return
            if not isinstance(more, dict) or not more.get("moreFrom"):
                raise ChannelTemporaryError(gettext("Naver's changed-orders paging (more) is malformed."))
            pages += 1
            if pages > 100_000:  # a server that pages forever must not hang a worker
                raise ChannelTemporaryError(gettext("Naver kept paging without end."))
            next_params = {
                **params,
                "lastChangedFrom": _text(more["moreFrom"]),
                "moreSequence": _text(more.get("moreSequence")),
            }
            if next_params == params:
                raise ChannelTemporaryError(gettext("Naver returned the same page twice."))
            params = next_params

    def _read_details(self, batch: list[_Changed], pending: dict[str, _PendingOrder]) -> None:
        body = self._call("POST", DETAILS_PATH, json={"productOrderIds": [c.product_order_id for c in batch]})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ChannelTemporaryError(gettext("Naver's order details answer has no data list."))
        answered: set[str] = set()
        for raw in data:
            key = _detail_key(raw)
            answered.add(key)
            try:
                order_id, head, line = _parse_detail(raw)
            except _Malformed as exc:
                self.skipped.append(ItemResult(key=key, ok=False, code="MALFORMED", message=str(exc)))
                continue
            if line is None:
                continue
            order = pending.setdefault(
                order_id, _PendingOrder(head=head, bundle_key=head["bundle_key"], raw_key="productOrders")
            )
            # Naver puts a package's fee on one of its lines; the order pays the sum.
            order.add([line], raw, head["delivery_fee"])
        for item in batch:
            if item.product_order_id not in answered:
                self.skipped.append(
                    ItemResult(
                        key=item.product_order_id,
                        ok=False,
                        code="MISSING",
                        message=gettext("listed as changed but absent from the details"),
                        retryable=True,
                    )
                )

    # --- writes ----------------------------------------------------------------------------------

    def confirm_orders(self, refs: Sequence[OrderRef]) -> list[ItemResult]:
        results: list[ItemResult] = []
        for chunk in _chunks(list(refs), self.confirm_batch):
            ids = [ref.external_line_id for ref in chunk]
            body = self._call("POST", CONFIRM_PATH, json={"productOrderIds": ids})
            data = _data_dict(body, gettext("confirm"))
            ok = {_text(i.get("productOrderId")) for i in _dicts(data.get("successProductOrderInfos"))}
            results += _per_item(ids, ok, _failures(data))
        return results

    def dispatch(self, dispatches: Sequence[Dispatch]) -> list[ItemResult]:
        results: list[ItemResult] = []
        for chunk in _chunks(list(dispatches), self.dispatch_batch):
            ids = [d.ref.external_line_id for d in chunk]
            payload = {
                "dispatchProductOrders": [
                    {
                        "productOrderId": d.ref.external_line_id,
                        "deliveryMethod": "DELIVERY",
                        "deliveryCompanyCode": d.courier_code,
                        "trackingNumber": d.tracking_number,
                        "dispatchDate": _iso(_aware(d.dispatched_at or dj_timezone.now())),
                    }
                    for d in chunk
                ]
            }
            body = self._call("POST", DISPATCH_PATH, json=payload)
            data = _data_dict(body, gettext("dispatch"))
            ok = {_text(i) for i in data.get("successProductOrderIds") or [] if not isinstance(i, dict)}
            ok |= {_text(i.get("productOrderId")) for i in _dicts(data.get("successProductOrderIds"))}
            results += _per_item(ids, ok, _failures(data))
        return results

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """One option-stock PUT per origin product with all its changed option combinations, or
        for a product without options one read-and-edit of the origin product; one ItemResult
        per update, in the order given.

        A product Naver refuses (4xx) or fails on (5xx, timeout) fails only its own items
        (the latter retryable); a rate limit or an auth error stops the batch: setting a
        quantity is idempotent, so the service simply pushes again."""
        outcome: dict[tuple[str, bool], ItemResult] = {}
        refused: dict[str, ItemResult] = {}
        for product_no, group in _group_by_product(updates).items():
            options = [u for u in group if u.channel_option_id]
            if options:
                combos, sale_price, bad = _combinations(options, with_stock=True)
                refused.update(bad)
                if combos:
                    outcome[(product_no, True)] = self._put_product(
                        product_no, OPTION_STOCK_PATH, _option_body(combos, sale_price)
                    )
            plain = [u for u in group if not u.channel_option_id]
            if plain:
                outcome[(product_no, False)] = self._edit_origin_product(
                    product_no, stock=plain[-1].quantity, price=plain[-1].price
                )
        return [_answer(u, outcome, refused, _stock_key(u)) for u in updates]

    def push_product(self, updates: Sequence[ProductUpdate]) -> list[ItemResult]:
        """Sale state through change-status (SALE / SUSPENSION) and prices through option-stock;
        one ItemResult per update, in the order given. Names are not sent: Naver changes a name
        only through a full product edit, so a name change is answered as a per-item failure
        telling the seller to edit it in 스마트스토어센터."""
        by_product: dict[str, list[ProductUpdate]] = {}
        for update in updates:
            by_product.setdefault(update.channel_product_id.strip(), []).append(update)
        status_outcome: dict[str, ItemResult] = {}
        price_outcome: dict[tuple[str, bool], ItemResult] = {}
        refused: dict[str, ItemResult] = {}
        for product_no, group in by_product.items():
            on_sale = [u.on_sale for u in group if u.on_sale is not None]
            if on_sale:
                status = STATUS_ON_SALE if on_sale[-1] else STATUS_STOPPED
                status_outcome[product_no] = self._put_product(
                    product_no, CHANGE_STATUS_PATH, {"statusType": status}
                )
            priced = [u for u in group if u.price is not None]
            options = [u for u in priced if u.channel_option_id]
            if options:
                combos, sale_price, bad = _combinations(options, with_stock=False)
                refused.update(bad)
                if combos:
                    price_outcome[(product_no, True)] = self._put_product(
                        product_no, OPTION_STOCK_PATH, _option_body(combos, sale_price)
                    )
            plain = [u.price for u in priced if not u.channel_option_id]
            if plain:
                price_outcome[(product_no, False)] = self._edit_origin_product(product_no, price=plain[-1])
        results: list[ItemResult] = []
        for update in updates:
            key = _product_key(update)
            product_no = update.channel_product_id.strip()
            if update.name is not None:
                results.append(
                    ItemResult(
                        key=key,
                        ok=False,
                        code="NAME_NOT_SUPPORTED",
                        message=gettext(
                            "SmartStore product names can only be changed in the SmartStore Center."
                        ),
                    )
                )
                continue
            parts = []
            if update.on_sale is not None:
                parts.append(status_outcome[product_no])
            if update.price is not None:
                parts.append(_answer(update, price_outcome, refused, key))
            failed = next((p for p in parts if not p.ok), None)
            results.append(_keyed(failed or ItemResult(key=key, ok=True), key))
        return results

    def _put_product(self, product_no: str, path: str, body: dict[str, Any]) -> ItemResult:
        """One product write; its outcome (keyed by the product number) or a raised rate limit
        or auth error, which stop the whole batch."""
        return self._product_write(
            product_no, lambda: self._call("PUT", path.format(no=product_no), json=body)
        )

    def _edit_origin_product(
        self, product_no: str, *, stock: int | None = None, price: int | None = None
    ) -> ItemResult:
        """Stock and sale price of a product without options: read the origin product, change
        originProduct.stockQuantity / salePrice, send the whole product back."""

        def edit() -> None:
            path = ORIGIN_PRODUCT_PATH.format(no=product_no)
            product = self._call("GET", path)
            origin = product.get("originProduct") if isinstance(product, dict) else None
            if not isinstance(origin, dict):
                raise ChannelTemporaryError(gettext("Naver's product answer has no originProduct."))
            if stock is not None:
                origin["stockQuantity"] = max(0, stock)
            if price is not None:
                origin["salePrice"] = price
            self._call("PUT", path, json=product)

        return self._product_write(product_no, edit)

    def _product_write(self, product_no: str, write: Callable[[], Any]) -> ItemResult:
        if not product_no.isdigit():
            return ItemResult(
                key=product_no,
                ok=False,
                code="BAD_PRODUCT_NO",
                message=gettext("Not a Naver origin product number."),
            )
        try:
            write()
        except (ChannelRateLimited, ChannelAuthError):
            raise
        except ChannelRequestError as exc:
            return ItemResult(key=product_no, ok=False, code=exc.code, message=exc.message)
        except ChannelTemporaryError as exc:
            return ItemResult(key=product_no, ok=False, code=exc.code, message=exc.message, retryable=True)
        return ItemResult(key=product_no, ok=True)


# --- detail parsing ------------------------------------------------------------------------------


def _detail_key(raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("productOrder"), dict):
        return _text(raw["productOrder"].get("productOrderId")) or "?"
    return "?"


def _parse_detail(raw: Any) -> tuple[str, dict[str, Any], ChannelOrderLine | None]:
    """(orderId, order-level fields, the line or None when not yet an order). Raises _Malformed."""
    if not isinstance(raw, dict):
        raise _Malformed(gettext("the item is not an object"))
    order = _obj(raw, "order")
    product_order = _obj(raw, "productOrder")
    order_id = _required_text(order, "orderId")
    product_order_id = _required_text(product_order, "productOrderId")
    status = _required_text(product_order, "productOrderStatus")
    if status not in ORDER_STATUS:
        raise _Malformed(gettext("unknown productOrderStatus %(status)s") % {"status": status})
    state = ORDER_STATUS[status]
    if state is None:
        return order_id, {}, None
    place = _text(product_order.get("placeOrderStatus"))
    if status == "PAYED" and place == "OK":
        state = LineState.CONFIRMED
    claim_type, claim_status = _claim(raw, product_order)
    state = CLAIM_STATES.get((claim_type, claim_status), state) if status not in _FINAL else state
    quantity = _int(product_order, "quantity")
    if quantity <= 0:
        raise _Malformed(gettext("quantity %(q)d is not positive") % {"q": quantity})
    unit_price = _int(product_order, "unitPrice", default=0) + _int(product_order, "optionPrice", default=0)
    total = _int(product_order, "totalPaymentAmount", default=unit_price * quantity)
    codes = []
    for name in ("optionManageCode", "sellerProductCode"):
        code = _text(product_order.get(name))
        if code and code not in codes:
            codes.append(code)
    line = ChannelOrderLine(
        external_line_id=product_order_id,
        product_name=_text(product_order.get("productName")),
        quantity=quantity,
        unit_price=unit_price,
        option_text=_text(product_order.get("productOption")),
        # The origin product number (원상품번호): option-stock and change-status address products
        # by it, and listings are made from collected lines. The channel product number
        # (productId) only when Naver leaves the origin one out.
        channel_product_id=_text(product_order.get("originalProductId"))
        or _text(product_order.get("productId")),
        channel_option_id=_text(product_order.get("optionCode")),
        seller_codes=tuple(codes),
        discount=max(0, unit_price * quantity - total),
        line_total=total,
        state=state,
        channel_status=":".join(p for p in (status, place, claim_status) if p)[:50],
    )
    address = product_order.get("shippingAddress") or {}
    if not isinstance(address, dict):
        raise _Malformed(gettext("shippingAddress is not an object"))
    head = {
        "ordered_at": _date(order, "orderDate"),
        "paid_at": _date(order, "paymentDate"),
        "buyer_name": _text(order.get("ordererName")),
        "buyer_phone": _text(order.get("ordererTel")),
        "recipient_name": _text(address.get("name")),
        "recipient_phone": _text(address.get("tel1")),
        "recipient_phone2": _text(address.get("tel2")),
        "zip_code": _text(address.get("zipCode")),
        "address1": _text(address.get("baseAddress")),
        "address2": _text(address.get("detailedAddress")),
        "delivery_message": _text(product_order.get("shippingMemo")),
        "bundle_key": _text(product_order.get("packageNumber")),
        "delivery_fee": _int(product_order, "deliveryFeeAmount", default=0),
    }
    return order_id, head, line


_FINAL = {"CANCELED", "RETURNED", "EXCHANGED"}


def _claim(raw: dict[str, Any], product_order: dict[str, Any]) -> tuple[str, str]:
    claim_type = _text(product_order.get("claimType"))
    claim_status = _text(product_order.get("claimStatus"))
    if claim_type and claim_status:
        return claim_type, claim_status
    current = raw.get("currentClaim")
    if isinstance(current, dict):
        for key, kind in CLAIM_KEYS.items():
            claim = current.get(key)
            if isinstance(claim, dict) and claim.get("claimStatus"):
                return kind, _text(claim.get("claimStatus"))
    return claim_type, claim_status


def _obj(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise _Malformed(gettext("%(name)s is missing") % {"name": name})
    return value


# --- small helpers ---------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """Naver's date-time: KST with milliseconds, e.g. 2025-01-15T09:30:00.000+09:00."""
    kst = moment.astimezone(KST)
    return kst.strftime("%Y-%m-%dT%H:%M:%S.") + f"{kst.microsecond // 1000:03d}+09:00"


def _pack_batches(changed: list[_Changed], size: int) -> Iterator[tuple[list[_Changed], list[str]]]:
    """Detail batches of at most `size` ids keeping each order's ids together, in first-seen
    order. Yields (batch, order ids whose last id is in this batch)."""
    groups: dict[str, list[_Changed]] = {}
    for item in changed:
        groups.setdefault(item.order_id, []).append(item)
    batch: list[_Changed] = []
    finished: list[str] = []
    for order_id, items in groups.items():
        if batch and len(batch) + len(items) > size:
            yield batch, finished
            batch, finished = [], []
        # An order with more lines than one batch holds (never seen in practice) spans batches;
        # its lines collect until its last batch.
        while len(items) > size:
            yield items[:size], []
            items = items[size:]
        batch += items
        finished.append(order_id)
    if batch:
        yield batch, finished


def _error_message(body: Any, response: requests.Response) -> str:
    """Naver's error body as one line: message, then each invalid input."""
    if not isinstance(body, dict):
        return ""
    message = _text(body.get("message")) or _text(body.get("error_description")) or _text(body.get("error"))
    inputs = body.get("invalidInputs")
    details = [
        ": ".join(p for p in (_text(i.get("name")), _text(i.get("message"))) if p)
        for i in inputs or []
        if isinstance(i, dict)
    ]
    details = [d for d in details if d]
    if details:
        message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return message


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After, or else one token's refill time from Naver's replenish-rate header."""
    wait = retry_after_seconds(response)
    if wait is not None:
        return wait
    rate = response.headers.get(RATE_HEADER_REPLENISH)
    try:
        per_second = float(rate) if rate else 0.0
    except ValueError:
        return None
    return round(1.0 / per_second, 3) if per_second > 0 else None


def _path_of(response: requests.Response) -> str:
    url = response.request.url if response.request is not None else response.url
    return urlsplit(url or "").path


def _data_dict(body: Any, what: str) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ChannelTemporaryError(gettext("Naver's %(what)s answer has no data object.") % {"what": what})
    return data


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return [v for v in value or [] if isinstance(v, dict)] if isinstance(value, list) else []


def _failures(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        _text(f.get("productOrderId")): (_text(f.get("code")), _text(f.get("message")))
        for f in _dicts(data.get("failProductOrderInfos"))
    }


def _per_item(ids: list[str], ok: set[str], failed: dict[str, tuple[str, str]]) -> list[ItemResult]:
    results = []
    for product_order_id in ids:
        if product_order_id in failed:
            code, message = failed[product_order_id]
            results.append(ItemResult(key=product_order_id, ok=False, code=code, message=message))
        elif product_order_id in ok:
            results.append(ItemResult(key=product_order_id, ok=True))
        else:
            results.append(
                ItemResult(
                    key=product_order_id,
                    ok=False,
                    code="NO_ANSWER",
                    message=gettext("Naver's answer did not mention this product order."),
                    retryable=True,
                )
            )
    return results


def _group_by_product(updates: Sequence[StockUpdate]) -> dict[str, list[StockUpdate]]:
    groups: dict[str, dict[str, StockUpdate]] = {}
    for update in updates:
        # The same option twice in one push: the later quantity wins.
        groups.setdefault(update.channel_product_id.strip(), {})[update.channel_option_id.strip()] = update
    return {no: list(options.values()) for no, options in groups.items()}


def _option_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _combinations(
    updates: Sequence[StockUpdate | ProductUpdate], *, with_stock: bool
) -> tuple[list[dict[str, Any]], int | None, dict[str, ItemResult]]:
    """optionCombinations entries for one product's options, the product sale price they are
    priced against, and the options refused before sending (keyed by option id).

    Our prices are what the buyer pays for the option; Naver's combination price is the amount
    added to the product's sale price, so it is sent as price - base_price, with the sale price
    itself beside it (productSalePrice) so both move together. All options of one product
    share one sale price: the first one given."""
    bases = [u.base_price for u in updates if u.price is not None and u.base_price is not None]
    sale_price = bases[0] if bases else None
    combos: list[dict[str, Any]] = []
    refused: dict[str, ItemResult] = {}
    for u in updates:
        combo: dict[str, Any] = {"id": _option_id(u.channel_option_id)}
        if with_stock and isinstance(u, StockUpdate):
            combo["stockQuantity"] = max(0, u.quantity)
            combo["usable"] = True
        if u.price is not None:
            if sale_price is None:
                refused[u.channel_option_id] = ItemResult(
                    key=u.channel_option_id,
                    ok=False,
                    code="NO_BASE_PRICE",
                    message=gettext(
                        "Naver prices an option as an amount added to the product's sale price, "
                        "and the product's sale price was not given."
                    ),
                )
                continue
            combo["price"] = u.price - sale_price
        combos.append(combo)
    return combos, sale_price, refused


def _option_body(combos: list[dict[str, Any]], sale_price: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"optionInfo": {"optionCombinations": combos}}
    if sale_price is not None:
        body["productSalePrice"] = {"salePrice": sale_price}
    return body


def _answer(
    update: StockUpdate | ProductUpdate,
    outcome: dict[tuple[str, bool], ItemResult],
    refused: dict[str, ItemResult],
    key: str,
) -> ItemResult:
    option_id = update.channel_option_id.strip()
    if option_id in refused:
        return _keyed(refused[option_id], key)
    return _keyed(outcome[(update.channel_product_id.strip(), bool(option_id))], key)


def _stock_key(update: StockUpdate) -> str:
    return update.channel_option_id or update.channel_product_id


def _product_key(update: ProductUpdate) -> str:
    return update.channel_option_id or update.channel_product_id
