"""FakeCoupang checks what Coupang checks: tests that the fake itself refuses what the real API
refuses, so adapter tests against it can fail. Requests here are signed by hand, independently of
the adapter."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.fakes.coupang import KST, FakeCoupang

VENDOR_PATH = "/v2/providers/openapi/apis/api/v4/vendors/{vendor}"


@pytest.fixture
def coupang() -> Iterator[FakeCoupang]:
    with FakeCoupang() as fake:
        yield fake


def call(
    coupang: FakeCoupang,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    body: Any = None,
    secret: str | None = None,
    signed_offset: timedelta = timedelta(0),
    vendor_header: str | None = None,
    query_sent: str | None = None,
) -> requests.Response:
    query = urlencode(params or {})
    date = (datetime.now(UTC) + signed_offset).strftime("%y%m%dT%H%M%SZ")
    message = f"{date}{method}{path}{query}"
    sig = hmac.new((secret or coupang.secret_key).encode(), message.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Authorization": (
            f"CEA algorithm=HmacSHA256, access-key={coupang.access_key}, signed-date={date}, signature={sig}"
        ),
        "X-Requested-By": vendor_header if vendor_header is not None else coupang.vendor_id,
    }
    sent = query_sent if query_sent is not None else query
    url = coupang.base_url + path + (f"?{sent}" if sent else "")
    return requests.request(method, url, headers=headers, json=body, timeout=5)


def sheets(coupang: FakeCoupang, **params: Any) -> requests.Response:
    base = {"searchType": "timeFrame", "status": "ACCEPT", "maxPerPage": 50}
    return call(
        coupang, "GET", VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets", {**base, **params}
    )


def minute(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m-%dT%H:%M")


def test_a_correctly_signed_call_is_answered(coupang: FakeCoupang) -> None:
    now = datetime.now(KST)
    answer = sheets(coupang, createdAtFrom=minute(now - timedelta(hours=1)), createdAtTo=minute(now))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"code": 200, "message": "OK", "data": [], "nextToken": ""}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"secret": "wrong"}, "signature is not matched"),
        ({"signed_offset": timedelta(minutes=-6)}, "expired"),
        ({"signed_offset": timedelta(minutes=6)}, "expired"),
        ({"vendor_header": "A00099999"}, "X-Requested-By"),
        ({"query_sent": "status=INSTRUCT"}, "signature is not matched"),
    ],
)
def test_what_coupang_refuses_is_refused_with_its_error_body(
    coupang: FakeCoupang, kwargs: dict[str, Any], reason: str
) -> None:
    path = VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets"
    now = datetime.now(KST)
    params = {
        "searchType": "timeFrame",
        "createdAtFrom": minute(now),
        "createdAtTo": minute(now),
        "status": "ACCEPT",
    }
    answer = call(coupang, "GET", path, params, **kwargs)
    assert answer.status_code == 401
    body = answer.json()
    assert body["code"] == "ERROR"
    assert reason in body["message"]


def test_no_or_a_foreign_authorization_header_is_refused(coupang: FakeCoupang) -> None:
    url = coupang.base_url + VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets"
    assert requests.get(url, timeout=5).status_code == 401
    bearer = requests.get(url, headers={"Authorization": "Bearer abc"}, timeout=5)
    assert bearer.status_code == 401
    assert "CEA" in bearer.json()["message"]


def test_another_vendors_path_or_body_is_refused(coupang: FakeCoupang) -> None:
    now = datetime.now(KST)
    other = VENDOR_PATH.format(vendor="A00099999") + "/ordersheets"
    params = {
        "searchType": "timeFrame",
        "createdAtFrom": minute(now),
        "createdAtTo": minute(now),
        "status": "ACCEPT",
    }
    assert call(coupang, "GET", other, params).status_code == 401
    box = coupang.add_order()
    ack = VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets/acknowledgement"
    answer = call(
        coupang, "PATCH", ack, body={"vendorId": "A00099999", "shipmentBoxIds": [int(box.shipment_box_id)]}
    )
    assert answer.status_code == 401
    assert coupang.boxes[box.shipment_box_id].status == "ACCEPT"


def test_window_page_size_and_status_are_enforced(coupang: FakeCoupang) -> None:
    now = datetime.now(KST)
    day_ok = sheets(coupang, createdAtFrom=minute(now - timedelta(hours=24)), createdAtTo=minute(now))
    assert day_ok.status_code == 200
    too_long = sheets(
        coupang, createdAtFrom=minute(now - timedelta(hours=24, minutes=1)), createdAtTo=minute(now)
    )
    assert too_long.status_code == 400
    assert too_long.json()["code"] == "ERROR" and "24" in too_long.json()["message"]
    backwards = sheets(coupang, createdAtFrom=minute(now), createdAtTo=minute(now - timedelta(minutes=1)))
    assert backwards.status_code == 400
    seconds = sheets(coupang, createdAtFrom=now.strftime("%Y-%m-%dT%H:%M:%S"), createdAtTo=minute(now))
    assert seconds.status_code == 400
    too_many = sheets(coupang, createdAtFrom=minute(now), createdAtTo=minute(now), maxPerPage=51)
    assert too_many.status_code == 400
    no_status = sheets(coupang, createdAtFrom=minute(now), createdAtTo=minute(now), status="PAID")
    assert no_status.status_code == 400
    bad_token = sheets(coupang, createdAtFrom=minute(now), createdAtTo=minute(now), nextToken="x")
    assert bad_token.status_code == 400


def test_day_mode_allows_31_days(coupang: FakeCoupang) -> None:
    today = datetime.now(KST).date()
    path = VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets"
    ok = call(
        coupang,
        "GET",
        path,
        {"createdAtFrom": str(today - timedelta(days=31)), "createdAtTo": str(today), "status": "ACCEPT"},
    )
    assert ok.status_code == 200
    long = call(
        coupang,
        "GET",
        path,
        {"createdAtFrom": str(today - timedelta(days=32)), "createdAtTo": str(today), "status": "ACCEPT"},
    )
    assert long.status_code == 400


def test_both_bounding_minutes_are_inclusive_and_status_filters(coupang: FakeCoupang) -> None:
    start = datetime(2025, 6, 1, 10, 0, tzinfo=KST)
    inside = [
        coupang.add_order(ordered_at=start),
        coupang.add_order(ordered_at=start + timedelta(minutes=5, seconds=59)),
    ]
    coupang.add_order(ordered_at=start - timedelta(seconds=1))
    coupang.add_order(ordered_at=start + timedelta(minutes=6))
    coupang.add_order(ordered_at=start + timedelta(minutes=1), status="INSTRUCT")

    answer = sheets(coupang, createdAtFrom=minute(start), createdAtTo=minute(start + timedelta(minutes=5)))

    assert [str(s["shipmentBoxId"]) for s in answer.json()["data"]] == [b.shipment_box_id for b in inside]


def test_pages_are_stable_when_orders_arrive_between_pages(coupang: FakeCoupang) -> None:
    start = datetime(2025, 6, 1, 10, 0, tzinfo=KST)
    first = coupang.add_orders(5, start=start, step=timedelta(seconds=1))
    window = {"createdAtFrom": minute(start), "createdAtTo": minute(start + timedelta(minutes=1))}

    page1 = sheets(coupang, maxPerPage=2, **window).json()
    coupang.add_order(ordered_at=start + timedelta(milliseconds=500))  # lands on page 1's side
    page2 = sheets(coupang, maxPerPage=2, nextToken=page1["nextToken"], **window).json()
    page3 = sheets(coupang, maxPerPage=2, nextToken=page2["nextToken"], **window).json()

    seen = [str(s["shipmentBoxId"]) for page in (page1, page2, page3) for s in page["data"]]
    assert seen == [b.shipment_box_id for b in first]
    assert page3["nextToken"] == ""


def test_acknowledgement_limits_and_response_codes(coupang: FakeCoupang) -> None:
    path = VENDOR_PATH.format(vendor=coupang.vendor_id) + "/ordersheets/acknowledgement"
    boxes = [coupang.add_order() for _ in range(51)]
    ids = [int(b.shipment_box_id) for b in boxes]

    too_many = call(coupang, "PATCH", path, body={"vendorId": coupang.vendor_id, "shipmentBoxIds": ids})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "ERROR"
    assert coupang.acknowledged == []

    all_ok = call(
        coupang, "PATCH", path, body={"vendorId": coupang.vendor_id, "shipmentBoxIds": ids[:2]}
    ).json()
    assert all_ok["data"]["responseCode"] == 0
    partial = call(
        coupang, "PATCH", path, body={"vendorId": coupang.vendor_id, "shipmentBoxIds": [ids[2], 1]}
    ).json()
    assert partial["data"]["responseCode"] == 1
    assert [r["succeed"] for r in partial["data"]["responseList"]] == [True, False]
    coupang.set_status(boxes[3].shipment_box_id, "FINAL_DELIVERY")
    failed = call(
        coupang, "PATCH", path, body={"vendorId": coupang.vendor_id, "shipmentBoxIds": [ids[3]]}
    ).json()
    assert failed["data"]["responseCode"] == 99
    assert set(failed["data"]["responseList"][0]) == {
        "shipmentBoxId",
        "succeed",
        "resultCode",
        "retryRequired",
        "resultMessage",
    }


def test_vendor_item_writes_check_their_values(coupang: FakeCoupang) -> None:
    base = "/v2/providers/seller_api/apis/api/v1/marketplace/vendor-items"
    assert call(coupang, "PUT", f"{base}/70000000001/quantities/12").json()["code"] == "SUCCESS"
    assert call(coupang, "PUT", f"{base}/70000000001/quantities/100000").status_code == 400
    assert call(coupang, "PUT", f"{base}/70000000001/prices/12345").status_code == 400
    assert call(coupang, "PUT", f"{base}/70000000001/prices/12340").status_code == 200
    assert call(coupang, "PUT", f"{base}/70000000001/sales/pause").status_code == 400
    assert call(coupang, "PUT", f"{base}/abc/quantities/1").status_code == 400
    assert (coupang.quantities, coupang.prices) == ({"70000000001": 12}, {"70000000001": 12340})


def test_unknown_routes_are_404(coupang: FakeCoupang) -> None:
    answer = call(coupang, "GET", VENDOR_PATH.format(vendor=coupang.vendor_id) + "/returnRequests")
    assert answer.status_code == 404
