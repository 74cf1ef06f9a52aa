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
shows 0. StockDirty marks are claimed in SKU order (marked_at := MARK_CLAIMED, committed) before
the quantities are read, and afterwards deleted only if still claimed, so a SKU marked again
meanwhile stays dirty; a rate limit or a temporary failure keeps the SKU dirty for the next run.

The workflows live in one module each: common (locks, outcomes, helpers), collect, lines
(발주확인 / 발송처리) and push (stock, product). Import from this package: every name other apps
use is re-exported here.
"""

from channels.services_sync.collect import channel_orders_collect
from channels.services_sync.common import (
    COLLECT_OVERLAP,
    FIRST_COLLECT_LOOKBACK,
    INGEST_BATCH,
    PRODUCT_PUSH_LOCK,
    STOCK_PUSH_LOCK,
    CollectOutcome,
    LineOutcome,
    LinesOutcome,
    PushOutcome,
    RunLock,
    SyncBusy,
    SyncRefused,
    run_lock,
)
from channels.services_sync.lines import (
    DispatchRequest,
    accounts_with_pending_writes,
    channel_dispatch,
    channel_orders_confirm,
    confirm_pending_lines,
    dispatch_pending_lines,
)
from channels.services_sync.push import channel_product_push, channel_stock_push, pushable_listings

__all__ = [
    "COLLECT_OVERLAP",
    "FIRST_COLLECT_LOOKBACK",
    "INGEST_BATCH",
    "PRODUCT_PUSH_LOCK",
    "STOCK_PUSH_LOCK",
    "CollectOutcome",
    "DispatchRequest",
    "LineOutcome",
    "LinesOutcome",
    "PushOutcome",
    "RunLock",
    "SyncBusy",
    "SyncRefused",
    "accounts_with_pending_writes",
    "channel_dispatch",
    "channel_orders_collect",
    "channel_orders_confirm",
    "channel_product_push",
    "channel_stock_push",
    "confirm_pending_lines",
    "dispatch_pending_lines",
    "pushable_listings",
    "run_lock",
]
