"""Reads for the warehouse floor: which boxes a pick list or a slip run covers, what to pick at
which location (from the lines' reservations), and what goes into each box (the lines' SKUs with
bundles opened into their components).

Everything here works on a set of shipments in a fixed number of queries (chunked IN lists),
whatever the number of boxes: thousands of boxes are one morning's pick list.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from catalog.models import BundleItem, Sku
from inventory.models import Location, Reservation
from orders.models import LineSku, OrderLine, reservation_reference
from shipping.barcodes import code128_svg
from shipping.models import Shipment, ShipmentItem, ShipmentStatus, shipment_number, shipment_pk_from_number
from shipping.selectors import live_items_q

# Boxes still to be picked: made, maybe with their invoice printed, not yet packed.
UNPACKED_STATES = (ShipmentStatus.READY, ShipmentStatus.PRINTED)
# Boxes a pick list or slips may be printed for when chosen by hand.
PRINTABLE_STATES = (ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED)

CHUNK = 2000  # ids per IN list (SQLite caps bound parameters)
_ID_SPLIT = re.compile(r"[\s,;]+")

T = TypeVar("T")


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Which boxes -------------------------------------------------------------------------------


def parse_shipment_ids(values: Iterable[str]) -> list[int]:
    """`ids` as the desk sends them: repeated (?ids=1&ids=2), comma-separated (?ids=1,2,3), as
    primary keys or 출고번호 (S00000123). Anything unreadable is ignored."""
    out: list[int] = []
    seen: set[int] = set()
    for value in values:
        for part in _ID_SPLIT.split(str(value)):
            pk = shipment_pk_from_number(part) if part else None
            if pk and pk not in seen:
                seen.add(pk)
                out.append(pk)
    return out


@dataclass(frozen=True)
class BoxFilters:
    """The boxes a pick list or slips cover: chosen ones (`ids`), or every open box not yet
    packed, narrowed by account, courier and status."""

    ids: tuple[int, ...] = ()
    account_id: int | None = None
    courier_id: int | None = None
    status: str = ""

    @property
    def chosen(self) -> bool:
        return bool(self.ids)


def pick_shipments(*, filters: BoxFilters) -> QuerySet[Shipment]:
    qs = Shipment.objects.all()
    if filters.ids:
        qs = qs.filter(pk__in=filters.ids, status__in=PRINTABLE_STATES)
    if filters.status:
        qs = qs.filter(status=filters.status)
    elif not filters.ids:
        qs = qs.filter(status__in=UNPACKED_STATES)
    if filters.account_id:
        qs = qs.filter(account_id=filters.account_id)
    if filters.courier_id:
        qs = qs.filter(courier_id=filters.courier_id)
    return qs.order_by("pk")


# --- What each box holds ----------------------------------------------------------------------


@dataclass
class BoxContents:
    """The stock SKUs of a set of boxes: needs[shipment_id][sku_id] = units to put in the box
    (bundles opened into their components), and every SKU involved (with its product)."""

    needs: dict[int, dict[int, int]]
    skus: dict[int, Sku]
    # Lines with no SKU (매칭 필요): they cannot be picked or scanned.
    unmapped: dict[int, list[OrderLine]] = field(default_factory=dict)


def _line_box(shipment_ids: Sequence[int], *, live_only: bool) -> dict[int, int]:
    """{line id: shipment id} of the boxes' items; `live_only`: only lines that ship (READY),
    as held or cancelled lines stay out of pick lists and slips."""
    out: dict[int, int] = {}
    items = ShipmentItem.objects.filter(live_items_q()) if live_only else ShipmentItem.objects.all()
    for chunk in _chunks(list(shipment_ids)):
        out.update(items.filter(shipment_id__in=chunk).values_list("line_id", "shipment_id"))
    return out


def bundle_parts(bundle_ids: Iterable[int]) -> dict[int, list[BundleItem]]:
    """{bundle sku id: its components (with products)} in one query per chunk."""
    out: dict[int, list[BundleItem]] = defaultdict(list)
    ids = sorted(set(bundle_ids))
    for chunk in _chunks(ids):
        for item in (
            BundleItem.objects.filter(bundle_id__in=chunk)
            .select_related("component__product")
            .order_by("bundle_id", "component__code")
        ):
            out[item.bundle_id].append(item)
    return out


def skus_by_id(ids: Iterable[int]) -> dict[int, Sku]:
    """The SKUs (with products), each loaded once however many lines name it."""
    out: dict[int, Sku] = {}
    for chunk in _chunks(sorted(set(ids))):
        out.update((sku.pk, sku) for sku in Sku.objects.filter(pk__in=chunk).select_related("product"))
    return out


def box_contents(*, shipment_ids: Sequence[int], live_only: bool = True) -> BoxContents:
    """What goes into each box, per stock SKU (of its READY lines, or of every line)."""
    return _contents(shipment_ids, _line_box(shipment_ids, live_only=live_only))


def _contents(shipment_ids: Sequence[int], line_box: dict[int, int]) -> BoxContents:
    # Plain tuples, not model rows: thousands of boxes are tens of thousands of allocations,
    # and the SKUs they name are few.
    allocations: list[tuple[int, int, int]] = []  # (line, sku, quantity)
    for chunk in _chunks(list(line_box)):
        allocations.extend(
            LineSku.objects.filter(line_id__in=chunk).values_list("line_id", "sku_id", "quantity")
        )
    named = skus_by_id(sku_id for _line, sku_id, _q in allocations)
    parts = bundle_parts(pk for pk, sku in named.items() if sku.kind == Sku.Kind.BUNDLE)
    needs: dict[int, dict[int, int]] = {pk: defaultdict(int) for pk in shipment_ids}
    skus: dict[int, Sku] = {}
    mapped_lines = set()
    for line_id, sku_id, quantity in allocations:
        mapped_lines.add(line_id)
        box = needs[line_box[line_id]]
        if named[sku_id].kind == Sku.Kind.BUNDLE:
            for part in parts.get(sku_id, []):
                skus[part.component_id] = part.component
                box[part.component_id] += part.quantity * quantity
        else:
            skus[sku_id] = named[sku_id]
            box[sku_id] += quantity
    unmapped: dict[int, list[OrderLine]] = defaultdict(list)
    missing = [line_id for line_id in line_box if line_id not in mapped_lines]
    for chunk in _chunks(missing):
        for line in OrderLine.objects.filter(pk__in=chunk).order_by("pk"):
            unmapped[line_box[line.pk]].append(line)
    return BoxContents(needs={k: dict(v) for k, v in needs.items()}, skus=skus, unmapped=dict(unmapped))


# --- Pick list --------------------------------------------------------------------------------

NUMBERS_SHOWN = 30  # 출고번호 listed per row; the rest is counted


@dataclass
class PickRow:
    """One SKU to take from one location (location None: not reserved anywhere, short)."""

    location: Location | None
    sku: Sku
    quantity: int = 0
    boxes: dict[int, int] = field(default_factory=dict)  # shipment id -> units

    @property
    def box_count(self) -> int:
        return len(self.boxes)

    @property
    def numbers(self) -> list[tuple[str, int]]:
        """The first 출고번호s this SKU goes to, with the units each gets."""
        return [(shipment_number(pk), n) for pk, n in sorted(self.boxes.items())[:NUMBERS_SHOWN]]

    @property
    def more_boxes(self) -> int:
        return max(0, len(self.boxes) - NUMBERS_SHOWN)


@dataclass
class PickList:
    rows: list[PickRow]
    short: list[PickRow]  # needed but not reserved: cannot be picked until stock arrives
    shipment_count: int
    unmapped_boxes: list[int]

    @property
    def unit_total(self) -> int:
        return sum(r.quantity for r in self.rows)

    @property
    def sku_count(self) -> int:
        return len({r.sku.pk for r in self.rows})

    @property
    def location_count(self) -> int:
        return len({r.location.pk for r in self.rows if r.location})

    def by_location(self) -> list[tuple[Location, list[PickRow]]]:
        groups: list[tuple[Location, list[PickRow]]] = []
        for row in self.rows:
            assert row.location is not None
            if not groups or groups[-1][0].pk != row.location.pk:
                groups.append((row.location, []))
            groups[-1][1].append(row)
        return groups


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """'A-2' before 'A-10', as shelves are numbered: digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(text))


def _walk_key(row: PickRow) -> tuple[Any, ...]:
    # Walking order: the location picked from first (priority), then along the shelves. Without
    # bins, SKU codes are what shelves are labelled by (in natural order); the product name
    # breaks ties.
    loc = row.location
    return (
        (loc.priority, natural_key(loc.code), loc.pk) if loc else (10**6, (), 0),
        natural_key(row.sku.code),
        row.sku.product.name,
    )


def pick_list(*, shipment_ids: Sequence[int]) -> PickList:
    """Stock SKU x quantity per location for these boxes, sorted for walking, each with the
    boxes it goes to. Quantities come from the lines' reservations (bundles are reserved as
    their components); what a box needs beyond its reservations is listed as short."""
    shipment_ids = list(shipment_ids)
    line_box = _line_box(shipment_ids, live_only=True)
    rows: dict[tuple[int, int], PickRow] = {}
    reserved: dict[tuple[int, int], int] = defaultdict(int)  # (shipment, sku) -> units held
    refs = [reservation_reference(line_id) for line_id in line_box]
    held: list[tuple[str, int, int, int]] = []  # (reference, sku, location, units)
    for chunk in _chunks(refs):
        held.extend(
            Reservation.objects.filter(reference__in=chunk, quantity__gt=0).values_list(
                "reference", "sku_id", "location_id", "quantity"
            )
        )
    contents = _contents(shipment_ids, line_box)
    skus = {
        **skus_by_id(sku_id for _r, sku_id, _l, _q in held if sku_id not in contents.skus),
        **contents.skus,
    }
    locations = {loc.pk: loc for loc in Location.objects.filter(pk__in={loc for _r, _s, loc, _q in held})}
    for reference, sku_id, location_id, units in held:
        box = line_box[int(reference.rpartition(":")[2])]
        row = rows.setdefault(
            (location_id, sku_id), PickRow(location=locations[location_id], sku=skus[sku_id])
        )
        row.quantity += units
        row.boxes[box] = row.boxes.get(box, 0) + units
        reserved[(box, sku_id)] += units

    short: dict[int, PickRow] = {}
    for box, need in contents.needs.items():
        for sku_id, units in need.items():
            missing = units - reserved.get((box, sku_id), 0)
            if missing > 0:
                row = short.setdefault(sku_id, PickRow(location=None, sku=contents.skus[sku_id]))
                row.quantity += missing
                row.boxes[box] = row.boxes.get(box, 0) + missing
    return PickList(
        rows=sorted(rows.values(), key=_walk_key),
        short=sorted(short.values(), key=_walk_key),
        shipment_count=len(shipment_ids),
        unmapped_boxes=sorted(contents.unmapped),
    )


# --- Packing slips ----------------------------------------------------------------------------


@dataclass
class SlipSku:
    sku: Sku
    quantity: int
    components: list[tuple[Sku, int]] = field(default_factory=list)  # bundle: (component, units)


@dataclass
class SlipLine:
    line: OrderLine
    skus: list[SlipSku]


@dataclass
class Slip:
    shipment: Shipment
    lines: list[SlipLine]

    @cached_property
    def barcode(self) -> SafeString:
        """The 출고번호 as an inline Code 128 SVG (what the packing table scans)."""
        return code128_svg(self.shipment.number)

    @property
    def order_numbers(self) -> list[str]:
        return list(dict.fromkeys(sl.line.order.external_order_id for sl in self.lines))

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys(sl.line.account.name for sl in self.lines))

    @property
    def unit_total(self) -> int:
        return sum(sl.line.quantity for sl in self.lines)

    @property
    def pack_units(self) -> int:
        """Pieces that go into the box: bundles counted as their components."""
        return sum(
            sum(n for _c, n in s.components) if s.components else s.quantity
            for sl in self.lines
            for s in sl.skus
        )


def slip_list(*, shipments: Sequence[Shipment]) -> list[Slip]:
    """One slip per box: its lines (with order and channel) and each line's SKUs, bundles with
    their components. Four queries per chunk of boxes."""
    ids = [s.pk for s in shipments]
    lines_of: dict[int, list[OrderLine]] = defaultdict(list)
    for chunk in _chunks(ids):
        items = (
            ShipmentItem.objects.filter(live_items_q(), shipment_id__in=chunk)
            .select_related("line__order", "line__account")
            .order_by("shipment_id", "line__order_id", "line_id")
        )
        for item in items:
            lines_of[item.shipment_id].append(item.line)
    allocations: dict[int, list[LineSku]] = defaultdict(list)
    line_ids = [line.pk for lines in lines_of.values() for line in lines]
    for chunk in _chunks(line_ids):
        for allocation in (
            LineSku.objects.filter(line_id__in=chunk).select_related("sku__product").order_by("pk")
        ):
            allocations[allocation.line_id].append(allocation)
    parts = bundle_parts(
        a.sku_id for group in allocations.values() for a in group if a.sku.kind == Sku.Kind.BUNDLE
    )
    slips = []
    for shipment in shipments:
        slip_lines = []
        for line in lines_of.get(shipment.pk, []):
            slip_skus = [
                SlipSku(
                    sku=a.sku,
                    quantity=a.quantity,
                    components=[(p.component, p.quantity * a.quantity) for p in parts.get(a.sku_id, [])],
                )
                for a in allocations.get(line.pk, [])
            ]
            slip_lines.append(SlipLine(line=line, skus=slip_skus))
        slips.append(Slip(shipment=shipment, lines=slip_lines))
    return slips


# --- The packing table's figures --------------------------------------------------------------


@dataclass(frozen=True)
class PackFigures:
    waiting: int  # boxes not packed yet (ready or invoice printed)
    packed_today: int


def pack_figures() -> PackFigures:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return PackFigures(
        waiting=Shipment.objects.filter(status__in=UNPACKED_STATES).count(),
        packed_today=Shipment.objects.filter(status=ShipmentStatus.PACKED, packed_at__gte=start).count(),
    )
