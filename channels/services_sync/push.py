"""The stock push (stock-dirty SKUs, exposure rules, bundles; the hourly reconciliation) and the
product push (names, prices, sale state the catalog marked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Product, Sku, SkuChange
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelError,
    ChannelRequestError,
)
from channels.crypto import CredentialsUnreadable
from channels.http import adapter_for
from channels.models import ChannelAccount, Listing, SyncJob
from channels.services_accounts import (
    channel_account_record_ok,
    sync_job_finish,
    sync_job_start,
)
from channels.services_sync.common import (
    PRODUCT_PUSH_LOCK,
    STOCK_LOCK_TTL,
    STOCK_LOCK_WAIT,
    STOCK_PUSH_LOCK,
    STOCK_STEP,
    PushOutcome,
    SyncBusy,
    SyncRefused,
    _answers,
    _error_of,
    _item_text,
    _record_failure,
    _require,
    _supports,
    run_lock,
)
from channels.types import ItemResult, ProductUpdate, StockUpdate
from inventory.models import MARK_CLAIMED, StockDirty
from inventory.selectors import available_map
from inventory.services import mark_stock_dirty
from oms.models import User

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

    def send_all(self, by_account: Mapping[int, Sequence[tuple[Listing, Any]]], call: Any) -> set[int]:
        """Send each account's (listing, update) pairs and record the answers; the SKU ids to
        keep marked: those of listings left unsent or failed in a way worth retrying."""
        keep: set[int] = set()
        for account_id, items in by_account.items():
            run = self.accounts[account_id]
            answered, unsent = self.send(run, items, call)
            keep |= {listing.sku_id for listing in unsent if listing.sku_id is not None}
            keep |= self._record(run, answered)
        return keep

    def _record(self, run: _AccountRun, answered: list[tuple[Listing, Any, ItemResult]]) -> set[int]:
        raise NotImplementedError

    @staticmethod
    def _failed(
        run: _AccountRun, listing: Listing, result: ItemResult, now: datetime, keep: set[int]
    ) -> None:
        """A refused item: its reason on the listing and in the job; a retryable one stays marked."""
        listing.push_error, listing.push_error_at = _push_error(result), now
        run.failed_items.append(
            ItemResult(key=str(listing), ok=False, code=result.code, message=result.message)
        )
        if result.retryable and listing.sku_id is not None:
            keep.add(listing.sku_id)

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
        return self.send_all(by_account, lambda adapter, updates: adapter.push_stock(updates))

    def _record(self, run: _AccountRun, answered: list[tuple[Listing, StockUpdate, ItemResult]]) -> set[int]:
        now = timezone.now()
        keep: set[int] = set()
        for listing, update, result in answered:
            if result.ok:
                listing.last_pushed_quantity, listing.last_pushed_at = update.quantity, now
                listing.push_error, listing.push_error_at = "", None
                run.pushed += 1
            else:
                self._failed(run, listing, result, now, keep)
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


def _claim_marks(model: type[StockDirty] | type[SkuChange], *, after: int, claim: bool) -> list[int]:
    """The next STOCK_STEP marked SKU ids above `after`; with `claim` they are set to
    MARK_CLAIMED and committed before the caller reads any quantity, so a change committed
    later either finds no mark (and inserts one) or a claimed one (and re-marks it): it is
    never lost to the clear, whether or not its writer rewrites an unclaimed mark. Rows are
    locked in SKU order, as the writers lock them."""
    with transaction.atomic():
        marks = model.objects.filter(sku_id__gt=after).order_by("sku_id")
        if claim:
            marks = marks.select_for_update()
        sku_ids = list(marks.values_list("sku_id", flat=True)[:STOCK_STEP])
        if claim and sku_ids:
            model.objects.filter(sku_id__in=sku_ids).update(marked_at=MARK_CLAIMED)
    return sku_ids


def _clear_marks(model: type[StockDirty] | type[SkuChange], sku_ids: Sequence[int], keep: set[int]) -> None:
    """Delete the claimed marks handled, except those to keep (they stay claimed, i.e. dirty);
    a mark written again since the claim (marked_at no longer MARK_CLAIMED) stays."""
    done = sorted(set(sku_ids) - keep)
    if not done:
        return
    with transaction.atomic():
        claimed = model.objects.filter(sku_id__in=done, marked_at=MARK_CLAIMED)
        locked = list(claimed.order_by("sku_id").select_for_update().values_list("sku_id", flat=True))
        model.objects.filter(sku_id__in=locked, marked_at=MARK_CLAIMED).delete()


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


def _drain_marks(
    model: type[StockDirty] | type[SkuChange],
    *,
    lock_key: str,
    lock_wait: float,
    clear: bool,
    outcome: PushOutcome,
    step: Callable[[list[int]], set[int]],
) -> None:
    """Claim the marks of `model` in SKU order, STOCK_STEP at a time, each step under the lock
    `lock_key`: `step(sku_ids)` pushes those SKUs and returns the marked SKU ids to keep; the
    others are cleared (with `clear`) unless marked again since the claim. Without `clear`
    (one account's push) the marks are only read, left as they are for the other accounts."""
    last = 0
    while True:
        # One step at a time under the lock: the value is read and sent before any other
        # push may read a newer one, so no later value is overtaken by an earlier one.
        with _step_lock(lock_key, first=last == 0, wait=lock_wait) as locked:
            if not locked:
                return
            sku_ids = _claim_marks(model, after=last, claim=clear)
            if not sku_ids:
                return
            last = sku_ids[-1]
            keep = step(sku_ids)
            outcome.kept_dirty += len(keep)
            if clear:
                _clear_marks(model, sku_ids, keep)


def _drain_dirty(run: _StockRun, listings: QuerySet[Listing], *, clear: bool, lock_wait: float) -> None:
    def step(sku_ids: list[int]) -> set[int]:
        sources = _with_bundles(sku_ids)
        targets = list(listings.filter(sku_id__in=list(sources)).order_by("account_id", "pk"))
        kept = run.push_listings(targets)
        return {dirty for sku_id in kept for dirty in sources.get(sku_id, {sku_id})}

    _drain_marks(
        StockDirty, lock_key=STOCK_PUSH_LOCK, lock_wait=lock_wait, clear=clear, outcome=run.outcome, step=step
    )


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
        return self.send_all(by_account, lambda adapter, updates: adapter.push_product(updates))

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
                self._failed(run, listing, result, now, keep)
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

    def step(sku_ids: list[int]) -> set[int]:
        # The SKUs also become stock-dirty, so a sold-out SKU's listings show 0.
        with transaction.atomic():
            mark_stock_dirty(sku_ids)
        return run.push_listings(list(listings.filter(sku_id__in=sku_ids).order_by("account_id", "pk")))

    try:
        _drain_marks(
            SkuChange,
            lock_key=PRODUCT_PUSH_LOCK,
            lock_wait=lock_wait,
            clear=account_id is None,
            outcome=run.outcome,
            step=step,
        )
    except BaseException as exc:
        run.finish(crash=exc)
        raise
    return run.finish()
