"""발송처리: boxes with tracking numbers go back to their channels, and their lines leave stock.

For each box ready to dispatch (open, or packed only when asked; a courier and a tracking number)
its items not yet sent are grouped by the channel account of their line:
- accounts whose adapter can dispatch and that have credentials go through
  channels.services_sync.channel_dispatch (outside any transaction: it calls the marketplace);
  each answer is recorded on its ShipmentItem (SENT / FAILED with the marketplace's reason), and
  the lines answered ok are shipped by orders.services.order_lines_ship (READY -> SHIPPED and
  the reservation consumed, a SHIP ledger row per SKU x location);
- Excel-only accounts wait for their channel's dispatch sheet (shipping.excel_dispatch); the
  download marks those items EXCEL and ships their lines (dispatch_sheet_mark).
A box becomes SHIPPED when every live item in it is shipped. Partial boxes stay open and show
which items failed; the same service sends only FAILED/WAITING items again (retry), so a run
repeated (a double click, a redelivered task) sends nothing twice and consumes stock once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from channels.services_sync import LineOutcome, SyncRefused, channel_dispatch
from oms.models import Job, User
from oms.services import (
    audit_record,
    audit_record_many,
    job_create,
    job_fail,
    job_progress,
    job_start,
    job_succeed,
)
from orders.models import LineStatus, OrderLine
from orders.services import SHIPPED_STATES, order_lines_ship
from shipping.couriers import tracking_validate
from shipping.lock_objects import lock_shipments
from shipping.models import Courier, Shipment, ShipmentItem, ShipmentStatus, shipment_number
from shipping.selectors_dispatch import (
    DONE,
    TO_SEND,
    account_sends_by_api,
    dispatch_states,
)

Dispatch = ShipmentItem.Dispatch

# Lines per channel_dispatch call (the adapter splits them into the marketplace's own batches);
# also how often the progress bar moves and how much one recording transaction holds.
SEND_CHUNK = 500
# Lines per recording transaction (items, lines shipped, stock consumed, boxes closed).
RECORD_CHUNK = 100
# Runs with more items than this go to the worker as a job; smaller ones run in the request.
INLINE_ITEMS = 200
JOB_KIND = "shipping_dispatch"


class DispatchRefused(Exception):
    """Nothing was done; str() is for the user."""


@dataclass(frozen=True)
class ItemAnswer:
    """What happened to one box item in a run."""

    item_id: int
    shipment_id: int
    line_id: int
    account_id: int
    state: str  # a ShipmentItem.Dispatch value, or "skipped" (not sent this time, with why)
    message: str = ""
    already: bool = False


@dataclass
class DispatchOutcome:
    items: list[ItemAnswer] = field(default_factory=list)
    shipped: list[int] = field(default_factory=list)  # boxes that became SHIPPED
    excel: dict[int, list[int]] = field(default_factory=dict)  # Excel-only account -> item ids
    skipped_boxes: list[tuple[int, str]] = field(default_factory=list)  # (shipment id, why)
    errors: list[str] = field(default_factory=list)  # whole-account failures (auth, busy)

    def _count(self, state: str) -> int:
        return sum(1 for a in self.items if a.state == state)

    @property
    def sent(self) -> int:
        return self._count(Dispatch.SENT)

    @property
    def failed(self) -> int:
        return self._count(Dispatch.FAILED)

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def excel_waiting(self) -> int:
        return sum(len(ids) for ids in self.excel.values())

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "excel_waiting": self.excel_waiting,
            "excel_accounts": sorted(self.excel),
            "shipped_boxes": len(self.shipped),
            "skipped_boxes": len(self.skipped_boxes),
            "errors": self.errors[:20],
        }


# --- Planning ---------------------------------------------------------------------------------------


def _ids(shipments: Iterable[Shipment] | QuerySet[Shipment] | Iterable[int]) -> list[int]:
    if isinstance(shipments, QuerySet):
        return sorted(set(shipments.values_list("pk", flat=True)))
    return sorted({s if isinstance(s, int) else s.pk for s in shipments})


def _box_problem(box: Shipment, *, packed_only: bool) -> str:
    if box.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        return _("Shipped already.")
    if box.status == ShipmentStatus.CANCELLED:
        return _("The shipment is cancelled.")
    if box.courier_id is None or not box.tracking_number:
        return _("No courier or tracking number yet.")
    if box.status not in dispatch_states(packed_only=packed_only):
        return _("Not packed yet (only packed boxes were asked for).")
    return ""


def _line_problem(line: OrderLine) -> str:
    if line.status == LineStatus.READY or line.status in SHIPPED_STATES:
        return ""
    return _("The order line is %(state)s, so it was not dispatched.") % {
        "state": LineStatus(line.status).label
    }


def _plan(
    ids: Sequence[int],
    *,
    packed_only: bool,
    account_ids: set[int] | None,
    outcome: DispatchOutcome,
) -> dict[int, list[ShipmentItem]]:
    """The items to send, per channel account; boxes and lines that cannot go are reported."""
    boxes = {b.pk: b for b in Shipment.objects.filter(pk__in=ids).select_related("courier")}
    eligible = []
    for pk in ids:
        box = boxes.get(pk)
        if box is None:
            continue
        problem = _box_problem(box, packed_only=packed_only)
        if problem:
            outcome.skipped_boxes.append((pk, problem))
        else:
            eligible.append(pk)
    items = (
        ShipmentItem.objects.filter(shipment_id__in=eligible, dispatch_state__in=TO_SEND)
        .select_related("line__order")
        .order_by("pk")
    )
    if account_ids is not None:
        items = items.filter(line__account_id__in=account_ids)
    by_account: dict[int, list[ShipmentItem]] = defaultdict(list)
    held: list[ShipmentItem] = []
    for item in items:
        item.shipment = boxes[item.shipment_id]
        problem = _line_problem(item.line)
        if problem:
            held.append(item)
            outcome.items.append(
                ItemAnswer(item.pk, item.shipment_id, item.line_id, item.line.account_id, "skipped", problem)
            )
            item.dispatch_message = problem[:500]
        else:
            by_account[item.line.account_id].append(item)
    _update_items(held, ["dispatch_message"])
    return by_account


# --- Recording ----------------------------------------------------------------------------------


def _failure_text(answer: LineOutcome) -> str:
    message = answer.message or _("Refused without a reason.")
    if answer.code and answer.code not in message:
        message = f"{message} ({answer.code})"
    return message[:500]


def _update_items(items: Sequence[ShipmentItem], fields: Sequence[str]) -> None:
    """Write these fields of the items: one UPDATE per distinct set of values (a batch's items
    mostly share their answer), rather than bulk_update's per-row CASE."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for item in items:
        groups[tuple(getattr(item, f) for f in fields)].append(item.pk)
    for values, ids in groups.items():
        ShipmentItem.objects.filter(pk__in=ids).update(**dict(zip(fields, values, strict=True)))


def _close_boxes(box_ids: Iterable[int], *, actor: User | None, now: Any) -> list[int]:
    """Boxes whose every live item is shipped become SHIPPED. Call with the boxes locked."""
    ids = sorted(set(box_ids))
    rows = ShipmentItem.objects.filter(shipment_id__in=ids).values_list(
        "shipment_id", "dispatch_state", "line__status"
    )
    done: dict[int, bool] = {}
    for shipment_id, state, line_status in rows:
        if line_status == LineStatus.CANCELLED:
            continue
        finished = state in DONE and line_status in SHIPPED_STATES
        done[shipment_id] = done.get(shipment_id, True) and finished
    closing = list(
        Shipment.objects.filter(pk__in=[pk for pk, ok in done.items() if ok])
        .exclude(status__in=(ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED))
        .order_by("pk")
        .values_list("pk", "status")
    )
    if not closing:
        return []
    Shipment.objects.filter(pk__in=[pk for pk, _status in closing]).update(
        status=ShipmentStatus.SHIPPED, shipped_at=now, updated_at=now
    )
    audit_record_many(
        actor=actor,
        action="shipment.ship",
        model=Shipment,
        entries=[
            (pk, shipment_number(pk), {"status": [status, ShipmentStatus.SHIPPED]}) for pk, status in closing
        ],
    )
    return [pk for pk, _status in closing]


@transaction.atomic
def _record(
    items: Sequence[ShipmentItem],
    answers: dict[int, LineOutcome | str],
    *,
    actor: User | None,
    outcome: DispatchOutcome,
) -> None:
    """The channel's answers on the items, the lines answered ok shipped, full boxes closed:
    one transaction, the boxes locked first (then orders locks the lines, inventory the stock)."""
    lock_shipments({item.shipment_id for item in items})
    fresh = {
        i.pk: i
        for i in ShipmentItem.objects.filter(pk__in=[item.pk for item in items]).select_related("line")
    }
    now = timezone.now()
    ship: list[OrderLine] = []
    changed: list[ShipmentItem] = []
    for planned in items:
        item = fresh.get(planned.pk)
        if item is None:  # the line left the box meanwhile (split or cancelled)
            continue
        answer = answers.get(item.line_id)
        account_id = item.line.account_id
        if isinstance(answer, LineOutcome) and answer.ok:
            if item.dispatch_state != Dispatch.SENT:
                item.dispatched_at = now
            item.dispatch_state = Dispatch.SENT
            item.dispatch_message = _("Dispatched on the channel before.") if answer.already else ""
            ship.append(item.line)
            outcome.items.append(
                ItemAnswer(
                    item.pk,
                    item.shipment_id,
                    item.line_id,
                    account_id,
                    Dispatch.SENT,
                    item.dispatch_message,
                    answer.already,
                )
            )
        elif item.dispatch_state == Dispatch.SENT:
            continue  # another run sent it meanwhile; its answer stands
        else:
            if isinstance(answer, LineOutcome):
                text = _failure_text(answer)
            else:
                text = answer or _("The marketplace did not answer for this item.")
            item.dispatch_state, item.dispatch_message = Dispatch.FAILED, text[:500]
            outcome.items.append(
                ItemAnswer(item.pk, item.shipment_id, item.line_id, account_id, Dispatch.FAILED, text)
            )
        changed.append(item)
    _update_items(changed, ["dispatch_state", "dispatch_message", "dispatched_at"])
    if ship:
        # The note names the way out on the line's history and on the stock ledger's SHIP rows.
        shipped = order_lines_ship(lines=ship, actor=actor, note=_("Dispatched to the channel"))
        stuck = {line.pk: reason for line, reason in shipped.refused if line.status not in SHIPPED_STATES}
        if stuck:
            # Sent to the channel, but the line moved (held, cancel requested) since it was read.
            notes = [i for i in changed if i.line_id in stuck]
            for item in notes:
                item.dispatch_message = (
                    _("Sent to the channel, but not marked shipped here: %(reason)s")
                    % {"reason": stuck[item.line_id]}
                )[:500]
            _update_items(notes, ["dispatch_message"])
    outcome.shipped += _close_boxes({item.shipment_id for item in items}, actor=actor, now=now)


# --- The run -----------------------------------------------------------------------------------------


def _send(
    account: ChannelAccount,
    items: list[ShipmentItem],
    *,
    actor: User | None,
    outcome: DispatchOutcome,
    progress: Callable[[int], None],
) -> None:
    for start in range(0, len(items), SEND_CHUNK):
        chunk = items[start : start + SEND_CHUNK]
        dispatches = []
        for item in chunk:
            courier = item.shipment.courier
            assert courier is not None  # _plan only takes boxes with a courier
            dispatches.append(
                (item.line, courier.code_for(account.marketplace), item.shipment.tracking_number)
            )
        answers: dict[int, LineOutcome | str]
        try:
            result = channel_dispatch(account_id=account.pk, dispatches=dispatches, actor=actor)
        except SyncRefused as exc:  # no API after all, or another dispatch run holds the account
            answers = dict.fromkeys((item.line_id for item in chunk), str(exc))
            if str(exc) not in outcome.errors:
                outcome.errors.append(f"{account.name}: {exc}")
        else:
            answers = {answer.line_id: answer for answer in result.lines}
            if result.error is not None:
                message = f"{account.name}: {result.error.message}"
                if message not in outcome.errors:
                    outcome.errors.append(message)
        # Recorded in smaller transactions: each holds the stock rows of its SKUs locked (a
        # bestseller's row is in nearly every one), and collections reserving stock wait on them.
        for at in range(0, len(chunk), RECORD_CHUNK):
            part = chunk[at : at + RECORD_CHUNK]
            _record(part, answers, actor=actor, outcome=outcome)
            progress(len(part))


def shipments_dispatch(
    *,
    shipments: Iterable[Shipment] | QuerySet[Shipment] | Iterable[int],
    actor: User | None,
    packed_only: bool = False,
    account_ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DispatchOutcome:
    """발송처리 of these boxes (see the module doc). `packed_only` takes only PACKED boxes
    (by default READY and PRINTED go too: sellers often hand boxes over before 검수 is scanned);
    `account_ids` limits the run to items of those channel accounts. `progress(n)` is called as
    items are done. Call it outside a transaction: it talks to the marketplaces."""
    outcome = DispatchOutcome()
    ids = _ids(shipments)
    only = set(account_ids) if account_ids is not None else None
    by_account = _plan(ids, packed_only=packed_only, account_ids=only, outcome=outcome)
    step = progress or (lambda n: None)
    accounts = ChannelAccount.objects.in_bulk(list(by_account))
    for account_id in sorted(by_account, key=lambda pk: accounts[pk].name):
        account, items = accounts[account_id], by_account[account_id]
        if account_sends_by_api(account):
            _send(account, items, actor=actor, outcome=outcome, progress=step)
        else:
            outcome.excel[account_id] = [item.pk for item in items]
            for item in items:
                outcome.items.append(
                    ItemAnswer(item.pk, item.shipment_id, item.line_id, account_id, Dispatch.WAITING)
                )
            step(len(items))
    return outcome


# --- Excel-only channels --------------------------------------------------------------------------


def excel_items(
    *, account: ChannelAccount, shipment_ids: Iterable[int], packed_only: bool = False
) -> QuerySet[ShipmentItem]:
    """Items of an Excel-only account in these boxes that its dispatch sheet would ship now."""
    return ShipmentItem.objects.filter(
        shipment_id__in=list(shipment_ids),
        shipment__status__in=dispatch_states(packed_only=packed_only),
        shipment__courier__isnull=False,
        line__account=account,
        line__status=LineStatus.READY,
        dispatch_state__in=TO_SEND,
    ).exclude(shipment__tracking_number="")


def sheet_items(*, account: ChannelAccount, shipment_ids: Iterable[int]) -> QuerySet[ShipmentItem]:
    """Items of this account in these boxes that went out by the dispatch sheet (what a sheet
    downloaded again holds)."""
    return (
        ShipmentItem.objects.filter(
            shipment_id__in=list(shipment_ids), line__account=account, dispatch_state=Dispatch.EXCEL
        )
        .select_related("shipment__courier", "line__order")
        .order_by("shipment_id", "pk")
    )


@transaction.atomic
def dispatch_sheet_mark(
    *, account: ChannelAccount, shipment_ids: Iterable[int], actor: User | None, packed_only: bool = False
) -> list[int]:
    """The seller downloads an Excel-only channel's dispatch sheet: its items in these boxes are
    EXCEL (dispatched by sheet), their lines SHIPPED with stock consumed, full boxes closed.
    Returns the ids of the items marked now (a second download marks nothing new)."""
    if account_sends_by_api(account):
        raise DispatchRefused(
            _("%(account)s dispatches through its API; use 발송처리 instead of the sheet.")
            % {"account": account.name}
        )
    ids = sorted(set(shipment_ids))
    lock_shipments(ids)
    items = list(excel_items(account=account, shipment_ids=ids).select_related("line").order_by("pk"))
    if not items:
        return []
    shipped = order_lines_ship(
        lines=[item.line for item in items], actor=actor, note=_("Dispatched by the channel's sheet")
    )
    gone = {line.pk for line, _reason in shipped.refused if line.status not in SHIPPED_STATES}
    marked = [item for item in items if item.line_id not in gone]
    now = timezone.now()
    for item in marked:
        item.dispatch_state, item.dispatch_message, item.dispatched_at = Dispatch.EXCEL, "", now
    _update_items(marked, ["dispatch_state", "dispatch_message", "dispatched_at"])
    _close_boxes({item.shipment_id for item in marked}, actor=actor, now=now)
    audit_record(
        actor=actor,
        action="shipment.dispatch_sheet",
        obj=account,
        changes={"items": len(marked), "shipments": len({item.shipment_id for item in marked})},
    )
    return [item.pk for item in marked]


# --- Jobs (the screen's runs) -----------------------------------------------------------------------


def dispatch_result_url(job: Job) -> str:
    return reverse("shipping:dispatch_result", args=[job.pk])


def dispatch_job_shipments(job: Job) -> list[int]:
    return [int(pk) for pk in (job.result or {}).get("shipments", [])]


def dispatch_start(
    *, shipment_ids: Iterable[int], actor: User | None, packed_only: bool = False, retry_of: Job | None = None
) -> Job:
    """Start a dispatch run of these boxes as a job: small runs go at once (in this request),
    bigger ones to the worker with a progress bar. The job keeps the boxes, so its result page
    shows each item's answer, retries, and offers the Excel-only channels' sheets."""
    ids = sorted(set(shipment_ids))
    if not ids:
        raise DispatchRefused(_("Select the shipments to dispatch."))
    pending = ShipmentItem.objects.filter(shipment_id__in=ids, dispatch_state__in=TO_SEND).count()
    if not pending:
        raise DispatchRefused(_("The selected shipments have nothing left to dispatch."))
    title = (_("Dispatch again (%(count)d shipments)") if retry_of else _("Dispatch %(count)d shipments")) % {
        "count": len(ids)
    }
    job = job_create(kind=JOB_KIND, title=title, actor=actor, total=pending)
    params: dict[str, Any] = {"shipments": ids, "packed_only": packed_only}
    if retry_of is not None:
        params["retry_of"] = retry_of.pk
    Job.objects.filter(pk=job.pk).update(result=params, result_url=dispatch_result_url(job))
    job.result = params
    if pending <= INLINE_ITEMS:
        dispatch_run(job_id=job.pk, actor=actor)
        job.refresh_from_db()
        return job
    from shipping.tasks import shipments_dispatch_task

    transaction.on_commit(
        partial(
            shipments_dispatch_task.delay, job_id=job.pk, actor_id=actor.pk if actor is not None else None
        )
    )
    return job


def dispatch_run(*, job_id: int, actor: User | None) -> DispatchOutcome | None:
    """Run a started dispatch job (in the request or in the worker). A finished job is left
    alone; a job a killed worker left running is run again, which sends nothing twice."""
    job = Job.objects.get(pk=job_id)
    if job.is_finished:
        return None
    params = dict(job.result or {})
    ids = dispatch_job_shipments(job)
    job_start(job_id=job_id, total=job.total)
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done = min(job.total, done + count) if job.total else 0
        job_progress(job_id=job_id, done=done, message=_("Sending to the channels"))

    try:
        outcome = shipments_dispatch(
            shipments=ids, actor=actor, packed_only=bool(params.get("packed_only")), progress=progress
        )
    except Exception as exc:
        job_fail(
            job_id=job_id,
            message=_("The dispatch stopped unexpectedly (%(error)s).") % {"error": type(exc).__name__},
            result=params,
        )
        raise
    summary = outcome.as_dict()
    message = _("Sent %(sent)d, failed %(failed)d, waiting for an Excel sheet %(excel)d.") % {
        "sent": summary["sent"],
        "failed": summary["failed"],
        "excel": summary["excel_waiting"],
    }
    job_succeed(
        job_id=job_id, result={**params, **summary}, message=message, result_url=dispatch_result_url(job)
    )
    return outcome


# --- Tracking-number correction --------------------------------------------------------------------


@dataclass
class TrackingCorrection:
    shipment: Shipment
    changed: bool
    # What the user must still do on the marketplaces (Korean when the UI is), one per account.
    notices: list[str] = field(default_factory=list)


@transaction.atomic
def shipment_correct_tracking(
    *, shipment: Shipment, courier: Courier, number: str, actor: User | None
) -> TrackingCorrection:
    """Change a box's courier and tracking number, also after dispatch.

    Items not yet sent go out under the new number on the next dispatch. None of the adapters
    (Naver, Coupang, sandbox) offers a call that changes a tracking number after 발송처리 (a new
    dispatch with another number is refused by each of them), so for items already on their
    channel the box is corrected here and the notice tells the user, per account, to change it
    in that marketplace's seller centre too. Raises TrackingNumberInvalid or DispatchRefused."""
    (box,) = lock_shipments([shipment.pk])
    if box.status == ShipmentStatus.CANCELLED:
        raise DispatchRefused(_("The shipment is cancelled."))
    number = tracking_validate(courier=courier, number=number)
    clash = (
        Shipment.objects.filter(tracking_number=number, courier=courier)
        .exclude(pk=box.pk)
        .exclude(status=ShipmentStatus.CANCELLED)
        .exclude(recipient_name=box.recipient_name, address=box.address)
        .first()
    )
    if clash is not None:
        raise DispatchRefused(
            _("Tracking number %(number)s is already used by shipment %(other)s for another recipient.")
            % {"number": number, "other": clash.number}
        )
    if (box.courier_id, box.tracking_number) == (courier.pk, number):
        return TrackingCorrection(shipment=box, changed=False)
    old = (box.courier.name if box.courier else "", box.tracking_number)
    box.courier, box.tracking_number = courier, number
    box.save(update_fields=["courier", "tracking_number", "updated_at"])
    audit_record(
        actor=actor,
        action="shipment.correct_tracking",
        obj=box,
        changes={"courier": [old[0], courier.name], "tracking_number": [old[1], number]},
    )
    sent: dict[int, list[ShipmentItem]] = defaultdict(list)
    for item in box.items.filter(dispatch_state__in=DONE).select_related("line__account").order_by("pk"):
        sent[item.line.account_id].append(item)
    notices = []
    for items in sent.values():
        account = items[0].line.account
        notices.append(
            _(
                "%(account)s already has %(count)d item(s) of this box dispatched under %(old)s; change the "
                "tracking number to %(number)s in that marketplace's seller centre too (line no. %(lines)s)."
            )
            % {
                "account": account.name,
                "count": len(items),
                "old": f"{old[0]} {old[1]}".strip(),
                "number": f"{courier.name} {number}",
                "lines": ", ".join(item.line.external_line_id for item in items[:10]),
            }
        )
    return TrackingCorrection(shipment=box, changed=True, notices=notices)
