"""What every channel sync workflow shares: its constants, the run outcomes and errors, the
run locks (SyncLock rows) and small helpers.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters.base import (
    Capability,
    ChannelAuthError,
    ChannelError,
)
from channels.crypto import CredentialsUnreadable
from channels.models import ChannelAccount, SyncJob
from channels.registry import adapter_class
from channels.services_accounts import (
    channel_account_record_error,
)
from channels.sync_models import SyncLock
from channels.types import ItemResult
from orders.ingest import IngestResult

logger = logging.getLogger("channels.sync")

# Each collection re-reads this much before its cursor: marketplaces index a change a little
# after it happens, and late changes (an address changed minutes after payment) are caught.
COLLECT_OVERLAP = timedelta(minutes=10)
# The first collection of an account (no cursor yet) reads this far back.
FIRST_COLLECT_LOOKBACK = timedelta(days=3)
# Orders stored per ingestion transaction while a collection streams them in.
INGEST_BATCH = 200
# Dirty SKUs (or listings, for the reconciliation) handled per locked step of a stock push.
STOCK_STEP = 200
# Failed 발주확인 / 발송처리 the schedule tries again on its own (retryable failures only);
# anything else waits for someone to retry it from the sync monitor or the command.
AUTO_ATTEMPTS = 5
# Lock lifetimes: longer than a run (or a step) can take; a killed worker's lock expires.
COLLECT_LOCK_TTL = timedelta(minutes=20)
WRITE_LOCK_TTL = timedelta(minutes=10)
STOCK_LOCK_TTL = timedelta(minutes=5)
# How long a run waits for the lock before giving up (the schedule comes again anyway).
STOCK_LOCK_WAIT = 10.0
DISPATCH_LOCK_WAIT = 60.0
ITEMS_SHOWN = 50  # failed items listed in a job's parameters

STOCK_PUSH_LOCK = "stock_push"
PRODUCT_PUSH_LOCK = "product_push"


# --- Errors and outcomes ------------------------------------------------------------------------


class SyncRefused(Exception):
    """The run was not started (an account paused, without API, a bad time window); nothing was
    written. str() is for people."""


class SyncBusy(SyncRefused):
    """Another run of the same kind holds the lock."""


@dataclass
class CollectOutcome:
    job: SyncJob
    since: datetime
    until: datetime
    fetched: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    skipped_items: list[ItemResult] = field(default_factory=list)
    cursor_advanced: bool = False
    error: ChannelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.skipped_items


@dataclass(frozen=True)
class LineOutcome:
    """The channel's answer for one order line (발주확인 or 발송처리)."""

    line_id: int
    external_line_id: str
    ok: bool
    code: str = ""
    message: str = ""
    retryable: bool = False
    already: bool = False  # done before; nothing was sent this time


@dataclass
class LinesOutcome:
    job: SyncJob | None
    lines: list[LineOutcome] = field(default_factory=list)
    error: ChannelError | None = None

    @property
    def done(self) -> int:
        return sum(1 for line in self.lines if line.ok)

    @property
    def failed(self) -> int:
        return sum(1 for line in self.lines if not line.ok)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed


@dataclass
class PushOutcome:
    """A stock or product push over one or more accounts: one job per account that had
    something to send."""

    jobs: list[SyncJob] = field(default_factory=list)
    considered: int = 0
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    kept_dirty: int = 0
    errors: list[tuple[str, ChannelError]] = field(default_factory=list)  # (account name, error)

    @property
    def error(self) -> ChannelError | None:
        return self.errors[0][1] if self.errors else None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed


# --- Run locks ---------------------------------------------------------------------------------


class RunLock:
    def __init__(self, key: str, token: str, ttl: timedelta) -> None:
        self.key, self.token, self.ttl = key, token, ttl

    def refresh(self) -> None:
        """Push the expiry further out (a long collection calls this as it goes)."""
        SyncLock.objects.filter(key=self.key, token=self.token).update(expires_at=timezone.now() + self.ttl)


def _lock_take(key: str, token: str, ttl: timedelta) -> bool:
    now = timezone.now()
    SyncLock.objects.filter(key=key, expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            SyncLock.objects.create(key=key, token=token, expires_at=now + ttl)
    except IntegrityError:
        return False
    return True


@contextmanager
def run_lock(key: str, *, ttl: timedelta, wait: float = 0.0) -> Iterator[RunLock]:
    """Hold the run lock `key` for the block; SyncBusy when another run holds it for longer
    than `wait` seconds."""
    token = secrets.token_hex(16)
    deadline = time.monotonic() + wait
    while not _lock_take(key, token, ttl):
        if time.monotonic() >= deadline:
            raise SyncBusy(
                _("Another run of this kind is still going (%(key)s); try again shortly.") % {"key": key}
            )
        time.sleep(0.05)
    try:
        yield RunLock(key, token, ttl)
    finally:
        SyncLock.objects.filter(key=key, token=token).delete()


# --- Shared helpers ---------------------------------------------------------------------------


def _supports(account: ChannelAccount, capability: Capability) -> bool:
    cls = adapter_class(account.marketplace)
    return cls is not None and capability in cls.capabilities


def _require(account: ChannelAccount, capability: Capability, what: str) -> None:
    if not _supports(account, capability):
        raise SyncRefused(
            _("%(name)s (%(marketplace)s) has no API for %(what)s; use the Excel way instead.")
            % {"name": account.name, "marketplace": account.get_marketplace_display(), "what": what}
        )


def _record_failure(account: ChannelAccount, exc: ChannelError | CredentialsUnreadable) -> ChannelError:
    """Note a whole-run failure on the account (auth turns it to error) and return it typed."""
    if isinstance(exc, CredentialsUnreadable):
        exc = ChannelAuthError(str(exc))
    channel_account_record_error(
        account_id=account.pk, message=exc.message, auth=isinstance(exc, ChannelAuthError)
    )
    return exc


def _item_text(items: Sequence[ItemResult]) -> str:
    shown = "; ".join(
        f"{item.key}: {item.message}" + (f" ({item.code})" if item.code else "")
        for item in items[:ITEMS_SHOWN]
    )
    more = len(items) - ITEMS_SHOWN
    return shown + (f" (+{more})" if more > 0 else "")


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _local(moment: datetime) -> str:
    """A time as the sync monitor shows it: local (Korean) time to the second."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def _error_of(exc: ChannelError) -> str:
    return exc.message or type(exc).__name__


def _answers(keys: Sequence[str], results: Sequence[ItemResult]) -> list[ItemResult]:
    """One answer per key, in order; a key the adapter did not answer is a retryable failure."""
    if len(results) == len(keys) and all(r.key == k for r, k in zip(results, keys, strict=True)):
        return list(results)
    by_key = {r.key: r for r in results}
    missing = ItemResult(
        key="",
        ok=False,
        code="NO_ANSWER",
        message=_("The marketplace did not answer for this item."),
        retryable=True,
    )
    return [by_key.get(k, missing) for k in keys]
