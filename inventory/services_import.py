"""The stock Excel upload: each row sets a SKU's count at a location (방식 설정, stock_count) or
adds/removes stock (증감, stock_receive / stock_adjust). The preview shows on hand old -> new per
row; applying runs every inventory service call in one transaction, so any refused row refuses
the whole sheet and names the row. The session lifecycle is shared (catalog.services_import)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from catalog.models import Sku
from catalog.services_import import CHUNK, Plan, PlanRow, Progress, RowRefused, _fetch_by_codes, chunked
from inventory.excel import MODE_SET, STOCK_COLUMNS, parse_mode
from inventory.lock_objects import lock_stock_levels
from inventory.models import Location, StockLevel
from inventory.services import InventoryError, stock_adjust, stock_count, stock_receive
from oms.models import ImportSession, User
from oms.sheets import CellError, RowError, SheetTable, cell_int, cell_text

KEYS = [c.key for c in STOCK_COLUMNS]
LABEL = {c.key: c.header for c in STOCK_COLUMNS}
ON_HAND = "재고"  # the column shown for old -> new in the preview


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


@dataclass
class _Row:
    number: int
    raw: list[str]
    sku: Sku | None = None
    location: Location | None = None
    quantity: int | None = None
    mode: str | None = None
    reason: str = ""
    errors: list[RowError] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.number, LABEL[key], message, self.raw[KEYS.index(key)]))


class LocationFinder:
    """A location by code (first) or by name, both compared without spaces or case."""

    def __init__(self, locations: Iterable[Location]) -> None:
        self.by_code: dict[str, Location] = {}
        self.by_name: dict[str, list[Location]] = {}
        for location in locations:
            self.by_code[_norm(location.code)] = location
            self.by_name.setdefault(_norm(location.name), []).append(location)

    def find(self, text: str) -> tuple[Location | None, str]:
        key = _norm(text)
        if key in self.by_code:
            return self.by_code[key], ""
        named = self.by_name.get(key, [])
        if len(named) == 1:
            return named[0], ""
        if len(named) > 1:
            codes = ", ".join(loc.code for loc in named)
            return None, _("Several locations are named %(name)s (%(codes)s); use the location code.") % {
                "name": text,
                "codes": codes,
            }
        known = ", ".join(sorted(loc.code for loc in self.by_code.values())[:10])
        return None, _("No location %(name)s. Use a location code or name (%(known)s).") % {
            "name": text,
            "known": known,
        }


class StockImporter:
    kind = ImportSession.Kind.STOCK
    columns = STOCK_COLUMNS

    def plan(self, table: SheetTable, *, lock: bool, progress: Progress | None) -> Plan:
        rows: list[_Row] = []
        for sheet_row in table.rows():
            rows.append(self._parse(table, sheet_row))
        skus: dict[str, Sku] = _fetch_by_codes(Sku, (r.raw[0] for r in rows if r.raw[0]), lock=False)
        finder = LocationFinder(Location.objects.all())
        for row in rows:
            self._resolve(row, skus, finder)
        if progress:
            progress(len(rows) // 2, _("Comparing with the current stock"))

        pairs = {(r.sku.pk, r.location.pk) for r in rows if r.sku and r.location}
        sku_ids = sorted({s for s, _loc in pairs})
        location_ids = sorted({loc for _s, loc in pairs})
        levels: dict[tuple[int, int], StockLevel] = {}
        if lock:
            found = lock_stock_levels(sku_ids=sku_ids, location_ids=location_ids)
        else:
            found = []
            for part in chunked(sku_ids, CHUNK):
                found.extend(StockLevel.objects.filter(sku_id__in=part, location_id__in=location_ids))
        for level in found:
            levels[(level.sku_id, level.location_id)] = level

        out: list[PlanRow] = []
        seen: dict[tuple[int, int], int] = {}
        total_in = total_out = 0
        for row in rows:
            on_hand = reserved = 0
            new = None
            if row.sku and row.location:
                pair = (row.sku.pk, row.location.pk)
                if pair in seen:
                    row.error(
                        "sku_code",
                        _("%(sku)s at %(location)s is already on row %(row)s; put each SKU and location on "
                          "one row.")
                        % {"sku": row.sku.code, "location": row.location.name, "row": seen[pair]},
                    )  # fmt: skip
                else:
                    seen[pair] = row.number
                current = levels.get(pair)
                if current is not None:
                    on_hand, reserved = current.on_hand, current.reserved
                if row.quantity is not None and row.mode is not None:
                    new = row.quantity if row.mode == MODE_SET else on_hand + row.quantity
                    if new < 0:
                        row.error(
                            "quantity",
                            _("Stock would go below 0 (on hand %(on_hand)s, change %(change)s).")
                            % {"on_hand": on_hand, "change": row.quantity},
                        )
                    elif new < reserved:
                        row.error(
                            "quantity",
                            _("On hand would be %(new)s, below the %(reserved)s reserved for orders.")
                            % {"new": new, "reserved": reserved},
                        )
            key = [row.raw[0], row.location.name if row.location else row.raw[1]]
            if row.errors or new is None:
                out.append(PlanRow(row.number, "error", key, errors=row.errors, values=row.raw))
                continue
            if new == on_hand:
                out.append(PlanRow(row.number, "unchanged", key, values=row.raw))
                continue
            if new > on_hand:
                total_in += new - on_hand
            else:
                total_out += on_hand - new
            out.append(
                PlanRow(
                    row.number,
                    "update",
                    key,
                    changes=[[ON_HAND, on_hand, new], [LABEL["mode"], "", row.mode]],
                    values=row.raw,
                )
            )
        plan = Plan(
            kind=self.kind,
            rows=out,
            facts={"units_in": total_in, "units_out": total_out},
            headers=[c.header for c in STOCK_COLUMNS],
        )
        plan.context = {"rows": {r.number: r for r in rows}}
        return plan

    def _parse(self, table: SheetTable, sheet_row: Any) -> _Row:
        raw = [cell_text(sheet_row.get(k)) if table.has(k) else "" for k in KEYS]
        row = _Row(sheet_row.number, raw, reason=raw[KEYS.index("reason")][:200])
        if not raw[0]:
            row.error("sku_code", _("Required: this cell is empty."))
        if not raw[1]:
            row.error("location", _("Required: this cell is empty."))
        mode_text = raw[KEYS.index("mode")]
        if not mode_text:
            row.error("mode", _("Required: write 설정 (set the count) or 증감 (add or remove)."))
        else:
            row.mode = parse_mode(mode_text)
            if row.mode is None:
                row.error("mode", _("%(value)s: write 설정 (set the count) or 증감 (add or remove).") % {
                    "value": mode_text
                })  # fmt: skip
        try:
            row.quantity = cell_int(sheet_row.get("quantity"), min_value=-2_147_483_648)
            if row.quantity is None:
                row.error("quantity", _("Required: this cell is empty."))
            elif row.mode == MODE_SET and row.quantity < 0:
                row.error("quantity", _("A count (설정) cannot be negative."))
        except CellError as exc:
            row.error("quantity", str(exc))
        return row

    def _resolve(self, row: _Row, skus: dict[str, Sku], finder: LocationFinder) -> None:
        code, location_text = row.raw[0], row.raw[1]
        if code:
            row.sku = skus.get(code)
            if row.sku is None:
                row.error("sku_code", _("No SKU with the code %(code)s.") % {"code": code})
            elif row.sku.kind == Sku.Kind.BUNDLE:
                row.error(
                    "sku_code",
                    _("%(code)s is a bundle (세트상품): stock is kept on its components.") % {"code": code},
                )
                row.sku = None
        if location_text:
            location, message = finder.find(location_text)
            if location is None:
                row.error("location", message)
            elif not location.is_active:
                row.error("location", _("The location %(name)s is not in use.") % {"name": location.name})
            else:
                row.location = location

    def apply(self, plan: Plan, *, session: ImportSession, actor: User | None) -> dict[str, Any]:
        """Call the inventory services row by row inside the caller's transaction; the first
        refusal rolls everything back (RowRefused names the row)."""
        parsed: dict[int, _Row] = plan.context["rows"]
        reference = f"import:{session.pk}"
        default_reason = _("Excel upload")
        movements = 0
        for plan_row in plan.rows:
            if plan_row.status != "update":
                continue
            row = parsed[plan_row.row]
            assert row.sku is not None and row.location is not None and row.quantity is not None
            reason = row.reason or default_reason
            try:
                if row.mode == MODE_SET:
                    done = stock_count(
                        sku=row.sku,
                        location=row.location,
                        counted=row.quantity,
                        reason=reason,
                        reference=reference,
                        actor=actor,
                    )
                elif row.quantity > 0:
                    done = stock_receive(
                        sku=row.sku,
                        location=row.location,
                        quantity=row.quantity,
                        reason=reason,
                        reference=reference,
                        actor=actor,
                    )
                else:
                    done = stock_adjust(
                        sku=row.sku,
                        location=row.location,
                        delta=row.quantity,
                        reason=reason,
                        reference=reference,
                        actor=actor,
                    )
            except InventoryError as exc:
                plan_row.status = "error"
                plan_row.errors = [RowError(plan_row.row, LABEL["quantity"], str(exc), plan_row.values[2])]
                raise RowRefused(plan, plan_row.row, str(exc)) from exc
            movements += 1 if done is not None else 0
        counts = plan.counts()
        return {
            "rows_changed": counts["update"],
            "unchanged": counts["unchanged"],
            "movements": movements,
            "units_in": plan.facts.get("units_in", 0),
            "units_out": plan.facts.get("units_out", 0),
        }


STOCK_IMPORTER = StockImporter()
