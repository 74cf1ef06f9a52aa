"""The sandbox marketplace's JSON API, under /sandbox/api/ (channels.adapters.sandbox speaks it).

Auth: `Authorization: Bearer <token>`, a token the sandbox issued (SandboxApiKey); anything
else is answered 401 with a JSON reason. CSRF does not apply (no cookies are used), and no
login either: a marketplace API knows nothing of the OMS's users.

    GET  auth                      cheap authenticated call (연결 테스트)
    GET  couriers                  the courier codes dispatch accepts
    GET  orders?changed_from=&changed_to=&limit=&cursor=
                                   orders changed in [from, to), oldest change first, paged
    POST orders/confirm            {"line_ids": [...]}                      <= 50 items
    POST orders/dispatch           {"items": [{"line_id", "courier_code", "tracking_number"}]} <= 50
    POST stock                     {"items": [{"product_id", "option_id", "quantity", "price"?}]} <= 100
    POST products                  {"items": [{"product_id", "option_id"?, "price"?,
                                              "sale_status"?, "name"?}]}   <= 100

Writes answer per item: {"results": [{"id", "ok", "code"?, "message"?}]}, in the order sent.
Errors of the whole call: {"code", "message"} with 400 / 401 / 404 (sandbox disabled) / 405,
and on purpose 429 (with Retry-After) or 500 when settings.OMS_SANDBOX_FAULT_RATE says so.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from channels.sandbox.couriers import COURIERS
from channels.sandbox.selectors import BadCursor, sandbox_orders_changed
from channels.sandbox.services import (
    Answer,
    DispatchItem,
    ProductItem,
    StockItem,
    sandbox_fault_record,
    sandbox_key_authenticate,
    sandbox_lines_confirm,
    sandbox_lines_dispatch,
    sandbox_orders_read_record,
    sandbox_products_set,
    sandbox_stock_set,
)
from channels.sandbox_models import SandboxListing, SandboxOrder

ORDER_BATCH = 50  # confirm and dispatch
PUSH_BATCH = 100  # stock and products
PAGE_DEFAULT, PAGE_MAX = 50, 100
MAX_WINDOW = timedelta(days=7)
STORE_NAME = "샌드박스 마켓"

View = Callable[..., HttpResponse]
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(
        {"code": code, "message": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _fault(request: HttpRequest) -> JsonResponse | None:
    rate = float(getattr(settings, "OMS_SANDBOX_FAULT_RATE", 0.0) or 0.0)
    if rate <= 0 or random.random() >= rate:
        return None
    if random.random() < 0.5:
        sandbox_fault_record(status=429, method=request.method or "", path=request.path)
        return _error(
            429, "RATE_LIMITED", _("Too many requests: try again in a second."), headers={"Retry-After": "1"}
        )
    sandbox_fault_record(status=500, method=request.method or "", path=request.path)
    return _error(500, "INTERNAL_ERROR", _("The sandbox stumbled on purpose (simulated failure)."))


def sandbox_api(view: View) -> View:
    """Served only while the sandbox is enabled; token auth; whole-call errors as JSON."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.OMS_SANDBOX_ENABLED:
            return _error(404, "NOT_FOUND", _("The sandbox marketplace is not enabled on this server."))
        token = _bearer(request)
        if not token:
            return _error(
                401,
                "UNAUTHORIZED",
                _("Send the API token as Authorization: Bearer <token>."),
                headers={"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        if sandbox_key_authenticate(token=token) is None:
            return _error(
                401,
                "INVALID_TOKEN",
                _("The API token is not valid: it was never issued or has been revoked."),
                headers={"WWW-Authenticate": 'Bearer realm="sandbox", error="invalid_token"'},
            )
        fault = _fault(request)
        if fault is not None:
            return fault
        try:
            return view(request, *args, **kwargs)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message)

    return wrapped


def _ok(body: dict[str, Any]) -> JsonResponse:
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="milliseconds") if moment else None


# --- Parsing -----------------------------------------------------------------------------------------


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "BAD_REQUEST", _("The request body is not JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "BAD_REQUEST", _("The request body must be a JSON object."))
    return data


def _list(data: dict[str, Any], name: str, limit: int) -> list[Any]:
    items = data.get(name)
    if not isinstance(items, list) or not items:
        raise ApiError(400, "BAD_REQUEST", _("%(name)s must be a non-empty list.") % {"name": name})
    if len(items) > limit:
        raise ApiError(
            400,
            "TOO_MANY_ITEMS",
            _("At most %(limit)d items per call (got %(count)d).") % {"limit": limit, "count": len(items)},
        )
    return items


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _item_error(raw: Any, code: str, message: str) -> Answer:
    key = ""
    if isinstance(raw, dict):
        key = _text(raw.get("line_id")) or _text(raw.get("option_id")) or _text(raw.get("product_id"))
    return Answer(key, False, code, message)


def _run(
    parsed: Sequence[T | Answer], service: Callable[[list[T], list[Answer]], list[Answer]]
) -> list[Answer]:
    """Hand the items that parsed to the service, with the refusals of those that did not (for
    its event); answer in the order sent."""
    good = [p for p in parsed if not isinstance(p, Answer)]
    answers = iter(service(good, [p for p in parsed if isinstance(p, Answer)]))
    return [p if isinstance(p, Answer) else next(answers) for p in parsed]


def _results(answers: Sequence[Answer]) -> JsonResponse:
    return _ok({"results": [a.as_json() for a in answers]})


def _parse_when(request: HttpRequest, name: str) -> datetime:
    raw = request.GET.get(name, "").strip()
    if not raw:
        raise ApiError(
            400, "BAD_REQUEST", _("%(name)s is required (ISO 8601 with a UTC offset).") % {"name": name}
        )
    try:
        # An unencoded "+09:00" in a query string arrives as " 09:00".
        moment = datetime.fromisoformat(re.sub(r" (\d\d:?\d\d)$", r"+\1", raw).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            "BAD_REQUEST",
            _("%(name)s is not an ISO 8601 time: %(value)s") % {"name": name, "value": raw[:40]},
        ) from None
    if moment.tzinfo is None:
        raise ApiError(400, "BAD_REQUEST", _("%(name)s needs a UTC offset, e.g. +09:00.") % {"name": name})
    return moment


# --- Endpoints --------------------------------------------------------------------------------------


@csrf_exempt
@login_not_required
@require_GET
@sandbox_api
def auth_view(request: HttpRequest) -> HttpResponse:
    return _ok(
        {
            "ok": True,
            "store": STORE_NAME,
            "listings": SandboxListing.objects.count(),
            "server_time": _iso(timezone.now()),
        }
    )


@csrf_exempt
@login_not_required
@require_GET
@sandbox_api
def couriers_view(request: HttpRequest) -> HttpResponse:
    return _ok(
        {
            "couriers": [
                {"code": c.code, "name": c.name, "tracking_lengths": list(c.lengths) or list(range(8, 17))}
                for c in COURIERS.values()
            ]
        }
    )


def _order_json(order: SandboxOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_no,
        "ordered_at": _iso(order.ordered_at),
        "paid_at": _iso(order.paid_at),
        "changed_at": _iso(order.changed_at),
        "buyer": {"name": order.buyer_name, "phone": order.buyer_phone},
        "recipient": {
            "name": order.recipient_name,
            "phone": order.recipient_phone,
            "phone2": order.recipient_phone2,
            "zip_code": order.zip_code,
            "address1": order.address1,
            "address2": order.address2,
        },
        "delivery_message": order.delivery_message,
        "shipping_fee": order.shipping_fee,
        "lines": [
            {
                "line_id": line.line_no,
                "product_id": line.product_id,
                "option_id": line.option_id,
                "product_name": line.product_name,
                "option_text": line.option_text,
                "seller_code": line.seller_code,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "status": line.status,
                "confirmed_at": _iso(line.confirmed_at),
                "dispatched_at": _iso(line.dispatched_at),
                "courier_code": line.courier_code,
                "tracking_number": line.tracking_number,
            }
            for line in order.lines.all()
        ],
    }


@csrf_exempt
@login_not_required
@require_GET
@sandbox_api
def orders_view(request: HttpRequest) -> HttpResponse:
    since, until = _parse_when(request, "changed_from"), _parse_when(request, "changed_to")
    if since >= until:
        raise ApiError(400, "BAD_REQUEST", _("changed_from must be before changed_to."))
    if until - since > MAX_WINDOW:
        raise ApiError(400, "WINDOW_TOO_LONG", _("The window may span at most 7 days; ask window by window."))
    limit = _int(request.GET.get("limit", PAGE_DEFAULT))
    if limit is None or not 1 <= limit <= PAGE_MAX:
        raise ApiError(400, "BAD_REQUEST", _("limit must be a number from 1 to %(max)d.") % {"max": PAGE_MAX})
    try:
        page = sandbox_orders_changed(
            since=since, until=until, cursor=request.GET.get("cursor", "").strip(), limit=limit
        )
    except BadCursor:
        raise ApiError(400, "BAD_CURSOR", _("The cursor is not one this API handed out.")) from None
    sandbox_orders_read_record(orders=page.orders, since=since, until=until)
    return _ok({"orders": [_order_json(o) for o in page.orders], "next_cursor": page.next_cursor})


@csrf_exempt
@login_not_required
@require_POST
@sandbox_api
def confirm_view(request: HttpRequest) -> HttpResponse:
    parsed: list[str | Answer] = []
    for raw in _list(_body(request), "line_ids", ORDER_BATCH):
        line_no = _text(raw)
        parsed.append(line_no or _item_error(raw, "INVALID_ITEM", _("A line id must be a string.")))
    return _results(_run(parsed, lambda ids, refused: sandbox_lines_confirm(line_nos=ids, refused=refused)))


@csrf_exempt
@login_not_required
@require_POST
@sandbox_api
def dispatch_view(request: HttpRequest) -> HttpResponse:
    parsed: list[DispatchItem | Answer] = []
    for raw in _list(_body(request), "items", ORDER_BATCH):
        if not isinstance(raw, dict) or not _text(raw.get("line_id")):
            parsed.append(_item_error(raw, "INVALID_ITEM", _("Each item needs a line_id.")))
            continue
        parsed.append(
            DispatchItem(
                line_no=_text(raw.get("line_id")),
                courier_code=_text(raw.get("courier_code")).upper(),
                tracking_number=_text(raw.get("tracking_number")),
            )
        )
    return _results(_run(parsed, lambda items, refused: sandbox_lines_dispatch(items=items, refused=refused)))


@csrf_exempt
@login_not_required
@require_POST
@sandbox_api
def stock_view(request: HttpRequest) -> HttpResponse:
    parsed: list[StockItem | Answer] = []
    for raw in _list(_body(request), "items", PUSH_BATCH):
        if not isinstance(raw, dict) or not _text(raw.get("product_id")) or not _text(raw.get("option_id")):
            parsed.append(
                _item_error(raw, "INVALID_ITEM", _("Each item needs a product_id and an option_id."))
            )
            continue
        quantity = _int(raw.get("quantity"))
        price = _int(raw.get("price")) if raw.get("price") is not None else None
        if quantity is None:
            parsed.append(_item_error(raw, "INVALID_QUANTITY", _("quantity must be a whole number.")))
        elif raw.get("price") is not None and price is None:
            parsed.append(_item_error(raw, "INVALID_PRICE", _("price must be a whole number of won.")))
        else:
            parsed.append(
                StockItem(
                    product_id=_text(raw.get("product_id")),
                    option_id=_text(raw.get("option_id")),
                    quantity=quantity,
                    price=price,
                )
            )
    return _results(_run(parsed, lambda items, refused: sandbox_stock_set(items=items, refused=refused)))


@csrf_exempt
@login_not_required
@require_POST
@sandbox_api
def products_view(request: HttpRequest) -> HttpResponse:
    parsed: list[ProductItem | Answer] = []
    for raw in _list(_body(request), "items", PUSH_BATCH):
        if not isinstance(raw, dict) or not _text(raw.get("product_id")):
            parsed.append(_item_error(raw, "INVALID_ITEM", _("Each item needs a product_id.")))
            continue
        price = _int(raw.get("price")) if raw.get("price") is not None else None
        if raw.get("price") is not None and price is None:
            parsed.append(_item_error(raw, "INVALID_PRICE", _("price must be a whole number of won.")))
            continue
        name = raw.get("name")
        status = raw.get("sale_status")
        parsed.append(
            ProductItem(
                product_id=_text(raw.get("product_id")),
                option_id=_text(raw.get("option_id")),
                price=price,
                sale_status=_text(status).upper() if status is not None else None,
                name=name if isinstance(name, str) else None,
            )
        )
    return _results(_run(parsed, lambda items, refused: sandbox_products_set(items=items, refused=refused)))
