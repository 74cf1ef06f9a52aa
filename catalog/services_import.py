"""Excel imports between preview and commit, and the bulk product import (일괄등록/수정).

An import is an ImportSession: the uploaded file kept under MEDIA_ROOT, a plan built from it
(every row: create / update old -> new / unchanged / error) stored beside it for the preview,
and a commit that re-reads the file, rebuilds the plan inside one transaction with the rows
locked, and writes only if the plan is exactly what the user saw (otherwise it stops and shows
the new preview). Nothing is written while any row has an error: all or nothing.

The kinds (products here, stock in inventory.services_import) plug in as Importers; the session
lifecycle, jobs and the audit row are shared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from importlib import import_module
from pathlib import PurePath
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.excel import HEADER_OF, PRODUCT_COLUMNS
from catalog.models import Product, Sku
from catalog.services import product_status_sync, sku_mark_changed
from oms.db import bulk_insert, bulk_set
from oms.models import ImportSession, User
from oms.services import audit_record, job_create, job_fail, job_progress, job_start, job_succeed
from oms.sheets import (
    CellError,
    RowError,
    SheetError,
    SheetTable,
    cell_int,
    cell_text,
    decrypt,
    find_table,
    open_workbook,
    read_bytes,
    read_table,
)

logger = logging.getLogger(__name__)

# Uploads with more data rows than this are checked and applied by a worker, with a progress bar.
JOB_ROWS_DEFAULT = 2000
# How long an upload's files are kept after it was applied or abandoned.
KEEP_UPLOADS_DAYS = 14
# Query parameters per IN (...) clause: below SQLite's historical 999-variable limit.
CHUNK = 900

Progress = Callable[[int, str], None]
T = TypeVar("T")


def job_threshold() -> int:
    return int(getattr(settings, "OMS_IMPORT_JOB_ROWS", JOB_ROWS_DEFAULT))


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ImportError_(Exception):  # named so to stay clear of the builtin ImportError
    """An import that cannot go on (wrong state, the file is gone); str() is for the user."""


# --- Plans -----------------------------------------------------------------------------------


@dataclass
class PlanRow:
    """One sheet row in the preview."""

    row: int
    status: str  # create | update | unchanged | error
    key: list[str]  # what identifies the row to the user (codes)
    changes: list[list[Any]] = field(default_factory=list)  # [header, old, new]
    errors: list[RowError] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # the row as read, in the kind's column order

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": self.status,
            "key": self.key,
            "changes": self.changes,
            "errors": [[e.column, e.message, e.value] for e in self.errors],
            "values": self.values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanRow:
        return cls(
            row=data["row"],
            status=data["status"],
            key=data["key"],
            changes=data.get("changes", []),
            errors=[RowError(data["row"], c, m, v) for c, m, v in data.get("errors", [])],
            values=data.get("values", []),
        )


STATUSES = ("error", "create", "update", "unchanged")


@dataclass
class Plan:
    kind: str
    rows: list[PlanRow]
    facts: dict[str, int] = field(default_factory=dict)  # kind-specific counts (products to create...)
    headers: list[str] = field(default_factory=list)  # the kind's column headers, for `values`
    # What plan() read (locked rows when lock=True), handed to apply(); never stored.
    context: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_errors(self) -> bool:
        return any(r.status == "error" for r in self.rows)

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for row in self.rows:
            counts[row.status] += 1
        counts["rows"] = len(self.rows)
        counts.update(self.facts)
        return counts

    def fingerprint(self) -> str:
        """What the user approves: every row's outcome and every old -> new. Error texts are
        left out (they depend on the language), and a plan with errors is never applied."""
        body = json.dumps(
            [[r.row, r.status, r.key, r.changes] for r in self.rows], ensure_ascii=False, default=str
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "facts": self.facts,
            "headers": self.headers,
            "rows": [r.to_json() for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            kind=data["kind"],
            rows=[PlanRow.from_json(r) for r in data["rows"]],
            facts=data.get("facts", {}),
            headers=data.get("headers", []),
        )


class Importer(Protocol):
    kind: str
    columns: Sequence[Any]

    def plan(self, table: SheetTable, *, lock: bool, progress: Progress | None) -> Plan: ...

    def apply(self, plan: Plan, *, session: ImportSession, actor: User | None) -> dict[str, Any]: ...


IMPORTERS = {
    ImportSession.Kind.PRODUCTS: "catalog.services_import.PRODUCT_IMPORTER",
    ImportSession.Kind.STOCK: "inventory.services_import.STOCK_IMPORTER",
    ImportSession.Kind.TRACKING: "shipping.services_tracking_import.TRACKING_IMPORTER",
}
# Where each kind's preview/result page is, and the action its audit row is written under.
RESULT_URL_NAMES = {
    ImportSession.Kind.PRODUCTS: "catalog:product_import_detail",
    ImportSession.Kind.STOCK: "inventory:stock_import_detail",
    ImportSession.Kind.TRACKING: "shipping:tracking_import_detail",
}
AUDIT_ACTIONS = {
    ImportSession.Kind.PRODUCTS: "catalog.product_import",
    ImportSession.Kind.STOCK: "inventory.stock_import",
    ImportSession.Kind.TRACKING: "shipping.tracking_import",
}


def importer_for(kind: str) -> Importer:
    module, _sep, name = IMPORTERS[ImportSession.Kind(kind)].rpartition(".")
    importer: Importer = getattr(import_module(module), name)
    return importer


def result_url(session: ImportSession) -> str:
    return reverse(RESULT_URL_NAMES[ImportSession.Kind(session.kind)], args=[session.pk])


# --- Session lifecycle -----------------------------------------------------------------------


def _stored_name(original: str, data: bytes) -> str:
    suffix = PurePath(original).suffix.lower()
    if data.startswith(b"PK\x03\x04") and suffix not in {".xlsx", ".xlsm", ".ods"}:
        suffix = ".xlsx"
    return f"upload{suffix or '.xlsx'}"


def import_session_create(
    *, owner: User, kind: str, upload: Any, password: str = "", filename: str = ""
) -> tuple[ImportSession, SheetTable]:
    """Check and keep an uploaded sheet. Raises SheetError (nothing kept) when the file is too
    big, unsafe, not a spreadsheet, locked with another password, or lacks the required headers.

    An encrypted file is kept decrypted so that applying it later needs no password."""
    importer = importer_for(kind)
    original = filename or str(getattr(upload, "name", "") or "upload.xlsx")
    data = read_bytes(upload)
    data = decrypt(data, password or None)
    table = read_table(data, columns=importer.columns, filename=original)
    import_sessions_purge()
    session = ImportSession(
        kind=kind,
        owner=owner,
        original_name=PurePath(original).name[:255],
        size=len(data),
        row_count=table.row_count,
        status=ImportSession.Status.VALIDATING,
    )
    session.file.save(_stored_name(original, data), ContentFile(data), save=False)
    session.save()
    return session, table


def _load_table(session: ImportSession) -> SheetTable:
    if not session.file:
        raise ImportError_(_("The uploaded file is no longer kept. Upload it again."))
    try:
        with session.file.open("rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ImportError_(_("The uploaded file is no longer kept. Upload it again.")) from None
    importer = importer_for(session.kind)
    book = open_workbook(data, filename=session.file.name or "")
    sheet = session.summary.get("sheet")
    header_row = session.summary.get("header_row")
    if sheet in book.sheet_names and header_row:
        return find_table(
            book.rows(sheet),
            importer.columns,
            header_row=header_row,
            sheet_name=sheet,
            file_format=book.file_format,
        )
    return read_table(data, columns=importer.columns, filename=session.file.name or "")


def _save_plan(session: ImportSession, plan: Plan, table: SheetTable) -> None:
    body = json.dumps(plan.to_json(), ensure_ascii=False, default=str).encode()
    old = session.plan_file.name if session.plan_file else ""
    session.plan_file.save(f"imports/{session.kind}/plan-{session.pk}.json", ContentFile(body), save=False)
    if old and old != session.plan_file.name:
        session.plan_file.storage.delete(old)
    session.summary = {
        **session.summary,
        "counts": plan.counts(),
        "fingerprint": plan.fingerprint(),
        "sheet": table.sheet_name,
        "header_row": table.header_row,
        "headers": [table.headers[k] for k in table.columns],
        "ignored_headers": table.ignored_headers[:50],
    }


def import_session_plan(session: ImportSession) -> Plan | None:
    """The stored preview of a session (None until it has been checked)."""
    if not session.plan_file:
        return None
    try:
        with session.plan_file.open("rb") as fh:
            return Plan.from_json(json.loads(fh.read()))
    except FileNotFoundError:
        return None


def _job_progress_callback(job_id: int | None, total: int) -> Progress | None:
    if job_id is None:
        return None

    def report(done: int, message: str) -> None:
        job_progress(job_id=job_id, done=min(done, total), message=message)

    return report


def import_session_preview(*, session_id: int, job_id: int | None = None) -> ImportSession:
    """Read the kept file and build the preview. Writes nothing but the session itself."""
    session = ImportSession.objects.get(pk=session_id)
    if job_id is not None:
        job_start(job_id=job_id, total=session.row_count)
    try:
        table = _load_table(session)
        plan = importer_for(session.kind).plan(
            table, lock=False, progress=_job_progress_callback(job_id, session.row_count)
        )
    except (SheetError, ImportError_) as exc:
        session.status = ImportSession.Status.FAILED
        session.message = str(exc)[:500]
        session.save(update_fields=["status", "message"])
        if job_id is not None:
            job_fail(job_id=job_id, message=str(exc))
        return session
    _save_plan(session, plan, table)
    session.status = ImportSession.Status.INVALID if plan.has_errors else ImportSession.Status.READY
    session.message = ""
    session.save(update_fields=["status", "message", "summary", "plan_file"])
    if job_id is not None:
        job_succeed(job_id=job_id, result=session.counts, result_url=result_url(session))
    return session


def import_session_start_preview(*, session: ImportSession, actor: User | None) -> ImportSession:
    """Preview now for a small sheet; for a big one, on a worker with a progress bar."""
    if session.row_count <= job_threshold():
        return import_session_preview(session_id=session.pk)
    job = job_create(
        kind=f"{session.kind}_import_check",
        title=_("Checking %(file)s") % {"file": session.original_name},
        actor=actor,
        total=session.row_count,
    )
    session.job = job
    session.save(update_fields=["job"])
    _enqueue(session_id=session.pk, action="preview", job_id=job.pk, actor_id=actor.pk if actor else None)
    return session


def _enqueue(*, session_id: int, action: str, job_id: int, actor_id: int | None) -> None:
    from catalog.tasks import import_session_task

    transaction.on_commit(
        partial(
            import_session_task.delay, session_id=session_id, action=action, job_id=job_id, actor_id=actor_id
        )
    )


def import_session_start_commit(*, session: ImportSession, actor: User | None) -> ImportSession:
    """Apply a checked session (only once: a second click finds it busy or applied)."""
    claimed = ImportSession.objects.filter(pk=session.pk, status=ImportSession.Status.READY).update(
        status=ImportSession.Status.COMMITTING
    )
    session.refresh_from_db()
    if not claimed:
        raise ImportError_(
            _("This upload cannot be applied now (%(status)s).") % {"status": session.get_status_display()}
        )
    if session.row_count <= job_threshold():
        return import_session_commit(session_id=session.pk, actor=actor)
    job = job_create(
        kind=f"{session.kind}_import_apply",
        title=_("Applying %(file)s") % {"file": session.original_name},
        actor=actor,
        total=session.row_count,
    )
    session.job = job
    session.save(update_fields=["job"])
    _enqueue(session_id=session.pk, action="commit", job_id=job.pk, actor_id=actor.pk if actor else None)
    return session


class PlanChanged(Exception):
    def __init__(self, plan: Plan, table: SheetTable) -> None:
        super().__init__("plan changed")
        self.plan, self.table = plan, table


class RowRefused(Exception):
    """Raised by an importer's apply when a row turns out to be refused while writing (a stock
    service error); the whole import is rolled back and the row is named."""

    def __init__(self, plan: Plan, row: int, message: str) -> None:
        super().__init__(message)
        self.plan, self.row, self.message = plan, row, message


def import_session_commit(*, session_id: int, actor: User | None, job_id: int | None = None) -> ImportSession:
    """Re-read the file, rebuild the plan with the rows locked and, only if it is the previewed
    plan, write it all in one transaction with one audit row. Safe to run twice."""
    session = ImportSession.objects.get(pk=session_id)
    if session.status != ImportSession.Status.COMMITTING:
        return session  # applied (or given up) already: a redelivered task does nothing
    if job_id is not None:
        job_start(job_id=job_id, total=session.row_count)
    importer = importer_for(session.kind)
    try:
        table = _load_table(session)
        if job_id is not None:
            job_progress(job_id=job_id, done=0, message=_("Checking the rows again and saving..."))
        with transaction.atomic():
            plan = importer.plan(table, lock=True, progress=None)
            if plan.has_errors or plan.fingerprint() != session.summary.get("fingerprint"):
                raise PlanChanged(plan, table)
            result = importer.apply(plan, session=session, actor=actor)
            session.status = ImportSession.Status.COMMITTED
            session.committed_at = timezone.now()
            session.message = ""
            session.summary = {**session.summary, "result": result}
            session.save(update_fields=["status", "committed_at", "message", "summary"])
            audit_record(
                actor=actor,
                action=_audit_action(session.kind),
                obj=session,
                changes={"file": session.original_name, **result},
            )
    except PlanChanged as changed:
        _save_plan(session, changed.plan, changed.table)
        session.status = (
            ImportSession.Status.INVALID if changed.plan.has_errors else ImportSession.Status.READY
        )
        if changed.plan.has_errors:
            first = changed.plan.errors[0]
            session.message = _(
                "Nothing was saved: the data changed after the preview and now row %(row)s is refused "
                "(%(column)s: %(reason)s). Check the new preview below."
            ) % {"row": first.row, "column": first.column, "reason": first.message}
        else:
            session.message = _(
                "The data changed after the preview (someone else edited it). Nothing was saved: check the "
                "new preview below and apply again."
            )
        session.save(update_fields=["status", "message", "summary", "plan_file"])
        if job_id is not None:
            job_fail(job_id=job_id, message=session.message)
        return session
    except RowRefused as refused:
        _save_plan(session, refused.plan, table)
        session.status = ImportSession.Status.INVALID
        session.message = (
            _("Nothing was saved: row %(row)s was refused: %(reason)s")
            % {"row": refused.row, "reason": refused.message}
        )[:500]
        session.save(update_fields=["status", "message", "summary", "plan_file"])
        if job_id is not None:
            job_fail(job_id=job_id, message=session.message)
        return session
    except (SheetError, ImportError_, IntegrityError) as exc:
        logger.warning("import %s failed: %s", session.pk, exc)
        message = (
            _("Nothing was saved: another change conflicted with this upload. Upload the file again.")
            if isinstance(exc, IntegrityError)
            else str(exc)
        )
        ImportSession.objects.filter(pk=session.pk).update(
            status=ImportSession.Status.FAILED, message=message[:500]
        )
        session.refresh_from_db()
        if job_id is not None:
            job_fail(job_id=job_id, message=message)
        return session
    except BaseException:
        # Anything unexpected: give the session back so the user can try again.
        ImportSession.objects.filter(pk=session.pk).update(status=ImportSession.Status.READY)
        if job_id is not None:
            job_fail(job_id=job_id, message=_("The upload failed unexpectedly; nothing was saved."))
        raise
    if job_id is not None:
        job_succeed(job_id=job_id, result=session.summary.get("result", {}), result_url=result_url(session))
    return session


def import_session_cancel(*, session: ImportSession) -> ImportSession:
    """Drop an upload that was not applied; its file is deleted."""
    if session.status in {ImportSession.Status.COMMITTED, ImportSession.Status.COMMITTING}:
        raise ImportError_(_("An upload that is being applied or was applied cannot be cancelled."))
    _delete_files(session)
    session.status = ImportSession.Status.CANCELLED
    session.save(update_fields=["status", "file", "plan_file"])
    return session


def _delete_files(session: ImportSession, *, keep_plan: bool = False) -> None:
    if session.file:
        session.file.delete(save=False)
    if session.plan_file and not keep_plan:
        session.plan_file.delete(save=False)


def import_sessions_purge(*, days: int = KEEP_UPLOADS_DAYS) -> int:
    """Delete the files of uploads older than `days` (called on each new upload)."""
    cutoff = timezone.now() - timedelta(days=days)
    old = ImportSession.objects.filter(created_at__lt=cutoff).exclude(file="", plan_file="")
    n = 0
    for session in old[:200]:
        _delete_files(session)
        session.save(update_fields=["file", "plan_file"])
        n += 1
    return n


# --- Products ----------------------------------------------------------------------------------

PRODUCT_FIELDS = ("name", "brand", "category", "sale_price")
SKU_FIELDS = ("option_label", "barcode", "extra_price", "cost", "safety_stock", "low_stock_threshold")
TEXT_LIMITS = {
    "product_code": 50,
    "sku_code": 64,
    "name": 200,
    "brand": 100,
    "category": 200,
    "option_label": 200,
    "barcode": 64,
}
INT_MIN = {
    "sale_price": 0,
    "extra_price": -2_147_483_648,
    "cost": 0,
    "safety_stock": 0,
    "low_stock_threshold": 0,
}
# Changes that channels show: the SKUs get marked for the channel product push.
CHANNEL_VISIBLE = {"name", "sale_price", "option_label", "extra_price"}


def _label(key: str) -> str:
    return HEADER_OF[key]


@dataclass
class _ParsedRow:
    number: int
    values: dict[str, Any]  # key -> parsed value, only for cells that say something
    raw: list[str]
    errors: list[RowError] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.number, _label(key), message, self.raw_of(key)))

    def raw_of(self, key: str) -> str:
        return self.raw[_KEY_INDEX[key]]


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_KEYS = [c.key for c in PRODUCT_COLUMNS]
_KEY_INDEX = {key: i for i, key in enumerate(_KEYS)}


def _parse_product_row(table: SheetTable, row: Any) -> _ParsedRow:
    present = [key for key in _KEYS if table.has(key)]
    raw = [""] * len(_KEYS)
    parsed = _ParsedRow(row.number, {}, raw)
    values = parsed.values
    for key in present:
        cell = row[key]
        raw[_KEY_INDEX[key]] = text = cell_text(cell)
        if not text:
            continue
        try:
            if key in INT_MIN:
                # Whole numbers as Excel stores them skip the text parsing.
                if type(cell) is float and cell.is_integer() and INT_MIN[key] <= cell <= 2_147_483_647:
                    values[key] = int(cell)
                else:
                    values[key] = cell_int(cell, min_value=INT_MIN[key])
            else:
                if len(text) > TEXT_LIMITS[key]:
                    raise CellError(
                        _("Too long: %(n)s characters (at most %(max)s).")
                        % {"n": len(text), "max": TEXT_LIMITS[key]}
                    )
                if _CONTROL_CHARS.search(text):
                    raise CellError(_("Contains a line break or control character."))
                values[key] = text
        except CellError as exc:
            parsed.error(key, str(exc))
    for key in ("product_code", "sku_code"):
        if key not in values and not raw[_KEY_INDEX[key]]:
            parsed.error(key, _("Required: this cell is empty."))
    return parsed


def _fetch_rows(
    model: type[models.Model], codes: Iterable[str], fields: Sequence[str], *, lock: bool
) -> dict[str, SimpleNamespace]:
    """{code: row} with just `fields` (no model instances: 20,000 of those cost seconds); with
    `lock`, the rows are locked in pk order (ids are looked up by code first)."""
    manager = model._default_manager
    ids: list[int] = []
    for codes_part in chunked(sorted(set(codes)), _chunk()):
        ids.extend(manager.filter(code__in=codes_part).values_list("pk", flat=True))
    out: dict[str, SimpleNamespace] = {}
    for ids_part in chunked(sorted(ids), _chunk()):
        qs = manager.filter(pk__in=ids_part).order_by("pk")
        if lock:
            qs = qs.select_for_update()
        for values in qs.values("pk", "code", *fields):
            out[values["code"]] = SimpleNamespace(**values)
    return out


def _chunk() -> int:
    limit = connection.features.max_query_params
    return min(2000, limit - 10) if limit else 2000


def _fetch_by_codes(
    model: type[models.Model], codes: Iterable[str], *, lock: bool, related: bool = False
) -> dict[str, Any]:
    """{code: row} for the codes that exist; with `lock`, rows are locked in pk order."""
    manager = model._default_manager
    ids: list[int] = []
    for codes_part in chunked(sorted(set(codes))):
        ids.extend(manager.filter(code__in=codes_part).values_list("pk", flat=True))
    out: dict[str, Any] = {}
    for ids_part in chunked(sorted(ids)):
        qs = manager.filter(pk__in=ids_part).order_by("pk")
        if related:
            qs = qs.select_related("product")
        if lock:
            qs = qs.select_for_update()
        for obj in qs:
            out[obj.code] = obj  # type: ignore[attr-defined]
    return out


class ProductImporter:
    kind = ImportSession.Kind.PRODUCTS
    columns = PRODUCT_COLUMNS

    def plan(self, table: SheetTable, *, lock: bool, progress: Progress | None) -> Plan:
        parsed: list[_ParsedRow] = []
        for i, row in enumerate(table.rows(), start=1):
            parsed.append(_parse_product_row(table, row))
            if progress and i % 1000 == 0:
                progress(i // 2, _("Reading row %(n)s") % {"n": i})
        products = _fetch_rows(
            Product,
            (p.values["product_code"] for p in parsed if "product_code" in p.values),
            PRODUCT_FIELDS,
            lock=lock,
        )
        skus = _fetch_rows(
            Sku,
            (p.values["sku_code"] for p in parsed if "sku_code" in p.values),
            ("product__code", *SKU_FIELDS),
            lock=lock,
        )
        if progress:
            progress(len(parsed) // 2, _("Comparing with the catalogue"))
        plan = self._decide(parsed, products, skus, progress)
        plan.context = {"products": products, "skus": skus}
        return plan

    def _decide(
        self,
        parsed: list[_ParsedRow],
        products: dict[str, Any],
        skus: dict[str, Any],
        progress: Progress | None,
    ) -> Plan:
        # Product-level values: the first row that states one sets it; a later row that
        # states another value is an error naming the first.
        stated: dict[str, dict[str, tuple[Any, int]]] = defaultdict(dict)
        first_row_of: dict[str, _ParsedRow] = {}
        sku_seen: dict[str, int] = {}
        for row in parsed:
            code = row.values.get("product_code")
            sku_code = row.values.get("sku_code")
            if sku_code is not None:
                if sku_code in sku_seen:
                    row.error(
                        "sku_code",
                        _("SKU code %(code)s is already on row %(row)s.")
                        % {"code": sku_code, "row": sku_seen[sku_code]},
                    )
                else:
                    sku_seen[sku_code] = row.number
            if code is None:
                continue
            first_row_of.setdefault(code, row)
            for key in PRODUCT_FIELDS:
                if key not in row.values:
                    continue
                value = row.values[key]
                if key not in stated[code]:
                    stated[code][key] = (value, row.number)
                elif stated[code][key][0] != value:
                    first_value, first_row = stated[code][key]
                    row.error(
                        key,
                        _("Differs from row %(row)s of the same product (%(value)s). %(field)s must be the "
                          "same on every row of a product.")
                        % {"row": first_row, "value": first_value, "field": _label(key)},
                    )  # fmt: skip

        # New products need a name and a price.
        for code, first in first_row_of.items():
            if code in products:
                continue
            for key, message in (
                ("name", _("A new product needs a product name.")),
                ("sale_price", _("A new product needs a sale price.")),
            ):
                if key not in stated[code] and not any(e.column == _label(key) for e in first.errors):
                    first.error(key, message)

        product_changes: dict[str, list[list[Any]]] = {}
        for code, values in stated.items():
            product = products.get(code)
            product_row_changes: list[list[Any]] = []
            for key in PRODUCT_FIELDS:
                if key not in values:
                    continue
                new = values[key][0]
                old = getattr(product, key) if product is not None else None
                if product is None or old != new:
                    product_row_changes.append([_label(key), old, new])
            product_changes[code] = product_row_changes

        rows: list[PlanRow] = []
        new_products: set[str] = set()
        updated_products: set[str] = set()
        new_skus = updated_skus = 0
        for i, row in enumerate(parsed, start=1):
            code = row.values.get("product_code")
            sku_code = row.values.get("sku_code")
            sku = skus.get(sku_code) if sku_code is not None else None
            if sku is not None and code is not None and sku.product__code != code:
                row.error(
                    "sku_code",
                    _("SKU %(sku)s belongs to product %(product)s, not %(this)s. A SKU cannot move to "
                      "another product.")
                    % {"sku": sku_code, "product": sku.product__code, "this": code},
                )  # fmt: skip
            # The option's price (sale price + extra) may not go below 0.
            if code is not None:
                base = stated[code].get("sale_price", (None, 0))[0]
                if base is None:
                    product = products.get(code)
                    base = product.sale_price if product is not None else 0
                extra = row.values.get("extra_price", sku.extra_price if sku is not None else 0)
                if base + extra < 0:
                    row.error(
                        "extra_price" if "extra_price" in row.values else "sale_price",
                        _("The option's price (sale price %(base)s + extra %(extra)s) is below 0.")
                        % {"base": base, "extra": extra},
                    )
            key_cells = [code or row.raw_of("product_code"), sku_code or row.raw_of("sku_code")]
            if row.errors:
                rows.append(PlanRow(row.number, "error", key_cells, errors=row.errors, values=row.raw))
                continue
            assert code is not None and sku_code is not None
            changes: list[list[Any]] = []
            if first_row_of[code] is row:
                changes.extend(product_changes.get(code, []))
                if code not in products:
                    new_products.add(code)
                elif changes:
                    updated_products.add(code)
            sku_changes = []
            for key in SKU_FIELDS:
                if key not in row.values:
                    continue
                new = row.values[key]
                old = getattr(sku, key) if sku is not None else None
                if sku is None or old != new:
                    sku_changes.append([_label(key), old, new])
            changes.extend(sku_changes)
            if sku is None:
                status = "create"
                new_skus += 1
            elif changes:
                status = "update"
                if sku_changes:
                    updated_skus += 1
            else:
                status = "unchanged"
            rows.append(PlanRow(row.number, status, key_cells, changes=changes, values=row.raw))
            if progress and i % 1000 == 0:
                progress(len(parsed) // 2 + i // 2, _("Checked row %(n)s") % {"n": i})
        return Plan(
            kind=self.kind,
            rows=rows,
            facts={
                "products_create": len(new_products),
                "products_update": len(updated_products),
                "skus_create": new_skus,
                "skus_update": updated_skus,
            },
            headers=[c.header for c in PRODUCT_COLUMNS],
        )

    def apply(self, plan: Plan, *, session: ImportSession, actor: User | None) -> dict[str, Any]:
        """Write the plan with bulk statements. Runs inside import_session_commit's transaction,
        right after plan(lock=True), so the rows it read are still what it writes over."""
        now = timezone.now()
        keys = [c.key for c in PRODUCT_COLUMNS]
        by_header = {c.header: c.key for c in PRODUCT_COLUMNS}
        rows = [r for r in plan.rows if r.status in {"create", "update"}]
        # What plan(lock=True) read: rows by code, locked until the transaction ends.
        existing_products: dict[str, Any] = plan.context["products"]
        existing_skus: dict[str, Any] = plan.context["skus"]
        products: dict[str, Product] = {}
        skus: dict[str, Sku] = {}

        new_products: dict[str, Product] = {}
        changed_products: dict[str, set[str]] = defaultdict(set)
        new_skus: list[Sku] = []
        changed_skus: dict[str, set[str]] = defaultdict(set)
        pending_sku_values: dict[str, dict[str, Any]] = {}
        for plan_row in rows:
            code, sku_code = plan_row.key
            values = dict(zip(keys, plan_row.values, strict=True))
            for header, _old, new in plan_row.changes:
                field_name = by_header[header]
                if field_name in PRODUCT_FIELDS:
                    if code in existing_products:
                        product = products.get(code) or Product(pk=existing_products[code].pk, code=code)
                        products[code] = product
                        changed_products[code].add(field_name)
                    elif code in new_products:
                        product = new_products[code]
                    else:
                        # A new product's cost starts as its first row's cost.
                        product = new_products[code] = Product(
                            code=code, name="", cost=cell_int(values["cost"]) or 0
                        )
                    setattr(product, field_name, new)
                else:
                    pending_sku_values.setdefault(sku_code, {})[field_name] = new
            if plan_row.status == "create":
                pending_sku_values.setdefault(sku_code, {})
        for product in new_products.values():
            product.created_at = product.updated_at = now
        bulk_insert(Product, list(new_products.values()))
        product_ids = {code: row.pk for code, row in existing_products.items()}
        if new_products:
            fetched = _fetch_rows(Product, new_products.keys(), (), lock=False)
            product_ids.update({code: row.pk for code, row in fetched.items()})
        self._bulk_update(Product, [products[c] for c in changed_products], changed_products, now)

        for plan_row in rows:
            code, sku_code = plan_row.key
            values = pending_sku_values.get(sku_code, {})
            if sku_code not in existing_skus:
                sku = Sku(product_id=product_ids[code], code=sku_code, kind=Sku.Kind.SINGLE, option_values={})
                for name, value in values.items():
                    setattr(sku, name, value)
                sku.created_at = sku.updated_at = now
                new_skus.append(sku)
            elif values:
                sku = skus[sku_code] = Sku(pk=existing_skus[sku_code].pk, code=sku_code)
                for name, value in values.items():
                    setattr(sku, name, value)
                changed_skus[sku_code].update(values)
        bulk_insert(Sku, new_skus)
        self._bulk_update(Sku, [skus[c] for c in changed_skus], changed_skus, now)

        # Channels show names and prices: a product-level change marks all of its SKUs.
        marked_products = [product_ids[c] for c, f in changed_products.items() if f & CHANNEL_VISIBLE]
        marked: set[int] = set()
        for part in chunked(marked_products):
            marked.update(Sku.objects.filter(product_id__in=part).values_list("pk", flat=True))
        marked.update(skus[c].pk for c, f in changed_skus.items() if f & CHANNEL_VISIBLE)
        sku_mark_changed(marked)
        # New options can put a sold-out product back on sale: keep its status the summary.
        product_status_sync(actor=actor, product_ids={sku.product_id for sku in new_skus})
        return {
            "products_created": len(new_products),
            "products_updated": len(changed_products),
            "skus_created": len(new_skus),
            "skus_updated": len(changed_skus),
            "unchanged": sum(1 for r in plan.rows if r.status == "unchanged"),
            "skus_marked_changed": len(marked),
        }

    @staticmethod
    def _bulk_update(
        model: type[models.Model], objs: list[Any], fields_of: dict[str, set[str]], now: Any
    ) -> None:
        groups: dict[frozenset[str], list[Any]] = defaultdict(list)
        for obj in objs:
            groups[frozenset(fields_of[obj.code])].append(obj)
        for fields, group in groups.items():
            for obj in group:
                obj.updated_at = now
            bulk_set(model, group, [*sorted(fields), "updated_at"])


PRODUCT_IMPORTER = ProductImporter()


# --- Bulk writes -------------------------------------------------------------------------------
# COPY for inserts and UPDATE ... FROM unnest(arrays) for updates on PostgreSQL: oms.db (shared with
# the order import). Re-exported here for the callers that import them from this module.


def import_file(
    *, kind: str, source: Any, filename: str, actor: User | None, dry_run: bool, password: str = ""
) -> tuple[Plan, dict[str, Any] | None]:
    """Check a sheet and, unless dry_run or any row is bad, apply it in one transaction (the
    command-line import). Raises SheetError for a file that cannot be read. Returns the plan
    (with its errors) and the result (None when nothing was written)."""
    importer = importer_for(kind)
    data = decrypt(read_bytes(source), password or None)
    table = read_table(data, columns=importer.columns, filename=filename)
    plan = importer.plan(table, lock=False, progress=None)
    if plan.has_errors or dry_run:
        return plan, None
    try:
        with transaction.atomic():
            locked = importer.plan(table, lock=True, progress=None)
            if locked.has_errors:
                return locked, None
            session = ImportSession.objects.create(
                kind=kind,
                owner=actor,
                original_name=PurePath(filename).name[:255],
                size=len(data),
                row_count=table.row_count,
                status=ImportSession.Status.COMMITTED,
                committed_at=timezone.now(),
                summary={"counts": locked.counts(), "fingerprint": locked.fingerprint(), "source": "command"},
            )
            result = importer.apply(locked, session=session, actor=actor)
            session.summary = {**session.summary, "result": result}
            session.save(update_fields=["summary"])
            audit_record(
                actor=actor,
                action=_audit_action(kind),
                obj=session,
                changes={"file": session.original_name, **result},
            )
    except RowRefused as refused:
        return refused.plan, None
    return locked, result


def _audit_action(kind: str) -> str:
    return AUDIT_ACTIONS[ImportSession.Kind(kind)]


def summary_line(plan: Plan, *, dry_run: bool) -> str:
    c = plan.counts()
    if plan.kind == ImportSession.Kind.PRODUCTS:
        line = _(
            "%(rows)s rows: products %(pc)s new, %(pu)s changed; SKUs %(sc)s new, %(su)s changed, "
            "%(same)s unchanged."
        ) % {
            "rows": c["rows"],
            "pc": c.get("products_create", 0),
            "pu": c.get("products_update", 0),
            "sc": c.get("skus_create", 0),
            "su": c.get("skus_update", 0),
            "same": c["unchanged"],
        }
    else:
        line = _(
            "%(rows)s rows: %(changed)s changed, %(same)s unchanged; %(in)s units in, %(out)s units out."
        ) % {
            "rows": c["rows"],
            "changed": c["update"],
            "same": c["unchanged"],
            "in": c.get("units_in", 0),
            "out": c.get("units_out", 0),
        }
    if dry_run:
        line += " " + _("(dry run: nothing was written)")
    return line


def import_file_command(
    *, kind: str, path: str, username: str, password: str, dry_run: bool, stderr: Any
) -> str:
    """The body of the import_products / import_stock commands: a one-line summary, or a
    CommandError (exit 1: bad rows, listed on stderr; exit 2: the file cannot be read)."""
    from django.core.management.base import CommandError

    actor = None
    if username:
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(_("No user named %(name)s.") % {"name": username}, returncode=2)
    try:
        with open(path, "rb") as fh:
            plan, result = import_file(
                kind=kind, source=fh, filename=path, actor=actor, dry_run=dry_run, password=password
            )
    except OSError as exc:
        raise CommandError(
            _("Cannot open %(path)s: %(error)s") % {"path": path, "error": exc.strerror}, returncode=2
        ) from None
    except SheetError as exc:
        raise CommandError(f"{path}: {exc}", returncode=2) from None
    if plan.has_errors:
        errors = plan.errors
        for error in errors[:200]:
            stderr.write(
                _("Row %(row)s, %(column)s: %(message)s")
                % {"row": error.row, "column": error.column, "message": error.message}
            )
        if len(errors) > 200:
            stderr.write(_("... and %(n)s more.") % {"n": len(errors) - 200})
        bad_rows = sum(1 for r in plan.rows if r.status == "error")
        raise CommandError(
            _("%(n)s bad rows in %(path)s; nothing was written.") % {"n": bad_rows, "path": path},
            returncode=1,
        )
    return summary_line(plan, dry_run=dry_run or result is None)
