"""The only writer of StockLevel, StockMovement, Reservation and StockDirty.

Every change locks the affected StockLevel rows in primary-key order (lock_objects), writes a
ledger row per (SKU, location) it changes, and marks the SKUs stock-dirty in the same
transaction. Ledger invariant per (SKU, location): sum(quantity) == on_hand and
sum(reserved_delta) == reserved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Sku
from inventory.lock_objects import lock_stock_levels
from inventory.models import Location, Reservation, StockDirty, StockLevel, StockMovement
from oms.models import User

MovementType = StockMovement.Type


# --- Errors ------------------------------------------------------------------------------------


class InventoryError(Exception):
    """A stock operation that was refused; nothing was written. str() is for the user."""


@dataclass(frozen=True)
class Shortage:
    sku_id: int
    sku_code: str
    wanted: int
    available: int

    @property
    def short(self) -> int:
        return self.wanted - self.available


class InsufficientStock(InventoryError):
    def __init__(self, shortages: Sequence[Shortage]) -> None:
        self.shortages = list(shortages)
        parts = [
            _("%(sku)s: wanted %(wanted)d, available %(available)d (short %(short)d)")
            % {"sku": s.sku_code, "wanted": s.wanted, "available": s.available, "short": s.short}
            for s in self.shortages
        ]
        super().__init__(_("Not enough stock. ") + "; ".join(parts))


# --- Requests and results ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReserveRequest:
    """Reserve `lines` [(sku_id, quantity), ...] for `reference`, all or nothing.

    Bundle SKUs are expanded to their components; the same SKU may appear on several lines."""

    reference: str
    lines: Sequence[tuple[int, int]]


@dataclass
class ReserveResult:
    reference: str
    reservations: list[Reservation] = field(default_factory=list)
    shortages: list[Shortage] = field(default_factory=list)
    already_reserved: bool = False

    @property
    def ok(self) -> bool:
        return not self.shortages


# --- Helpers ---------------------------------------------------------------------------------------


def _positive(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InventoryError(_("The quantity must be a whole number above 0 (got %(q)s).") % {"q": quantity})


def expand_bundles(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """{component sku_id: total quantity} for lines of single and bundle SKUs."""
    lines = list(lines)
    sku_ids = {sku_id for sku_id, _q in lines}
    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for item in BundleItem.objects.filter(bundle_id__in=sku_ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        components[item[0]].append((item[1], item[2]))
    bundle_ids = set(Sku.objects.filter(pk__in=sku_ids, kind=Sku.Kind.BUNDLE).values_list("pk", flat=True))
    need: dict[int, int] = defaultdict(int)
    for sku_id, quantity in lines:
        if sku_id in bundle_ids:
            if not components.get(sku_id):
                raise InventoryError(_("Bundle SKU %(id)s has no components.") % {"id": sku_id})
            for component_id, per_bundle in components[sku_id]:
                need[component_id] += per_bundle * quantity
        else:
            need[sku_id] += quantity
    return dict(need)


def selling_location_ids() -> list[int]:
    return list(
        Location.objects.filter(sells=True, is_active=True)
        .order_by("priority", "pk")
        .values_list("pk", flat=True)
    )


def mark_stock_dirty(sku_ids: Iterable[int]) -> None:
    """Durably note that these SKUs' available quantity changed (for the channel stock push).

    Upserts in SKU order so two writers touching the same rows take their locks in one order."""
    now = timezone.now()
    rows = [StockDirty(sku_id=sku_id, marked_at=now) for sku_id in sorted(set(sku_ids))]
    if rows:
        StockDirty.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["sku"], update_fields=["marked_at"]
        )


def _movement(
    level: StockLevel,
    type_: str,
    *,
    quantity: int = 0,
    reserved_delta: int = 0,
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
) -> StockMovement:
    return StockMovement(
        sku_id=level.sku_id,
        location_id=level.location_id,
        type=type_,
        quantity=quantity,
        reserved_delta=reserved_delta,
        on_hand_after=level.on_hand,
        reserved_after=level.reserved,
        reason=reason[:200],
        reference=reference[:100],
        user=actor if actor is not None and actor.is_authenticated else None,
    )


def _ensure_levels(pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing StockLevel rows (sku_id, location_id) without racing other writers."""
    rows = [StockLevel(sku_id=s, location_id=loc) for s, loc in sorted(set(pairs))]
    if rows:
        StockLevel.objects.bulk_create(rows, ignore_conflicts=True)


def _single_stock_sku(sku: Sku) -> None:
    if sku.kind != Sku.Kind.SINGLE:
        raise InventoryError(
            _("%(sku)s is a bundle: stock is kept on its components, not on the bundle.") % {"sku": sku.code}
        )


def _locked_level(sku: Sku, location: Location) -> StockLevel:
    _single_stock_sku(sku)
    _ensure_levels([(sku.pk, location.pk)])
    (level,) = lock_stock_levels(sku_ids=[sku.pk], location_ids=[location.pk])
    return level


def _save_levels(levels: Iterable[StockLevel]) -> None:
    now = timezone.now()
    levels = list(levels)
    for level in levels:
        level.updated_at = now
    if levels:
        StockLevel.objects.bulk_update(levels, ["on_hand", "reserved", "updated_at"])


# --- On-hand changes -----------------------------------------------------------------------------


@transaction.atomic
def stock_receive(
    *,
    sku: Sku,
    location: Location,
    quantity: int,
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
    type_: str = MovementType.RECEIVE,
) -> StockMovement:
    """Goods arrived (입고), or a sellable return came back (type_=RETURN)."""
    _positive(quantity)
    level = _locked_level(sku, location)
    level.on_hand += quantity
    _save_levels([level])
    movement = _create_movement(
        level, type_, quantity=quantity, reason=reason, reference=reference, actor=actor
    )
    mark_stock_dirty([sku.pk])
    return movement


def _create_movement(level: StockLevel, type_: str, **kwargs: object) -> StockMovement:
    movement = _movement(level, type_, **kwargs)  # type: ignore[arg-type]
    movement.save(force_insert=True)
    return movement


@transaction.atomic
def stock_adjust(
    *, sku: Sku, location: Location, delta: int, reason: str, reference: str = "", actor: User | None = None
) -> StockMovement:
    """Add or remove stock for a stated reason (파손, 분실, 오류 수정...)."""
    if not reason or not reason.strip():
        raise InventoryError(_("A reason is required for a stock adjustment."))
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InventoryError(_("The adjustment must be a whole number other than 0."))
    level = _locked_level(sku, location)
    if level.on_hand + delta < level.reserved:
        raise InventoryError(
            _(
                "%(sku)s at %(location)s: on hand would be %(after)d, below the %(reserved)d reserved for "
                "orders. Cancel or reassign those orders first."
            )
            % {
                "sku": sku.code,
                "location": location.name,
                "after": level.on_hand + delta,
                "reserved": level.reserved,
            }
        )
    level.on_hand += delta
    _save_levels([level])
    movement = _create_movement(
        level, MovementType.ADJUST, quantity=delta, reason=reason.strip(), reference=reference, actor=actor
    )
    mark_stock_dirty([sku.pk])
    return movement


@transaction.atomic
def stock_count(
    *,
    sku: Sku,
    location: Location,
    counted: int,
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
) -> StockMovement | None:
    """Set on hand to the counted number (실사); the difference becomes a COUNT movement.

    Returns None when the count equals what the system already had."""
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise InventoryError(_("The counted quantity must be a whole number of 0 or more."))
    level = _locked_level(sku, location)
    if counted < level.reserved:
        raise InventoryError(
            _(
                "%(sku)s at %(location)s: the count %(counted)d is below the %(reserved)d reserved for "
                "orders. Cancel or reassign those orders first."
            )
            % {"sku": sku.code, "location": location.name, "counted": counted, "reserved": level.reserved}
        )
    delta = counted - level.on_hand
    if delta == 0:
        return None
    level.on_hand = counted
    _save_levels([level])
    movement = _create_movement(
        level,
        MovementType.COUNT,
        quantity=delta,
        reason=reason or _("Stock count"),
        reference=reference,
        actor=actor,
    )
    mark_stock_dirty([sku.pk])
    return movement


@transaction.atomic
def stock_transfer(
    *,
    sku: Sku,
    from_location: Location,
    to_location: Location,
    quantity: int,
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
) -> tuple[StockMovement, StockMovement]:
    """Move free (unreserved) stock between locations."""
    _positive(quantity)
    _single_stock_sku(sku)
    if from_location.pk == to_location.pk:
        raise InventoryError(_("Choose two different locations."))
    _ensure_levels([(sku.pk, from_location.pk), (sku.pk, to_location.pk)])
    levels = {
        lv.location_id: lv
        for lv in lock_stock_levels(sku_ids=[sku.pk], location_ids=[from_location.pk, to_location.pk])
    }
    source, target = levels[from_location.pk], levels[to_location.pk]
    if source.free < quantity:
        raise InsufficientStock([Shortage(sku.pk, sku.code, quantity, max(0, source.free))])
    source.on_hand -= quantity
    target.on_hand += quantity
    _save_levels([source, target])
    out = _create_movement(
        source,
        MovementType.TRANSFER_OUT,
        quantity=-quantity,
        reason=reason,
        reference=reference or f"transfer:{to_location.code}",
        actor=actor,
    )
    in_ = _create_movement(
        target,
        MovementType.TRANSFER_IN,
        quantity=quantity,
        reason=reason,
        reference=reference or f"transfer:{from_location.code}",
        actor=actor,
    )
    mark_stock_dirty([sku.pk])
    return out, in_


# --- Reservations --------------------------------------------------------------------------------


@transaction.atomic
def stock_reserve_many(
    *, requests: Sequence[ReserveRequest], actor: User | None = None
) -> list[ReserveResult]:
    """Reserve for many references in one transaction, each all or nothing.

    All StockLevel rows of all SKUs involved are locked once, in pk order; requests are then
    served in the given order (oldest first is the caller's choice). A request that cannot be
    met in full reserves nothing and reports its shortages; later requests still go on.
    A reference that already holds stock is left as it is (safe to run twice)."""
    for request in requests:
        for _sku_id, quantity in request.lines:
            _positive(quantity)
    results = [ReserveResult(reference=r.reference) for r in requests]
    if not requests:
        return results

    needs = [expand_bundles(r.lines) for r in requests]
    sku_ids = {sku_id for need in needs for sku_id in need}
    location_order = selling_location_ids()
    rank = {loc: i for i, loc in enumerate(location_order)}
    levels_by_sku: dict[int, list[StockLevel]] = defaultdict(list)
    for level in lock_stock_levels(sku_ids=sku_ids, location_ids=location_order):
        levels_by_sku[level.sku_id].append(level)
    # Only now, under the lock: a worker reserving the same reference (a redelivered task)
    # has either committed by now or waits behind us, so what it holds is visible here.
    held: dict[str, list[Reservation]] = defaultdict(list)
    for reservation in Reservation.objects.filter(
        reference__in={r.reference for r in requests}, quantity__gt=0
    ):
        held[reservation.reference].append(reservation)
    for levels in levels_by_sku.values():
        levels.sort(key=lambda lv: rank[lv.location_id])
    codes = dict(Sku.objects.filter(pk__in=sku_ids).values_list("pk", "code"))

    changed: dict[int, StockLevel] = {}
    new_reservations: list[Reservation] = []
    movements: list[StockMovement] = []
    for request, need, result in zip(requests, needs, results, strict=True):
        if held.get(request.reference):
            result.reservations = held[request.reference]
            result.already_reserved = True
            continue
        shortages = [
            Shortage(sku_id, codes.get(sku_id, str(sku_id)), wanted, free)
            for sku_id, wanted in sorted(need.items())
            if (free := sum(lv.free for lv in levels_by_sku.get(sku_id, []))) < wanted
        ]
        if shortages:
            result.shortages = shortages
            continue
        for sku_id, wanted in sorted(need.items()):
            remaining = wanted
            for level in levels_by_sku[sku_id]:
                take = min(remaining, level.free)
                if take <= 0:
                    continue
                level.reserved += take
                remaining -= take
                changed[level.pk] = level
                reservation = Reservation(
                    sku_id=sku_id,
                    location_id=level.location_id,
                    reference=request.reference,
                    quantity=take,
                    original_quantity=take,
                )
                new_reservations.append(reservation)
                result.reservations.append(reservation)
                movements.append(
                    _movement(
                        level,
                        MovementType.RESERVE,
                        reserved_delta=take,
                        reference=request.reference,
                        actor=actor,
                    )
                )
                if remaining == 0:
                    break
    if changed:
        _save_levels(changed.values())
        Reservation.objects.bulk_create(new_reservations)
        StockMovement.objects.bulk_create(movements)
        mark_stock_dirty({lv.sku_id for lv in changed.values()})
    return results


def stock_reserve(
    *, reference: str, lines: Sequence[tuple[int, int]], actor: User | None = None
) -> list[Reservation]:
    """Reserve all of `lines` for `reference` or nothing: raises InsufficientStock with how
    much each SKU is short."""
    (result,) = stock_reserve_many(requests=[ReserveRequest(reference, lines)], actor=actor)
    if not result.ok:
        raise InsufficientStock(result.shortages)
    return result.reservations


def _settle(
    *, reference: str, actor: User | None, reason: str, consume: bool, limit: Mapping[int, int] | None
) -> list[StockMovement]:
    # Reservation rows first (a concurrent settle of the same reference waits here and then
    # finds nothing left), then the stock levels in pk order.
    reservations = list(
        Reservation.objects.select_for_update().filter(reference=reference, quantity__gt=0).order_by("pk")
    )
    if not reservations:
        return []
    levels = {
        (lv.sku_id, lv.location_id): lv
        for lv in lock_stock_levels(
            sku_ids={r.sku_id for r in reservations}, location_ids={r.location_id for r in reservations}
        )
    }
    remaining = dict(limit) if limit is not None else None
    movements: list[StockMovement] = []
    touched: list[Reservation] = []
    for reservation in reservations:
        amount = reservation.quantity
        if remaining is not None:
            amount = min(amount, remaining.get(reservation.sku_id, 0))
            if amount <= 0:
                continue
            remaining[reservation.sku_id] -= amount
        level = levels[(reservation.sku_id, reservation.location_id)]
        level.reserved -= amount
        reservation.quantity -= amount
        if consume:
            level.on_hand -= amount
            reservation.consumed += amount
            movements.append(
                _movement(
                    level,
                    MovementType.SHIP,
                    quantity=-amount,
                    reserved_delta=-amount,
                    reason=reason,
                    reference=reference,
                    actor=actor,
                )
            )
        else:
            reservation.released += amount
            movements.append(
                _movement(
                    level,
                    MovementType.RELEASE,
                    reserved_delta=-amount,
                    reason=reason,
                    reference=reference,
                    actor=actor,
                )
            )
        touched.append(reservation)
    if remaining is not None and any(q > 0 for q in remaining.values()):
        missing = {sku_id: q for sku_id, q in remaining.items() if q > 0}
        raise InventoryError(
            _("%(reference)s does not hold that much stock: %(missing)s")
            % {"reference": reference, "missing": missing}
        )
    if touched:
        touched_levels = {(r.sku_id, r.location_id) for r in touched}
        _save_levels(levels[key] for key in touched_levels)
        now = timezone.now()
        for reservation in touched:
            reservation.updated_at = now
        Reservation.objects.bulk_update(touched, ["quantity", "consumed", "released", "updated_at"])
        StockMovement.objects.bulk_create(movements)
        mark_stock_dirty({r.sku_id for r in touched})
    return movements


@transaction.atomic
def stock_release(*, reference: str, actor: User | None = None, reason: str = "") -> list[StockMovement]:
    """Give back everything `reference` holds (an order line was cancelled). Safe to repeat."""
    return _settle(reference=reference, actor=actor, reason=reason, consume=False, limit=None)


@transaction.atomic
def stock_consume(
    *,
    reference: str,
    actor: User | None = None,
    reason: str = "",
    quantities: Mapping[int, int] | None = None,
) -> list[StockMovement]:
    """Ship what `reference` holds: on hand and reserved both drop, one SHIP movement per
    (SKU, location). `quantities` {sku_id: n} ships part of it. Safe to repeat: stock that
    was already shipped is not shipped again."""
    return _settle(reference=reference, actor=actor, reason=reason, consume=True, limit=quantities)
