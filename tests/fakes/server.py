"""A tiny threaded HTTP server for fake marketplaces, over real sockets on 127.0.0.1.

A fake subclasses FakeMarketplace, routes requests in `handle(request)`, and returns
`Response`s. Tests steer it with `faults`: queued answers for the next matching requests
(a 401, a 429 with Retry-After, a 5xx, a slow reply, malformed JSON), so adapters are tested
against the failures real marketplaces produce.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import requests

# Courier codes Naver and Coupang share (channel-specs.md "Couriers"): 롯데 is HYUNDAI, 로젠 KGB.
COURIER_CODES = frozenset(
    {
        "CJGLS",
        "HYUNDAI",
        "HANJIN",
        "KGB",
        "EPOST",
        "KDEXP",
        "DAESIN",
        "ILYANG",
        "HDEXP",
        "CHUNIL",
        "CUPARCEL",
        "CVSNET",
    }
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def json_or_none(self) -> Any:
        """The JSON body; None when it is missing or not JSON (a fake answers 400 then)."""
        try:
            return self.json()
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, ensure_ascii=False).encode()


@dataclass
class Fault:
    """Answer the next `times` requests whose path contains `path` (any, if empty) with `response`."""

    response: Response
    path: str = ""
    method: str = ""
    times: int = 1
    then_pass: bool = False  # after a delay-only fault, let the real handler answer

    def matches(self, request: Request) -> bool:
        return (not self.path or self.path in request.path) and (
            not self.method or self.method == request.method
        )


class FakeMarketplace:
    """Subclass and implement handle(). Use as a context manager or start()/stop().

    `rate_limit_per_second` sets a token bucket (capacity one second's worth) that a subclass's
    handle() checks with take_rate_token(): when empty it answers the subclass's
    rate_limited(retry_after=None), as the marketplace would."""

    def __init__(self, *, rate_limit_per_second: float | None = None) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rate = float(rate_limit_per_second or 0)
        self._bucket = self._rate
        self._bucket_at = time.monotonic()

    @staticmethod
    def rate_limited(retry_after: float | None = 1) -> Response:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return Response(429, {"message": "Too Many Requests"}, headers=headers)

    def take_rate_token(self) -> Response | None:
        """None when the call may go on; the 429 to answer when the bucket is empty."""
        if not self._rate:
            return None
        now = time.monotonic()
        self._bucket = min(self._rate, self._bucket + (now - self._bucket_at) * self._rate)
        self._bucket_at = now
        if self._bucket < 1:
            return self.rate_limited(retry_after=None)
        self._bucket -= 1
        return None

    def calls(self, path_fragment: str, method: str | None = None) -> int:
        """How many requests seen whose path contains `path_fragment` (and of `method`)."""
        with self.lock:
            return sum(
                1 for r in self.requests if path_fragment in r.path and (method is None or r.method == method)
            )

    # --- steering ----------------------------------------------------------------------------

    def fail_next(self, response: Response, *, path: str = "", method: str = "", times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(response, path, method, times))

    def slow_next(self, seconds: float, *, path: str = "", times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(Response(delay=seconds), path, "", times, then_pass=True))

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- serving -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.response.delay:
                time.sleep(fault.response.delay)
            if not fault.then_pass:
                return fault.response
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in the fake must show up as a clear 500, not a hang
            return Response(500, {"code": "FAKE_ERROR", "message": f"{type(exc).__name__}: {exc}"})

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, Nagle's algorithm adds ~40 ms to every keep-alive reply.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    raw_query=parts.query,
                )
                response = fake.dispatch(request)
                payload = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json;charset=UTF-8", **response.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            def get_request(self) -> tuple[socket.socket, Any]:
                # Headers and body are written separately; without TCP_NODELAY each answer
                # waits ~40 ms for a delayed ACK (Nagle), which would dominate big runs.
                conn, address = super().get_request()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return conn, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client that timed out before a slow reply was written is what the slow
                # fault is for; anything else is still reported.
                import sys

                if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
                    return
                super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            # serve_forever() notices a shutdown only between polls (0.5 s); a connection made
            # right after the request wakes it at once, so a test's teardown costs milliseconds.
            address = self._server.server_address[:2]
            threading.Timer(0.02, _poke, args=(address,)).start()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _poke(address: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):
        socket.create_connection((str(address[0]), int(address[1])), timeout=0.5).close()


# --- client-side helpers for the tests that drive adapters against these fakes ------------------


class RecordingSession(requests.Session):
    """A plain session that remembers the keyword arguments of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, *args, **kwargs)


def recent_window() -> tuple[datetime, datetime]:
    """A collection window over the last hour, ending just after now."""
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(seconds=1)


Handler = Callable[[Request], Response]
