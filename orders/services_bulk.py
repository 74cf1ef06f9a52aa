"""Bulk line actions from the order list: 발주확인 / 보류 / 보류 해제 / 취소 over many lines.

Each chunk of lines goes through orders.services.lines_transition in its own transaction, so a
large selection never holds thousands of row locks at once; refused lines are collected with
the state machine's reason, never raised."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from oms.models import User
from orders.models import LineStatus, OrderLine
from orders.services import BulkOutcome, lines_transition

CHUNK = 500


class BulkAction:
    CONFIRM = "confirm"
    HOLD = "hold"
    UNHOLD = "unhold"
    CANCEL = "cancel"

    ALL = (CONFIRM, HOLD, UNHOLD, CANCEL)


TARGETS = {
    BulkAction.CONFIRM: LineStatus.CONFIRMED,
    BulkAction.HOLD: LineStatus.HOLD,
    BulkAction.CANCEL: LineStatus.CANCELLED,
}


@dataclass
class BulkResult:
    changed: int = 0
    refused: list[tuple[int, int, str, str]] = field(
        default_factory=list
    )  # (line id, order id, line no, why)

    def add(self, outcome: BulkOutcome) -> None:
        self.changed += len(outcome.changed)
        self.refused += [(ln.pk, ln.order_id, ln.external_line_id, why) for ln, why in outcome.refused]


@transaction.atomic
def lines_unhold(*, lines: Sequence[OrderLine], actor: User | None) -> BulkOutcome:
    """보류 해제 for many lines: each goes back to the state it was held from."""
    outcome = BulkOutcome()
    groups: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if line.status != LineStatus.HOLD:
            outcome.refused.append((line, _("%(line)s is not on hold.") % {"line": line.external_line_id}))
        else:
            groups[line.status_before_hold or LineStatus.NEW].append(line)
    for target, group in groups.items():
        step = lines_transition(lines=group, target=target, actor=actor)
        outcome.changed += step.changed
        outcome.refused += step.refused
    return outcome


def lines_bulk_action(
    *, line_ids: Sequence[int], action: str, actor: User | None, note: str = ""
) -> BulkResult:
    """Apply `action` (a BulkAction) to the lines, CHUNK at a time, oldest id first."""
    if action not in BulkAction.ALL:
        raise ValueError(action)
    result = BulkResult()
    ids = sorted(set(line_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = list(OrderLine.objects.filter(pk__in=ids[start : start + CHUNK]).order_by("pk"))
        if action == BulkAction.UNHOLD:
            result.add(lines_unhold(lines=chunk, actor=actor))
        else:
            result.add(lines_transition(lines=chunk, target=TARGETS[action], actor=actor, note=note))
    return result
