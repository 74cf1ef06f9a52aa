"""The per-account token bucket, on the database (embedded default) and on Redis, measured
across threads and processes: the rate holds for all of them together."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest
from django.db import connection

from channels.ratelimit import DatabaseBucket, RateLimitExceeded, RedisBucket, acquire


def _max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.mark.django_db
def test_database_bucket_grants_the_burst_then_spaces_tokens_at_the_rate(monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr("channels.ratelimit.time", clock)
    bucket = DatabaseBucket()
    waits = [bucket.reserve("t:burst", rate=10, burst=2, max_wait=5).wait for _ in range(4)]
    # Two at once (the burst), then one every 1/10 s, queued in the order asked.
    assert waits == pytest.approx([0, 0, 0.1, 0.2])
    clock.now += 0.25  # the two queued tokens are used up; 0.05 s of refill since
    assert bucket.reserve("t:burst", rate=10, burst=2, max_wait=5).wait == pytest.approx(0.05)
    clock.now += 10  # a long idle refills to the burst, not beyond
    assert [bucket.reserve("t:burst", rate=10, burst=2, max_wait=5).wait for _ in range(3)] == pytest.approx(
        [0, 0, 0.1]
    )


@pytest.mark.django_db
def test_a_wait_longer_than_the_bound_takes_nothing() -> None:
    bucket = DatabaseBucket()
    bucket.reserve("t:bound", rate=1, burst=1, max_wait=5)
    refused = bucket.reserve("t:bound", rate=1, burst=1, max_wait=0.5)
    assert not refused.granted and 0.9 <= refused.wait <= 1.0
    with pytest.raises(RateLimitExceeded):
        acquire("t:bound", rate=1, burst=1, max_wait=0.5, bucket=bucket)
    # Nothing was taken by the refusals: the next caller still waits about a second, not three.
    assert bucket.reserve("t:bound", rate=1, burst=1, max_wait=5).wait <= 1.0


@pytest.mark.django_db
def test_penalize_holds_every_caller_back() -> None:
    bucket = DatabaseBucket()
    bucket.penalize("t:pen", rate=20, burst=5, seconds=0.5)
    assert 0.45 <= bucket.reserve("t:pen", rate=20, burst=5, max_wait=5).wait <= 0.55


@pytest.mark.django_db(transaction=True)
def test_database_bucket_holds_the_rate_across_two_threads() -> None:
    # Each thread has its own database connection, as two worker processes would.
    rate, per_thread = 20.0, 8
    stamps: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(per_thread):
                acquire("t:threads", rate=rate, burst=1, max_wait=10, bucket=DatabaseBucket())
                with lock:
                    stamps.append(time.monotonic())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    elapsed = time.monotonic() - started
    # 16 tokens at 20/s with a burst of 1: at least 15 intervals of 50 ms.
    assert elapsed >= (2 * per_thread - 1) / rate * 0.95
    assert _max_in_window(stamps, 0.25) <= 0.25 * rate + 2


def _redis_worker(url: str, key: str, count: int, rate: float, out: multiprocessing.Queue) -> None:
    import redis

    bucket = RedisBucket(redis.Redis.from_url(url))
    stamps = []
    for _ in range(count):
        acquire(key, rate=rate, burst=1, max_wait=10, bucket=bucket)
        stamps.append(time.time())
    out.put(stamps)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
def test_redis_bucket_holds_the_rate_across_two_processes() -> None:
    import redis

    url = os.environ["REDIS_URL"]
    key = f"t:procs:{os.getpid()}:{time.time_ns()}"
    redis.Redis.from_url(url).delete(f"oms:ratelimit:{key}")
    rate, per_process = 20.0, 10
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_redis_worker, args=(url, key, per_process, rate, out)) for _ in range(2)]
    for p in procs:
        p.start()
    stamps = out.get(timeout=60) + out.get(timeout=60)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(stamps) == 2 * per_process
    # The two processes share one bucket: 20 tokens at 20/s take at least 19 intervals.
    assert max(stamps) - min(stamps) >= (2 * per_process - 1) / rate * 0.95
    assert _max_in_window(stamps, 0.25) <= 0.25 * rate + 2
