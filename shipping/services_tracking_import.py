"""The tracking-number upload (송장번호 일괄등록): a sheet of numbers -> boxes, previewed, then
applied all or nothing through shipping.services_tracking.

Three layouts, told apart by their headers (never by column position):
- generic: 출고번호 or 주문번호 / 상품주문번호, with 택배사 (blank = the box's courier, else the
  default courier) and 송장번호; our own template (excel_tracking) is this layout;
- SmartStore's bulk dispatch sheet (발송처리): 상품주문번호 | 배송방법 | 택배사 | 송장번호, the courier by
  its Korean name; the header may sit below a notice row;
- Coupang's DeliveryList (sheet Delivery) with 운송장번호 filled: each row is 묶음배송번호 + 옵션ID,
  which is the line id the Coupang adapter and the order-sheet import give Coupang lines.
- CJ대한통운's result file of our CJ courier sheet: 고객주문번호 (our 출고번호) + 운송장번호, courier CJ;
  our generic courier sheet with 송장번호 typed in is the generic layout.

A row keyed by an order line lands on that line's box; an order number lands on the one box
holding that order's lines. Rows without a tracking number are skipped (a DeliveryList lists
every order, filled in or not). The upload lifecycle (keep the file, preview, re-check with the
boxes locked, apply in one transaction, job for big files) is oms.models.ImportSession's, shared
with the product and stock uploads (catalog.services_import)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from catalog.services_import import (
    CHUNK,
    Plan,
    PlanRow,
    Progress,
    RowRefused,
    chunked,
    import_file,
    import_session_create,
    import_session_start_preview,
)
from channels.models import Marketplace
from oms.models import ImportSession, User
from oms.sheets import Column, HeaderNotFound, RowError, SheetTable, cell_text, normalize_header
from orders.models import OrderLine
from shipping.couriers import CourierIndex, TrackingNumberInvalid, courier_index, tracking_validate
from shipping.models import Courier, Shipment, ShipmentStatus, shipment_number, shipment_pk_from_number
from shipping.services_tracking import (
    TrackingAssignment,
    TrackingRefused,
    shipments_set_tracking_many,
    tracking_assignments_check,
)

GENERIC = "generic"
SMARTSTORE = "smartstore"
COUPANG = "coupang"
CJ_RESULT = "cj"  # CJ대한통운's result file of our CJ courier sheet: 고객주문번호 is our 출고번호

H_SHIPMENT = "출고번호"
H_ORDER = "주문번호"
H_LINE = "상품주문번호"
H_COURIER = "택배사"
H_TRACKING = "송장번호"
H_COUPANG_TRACKING = "운송장번호"
H_BUNDLE = "묶음배송번호"
H_OPTION = "옵션ID"
H_METHOD = "배송방법"
H_CJ_KEY = "고객주문번호"

TRACKING_COLUMNS: list[Column] = [
    Column("shipment_no", H_SHIPMENT, (H_CJ_KEY, "출고ID", "shipment", "shipment no", "shipment number")),
    Column("order_no", H_ORDER, ("order no", "order number", "order id", "orderid")),
    Column("line_no", H_LINE, ("line no", "product order no", "productorderid")),
    Column("courier", H_COURIER, ("택배사명", "택배회사", "택배업체", "배송업체", "courier", "carrier")),
    Column(
        "tracking",
        H_TRACKING,
        (
            H_COUPANG_TRACKING,
            "송장",
            "운송장",
            "tracking number",
            "tracking no",
            "tracking",
            "invoice number",
        ),
        required=True,
    ),
    Column("method", H_METHOD),
    Column("bundle_no", H_BUNDLE),
    Column("option_id", H_OPTION),
]

# The columns each layout reads, in the order the bad-rows sheet repeats them.
LAYOUT_KEYS = {
    GENERIC: ["shipment_no", "order_no", "line_no", "courier", "tracking"],
    CJ_RESULT: ["shipment_no", "courier", "tracking"],
    SMARTSTORE: ["line_no", "order_no", "method", "courier", "tracking"],
    COUPANG: ["bundle_no", "order_no", "option_id", "courier", "tracking"],
}
LAYOUT_MARKETPLACE = {SMARTSTORE: Marketplace.SMARTSTORE, COUPANG: Marketplace.COUPANG}
# A blank 택배사 in these sheets means this courier (before the box's own and the default one).
LAYOUT_COURIER = {CJ_RESULT: "CJGLS"}


def layout_label(layout: str) -> str:
    return {
        GENERIC: _("Tracking number sheet (출고번호 / 주문번호)"),
        SMARTSTORE: _("SmartStore bulk dispatch sheet"),
        COUPANG: _("Coupang DeliveryList"),
        CJ_RESULT: _("CJ대한통운 result file (고객주문번호, 운송장번호)"),
    }.get(layout, layout)


def detect_layout(table: SheetTable) -> str:
    """Which sheet this is, from the headers found. Raises HeaderNotFound when no key column is
    there (nothing says which box a number belongs to)."""
    has = table.has
    if has("bundle_no") and has("option_id") and has("order_no"):
        return COUPANG
    if has("line_no") and has("method"):
        return SMARTSTORE
    if has("shipment_no") and normalize_header(table.header_for("shipment_no")) == normalize_header(H_CJ_KEY):
        return CJ_RESULT
    if has("shipment_no") or has("order_no") or has("line_no"):
        return GENERIC
    raise HeaderNotFound(
        _(
            "The sheet has a 송장번호 column but nothing saying which box it belongs to: add a %(a)s, "
            "%(b)s or %(c)s column."
        )
        % {"a": H_SHIPMENT, "b": H_ORDER, "c": H_LINE},
        [H_SHIPMENT],
    )


@dataclass
class _Row:
    number: int
    raw: dict[str, str]
    header: dict[str, str]  # key -> header text as written in the sheet
    key_field: str = ""  # the column that found the box
    shipment_id: int | None = None
    courier: Courier | None = None
    tracking: str = ""
    recipient: str = ""
    errors: list[RowError] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.number, self.header.get(key, key), message, self.raw.get(key, "")))


@dataclass(frozen=True)
class _Line:
    marketplace: str
    shipment_id: int | None
    shipment_status: str


def _lines_by(field_name: str, values: set[str]) -> dict[str, list[_Line]]:
    out: dict[str, list[_Line]] = defaultdict(list)
    for part in chunked(sorted(values), CHUNK):
        rows = OrderLine.objects.filter(**{f"{field_name}__in": part}).values_list(
            field_name,
            "account__marketplace",
            "shipment_item__shipment_id",
            "shipment_item__shipment__status",
        )
        for key, marketplace, shipment_id, status in rows:
            out[key].append(_Line(marketplace, shipment_id, status or ""))
    return out


def _boxes_of(lines: list[_Line], marketplace: str | None) -> tuple[list[int], bool]:
    """(live box ids, whether any line matched). Lines of the layout's marketplace win."""
    if marketplace and any(ln.marketplace == marketplace for ln in lines):
        lines = [ln for ln in lines if ln.marketplace == marketplace]
    boxes = sorted(
        {ln.shipment_id for ln in lines if ln.shipment_id and ln.shipment_status != ShipmentStatus.CANCELLED}
    )
    return boxes, bool(lines)


class TrackingImporter:
    kind = ImportSession.Kind.TRACKING
    columns = TRACKING_COLUMNS

    def plan(self, table: SheetTable, *, lock: bool, progress: Progress | None) -> Plan:
        layout = detect_layout(table)
        keys = LAYOUT_KEYS[layout]
        header = {c.key: table.header_for(c.key, c.header) for c in TRACKING_COLUMNS}
        marketplace = LAYOUT_MARKETPLACE.get(layout)
        rows: list[_Row] = []
        blank = 0
        for sheet_row in table.rows():
            raw = {k: cell_text(sheet_row.get(k)) if table.has(k) else "" for k in keys}
            if not raw["tracking"]:
                blank += 1
                continue
            rows.append(_Row(sheet_row.number, raw, header))
        if progress:
            progress(len(rows) // 3, _("Finding the boxes"))
        self._resolve_boxes(rows, layout, marketplace)
        self._resolve_couriers(rows, marketplace, LAYOUT_COURIER.get(layout))
        if progress:
            progress(2 * len(rows) // 3, _("Checking the tracking numbers"))

        # Rows of one box must agree.
        by_box: dict[int, list[_Row]] = defaultdict(list)
        for row in rows:
            if row.shipment_id is not None and not row.errors:
                by_box[row.shipment_id].append(row)
        assignments: list[TrackingAssignment] = []
        for shipment_id, group in by_box.items():
            agreed = {(r.courier.pk if r.courier else 0, r.tracking) for r in group}
            if len(agreed) > 1:
                numbers = ", ".join(dict.fromkeys(r.tracking for r in group))
                row_numbers = ", ".join(str(r.number) for r in group)
                for r in group:
                    r.error(
                        "tracking",
                        _(
                            "%(shipment)s gets different tracking numbers in this sheet (%(numbers)s; "
                            "rows %(rows)s)."
                        )
                        % {"shipment": shipment_number(shipment_id), "numbers": numbers, "rows": row_numbers},
                    )
                continue
            first = group[0]
            assert first.courier is not None
            assignments.append(
                TrackingAssignment(
                    shipment_id=shipment_id, courier=first.courier, number=first.tracking, ref=first.number
                )
            )
        check = tracking_assignments_check(assignments=assignments, lock=lock)
        by_row = {r.number: r for r in rows}
        for problem in check.problems:
            first = by_row[problem.ref]
            column = {"shipment": first.key_field, "courier": "courier"}.get(problem.field, "tracking")
            for r in by_box[problem.shipment_id]:
                r.error(column, problem.message)

        out: list[PlanRow] = []
        facts = {"boxes_new": 0, "boxes_changed": 0, "boxes_unchanged": 0, "blank_rows": blank}
        counted: set[int] = set()
        for row in rows:
            values = [row.raw.get(k, "") for k in keys]
            box = shipment_number(row.shipment_id) if row.shipment_id else ""
            courier_name = row.courier.name if row.courier else row.raw.get("courier", "")
            key = [box, courier_name, row.tracking or row.raw["tracking"], row.recipient]
            if row.errors or row.shipment_id is None:
                out.append(PlanRow(row.number, "error", key, errors=row.errors, values=values))
                continue
            shipment: Shipment = check.shipments[row.shipment_id]
            first_of_box = row.shipment_id not in counted
            counted.add(row.shipment_id)
            if row.shipment_id in check.unchanged:
                facts["boxes_unchanged"] += first_of_box
                out.append(PlanRow(row.number, "unchanged", key, values=values))
                continue
            old_courier = shipment.courier.name if shipment.courier else ""
            changes = [
                [H_COURIER, old_courier, courier_name],
                [H_TRACKING, shipment.tracking_number, row.tracking],
            ]
            if shipment.tracking_number:
                facts["boxes_changed"] += first_of_box
                status = "update"
            else:
                facts["boxes_new"] += first_of_box
                status = "create"
            out.append(PlanRow(row.number, status, key, changes=changes, values=values))
        out.sort(key=lambda r: r.row)
        plan = Plan(
            kind=self.kind,
            rows=out,
            facts={**facts, "layout_" + layout: 1},
            headers=[header[k] for k in keys],
        )
        plan.context = {"assignments": assignments, "rows": by_row, "by_box": by_box}
        return plan

    def _resolve_boxes(self, rows: list[_Row], layout: str, marketplace: str | None) -> None:
        # Every lookup is one query per 900 keys, whatever the sheet's size.
        pks: dict[int, int | None] = {}
        wanted_pks = {
            pk
            for r in rows
            if r.raw.get("shipment_no")
            for pk in [shipment_pk_from_number(r.raw["shipment_no"])]
            if pk
        }
        for part in chunked(sorted(wanted_pks), CHUNK):
            pks.update(dict.fromkeys(Shipment.objects.filter(pk__in=part).values_list("pk", flat=True)))

        line_ids: set[str] = set()
        order_ids: set[str] = set()
        for row in rows:
            if row.raw.get("shipment_no"):
                continue
            if layout == COUPANG:
                if row.raw.get("bundle_no") and row.raw.get("option_id"):
                    line_ids.add(f"{row.raw['bundle_no']}-{row.raw['option_id']}")
                elif row.raw.get("order_no"):
                    order_ids.add(row.raw["order_no"])
            elif row.raw.get("line_no"):
                line_ids.add(row.raw["line_no"])
            elif row.raw.get("order_no"):
                order_ids.add(row.raw["order_no"])
        by_line = _lines_by("external_line_id", line_ids) if line_ids else {}
        by_order = _lines_by("order__external_order_id", order_ids) if order_ids else {}

        for row in rows:
            text = row.raw.get("shipment_no", "")
            if text:
                row.key_field = "shipment_no"
                pk = shipment_pk_from_number(text)
                if pk is None or pk not in pks:
                    row.error("shipment_no", _("There is no shipment %(number)s.") % {"number": text})
                else:
                    row.shipment_id = pk
                continue
            if layout == COUPANG and row.raw.get("bundle_no") and row.raw.get("option_id"):
                row.key_field = "bundle_no"
                line_id = f"{row.raw['bundle_no']}-{row.raw['option_id']}"
                self._one_line_box(row, by_line.get(line_id, []), marketplace, line_id)
            elif layout != COUPANG and row.raw.get("line_no"):
                row.key_field = "line_no"
                self._one_line_box(row, by_line.get(row.raw["line_no"], []), marketplace, row.raw["line_no"])
            elif row.raw.get("order_no"):
                row.key_field = "order_no"
                self._order_box(row, by_order.get(row.raw["order_no"], []), marketplace)
            else:
                key = {SMARTSTORE: "line_no", COUPANG: "order_no"}.get(layout, "shipment_no")
                row.key_field = key
                row.error(key, _("Required: which box this number is for is empty."))

    @staticmethod
    def _one_line_box(row: _Row, lines: list[_Line], marketplace: str | None, line_id: str) -> None:
        boxes, matched = _boxes_of(lines, marketplace)
        if not matched:
            row.error(row.key_field, _("There is no order line %(line)s.") % {"line": line_id})
        elif not boxes:
            row.error(
                row.key_field,
                _("The order line %(line)s is not in a shipment yet. Make the shipments first.")
                % {"line": line_id},
            )
        elif len(boxes) > 1:
            row.error(
                row.key_field,
                _("%(line)s matches lines of several channel accounts (%(boxes)s). Use the 출고번호.")
                % {"line": line_id, "boxes": ", ".join(shipment_number(b) for b in boxes)},
            )
        else:
            row.shipment_id = boxes[0]

    @staticmethod
    def _order_box(row: _Row, lines: list[_Line], marketplace: str | None) -> None:
        order_no = row.raw["order_no"]
        boxes, matched = _boxes_of(lines, marketplace)
        if not matched:
            row.error("order_no", _("There is no order %(order)s.") % {"order": order_no})
        elif not boxes:
            row.error(
                "order_no",
                _("No line of the order %(order)s is in a shipment yet. Make the shipments first.")
                % {"order": order_no},
            )
        elif len(boxes) > 1:
            row.error(
                "order_no",
                _(
                    "The order %(order)s is in several boxes (%(boxes)s). Key these rows by 출고번호 or "
                    "상품주문번호."
                )
                % {"order": order_no, "boxes": ", ".join(shipment_number(b) for b in boxes[:5])},
            )
        else:
            row.shipment_id = boxes[0]

    @staticmethod
    def _resolve_couriers(rows: list[_Row], marketplace: str | None, sheet_courier: str | None) -> None:
        index: CourierIndex = courier_index()
        default = next((c for c in index.couriers if c.is_default and c.is_active), None)
        implied = (
            next((c for c in index.couriers if c.code == sheet_courier), None) if sheet_courier else None
        )
        box_couriers: dict[int, int | None] = {}
        recipients: dict[int, str] = {}
        box_ids = sorted({r.shipment_id for r in rows if r.shipment_id})
        for part in chunked(box_ids, CHUNK):
            for pk, courier_id, name in Shipment.objects.filter(pk__in=part).values_list(
                "pk", "courier_id", "recipient_name"
            ):
                box_couriers[pk] = courier_id
                recipients[pk] = name
        by_pk = {c.pk: c for c in index.couriers}
        for row in rows:
            row.recipient = recipients.get(row.shipment_id or 0, "")
            text = row.raw.get("courier", "")
            if text:
                row.courier = index.resolve(text, marketplace=marketplace)
                if row.courier is None:
                    known = ", ".join(c.name for c in index.couriers if c.is_active)
                    row.error(
                        "courier",
                        _("Unknown courier %(courier)s. Write one of: %(known)s.")
                        % {"courier": text, "known": known},
                    )
            else:
                own = box_couriers.get(row.shipment_id or 0)
                row.courier = implied or (by_pk.get(own) if own else None) or default
                if row.courier is None:
                    row.error("courier", _("Write the courier: there is no default courier."))
            if row.courier is not None:
                try:
                    row.tracking = tracking_validate(courier=row.courier, number=row.raw["tracking"])
                except TrackingNumberInvalid as exc:
                    row.error("tracking", str(exc))

    def apply(self, plan: Plan, *, session: ImportSession, actor: User | None) -> dict[str, Any]:
        """Write every box through shipments_set_tracking_many, inside the caller's transaction;
        a refusal (the data changed since plan()) rolls everything back and names the row."""
        assignments: list[TrackingAssignment] = plan.context["assignments"]
        try:
            outcome = shipments_set_tracking_many(assignments=assignments, actor=actor)
        except TrackingRefused as refused:
            problem = refused.problems[0]
            for plan_row in plan.rows:
                if plan_row.row == problem.ref:
                    plan_row.status = "error"
                    plan_row.errors = [RowError(plan_row.row, H_TRACKING, problem.message, plan_row.key[2])]
            raise RowRefused(plan, int(problem.ref), problem.message) from None
        return {
            "boxes_changed": len(outcome.changed),
            "boxes_unchanged": len(outcome.unchanged),
            "blank_rows": plan.facts.get("blank_rows", 0),
        }


TRACKING_IMPORTER = TrackingImporter()


def tracking_import_start(*, owner: User, upload: Any, password: str = "") -> ImportSession:
    """Keep an uploaded sheet and start its preview (now, or on a worker for a big sheet).
    Raises SheetError, with nothing kept, when the file cannot be read or is none of the layouts."""
    session, table = import_session_create(
        owner=owner, kind=ImportSession.Kind.TRACKING, upload=upload, password=password
    )
    try:
        detect_layout(table)
    except HeaderNotFound:
        if session.file:
            session.file.delete(save=False)
        session.delete()
        raise
    return import_session_start_preview(session=session, actor=owner)


def tracking_import_file(
    *, source: Any, filename: str, actor: User | None, dry_run: bool, password: str = ""
) -> tuple[Plan, dict[str, Any] | None]:
    """The command line's import: check, and unless dry_run or any row is bad, apply in one
    transaction. Raises SheetError when the file cannot be read. (plan, result or None)."""
    return import_file(
        kind=ImportSession.Kind.TRACKING,
        source=source,
        filename=filename,
        actor=actor,
        dry_run=dry_run,
        password=password,
    )


def plan_layout(plan: Plan | dict[str, Any]) -> str:
    facts = plan.facts if isinstance(plan, Plan) else plan
    for layout in (COUPANG, SMARTSTORE, CJ_RESULT, GENERIC):
        if facts.get("layout_" + layout):
            return layout
    return ""


def summary_line(plan: Plan, *, dry_run: bool, written: bool) -> str:
    """The command line's one-line summary."""
    c = plan.counts()
    line = _(
        "%(layout)s: %(rows)s rows; boxes %(new)s new, %(changed)s changed, %(same)s unchanged; "
        "%(blank)s rows without a number skipped."
    ) % {
        "layout": layout_label(plan_layout(plan)),
        "rows": c["rows"] + c.get("blank_rows", 0),
        "new": c.get("boxes_new", 0),
        "changed": c.get("boxes_changed", 0),
        "same": c.get("boxes_unchanged", 0),
        "blank": c.get("blank_rows", 0),
    }
    if dry_run or not written:
        line += " " + _("(dry run: nothing was written)")
    return line


def rows_with_errors(plan: Plan) -> Sequence[PlanRow]:
    return [r for r in plan.rows if r.status == "error"]
