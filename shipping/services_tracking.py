"""Tracking numbers (송장번호) on shipments: typed one box at a time or many at once (sheet upload).

The rules, checked the same way for one box and for five thousand:
- the number passes the courier's rule (shipping.couriers.tracking_validate: digits, lengths);
- the box is still open (READY/PRINTED/PACKED) and none of its lines went to the channel yet:
  correcting a number after dispatch belongs to the dispatch workflow;
- a number belongs to one recipient. Another live box (not cancelled) may carry the same number
  only when it goes to the same person (name + normalised phone + address): that is a box the
  courier takes as one parcel. Numbers are compared across couriers, since two couriers never
  hand out the same number to one seller in practice and a repeated number is a typing slip.

All-or-nothing: `shipments_set_tracking_many` writes nothing when any assignment is refused and
raises TrackingRefused listing every problem. Writes are bulk: one UPDATE for the boxes, one
audit row per box and one order-timeline event per line, in batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from oms.models import User
from oms.services import audit_record_many
from orders.models import OrderEvent
from orders.normalize import normalize_address, normalize_phone
from shipping.couriers import TrackingNumberInvalid, tracking_validate
from shipping.models import (
    OPEN_SHIPMENT_STATES,
    Courier,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    shipment_number,
)

# IN (...) lists stay below SQLite's historical 999-parameter limit.
CHUNK = 900
EVENT_BATCH = 2000
DISPATCHED_STATES = (ShipmentItem.Dispatch.SENT, ShipmentItem.Dispatch.EXCEL)

# pg_advisory_xact_lock(class, key) namespace for tracking numbers (any constant of our own).
NUMBER_LOCK_CLASS = 7301

AUDIT_SET = "shipping.tracking_set"
AUDIT_CLEAR = "shipping.tracking_clear"


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Errors and results ---------------------------------------------------------------------------


class TrackingError(ValueError):
    """One box's tracking number was refused; str() is for the user (in their language)."""

    def __init__(self, message: str, *, field: str = "number", shipment_id: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.shipment_id = shipment_id


@dataclass(frozen=True)
class TrackingAssignment:
    """Give `shipment_id` the number `number` of `courier`. `ref` is the caller's handle (a sheet
    row) and comes back with any problem."""

    shipment_id: int
    courier: Courier
    number: object
    ref: Any = None


@dataclass(frozen=True)
class TrackingProblem:
    ref: Any
    shipment_id: int
    field: str  # shipment | courier | number
    message: str


class TrackingRefused(Exception):
    """Some assignments were refused; nothing was written."""

    def __init__(self, problems: Sequence[TrackingProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems[:5]))
        self.problems = list(problems)


@dataclass
class TrackingCheck:
    """What a set of assignments would do: `changes` and `unchanged` (shipment id -> (courier,
    normalised number)), or `problems`. `shipments` holds every box that was read."""

    shipments: dict[int, Shipment] = field(default_factory=dict)
    changes: dict[int, tuple[Courier, str]] = field(default_factory=dict)
    unchanged: dict[int, tuple[Courier, str]] = field(default_factory=dict)
    problems: list[TrackingProblem] = field(default_factory=list)


@dataclass(frozen=True)
class TrackingOutcome:
    changed: list[int]
    unchanged: list[int]


# --- Reading ---------------------------------------------------------------------------------------


def recipient_key(shipment: Shipment) -> tuple[str, str, str]:
    """Who a box goes to, the way a courier sees it: name, phone digits, address (spaces collapsed)."""
    return (
        normalize_address(shipment.recipient_name),
        normalize_phone(shipment.recipient_phone).digits,
        normalize_address(shipment.address),
    )


_FIELDS = ("pk", "status", "courier", "tracking_number", "recipient_name", "recipient_phone", "address")


def _read_shipments(ids: Iterable[int], *, lock: bool) -> dict[int, Shipment]:
    """The boxes (only what the rules read), their couriers attached from one small query."""
    wanted = sorted(set(ids))
    found: dict[int, Shipment] = {}
    couriers = {c.pk: c for c in Courier.objects.all()} if wanted else {}
    for part in _chunks(wanted):
        qs = Shipment.objects.filter(pk__in=part).only(*_FIELDS).order_by("pk")
        if lock:
            qs = qs.select_for_update()
        for shipment in qs:
            if shipment.courier_id:
                shipment.courier = couriers.get(shipment.courier_id)
            found[shipment.pk] = shipment
    return found


def _dispatched_ids(ids: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for part in _chunks(sorted(ids)):
        out.update(
            ShipmentItem.objects.filter(shipment_id__in=part, dispatch_state__in=DISPATCHED_STATES)
            .values_list("shipment_id", flat=True)
            .distinct()
        )
    return out


def _lock_numbers(numbers: Iterable[str]) -> None:
    """Serialise writers of the same number until the transaction ends, so two people typing one
    number for two recipients at the same moment cannot both pass the one-recipient check (the
    number is not on any row yet, so there is no row to lock). Sorted: no deadlocks. SQLite
    runs one writer at a time and needs none."""
    wanted = sorted(set(numbers))
    if not wanted or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(n)) FROM unnest(%s::text[]) AS n ORDER BY n",
            [NUMBER_LOCK_CLASS, wanted],
        )


def _holders(numbers: Sequence[str], exclude: set[int]) -> dict[str, list[Shipment]]:
    """Live boxes outside `exclude` that already carry one of `numbers`."""
    out: dict[str, list[Shipment]] = defaultdict(list)
    for part in _chunks(sorted(set(numbers))):
        qs = (
            Shipment.objects.filter(tracking_number__in=part)
            .exclude(status=ShipmentStatus.CANCELLED)
            .only("pk", "tracking_number", "recipient_name", "recipient_phone", "address", "status")
            .order_by("pk")
        )
        for shipment in qs:
            if shipment.pk not in exclude:
                out[shipment.tracking_number].append(shipment)
    return out


def _status_problem(shipment: Shipment) -> str:
    if shipment.status == ShipmentStatus.CANCELLED:
        return _("%(shipment)s was cancelled; it takes no tracking number.") % {"shipment": shipment.number}
    return _(
        "%(shipment)s has already shipped (%(status)s). Correct its tracking number on the dispatch page."
    ) % {"shipment": shipment.number, "status": shipment.get_status_display()}


def tracking_assignments_check(*, assignments: Sequence[TrackingAssignment], lock: bool) -> TrackingCheck:
    """Check every assignment against the rules without writing (the preview, and the first half
    of every write). With `lock` the boxes are locked (inside the caller's transaction).

    Assignments for the same box must agree: the caller (the sheet upload) reports disagreements
    by row before calling; here a second assignment for a box simply replaces the first."""
    check = TrackingCheck()
    latest: dict[int, TrackingAssignment] = {}
    for assignment in assignments:
        latest[assignment.shipment_id] = assignment
    check.shipments = shipments = _read_shipments(latest, lock=lock)
    dispatched = _dispatched_ids([pk for pk, s in shipments.items() if s.status in OPEN_SHIPMENT_STATES])

    valid: dict[int, tuple[TrackingAssignment, str]] = {}
    for pk, assignment in latest.items():
        shipment = shipments.get(pk)
        if shipment is None:
            check.problems.append(
                TrackingProblem(
                    assignment.ref,
                    pk,
                    "shipment",
                    _("There is no shipment %(shipment)s.") % {"shipment": shipment_number(pk)},
                )
            )
            continue
        courier = assignment.courier
        try:
            number = tracking_validate(courier=courier, number=assignment.number)
        except TrackingNumberInvalid as exc:
            check.problems.append(TrackingProblem(assignment.ref, pk, "number", str(exc)))
            continue
        same = shipment.courier_id == courier.pk and shipment.tracking_number == number
        if same:
            check.unchanged[pk] = (courier, number)
            continue
        if not courier.is_active:
            check.problems.append(
                TrackingProblem(
                    assignment.ref,
                    pk,
                    "courier",
                    _("The courier %(courier)s is not in use. Choose another or turn it on under Couriers.")
                    % {"courier": courier.name},
                )
            )
            continue
        if shipment.status not in OPEN_SHIPMENT_STATES:
            check.problems.append(TrackingProblem(assignment.ref, pk, "shipment", _status_problem(shipment)))
            continue
        if pk in dispatched:
            check.problems.append(
                TrackingProblem(
                    assignment.ref,
                    pk,
                    "shipment",
                    _(
                        "%(shipment)s was already sent to the channel. Correct its tracking number on the "
                        "dispatch page."
                    )
                    % {"shipment": shipment.number},
                )
            )
            continue
        valid[pk] = (assignment, number)

    # One number, one recipient: against the other live boxes and within this batch.
    numbers = {pk: n for pk, (_a, n) in valid.items()}
    numbers.update({pk: n for pk, (_c, n) in check.unchanged.items()})
    if lock:
        _lock_numbers(n for _a, n in valid.values())
    holders = _holders(list(numbers.values()), exclude=set(latest))
    users: dict[str, list[Shipment]] = defaultdict(list)
    for pk, number in numbers.items():
        users[number].append(shipments[pk])
    for pk, (assignment, number) in valid.items():
        shipment = shipments[pk]
        mine = recipient_key(shipment)
        others = [
            s for s in holders.get(number, []) + users[number] if s.pk != pk and recipient_key(s) != mine
        ]
        if others:
            check.problems.append(
                TrackingProblem(
                    assignment.ref,
                    pk,
                    "number",
                    _(
                        "The tracking number %(number)s is already used for %(others)s, which goes to "
                        "another recipient."
                    )
                    % {"number": number, "others": ", ".join(s.number for s in others[:5])},
                )
            )
            continue
        check.changes[pk] = (assignment.courier, number)
    return check


# --- Writing ---------------------------------------------------------------------------------------


def _write(
    *,
    shipments: dict[int, Shipment],
    changes: dict[int, tuple[Courier | None, str]],
    actor: User | None,
    clear: bool,
) -> None:
    from catalog.services_import import bulk_set  # the project's bulk UPDATE (one statement per 5,000)

    if not changes:
        return
    now = timezone.now()
    audit: list[tuple[int, str, dict[str, Any]]] = []
    rows: list[Shipment] = []
    for pk, (courier, number) in sorted(changes.items()):
        shipment = shipments[pk]
        old_courier = shipment.courier.name if shipment.courier_id and shipment.courier else ""
        audit.append(
            (
                pk,
                shipment.number,
                {
                    "courier": [old_courier, courier.name if courier else old_courier],
                    "tracking_number": [shipment.tracking_number, number],
                },
            )
        )
        if courier is not None:
            shipment.courier = courier
        shipment.tracking_number = number
        shipment.updated_at = now
        rows.append(shipment)
    bulk_set(Shipment, rows, ["courier", "tracking_number", "updated_at"])
    audit_record_many(actor=actor, action=AUDIT_CLEAR if clear else AUDIT_SET, model=Shipment, entries=audit)

    user = actor if actor is not None and actor.is_authenticated else None
    events: list[OrderEvent] = []
    ids = sorted(changes)
    for part in _chunks(ids):
        items = ShipmentItem.objects.filter(shipment_id__in=part).values_list(
            "shipment_id", "line_id", "line__order_id"
        )
        for shipment_id, line_id, order_id in items:
            shipment = shipments[shipment_id]
            if clear:
                message = _("Tracking number removed from %(shipment)s") % {"shipment": shipment.number}
            else:
                message = _("Tracking number %(courier)s %(number)s (%(shipment)s)") % {
                    "courier": shipment.courier.name if shipment.courier else "",
                    "number": shipment.tracking_number,
                    "shipment": shipment.number,
                }
            events.append(
                OrderEvent(
                    order_id=order_id,
                    line_id=line_id,
                    type=OrderEvent.Type.NOTE,
                    user=user,
                    message=message[:500],
                    data={
                        "shipment": shipment_id,
                        "courier": shipment.courier.code if shipment.courier else "",
                        "tracking_number": shipment.tracking_number,
                    },
                )
            )
            if len(events) >= EVENT_BATCH:
                OrderEvent.objects.bulk_create(events)
                events = []
    if events:
        OrderEvent.objects.bulk_create(events)


def shipments_set_tracking_many(
    *, assignments: Sequence[TrackingAssignment], actor: User | None
) -> TrackingOutcome:
    """Give many boxes their tracking numbers, all or nothing. Raises TrackingRefused (nothing
    written) when any assignment breaks a rule; boxes that already have exactly this courier and
    number are left alone and reported as unchanged."""
    with transaction.atomic():
        check = tracking_assignments_check(assignments=assignments, lock=True)
        if check.problems:
            raise TrackingRefused(check.problems)
        _write(
            shipments=check.shipments,
            changes={pk: (c, n) for pk, (c, n) in check.changes.items()},
            actor=actor,
            clear=False,
        )
    return TrackingOutcome(changed=sorted(check.changes), unchanged=sorted(check.unchanged))


def shipment_set_tracking(
    *, shipment: Shipment, courier: Courier, number: object, actor: User | None
) -> Shipment:
    """One box's courier and tracking number (typed on the desk). Raises TrackingError saying why
    when the number is refused; the same courier and number again changes nothing."""
    try:
        shipments_set_tracking_many(
            assignments=[TrackingAssignment(shipment_id=shipment.pk, courier=courier, number=number)],
            actor=actor,
        )
    except TrackingRefused as refused:
        problem = refused.problems[0]
        raise TrackingError(problem.message, field=problem.field, shipment_id=shipment.pk) from None
    shipment.refresh_from_db()
    return shipment


def shipment_clear_tracking(*, shipment: Shipment, actor: User | None) -> Shipment:
    """Take an open box's tracking number off (a wrong label); its courier stays."""
    with transaction.atomic():
        locked = _read_shipments([shipment.pk], lock=True).get(shipment.pk)
        if locked is None:
            raise TrackingError(
                _("There is no shipment %(shipment)s.") % {"shipment": shipment.number}, field="shipment"
            )
        if not locked.tracking_number:
            return locked
        if locked.status not in OPEN_SHIPMENT_STATES:
            raise TrackingError(_status_problem(locked), field="shipment", shipment_id=locked.pk)
        if _dispatched_ids([locked.pk]):
            raise TrackingError(
                _(
                    "%(shipment)s was already sent to the channel. Correct its tracking number on the "
                    "dispatch page."
                )
                % {"shipment": locked.number},
                field="shipment",
                shipment_id=locked.pk,
            )
        _write(shipments={locked.pk: locked}, changes={locked.pk: (None, "")}, actor=actor, clear=True)
    shipment.refresh_from_db()
    return shipment
