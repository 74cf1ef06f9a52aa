"""The line state machine: the only code that changes an OrderLine's status.

Every change is checked against ALLOWED, writes an OrderEvent with the user in the same
transaction, and keeps stock in step (cancelling releases the line's reservation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.services import stock_consume_many, stock_release
from oms.models import User
from orders.models import LineStatus, OrderEvent, OrderLine, reservation_reference

S = LineStatus
OPEN_STATES = frozenset({S.NEW, S.CONFIRMED, S.READY})

# DESIGN.md: NEW -> CONFIRMED -> READY -> SHIPPED -> DELIVERED -> COMPLETED; any open state -> HOLD -> back;
# NEW/CONFIRMED/READY -> CANCEL_REQUESTED -> CANCELLED; SHIPPED/DELIVERED -> RETURN_REQUESTED -> RETURNED;
# SHIPPED/DELIVERED -> EXCHANGE_REQUESTED -> EXCHANGED. HOLD goes back to the state it came from.
ALLOWED: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.CONFIRMED, S.HOLD, S.CANCEL_REQUESTED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.READY, S.HOLD, S.CANCEL_REQUESTED, S.CANCELLED}),
    S.READY: frozenset({S.CONFIRMED, S.SHIPPED, S.HOLD, S.CANCEL_REQUESTED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURN_REQUESTED, S.EXCHANGE_REQUESTED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURN_REQUESTED, S.EXCHANGE_REQUESTED}),
    S.HOLD: frozenset({S.NEW, S.CONFIRMED, S.READY, S.CANCEL_REQUESTED, S.CANCELLED}),
    S.CANCEL_REQUESTED: frozenset({S.CANCELLED, S.NEW, S.CONFIRMED, S.READY}),
    S.RETURN_REQUESTED: frozenset({S.RETURNED, S.SHIPPED, S.DELIVERED}),
    S.EXCHANGE_REQUESTED: frozenset({S.EXCHANGED, S.SHIPPED, S.DELIVERED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.EXCHANGED: frozenset(),
}
TERMINAL_STATES = frozenset(state for state, targets in ALLOWED.items() if not targets)
# States of a line whose goods have left (order_lines_ship).
SHIPPED_STATES = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})


class TransitionRefused(Exception):
    """A state change the machine does not allow; str() is for the user."""

    def __init__(self, line: OrderLine, target: str, reason: str = "") -> None:
        self.line, self.target = line, target
        message = reason or _("%(line)s: cannot go from %(current)s to %(target)s.") % {
            "line": line.external_line_id,
            "current": LineStatus(line.status).label,
            "target": LineStatus(target).label,
        }
        super().__init__(message)


@dataclass
class BulkOutcome:
    changed: list[OrderLine] = field(default_factory=list)
    refused: list[tuple[OrderLine, str]] = field(default_factory=list)


def _event(line: OrderLine, previous: str, target: str, actor: User | None, note: str = "") -> OrderEvent:
    message = f"{LineStatus(previous).label} → {LineStatus(target).label}"
    if note:
        message += f" ({note})"
    return OrderEvent(
        order_id=line.order_id,
        line=line,
        type=OrderEvent.Type.STATUS,
        user=actor,
        message=message[:500],
        data={"from": previous, "to": target},
    )


def _move(
    line: OrderLine, target: str, *, actor: User | None, note: str = "", check: bool = True
) -> OrderEvent:
    """Change one locked line's state in memory and return the event to write."""
    previous = line.status
    if check and target not in ALLOWED[previous]:
        raise TransitionRefused(line, target)
    if (
        previous == S.HOLD
        and target not in {S.CANCELLED, S.CANCEL_REQUESTED}
        and target != line.status_before_hold
    ):
        raise TransitionRefused(
            line,
            target,
            _("%(line)s: a held line goes back to %(state)s.")
            % {"line": line.external_line_id, "state": LineStatus(line.status_before_hold or S.NEW).label},
        )
    if target == S.HOLD:
        line.status_before_hold = previous
    elif previous == S.HOLD:
        line.status_before_hold = ""
    if target == S.CONFIRMED and not line.confirmed_at:
        line.confirmed_at = timezone.now()
    if target == S.CANCELLED:
        stock_release(reference=reservation_reference(line.pk), actor=actor, reason=note or "cancel")
        line.backorder = False
    line.status = target
    return _event(line, previous, target, actor, note)


def _locked(lines: Iterable[OrderLine]) -> list[OrderLine]:
    ids = sorted({line.pk for line in lines})
    return list(OrderLine.objects.filter(pk__in=ids).order_by("pk").select_for_update())


@transaction.atomic
def lines_transition(
    *, lines: Sequence[OrderLine], target: str, actor: User | None, note: str = ""
) -> BulkOutcome:
    """Move each line to `target` where allowed; refused lines are reported, not raised."""
    outcome = BulkOutcome()
    events = []
    now = timezone.now()
    confirmed_now: set[int] = set()
    for line in _locked(lines):
        was_confirmed = line.confirmed_at
        try:
            events.append(_move(line, target, actor=actor, note=note))
        except TransitionRefused as refused:
            outcome.refused.append((line, str(refused)))
        else:
            outcome.changed.append(line)
            if line.confirmed_at != was_confirmed:
                line.confirmed_at = now
                confirmed_now.add(line.pk)
    if outcome.changed:
        _save_moved(outcome.changed, confirmed_now, now)
        OrderEvent.objects.bulk_create(events)
    return outcome


def _save_moved(lines: list[OrderLine], confirmed_now: set[int], now: datetime) -> None:
    """One UPDATE per distinct new state rather than bulk_update's CASE per row, which spends
    seconds building and evaluating its expressions for a few thousand lines."""
    groups: dict[tuple[str, str, bool, bool], list[int]] = defaultdict(list)
    for line in lines:
        line.updated_at = now  # update() does not apply auto_now
        groups[(line.status, line.status_before_hold, line.backorder, line.pk in confirmed_now)].append(
            line.pk
        )
    for (status, before_hold, backorder, confirmed), ids in groups.items():
        values: dict[str, object] = {
            "status": status,
            "status_before_hold": before_hold,
            "backorder": backorder,
            "updated_at": now,
        }
        if confirmed:
            values["confirmed_at"] = now
        for start in range(0, len(ids), 5000):
            OrderLine.objects.filter(pk__in=ids[start : start + 5000]).update(**values)


@transaction.atomic
def order_lines_ship(*, lines: Sequence[OrderLine], actor: User | None, note: str = "") -> BulkOutcome:
    """출고완료: READY lines become SHIPPED (an event each, as lines_transition writes) and their
    reservations are consumed (a SHIP ledger row per SKU x location), all in one transaction.
    Lines not READY are refused and keep their stock. A line already past READY on the way
    out (SHIPPED, DELIVERED, COMPLETED: the channel reported it, which moves no stock) is refused
    as well, but what it still holds is consumed, since the box did leave; so running this twice
    ships nothing twice (stock_consume is idempotent too)."""
    outcome = BulkOutcome()
    events = []
    consume: list[OrderLine] = []
    for line in _locked(lines):
        try:
            if line.status in SHIPPED_STATES:
                consume.append(line)
                raise TransitionRefused(
                    line, S.SHIPPED, _("%(line)s was shipped already.") % {"line": line.external_line_id}
                )
            if line.status != S.READY:
                raise TransitionRefused(line, S.SHIPPED)
            events.append(_move(line, S.SHIPPED, actor=actor, note=note))
        except TransitionRefused as refused:
            outcome.refused.append((line, str(refused)))
        else:
            outcome.changed.append(line)
            consume.append(line)
    # Every line's reservation (its reference) in one go: the reservations, then the stock
    # levels, each locked once in pk order, so two writers never deadlock.
    stock_consume_many(
        references=[reservation_reference(line.pk) for line in consume], actor=actor, reason=note or "ship"
    )
    if outcome.changed:
        _save_moved(outcome.changed, set(), timezone.now())
        OrderEvent.objects.bulk_create(events, batch_size=1000)
    return outcome


def _one(line: OrderLine, target: str, *, actor: User | None, note: str = "") -> OrderLine:
    outcome = lines_transition(lines=[line], target=target, actor=actor, note=note)
    if outcome.refused:
        raise TransitionRefused(line, target, outcome.refused[0][1])
    return outcome.changed[0]


def order_line_confirm(*, line: OrderLine, actor: User | None) -> OrderLine:
    """발주확인."""
    return _one(line, S.CONFIRMED, actor=actor)


def order_line_hold(*, line: OrderLine, actor: User | None, reason: str = "") -> OrderLine:
    """보류: set aside until someone looks at it; no stock is released."""
    return _one(line, S.HOLD, actor=actor, note=reason)


def order_line_unhold(*, line: OrderLine, actor: User | None) -> OrderLine:
    """보류 해제: back to the state it was held from."""
    fresh = OrderLine.objects.get(pk=line.pk)
    if fresh.status != S.HOLD:
        raise TransitionRefused(
            fresh, fresh.status, _("%(line)s is not on hold.") % {"line": fresh.external_line_id}
        )
    return _one(fresh, fresh.status_before_hold or S.NEW, actor=actor)


def order_line_cancel(*, line: OrderLine, actor: User | None, reason: str = "") -> OrderLine:
    """취소: the line's reserved stock goes back to the pool."""
    return _one(line, S.CANCELLED, actor=actor, note=reason)


def order_line_apply_channel_state(*, line: OrderLine, target: str, actor: User | None) -> OrderLine | None:
    """A state the channel reported (a buyer's cancel, a delivery, a claim). Channels can move a line
    past states the OMS would walk through, so only terminal lines are left alone. Call inside a
    transaction; the line must be locked or freshly created."""
    if line.status in TERMINAL_STATES or line.status == target:
        return None
    if target in SHIPPED_STATES and line.status not in SHIPPED_STATES:
        # The box left (shipped from the marketplace's own screen, or our dispatch's answer
        # was collected first): what the line holds is no longer on the shelf.
        stock_consume_many(references=[reservation_reference(line.pk)], actor=actor, reason="channel")
    event = _move(line, target, actor=actor, note=_("channel"), check=False)
    line.save(update_fields=["status", "status_before_hold", "confirmed_at", "backorder", "updated_at"])
    event.save()
    return line
