"""Writes of the channel sync: order collection, 발주확인 and 발송처리 on the channel, and the
stock and product pushes.

Every run is a SyncJob (channels.services_accounts.sync_job_start / sync_job_finish) with its
counts, duration and the marketplace's reason when it failed; an auth refusal also turns the
account to error (channel_account_record_error), so the dashboard says why. The services never
raise a marketplace's error at their caller: they return an outcome whose `error` is the typed
ChannelError (the Celery tasks re-raise the temporary ones to retry, the commands print the
reason), after storing everything that worked.

Runs of one kind are kept apart by run locks (SyncLock rows: an INSERT the database makes
atomic for every process, on Postgres and on the embedded SQLite alike): one collection per
account, one confirm and one dispatch run per account, and one stock push step at a time over
all accounts (so a later computed quantity is never overtaken by an earlier one).

Stock push rules (DESIGN.md "The stock rules"): the quantity a listing shows is the account's
exposure rule (ChannelAccount.exposed_quantity) applied to the SKU's available-to-sell
(inventory.selectors.available_map, bundles resolved); a SKU that is not on sale or not active
shows 0. StockDirty marks are claimed in SKU order and deleted only when their marked_at is
still exactly what was read, so a SKU marked again meanwhile stays dirty; a rate limit or a
temporary failure keeps the SKU dirty for the next run.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Product, Sku, SkuChange
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
)
from channels.crypto import CredentialsUnreadable
from channels.http import adapter_for
from channels.models import ChannelAccount, Listing, SyncJob
from channels.registry import adapter_class
from channels.services_accounts import (
    ListingSeen,
    channel_account_record_error,
    channel_account_record_ok,
    listing_record_seen,
    sync_job_finish,
    sync_job_start,
)
from channels.sync_models import LineSync, SyncLock
from channels.types import ChannelOrder, Dispatch, ItemResult, OrderRef, ProductUpdate, StockUpdate
from inventory.models import StockDirty
from inventory.selectors import available_map
from inventory.services import mark_stock_dirty
from oms.models import User
from orders.ingest import IngestResult, orders_ingest
from orders.models import LineStatus, Order, OrderLine

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


# --- Order collection -----------------------------------------------------------------------------


def _listings_seen(orders: Iterable[ChannelOrder]) -> list[ListingSeen]:
    return [
        ListingSeen(
            external_product_id=line.channel_product_id,
            external_option_id=line.channel_option_id,
            product_name=line.product_name,
            option_text=line.option_text,
            seller_code=line.seller_codes[0] if line.seller_codes else "",
        )
        for order in orders
        for line in order.lines
        if line.channel_product_id
    ]


def _store(account: ChannelAccount, orders: list[ChannelOrder], outcome: CollectOutcome) -> None:
    if not orders:
        return
    outcome.ingest.add(orders_ingest(account=account, orders=orders, source=Order.Source.API))
    listing_record_seen(account=account, items=_listings_seen(orders))


def channel_orders_collect(
    *,
    account_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: User | None = None,
    retry_of: SyncJob | None = None,
) -> CollectOutcome:
    """Collect the orders created or changed on the channel since the account's cursor (less
    COLLECT_OVERLAP), or since `since`, up to now, and store them through orders.ingest
    (idempotent: collecting again creates nothing). Orders are stored in batches as the
    adapter yields them; the cursor moves to `until` only when everything up to it is stored.
    When the adapter skips unreadable items after yielding the good orders, the good ones are
    stored, the items are listed in the job and the cursor stays, so the next run reads them
    again. SyncBusy when a collection of the account is running."""
    account = ChannelAccount.objects.get(pk=account_id)
    _require(account, Capability.COLLECT_ORDERS, _("order collection"))
    now = timezone.now()
    until = until or now
    cursor = account.collect_cursor
    if since is None:
        since = cursor - COLLECT_OVERLAP if cursor else until - FIRST_COLLECT_LOOKBACK
        explicit = False
    else:
        explicit = True
    if timezone.is_naive(since):
        since = timezone.make_aware(since)
    if since >= until:
        raise SyncRefused(_("The start of the collection window must be before its end (now)."))
    with run_lock(f"collect:{account.pk}", ttl=COLLECT_LOCK_TTL) as lock:
        job = sync_job_start(
            account=account,
            kind=SyncJob.Kind.COLLECT,
            params={"since": _local(since), "until": _local(until)},
            retry_of=retry_of,
            actor=actor,
        )
        outcome = CollectOutcome(job=job, since=since, until=until)
        try:
            _collect(account, outcome, lock)
        except BaseException as exc:  # a bug or a lost database still closes the job
            _finish_collect(outcome, crash=exc)
            raise
        if outcome.error is None and not outcome.skipped_items:
            # A back-fill that starts after the cursor would leave a gap behind it: only a
            # window that reaches back to the cursor moves it.
            if not explicit or cursor is None or since <= cursor:
                moved = (
                    ChannelAccount.objects.filter(pk=account.pk)
                    .filter(Q(collect_cursor__isnull=True) | Q(collect_cursor__lt=until))
                    .update(collect_cursor=until)
                )
                outcome.cursor_advanced = bool(moved)
            channel_account_record_ok(account_id=account.pk)
        _finish_collect(outcome)
    return outcome


def _collect(account: ChannelAccount, outcome: CollectOutcome, lock: RunLock) -> None:
    batch: list[ChannelOrder] = []
    try:
        adapter = adapter_for(account, job=outcome.job)
        for order in adapter.fetch_orders(since=outcome.since, until=outcome.until):
            outcome.fetched += 1
            batch.append(order)
            if len(batch) >= INGEST_BATCH:
                _store(account, batch, outcome)
                batch = []
                lock.refresh()
    except (ChannelError, CredentialsUnreadable) as exc:
        # The orders yielded before the failure are complete: keep them.
        _store(account, batch, outcome)
        items = getattr(exc, "items", None)
        if isinstance(exc, ChannelTemporaryError) and isinstance(items, list) and items:
            outcome.skipped_items = [i for i in items if isinstance(i, ItemResult)]
            channel_account_record_error(account_id=account.pk, message=exc.message, auth=False)
        else:
            outcome.error = _record_failure(account, exc)
        return
    _store(account, batch, outcome)


def _finish_collect(outcome: CollectOutcome, *, crash: BaseException | None = None) -> None:
    job, ingest = outcome.job, outcome.ingest
    job.params = {
        **job.params,
        "lines_created": ingest.lines_created,
        "reserved": ingest.reserved,
        "backorder": ingest.backorder,
        "unmapped": ingest.unmapped,
        "cursor_advanced": outcome.cursor_advanced,
    }
    if outcome.skipped_items:
        job.params["skipped_items"] = _item_text(outcome.skipped_items)
    job.save(update_fields=["params"])
    error = ""
    if crash is not None:
        error = _("The collection stopped unexpectedly (%(error)s).") % {"error": type(crash).__name__}
    elif outcome.error is not None:
        error = _error_of(outcome.error)
    sync_job_finish(
        job=job,
        fetched=outcome.fetched,
        created=ingest.orders_created,
        updated=ingest.orders_updated + ingest.lines_updated,
        skipped=ingest.orders_unchanged,
        failed=len(outcome.skipped_items),
        error=error,
    )


# --- 발주확인 and 발송처리 on the channel ---------------------------------------------------------

CONFIRMED_STATES = (LineStatus.CONFIRMED, LineStatus.READY)


def _ref(line: OrderLine) -> OrderRef:
    # No bundle key: an order may span several shipment boxes; the line id names its own.
    return OrderRef(
        external_order_id=line.order.external_order_id,
        external_line_id=line.external_line_id,
        channel_option_id=line.channel_option_id,
    )


def confirm_pending_lines(*, account: ChannelAccount, include_failed: bool = False) -> QuerySet[OrderLine]:
    """The account's lines the OMS confirmed (발주확인) that the channel has not acknowledged:
    never tried, or failed in a way worth trying again (all failures with include_failed).
    Lines that arrived already confirmed on the channel have no confirmed_at and are not here."""
    lines = OrderLine.objects.filter(account=account, confirmed_at__isnull=False).filter(
        Q(status__in=CONFIRMED_STATES) | Q(status=LineStatus.HOLD, status_before_hold__in=CONFIRMED_STATES)
    )
    lines = lines.filter(Q(channel_sync__isnull=True) | Q(channel_sync__confirmed_at__isnull=True))
    if not include_failed:
        lines = lines.filter(
            Q(channel_sync__isnull=True)
            | Q(channel_sync__confirm_error="")
            | Q(channel_sync__confirm_retryable=True, channel_sync__confirm_attempts__lt=AUTO_ATTEMPTS)
        )
    return lines


def dispatch_pending_lines(*, account: ChannelAccount, include_failed: bool = False) -> QuerySet[OrderLine]:
    """Lines whose 발송처리 was asked for and has not reached the channel."""
    lines = OrderLine.objects.filter(
        account=account,
        channel_sync__dispatch_requested_at__isnull=False,
        channel_sync__dispatched_at__isnull=True,
    ).exclude(status__in=[LineStatus.CANCELLED, LineStatus.CANCEL_REQUESTED])
    if not include_failed:
        lines = lines.filter(
            Q(channel_sync__dispatch_error="")
            | Q(channel_sync__dispatch_retryable=True, channel_sync__dispatch_attempts__lt=AUTO_ATTEMPTS)
        )
    return lines


def _sync_rows(account: ChannelAccount, lines: Sequence[OrderLine]) -> dict[int, LineSync]:
    """The LineSync rows of these lines, made where missing (locked, in line order)."""
    ids = sorted(line.pk for line in lines)
    LineSync.objects.bulk_create([LineSync(line_id=pk, account=account) for pk in ids], ignore_conflicts=True)
    return {
        row.line_id: row
        for row in LineSync.objects.filter(line_id__in=ids).order_by("pk").select_for_update()
    }


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


def _line_outcome(line: OrderLine, result: ItemResult, *, already: bool = False) -> LineOutcome:
    return LineOutcome(
        line_id=line.pk,
        external_line_id=line.external_line_id,
        ok=result.ok,
        code=result.code,
        message=result.message,
        retryable=result.retryable,
        already=already,
    )


def _batch_failure(lines: Sequence[OrderLine], exc: ChannelError) -> list[ItemResult]:
    """A whole batch refused: each line carries the marketplace's reason."""
    retryable = isinstance(exc, ChannelTemporaryError | ChannelRateLimited)
    code = exc.code or (f"HTTP {exc.status}" if exc.status else type(exc).__name__)
    return [
        ItemResult(
            key=line.external_line_id, ok=False, code=code, message=_error_of(exc), retryable=retryable
        )
        for line in lines
    ]


@transaction.atomic
def _record_confirms(
    account: ChannelAccount, lines: Sequence[OrderLine], results: Sequence[ItemResult]
) -> None:
    rows = _sync_rows(account, lines)
    now = timezone.now()
    for line, result in zip(lines, results, strict=True):
        row = rows[line.pk]
        row.confirm_attempts = min(row.confirm_attempts + 1, 32767)
        row.confirm_tried_at = now
        if result.ok:
            row.confirmed_at, row.confirm_error, row.confirm_code, row.confirm_retryable = now, "", "", False
        else:
            row.confirm_error = (result.message or _("Refused without a reason."))[:500]
            row.confirm_code = result.code[:100]
            row.confirm_retryable = result.retryable
    LineSync.objects.bulk_update(
        rows.values(),
        [
            "confirm_attempts",
            "confirm_tried_at",
            "confirmed_at",
            "confirm_error",
            "confirm_code",
            "confirm_retryable",
        ],
    )


def channel_orders_confirm(
    *,
    account_id: int,
    actor: User | None = None,
    retry_of: SyncJob | None = None,
    include_failed: bool = False,
) -> LinesOutcome:
    """Send 발주확인 to the channel for the lines the OMS confirmed and the channel has not
    acknowledged, in the adapter's batch size. Each line's answer is kept on its LineSync (the
    marketplace's reason when refused); a refusal the marketplace calls retryable is tried again
    by the schedule, any refusal by a retry from the monitor or the command (include_failed).
    Returns None as job when there was nothing to confirm."""
    account = ChannelAccount.objects.get(pk=account_id)
    _require(account, Capability.CONFIRM_ORDERS, _("order confirmation"))
    with run_lock(f"confirm:{account.pk}", ttl=WRITE_LOCK_TTL, wait=5.0):
        pending = confirm_pending_lines(account=account, include_failed=include_failed)
        if not pending.exists():
            return LinesOutcome(job=None)
        job = sync_job_start(account=account, kind=SyncJob.Kind.CONFIRM, retry_of=retry_of, actor=actor)
        outcome = LinesOutcome(job=job)
        try:
            _confirm(account, pending, outcome)
        except BaseException as exc:
            _finish_lines(outcome, crash=exc)
            raise
        _finish_lines(outcome)
    return outcome


def _confirm(account: ChannelAccount, pending: QuerySet[OrderLine], outcome: LinesOutcome) -> None:
    assert outcome.job is not None
    try:
        adapter = adapter_for(account, job=outcome.job)
    except (ChannelError, CredentialsUnreadable) as exc:
        outcome.error = _record_failure(account, exc)
        return
    last = 0
    while True:
        lines = list(
            pending.filter(pk__gt=last).select_related("order").order_by("pk")[: adapter.confirm_batch]
        )
        if not lines:
            return
        last = lines[-1].pk
        keys = [line.external_line_id for line in lines]
        try:
            results = _answers(keys, adapter.confirm_orders([_ref(line) for line in lines]))
        except ChannelRequestError as exc:
            results = _batch_failure(lines, exc)
        except (ChannelError, CredentialsUnreadable) as exc:
            outcome.error = _record_failure(account, exc)
            return
        _record_confirms(account, lines, results)
        outcome.lines += [_line_outcome(line, r) for line, r in zip(lines, results, strict=True)]


def _finish_lines(outcome: LinesOutcome, *, crash: BaseException | None = None) -> None:
    job = outcome.job
    if job is None:
        return
    failed = [
        ItemResult(key=line.external_line_id, ok=False, code=line.code, message=line.message)
        for line in outcome.lines
        if not line.ok
    ]
    if failed:
        job.params = {**job.params, "failed_items": _item_text(failed)}
        job.save(update_fields=["params"])
    error = ""
    if crash is not None:
        error = _("The run stopped unexpectedly (%(error)s).") % {"error": type(crash).__name__}
    elif outcome.error is not None:
        error = _error_of(outcome.error)
    sync_job_finish(
        job=job,
        fetched=len(outcome.lines),
        updated=sum(1 for line in outcome.lines if line.ok and not line.already),
        skipped=sum(1 for line in outcome.lines if line.already),
        failed=len(failed),
        error=error,
    )


@dataclass(frozen=True)
class DispatchRequest:
    line: OrderLine
    courier_code: str
    tracking_number: str


@transaction.atomic
def _register_dispatches(
    account: ChannelAccount, requests: Sequence[DispatchRequest]
) -> tuple[list[OrderLine], list[LineOutcome]]:
    """Keep what was asked on each line's LineSync before anything is sent (so a retry sends
    the same), and answer at once for the lines that cannot or need not be sent."""
    answered: list[LineOutcome] = []
    valid: list[DispatchRequest] = []
    for request in requests:
        line = request.line
        courier, tracking = request.courier_code.strip(), request.tracking_number.strip()
        if line.account_id != account.pk:
            answered.append(
                _line_outcome(
                    line,
                    ItemResult(
                        key=line.external_line_id,
                        ok=False,
                        code="OTHER_ACCOUNT",
                        message=_("This line belongs to another channel account."),
                    ),
                )
            )
        elif not courier or not tracking:
            answered.append(
                _line_outcome(
                    line,
                    ItemResult(
                        key=line.external_line_id,
                        ok=False,
                        code="NO_INVOICE",
                        message=_("The courier and the tracking number are both required."),
                    ),
                )
            )
        else:
            valid.append(DispatchRequest(line, courier[:30], tracking[:50]))
    rows = _sync_rows(account, [r.line for r in valid])
    now = timezone.now()
    to_send: list[OrderLine] = []
    changed: list[LineSync] = []
    for request in valid:
        row = rows[request.line.pk]
        same = (row.courier_code, row.tracking_number) == (request.courier_code, request.tracking_number)
        if row.dispatched_at is not None:
            result = (
                ItemResult(key=request.line.external_line_id, ok=True)
                if same
                else ItemResult(
                    key=request.line.external_line_id,
                    ok=False,
                    code="ALREADY_DISPATCHED",
                    message=_(
                        "Already dispatched on the channel under %(courier)s %(number)s; "
                        "change the tracking number on the marketplace itself."
                    )
                    % {"courier": row.courier_code, "number": row.tracking_number},
                )
            )
            answered.append(_line_outcome(request.line, result, already=True))
            continue
        if not same or row.dispatch_requested_at is None:
            row.courier_code, row.tracking_number = request.courier_code, request.tracking_number
            row.dispatch_requested_at = now
            row.dispatch_error, row.dispatch_code, row.dispatch_retryable = "", "", False
            changed.append(row)
        to_send.append(request.line)
    LineSync.objects.bulk_update(
        changed,
        [
            "courier_code",
            "tracking_number",
            "dispatch_requested_at",
            "dispatch_error",
            "dispatch_code",
            "dispatch_retryable",
        ],
    )
    return to_send, answered


@transaction.atomic
def _record_dispatches(
    account: ChannelAccount, lines: Sequence[OrderLine], results: Sequence[ItemResult]
) -> None:
    rows = _sync_rows(account, lines)
    now = timezone.now()
    for line, result in zip(lines, results, strict=True):
        row = rows[line.pk]
        row.dispatch_attempts = min(row.dispatch_attempts + 1, 32767)
        row.dispatch_tried_at = now
        if result.ok:
            row.dispatched_at, row.dispatch_error, row.dispatch_code, row.dispatch_retryable = (
                now,
                "",
                "",
                False,
            )
        else:
            row.dispatch_error = (result.message or _("Refused without a reason."))[:500]
            row.dispatch_code = result.code[:100]
            row.dispatch_retryable = result.retryable
    LineSync.objects.bulk_update(
        rows.values(),
        [
            "dispatch_attempts",
            "dispatch_tried_at",
            "dispatched_at",
            "dispatch_error",
            "dispatch_code",
            "dispatch_retryable",
        ],
    )


def channel_dispatch(
    *,
    account_id: int,
    dispatches: Sequence[tuple[OrderLine, str, str]] = (),
    actor: User | None = None,
    retry_of: SyncJob | None = None,
    include_failed: bool = False,
) -> LinesOutcome:
    """발송처리 on the channel: each (line, courier code, tracking number), the courier code being
    the marketplace's own (CJGLS, HYUNDAI, KGB, ...). One answer per line, in the order given.

    Safe to call again: a line already dispatched on the channel is never sent twice (asked
    again with the same number it is answered as done; with another number it is refused).
    What was asked is kept before sending, so with no `dispatches` the run sends again the
    lines still waiting (those whose failure is retryable; all failed ones with include_failed).

    It calls the marketplace, so call it outside a transaction (after the shipment's commit,
    or from channels.tasks.channel_dispatch_task with line ids)."""
    account = ChannelAccount.objects.get(pk=account_id)
    _require(account, Capability.DISPATCH, _("dispatch"))
    with run_lock(f"dispatch:{account.pk}", ttl=WRITE_LOCK_TTL, wait=DISPATCH_LOCK_WAIT):
        requests = [DispatchRequest(line, courier, number) for line, courier, number in dispatches]
        to_send, answered = _register_dispatches(account, requests)
        if not requests:
            to_send = list(
                dispatch_pending_lines(account=account, include_failed=include_failed).order_by("pk")
            )
        if not to_send and not answered:
            return LinesOutcome(job=None)
        job = sync_job_start(
            account=account,
            kind=SyncJob.Kind.DISPATCH,
            retry_of=retry_of,
            actor=actor,
            params={"lines": len(to_send) + len(answered)},
        )
        outcome = LinesOutcome(job=job)
        sent: dict[int, LineOutcome] = {}
        try:
            _dispatch(account, to_send, outcome, sent)
        except BaseException as exc:
            outcome.lines = answered + list(sent.values())
            _finish_lines(outcome, crash=exc)
            raise
        # Answers in the order asked (the shipping desk shows them next to its rows).
        by_line = {o.line_id: o for o in [*answered, *sent.values()]}
        order = [r.line.pk for r in requests] or [line.pk for line in to_send]
        outcome.lines = [by_line[pk] for pk in dict.fromkeys(order) if pk in by_line]
        _finish_lines(outcome)
    return outcome


def _dispatch(
    account: ChannelAccount, lines: list[OrderLine], outcome: LinesOutcome, sent: dict[int, LineOutcome]
) -> None:
    if not lines:
        return
    assert outcome.job is not None
    try:
        adapter = adapter_for(account, job=outcome.job)
    except (ChannelError, CredentialsUnreadable) as exc:
        outcome.error = _record_failure(account, exc)
        return
    # Lines of one order travel together (Coupang ships a box under one invoice).
    lines = sorted(
        OrderLine.objects.filter(pk__in=[ln.pk for ln in lines]).select_related("order", "channel_sync"),
        key=lambda ln: (ln.order_id, ln.pk),
    )
    now = timezone.now()
    for batch in _chunks(lines, adapter.dispatch_batch):
        keys = [line.external_line_id for line in batch]
        items = [
            Dispatch(
                ref=_ref(line),
                courier_code=line.channel_sync.courier_code,
                tracking_number=line.channel_sync.tracking_number,
                dispatched_at=now,
            )
            for line in batch
        ]
        try:
            results = _answers(keys, adapter.dispatch(items))
        except ChannelRequestError as exc:
            results = _batch_failure(batch, exc)
        except (ChannelError, CredentialsUnreadable) as exc:
            outcome.error = _record_failure(account, exc)
            # Not sent: the lines wait, marked with why, for the retry.
            unsent = [ln for ln in lines if ln.pk not in sent]
            failure = _batch_failure(unsent, outcome.error)
            _record_dispatch_wait(unsent, failure)
            for line, r in zip(unsent, failure, strict=True):
                sent[line.pk] = _line_outcome(line, r)
            return
        _record_dispatches(account, batch, results)
        for line, r in zip(batch, results, strict=True):
            sent[line.pk] = _line_outcome(line, r)


@transaction.atomic
def _record_dispatch_wait(lines: Sequence[OrderLine], results: Sequence[ItemResult]) -> None:
    """Lines a whole-run failure kept from being sent: the reason, without counting an attempt."""
    rows = {
        row.line_id: row
        for row in LineSync.objects.filter(line_id__in=[ln.pk for ln in lines]).select_for_update()
    }
    for line, result in zip(lines, results, strict=True):
        row = rows[line.pk]
        row.dispatch_error, row.dispatch_code, row.dispatch_retryable = (
            result.message[:500],
            result.code[:100],
            result.retryable,
        )
    LineSync.objects.bulk_update(rows.values(), ["dispatch_error", "dispatch_code", "dispatch_retryable"])


# --- Stock push -----------------------------------------------------------------------------------


def pushable_listings(*, account_id: int | None = None, explicit: bool = False) -> QuerySet[Listing]:
    """Listings the stock push keeps current: linked to a SKU, not 재고 연동 제외, on an account
    in use, with credentials and stock push on, that is active (an account in error is left
    alone until someone fixes it, unless the run names it explicitly)."""
    listings = Listing.objects.filter(
        sku__isnull=False,
        stock_sync_excluded=False,
        account__is_active=True,
        account__stock_push_enabled=True,
    ).exclude(account__credentials_encrypted="")
    if account_id is not None:
        listings = listings.filter(account_id=account_id)
    if explicit:
        return listings.exclude(account__status=ChannelAccount.Status.PAUSED)
    return listings.filter(account__status=ChannelAccount.Status.ACTIVE)


@dataclass
class _AccountRun:
    """One account's part of a push run: its job (made when there is something to send), its
    adapter, counts, and whether it stopped (rate limit, outage, auth)."""

    account: ChannelAccount
    kind: str
    actor: User | None
    retry_of: SyncJob | None
    job: SyncJob | None = None
    adapter: ChannelAdapter | None = None
    considered: int = 0
    pushed: int = 0
    skipped: int = 0
    failed_items: list[ItemResult] = field(default_factory=list)
    error: ChannelError | None = None

    def start(self) -> ChannelAdapter:
        if self.adapter is None:
            self.job = sync_job_start(
                account=self.account, kind=self.kind, retry_of=self.retry_of, actor=self.actor
            )
            self.adapter = adapter_for(self.account, job=self.job)
        return self.adapter


class _PushRun:
    """State shared by the steps of one stock or product push."""

    def __init__(
        self, *, kind: str, capability: Capability, actor: User | None, retry_of: SyncJob | None, force: bool
    ) -> None:
        self.kind, self.capability, self.actor, self.retry_of, self.force = (
            kind,
            capability,
            actor,
            retry_of,
            force,
        )
        self.accounts: dict[int, _AccountRun] = {}
        self.outcome = PushOutcome()

    def account_run(self, account: ChannelAccount) -> _AccountRun:
        run = self.accounts.get(account.pk)
        if run is None:
            run = self.accounts[account.pk] = _AccountRun(account, self.kind, self.actor, self.retry_of)
        return run

    def send(
        self,
        run: _AccountRun,
        items: Sequence[tuple[Listing, Any]],
        call: Any,
        batch_size: int | None = None,
    ) -> tuple[list[tuple[Listing, Any, ItemResult]], list[Listing]]:
        """Send (listing, update) pairs through `call(adapter, updates)` in batches. Returns the
        answered triples and the listings left unsent by a stop (rate limit, outage, auth)."""
        if run.error is not None:
            return [], [listing for listing, _u in items]
        try:
            adapter = run.start()
        except (ChannelError, CredentialsUnreadable) as exc:
            run.error = _record_failure(run.account, exc)
            return [], [listing for listing, _u in items]
        answered: list[tuple[Listing, Any, ItemResult]] = []
        pairs = list(items)
        size = batch_size or adapter.stock_batch
        for start in range(0, len(pairs), max(1, size)):
            batch = pairs[start : start + size]
            keys = [self.key_of(listing) for listing, _u in batch]
            try:
                results = _answers(keys, call(adapter, [u for _l, u in batch]))
            except ChannelRequestError as exc:
                code = exc.code or (f"HTTP {exc.status}" if exc.status else "REFUSED")
                results = [ItemResult(key=k, ok=False, code=code, message=_error_of(exc)) for k in keys]
            except (ChannelError, CredentialsUnreadable) as exc:
                run.error = _record_failure(run.account, exc)
                return answered, [listing for listing, _u in pairs[start:]]
            answered += [(listing, u, r) for (listing, u), r in zip(batch, results, strict=True)]
        return answered, []

    @staticmethod
    def key_of(listing: Listing) -> str:
        return listing.external_option_id or listing.external_product_id

    def finish(self, *, crash: BaseException | None = None) -> PushOutcome:
        outcome = self.outcome
        for run in self.accounts.values():
            outcome.considered += run.considered
            outcome.pushed += run.pushed
            outcome.skipped += run.skipped
            outcome.failed += len(run.failed_items)
            if run.error is not None:
                outcome.errors.append((run.account.name, run.error))
            if run.job is None:
                continue
            if run.failed_items:
                run.job.params = {**run.job.params, "failed_items": _item_text(run.failed_items)}
                run.job.save(update_fields=["params"])
            error = _error_of(run.error) if run.error is not None else ""
            if crash is not None and not error:
                error = _("The push stopped unexpectedly (%(error)s).") % {"error": type(crash).__name__}
            sync_job_finish(
                job=run.job,
                fetched=run.considered,
                updated=run.pushed,
                skipped=run.skipped,
                failed=len(run.failed_items),
                error=error,
            )
            if run.error is None and crash is None:
                channel_account_record_ok(account_id=run.account.pk)
            outcome.jobs.append(run.job)
        return outcome


def _sellable_ids(sku_ids: Iterable[int]) -> set[int]:
    """SKUs that may be sold at all: active and on sale (a sold-out or discontinued one shows 0)."""
    return set(
        Sku.objects.filter(pk__in=set(sku_ids), is_active=True, status=Product.Status.ON_SALE).values_list(
            "pk", flat=True
        )
    )


class _StockRun(_PushRun):
    def push_listings(self, listings: Sequence[Listing]) -> set[int]:
        """Push the exposed quantity to each listing whose last pushed value differs (all with
        force). Returns the SKU ids to keep dirty: those of listings left unsent or failed in a
        way worth retrying."""
        sku_ids = {listing.sku_id for listing in listings if listing.sku_id is not None}
        available = available_map(sku_ids)
        sellable = _sellable_ids(sku_ids)
        by_account: dict[int, list[tuple[Listing, StockUpdate]]] = defaultdict(list)
        for listing in listings:
            assert listing.sku_id is not None
            run = self.account_run(listing.account)
            run.considered += 1
            if not _supports(listing.account, Capability.PUSH_STOCK):
                run.skipped += 1
                continue
            quantity = (
                listing.account.exposed_quantity(available.get(listing.sku_id, 0))
                if listing.sku_id in sellable
                else 0
            )
            if listing.last_pushed_quantity == quantity and not self.force:
                run.skipped += 1
                continue
            by_account[listing.account_id].append(
                (
                    listing,
                    StockUpdate(
                        channel_product_id=listing.external_product_id,
                        channel_option_id=listing.external_option_id,
                        quantity=quantity,
                    ),
                )
            )
        keep: set[int] = set()
        for account_id, items in by_account.items():
            run = self.accounts[account_id]
            answered, unsent = self.send(run, items, lambda adapter, updates: adapter.push_stock(updates))
            keep |= {listing.sku_id for listing in unsent if listing.sku_id is not None}
            keep |= self._record(run, answered)
        return keep

    def _record(self, run: _AccountRun, answered: list[tuple[Listing, StockUpdate, ItemResult]]) -> set[int]:
        now = timezone.now()
        keep: set[int] = set()
        for listing, update, result in answered:
            if result.ok:
                listing.last_pushed_quantity, listing.last_pushed_at = update.quantity, now
                listing.push_error, listing.push_error_at = "", None
                run.pushed += 1
            else:
                listing.push_error = _push_error(result)
                listing.push_error_at = now
                run.failed_items.append(
                    ItemResult(key=str(listing), ok=False, code=result.code, message=result.message)
                )
                if result.retryable and listing.sku_id is not None:
                    keep.add(listing.sku_id)
        Listing.objects.bulk_update(
            [listing for listing, _u, _r in answered],
            ["last_pushed_quantity", "last_pushed_at", "push_error", "push_error_at", "updated_at"],
        )
        return keep


def _push_error(result: ItemResult) -> str:
    reason = result.message or _("Refused without a reason.")
    return (f"{reason} ({result.code})" if result.code else reason)[:500]


def _with_bundles(sku_ids: Iterable[int]) -> dict[int, set[int]]:
    """{SKU to push: the dirty SKUs it depends on}: each dirty SKU, and every bundle that
    contains a dirty component."""
    sources: dict[int, set[int]] = {sku_id: {sku_id} for sku_id in sku_ids}
    for bundle_id, component_id in BundleItem.objects.filter(component_id__in=list(sources)).values_list(
        "bundle_id", "component_id"
    ):
        sources.setdefault(bundle_id, set()).add(component_id)
    return sources


def _clear_marks(
    model: type[StockDirty] | type[SkuChange], rows: Sequence[tuple[int, datetime]], keep: set[int]
) -> None:
    """Delete the marks read, except those to keep and those marked again since they were read
    (their marked_at changed: equality, not order, so no clock skew between writers can lose
    a newer mark)."""
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for sku_id, marked_at in rows:
        if sku_id not in keep:
            by_time[marked_at].append(sku_id)
    for marked_at, sku_ids in by_time.items():
        model.objects.filter(sku_id__in=sku_ids, marked_at=marked_at).delete()


def _check_account(account_id: int, *, what: str, capability: Capability) -> ChannelAccount:
    account = ChannelAccount.objects.get(pk=account_id)
    _require(account, capability, what)
    if not account.is_active:
        raise SyncRefused(_("%(name)s is no longer in use.") % {"name": account.name})
    if account.status == ChannelAccount.Status.PAUSED:
        raise SyncRefused(_("%(name)s is paused. Resume it first.") % {"name": account.name})
    return account


def channel_stock_push(
    *,
    account_id: int | None = None,
    full: bool = False,
    force: bool = False,
    actor: User | None = None,
    retry_of: SyncJob | None = None,
    lock_wait: float = STOCK_LOCK_WAIT,
) -> PushOutcome:
    """Push the new exposed quantity of every stock-dirty SKU (and of the bundles made of them)
    to their listings, skipping listings whose last pushed value is equal (all are sent with
    `force`), then clear the marks that were fully handled.

    full=True is the reconciliation: every linked listing, dirty or not (repairs drift: a mark
    lost, a push that failed for good, a listing never pushed). With `account_id` only that
    account is pushed and the dirty marks stay for the others (SyncRefused when it is paused,
    without stock push or without the API for it).

    Each step waits up to `lock_wait` seconds for the push lock; SyncBusy when the first step
    cannot have it (another push is running and will do the work), a later step that cannot
    simply ends the run."""
    if account_id is not None:
        account = _check_account(account_id, what=_("stock push"), capability=Capability.PUSH_STOCK)
        if not account.stock_push_enabled:
            raise SyncRefused(_("Stock push is turned off for %(name)s.") % {"name": account.name})
    run = _StockRun(
        kind=SyncJob.Kind.RECONCILE if full else SyncJob.Kind.STOCK_PUSH,
        capability=Capability.PUSH_STOCK,
        actor=actor,
        retry_of=retry_of,
        force=force,
    )
    listings = pushable_listings(account_id=account_id, explicit=account_id is not None).select_related(
        "account"
    )
    try:
        if full:
            _reconcile(run, listings, lock_wait=lock_wait)
        else:
            _drain_dirty(run, listings, clear=account_id is None, lock_wait=lock_wait)
    except BaseException as exc:
        run.finish(crash=exc)
        raise
    return run.finish()


@contextmanager
def _step_lock(key: str, *, first: bool, wait: float) -> Iterator[bool]:
    """The lock for one step of a push; yields False (do nothing, stop) when a later step finds
    another run holding it: that run carries on with the rest."""
    try:
        with run_lock(key, ttl=STOCK_LOCK_TTL, wait=wait):
            yield True
    except SyncBusy:
        if first:
            raise
        yield False


def _drain_dirty(run: _StockRun, listings: QuerySet[Listing], *, clear: bool, lock_wait: float) -> None:
    last = 0
    while True:
        # One step at a time under the lock: the quantity is read and sent before any other
        # push may read a newer one, so no later value is overtaken by an earlier one.
        with _step_lock(STOCK_PUSH_LOCK, first=last == 0, wait=lock_wait) as locked:
            if not locked:
                return
            rows = list(
                StockDirty.objects.filter(sku_id__gt=last)
                .order_by("sku_id")
                .values_list("sku_id", "marked_at")[:STOCK_STEP]
            )
            if not rows:
                return
            last = rows[-1][0]
            sources = _with_bundles(sku_id for sku_id, _m in rows)
            targets = list(listings.filter(sku_id__in=list(sources)).order_by("account_id", "pk"))
            kept = run.push_listings(targets)
            keep = {dirty for sku_id in kept for dirty in sources.get(sku_id, {sku_id})}
            run.outcome.kept_dirty += len(keep)
            if clear:
                _clear_marks(StockDirty, rows, keep)


def _reconcile(run: _StockRun, listings: QuerySet[Listing], *, lock_wait: float) -> None:
    last = 0
    while True:
        with _step_lock(STOCK_PUSH_LOCK, first=last == 0, wait=lock_wait) as locked:
            if not locked:
                return
            step = list(listings.filter(pk__gt=last).order_by("pk")[:STOCK_STEP])
            if not step:
                return
            last = step[-1].pk
            kept = run.push_listings(step)
            if kept:
                # A listing that could not be repaired now is pushed by the next drain.
                mark_stock_dirty(kept)


# --- Product push ---------------------------------------------------------------------------------


class _ProductRun(_PushRun):
    def push_listings(self, listings: Sequence[Listing]) -> set[int]:
        """Send price and sale state changes (and a name override the channel does not show);
        returns the SKU ids to keep marked."""
        skus = {
            s.pk: s
            for s in Sku.objects.filter(pk__in={ln.sku_id for ln in listings}).select_related("product")
        }
        on_sale = _product_on_sale(listings)
        by_account: dict[int, list[tuple[Listing, ProductUpdate]]] = defaultdict(list)
        for listing in listings:
            run = self.account_run(listing.account)
            run.considered += 1
            sku = skus.get(listing.sku_id or 0)
            if sku is None or not _supports(listing.account, Capability.PUSH_PRODUCT):
                run.skipped += 1
                continue
            price = listing.price_override or max(0, sku.product.sale_price + sku.extra_price)
            sale = on_sale[(listing.account_id, listing.external_product_id)]
            name = (
                listing.name_override
                if listing.name_override and listing.name_override != listing.product_name
                else None
            )
            update = ProductUpdate(
                channel_product_id=listing.external_product_id,
                channel_option_id=listing.external_option_id,
                name=name,
                price=price if (price != listing.last_pushed_price or self.force) else None,
                base_price=sku.product.sale_price,
                on_sale=sale if (sale != (listing.status == Listing.Status.ON_SALE) or self.force) else None,
            )
            if update.name is None and update.price is None and update.on_sale is None:
                run.skipped += 1
                continue
            by_account[listing.account_id].append((listing, update))
        keep: set[int] = set()
        for account_id, items in by_account.items():
            run = self.accounts[account_id]
            answered, unsent = self.send(run, items, lambda adapter, updates: adapter.push_product(updates))
            keep |= {listing.sku_id for listing in unsent if listing.sku_id is not None}
            keep |= self._record(run, answered)
        return keep

    def _record(
        self, run: _AccountRun, answered: list[tuple[Listing, ProductUpdate, ItemResult]]
    ) -> set[int]:
        now = timezone.now()
        keep: set[int] = set()
        for listing, update, result in answered:
            if result.ok:
                if update.price is not None:
                    listing.last_pushed_price = update.price
                if update.on_sale is not None:
                    listing.status = Listing.Status.ON_SALE if update.on_sale else Listing.Status.SUSPENDED
                listing.last_pushed_at = now
                listing.push_error, listing.push_error_at = "", None
                run.pushed += 1
            else:
                listing.push_error, listing.push_error_at = _push_error(result), now
                run.failed_items.append(
                    ItemResult(key=str(listing), ok=False, code=result.code, message=result.message)
                )
                if result.retryable and listing.sku_id is not None:
                    keep.add(listing.sku_id)
        Listing.objects.bulk_update(
            [listing for listing, _u, _r in answered],
            ["last_pushed_price", "status", "last_pushed_at", "push_error", "push_error_at", "updated_at"],
        )
        return keep


def _product_on_sale(listings: Sequence[Listing]) -> dict[tuple[int, str], bool]:
    """Sale state per (account, channel product): on sale while any of its linked options'
    SKUs is sellable. A single sold-out option shows 0 stock (the stock push) rather than
    stopping the whole channel product, which some marketplaces can only do product-wide."""
    keys = {(ln.account_id, ln.external_product_id) for ln in listings}
    siblings = Listing.objects.filter(
        account_id__in={k[0] for k in keys},
        external_product_id__in={k[1] for k in keys},
        sku__isnull=False,
    ).values_list("account_id", "external_product_id", "sku_id")
    members: dict[tuple[int, str], set[int]] = defaultdict(set)
    for account_id, product_id, sku_id in siblings:
        if (account_id, product_id) in keys:
            members[(account_id, product_id)].add(sku_id)
    sellable = _sellable_ids(s for ids in members.values() for s in ids)
    return {key: bool(members.get(key, set()) & sellable) for key in keys}


def channel_product_push(
    *,
    account_id: int | None = None,
    force: bool = False,
    actor: User | None = None,
    retry_of: SyncJob | None = None,
    lock_wait: float = STOCK_LOCK_WAIT,
) -> PushOutcome:
    """Drain the SKUs whose name, price or sale state changed (catalog.models.SkuChange) to the
    listings of accounts whose adapter can push products, like the stock push drains stock:
    marks claimed in SKU order, deleted only if not marked again, kept on a retryable failure.
    The SKUs also become stock-dirty, so a sold-out SKU's listings show 0."""
    if account_id is not None:
        _check_account(account_id, what=_("product push"), capability=Capability.PUSH_PRODUCT)
    run = _ProductRun(
        kind=SyncJob.Kind.PRODUCT_PUSH,
        capability=Capability.PUSH_PRODUCT,
        actor=actor,
        retry_of=retry_of,
        force=force,
    )
    listings = pushable_listings(account_id=account_id, explicit=account_id is not None).select_related(
        "account"
    )
    last = 0
    try:
        while True:
            with _step_lock(PRODUCT_PUSH_LOCK, first=last == 0, wait=lock_wait) as locked:
                if not locked:
                    break
                rows = list(
                    SkuChange.objects.filter(sku_id__gt=last)
                    .order_by("sku_id")
                    .values_list("sku_id", "marked_at")[:STOCK_STEP]
                )
                if not rows:
                    break
                last = rows[-1][0]
                sku_ids = [sku_id for sku_id, _m in rows]
                with transaction.atomic():
                    mark_stock_dirty(sku_ids)
                targets = list(listings.filter(sku_id__in=sku_ids).order_by("account_id", "pk"))
                keep = run.push_listings(targets)
                run.outcome.kept_dirty += len(keep)
                if account_id is None:
                    _clear_marks(SkuChange, rows, keep)
    except BaseException as exc:
        run.finish(crash=exc)
        raise
    return run.finish()


# --- What the schedule has to do ------------------------------------------------------------------


def accounts_with_pending_writes() -> list[tuple[int, bool, bool]]:
    """(account id, has lines to confirm, has dispatches to send) for every account the schedule
    syncs, whose adapter confirms or dispatches and that has something waiting."""
    out = []
    accounts = ChannelAccount.objects.filter(is_active=True, status=ChannelAccount.Status.ACTIVE).exclude(
        credentials_encrypted=""
    )
    for account in accounts.order_by("pk"):
        confirm = (
            _supports(account, Capability.CONFIRM_ORDERS) and confirm_pending_lines(account=account).exists()
        )
        dispatch = (
            _supports(account, Capability.DISPATCH) and dispatch_pending_lines(account=account).exists()
        )
        if confirm or dispatch:
            out.append((account.pk, confirm, dispatch))
    return out
