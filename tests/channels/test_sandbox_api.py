"""The sandbox marketplace's JSON API: token auth, the order list's window and paging, and the
per-item answers of confirm, dispatch, stock and product pushes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels.sandbox.services import sandbox_key_revoke
from channels.sandbox_models import SandboxApiKey, SandboxEvent, SandboxListing, SandboxOrderLine
from tests.channels.test_sandbox_helpers import bearer, issue_token, make_listing, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture(autouse=True)
def _sandbox_on(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = True
    settings.OMS_SANDBOX_FAULT_RATE = 0.0


@pytest.fixture
def token() -> str:
    return issue_token()


def get(client: Client, name: str, token: str | None, **params: Any) -> Any:
    return client.get(reverse(f"sandbox:{name}"), params, headers=bearer(token) if token else None)


def post(client: Client, name: str, token: str, body: Any) -> Any:
    return client.post(
        reverse(f"sandbox:{name}"), body, content_type="application/json", headers=bearer(token)
    )


def window(**kwargs: Any) -> dict[str, str]:
    now = timezone.now()
    return {
        "changed_from": (now - timedelta(hours=1)).isoformat(),
        "changed_to": (now + timedelta(seconds=1)).isoformat(),
        **kwargs,
    }


# --- auth -------------------------------------------------------------------------------------------

API_GETS = ["api_auth", "api_couriers", "api_orders"]
API_POSTS = ["api_confirm", "api_dispatch", "api_stock", "api_products"]


@pytest.mark.parametrize("name", API_GETS + API_POSTS)
def test_every_endpoint_answers_401_json_without_a_token(client: Client, name: str) -> None:
    method = client.get if name in API_GETS else client.post
    response = method(reverse(f"sandbox:{name}"))
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer sbx_not-a-real-token", "Basic c2J4Og==", "sbx_no_scheme"])
def test_a_token_the_sandbox_never_issued_is_refused(client: Client, token: str, header: str) -> None:
    response = client.get(reverse("sandbox:api_auth"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "message" in response.json()


def test_a_revoked_token_is_refused(client: Client, token: str) -> None:
    assert get(client, "api_auth", token).status_code == 200
    sandbox_key_revoke(actor=None, key=SandboxApiKey.objects.get())
    response = get(client, "api_auth", token)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_TOKEN"


def test_auth_answers_the_store_and_notes_when_the_key_was_used(client: Client, token: str) -> None:
    make_listing()
    response = get(client, "api_auth", token)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["store"] == "샌드박스 마켓" and body["listings"] == 1
    assert SandboxApiKey.objects.get().last_used_at is not None


def test_only_the_hash_of_an_issued_token_is_stored(token: str) -> None:
    key = SandboxApiKey.objects.get()
    assert token.startswith("sbx_") and token not in (key.token_hash, key.label)
    assert key.last4 == token[-4:]


def test_the_api_is_not_served_while_the_sandbox_is_off(client: Client, token: str, settings) -> None:
    settings.OMS_SANDBOX_ENABLED = False
    for name in API_GETS:
        assert get(client, name, token).status_code == 404
    assert post(client, "api_stock", token, {"items": []}).status_code == 404


def test_wrong_methods_get_405(client: Client, token: str) -> None:
    assert client.post(reverse("sandbox:api_orders"), headers=bearer(token)).status_code == 405
    assert get(client, "api_confirm", token).status_code == 405


def test_api_writes_need_no_csrf_token(token: str) -> None:
    strict = Client(enforce_csrf_checks=True)
    line = make_order([(make_listing(), 1)]).lines.get()
    response = post(strict, "api_confirm", token, {"line_ids": [line.line_no]})
    assert response.status_code == 200


def test_fault_rate_answers_429_with_retry_after_or_500_and_logs_it(
    client: Client, token: str, settings
) -> None:
    settings.OMS_SANDBOX_FAULT_RATE = 1.0
    statuses = {get(client, "api_auth", token).status_code for _ in range(30)}
    assert statuses == {429, 500}
    response = next(r for r in (get(client, "api_auth", token) for _ in range(30)) if r.status_code == 429)
    assert response["Retry-After"] == "1"
    assert SandboxEvent.objects.filter(kind=SandboxEvent.Kind.FAULT).count() >= 30
    # A bad token is still a 401, never a simulated failure.
    assert get(client, "api_auth", "sbx_wrong").status_code == 401


# --- orders -------------------------------------------------------------------------------------------


def test_orders_changed_in_the_window_come_whole_with_buyer_recipient_and_lines(
    client: Client, token: str
) -> None:
    shirt, knit = make_listing(seller_code="DM-TS01-BK-M"), make_listing(seller_code="DM-KN01-IV-S")
    order = make_order([(shirt, 2), (knit, 1)])
    make_order([(shirt, 1)], changed_at=timezone.now() - timedelta(hours=3))  # outside the window
    response = get(client, "api_orders", token, **window())
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    [got] = body["orders"]
    assert got["order_id"] == order.order_no
    assert got["buyer"] == {"name": "김민준", "phone": "010-2345-6789"}
    assert got["recipient"]["phone"] == "0504-1234-5678" and got["recipient"]["zip_code"] == "06164"
    assert got["delivery_message"] == "문 앞에 놔주세요" and got["shipping_fee"] == 3000
    assert got["changed_at"].endswith("+09:00")
    assert [(ln["option_id"], ln["seller_code"], ln["quantity"], ln["status"]) for ln in got["lines"]] == [
        (shirt.option_id, "DM-TS01-BK-M", 2, "NEW"),
        (knit.option_id, "DM-KN01-IV-S", 1, "NEW"),
    ]
    event = SandboxEvent.objects.get(kind=SandboxEvent.Kind.ORDERS_READ)
    assert event.payload == [{"id": order.order_no, "lines": [f"{order.order_no}01", f"{order.order_no}02"]}]


def test_a_re_read_leaves_an_event_only_for_orders_changed_since(client: Client, token: str) -> None:
    listing = make_listing()
    order = make_order([(listing, 1)], changed_at=timezone.now() - timedelta(minutes=5))
    other = make_order([(listing, 1)], changed_at=timezone.now() - timedelta(minutes=5))
    get(client, "api_orders", token, **window())
    get(client, "api_orders", token, **window())  # the overlap read again: nothing new
    assert SandboxEvent.objects.filter(kind=SandboxEvent.Kind.ORDERS_READ).count() == 1
    post(client, "api_confirm", token, {"line_ids": [order.lines.get().line_no]})
    assert len(get(client, "api_orders", token, **window()).json()["orders"]) == 2
    latest = SandboxEvent.objects.filter(kind=SandboxEvent.Kind.ORDERS_READ).latest("pk")
    assert [item["id"] for item in latest.payload] == [order.order_no]
    assert other.order_no not in str(latest.payload)


def test_an_empty_poll_leaves_no_event(client: Client, token: str) -> None:
    assert get(client, "api_orders", token, **window()).json() == {"orders": [], "next_cursor": None}
    assert not SandboxEvent.objects.exists()


def test_orders_page_by_cursor_in_change_order_without_gaps_or_repeats(client: Client, token: str) -> None:
    listing = make_listing()
    base = timezone.now() - timedelta(minutes=30)
    # Several orders share one change time: the cursor must still split them correctly.
    made = [
        make_order([(listing, 1)], changed_at=base + timedelta(seconds=i // 3)).order_no for i in range(7)
    ]
    seen: list[str] = []
    cursor = ""
    for _page in range(10):
        params = window(limit="3", **({"cursor": cursor} if cursor else {}))
        body = get(client, "api_orders", token, **params).json()
        seen += [o["order_id"] for o in body["orders"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == made


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"changed_from": ""}, "BAD_REQUEST"),
        ({"changed_from": "yesterday"}, "BAD_REQUEST"),
        ({"changed_from": "2026-01-01T00:00:00"}, "BAD_REQUEST"),  # no UTC offset
        ({"limit": "0"}, "BAD_REQUEST"),
        ({"limit": "101"}, "BAD_REQUEST"),
        ({"cursor": "not-a-cursor"}, "BAD_CURSOR"),
    ],
)
def test_bad_order_queries_are_refused_with_a_reason(
    client: Client, token: str, params: dict, code: str
) -> None:
    response = get(client, "api_orders", token, **window(**params))
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]


def test_a_window_longer_than_seven_days_is_refused(client: Client, token: str) -> None:
    now = timezone.now()
    params = {"changed_from": (now - timedelta(days=8)).isoformat(), "changed_to": now.isoformat()}
    response = get(client, "api_orders", token, **params)
    assert response.status_code == 400 and response.json()["code"] == "WINDOW_TOO_LONG"


def test_an_unencoded_plus_in_the_offset_is_understood(client: Client, token: str) -> None:
    make_order([(make_listing(), 1)])
    now = timezone.localtime()
    query = (
        f"changed_from={(now - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S')}+09:00"
        f"&changed_to={(now + timedelta(minutes=1)).strftime('%Y-%m-%dT%H:%M:%S')}+09:00"
    )
    response = client.get(reverse("sandbox:api_orders") + "?" + query, headers=bearer(token))
    assert response.status_code == 200 and len(response.json()["orders"]) == 1


# --- confirm and dispatch ---------------------------------------------------------------------------


def test_confirm_answers_per_line_and_moves_the_order_change_time(client: Client, token: str) -> None:
    listing = make_listing()
    order = make_order([(listing, 1), (listing, 1)], changed_at=timezone.now() - timedelta(hours=2))
    first, second = order.lines.order_by("pk")
    body = post(client, "api_confirm", token, {"line_ids": [first.line_no, "9999", first.line_no]}).json()
    assert body["results"] == [
        {"id": first.line_no, "ok": True},
        {
            "id": "9999",
            "ok": False,
            "code": "NOT_FOUND",
            "message": "There is no product order 9999 in this store.",
        },
        {"id": first.line_no, "ok": True, "code": "ALREADY_CONFIRMED"},
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == SandboxOrderLine.Status.CONFIRMED and first.confirmed_at is not None
    assert second.status == SandboxOrderLine.Status.NEW
    order.refresh_from_db()
    assert timezone.now() - order.changed_at < timedelta(minutes=1)
    event = SandboxEvent.objects.get(kind=SandboxEvent.Kind.CONFIRM)
    assert (event.ok_count, event.failed_count) == (2, 1)


def test_confirm_refuses_a_body_that_is_not_a_list_of_at_most_50(client: Client, token: str) -> None:
    assert post(client, "api_confirm", token, {"line_ids": "1"}).json()["code"] == "BAD_REQUEST"
    assert post(client, "api_confirm", token, [1, 2]).status_code == 400
    too_many = post(client, "api_confirm", token, {"line_ids": [str(i) for i in range(51)]})
    assert too_many.status_code == 400 and too_many.json()["code"] == "TOO_MANY_ITEMS"
    bad_json = client.post(
        reverse("sandbox:api_confirm"), "{not json", content_type="application/json", headers=bearer(token)
    )
    assert bad_json.status_code == 400
    assert not SandboxEvent.objects.exists()


def test_dispatch_refuses_unknown_couriers_and_bad_tracking_numbers_per_item(
    client: Client, token: str
) -> None:
    listing = make_listing()
    lines = list(make_order([(listing, 1)] * 5).lines.order_by("pk"))
    items = [
        {"line_id": lines[0].line_no, "courier_code": "CJGLS", "tracking_number": "601234567890"},
        {"line_id": lines[1].line_no, "courier_code": "LOTTE", "tracking_number": "601234567891"},
        {"line_id": lines[2].line_no, "courier_code": "CJGLS", "tracking_number": "6012-3456-7890"},
        {
            "line_id": lines[3].line_no,
            "courier_code": "EPOST",
            "tracking_number": "601234567892",
        },  # 13 digits
        {"line_id": lines[4].line_no, "courier_code": "kgb", "tracking_number": "12345678901"},
        {"courier_code": "CJGLS"},
    ]
    results = post(client, "api_dispatch", token, {"items": items}).json()["results"]
    assert [(r["ok"], r.get("code", "")) for r in results] == [
        (True, ""),
        (False, "INVALID_COURIER"),
        (False, "INVALID_TRACKING_NUMBER"),
        (False, "INVALID_TRACKING_NUMBER"),
        (True, ""),  # courier codes are read case-insensitively
        (False, "INVALID_ITEM"),
    ]
    assert "우체국택배" in results[3]["message"] and "13" in results[3]["message"]
    statuses = [ln.status for ln in SandboxOrderLine.objects.order_by("pk")]
    assert statuses == ["DISPATCHED", "NEW", "NEW", "NEW", "DISPATCHED"]
    shipped = SandboxOrderLine.objects.get(pk=lines[0].pk)
    assert (shipped.courier_code, shipped.tracking_number) == ("CJGLS", "601234567890")
    assert shipped.confirmed_at is not None  # a NEW line is confirmed on the way


def test_the_same_dispatch_again_is_ok_but_another_tracking_number_is_refused(
    client: Client, token: str
) -> None:
    line = make_order([(make_listing(), 1)]).lines.get()
    item = {"line_id": line.line_no, "courier_code": "HANJIN", "tracking_number": "4012345678"}
    assert post(client, "api_dispatch", token, {"items": [item]}).json()["results"][0]["ok"] is True
    again = post(client, "api_dispatch", token, {"items": [item]}).json()["results"][0]
    assert again == {"id": line.line_no, "ok": True, "code": "ALREADY_DISPATCHED"}
    other = post(client, "api_dispatch", token, {"items": [{**item, "tracking_number": "4012345679"}]}).json()
    assert other["results"][0]["ok"] is False and other["results"][0]["code"] == "ALREADY_DISPATCHED"
    line.refresh_from_db()
    assert line.tracking_number == "4012345678"


def test_couriers_lists_codes_with_tracking_lengths(client: Client, token: str) -> None:
    couriers = {c["code"]: c for c in get(client, "api_couriers", token).json()["couriers"]}
    assert couriers["HYUNDAI"]["name"] == "롯데택배" and couriers["HYUNDAI"]["tracking_lengths"] == [
        10,
        12,
        13,
    ]
    assert "LOTTE" not in couriers and "KGB" in couriers


# --- stock and products -----------------------------------------------------------------------------


def test_stock_is_set_per_option_and_bad_items_are_refused_alone(client: Client, token: str) -> None:
    a, b = make_listing(stock=5), make_listing(stock=5)
    items = [
        {"product_id": a.product_id, "option_id": a.option_id, "quantity": 0},
        {"product_id": b.product_id, "option_id": b.option_id, "quantity": 12, "price": 21_900},
        {"product_id": "1", "option_id": a.option_id, "quantity": 3},  # wrong product
        {"product_id": a.product_id, "option_id": "404", "quantity": 3},
        {"product_id": a.product_id, "option_id": a.option_id, "quantity": -1},
        {"product_id": a.product_id, "option_id": a.option_id, "quantity": "many"},
        {"product_id": a.product_id, "option_id": a.option_id, "quantity": 100_000},
        {"product_id": b.product_id, "option_id": b.option_id, "quantity": 1, "price": 21_905},
    ]
    results = post(client, "api_stock", token, {"items": items}).json()["results"]
    assert [(r["id"], r["ok"], r.get("code", "")) for r in results] == [
        (a.option_id, True, ""),
        (b.option_id, True, ""),
        (a.option_id, False, "NOT_FOUND"),
        ("404", False, "NOT_FOUND"),
        (a.option_id, False, "INVALID_QUANTITY"),
        (a.option_id, False, "INVALID_QUANTITY"),
        (a.option_id, False, "INVALID_QUANTITY"),
        (b.option_id, False, "INVALID_PRICE"),
    ]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity, b.price) == (0, 12, 21_900)
    event = SandboxEvent.objects.get(kind=SandboxEvent.Kind.STOCK)
    assert (event.ok_count, event.failed_count) == (2, 6)
    assert event.payload[0]["from"] == 5 and event.payload[0]["to"] == 0


def test_products_set_price_sale_status_and_name_for_an_option_or_a_whole_product(
    client: Client, token: str
) -> None:
    a, b = make_listing(product_id="7700100"), make_listing(product_id="7700100")
    items = [
        {"product_id": "7700100", "price": 25_000},
        {"product_id": "7700100", "option_id": b.option_id, "sale_status": "suspended"},
        {"product_id": "7700100", "option_id": a.option_id, "name": "  새 이름  "},
        {"product_id": "7700100", "option_id": a.option_id, "sale_status": "GONE"},
        {"product_id": "7700100", "option_id": a.option_id},
        {"product_id": "7700100", "price": 5},
        {"product_id": "7799999", "price": 1000},
    ]
    results = post(client, "api_products", token, {"items": items}).json()["results"]
    assert [(r["id"], r["ok"], r.get("code", "")) for r in results] == [
        ("7700100", True, ""),
        (b.option_id, True, ""),
        (a.option_id, True, ""),
        (a.option_id, False, "INVALID_SALE_STATUS"),
        (a.option_id, False, "NOTHING_TO_CHANGE"),
        ("7700100", False, "INVALID_PRICE"),
        ("7799999", False, "NOT_FOUND"),
    ]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.price, b.price) == (25_000, 25_000)
    assert (a.sale_status, b.sale_status) == (
        SandboxListing.SaleStatus.ON_SALE,
        SandboxListing.SaleStatus.SUSPENDED,
    )
    assert a.product_name == "새 이름"
