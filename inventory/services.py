"""The only writer of StockLevel, StockMovement, Reservation and StockDirty.

Every change locks the affected StockLevel rows in primary-key order (lock_objects), writes a
ledger row per (SKU, location) it changes, and marks the SKUs stock-dirty in the same
transaction. Ledger invariant per (SKU, location): sum(quantity) == on_hand and
sum(reserved_delta) == reserved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Sku
from inventory.lock_objects import Shelf, lock_for_reserve, lock_stock_levels
from inventory.models import MARK_CLAIMED_SQL, Location, Reservation, StockDirty, StockLevel, StockMovement
from oms.db import pg_array
from oms.models import User

MovementType = StockMovement.Type

# A reservation that still holds stock, looked up by reference. Spelt "quantity <> 0" (the same
# rows: quantity >= 0) rather than "> 0", so Postgres cannot match the partial index on open
# reservations (reservation_open_sku_idx) and AND it with the reference index: that plan read
# every open reservation's index entry per look-up (1.1 ms at 30,000 open ones, vs 0.05 ms).
HOLDING = ~Q(quantity=0)


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


@dataclass
class _Take:
    """`quantity` of request number `request` taken from `shelf`; `reserved_after` is the
    shelf's reserved count right after it, for the ledger row."""

    request: int
    shelf: Shelf
    quantity: int
    reserved_after: int


def _need_of(
    lines: Sequence[tuple[int, int]], parts: Mapping[int, list[tuple[int, int]] | None]
) -> dict[int, int]:
    """{component sku_id: total quantity} for lines of single and bundle SKUs."""
    if len(lines) == 1 and parts.get(lines[0][0], ()) is None:  # one single SKU: most requests
        return {lines[0][0]: lines[0][1]}
    need: dict[int, int] = defaultdict(int)
    for sku_id, quantity in lines:
        items = parts.get(sku_id)
        if items is None:
            need[sku_id] += quantity
        elif not items:
            raise InventoryError(_("Bundle SKU %(id)s has no components.") % {"id": sku_id})
        else:
            for component_id, per_bundle in items:
                need[component_id] += per_bundle * quantity
    return dict(need)


def _allocate(
    needs: Sequence[dict[int, int]], shelves_by_sku: Mapping[int, list[Shelf]], *, skip: set[int]
) -> tuple[list[_Take], dict[int, list[tuple[int, int, int]]]]:
    """Serve the requests in order, each in full or not at all, from copies of the locked
    shelves (each SKU's shelves in location priority order). Returns the takes and, per short
    request, [(sku_id, wanted, free)]."""
    shelves = {sku_id: [replace(s) for s in rows] for sku_id, rows in shelves_by_sku.items()}
    # Free units per SKU, kept in step with the takes (a batch is often thousands of requests).
    free_of = {sku_id: sum(s.free for s in rows) for sku_id, rows in shelves.items()}
    takes: list[_Take] = []
    short: dict[int, list[tuple[int, int, int]]] = {}
    for index, need in enumerate(needs):
        if index in skip:
            continue
        items = sorted(need.items()) if len(need) > 1 else list(need.items())
        missing = [
            (sku_id, wanted, free) for sku_id, wanted in items if (free := free_of.get(sku_id, 0)) < wanted
        ]
        if missing:
            short[index] = missing
            continue
        for sku_id, wanted in items:
            free_of[sku_id] -= wanted
            remaining = wanted
            for shelf in shelves[sku_id]:
                take = min(remaining, shelf.on_hand - shelf.reserved)
                if take <= 0:
                    continue
                shelf.reserved += take
                remaining -= take
                takes.append(_Take(index, shelf, take, shelf.reserved))
                if remaining == 0:
                    break
    return takes, short


# Every write of a reservation batch in one statement (Postgres): the shelves' reserved counts,
# one Reservation and one RESERVE ledger row per take, the stock-dirty marks. It runs under the
# shelf locks, so its snapshot shows what any worker we waited for committed: if one of the
# batch's references already holds stock by then, nothing is written (`held`) and the caller
# serves the batch again without it. A reference that held stock at a shelf before (released or
# shipped since) gets its closed row back, with its history.
_RESERVE_WRITE_SQL = f"""
WITH held AS (
    SELECT 1 FROM {Reservation._meta.db_table}
    WHERE reference = ANY(%(guard)s::varchar[]) AND quantity <> 0
    LIMIT 1
), shelf AS (
    UPDATE {StockLevel._meta.db_table} AS sl SET reserved = v.reserved, updated_at = %(now)s
    FROM unnest(%(shelf_ids)s::bigint[], %(shelf_reserved)s::integer[]) AS v(id, reserved)
    WHERE sl.id = v.id AND NOT EXISTS (SELECT FROM held)
), reservation AS (
    INSERT INTO {Reservation._meta.db_table} AS r
        (sku_id, location_id, reference, quantity, original_quantity, consumed, released, created_at,
         updated_at)
    SELECT t.sku_id, t.location_id, t.reference, t.quantity, t.quantity, 0, 0, %(now)s, %(now)s
    FROM unnest(%(sku_ids)s::bigint[], %(location_ids)s::bigint[], %(references)s::varchar[],
                %(quantities)s::integer[]) AS t(sku_id, location_id, reference, quantity)
    WHERE NOT EXISTS (SELECT FROM held)
    ON CONFLICT (reference, sku_id, location_id) DO UPDATE
    SET quantity = r.quantity + EXCLUDED.quantity,
        original_quantity = r.original_quantity + EXCLUDED.quantity,
        updated_at = EXCLUDED.updated_at
    RETURNING r.id, r.reference, r.sku_id, r.location_id, r.quantity, r.original_quantity, r.consumed,
              r.released, r.created_at
), movement AS (
    INSERT INTO {StockMovement._meta.db_table}
        (sku_id, location_id, type, quantity, reserved_delta, on_hand_after, reserved_after, reason,
         reference, user_id, created_at)
    SELECT t.sku_id, t.location_id, %(type)s, 0, t.quantity, t.on_hand, t.reserved, '', t.reference,
           %(user_id)s, %(now)s
    FROM unnest(%(sku_ids)s::bigint[], %(location_ids)s::bigint[], %(references)s::varchar[],
                %(quantities)s::integer[], %(on_hand_after)s::integer[], %(reserved_after)s::integer[])
         AS t(sku_id, location_id, reference, quantity, on_hand, reserved)
    WHERE NOT EXISTS (SELECT FROM held)
), dirty AS (
    INSERT INTO {StockDirty._meta.db_table} (sku_id, marked_at)
    SELECT DISTINCT d.sku_id, %(now)s::timestamptz FROM unnest(%(sku_ids)s::bigint[]) AS d(sku_id)
    WHERE NOT EXISTS (SELECT FROM held)
    ORDER BY d.sku_id
    ON CONFLICT (sku_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
    WHERE {StockDirty._meta.db_table}.marked_at = {MARK_CLAIMED_SQL}
)
SELECT * FROM reservation
"""  # noqa: S608 (only table names from Meta are formatted in)
_RESERVE_RETURN = "SELECT * FROM reservation\n"
_RESERVE_COUNT = "SELECT count(*) FROM reservation\n"
assert _RESERVE_RETURN in _RESERVE_WRITE_SQL


def _stored_reservation(reference: str, row: Sequence[Any], now: datetime) -> Reservation:
    """A Reservation for a row the database returned (id, sku_id, location_id, quantity,
    original_quantity, consumed, released, created_at): marked as stored, no query."""
    pk, sku_id, location_id, quantity, original, consumed, released, created_at = row
    reservation = Reservation(
        pk=pk,
        sku_id=sku_id,
        location_id=location_id,
        reference=reference,
        quantity=quantity,
        original_quantity=original,
        consumed=consumed,
        released=released,
        created_at=created_at,
        updated_at=now,
    )
    reservation._state.adding = False
    reservation._state.db = connection.alias
    return reservation


def _write_reservations(
    takes: Sequence[_Take],
    references: Sequence[str],
    *,
    guard: set[str],
    actor: User | None,
    now: datetime,
    detail: bool = True,
) -> list[Reservation] | None:
    """Write the takes (references[i] is take i's) unless a reference in `guard` already holds
    stock (then nothing is written and None is returned); returns the reservation of each take
    (with `detail`; otherwise an empty list)."""
    user_id = actor.pk if actor is not None and actor.is_authenticated else None
    shelves = {t.shelf.pk: t.shelf for t in takes}
    if connection.vendor == "postgresql":
        # Arrays as single literals: psycopg's client-side binding would quote each element.
        params: dict[str, Any] = {
            "guard": pg_array(sorted(guard)),
            "now": now,
            "shelf_ids": pg_array(shelves),
            "shelf_reserved": pg_array(s.reserved for s in shelves.values()),
            "sku_ids": pg_array(t.shelf.sku_id for t in takes),
            "location_ids": pg_array(t.shelf.location_id for t in takes),
            "references": pg_array(references),
            "quantities": pg_array(t.quantity for t in takes),
            "on_hand_after": pg_array(t.shelf.on_hand for t in takes),
            "reserved_after": pg_array(t.reserved_after for t in takes),
            "type": MovementType.RESERVE.value,
            "user_id": user_id,
        }
        with connection.cursor() as cursor:
            if not detail:
                cursor.execute(_RESERVE_WRITE_SQL.replace(_RESERVE_RETURN, _RESERVE_COUNT), params)
                (count,) = cursor.fetchone()
                return [] if count else None
            cursor.execute(_RESERVE_WRITE_SQL, params)
            rows = {(row[1], row[2], row[3]): row for row in cursor.fetchall()}
        if not rows:
            return None
        written: list[Reservation] = []
        for take, reference in zip(takes, references, strict=True):
            row = rows[(reference, take.shelf.sku_id, take.shelf.location_id)]
            written.append(_stored_reservation(reference, (row[0], *row[2:]), now))
        return written

    # Elsewhere (SQLite: the IMMEDIATE transaction already serialises writers) the same, step by step.
    if Reservation.objects.filter(HOLDING, reference__in=guard).exists():
        return None
    StockLevel.objects.bulk_update(
        [StockLevel(pk=s.pk, reserved=s.reserved, updated_at=now) for s in shelves.values()],
        ["reserved", "updated_at"],
    )
    closed = {
        (r.reference, r.sku_id, r.location_id): r
        for r in Reservation.objects.filter(reference__in=set(references), quantity=0)
    }
    saved: list[Reservation] = []
    reopened: list[Reservation] = []
    new: list[Reservation] = []
    for take, reference in zip(takes, references, strict=True):
        old = closed.get((reference, take.shelf.sku_id, take.shelf.location_id))
        if old is not None:
            old.quantity += take.quantity
            old.original_quantity += take.quantity
            old.updated_at = now
            reopened.append(old)
            saved.append(old)
            continue
        reservation = Reservation(
            sku_id=take.shelf.sku_id,
            location_id=take.shelf.location_id,
            reference=reference,
            quantity=take.quantity,
            original_quantity=take.quantity,
        )
        new.append(reservation)
        saved.append(reservation)
    Reservation.objects.bulk_update(reopened, ["quantity", "original_quantity", "updated_at"])
    Reservation.objects.bulk_create(new)
    StockMovement.objects.bulk_create(
        StockMovement(
            sku_id=t.shelf.sku_id,
            location_id=t.shelf.location_id,
            type=MovementType.RESERVE,
            quantity=0,
            reserved_delta=t.quantity,
            on_hand_after=t.shelf.on_hand,
            reserved_after=t.reserved_after,
            reference=reference,
            user_id=user_id,
        )
        for t, reference in zip(takes, references, strict=True)
    )
    mark_stock_dirty(s.sku_id for s in shelves.values())
    return saved if detail else []


def _held(references: Iterable[str]) -> dict[str, list[Reservation]]:
    held: dict[str, list[Reservation]] = defaultdict(list)
    for reservation in Reservation.objects.filter(HOLDING, reference__in=set(references)).order_by("pk"):
        held[reservation.reference].append(reservation)
    return dict(held)


@transaction.atomic
def stock_reserve_many(
    *, requests: Sequence[ReserveRequest], actor: User | None = None, detail: bool = True
) -> list[ReserveResult]:
    """Reserve for many references in one transaction, each all or nothing.

    All StockLevel rows of all SKUs involved are locked once, in pk order; requests are then
    served in the given order (oldest first is the caller's choice), each SKU from the selling
    locations in priority order. A request that cannot be met in full reserves nothing and
    reports its shortages; later requests still go on. A reference that already holds stock
    is left as it is (safe to run twice, also by two workers at once); a reference repeated in
    the batch is served once. Without `detail` the results carry no Reservation rows (only
    ok / shortages / already_reserved), which saves building one object per line of a big batch."""
    for request in requests:
        for _sku_id, quantity in request.lines:
            _positive(quantity)
    results = [ReserveResult(reference=r.reference) for r in requests]
    if not requests:
        return results
    first_of: dict[str, int] = {}
    repeats = {i for i, r in enumerate(requests) if first_of.setdefault(r.reference, i) != i}

    locked = lock_for_reserve(sku_ids={sku_id for r in requests for sku_id, _q in r.lines})
    needs = [_need_of(r.lines, locked.parts) for r in requests]
    shelves_by_sku: dict[int, list[Shelf]] = defaultdict(list)
    for shelf in sorted(locked.shelves, key=lambda s: (s.priority, s.location_id)):
        shelves_by_sku[shelf.sku_id].append(shelf)

    # Usually one pass. A pass finds out, under the lock, which references already hold stock
    # (a repeated run, or a worker we just waited for) and serves the batch again without them.
    held: dict[str, list[Reservation]] = {}
    now = timezone.now()
    while True:
        skip = repeats | {i for i, r in enumerate(requests) if r.reference in held}
        pending = {requests[i].reference for i in range(len(requests)) if i not in skip}
        takes, short = _allocate(needs, shelves_by_sku, skip=skip)
        reservations: list[Reservation] = []
        if not pending:
            break
        if takes:
            references = [requests[t.request].reference for t in takes]
            written = _write_reservations(
                takes, references, guard=pending, actor=actor, now=now, detail=detail
            )
            if written is not None:
                reservations = written
                break
        found = _held(pending)
        if not takes and not found:
            break
        held.update(found)

    codes = dict(
        Sku.objects.filter(pk__in={s for rows in short.values() for s, _w, _f in rows}).values_list(
            "pk", "code"
        )
        if short
        else ()
    )
    for take, reservation in zip(takes if detail else (), reservations, strict=True):
        results[take.request].reservations.append(reservation)
    for index, rows in short.items():
        results[index].shortages = [
            Shortage(sku_id, codes.get(sku_id, str(sku_id)), wanted, max(0, free))
            for sku_id, wanted, free in rows
        ]
    for index, request in enumerate(requests):
        if request.reference in held:
            results[index].reservations = held[request.reference]
            results[index].already_reserved = True
        elif index in repeats:
            first = results[first_of[request.reference]]
            results[index] = replace(first, already_reserved=first.ok)
    return results


def stock_reserve(
    *, reference: str, lines: Sequence[tuple[int, int]], actor: User | None = None
) -> list[Reservation]:
    """Reserve all of `lines` for `reference` or nothing: raises InsufficientStock with how
    much each SKU is short. Safe to repeat: a reference that holds stock gets its reservations
    back and nothing more is reserved.

    Outside a transaction on PostgreSQL this is one statement (the inventory_reserve_one
    function, migration 0002, which does what stock_reserve_many does for one request), so the
    shelves stay locked only inside the server; elsewhere it is stock_reserve_many."""
    if lines and connection.vendor == "postgresql" and not connection.in_atomic_block:
        for _sku_id, quantity in lines:
            _positive(quantity)
        return _reserve_in_one_statement(reference, lines, actor)
    (result,) = stock_reserve_many(requests=[ReserveRequest(reference, lines)], actor=actor)
    if not result.ok:
        raise InsufficientStock(result.shortages)
    return result.reservations


_RESERVE_ONE_SQL = "SELECT * FROM inventory_reserve_one(%s, %s::bigint[], %s::integer[], %s, %s)"


def _reserve_in_one_statement(
    reference: str, lines: Sequence[tuple[int, int]], actor: User | None
) -> list[Reservation]:
    user_id = actor.pk if actor is not None and actor.is_authenticated else None
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _RESERVE_ONE_SQL,
            # the time is the server's (now()), saving the client a timestamp parameter
            [reference, pg_array(s for s, _q in lines), pg_array(q for _s, q in lines), user_id, None],
        )
        rows = cursor.fetchall()
    reservations: list[Reservation] = []
    shortages: list[tuple[int, int, int]] = []
    for tag, pk, sku_id, location_id, quantity, original, consumed, released, created_at in rows:
        if tag == "empty_bundle":
            raise InventoryError(_("Bundle SKU %(id)s has no components.") % {"id": sku_id})
        if tag == "short":
            shortages.append((sku_id, quantity, original))
            continue
        reservations.append(
            _stored_reservation(
                reference, (pk, sku_id, location_id, quantity, original, consumed, released, created_at), now
            )
        )
    if shortages:
        codes = dict(Sku.objects.filter(pk__in={s for s, _w, _f in shortages}).values_list("pk", "code"))
        raise InsufficientStock(
            [Shortage(s, codes.get(s, str(s)), wanted, max(0, free)) for s, wanted, free in shortages]
        )
    return reservations


def _settle(
    *,
    references: Sequence[str],
    actor: User | None,
    reason: str,
    consume: bool,
    limit: Mapping[int, int] | None,
) -> list[StockMovement]:
    # Reservation rows first (a concurrent settle of the same reference waits here and then
    # finds nothing left), then the stock levels in pk order. `limit` is for one reference only.
    assert limit is None or len(references) == 1
    reservations = list(
        Reservation.objects.select_for_update()
        .filter(HOLDING, reference__in=list(dict.fromkeys(references)))
        .order_by("pk")
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
                    reference=reservation.reference,
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
                    reference=reservation.reference,
                    actor=actor,
                )
            )
        touched.append(reservation)
    if remaining is not None and any(q > 0 for q in remaining.values()):
        missing = {sku_id: q for sku_id, q in remaining.items() if q > 0}
        raise InventoryError(
            _("%(reference)s does not hold that much stock: %(missing)s")
            % {"reference": references[0], "missing": missing}
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
    return _settle(references=[reference], actor=actor, reason=reason, consume=False, limit=None)


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
    return _settle(references=[reference], actor=actor, reason=reason, consume=True, limit=quantities)


@transaction.atomic
def stock_consume_many(
    *, references: Sequence[str], actor: User | None = None, reason: str = ""
) -> list[StockMovement]:
    """stock_consume for many references at once (a dispatch of thousands of lines): the same
    ledger rows, locks taken once for all of them in the same order. Safe to repeat."""
    movements: list[StockMovement] = []
    for start in range(0, len(references), 1000):
        movements += _settle(
            references=references[start : start + 1000], actor=actor, reason=reason, consume=True, limit=None
        )
    return movements
