"""channels.http against a real HTTP fake: timeouts, retries, Retry-After, rate limit, call log
and redaction."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from django.db import connection

from channels.adapters.base import ChannelRateLimited, ChannelTemporaryError
from channels.http import (
    ChannelSession,
    Redactor,
    RetryPolicy,
    adapter_for,
    channel_error_for,
    retry_after_seconds,
    retry_safe,
    session_for,
)
from channels.models import CallLog, ChannelAccount
from channels.services_accounts import channel_account_create
from tests.channels.fakeshop import SHOP_CODE, FakeShop
from tests.fakes.server import Response

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

FAST = RetryPolicy(max_tries=3, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=5)


@pytest.fixture
def account(fake_adapters, fake_shop: FakeShop) -> ChannelAccount:
    return channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name="테스트 상점",
        base_url=fake_shop.base_url,
        credentials={"client_id": fake_shop.client_id, "client_secret": fake_shop.client_secret},
    )


def _session(account: ChannelAccount, policy: RetryPolicy = FAST) -> ChannelSession:
    return session_for(account, policy=policy)


def _calls() -> list[tuple[str, int | None, int]]:
    return [(c.method, c.status, c.attempt) for c in CallLog.objects.order_by("id")]


def test_429_with_retry_after_seconds_waits_then_succeeds(account, fake_shop) -> None:
    fake_shop.fail_next(Response(429, {"code": "RATE"}, headers={"Retry-After": "1"}), path="/echo")
    started = time.monotonic()
    reply = _session(account).get(f"{fake_shop.base_url}/echo")
    assert reply.status_code == 200
    assert time.monotonic() - started >= 0.95
    assert _calls() == [("GET", 429, 1), ("GET", 200, 2)]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    reply = requests.Response()
    reply.headers["Retry-After"] = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds(reply, now=now) == 7
    reply.headers["Retry-After"] = "2.5"
    assert retry_after_seconds(reply) == 2.5
    reply.headers["Retry-After"] = "soon"
    assert retry_after_seconds(reply) is None


def test_429_with_an_http_date_is_honoured_over_http(account, fake_shop) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    fake_shop.fail_next(Response(429, {"code": "RATE"}, headers={"Retry-After": when}), path="/echo")
    started = time.monotonic()
    assert _session(account).get(f"{fake_shop.base_url}/echo").status_code == 200
    assert time.monotonic() - started >= 0.9  # the date has whole seconds: between 1 and 2 s


def test_a_retry_after_longer_than_the_cap_goes_back_to_the_caller(account, fake_shop) -> None:
    fake_shop.fail_next(Response(429, {"code": "RATE"}, headers={"Retry-After": "120"}), path="/echo")
    started = time.monotonic()
    reply = _session(account).get(f"{fake_shop.base_url}/echo")
    assert reply.status_code == 429 and time.monotonic() - started < 1
    error = channel_error_for(reply, "blocked")
    assert isinstance(error, ChannelRateLimited) and error.retry_after == 120
    assert len(fake_shop.requests) == 1


def test_500_twice_then_success_for_a_get(account, fake_shop) -> None:
    fake_shop.fail_next(Response(500, b"<html>oops</html>"), path="/echo", times=2)
    reply = _session(account).get(f"{fake_shop.base_url}/echo")
    assert reply.status_code == 200
    assert _calls() == [("GET", 500, 1), ("GET", 500, 2), ("GET", 200, 3)]


def test_500_on_every_try_returns_the_last_answer(account, fake_shop) -> None:
    fake_shop.fail_next(Response(503, {"code": "DOWN"}), path="/echo", times=5)
    reply = _session(account).get(f"{fake_shop.base_url}/echo")
    assert reply.status_code == 503 and len(fake_shop.requests) == 3
    assert isinstance(channel_error_for(reply), ChannelTemporaryError)


def test_a_post_is_not_retried_on_500_unless_marked_safe(account, fake_shop) -> None:
    session = _session(account)
    fake_shop.fail_next(Response(500, {"code": "ERR"}), path="/echo", times=2)
    assert session.post(f"{fake_shop.base_url}/echo", json={"n": 1}).status_code == 500
    assert len(fake_shop.requests) == 1
    with retry_safe(session):
        assert session.post(f"{fake_shop.base_url}/echo", json={"n": 2}).status_code == 200
    assert len(fake_shop.requests) == 3
    fake_shop.fail_next(Response(502, {"code": "ERR"}), path="/echo")
    assert session.request("PUT", f"{fake_shop.base_url}/echo", json={}, retry_safe=True).status_code == 200


def test_a_429_is_retried_even_for_a_post_because_nothing_was_done(account, fake_shop) -> None:
    fake_shop.fail_next(Response(429, {"code": "RATE"}, headers={"Retry-After": "0"}), path="/echo")
    assert _session(account).post(f"{fake_shop.base_url}/echo", data={"a": "1"}).status_code == 200
    assert len(fake_shop.requests) == 2


def test_every_call_gets_the_adapter_timeout_and_a_slow_reply_ends_as_a_temporary_error(
    account, fake_shop
) -> None:
    session = session_for(account, policy=FAST)
    session.default_timeout = (1.0, 0.3)
    fake_shop.slow_next(1.0, path="/echo", times=3)
    started = time.monotonic()
    with pytest.raises(ChannelTemporaryError, match="after 3 tries") as exc:
        session.get(f"{fake_shop.base_url}/echo")
    assert time.monotonic() - started < 3  # three 0.3 s timeouts, not three 1 s replies
    assert "timed out" in exc.value.message
    logged = list(CallLog.objects.order_by("id"))
    assert [(c.status, c.attempt) for c in logged] == [(None, 1), (None, 2), (None, 3)]
    assert all("Timeout" in c.error for c in logged)


def test_a_post_that_times_out_is_not_retried(account, fake_shop) -> None:
    session = session_for(account, policy=FAST)
    session.default_timeout = (1.0, 0.3)
    fake_shop.slow_next(1.0, path="/echo", times=3)
    with pytest.raises(ChannelTemporaryError, match="after 1 tries"):
        session.post(f"{fake_shop.base_url}/echo", json={})


def test_a_closed_port_is_a_temporary_error(account) -> None:
    with pytest.raises(ChannelTemporaryError, match="could not connect"):
        _session(account).get("http://127.0.0.1:9/unreachable")


def test_the_session_rate_limits_the_account(account, fake_shop, settings) -> None:
    session = ChannelSession(account_id=account.pk, rate_per_second=20, burst=1, policy=FAST)
    started = time.monotonic()
    for _ in range(6):
        session.get(f"{fake_shop.base_url}/echo")
    assert time.monotonic() - started >= 5 / 20 * 0.95


@pytest.mark.django_db(transaction=True)
def test_a_429_holds_back_the_accounts_other_workers_too(account, fake_shop) -> None:
    # Worker A gets a 429 with Retry-After: 1; worker B (another session of the same account)
    # must not call before that second is over either.
    fake_shop.fail_next(Response(429, {}, headers={"Retry-After": "1"}), path="/echo/a")
    a, b = _session(account), _session(account)
    b_called: list[float] = []
    started = time.monotonic()

    def worker_b() -> None:
        try:
            time.sleep(0.3)
            b.get(f"{fake_shop.base_url}/echo/b")
            b_called.append(time.monotonic() - started)
        finally:
            connection.close()

    thread = threading.Thread(target=worker_b)
    thread.start()
    a.get(f"{fake_shop.base_url}/echo/a")
    thread.join(10)
    assert b_called and b_called[0] >= 0.95


SECRET = "sk_live_c0ffee0ddba11cafe42"


def test_secrets_never_reach_the_call_log(fake_adapters, settings) -> None:
    shop = FakeShop(client_secret=SECRET)
    shop.start()
    try:
        account = channel_account_create(
            actor=None,
            marketplace=SHOP_CODE,
            name="비밀 상점",
            base_url=shop.base_url,
            credentials={
                "client_id": shop.client_id,
                "client_secret": SECRET,
                "webhook_secret": "whsec_1234567890",
            },
        )
        adapter = adapter_for(account, policy=FAST)
        assert adapter.check_auth().ok
        session = adapter.session
        token = next(iter(shop.tokens))
        # The secret in a query string, a form body, a JSON body and a header; the issued token
        # echoed back by the server.
        session.get(f"{shop.base_url}/echo?client_secret={SECRET}&page=2&nextToken=abc")
        session.post(f"{shop.base_url}/echo", data={"client_secret_sign": "c2lnbmF0dXJl", "x": SECRET})
        session.post(
            f"{shop.base_url}/echo",
            json={"note": f"key {SECRET}", "access_token": token},
            headers={"X-Api-Key": SECRET},
        )
        session.post(f"{shop.base_url}/echo", data=f"whsec_1234567890 and {token}")
    finally:
        shop.stop()
    rows = list(CallLog.objects.order_by("id"))
    assert len(rows) == 6
    dump = " ".join(f"{r.path} {r.error} {r.request_excerpt} {r.response_excerpt}" for r in rows)
    for secret in (SECRET, token, "whsec_1234567890", "c2lnbmF0dXJl"):
        assert secret not in dump
    assert "[redacted]" in rows[2].path and "page=2" in rows[2].path and "nextToken=abc" in rows[2].path
    assert "/v1/me" in rows[1].path and "테스트 상점" in rows[1].response_excerpt


def test_learning_an_authorization_header_hides_the_token_not_the_scheme_word() -> None:
    redact = Redactor()
    redact.learn_headers({"Authorization": "Bearer tok_0123456789abcdef", "Accept": "application/json"})
    assert redact('{"token_type": "Bearer", "echo": "tok_0123456789abcdef"}') == (
        '{"token_type": "Bearer", "echo": "[redacted]"}'
    )


def test_redactor_patterns() -> None:
    redact = Redactor(["hunter2-secret"])
    assert redact('{"clientSecret": "abc", "name": "x"}') == '{"clientSecret": "[redacted]", "name": "x"}'
    assert redact("Authorization: Bearer abcdefghijklmnopqrstuvwxyz") == "Authorization: [redacted]"
    assert redact(
        "CEA algorithm=HmacSHA256, access-key=AK123, signed-date=250115T093000Z, signature=deadbeef"
    ) == ("CEA algorithm=HmacSHA256, access-key=[redacted], signed-date=250115T093000Z, signature=[redacted]")
    assert redact("/a?x=1&password=p&api_key=k") == "/a?x=1&password=[redacted]&api_key=[redacted]"
    assert redact("said hunter2-secret twice: hunter2-secret") == "said [redacted] twice: [redacted]"
    assert redact("nextToken=abc&pageToken=def") == "nextToken=abc&pageToken=def"
