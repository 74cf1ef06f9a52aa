"""Writes for channel accounts, their credentials, listings and sync job records.

Credentials enter here as plain values and leave encrypted (channels.crypto); the audit trail
records which credential fields changed, never a value. The sync services (collect, push,
dispatch) record their runs through sync_job_start / sync_job_finish and report account errors
through channel_account_record_error.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from catalog.models import Sku
from channels.adapters.base import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    CredentialField,
    Unsupported,
)
from channels.crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from channels.http import adapter_for, redactor_for
from channels.models import CallLog, ChannelAccount, Listing, Marketplace, OptionMapping, SyncJob
from channels.registry import adapter_class, marketplace_offered
from channels.schedules import account_schedule_sync
from inventory.services import mark_stock_dirty
from oms.models import User
from oms.services import audit_record, field_changes

logger = logging.getLogger("channels")

# Account settings an admin edits (besides name, base URL and credentials).
SETTING_FIELDS = (
    "collect_interval_minutes",
    "stock_push_enabled",
    "stock_keep_back",
    "stock_expose_percent",
    "stock_zero_threshold",
    "commission_rate",
    "is_active",
)
_STOCK_RULE_FIELDS = {"stock_push_enabled", "stock_keep_back", "stock_expose_percent", "stock_zero_threshold"}


class AccountError(Exception):
    """A refused account write; nothing was written. str() is for people; `fields` maps a field
    (or a credential field name) to its message."""

    def __init__(self, message: str = "", *, fields: Mapping[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(" ".join([message, *self.fields.values()]).strip())


# --- Credentials --------------------------------------------------------------------------------


def credential_fields_of(marketplace: str) -> tuple[CredentialField, ...]:
    cls = adapter_class(marketplace)
    return cls.credential_fields if cls else ()


@sensitive_variables("credentials", "changes", "old", "merged", "values")
def _merge_credentials(
    *, marketplace: str, old: Mapping[str, str], changes: Mapping[str, str | None]
) -> tuple[dict[str, str], list[str]]:
    """New credential values and the names of those that changed. In `changes`, None keeps the
    saved value, "" clears it, anything else replaces it."""
    fields = {f.name: f for f in credential_fields_of(marketplace)}
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        if not fields:
            raise AccountError(_("This marketplace has no API connection, so it takes no credentials."))
        raise AccountError(
            _("Unknown credential field(s): %(names)s. This marketplace takes: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(fields)}
        )
    merged = {k: v for k, v in old.items() if k in fields}
    for name, value in changes.items():
        if value is None:
            continue
        value = value.strip()
        if value:
            merged[name] = value
        else:
            merged.pop(name, None)
    missing = {
        name: _("%(label)s is required.") % {"label": f.label}
        for name, f in fields.items()
        if f.required and not merged.get(name)
    }
    if missing:
        raise AccountError(fields=missing)
    changed = sorted(name for name in fields if old.get(name, "") != merged.get(name, ""))
    return merged, changed


def _validate_base_url(base_url: str) -> str:
    base_url = base_url.strip()
    if base_url:
        try:
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            raise AccountError(
                fields={"base_url": _("Enter a full address starting with https:// (or http://).")}
            ) from None
    return base_url.rstrip("/")


def _full_clean(account: ChannelAccount) -> None:
    try:
        account.full_clean(exclude=["credentials_encrypted"])
    except ValidationError as exc:
        raise AccountError(
            fields={k: " ".join(str(m) for m in v) for k, v in exc.message_dict.items()}
        ) from None


def _mark_account_stock_dirty(account: ChannelAccount) -> None:
    """A changed exposure rule changes what every listing of the account should show."""
    sku_ids = (
        Listing.objects.filter(account=account, sku__isnull=False, stock_sync_excluded=False)
        .values_list("sku_id", flat=True)
        .distinct()
    )
    mark_stock_dirty(sku_id for sku_id in sku_ids if sku_id is not None)


# --- Accounts ---------------------------------------------------------------------------------


@sensitive_variables("credentials", "changes", "old", "merged", "values")
@transaction.atomic
def channel_account_create(
    *,
    actor: User | None,
    marketplace: str,
    name: str,
    base_url: str = "",
    credentials: Mapping[str, str | None] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ChannelAccount:
    if marketplace not in Marketplace.values or not marketplace_offered(marketplace):
        raise AccountError(
            fields={
                "marketplace": _("Unknown marketplace %(code)s. Choose one of: %(codes)s.")
                % {
                    "code": marketplace,
                    "codes": ", ".join(c for c in Marketplace.values if marketplace_offered(c)),
                }
            }
        )
    values, changed = _merge_credentials(marketplace=marketplace, old={}, changes=dict(credentials or {}))
    account = ChannelAccount(
        marketplace=marketplace, name=name.strip(), base_url=_validate_base_url(base_url)
    )
    for key, value in (settings or {}).items():
        if key not in SETTING_FIELDS:
            raise AccountError(_("Unknown account setting: %(name)s") % {"name": key})
        setattr(account, key, value)
    _full_clean(account)
    account.credentials_encrypted = encrypt_credentials(values)
    account.credentials_updated_at = timezone.now() if values else None
    account.save()
    audit_record(
        actor=actor,
        action="channel_account.create",
        obj=account,
        changes={
            "marketplace": marketplace,
            "name": account.name,
            "base_url": account.base_url,
            "credentials": ", ".join(changed),
            **{k: getattr(account, k) for k in SETTING_FIELDS},
        },
    )
    account_schedule_sync(account)
    return account


@sensitive_variables("credentials", "changes", "old", "merged", "values")
@transaction.atomic
def channel_account_update(
    *,
    actor: User | None,
    account: ChannelAccount,
    name: str | None = None,
    base_url: str | None = None,
    credentials: Mapping[str, str | None] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ChannelAccount:
    """Edit an account. Only what is passed changes; credentials merge as in _merge_credentials
    (None keeps a saved value), so a form can leave secrets it never shows untouched."""
    locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
    new_values: dict[str, Any] = {}
    if name is not None:
        new_values["name"] = name.strip()
    if base_url is not None:
        new_values["base_url"] = _validate_base_url(base_url)
    for key, value in (settings or {}).items():
        if key not in SETTING_FIELDS:
            raise AccountError(_("Unknown account setting: %(name)s") % {"name": key})
        new_values[key] = value
    changes: dict[str, Any] = field_changes(locked, new_values)
    for key, value in new_values.items():
        setattr(locked, key, value)
    _full_clean(locked)
    update_fields = list(new_values)

    if credentials:
        try:
            old = decrypt_credentials(locked.credentials_encrypted)
        except CredentialsUnreadable:
            old = {}  # lost key: whatever is entered now replaces them, and must be complete
        merged, changed = _merge_credentials(marketplace=locked.marketplace, old=old, changes=credentials)
        if changed:
            locked.credentials_encrypted = encrypt_credentials(merged)
            locked.credentials_updated_at = timezone.now()
            update_fields += ["credentials_encrypted", "credentials_updated_at"]
            changes["credentials"] = ", ".join(changed)
            # New credentials are the usual cure for an auth error: let the schedule try again.
            if locked.status == ChannelAccount.Status.ERROR:
                changes["status"] = [locked.status, ChannelAccount.Status.ACTIVE]
                locked.status = ChannelAccount.Status.ACTIVE
                update_fields.append("status")

    if not changes:
        return locked
    locked.save(update_fields=[*update_fields, "updated_at"])
    recovered = changes.get("status") == [ChannelAccount.Status.ERROR, ChannelAccount.Status.ACTIVE]
    if (_STOCK_RULE_FIELDS & changes.keys() or recovered) and locked.stock_push_enabled:
        _mark_account_stock_dirty(locked)
    audit_record(actor=actor, action="channel_account.update", obj=locked, changes=changes)
    account_schedule_sync(locked)
    return locked


def _set_status(*, actor: User | None, account: ChannelAccount, status: str, action: str) -> ChannelAccount:
    locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == status:
        return locked
    old = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action=action, obj=locked, changes={"status": [old, status]})
    account_schedule_sync(locked)
    return locked


@transaction.atomic
def channel_account_pause(*, actor: User | None, account: ChannelAccount) -> ChannelAccount:
    """Stop scheduled collection and stock push for the account until it is resumed."""
    return _set_status(
        actor=actor, account=account, status=ChannelAccount.Status.PAUSED, action="channel_account.pause"
    )


@transaction.atomic
def channel_account_resume(*, actor: User | None, account: ChannelAccount) -> ChannelAccount:
    """Back to active, from paused or from an error the admin has dealt with."""
    account = _set_status(
        actor=actor, account=account, status=ChannelAccount.Status.ACTIVE, action="channel_account.resume"
    )
    if account.stock_push_enabled:
        _mark_account_stock_dirty(account)
    return account


@transaction.atomic
def channel_account_record_error(*, account_id: int, message: str, auth: bool) -> None:
    """Note a failed sync on the account. An auth error (expired key, IP not allowed) also turns
    the account to error: the schedule stops trying and the dashboard says why."""
    account = ChannelAccount.objects.select_for_update().get(pk=account_id)
    account.last_error = redactor_for(account)(message)[:500]
    account.last_error_at = timezone.now()
    fields = ["last_error", "last_error_at"]
    if auth and account.status != ChannelAccount.Status.ERROR:
        audit_record(
            actor=None,
            action="channel_account.error",
            obj=account,
            changes={"status": [account.status, ChannelAccount.Status.ERROR], "reason": account.last_error},
        )
        account.status = ChannelAccount.Status.ERROR
        fields.append("status")
    account.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def channel_account_record_ok(*, account_id: int) -> None:
    """A call with the account's credentials worked: an account in error is active again, and
    its listings are marked stock-dirty, since the stock push left them alone while it was in
    error (pushable_listings) and stock that changed meanwhile must reach the channel now."""
    account = ChannelAccount.objects.select_for_update().get(pk=account_id)
    if account.status == ChannelAccount.Status.ERROR:
        account.status = ChannelAccount.Status.ACTIVE
        account.save(update_fields=["status", "updated_at"])
        if account.stock_push_enabled:
            _mark_account_stock_dirty(account)
        audit_record(
            actor=None,
            action="channel_account.recovered",
            obj=account,
            changes={"status": [ChannelAccount.Status.ERROR, ChannelAccount.Status.ACTIVE]},
        )


@transaction.atomic
def channel_account_rotate_key(*, account: ChannelAccount) -> bool:
    """Re-encrypt the account's credentials with the first key. Returns whether it changed."""
    from channels.crypto import is_current, rotate_token

    locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
    if not locked.credentials_encrypted or is_current(locked.credentials_encrypted):
        return False
    locked.credentials_encrypted = rotate_token(locked.credentials_encrypted)
    locked.save(update_fields=["credentials_encrypted"])
    audit_record(actor=None, action="channel_account.rotate_key", obj=locked)
    return True


# --- Sync job records ---------------------------------------------------------------------------


def sync_job_start(
    *,
    account: ChannelAccount,
    kind: str,
    params: Mapping[str, Any] | None = None,
    retry_of: SyncJob | None = None,
    actor: User | None = None,
) -> SyncJob:
    """A running job row, committed on its own so the monitor shows the run while it runs."""
    return SyncJob.objects.create(
        account=account,
        kind=kind,
        status=SyncJob.Status.RUNNING,
        started_at=timezone.now(),
        params=dict(params or {}),
        retry_of=retry_of,
        triggered_by=actor if actor is not None and actor.is_authenticated else None,
    )


def sync_job_finish(
    *,
    job: SyncJob,
    fetched: int = 0,
    created: int = 0,
    updated: int = 0,
    skipped: int = 0,
    failed: int = 0,
    error: str = "",
) -> SyncJob:
    """Close a job: failed with an error, partly failed when some items failed, else succeeded.
    The error is stored with the account's secrets redacted."""
    job.fetched, job.created, job.updated, job.skipped, job.failed = (
        fetched,
        created,
        updated,
        skipped,
        failed,
    )
    job.error = redactor_for(job.account)(error)[:4000] if error else ""
    if error:
        job.status = SyncJob.Status.FAILED
    elif failed:
        job.status = SyncJob.Status.PARTIAL
    else:
        job.status = SyncJob.Status.SUCCEEDED
    job.finished_at = timezone.now()
    job.save(
        update_fields=["fetched", "created", "updated", "skipped", "failed", "error", "status", "finished_at"]
    )
    return job


@dataclass(frozen=True)
class AuthCheckResult:
    job: SyncJob
    ok: bool
    message: str


def channel_account_check_auth(
    *, actor: User | None, account: ChannelAccount, retry_of: SyncJob | None = None
) -> AuthCheckResult:
    """연결 테스트: the adapter's cheap authenticated call, through the account's real session
    (rate limit, retries, call log), recorded as an auth_check job. A refusal turns the account
    to error; a success clears an error. Network trouble leaves the account as it was."""
    account = ChannelAccount.objects.get(pk=account.pk)  # the credentials as saved now
    job = sync_job_start(account=account, kind=SyncJob.Kind.AUTH_CHECK, actor=actor, retry_of=retry_of)
    auth_failed = False
    try:
        result = adapter_for(account, job=job).check_auth()
        ok, message = result.ok, result.message
        auth_failed = not ok
    except (CredentialsUnreadable, Unsupported) as exc:
        ok, message = False, str(exc)
    except ChannelAuthError as exc:
        ok, message, auth_failed = False, exc.message, True
    except ChannelRateLimited as exc:
        ok, message = False, _("Rate limited by the marketplace: %(reason)s") % {"reason": exc.message}
    except ChannelError as exc:
        ok, message = False, exc.message
    except Exception as exc:  # an adapter bug must still close the job and show something
        logger.error("connection test of account %s crashed: %s", account.pk, type(exc).__name__)
        ok, message = (
            False,
            _("The connection test failed unexpectedly (%(error)s).") % {"error": type(exc).__name__},
        )
    redact = redactor_for(account)
    message = redact(message or (_("Connected.") if ok else _("The marketplace refused the connection.")))
    with transaction.atomic():
        sync_job_finish(job=job, error="" if ok else message)
        if ok:
            channel_account_record_ok(account_id=account.pk)
        elif auth_failed:
            channel_account_record_error(account_id=account.pk, message=message, auth=True)
        audit_record(actor=actor, action="channel_account.check_auth", obj=account, changes={"ok": ok})
    return AuthCheckResult(job=job, ok=ok, message=message)


# --- Retrying a sync job ------------------------------------------------------------------------

# The Celery task that runs each kind of job, by name in channels.tasks (which may also declare
# SYNC_JOB_TASKS = {kind: task} to say it explicitly). Each is called as
# task.delay(account_id), plus retry_of=<job id> when the task accepts it.
SYNC_TASK_NAMES: dict[str, str] = {
    SyncJob.Kind.COLLECT: "channel_orders_collect_task",
    SyncJob.Kind.CONFIRM: "channel_orders_confirm_task",
    SyncJob.Kind.DISPATCH: "channel_dispatch_task",
    SyncJob.Kind.STOCK_PUSH: "channel_stock_push_task",
    SyncJob.Kind.PRODUCT_PUSH: "channel_product_push_task",
    SyncJob.Kind.RECONCILE: "channel_stock_reconcile_task",
}


def sync_job_task(kind: str) -> Any | None:
    """The task that runs a job of `kind`, or None while channels.tasks does not provide one."""
    try:
        module = importlib.import_module("channels.tasks")
    except ModuleNotFoundError as exc:
        if exc.name != "channels.tasks":
            raise
        return None
    explicit = getattr(module, "SYNC_JOB_TASKS", None) or {}
    task = explicit.get(kind) or getattr(module, SYNC_TASK_NAMES.get(kind, ""), None)
    return task if callable(getattr(task, "delay", None)) else None


def retryable_kinds() -> frozenset[str]:
    """Kinds of job the monitor can run again now (the connection test always)."""
    return frozenset({SyncJob.Kind.AUTH_CHECK, *(k for k in SyncJob.Kind.values if sync_job_task(k))})


class RetryRefused(Exception):
    """The job cannot be retried; str() says why, for people."""


@dataclass(frozen=True)
class RetryOutcome:
    job: SyncJob | None  # the new job when it ran at once (connection test); None when queued
    message: str


def _accepts(task: Any, name: str) -> bool:
    try:
        return name in inspect.signature(task.run).parameters
    except (AttributeError, TypeError, ValueError):
        return False


def sync_job_retry(*, actor: User | None, job: SyncJob) -> RetryOutcome:
    """Run the same kind of job again for the same account: a connection test at once, any other
    kind through its Celery task."""
    if not job.is_finished:
        raise RetryRefused(_("This job has not finished yet."))
    if job.status == SyncJob.Status.SUCCEEDED:
        raise RetryRefused(_("This job succeeded; there is nothing to retry."))
    account = ChannelAccount.objects.get(pk=job.account_id)
    if job.kind == SyncJob.Kind.AUTH_CHECK:
        result = channel_account_check_auth(actor=actor, account=account, retry_of=job)
        verdict = _("Connection test passed") if result.ok else _("Connection test failed")
        return RetryOutcome(job=result.job, message=f"{verdict}: {result.message}")
    if account.status == ChannelAccount.Status.PAUSED:
        raise RetryRefused(_("%(name)s is paused. Resume it first.") % {"name": account.name})
    task = sync_job_task(job.kind)
    if task is None:
        raise RetryRefused(
            _("%(kind)s cannot be run from here yet: its background task is not installed.")
            % {"kind": job.get_kind_display()}
        )
    kwargs = {"retry_of": job.pk} if _accepts(task, "retry_of") else {}
    task.delay(account.pk, **kwargs)
    audit_record(actor=actor, action="sync_job.retry", obj=account, changes={"job": job.pk, "kind": job.kind})
    return RetryOutcome(
        job=None,
        message=_("%(kind)s for %(name)s is queued; it appears here when the worker starts it.")
        % {"kind": job.get_kind_display(), "name": account.name},
    )


# --- Listings ---------------------------------------------------------------------------------


def _push_relevant(listing: Listing, account: ChannelAccount) -> bool:
    return listing.sku_id is not None and not listing.stock_sync_excluded and account.stock_push_enabled


@transaction.atomic
def listing_link_sku(*, actor: User | None, listing: Listing, sku: Sku | None) -> Listing:
    """Link a listing to a SKU by hand (or unlink it with None). The stock push then sends the
    SKU's quantity to it."""
    locked = Listing.objects.select_for_update().get(pk=listing.pk)
    old_code = locked.sku.code if locked.sku else None
    if (locked.sku_id or None) == (sku.pk if sku else None):
        return locked
    locked.sku = sku
    locked.linked_by = Listing.LinkedBy.MANUAL if sku else Listing.LinkedBy.NONE
    locked.save(update_fields=["sku", "linked_by", "updated_at"])
    if _push_relevant(locked, locked.account):
        mark_stock_dirty([locked.sku_id] if locked.sku_id else [])
    audit_record(
        actor=actor, action="listing.link", obj=locked, changes={"sku": [old_code, sku.code if sku else None]}
    )
    return locked


@transaction.atomic
def listing_set_stock_sync(*, actor: User | None, listings: QuerySet[Listing], excluded: bool) -> int:
    """Turn 재고 연동 제외 on or off for these listings; returns how many changed."""
    rows = list(
        Listing.objects.select_for_update()
        .filter(pk__in=listings.values("pk"), stock_sync_excluded=not excluded)
        .order_by("pk")
    )
    if not rows:
        return 0
    Listing.objects.filter(pk__in=[r.pk for r in rows]).update(
        stock_sync_excluded=excluded, updated_at=timezone.now()
    )
    if not excluded:
        pushing = set(
            ChannelAccount.objects.filter(
                pk__in={r.account_id for r in rows}, stock_push_enabled=True
            ).values_list("pk", flat=True)
        )
        mark_stock_dirty(r.sku_id for r in rows if r.sku_id is not None and r.account_id in pushing)
    for row in rows:
        audit_record(
            actor=actor,
            action="listing.stock_sync",
            obj=row,
            changes={"stock_sync_excluded": [not excluded, excluded]},
        )
    return len(rows)


@dataclass
class AutoLinkResult:
    linked: int = 0
    by: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0
    ambiguous: int = 0


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _mapping_key(listing: Listing) -> str:
    return listing.external_option_id.strip() or " ".join(listing.option_text.split())


def _auto_match(listings: Sequence[Listing], account_id: int) -> dict[int, tuple[int, str]]:
    """listing pk -> (sku pk, how) for the listings a rule links unambiguously."""
    out: dict[int, tuple[int, str]] = {}
    # 1. An existing option matching (매칭) that maps to exactly one SKU x 1. Its key is the
    #    option id, else the option text with whitespace collapsed (as orders.ingest stores it).
    keys = {ln.pk: (ln.external_product_id, _mapping_key(ln)) for ln in listings}
    mappings = (
        OptionMapping.objects.filter(
            account_id=account_id,
            channel_product_id__in={k[0] for k in keys.values()},
            option_key__in={k[1] for k in keys.values()},
        )
        .annotate(n=Count("items"))
        .filter(n=1)
        .prefetch_related("items")
    )
    by_key = {}
    for mapping in mappings:
        item = mapping.items.all()[0]
        if item.quantity == 1:
            by_key[(mapping.channel_product_id, mapping.option_key)] = item.sku_id
    codes = {ln.seller_code.strip() for ln in listings if ln.seller_code.strip()}
    # 2. The seller code is a SKU code.
    sku_by_code = dict(Sku.objects.filter(code__in=codes, is_active=True).values_list("code", "pk"))
    # 3. The seller code is a product code: its only active SKU, or the one whose option label
    #    is the listing's option text.
    product_skus: dict[str, list[tuple[int, str]]] = {}
    for code, sku_id, label in Sku.objects.filter(product__code__in=codes, is_active=True).values_list(
        "product__code", "pk", "option_label"
    ):
        product_skus.setdefault(code, []).append((sku_id, label))
    for ln in listings:
        key = keys[ln.pk]
        code = ln.seller_code.strip()
        if key in by_key:
            out[ln.pk] = (by_key[key], Listing.LinkedBy.MAPPING)
        elif code in sku_by_code:
            out[ln.pk] = (sku_by_code[code], Listing.LinkedBy.SKU_CODE)
        elif code in product_skus:
            skus = product_skus[code]
            if len(skus) == 1:
                out[ln.pk] = (skus[0][0], Listing.LinkedBy.SELLER_CODE)
            else:
                same = [s for s, label in skus if ln.option_text and _norm(label) == _norm(ln.option_text)]
                if len(same) == 1:
                    out[ln.pk] = (same[0], Listing.LinkedBy.SELLER_CODE)
                else:
                    out[ln.pk] = (0, "ambiguous")
    return out


@transaction.atomic
def listing_autolink(
    *, actor: User | None, account: ChannelAccount, listings: QuerySet[Listing]
) -> AutoLinkResult:
    """Link the unlinked listings among `listings` by option matching, SKU code or seller code.
    Listings already linked (by hand or otherwise) are left as they are."""
    result = AutoLinkResult()
    candidates = listings.filter(account=account, sku__isnull=True).order_by("pk")
    dirty: set[int] = set()
    last_pk = 0
    while True:
        chunk = list(candidates.filter(pk__gt=last_pk)[:500])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        matches = _auto_match(chunk, account.pk)
        changed = []
        for ln in chunk:
            sku_id, how = matches.get(ln.pk, (0, ""))
            if how == "ambiguous":
                result.ambiguous += 1
            elif not sku_id:
                result.unmatched += 1
            else:
                ln.sku_id, ln.linked_by = sku_id, how
                changed.append(ln)
                result.by[how] = result.by.get(how, 0) + 1
                if not ln.stock_sync_excluded:
                    dirty.add(sku_id)
        Listing.objects.bulk_update(changed, ["sku", "linked_by"])
        result.linked += len(changed)
    if dirty and account.stock_push_enabled:
        mark_stock_dirty(dirty)
    if result.linked:
        audit_record(
            actor=actor,
            action="listing.autolink",
            obj=account,
            changes={"linked": result.linked, **{f"by_{k}": v for k, v in result.by.items()}},
        )
    return result


@dataclass(frozen=True)
class ListingSeen:
    """A channel product option as an order line or a product fetch showed it."""

    external_product_id: str
    external_option_id: str = ""
    product_name: str = ""
    option_text: str = ""
    seller_code: str = ""


@transaction.atomic
def listing_record_seen(*, account: ChannelAccount, items: Iterable[ListingSeen]) -> int:
    """Make sure every option the channel showed has a listing row (new ones are auto-linked);
    refresh names and seller codes that changed on the channel. Returns how many were new."""
    seen: dict[tuple[str, str], ListingSeen] = {}
    for item in items:
        if item.external_product_id.strip():
            seen[(item.external_product_id.strip()[:100], item.external_option_id.strip()[:100])] = item
    if not seen:
        return 0
    existing = {
        (ln.external_product_id, ln.external_option_id): ln
        for ln in Listing.objects.filter(
            account=account,
            external_product_id__in={k[0] for k in seen},
            external_option_id__in={k[1] for k in seen},
        ).order_by("pk")
    }
    new, changed = [], []
    for key, item in seen.items():
        values = {
            "product_name": item.product_name.strip()[:300],
            "option_text": item.option_text.strip()[:300],
            "seller_code": item.seller_code.strip()[:100],
        }
        row = existing.get(key)
        if row is None:
            new.append(
                Listing(account=account, external_product_id=key[0], external_option_id=key[1], **values)
            )
            continue
        diff = {k: v for k, v in values.items() if v and getattr(row, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(row, k, v)
            changed.append(row)
    created = Listing.objects.bulk_create(new, ignore_conflicts=True)
    if changed:
        Listing.objects.bulk_update(changed, ["product_name", "option_text", "seller_code"])
    if created:
        fresh = Listing.objects.filter(
            account=account,
            external_product_id__in={ln.external_product_id for ln in new},
            sku__isnull=True,
        )
        listing_autolink(actor=None, account=account, listings=fresh)
    return len(new)


def calllog_prune(*, older_than: timedelta, batch: int = 5000) -> int:
    """Delete API call rows older than `older_than`, in batches (the table grows by every call
    of every account). Jobs keep their counts and errors. Returns how many rows went."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        ids = list(CallLog.objects.filter(at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += CallLog.objects.filter(pk__in=ids).delete()[0]
