"""Order collection: a cursor per account, an overlap re-read, orders.ingest (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters.base import (
    Capability,
    ChannelError,
    ChannelTemporaryError,
)
from channels.crypto import CredentialsUnreadable
from channels.http import adapter_for
from channels.models import ChannelAccount, SyncJob
from channels.services_accounts import (
    ListingSeen,
    channel_account_record_error,
    channel_account_record_ok,
    listing_record_seen,
    sync_job_finish,
    sync_job_start,
)
from channels.services_sync.common import (
    COLLECT_LOCK_TTL,
    COLLECT_OVERLAP,
    FIRST_COLLECT_LOOKBACK,
    INGEST_BATCH,
    CollectOutcome,
    RunLock,
    SyncRefused,
    _error_of,
    _item_text,
    _local,
    _record_failure,
    _require,
    run_lock,
)
from channels.types import ChannelOrder, ItemResult
from oms.models import User
from orders.ingest import orders_ingest
from orders.models import Order

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
