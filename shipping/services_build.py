"""Boxes from confirmed lines (출고 생성, 합포장): shipments_build and its job.

The 합포장 key (../shared/channel-specs.md, Normalisation): the channel's own bundle id (Naver
packageNumber, Coupang shipmentBoxId) within its account, else the recipient: name + normalised
phone + normalised address + zip. Lines of one key go into one box; lines of a product marked
합포장 불가 go alone. Lines enter a box and become READY in the same transaction, through
orders.services; a line is in at most one box (ShipmentItem.line is one-to-one, and the lines
are locked in pk order while the boxes are made).

Changing boxes by hand (merge, split, cancel) and pruning cancelled lines out of open boxes live
in shipping.services_boxes; a build prunes first.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from oms.models import Job, User
from oms.services import audit_record_many, job_create, job_fail, job_progress, job_start, job_succeed
from orders.models import LineSku, LineStatus, Order, OrderEvent, OrderLine
from orders.normalize import normalize_address, normalize_phone, normalize_zip
from orders.services import lines_transition
from shipping.couriers import default_courier
from shipping.lock_objects import lock_lines, lock_shipments
from shipping.models import Shipment, ShipmentItem, ShipmentStatus, shipment_number
from shipping.selectors import BUILDABLE_STATES, buildable_lines
from shipping.services_boxes import shipment_prune

S = LineStatus

CHUNK = 2000  # lines per transaction while building
SOLO_PREFIX = "solo:"  # merge_key of a box that must never take other lines
MERGE_KEY_MAX = 400
ADVISORY_NAMESPACE = 61001  # pg_advisory_xact_lock(namespace, key hash) while building


# --- Outcome ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedLine:
    line_id: int
    order_id: int
    external_line_id: str
    reason: str


@dataclass
class BuildOutcome:
    created: list[int] = field(default_factory=list)  # new shipment ids
    joined: dict[int, int] = field(default_factory=dict)  # existing shipment id -> lines added
    lines_boxed: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "joined": len(self.joined),
            "lines": self.lines_boxed,
            "skipped": len(self.skipped),
            "skipped_rows": [
                [s.line_id, s.order_id, s.external_line_id, s.reason] for s in self.skipped[:200]
            ],
        }

    def summary(self) -> str:
        return _(
            "%(created)d shipments created, %(lines)d lines boxed (%(joined)d existing boxes took more), "
            "%(skipped)d lines skipped."
        ) % {
            "created": len(self.created),
            "lines": self.lines_boxed,
            "joined": len(self.joined),
            "skipped": len(self.skipped),
        }


# --- Keys ------------------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return normalize_address(text or "")


def recipient_key(order: Order) -> str:
    """name | phone digits | address (whitespace collapsed) | zip."""
    parts = (
        _collapse(order.recipient_name),
        normalize_phone(order.recipient_phone).digits,
        normalize_address(order.address1, order.address2),
        normalize_zip(order.zip_code).code,
    )
    return "r:" + "|".join(parts)


def merge_key(order: Order, *, across_channels: bool) -> str:
    """The 합포장 key of an order's lines: its account and the channel's bundle id when it has
    one, else its account and recipient; across channels the recipient alone."""
    if across_channels:
        key = "*|" + recipient_key(order)
    elif order.bundle_key.strip():
        key = f"{order.account_id}|b:{order.bundle_key.strip()}"
    else:
        key = f"{order.account_id}|{recipient_key(order)}"
    if len(key) > MERGE_KEY_MAX:
        scope = key.split("|", 1)[0]
        key = f"{scope}|h:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _join_candidates(key: str, account_ids: Iterable[int]) -> list[str]:
    """Keys of open boxes a group may join: its own key and, across channels, the same
    recipient's box of any one account."""
    if not key.startswith("*|"):
        return [key]
    rest = key[2:]
    return [key, *(f"{acct}|{rest}" for acct in sorted(set(account_ids)))]


# --- Building ----------------------------------------------------------------------------------


def _candidates(account: ChannelAccount | None, line_ids: Sequence[int] | None) -> QuerySet[OrderLine]:
    lines = OrderLine.objects.all()
    if account is not None:
        lines = lines.filter(account=account)
    if line_ids is not None:
        lines = lines.filter(pk__in=list(line_ids))
    return lines


def _skip_reasons(
    account: ChannelAccount | None, line_ids: Sequence[int] | None, *, limit: int = 5000
) -> list[SkippedLine]:
    """Lines waiting to be boxed that can't be yet, each with why. Without chosen lines only the
    ones a seller would expect to go (confirmed, or held from confirmed); with chosen lines every
    one that can't go."""
    lines = _candidates(account, line_ids)
    blocked = Q(status__in=BUILDABLE_STATES, shipment_item__isnull=True) & (
        Q(unmapped=True) | Q(backorder=True) | Q(skus__isnull=True)
    )
    held = Q(status=S.HOLD, status_before_hold__in=BUILDABLE_STATES, shipment_item__isnull=True)
    if line_ids is None:
        lines = lines.filter(blocked | held)
    rows = (
        lines.distinct()
        .order_by("pk")
        .values_list(
            "pk",
            "order_id",
            "external_line_id",
            "status",
            "unmapped",
            "backorder",
            "shipment_item__shipment_id",
        )[:limit]
    )
    with_skus = set(
        LineSku.objects.filter(line_id__in=[r[0] for r in rows]).values_list("line_id", flat=True).distinct()
    )
    out = []
    for pk, order_id, ext, status, unmapped, backorder, in_box in rows:
        if in_box:
            reason = _("already in shipment %(number)s") % {"number": shipment_number(in_box)}
        elif status == S.HOLD:
            reason = _("on hold")
        elif status not in BUILDABLE_STATES:
            reason = _("%(state)s: only confirmed lines go into boxes") % {"state": LineStatus(status).label}
        elif unmapped or pk not in with_skus:
            reason = _("needs mapping to a SKU")
        elif backorder:
            reason = _("short of stock")
        else:
            continue
        out.append(SkippedLine(pk, order_id, ext, reason))
    return out


def _eligible(account: ChannelAccount | None, line_ids: Sequence[int] | None) -> QuerySet[OrderLine]:
    return buildable_lines(account=account, line_ids=line_ids)


def _chunks_by_group(rows: Sequence[tuple[int, str]], size: int) -> list[list[int]]:  # rows: (line id, key)
    """Line ids in chunks of about `size`, never splitting one key across chunks (unless one
    key alone is bigger than a chunk)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for pk, key in rows:
        groups[key].append(pk)
    chunks: list[list[int]] = []
    current: list[int] = []
    for ids in groups.values():
        if current and len(current) + len(ids) > size:
            chunks.append(current)
            current = []
        current.extend(ids)
    if current:
        chunks.append(current)
    return chunks


def _snapshot(orders: Sequence[Order]) -> dict[str, str]:
    first = orders[0]
    messages: list[str] = []
    for order in orders:
        message = order.delivery_message.strip()
        if message and message not in messages:
            messages.append(message)
    return {
        "recipient_name": first.recipient_name[:100],
        "recipient_phone": first.recipient_phone[:20],
        "recipient_phone2": first.recipient_phone2[:20],
        "zip_code": first.zip_code[:7],
        "address": normalize_address(first.address1, first.address2)[:500],
        "delivery_message": " / ".join(messages)[:500],
    }


def shipments_build(
    *,
    actor: User | None,
    account: ChannelAccount | None = None,
    across_channels: bool = False,
    line_ids: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildOutcome:
    """출고 생성 (합포장): box every confirmed line that can ship (mapped, fully reserved, not held,
    in no box), one box per 합포장 key, one box per line of a 합포장 불가 product. A group joins an
    existing box of the same key that is still READY without a tracking number. Safe to run
    twice: boxed lines are not candidates any more. `progress(done, total)` after each chunk."""
    outcome = BuildOutcome()
    shipment_prune(actor=actor)
    outcome.skipped = _skip_reasons(account, line_ids)
    rows = list(
        _eligible(account, line_ids)
        .distinct()
        .order_by("pk")
        .values_list(
            "pk",
            "order__account_id",
            "order__bundle_key",
            "order__recipient_name",
            "order__recipient_phone",
            "order__address1",
            "order__address2",
            "order__zip_code",
        )
    )
    keyed = []
    for pk, acct, bundle, name, phone, addr1, addr2, zip_code in rows:
        order = Order(
            account_id=acct,
            bundle_key=bundle,
            recipient_name=name,
            recipient_phone=phone,
            address1=addr1,
            address2=addr2,
            zip_code=zip_code,
        )
        keyed.append((pk, merge_key(order, across_channels=across_channels)))
    total = len(keyed)
    done = 0
    courier = default_courier()
    for chunk in _chunks_by_group(keyed, CHUNK):
        _build_chunk(
            chunk,
            actor=actor,
            across_channels=across_channels,
            courier_id=courier.pk if courier else None,
            into=outcome,
        )
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return outcome


@transaction.atomic
def _build_chunk(
    line_ids: Sequence[int],
    *,
    actor: User | None,
    across_channels: bool,
    courier_id: int | None,
    into: BuildOutcome,
) -> None:
    lines = lock_lines(
        line_ids,
        queryset=OrderLine.objects.filter(status__in=BUILDABLE_STATES, unmapped=False, backorder=False)
        .select_related("order")
        .defer("order__raw", "order__memo"),
    )
    # Read after the lock: a line another build boxed while we waited is in a box now.
    boxed = set(
        ShipmentItem.objects.filter(line_id__in=[ln.pk for ln in lines]).values_list("line_id", flat=True)
    )
    lines = [ln for ln in lines if ln.pk not in boxed]
    if not lines:
        return
    ids = [ln.pk for ln in lines]
    solo = set(
        LineSku.objects.filter(line_id__in=ids, sku__product__no_merge=True).values_list("line_id", flat=True)
    )
    for line in lines:
        if not line.order.recipient_name.strip() or not (line.order.address1 or line.order.address2).strip():
            into.skipped.append(
                SkippedLine(
                    line.pk, line.order_id, line.external_line_id, _("the order has no recipient or address")
                )
            )
    lines = [
        ln
        for ln in lines
        if ln.order.recipient_name.strip() and (ln.order.address1 or ln.order.address2).strip()
    ]

    # Confirmed lines become READY first; only those the state machine moved go into boxes.
    to_ready = [ln for ln in lines if ln.status == S.CONFIRMED]
    moved = (
        lines_transition(lines=to_ready, target=S.READY, actor=actor, note=_("shipment created"))
        if to_ready
        else None
    )
    refused = {ln.pk: why for ln, why in (moved.refused if moved else [])}
    for line in lines:
        if line.pk in refused:
            into.skipped.append(SkippedLine(line.pk, line.order_id, line.external_line_id, refused[line.pk]))
    lines = [ln for ln in lines if ln.pk not in refused]
    if not lines:
        return

    groups: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if line.pk in solo:
            groups[f"{SOLO_PREFIX}{line.pk}"].append(line)
        else:
            groups[merge_key(line.order, across_channels=across_channels)].append(line)

    # Two runs holding different lines of one key must not both make a box for it: the keys
    # are locked too (after the lines, in one order), so the second run finds the first's box.
    _lock_keys(groups)
    # Open boxes of the same key, still READY and without a tracking number, take the group.
    wanted: dict[str, str] = {}
    account_ids = list(ChannelAccount.objects.values_list("pk", flat=True)) if across_channels else []
    for key in groups:
        if key.startswith(SOLO_PREFIX):
            continue
        for candidate in _join_candidates(key, account_ids):
            wanted.setdefault(candidate, key)
    existing: dict[str, Shipment] = {}
    if wanted:
        boxes = lock_shipments(
            Shipment.objects.filter(
                merge_key__in=list(wanted), status=ShipmentStatus.READY, tracking_number=""
            ).values_list("pk", flat=True),
            queryset=Shipment.objects.filter(status=ShipmentStatus.READY, tracking_number=""),
        )
        for box in boxes:  # pk order: the oldest box of a key wins
            key = wanted[box.merge_key]
            existing.setdefault(key, box)

    now = timezone.now()
    new_boxes: list[tuple[Shipment, list[OrderLine]]] = []
    joined: list[tuple[Shipment, list[OrderLine]]] = []
    for key, group in groups.items():
        found = existing.get(key)
        accounts = {ln.account_id for ln in group}
        if found is not None:
            if found.account_id is not None and accounts != {found.account_id}:
                found.account_id = None
                found.merge_key = key
            found.pack_progress = {}
            found.updated_at = now
            joined.append((found, group))
            continue
        box = Shipment(
            account_id=accounts.pop() if len(accounts) == 1 else None,
            merge_key=key,
            status=ShipmentStatus.READY,
            courier_id=courier_id,
            created_by=actor if actor is not None and actor.is_authenticated else None,
            **_snapshot(_orders_of(group)),
        )
        new_boxes.append((box, group))
    Shipment.objects.bulk_create([box for box, _group in new_boxes])
    if joined:
        Shipment.objects.bulk_update(
            [box for box, _group in joined], ["account", "merge_key", "pack_progress", "updated_at"]
        )
    items: list[ShipmentItem] = []
    events: list[OrderEvent] = []
    event_user = actor if actor is not None and actor.is_authenticated else None
    for box, group in [*new_boxes, *joined]:
        number = box.number
        for line in group:
            items.append(ShipmentItem(shipment=box, line=line))
            events.append(
                OrderEvent(
                    order_id=line.order_id,
                    line=line,
                    type=OrderEvent.Type.NOTE,
                    user=event_user,
                    message=_("Packed into shipment %(number)s") % {"number": number},
                    data={"shipment": box.pk},
                )
            )
    ShipmentItem.objects.bulk_create(items)
    OrderEvent.objects.bulk_create(events)
    audit_record_many(
        actor=actor,
        action="shipment.build",
        model=Shipment,
        entries=[
            (box.pk, box.number, {"lines": [ln.pk for ln in group], "new": i < len(new_boxes)})
            for i, (box, group) in enumerate([*new_boxes, *joined])
        ],
    )
    into.created += [box.pk for box, _group in new_boxes]
    for box, group in joined:
        into.joined[box.pk] = into.joined.get(box.pk, 0) + len(group)
    into.lines_boxed += len(items)


def _lock_keys(keys: Iterable[str]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite runs one writing transaction at a time
    numbers = sorted({zlib.crc32(k.encode()) - 2**31 for k in keys if not k.startswith(SOLO_PREFIX)})
    if not numbers:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) "
            "FROM (SELECT k FROM unnest(%s::int[]) AS k ORDER BY k) AS s",
            [ADVISORY_NAMESPACE, numbers],
        )


def _orders_of(group: Sequence[OrderLine]) -> list[Order]:
    seen: dict[int, Order] = {}
    for line in sorted(group, key=lambda ln: ln.pk):
        seen.setdefault(line.order_id, line.order)
    return list(seen.values())


# --- As a job (the desk, for big runs) -------------------------------------------------------

BUILD_JOB_KIND = "shipping.build"
BUILD_JOB_THRESHOLD = 500  # lines; above this the desk runs the build as a job with a progress bar


def build_job_threshold() -> int:
    return int(getattr(settings, "SHIPPING_BUILD_JOB_THRESHOLD", BUILD_JOB_THRESHOLD))


@dataclass(frozen=True)
class BuildStart:
    """What the desk's 출고 생성 button started: the outcome when it ran at once, else the job."""

    outcome: BuildOutcome | None = None
    job: Job | None = None


def shipments_build_start(
    *, actor: User | None, account: ChannelAccount | None = None, across_channels: bool = False
) -> BuildStart:
    """출고 생성 from the desk: at once for a few hundred lines, as a worker job beyond that."""
    total = buildable_lines(account=account).count()
    if total <= build_job_threshold():
        return BuildStart(
            outcome=shipments_build(actor=actor, account=account, across_channels=across_channels)
        )
    from shipping.tasks import shipments_build_task

    with transaction.atomic():
        job = job_create(
            kind=BUILD_JOB_KIND,
            title=_("Making shipments (combined shipping) from %(count)s lines") % {"count": f"{total:,}"},
            actor=actor,
            total=total,
        )
        transaction.on_commit(
            partial(
                shipments_build_task.delay,
                job_id=job.pk,
                actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
                account_id=account.pk if account is not None else None,
                across_channels=across_channels,
            )
        )
    return BuildStart(job=job)


def shipments_build_job(
    *, job_id: int, actor: User | None, account_id: int | None, across_channels: bool
) -> BuildOutcome | None:
    """The worker's side of shipments_build_start. Safe to run twice: a finished job is left
    alone, and lines boxed by a first, interrupted run are not candidates any more."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return None
    account = ChannelAccount.objects.filter(pk=account_id).first() if account_id else None
    job_start(job_id=job_id)

    def progress(done: int, total: int) -> None:
        job_progress(
            job_id=job_id,
            done=min(done, job.total) if job.total else 0,
            message=_("%(done)s of %(total)s lines boxed") % {"done": f"{done:,}", "total": f"{total:,}"},
        )

    try:
        outcome = shipments_build(
            actor=actor, account=account, across_channels=across_channels, progress=progress
        )
    except Exception as exc:
        job_fail(job_id=job_id, message=str(exc) or exc.__class__.__name__)
        raise
    job_succeed(
        job_id=job_id,
        result=outcome.as_dict(),
        message=outcome.summary(),
        result_url=reverse("shipping:desk") + "?status=ready",
    )
    return outcome
