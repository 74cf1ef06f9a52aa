"""FakeNaver checks what Naver checks: tests that the fake itself refuses what the real API
refuses, so adapter tests against it can fail."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import bcrypt
import pytest
import requests

from tests.fakes.naver import KST, FakeNaver, iso

CHANGED = "/v1/pay-order/seller/product-orders/last-changed-statuses"


@pytest.fixture
def naver() -> Iterator[FakeNaver]:
    with FakeNaver() as fake:
        yield fake


def token_form(naver: FakeNaver, *, secret: str | None = None, stamp: int | None = None) -> dict[str, str]:
    stamp = stamp if stamp is not None else int(time.time() * 1000)
    hashed = bcrypt.hashpw(f"{naver.client_id}_{stamp}".encode(), (secret or naver.client_secret).encode())
    return {
        "client_id": naver.client_id,
        "timestamp": str(stamp),
        "grant_type": "client_credentials",
        "client_secret_sign": base64.b64encode(hashed).decode(),
        "type": "SELF",
    }


def token(naver: FakeNaver) -> str:
    answer = requests.post(f"{naver.api_url}/v1/oauth2/token", data=token_form(naver), timeout=5)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 10800)
    return str(body["access_token"])


def get(naver: FakeNaver, bearer: str | None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.get(f"{naver.api_url}{CHANGED}", params=params, headers=headers, timeout=5)


def test_token_needs_a_fresh_timestamp_and_the_right_secret(naver: FakeNaver) -> None:
    stale = int(time.time() * 1000) - 6 * 60 * 1000
    answer = requests.post(f"{naver.api_url}/v1/oauth2/token", data=token_form(naver, stamp=stale), timeout=5)
    assert answer.status_code == 400
    assert answer.json()["invalidInputs"][0]["name"] == "timestamp"

    wrong = token_form(naver, secret=bcrypt.gensalt(4, prefix=b"2a").decode())
    answer = requests.post(f"{naver.api_url}/v1/oauth2/token", data=wrong, timeout=5)
    assert answer.status_code == 400
    assert set(answer.json()) >= {"code", "message", "timestamp", "traceId", "invalidInputs"}
    assert naver.tokens_issued == 0


def test_calls_without_a_valid_token_get_gw_authn(naver: FakeNaver) -> None:
    now = datetime.now(KST)
    params = {"lastChangedFrom": iso(now - timedelta(hours=1))}
    assert get(naver, None, **params).json()["code"] == "GW.AUTHN"
    assert get(naver, "made-up", **params).status_code == 401
    bearer = token(naver)
    assert get(naver, bearer, **params).status_code == 200
    naver.expire_tokens()
    assert get(naver, bearer, **params).status_code == 401


def test_window_and_limit_are_enforced(naver: FakeNaver) -> None:
    bearer = token(naver)
    now = datetime.now(KST)
    too_long = get(naver, bearer, lastChangedFrom=iso(now - timedelta(hours=25)), lastChangedTo=iso(now))
    assert too_long.status_code == 400
    assert too_long.json()["invalidInputs"][0]["name"] == "lastChangedTo"
    too_many = get(naver, bearer, lastChangedFrom=iso(now - timedelta(hours=1)), limitCount=301)
    assert too_many.status_code == 400
    naive = get(naver, bearer, lastChangedFrom=(now - timedelta(hours=1)).replace(tzinfo=None).isoformat())
    assert naive.status_code == 400


def test_pages_are_half_open_and_complete(naver: FakeNaver) -> None:
    bearer = token(naver)
    start = datetime(2025, 1, 15, 9, 0, tzinfo=KST)
    naver.add_orders(7, start=start, step=timedelta(seconds=0))  # all in one millisecond
    naver.add_order(changed_at=start + timedelta(hours=1))  # exactly at the window's end: not in it
    params: dict[str, Any] = {
        "lastChangedFrom": iso(start),
        "lastChangedTo": iso(start + timedelta(hours=1)),
        "limitCount": 3,
    }
    seen: list[str] = []
    for _ in range(10):
        data = get(naver, bearer, **params).json()["data"]
        seen += [item["productOrderId"] for item in data["lastChangeStatuses"]]
        if "more" not in data:
            break
        params.update(lastChangedFrom=data["more"]["moreFrom"], moreSequence=data["more"]["moreSequence"])
    assert len(seen) == len(set(seen)) == 7


def test_batch_sizes_are_enforced(naver: FakeNaver) -> None:
    bearer = token(naver)
    headers = {"Authorization": f"Bearer {bearer}"}
    base = f"{naver.api_url}/v1/pay-order/seller/product-orders"
    ids = [str(n) for n in range(301)]
    assert (
        requests.post(f"{base}/query", json={"productOrderIds": ids}, headers=headers, timeout=5).status_code
        == 400
    )
    assert requests.post(f"{base}/query", json={"productOrderIds": ids[:300]}, headers=headers, timeout=5).ok
    assert (
        requests.post(
            f"{base}/confirm", json={"productOrderIds": ids[:31]}, headers=headers, timeout=5
        ).status_code
        == 400
    )
    too_many = {"dispatchProductOrders": [{"productOrderId": i} for i in ids[:31]]}
    assert requests.post(f"{base}/dispatch", json=too_many, headers=headers, timeout=5).status_code == 400


def test_ten_thousand_orders_are_made_fast() -> None:
    fake = FakeNaver()
    started = time.monotonic()
    orders = fake.add_orders(10_000)
    assert time.monotonic() - started < 5
    assert len({o.order_id for o in orders}) == 10_000
    assert len({o.lines[0].address["name"] for o in orders}) > 50
