from __future__ import annotations

import time

import requests

from tests.fakes.server import FakeMarketplace, Request, Response


class Echo(FakeMarketplace):
    def handle(self, request: Request) -> Response:
        return Response(200, {"path": request.path, "q": request.arg("q"), "body": request.json()})


def test_fake_serves_real_http_and_replays_faults_in_order() -> None:
    with Echo() as fake:
        url = fake.base_url
        assert requests.post(f"{url}/a?q=1", json={"x": 1}, timeout=5).json() == {
            "path": "/a",
            "q": "1",
            "body": {"x": 1},
        }
        fake.fail_next(Response(429, {"code": "GW.RATE_LIMIT"}, headers={"Retry-After": "1"}), path="/a")
        fake.fail_next(Response(500, b"<html>oops"), path="/a")
        first = requests.get(f"{url}/a", timeout=5)
        assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
        assert requests.get(f"{url}/a", timeout=5).status_code == 500
        assert requests.get(f"{url}/a", timeout=5).status_code == 200
        fake.slow_next(0.3)
        started = time.monotonic()
        assert requests.get(f"{url}/b", timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.3
        assert len(fake.requests) == 5
