"""Changing boxes by hand (수동 합포장, 나누기, 출고 취소) and pruning lines that will not ship.

A line that is cancelled (or asked to be) after it entered a box must never be picked, packed or
shipped: `shipment_prune` takes it out, and every service here (and shipments_build) prunes
first. `shipping.selectors.live_items` are the items the other stages work on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from oms.models import User
from oms.services import audit_record, audit_record_many
from orders.models import LineSku, LineStatus, OrderEvent
from orders.normalize import normalize_address
from orders.services import lines_transition
from shipping.lock_objects import lock_shipments
from shipping.models import OPEN_SHIPMENT_STATES, Shipment, ShipmentItem, ShipmentStatus, shipment_number
from shipping.selectors import EDITABLE_STATES, stale_items_q

S = LineStatus


class ShipmentRefused(Exception):
    """A box change that was refused; nothing was written. str() is for the user."""


# --- Pruning ---------------------------------------------------------------------------------


def shipment_prune(*, shipment: Shipment | None = None, actor: User | None = None) -> int:
    """Take lines that will not ship (cancelled, asked to be cancelled, back to confirmed) out of
    open boxes, and cancel a box left empty. One box, or every open box. Returns how many lines
    left their boxes."""
    stale = ShipmentItem.objects.filter(stale_items_q(), shipment__status__in=OPEN_SHIPMENT_STATES)
    if shipment is not None:
        stale = stale.filter(shipment_id=shipment.pk)
    if not stale.exists():
        return 0
    with transaction.atomic():
        rows = list(
            stale.order_by("pk")
            .select_for_update(of=("self",))
            .values_list("pk", "shipment_id", "line_id", "line__order_id", "line__status")
        )
        if not rows:
            return 0
        ShipmentItem.objects.filter(pk__in=[r[0] for r in rows]).delete()
        event_user = actor if actor is not None and actor.is_authenticated else None
        OrderEvent.objects.bulk_create(
            OrderEvent(
                order_id=order_id,
                line_id=line_id,
                type=OrderEvent.Type.NOTE,
                user=event_user,
                message=_("Taken out of shipment %(number)s (%(state)s)")
                % {"number": shipment_number(box_id), "state": LineStatus(state).label},
                data={"shipment": box_id},
            )
            for _pk, box_id, line_id, order_id, state in rows
        )
        touched = sorted({r[1] for r in rows})
        empty = list(
            Shipment.objects.filter(
                pk__in=touched, items__isnull=True, status__in=OPEN_SHIPMENT_STATES
            ).values_list("pk", flat=True)
        )
        Shipment.objects.filter(pk__in=touched).update(pack_progress={}, updated_at=timezone.now())
        if empty:
            Shipment.objects.filter(pk__in=empty).update(status=ShipmentStatus.CANCELLED)
        audit_record_many(
            actor=actor,
            action="shipment.prune",
            model=Shipment,
            entries=[
                (
                    box_id,
                    shipment_number(box_id),
                    {"removed_lines": [r[2] for r in rows if r[1] == box_id], "cancelled": box_id in empty},
                )
                for box_id in touched
            ],
        )
    return len(rows)


# --- Changing boxes by hand ------------------------------------------------------------------


def _refuse_unless_editable(boxes: Sequence[Shipment], *, what: str) -> None:
    for box in boxes:
        if box.status not in EDITABLE_STATES:
            raise ShipmentRefused(
                _("%(number)s is %(state)s; %(what)s only boxes that are not packed or shipped.")
                % {"number": box.number, "state": box.get_status_display(), "what": what}
            )
    _refuse_if_sent(boxes)


def _refuse_if_sent(boxes: Sequence[Shipment]) -> None:
    sent = (
        ShipmentItem.objects.filter(shipment__in=[b.pk for b in boxes])
        .exclude(dispatch_state=ShipmentItem.Dispatch.WAITING)
        .values_list("shipment_id", flat=True)
        .first()
    )
    if sent:
        raise ShipmentRefused(
            _("%(number)s was already sent to its channel; it can't be changed.")
            % {"number": shipment_number(sent)}
        )


def _no_merge_lines(box_ids: Sequence[int]) -> list[tuple[int, str]]:
    return list(
        LineSku.objects.filter(
            line__shipment_item__shipment_id__in=list(box_ids), sku__product__no_merge=True
        )
        .values_list("line__shipment_item__shipment_id", "sku__product__name")
        .distinct()
    )


def _line_events(lines: Iterable[tuple[int, int]], message: str, actor: User | None, box_id: int) -> None:
    event_user = actor if actor is not None and actor.is_authenticated else None
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=order_id,
            line_id=line_id,
            type=OrderEvent.Type.NOTE,
            user=event_user,
            message=message[:500],
            data={"shipment": box_id},
        )
        for line_id, order_id in lines
    )


def shipment_merge(*, shipments: Sequence[Shipment], actor: User | None) -> Shipment:
    """수동 합포장: open boxes without tracking numbers become one (the oldest). Boxes of a
    합포장 불가 product, packed or shipped boxes, and boxes for different recipients are refused."""
    ids = sorted({s.pk for s in shipments})
    if len(ids) < 2:
        raise ShipmentRefused(_("Choose at least two shipments to combine."))
    for box_id in ids:
        shipment_prune(shipment=Shipment(pk=box_id), actor=actor)
    with transaction.atomic():
        boxes = lock_shipments(ids)
        if len(boxes) != len(ids):
            raise ShipmentRefused(_("A chosen shipment no longer exists."))
        _refuse_unless_editable(boxes, what=_("combine"))
        for box in boxes:
            if box.tracking_number:
                raise ShipmentRefused(
                    _(
                        "%(number)s already has tracking number %(tracking)s; "
                        "boxes with tracking numbers can't be combined."
                    )
                    % {"number": box.number, "tracking": box.tracking_number}
                )
        solo = _no_merge_lines(ids)
        if solo:
            raise ShipmentRefused(
                _("%(number)s holds %(product)s, which never ships with other orders (합포장 불가).")
                % {"number": shipment_number(solo[0][0]), "product": solo[0][1]}
            )
        names = {normalize_address(b.recipient_name or "") for b in boxes}
        if len(names) > 1:
            raise ShipmentRefused(
                _(
                    "These shipments go to different recipients (%(names)s); "
                    "only one recipient's boxes can be combined."
                )
                % {"names": ", ".join(sorted(names))}
            )
        target, others = boxes[0], boxes[1:]
        other_ids = [b.pk for b in others]
        moving = list(
            ShipmentItem.objects.filter(shipment_id__in=other_ids).values_list("line_id", "line__order_id")
        )
        ShipmentItem.objects.filter(shipment_id__in=other_ids).update(shipment=target)
        accounts = {b.account_id for b in boxes}
        messages = [m for m in dict.fromkeys(b.delivery_message.strip() for b in boxes) if m]
        target.account_id = accounts.pop() if len(accounts) == 1 and None not in accounts else None
        target.delivery_message = " / ".join(messages)[:500]
        target.status = ShipmentStatus.READY
        target.printed_at = None
        target.pack_progress = {}
        target.save(
            update_fields=[
                "account",
                "delivery_message",
                "status",
                "printed_at",
                "pack_progress",
                "updated_at",
            ]
        )
        Shipment.objects.filter(pk__in=other_ids).update(
            status=ShipmentStatus.CANCELLED, updated_at=timezone.now()
        )
        _line_events(
            moving, _("Packed into shipment %(number)s") % {"number": target.number}, actor, target.pk
        )
        audit_record(
            actor=actor,
            action="shipment.merge",
            obj=target,
            changes={"merged": [b.number for b in others], "lines": [m[0] for m in moving]},
        )
    return target


def shipment_split(*, shipment: Shipment, line_ids: Sequence[int], actor: User | None) -> Shipment:
    """나누기: the chosen lines leave for a new box (same recipient, no tracking number)."""
    chosen = set(line_ids)
    if not chosen:
        raise ShipmentRefused(_("Choose the lines that go into the new box."))
    shipment_prune(shipment=shipment, actor=actor)
    with transaction.atomic():
        boxes = lock_shipments([shipment.pk])
        if not boxes:
            raise ShipmentRefused(_("A chosen shipment no longer exists."))
        box = boxes[0]
        _refuse_unless_editable([box], what=_("split"))
        items = list(
            ShipmentItem.objects.filter(shipment=box).values_list(
                "line_id", "line__order_id", "line__account_id"
            )
        )
        held = {line_id for line_id, _o, _a in items}
        if not chosen <= held:
            raise ShipmentRefused(
                _("A chosen line is not in %(number)s any more; reload the page.") % {"number": box.number}
            )
        if chosen == held:
            raise ShipmentRefused(_("Leave at least one line in %(number)s.") % {"number": box.number})
        moving = [(line_id, order_id) for line_id, order_id, _a in items if line_id in chosen]
        accounts_new = {acct for line_id, _o, acct in items if line_id in chosen}
        accounts_old = {acct for line_id, _o, acct in items if line_id not in chosen}
        new = Shipment.objects.create(
            account_id=accounts_new.pop() if len(accounts_new) == 1 else None,
            merge_key=box.merge_key,
            status=ShipmentStatus.READY,
            courier_id=box.courier_id,
            recipient_name=box.recipient_name,
            recipient_phone=box.recipient_phone,
            recipient_phone2=box.recipient_phone2,
            zip_code=box.zip_code,
            address=box.address,
            delivery_message=box.delivery_message,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        ShipmentItem.objects.filter(shipment=box, line_id__in=chosen).update(shipment=new)
        box.account_id = accounts_old.pop() if len(accounts_old) == 1 else None
        box.pack_progress = {}
        box.save(update_fields=["account", "pack_progress", "updated_at"])
        _line_events(
            moving,
            _("Moved from shipment %(old)s to %(new)s") % {"old": box.number, "new": new.number},
            actor,
            new.pk,
        )
        audit_record(
            actor=actor,
            action="shipment.split",
            obj=box,
            changes={"new": new.number, "lines": sorted(chosen)},
        )
    return new


def shipment_cancel(*, shipment: Shipment, actor: User | None) -> Shipment:
    """출고 취소 (dissolve the box): its lines go back to confirmed, ready for another box."""
    with transaction.atomic():
        boxes = lock_shipments([shipment.pk])
        if not boxes:
            raise ShipmentRefused(_("A chosen shipment no longer exists."))
        box = boxes[0]
        if box.status == ShipmentStatus.CANCELLED:
            return box
        if box.status not in OPEN_SHIPMENT_STATES:
            raise ShipmentRefused(
                _("%(number)s is %(state)s; a shipped box can't be cancelled.")
                % {"number": box.number, "state": box.get_status_display()}
            )
        _refuse_if_sent([box])
        items = list(ShipmentItem.objects.filter(shipment=box).select_related("line"))
        lines = [it.line for it in items]
        ready = [ln for ln in lines if ln.status == S.READY]
        if ready:
            outcome = lines_transition(
                lines=ready,
                target=S.CONFIRMED,
                actor=actor,
                note=_("shipment %(number)s cancelled") % {"number": box.number},
            )
            if outcome.refused:
                raise ShipmentRefused(outcome.refused[0][1])
        ShipmentItem.objects.filter(shipment=box).delete()
        _line_events(
            [(ln.pk, ln.order_id) for ln in lines],
            _("Taken out of shipment %(number)s (box cancelled)") % {"number": box.number},
            actor,
            box.pk,
        )
        box.status = ShipmentStatus.CANCELLED
        box.pack_progress = {}
        box.save(update_fields=["status", "pack_progress", "updated_at"])
        audit_record(
            actor=actor, action="shipment.cancel", obj=box, changes={"lines": [ln.pk for ln in lines]}
        )
    return box


def shipments_cancel(
    *, shipments: Sequence[Shipment], actor: User | None
) -> tuple[list[Shipment], list[tuple[Shipment, str]]]:
    """출고 취소 for many boxes, each on its own: (cancelled, refused with why)."""
    done: list[Shipment] = []
    refused: list[tuple[Shipment, str]] = []
    for box in sorted(shipments, key=lambda b: b.pk):
        try:
            done.append(shipment_cancel(shipment=box, actor=actor))
        except ShipmentRefused as exc:
            refused.append((box, str(exc)))
    return done, refused
