"""검수 (scan-to-pack): a box is opened by its 출고번호 or tracking number, then every item put in
it is scanned; a wrong item or one too many is refused and nothing is recorded; the last item
makes the box PACKED.

Progress lives on the shipment (pack_progress {sku id: scanned}); every scan locks the
shipment row, so two scanners on the same box never count past what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Sku
from oms.models import User
from oms.services import audit_record
from orders.models import LineStatus, OrderLine
from shipping.couriers import tracking_normalize
from shipping.lock_objects import lock_shipments
from shipping.models import Shipment, ShipmentStatus, shipment_pk_from_number
from shipping.selectors_pick import box_contents

MAX_COUNT = 9999


class PackRefused(Exception):
    """A scan or a box the packing table refuses; str() says why, for the person scanning."""

    def __init__(self, message: str, *, code: str, scanned: str = "") -> None:
        self.code = code
        self.scanned = scanned
        super().__init__(message)


@dataclass(frozen=True)
class PackNeed:
    sku: Sku
    needed: int
    scanned: int

    @property
    def done(self) -> bool:
        return self.scanned >= self.needed

    @property
    def left(self) -> int:
        return max(0, self.needed - self.scanned)


@dataclass(frozen=True)
class PackState:
    """A box at the packing table: what it needs per stock SKU and what was scanned so far."""

    shipment: Shipment
    needs: list[PackNeed]
    unmapped: tuple[OrderLine, ...] = ()  # lines with no SKU (매칭 필요): the box cannot be scanned

    @property
    def needed_total(self) -> int:
        return sum(n.needed for n in self.needs)

    @property
    def scanned_total(self) -> int:
        return sum(min(n.scanned, n.needed) for n in self.needs)

    @property
    def complete(self) -> bool:
        return bool(self.needs) and all(n.done for n in self.needs)

    @property
    def percent(self) -> int:
        return round(100 * self.scanned_total / self.needed_total) if self.needed_total else 0


@dataclass(frozen=True)
class ScanResult:
    state: PackState
    sku: Sku
    count: int
    packed_now: bool


# --- Reading a box ----------------------------------------------------------------------------


def _state(shipment: Shipment) -> PackState:
    contents = box_contents(shipment_ids=[shipment.pk], live_only=False)
    need = contents.needs.get(shipment.pk, {})
    progress = shipment.pack_progress or {}
    needs = [
        PackNeed(sku=contents.skus[sku_id], needed=units, scanned=int(progress.get(str(sku_id), 0)))
        for sku_id, units in need.items()
    ]
    needs.sort(key=lambda n: (n.sku.product.name, n.sku.code))
    return PackState(shipment=shipment, needs=needs, unmapped=tuple(contents.unmapped.get(shipment.pk, ())))


def pack_state(*, shipment: Shipment) -> PackState:
    return _state(shipment)


def _refusal(shipment: Shipment) -> str:
    """Why a box cannot be packed now ('' when it can)."""
    number = shipment.number
    if shipment.status == ShipmentStatus.CANCELLED:
        return _("%(number)s was cancelled: do not pack it.") % {"number": number}
    if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        return _("%(number)s has already shipped.") % {"number": number}
    lines = list(OrderLine.objects.filter(shipment_item__shipment=shipment).order_by("pk"))
    if not lines:
        return _("%(number)s holds no order lines.") % {"number": number}
    not_ready = [ln for ln in lines if ln.status != LineStatus.READY]
    if not_ready:
        line = not_ready[0]
        return _(
            "%(number)s: order line %(line)s is %(state)s, not ready to ship. Take it out of the box first."
        ) % {
            "number": number,
            "line": line.external_line_id,
            "state": line.get_status_display(),
        }
    return ""


def _check_box(shipment: Shipment, state: PackState) -> None:
    reason = _refusal(shipment)
    if reason:
        raise PackRefused(reason, code="box")
    if state.unmapped or not state.needs:
        line = state.unmapped[0].external_line_id if state.unmapped else ""
        raise PackRefused(
            _("%(number)s: order line %(line)s has no SKU yet (needs mapping), so it cannot be scanned.")
            % {"number": shipment.number, "line": line},
            code="unmapped",
        )


def pack_box_find(*, code: str) -> Shipment:
    """The box a scanned or typed code names: its 출고번호 (S00000123) or its tracking number.
    A tracking number on boxes of two different recipients is ambiguous and refused."""
    text = (code or "").strip()
    if not text:
        raise PackRefused(_("Scan the shipment number or the tracking number."), code="empty")
    digits = tracking_normalize(text)
    if digits:
        found = list(Shipment.objects.filter(tracking_number=digits).order_by("pk"))
        # A cancelled box keeps its number; it only counts when nothing else carries it (and
        # is then refused as cancelled, which says more than "not found").
        boxes = [b for b in found if b.status != ShipmentStatus.CANCELLED] or found
        recipients = {(b.recipient_name, b.recipient_phone, b.address) for b in boxes}
        if len(recipients) > 1:
            raise PackRefused(
                _(
                    "Tracking number %(number)s is on boxes of different recipients (%(boxes)s): "
                    "scan the shipment number instead."
                )
                % {"number": digits, "boxes": ", ".join(b.number for b in boxes)},
                code="ambiguous",
                scanned=text,
            )
        if boxes:
            open_boxes = [b for b in boxes if b.status in (ShipmentStatus.READY, ShipmentStatus.PRINTED)]
            return (open_boxes or boxes)[0]
    pk = shipment_pk_from_number(text)
    # A bare number is a 출고번호 only when short; long digit strings are tracking numbers.
    if pk and (text[:1] in "sS" or len(text) <= 9):
        shipment = Shipment.objects.filter(pk=pk).first()
        if shipment:
            return shipment
    raise PackRefused(
        _("No shipment has the number or tracking number %(code)s.") % {"code": text},
        code="unknown",
        scanned=text,
    )


def pack_box_open(*, code: str) -> PackState:
    """The box to pack, with what it needs; refused (with why) when it cannot be packed."""
    shipment = pack_box_find(code=code)
    state = _state(shipment)
    if shipment.status != ShipmentStatus.PACKED:
        _check_box(shipment, state)
    return state


# --- Scanning ---------------------------------------------------------------------------------


def _match(state: PackState, code: str) -> PackNeed | None:
    """The need a scanned code names: a SKU's barcode, or its SKU code (case-insensitive). Two
    SKUs of the box sharing one barcode: the one still missing units first."""
    text = code.strip()
    hits = [n for n in state.needs if n.sku.barcode and n.sku.barcode == text]
    if not hits:
        hits = [n for n in state.needs if n.sku.code.casefold() == text.casefold()]
    if not hits:
        return None
    return next((n for n in hits if not n.done), hits[0])


def _foreign(code: str) -> Sku | None:
    text = code.strip()
    return (
        Sku.objects.filter(Q(barcode=text) | Q(code__iexact=text))
        .select_related("product")
        .order_by("pk")
        .first()
    )


@transaction.atomic
def pack_scan(*, shipment_id: int, code: str, count: int = 1, actor: User | None) -> ScanResult:
    """Record `count` units of the scanned item in the box. Refused (PackRefused, nothing
    written) for an item that is not in the box, more units than it needs, or a box that
    cannot be packed. The scan that completes the box makes it PACKED."""
    text = (code or "").strip()
    if not text:
        raise PackRefused(_("Scan an item's barcode."), code="empty")
    if not 1 <= count <= MAX_COUNT:
        raise PackRefused(
            _("The count must be between 1 and %(max)d.") % {"max": MAX_COUNT}, code="count", scanned=text
        )
    locked = lock_shipments([shipment_id])
    if not locked:
        raise PackRefused(_("That shipment no longer exists."), code="unknown", scanned=text)
    shipment = locked[0]
    state = _state(shipment)
    if shipment.status == ShipmentStatus.PACKED:
        raise PackRefused(
            _("%(number)s is already packed. Reset it to scan it again.") % {"number": shipment.number},
            code="packed",
            scanned=text,
        )
    _check_box(shipment, state)
    need = _match(state, text)
    if need is None:
        other = _foreign(text)
        if other is not None:
            message = _("Wrong item: %(item)s (%(sku)s) is not in this box.") % {
                "item": " ".join(part for part in (other.product.name, other.option_label) if part),
                "sku": other.code,
            }
        else:
            message = _("Unknown barcode %(code)s: no SKU has this barcode or SKU code.") % {"code": text}
        raise PackRefused(message, code="wrong", scanned=text)
    if need.scanned + count > need.needed:
        raise PackRefused(
            _("Too many: this box needs %(needed)d of %(sku)s and %(scanned)d are already scanned.")
            % {"needed": need.needed, "sku": need.sku.code, "scanned": need.scanned},
            code="over",
            scanned=text,
        )
    progress = dict(shipment.pack_progress or {})
    progress[str(need.sku.pk)] = need.scanned + count
    shipment.pack_progress = progress
    fields = ["pack_progress", "updated_at"]
    state = PackState(
        shipment=shipment,
        needs=[
            PackNeed(sku=n.sku, needed=n.needed, scanned=progress.get(str(n.sku.pk), 0)) if n is need else n
            for n in state.needs
        ],
        unmapped=state.unmapped,
    )
    packed_now = state.complete
    if packed_now:
        shipment.status = ShipmentStatus.PACKED
        shipment.packed_at = timezone.now()
        shipment.packed_by = actor if actor is not None and actor.is_authenticated else None
        fields += ["status", "packed_at", "packed_by"]
        audit_record(actor=actor, action="shipment.pack", obj=shipment, changes={"units": state.needed_total})
    shipment.save(update_fields=fields)
    return ScanResult(state=state, sku=need.sku, count=count, packed_now=packed_now)


@transaction.atomic
def pack_reset(*, shipment_id: int, actor: User | None) -> PackState:
    """Start the box's scanning over: progress cleared; a packed box goes back to where it was
    before packing (invoice printed or ready)."""
    locked = lock_shipments([shipment_id])
    if not locked:
        raise PackRefused(_("That shipment no longer exists."), code="unknown")
    shipment = locked[0]
    if shipment.status not in (ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED):
        raise PackRefused(_refusal(shipment) or _("This box cannot be packed."), code="box")
    was_packed = shipment.status == ShipmentStatus.PACKED
    shipment.pack_progress = {}
    fields = ["pack_progress", "updated_at"]
    if was_packed:
        shipment.status = ShipmentStatus.PRINTED if shipment.printed_at else ShipmentStatus.READY
        shipment.packed_at = None
        shipment.packed_by = None
        fields += ["status", "packed_at", "packed_by"]
    shipment.save(update_fields=fields)
    audit_record(actor=actor, action="shipment.pack_reset", obj=shipment, changes={"was_packed": was_packed})
    return _state(shipment)


# --- The packing table's one input ------------------------------------------------------------


@dataclass(frozen=True)
class PackOutcome:
    """What one scan at the packing table did. `state` is the box on the table afterwards
    (None when no box is open); `result` is opened / scanned / packed / refused."""

    state: PackState | None
    result: str
    message: str
    scanned: str = ""
    sku: Sku | None = None

    @property
    def refused(self) -> bool:
        return self.result == "refused"


def _opened(state: PackState, *, scanned: str, left: PackState | None) -> PackOutcome:
    number = state.shipment.number
    if state.shipment.status == ShipmentStatus.PACKED:
        message = _("%(number)s is already packed.") % {"number": number}
    else:
        message = _("%(number)s opened: scan its items.") % {"number": number}
    if left is not None and not left.complete and left.scanned_total:
        message += " " + _("%(number)s was left unfinished (%(scanned)d of %(needed)d scanned).") % {
            "number": left.shipment.number,
            "scanned": left.scanned_total,
            "needed": left.needed_total,
        }
    return PackOutcome(state=state, result="opened", message=message, scanned=scanned)


def pack_handle(*, box_id: int | None, code: str, count: int = 1, actor: User | None) -> PackOutcome:
    """One scan or typed code: with no box open it opens the box it names; with a box open it
    is an item of that box, or (when it is no item of the box) the next box's 출고번호 or
    tracking number. Refusals come back as an outcome; nothing is recorded for them."""
    text = (code or "").strip()
    current = Shipment.objects.filter(pk=box_id).first() if box_id else None
    if current is None:
        try:
            return _opened(pack_box_open(code=text), scanned=text, left=None)
        except PackRefused as refused:
            message = str(refused)
            item = _foreign(text) if refused.code == "unknown" else None
            if item is not None:
                message = _(
                    "%(code)s is an item (%(sku)s). "
                    "Open a box first: scan its shipment number or tracking number."
                ) % {"code": text, "sku": item.code}
            return PackOutcome(state=None, result="refused", message=message, scanned=text)
    try:
        scan = pack_scan(shipment_id=current.pk, code=text, count=count, actor=actor)
    except PackRefused as refused:
        if refused.code != "over":
            try:
                other = pack_box_find(code=text)
            except PackRefused as not_a_box:
                if not_a_box.code == "ambiguous":
                    return PackOutcome(
                        state=_state(current), result="refused", message=str(not_a_box), scanned=text
                    )
                other = None
            if other is not None:
                left = _state(current) if other.pk != current.pk else None
                try:
                    return _opened(pack_box_open(code=other.number), scanned=text, left=left)
                except PackRefused as box_refused:
                    return PackOutcome(state=None, result="refused", message=str(box_refused), scanned=text)
        return PackOutcome(state=_state(current), result="refused", message=str(refused), scanned=text)
    need = next(n for n in scan.state.needs if n.sku.pk == scan.sku.pk)
    if scan.packed_now:
        message = _("%(number)s packed: every item is in the box.") % {"number": scan.state.shipment.number}
        return PackOutcome(state=scan.state, result="packed", message=message, scanned=text, sku=scan.sku)
    message = _("%(sku)s +%(count)d (%(scanned)d of %(needed)d)") % {
        "sku": scan.sku.code,
        "count": scan.count,
        "scanned": need.scanned,
        "needed": need.needed,
    }
    return PackOutcome(state=scan.state, result="scanned", message=message, scanned=text, sku=scan.sku)


def pack_box_problem(*, state: PackState) -> str:
    """Why the box on the table cannot be scanned ('' when it can): for the box page's banner."""
    try:
        _check_box(state.shipment, state)
    except PackRefused as refused:
        return str(refused)
    return ""
