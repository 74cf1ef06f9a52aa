"""Excel order-sheet upload (주문서 업로드): upload -> preview -> register valid orders, or cancel.

    batch = order_import_upload(account=acct, upload=f, password=pw, profile=None, actor=user)
    batch = order_import_start_commit(batch=batch, actor=user)   # small: done; big: a job

The upload reads the sheet (size and zip-bomb limits, password, header detection by text) and
keeps nothing when the file as a whole cannot be read. Otherwise the DECRYPTED file is kept under
MEDIA_ROOT/imports/orders/ (so registering needs no password) with a preview: orders and lines in
the sheet, how many are new and how many already present, and every bad row. Registering re-reads
that file with the same profile and hands the valid orders to orders_ingest (an order with a bad
row is held back whole, so nothing is half-written). orders_ingest is idempotent: a second
registration, or a worker re-running a job that died midway, creates nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import PurePath
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from channels.types import ChannelOrder, ChannelOrderLine, LineState
from oms.models import User
from oms.services import audit_record, job_create, job_fail, job_progress, job_start, job_succeed
from oms.sheets import OLE_MAGIC, SheetError, decrypt, read_bytes
from orders.excel import NoProfileFits, ParsedSheet, parse_order_sheet, user_profile
from orders.excel_profiles import BUILTIN_PROFILES, SheetProfile
from orders.ingest import IngestResult, SkuResolver, orders_ingest
from orders.models import ExcelProfile, ImportBatch, Order, OrderLine
from orders.selectors import counts_invalidate

logger = logging.getLogger(__name__)

# Sheets with more valid lines than this are registered by a worker, with a progress bar.
ORDER_IMPORT_JOB_THRESHOLD = 2000
# Files of previews nobody registered or cancelled are dropped after this many days.
KEEP_PREVIEW_DAYS = 14
STORE_DIR = "imports/orders"
JOB_KIND = "order_import"

T = TypeVar("T")


class OrderImportError(Exception):
    """The sheet cannot be imported, or the batch cannot do that now; nothing was written.
    str() is for the user."""


def job_threshold() -> int:
    return int(getattr(settings, "ORDER_IMPORT_JOB_THRESHOLD", ORDER_IMPORT_JOB_THRESHOLD))


def _chunks(items: Sequence[T], size: int = 0) -> Iterator[Sequence[T]]:
    if not size:
        limit = connection.features.max_query_params
        size = min(5000, limit - 10) if limit else 5000
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Profiles ----------------------------------------------------------------------------------


def profile_key(profile: SheetProfile) -> str:
    return profile.key


def profile_resolve(*, account: ChannelAccount, key: str) -> SheetProfile:
    """A profile by its key: a built-in key (smartstore, coupang, 11st), "user:<id>" of one of the
    account's own profiles, or the name of one of the account's own profiles (the command line)."""
    key = (key or "").strip()
    if key in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[key]
    own = ExcelProfile.objects.filter(account=account).select_related("account")
    found: ExcelProfile | None = None
    if key.startswith("user:") and key[5:].isdigit():
        found = own.filter(pk=int(key[5:])).first()
    if found is None:
        found = own.filter(name=key).first()
    if found is None:
        known = [*BUILTIN_PROFILES, *own.values_list("name", flat=True)]
        raise OrderImportError(
            _("Unknown profile %(profile)s for %(account)s. Choose one of: %(known)s.")
            % {"profile": key, "account": account.name, "known": ", ".join(known)}
        )
    return user_profile(found)


def _profile_snapshot(profile: SheetProfile) -> dict[str, Any]:
    """What is needed to read the file again exactly as previewed, even if a user-defined profile
    is edited or deleted meanwhile."""
    if not profile.user_defined:
        return {"key": profile.key, "label": str(profile.label)}
    return {
        "key": profile.key,
        "label": str(profile.label),
        "marketplace": profile.marketplace,
        "headers": {name: list(texts) for name, texts in profile.headers.items()},
        "sheet_name": profile.sheet_name,
        "header_row": profile.header_row,
        "line_id_from": list(profile.line_id_from),
    }


def _profile_from_snapshot(snapshot: dict[str, Any]) -> SheetProfile:
    key = snapshot.get("key", "")
    if key in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[key]
    if "headers" not in snapshot:
        raise OrderImportError(_("The profile this sheet was read with no longer exists. Upload it again."))
    return SheetProfile(
        key=key,
        label=snapshot.get("label", key),
        marketplace=snapshot.get("marketplace", ""),
        headers={name: tuple(texts) for name, texts in snapshot["headers"].items()},
        sheet_name=snapshot.get("sheet_name", ""),
        header_row=snapshot.get("header_row"),
        line_state_default=LineState.NEW,
        line_id_from=tuple(snapshot.get("line_id_from", ())),
        user_defined=True,
    )


# --- Reading and previewing --------------------------------------------------------------------


def _read_sheet(
    data: bytes, *, account: ChannelAccount, profile: SheetProfile | None, filename: str
) -> ParsedSheet:
    try:
        return parse_order_sheet(data, account=account, profile=profile, filename=filename)
    except (SheetError, NoProfileFits) as exc:
        raise OrderImportError(str(exc)) from exc


def _decrypted(upload: Any, password: str) -> bytes:
    try:
        data = read_bytes(upload)
        if data.startswith(OLE_MAGIC):
            data = decrypt(data, password or None)
    except SheetError as exc:
        raise OrderImportError(str(exc)) from exc
    return data


def _present(account: ChannelAccount, orders: Sequence[ChannelOrder]) -> tuple[set[str], set[str]]:
    """(order ids, line ids) of the sheet's orders and lines already stored for the account."""
    order_ids = [o.external_order_id[:100] for o in orders]
    line_ids = [ln.external_line_id[:100] for o in orders for ln in o.lines]
    present_orders: set[str] = set()
    present_lines: set[str] = set()
    for part in _chunks(order_ids):
        present_orders.update(
            Order.objects.filter(account=account, external_order_id__in=part).values_list(
                "external_order_id", flat=True
            )
        )
    for part in _chunks(line_ids):
        present_lines.update(
            OrderLine.objects.filter(account=account, external_line_id__in=part).values_list(
                "external_line_id", flat=True
            )
        )
    return present_orders, present_lines


def _unmapped_count(account: ChannelAccount, lines: Sequence[ChannelOrderLine]) -> int:
    """How many of these lines no option mapping or seller code maps to a SKU yet (매칭 필요)."""
    resolver = SkuResolver(account)
    missing = 0
    for part in _chunks(lines, 500):
        missing += sum(1 for found in resolver.resolve(part) if found is None)
    return missing


def sheet_preview(*, account: ChannelAccount, parsed: ParsedSheet) -> dict[str, Any]:
    """The preview's counts: what the sheet holds, what is new and what is already there."""
    present_orders, present_lines = _present(account, parsed.orders)
    new_lines = [
        ln for o in parsed.orders for ln in o.lines if ln.external_line_id[:100] not in present_lines
    ]
    error_rows = len({e.row for e in parsed.errors})
    return {
        "rows": parsed.rows_read,
        "orders": len(parsed.orders),
        "lines": parsed.line_count,
        "new_orders": sum(1 for o in parsed.orders if o.external_order_id[:100] not in present_orders),
        "present_orders": len(present_orders),
        "new_lines": len(new_lines),
        "present_lines": len(present_lines),
        "new_lines_unmapped": _unmapped_count(account, new_lines),
        "error_rows": error_rows,
        "errors": len(parsed.errors),
        "held_orders": len({e.value for e in parsed.errors if e.value}) if parsed.errors else 0,
    }


def _store(data: bytes, file_format: str) -> str:
    extension = file_format if file_format in {"xlsx", "xls", "ods", "csv"} else "xlsx"
    return default_storage.save(f"{STORE_DIR}/{uuid.uuid4().hex}.{extension}", ContentFile(data))


def _delete_stored(batch: ImportBatch) -> None:
    if batch.stored_path:
        try:
            default_storage.delete(batch.stored_path)
        except OSError:  # already gone: nothing to clean up
            logger.warning("could not delete %s", batch.stored_path)
        batch.stored_path = ""


def order_import_upload(
    *,
    account: ChannelAccount,
    upload: Any,
    password: str = "",
    profile: SheetProfile | None = None,
    actor: User | None,
    filename: str = "",
) -> ImportBatch:
    """Read an uploaded order sheet and keep it with its preview. Raises OrderImportError (and
    keeps nothing) when the file is too big, unsafe, not a spreadsheet, locked with another
    password, has no order rows, or its headers fit no profile."""
    original = PurePath(filename or str(getattr(upload, "name", "") or "orders.xlsx")).name
    data = _decrypted(upload, password)
    parsed = _read_sheet(data, account=account, profile=profile, filename=original)
    if not parsed.rows_read:
        raise OrderImportError(
            _("The sheet has headers but no order rows (sheet %(sheet)s, header on row %(row)s).")
            % {"sheet": parsed.table.sheet_name, "row": parsed.table.header_row}
        )
    counts = sheet_preview(account=account, parsed=parsed)
    counts.update(
        profile=_profile_snapshot(parsed.profile),
        sheet=parsed.table.sheet_name,
        header_row=parsed.table.header_row,
        file_format=parsed.table.file_format,
        ignored_headers=[h for h in parsed.table.ignored_headers if h][:50],
    )
    order_imports_purge()
    stored = _store(data, parsed.table.file_format)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                account=account,
                profile_name=str(parsed.profile.label)[:100],
                filename=original[:255],
                stored_path=stored,
                status=ImportBatch.Status.PREVIEW,
                counts=counts,
                errors=[e.as_list() for e in parsed.errors],
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="orders.import_upload",
                obj=batch,
                changes={
                    "account": account.name,
                    "file": batch.filename,
                    "orders": counts["orders"],
                    "new_orders": counts["new_orders"],
                    "error_rows": counts["error_rows"],
                },
            )
    except BaseException:
        default_storage.delete(stored)
        raise
    return batch


def order_imports_purge(*, days: int = KEEP_PREVIEW_DAYS) -> int:
    """Drop previews nobody registered or cancelled within `days`: their files are deleted and
    they are marked cancelled."""
    cutoff = timezone.now() - timedelta(days=days)
    stale = ImportBatch.objects.filter(
        status=ImportBatch.Status.PREVIEW, created_at__lt=cutoff, job__isnull=True
    ).exclude(stored_path="")
    n = 0
    for batch in stale[:200]:
        _delete_stored(batch)
        batch.status = ImportBatch.Status.CANCELLED
        batch.save(update_fields=["stored_path", "status"])
        n += 1
    return n


# --- Registering -----------------------------------------------------------------------------


def batch_is_busy(batch: ImportBatch) -> bool:
    """A worker is registering this batch right now."""
    return (
        batch.status == ImportBatch.Status.PREVIEW
        and batch.job_id is not None
        and batch.job is not None
        and not batch.job.is_finished
    )


def batch_can_commit(batch: ImportBatch) -> bool:
    return (
        batch.status == ImportBatch.Status.PREVIEW
        and bool(batch.stored_path)
        and bool(batch.counts.get("orders"))
        and not batch_is_busy(batch)
    )


def result_url(batch: ImportBatch) -> str:
    return reverse("orders:import_detail", args=[batch.pk])


def order_import_start_commit(*, batch: ImportBatch, actor: User | None) -> ImportBatch:
    """Register the valid orders of a previewed sheet: at once when it is small, otherwise as a
    job the worker runs (with a progress bar). A second click finds it busy or registered."""
    batch.refresh_from_db()
    if batch.status == ImportBatch.Status.COMMITTED:
        return batch
    if batch.status != ImportBatch.Status.PREVIEW:
        raise OrderImportError(
            _("This upload cannot be registered (%(status)s).") % {"status": batch.get_status_display()}
        )
    if batch_is_busy(batch):
        raise OrderImportError(_("This upload is being registered already; this page shows the progress."))
    if not batch.counts.get("orders"):
        raise OrderImportError(_("This sheet has no valid orders to register."))
    if int(batch.counts.get("lines", 0)) <= job_threshold():
        return order_import_commit(batch=batch, actor=actor)
    job = job_create(
        kind=JOB_KIND,
        title=_("Registering orders from %(file)s") % {"file": batch.filename},
        actor=actor,
        total=int(batch.counts.get("orders", 0)),
    )
    # Claim the batch for this job; whoever claims first runs it.
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status=ImportBatch.Status.PREVIEW, job=batch.job_id
    ).update(job=job)
    if not claimed:
        job_fail(job_id=job.pk, message=_("Another registration of this upload started first."))
        batch.refresh_from_db()
        return batch
    batch.job = job
    from orders.tasks import order_import_commit_task

    transaction.on_commit(
        partial(
            order_import_commit_task.delay,
            batch_id=batch.pk,
            job_id=job.pk,
            actor_id=actor.pk if actor is not None else None,
        )
    )
    return batch


def _load(batch: ImportBatch) -> ParsedSheet:
    if not batch.stored_path:
        raise OrderImportError(_("The uploaded file is no longer kept. Upload it again."))
    try:
        with default_storage.open(batch.stored_path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise OrderImportError(_("The uploaded file is no longer kept. Upload it again.")) from None
    profile = _profile_from_snapshot(batch.counts.get("profile") or {})
    return _read_sheet(data, account=batch.account, profile=profile, filename=batch.stored_path)


def _result_counts(batch: ImportBatch, result: IngestResult) -> dict[str, int]:
    """The ingest's counts, with orders an earlier, interrupted run of this batch created counted
    as created (that run's orders come back as unchanged in the re-run)."""
    counts = result.as_dict()
    made_orders = Order.objects.filter(import_batch=batch).count()
    earlier = max(0, made_orders - counts["orders_created"])
    if earlier:
        made_lines = OrderLine.objects.filter(order__import_batch=batch).count()
        earlier_lines = max(0, made_lines - counts["lines_created"])
        counts["orders_created"] += earlier
        counts["orders_unchanged"] = max(0, counts["orders_unchanged"] - earlier)
        counts["lines_created"] += earlier_lines
        counts["lines_unchanged"] = max(0, counts["lines_unchanged"] - earlier_lines)
    counts["unmapped"] = max(
        counts["unmapped"], OrderLine.objects.filter(order__import_batch=batch, unmapped=True).count()
    )
    counts["backorder"] = max(
        counts["backorder"], OrderLine.objects.filter(order__import_batch=batch, backorder=True).count()
    )
    return counts


def order_import_commit(*, batch: ImportBatch, actor: User | None, job_id: int | None = None) -> ImportBatch:
    """Register the batch's valid orders. Safe to run twice: a registered batch is left alone,
    and a run that died midway is re-run idempotently by orders_ingest.

    A small sheet (no job) goes in one transaction with the batch row locked, so a double click
    waits and then finds it registered. A big one (the worker's job, or the command line) goes
    in orders_ingest's batches of whole orders, with a progress bar when there is a job; only
    the job that claimed the batch runs it."""
    lines = int(batch.counts.get("lines", 0))
    if job_id is None and lines <= job_threshold():
        try:
            return _commit_at_once(batch_id=batch.pk, actor=actor)
        except IntegrityError:
            # The same order arrived meanwhile from another source (a collection run): all of
            # this was rolled back, and a second try finds that order and leaves it alone.
            raise OrderImportError(
                _(
                    "Another change to the same orders happened at the same time; nothing was registered. "
                    "Try again."
                )
            ) from None
    return _commit_in_batches(batch_id=batch.pk, actor=actor, job_id=job_id)


def _commit_at_once(*, batch_id: int, actor: User | None) -> ImportBatch:
    """The whole sheet in one transaction: all of it is registered, or none of it."""
    with transaction.atomic():
        locked = (
            ImportBatch.objects.select_for_update(of=("self",)).select_related("account").get(pk=batch_id)
        )
        if locked.status != ImportBatch.Status.PREVIEW:
            return locked
        parsed = _load(locked)
        result = orders_ingest(
            account=locked.account,
            orders=parsed.orders,
            source=Order.Source.EXCEL,
            actor=actor,
            import_batch=locked,
        )
        _finish(locked, result, actor)
    counts_invalidate()
    _delete_file_after_commit(locked)
    return locked


def _commit_in_batches(*, batch_id: int, actor: User | None, job_id: int | None) -> ImportBatch:
    current = ImportBatch.objects.select_related("account").get(pk=batch_id)
    if current.status != ImportBatch.Status.PREVIEW or current.job_id != job_id:
        return current  # registered, cancelled, or claimed by another job: nothing to do
    try:
        parsed = _load(current)
        total = len(parsed.orders)
        if job_id is not None:
            job_start(job_id=job_id, total=total)
            job_progress(job_id=job_id, done=0, message=_("Registering orders"))

        def progress(done: int) -> None:
            if job_id is not None:
                job_progress(job_id=job_id, done=done)

        result = orders_ingest(
            account=current.account,
            orders=parsed.orders,
            source=Order.Source.EXCEL,
            actor=actor,
            import_batch=current,
            progress=progress,
        )
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=current.pk)
            if locked.status != ImportBatch.Status.PREVIEW:
                return locked
            _finish(locked, result, actor)
    except OrderImportError as exc:
        ImportBatch.objects.filter(pk=current.pk).update(
            status=ImportBatch.Status.FAILED, counts={**current.counts, "message": str(exc)[:500]}
        )
        if job_id is not None:
            job_fail(job_id=job_id, message=str(exc))
        current.refresh_from_db()
        return current
    except BaseException:
        # Something unexpected: give the batch back so registering can be tried again (orders
        # already stored are found and left alone then).
        ImportBatch.objects.filter(pk=current.pk, job=job_id).update(job=None)
        if job_id is not None:
            job_fail(
                job_id=job_id,
                message=_(
                    "Registering stopped unexpectedly. Orders registered so far are kept; register again to "
                    "finish the rest."
                ),
            )
        raise
    counts_invalidate()
    _delete_file_after_commit(locked)
    if job_id is not None:
        job_succeed(job_id=job_id, result=locked.counts.get("result", {}), result_url=result_url(locked))
    return locked


def _finish(batch: ImportBatch, result: IngestResult, actor: User | None) -> None:
    """Mark the batch registered with what happened. Inside the caller's transaction."""
    counts = _result_counts(batch, result)
    batch.status = ImportBatch.Status.COMMITTED
    batch.committed_at = timezone.now()
    batch.counts = {**batch.counts, "result": counts}
    batch.counts.pop("message", None)
    batch.save(update_fields=["status", "committed_at", "counts"])
    audit_record(actor=actor, action="orders.import_commit", obj=batch, changes=counts)


def _delete_file_after_commit(batch: ImportBatch) -> None:
    """The registered file is no longer needed (the preview and errors stay on the batch)."""
    if batch.stored_path:
        path = batch.stored_path
        _delete_stored(batch)
        ImportBatch.objects.filter(pk=batch.pk, stored_path=path).update(stored_path="")


def order_import_cancel(*, batch: ImportBatch, actor: User | None) -> ImportBatch:
    """Drop a previewed upload; nothing from it was registered and its file is deleted."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update(of=("self",)).select_related("job").get(pk=batch.pk)
        if locked.status == ImportBatch.Status.CANCELLED:
            return locked
        if locked.status != ImportBatch.Status.PREVIEW:
            raise OrderImportError(
                _("This upload cannot be cancelled (%(status)s).") % {"status": locked.get_status_display()}
            )
        if batch_is_busy(locked):
            raise OrderImportError(_("This upload is being registered and cannot be cancelled now."))
        path = locked.stored_path
        locked.status = ImportBatch.Status.CANCELLED
        locked.stored_path = ""
        locked.save(update_fields=["status", "stored_path"])
        audit_record(
            actor=actor, action="orders.import_cancel", obj=locked, changes={"file": locked.filename}
        )
    if path:
        default_storage.delete(path)
    return locked


# --- Command line --------------------------------------------------------------------------------


def order_import_file(
    *,
    account: ChannelAccount,
    path: str,
    profile: SheetProfile | None,
    password: str,
    dry_run: bool,
    actor: User | None = None,
) -> tuple[dict[str, Any], ImportBatch | None]:
    """The import_orders command: preview (dry run) or upload and register in one go. Returns
    the preview counts and the registered batch (None on a dry run). Raises OrderImportError."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(int(settings.OMS_UPLOAD_MAX_BYTES) + 1)
    except OSError as exc:
        raise OrderImportError(
            _("Cannot open %(path)s: %(error)s") % {"path": path, "error": exc.strerror or exc}
        ) from None
    name = PurePath(path).name
    if dry_run:
        parsed = _read_sheet(_decrypted(data, password), account=account, profile=profile, filename=name)
        counts = sheet_preview(account=account, parsed=parsed)
        counts["errors_list"] = [e.as_list() for e in parsed.errors]
        return counts, None
    batch = order_import_upload(
        account=account, upload=data, password=password, profile=profile, actor=actor, filename=name
    )
    counts = dict(batch.counts)
    counts["errors_list"] = batch.errors
    if not batch.counts.get("orders"):
        order_import_cancel(batch=batch, actor=actor)
        return counts, batch
    batch = order_import_commit(batch=batch, actor=actor)
    return counts, batch


# --- User-defined profiles ---------------------------------------------------------------------


def excel_profile_save(
    *,
    account: ChannelAccount,
    profile: ExcelProfile | None,
    name: str,
    sheet_name: str,
    header_row: int | None,
    mapping: dict[str, str],
    actor: User | None,
) -> ExcelProfile:
    """Create or change one of the account's sheet profiles (header_row None: find it)."""
    values = {
        "name": name.strip(),
        "sheet_name": sheet_name.strip(),
        "header_row": header_row or 0,
        "mapping": dict(mapping),
    }
    with transaction.atomic():
        if profile is None:
            saved = ExcelProfile(account=account, **values)
            saved.full_clean()
            saved.save()
            audit_record(actor=actor, action="orders.excel_profile_create", obj=saved, changes=values)
            return saved
        saved = ExcelProfile.objects.select_for_update().get(pk=profile.pk)
        changes = {k: [getattr(saved, k), v] for k, v in values.items() if getattr(saved, k) != v}
        for key, value in values.items():
            setattr(saved, key, value)
        saved.full_clean()
        saved.save()
        audit_record(actor=actor, action="orders.excel_profile_update", obj=saved, changes=changes)
        return saved


def excel_profile_delete(*, profile: ExcelProfile, actor: User | None) -> None:
    """Previews read with the profile keep their own copy of it, so they still register."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="orders.excel_profile_delete",
            obj=profile,
            changes={"name": profile.name, "account": profile.account.name},
        )
        profile.delete()
