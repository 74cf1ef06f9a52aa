"""Per-account token buckets shared by every worker process.

With REDIS_URL set the bucket lives in Redis and one Lua script refills and takes a token
atomically, on Redis's own clock. The embedded default (SQLite, no Redis) keeps one RateBucket
row per key and updates it under a row lock (an IMMEDIATE transaction on SQLite), which every
process on the machine shares the same way.

Taking a token is a reservation: a caller that finds the bucket empty still takes its token
(the count goes below zero) and is told how long to wait, so waiting callers are served in
arrival order with one round trip each. A caller whose wait would exceed its bound takes
nothing and is told the wait instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class Reservation:
    granted: bool
    wait: float  # seconds until the token may be used (granted), or until one would be free


class Bucket(Protocol):
    def reserve(self, key: str, *, rate: float, burst: float, max_wait: float) -> Reservation: ...

    def penalize(self, key: str, *, rate: float, burst: float, seconds: float) -> None:
        """Empty the bucket so that no caller gets a token for `seconds` (a 429 with Retry-After
        tells every worker of the account to hold off, not only the one that got it)."""


class RateLimitExceeded(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(f"rate limit: next token in {wait:.1f}s")


# --- Redis ------------------------------------------------------------------------------------

_REFILL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
"""

_STORE = """
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
"""

RESERVE_SCRIPT = (
    _REFILL
    + """
local max_wait = tonumber(ARGV[3])
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
end
if wait > max_wait then
  return {0, tostring(wait)}
end
tokens = tokens - 1
"""
    + _STORE
    + """
return {1, tostring(wait)}
"""
)

PENALIZE_SCRIPT = (
    _REFILL
    + """
local floor = 1 - (tonumber(ARGV[3]) * rate)
if tokens > floor then
  tokens = floor
end
"""
    + _STORE
    + """
return 1
"""
)


class RedisBucket:
    def __init__(self, client: Any, *, prefix: str = "oms:ratelimit:") -> None:
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._penalize = client.register_script(PENALIZE_SCRIPT)

    def reserve(self, key: str, *, rate: float, burst: float, max_wait: float) -> Reservation:
        granted, wait = self._reserve(keys=[self.prefix + key], args=[rate, burst, max_wait])
        return Reservation(granted=bool(int(granted)), wait=max(0.0, float(wait)))

    def penalize(self, key: str, *, rate: float, burst: float, seconds: float) -> None:
        self._penalize(keys=[self.prefix + key], args=[rate, burst, seconds])


@lru_cache(maxsize=4)
def _redis_bucket(url: str) -> RedisBucket:
    import redis

    return RedisBucket(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))


# --- Database (embedded default) ----------------------------------------------------------------


def _refill(tokens: float, updated: float, now: float, *, rate: float, burst: float) -> float:
    return min(burst, tokens + max(0.0, now - updated) * rate)


class DatabaseBucket:
    """One RateBucket row per key, read and written under a row lock. On SQLite the
    IMMEDIATE transaction takes the database write lock at BEGIN, which serialises the
    processes the same way."""

    def _locked(self, key: str, burst: float) -> Any:
        from channels.models import RateBucket

        # get_or_create on a select_for_update queryset: the row comes back locked, whether it
        # was found or made (a concurrent creator's insert makes this one wait, then read it).
        row, _created = RateBucket.objects.select_for_update().get_or_create(
            key=key, defaults={"tokens": burst, "updated": time.time()}
        )
        return row

    def reserve(self, key: str, *, rate: float, burst: float, max_wait: float) -> Reservation:
        with transaction.atomic():
            row = self._locked(key, burst)
            now = time.time()
            tokens = _refill(row.tokens, row.updated, now, rate=rate, burst=burst)
            wait = (1 - tokens) / rate if tokens < 1 else 0.0
            if wait > max_wait:
                return Reservation(granted=False, wait=wait)
            row.tokens, row.updated = tokens - 1, now
            row.save(update_fields=["tokens", "updated"])
            return Reservation(granted=True, wait=wait)

    def penalize(self, key: str, *, rate: float, burst: float, seconds: float) -> None:
        with transaction.atomic():
            row = self._locked(key, burst)
            now = time.time()
            tokens = _refill(row.tokens, row.updated, now, rate=rate, burst=burst)
            row.tokens, row.updated = min(tokens, 1 - seconds * rate), now
            row.save(update_fields=["tokens", "updated"])


def shared_bucket() -> Bucket:
    """Redis when REDIS_URL is set, else the database."""
    url = getattr(settings, "REDIS_URL", "")
    if url:
        return _redis_bucket(url)
    return DatabaseBucket()


def default_burst(rate: float) -> float:
    """A bucket holds one second's worth of calls (at least one)."""
    return max(1.0, float(rate))


def acquire(
    key: str,
    *,
    rate: float,
    burst: float | None = None,
    max_wait: float = 30.0,
    bucket: Bucket | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until the bucket `key` grants a token; returns the seconds waited. Raises
    RateLimitExceeded (having taken nothing) when the wait would be longer than max_wait."""
    if rate <= 0:
        return 0.0
    found = (bucket or shared_bucket()).reserve(
        key, rate=rate, burst=burst if burst is not None else default_burst(rate), max_wait=max_wait
    )
    if not found.granted:
        raise RateLimitExceeded(found.wait)
    if found.wait > 0:
        sleep(found.wait)
    return found.wait
