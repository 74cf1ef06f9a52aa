"""The requests.Session every adapter gets: `session_for(account)`.

It adds, to every call the adapter makes:
- the adapter's timeout when the call gives none (a call never waits forever);
- the account's rate limit, one token bucket shared by every worker (channels.ratelimit);
- retries with exponential backoff and jitter on 429 (honouring Retry-After, seconds or an
  HTTP date, up to a cap; a 429 also holds back the account's other workers), and on 5xx,
  connection errors and timeouts for idempotent methods (POST/PUT/PATCH only when the caller
  marks the call retry-safe);
- a CallLog row per HTTP call, with every secret redacted: credential values of the account,
  Authorization and other secret-named headers, tokens, signatures and secret-named fields in
  the URL, form or JSON bodies.

Exhausted retries on a status answer return the last response, so the adapter turns the
marketplace's own error body into a typed error (`channel_error_for` helps); exhausted retries
on a timeout or connection error raise ChannelTemporaryError.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from channels.adapters.base import (
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
    Unsupported,
)
from channels.crypto import CredentialsUnreadable, decrypt_credentials
from channels.ratelimit import Bucket, RateLimitExceeded, acquire, default_burst, shared_bucket
from channels.registry import adapter_class
from channels.types import AccountConfig

if TYPE_CHECKING:
    from channels.models import ChannelAccount, SyncJob

logger = logging.getLogger("channels.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
EXCERPT_CHARS = 2000
REDACTED = "[redacted]"


# --- Retry policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 4
    backoff_base: float = 0.5  # seconds; doubles per failed try
    backoff_cap: float = 20.0
    retry_after_cap: float = 30.0  # a longer Retry-After is handed back to the caller
    rate_wait_max: float = 30.0  # longest wait for a rate-limit token before giving up

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            max_tries=int(getattr(settings, "OMS_CHANNEL_HTTP_MAX_TRIES", cls.max_tries)),
            backoff_base=float(getattr(settings, "OMS_CHANNEL_HTTP_BACKOFF", cls.backoff_base)),
            backoff_cap=float(getattr(settings, "OMS_CHANNEL_HTTP_BACKOFF_CAP", cls.backoff_cap)),
            retry_after_cap=float(getattr(settings, "OMS_CHANNEL_HTTP_RETRY_AFTER_CAP", cls.retry_after_cap)),
            rate_wait_max=float(getattr(settings, "OMS_CHANNEL_HTTP_RATE_WAIT_MAX", cls.rate_wait_max)),
        )

    def backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: between half and all of base x 2^(failures-1)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after_seconds(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110). None when absent or bad."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _retryable_status(status: int) -> bool:
    return status >= 500 and status != 501


# --- Redaction --------------------------------------------------------------------------------

# Field, parameter and header names whose values are secrets wherever they appear.
_SECRET_WORDS = "|".join(
    [
        "secret",
        "token",
        "passw(?:or)?d",
        "signature",
        "_sign",
        "api[_-]?key",
        "access[_-]?key",
        "openapikey",
        "authorization",
        "credential",
    ]
)
# Paging tokens and the token type are not secrets: keep them readable in the call log.
_SECRET_NAME = (
    rf"(?!(?:(?:next|page|continuation)[_-]?token|token[_-]?type)\b)[\w.-]*(?:{_SECRET_WORDS})[\w.-]*"
)
_JSON_FIELD = re.compile(rf'("{_SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_PAIR = re.compile(rf"((?:^|(?<=[?&;,\s\"'(])){_SECRET_NAME}=)[^&;,\s#\"')]*", re.IGNORECASE)
_HEADER_LINE = re.compile(rf"^({_SECRET_NAME}\s*:\s*).*$", re.IGNORECASE | re.MULTILINE)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
_SECRET_HEADER = re.compile(rf"^{_SECRET_NAME}$", re.IGNORECASE)


class Redactor:
    """Removes secrets from text. Knows the account's credential values, and learns the tokens
    and header secrets it sees on the way (so a token echoed back later is removed too)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self.learn(secrets)

    def learn(self, values: Iterable[str]) -> None:
        found = set()
        for value in values:
            value = (value or "").strip()
            if len(value) < 4:  # too short to be a secret worth hiding, and would blot out text
                continue
            found |= {value, quote(value, safe=""), quote_plus(value)}
        with self._lock:
            self._secrets |= found

    def learn_headers(self, headers: Mapping[str, str]) -> None:
        values = []
        for name, value in headers.items():
            if _SECRET_HEADER.match(name):
                values.append(value)
                # The credential after a scheme word ("Bearer <token>"); not the scheme word itself.
                values.extend(p for p in re.split(r"[\s,]+", value) if "=" not in p and len(p) >= 8)
                pairs = re.findall(r"([\w-]+)=([^,\s]+)", value)
                values.extend(v for k, v in pairs if _SECRET_HEADER.match(k))
        self.learn(values)

    def learn_from_text(self, text: str) -> None:
        """Remember the values of secret-named JSON fields (an issued access token)."""
        values = re.findall(rf'"{_SECRET_NAME}"\s*:\s*"((?:[^"\\]|\\.)*)"', text, re.IGNORECASE)
        self.learn(values)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _JSON_FIELD.sub(rf'\1"{REDACTED}"', text)
        text = _HEADER_LINE.sub(rf"\1{REDACTED}", text)
        text = _BEARER.sub(rf"\1 {REDACTED}", text)
        return _PAIR.sub(rf"\1{REDACTED}", text)


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    return f"[{type(body).__name__} body]"


def _response_text(response: requests.Response) -> str:
    # Only the head of a large answer: enough for the excerpt (2,000 characters are at most
    # 8,000 bytes of UTF-8) and for any token in it, without decoding megabytes of orders.
    head = response.content[: EXCERPT_CHARS * 8]
    try:
        return head.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        return head.decode("utf-8", errors="replace")


def _excerpt(text: str, redact: Redactor) -> str:
    # Redact the whole text first: cutting first could leave half a secret for the pattern
    # to miss.
    clean = redact(text)
    return clean if len(clean) <= EXCERPT_CHARS else clean[:EXCERPT_CHARS] + "…"


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- The session ------------------------------------------------------------------------------


class ChannelSession(requests.Session):
    """Rate-limited, retrying, logging session for one account. Use one per thread."""

    def __init__(
        self,
        *,
        account_id: int,
        job_id: int | None = None,
        timeout: tuple[float, float] | float = ChannelAdapter.timeout,
        rate_per_second: float = ChannelAdapter.rate_per_second,
        burst: float | None = None,
        policy: RetryPolicy | None = None,
        redactor: Redactor | None = None,
        bucket: Bucket | None = None,
        log_calls: bool = True,
    ) -> None:
        super().__init__()
        self.account_id = account_id
        self.job_id = job_id
        self.default_timeout = timeout
        self.rate_per_second = rate_per_second
        self.burst = burst if burst is not None else default_burst(rate_per_second)
        self.policy = policy or RetryPolicy.from_settings()
        self.redact = redactor or Redactor()
        self.bucket = bucket or shared_bucket()
        self.log_calls = log_calls
        self.rate_key = f"channel:{account_id}"
        self._local = threading.local()

    # A call marked retry-safe (POST/PUT/PATCH the marketplace treats idempotently).
    @property
    def _force_safe(self) -> bool:
        return bool(getattr(self._local, "force_safe", False))

    def _throttle(self) -> None:
        try:
            acquire(
                self.rate_key,
                rate=self.rate_per_second,
                burst=self.burst,
                max_wait=self.policy.rate_wait_max,
                bucket=self.bucket,
            )
        except RateLimitExceeded as exc:
            raise ChannelRateLimited(
                _("Too many calls to this account queued: the next free slot is in %(seconds)d s.")
                % {"seconds": round(exc.wait)},
                retry_after=exc.wait,
                status=None,
            ) from None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, retry_safe: bool | None = None, **kwargs: Any
    ) -> requests.Response:
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        safe = retry_safe if retry_safe is not None else (verb in IDEMPOTENT_METHODS or self._force_safe)
        tries = max(1, self.policy.max_tries)
        for attempt in range(1, tries + 1):
            self._throttle()
            self._local.attempt = attempt
            try:
                response = super().request(verb, url, *args, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if safe and attempt < tries:
                    time.sleep(self.policy.backoff(attempt))
                    continue
                what = _("timed out") if isinstance(exc, requests.Timeout) else _("could not connect")
                target = self.redact(_path_of(url.decode() if isinstance(url, bytes) else url))
                raise ChannelTemporaryError(
                    _("The marketplace %(what)s after %(tries)d tries: %(method)s %(path)s")
                    % {"what": what, "tries": attempt, "method": verb, "path": target}
                ) from None
            status = response.status_code
            if attempt >= tries:
                return response
            if status == 429:
                wait = retry_after_seconds(response)
                if wait is None:
                    wait = self.policy.backoff(attempt)
                if wait > self.policy.retry_after_cap:
                    return response
                # Every worker of this account holds off, not only this one; the next
                # _throttle() does the waiting.
                self.bucket.penalize(self.rate_key, rate=self.rate_per_second, burst=self.burst, seconds=wait)
                response.close()
                continue
            if _retryable_status(status) and safe:
                wait = retry_after_seconds(response) if status == 503 else None
                if wait is not None and wait > self.policy.retry_after_cap:
                    return response
                response.close()
                time.sleep(wait if wait is not None else self.policy.backoff(attempt))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.redact.learn_headers(dict(request.headers))
        started = time.monotonic()
        attempt = int(getattr(self._local, "attempt", 1))
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as exc:
            self._log(request, None, started, attempt, error=f"{type(exc).__name__}: {exc}")
            raise
        body = "" if kwargs.get("stream") else _response_text(response)
        self.redact.learn_from_text(body)
        self._log(request, response, started, attempt, response_text=body)
        return response

    def _log(
        self,
        request: requests.PreparedRequest,
        response: requests.Response | None,
        started: float,
        attempt: int,
        *,
        error: str = "",
        response_text: str = "",
    ) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        path = self.redact(_path_of(request.url or ""))
        status = response.status_code if response is not None else None
        clean_error = self.redact(error)[:500]
        logger.info(
            "channel call account=%s %s %s -> %s in %d ms%s",
            self.account_id,
            request.method,
            path,
            status if status is not None else "-",
            duration_ms,
            f" ({clean_error})" if clean_error else "",
        )
        if not self.log_calls:
            return
        from channels.models import CallLog

        CallLog.objects.create(
            account_id=self.account_id,
            job_id=self.job_id,
            method=(request.method or "")[:8],
            path=path[:500],
            status=status,
            duration_ms=duration_ms,
            attempt=attempt,
            error=clean_error,
            request_excerpt=_excerpt(_body_text(request.body), self.redact),
            response_excerpt=_excerpt(response_text, self.redact),
        )


@contextmanager
def retry_safe(session: requests.Session) -> Iterator[None]:
    """Mark the POST/PUT/PATCH calls made inside the block as safe to retry (the marketplace
    treats them idempotently: a token request, a query by POST, a stock quantity set). Does
    nothing on a plain requests.Session."""
    if not isinstance(session, ChannelSession):
        yield
        return
    before = session._force_safe
    session._local.force_safe = True
    try:
        yield
    finally:
        session._local.force_safe = before


# --- Errors from responses --------------------------------------------------------------------


def channel_error_for(response: requests.Response, message: str = "") -> ChannelError:
    """The typed error for a failed answer: 401/403 auth, 429 rate limited (with the server's
    hint), 5xx temporary, other 4xx a request error. `message` is the marketplace's reason
    when the adapter has parsed it from the body."""
    status = response.status_code
    reason = message or f"HTTP {status} {response.reason or ''}".strip()
    if status in (401, 403):
        return ChannelAuthError(reason, status=status)
    if status == 429:
        return ChannelRateLimited(reason, retry_after=retry_after_seconds(response), status=status)
    if status >= 500:
        return ChannelTemporaryError(reason, status=status)
    return ChannelRequestError(reason, status=status)


# --- Wiring an account to its adapter -----------------------------------------------------------


@sensitive_variables()
def redactor_for(account: ChannelAccount) -> Redactor:
    try:
        values = list(decrypt_credentials(account.credentials_encrypted).values())
    except CredentialsUnreadable:  # nothing to learn, and nothing of it can be sent either
        values = []
    return Redactor(values)


@sensitive_variables()
def account_config(account: ChannelAccount, adapter_cls: type[ChannelAdapter] | None = None) -> AccountConfig:
    """What the adapter may know of the account: credentials decrypted, only in memory."""
    cls = adapter_cls or adapter_class(account.marketplace)
    base_url = account.base_url or (cls.default_base_url if cls else "")
    return AccountConfig(
        account_id=account.pk,
        marketplace=account.marketplace,
        name=account.name,
        base_url=base_url.rstrip("/"),
        credentials=decrypt_credentials(account.credentials_encrypted),
    )


def session_for(
    account: ChannelAccount,
    *,
    job: SyncJob | None = None,
    adapter_cls: type[ChannelAdapter] | None = None,
    policy: RetryPolicy | None = None,
) -> ChannelSession:
    cls = adapter_cls or adapter_class(account.marketplace) or ChannelAdapter
    return ChannelSession(
        account_id=account.pk,
        job_id=job.pk if job is not None else None,
        timeout=cls.timeout,
        rate_per_second=cls.rate_per_second,
        policy=policy,
        redactor=redactor_for(account),
    )


def adapter_for(
    account: ChannelAccount, *, job: SyncJob | None = None, policy: RetryPolicy | None = None
) -> ChannelAdapter:
    """The account's adapter with its session. Unsupported for Excel-only marketplaces."""
    cls = adapter_class(account.marketplace)
    if cls is None:
        raise Unsupported(_("This marketplace has no API connection; its orders come in by Excel."))
    session = session_for(account, job=job, adapter_cls=cls, policy=policy)
    return cls(account=account_config(account, cls), session=session)
