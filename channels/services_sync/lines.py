"""발주확인 and 발송처리 on the channel, per order line (LineSync keeps each answer), and what
the schedule has left to send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters.base import (
    Capability,
    ChannelError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelTemporaryError,
)
from channels.crypto import CredentialsUnreadable
from channels.http import adapter_for
from channels.models import ChannelAccount, SyncJob
from channels.services_accounts import (
    sync_job_finish,
    sync_job_start,
)
from channels.services_sync.common import (
    AUTO_ATTEMPTS,
    DISPATCH_LOCK_WAIT,
    WRITE_LOCK_TTL,
    LineOutcome,
    LinesOutcome,
    _answers,
    _chunks,
    _error_of,
    _item_text,
    _record_failure,
    _require,
    _supports,
    run_lock,
)
from channels.sync_models import LineSync
from channels.types import Dispatch, ItemResult, OrderRef
from oms.models import User
from orders.models import LineStatus, OrderLine

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


def _lock_sync_rows(account: ChannelAccount, lines: Sequence[OrderLine]) -> list[int]:
    """Make the lines' missing LineSync rows and lock them all in line order; the line ids."""
    ids = sorted(line.pk for line in lines)
    LineSync.objects.bulk_create([LineSync(line_id=pk, account=account) for pk in ids], ignore_conflicts=True)
    list(LineSync.objects.filter(line_id__in=ids).order_by("pk").select_for_update().values_list("pk"))
    return ids


@transaction.atomic
def _record_answers(
    account: ChannelAccount,
    lines: Sequence[OrderLine],
    results: Sequence[ItemResult],
    *,
    kind: str,
    done: str,
) -> None:
    """One more attempt of `kind` ("confirm" or "dispatch") on each line's LineSync, with the
    channel's answer: done (the `done` time set) or its reason and whether it is worth retrying.
    One UPDATE per distinct answer (a batch is nearly always all ok, or refused as a whole)."""
    _lock_sync_rows(account, lines)
    now = timezone.now()
    groups: dict[tuple[bool, str, str, bool], list[int]] = defaultdict(list)
    for line, result in zip(lines, results, strict=True):
        if result.ok:
            groups[(True, "", "", False)].append(line.pk)
        else:
            error = (result.message or _("Refused without a reason."))[:500]
            groups[(False, error, result.code[:100], result.retryable)].append(line.pk)
    attempts = f"{kind}_attempts"
    for (ok, error, code, retryable), ids in groups.items():
        values: dict[str, Any] = {
            attempts: Least(F(attempts) + 1, Value(32767)),
            f"{kind}_tried_at": now,
            f"{kind}_error": error,
            f"{kind}_code": code,
            f"{kind}_retryable": retryable,
        }
        if ok:
            values[done] = now
        LineSync.objects.filter(line_id__in=ids).update(**values)


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
        _record_answers(account, lines, results, kind="confirm", done="confirmed_at")
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
    changed: list[tuple[int, str, str]] = []
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
            changed.append((row.pk, request.courier_code, request.tracking_number))
        to_send.append(request.line)
    _request_dispatches(changed, now=now)
    return to_send, answered


def _request_dispatches(rows: Sequence[tuple[int, str, str]], *, now: datetime) -> None:
    """(LineSync pk, courier code, tracking number) asked now, the last answer cleared: one
    UPDATE joined to a VALUES list (each row has its own number)."""
    if not rows:
        return
    if connection.vendor != "postgresql":  # SQLite has no column names for a VALUES list
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for row_pk, courier, tracking in rows:
            groups[(courier, tracking)].append(row_pk)
        for (courier, tracking), ids in groups.items():
            LineSync.objects.filter(pk__in=ids).update(
                courier_code=courier,
                tracking_number=tracking,
                dispatch_requested_at=now,
                dispatch_error="",
                dispatch_code="",
                dispatch_retryable=False,
            )
        return
    table = connection.ops.quote_name(LineSync._meta.db_table)
    pk = connection.ops.quote_name(LineSync._meta.pk.attname)
    for start in range(0, len(rows), 1000):
        part = rows[start : start + 1000]
        values = ", ".join(["(%s, %s, %s)"] * len(part))
        params: list[Any] = [value for row in part for value in row]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET courier_code = v.courier, tracking_number = v.tracking, "  # noqa: S608 - identifiers from the model
                "dispatch_requested_at = %s, dispatch_error = '', dispatch_code = '', "
                "dispatch_retryable = false "
                f"FROM (VALUES {values}) AS v(id, courier, tracking) WHERE s.{pk} = v.id::bigint",
                [now, *params],
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
        _record_answers(account, batch, results, kind="dispatch", done="dispatched_at")
        for line, r in zip(batch, results, strict=True):
            sent[line.pk] = _line_outcome(line, r)


@transaction.atomic
def _record_dispatch_wait(lines: Sequence[OrderLine], results: Sequence[ItemResult]) -> None:
    """Lines a whole-run failure kept from being sent: the reason, without counting an attempt."""
    ids = sorted(ln.pk for ln in lines)
    list(LineSync.objects.filter(line_id__in=ids).order_by("pk").select_for_update().values_list("pk"))
    groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
    for line, result in zip(lines, results, strict=True):
        groups[(result.message[:500], result.code[:100], result.retryable)].append(line.pk)
    for (error, code, retryable), line_ids in groups.items():
        LineSync.objects.filter(line_id__in=line_ids).update(
            dispatch_error=error, dispatch_code=code, dispatch_retryable=retryable
        )


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
