"""Writes for the back office itself: audit trail, jobs, users and roles, company settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from oms.models import AuditLog, Company, Heartbeat, Job, User
from oms.roles import Role

# --- Audit trail -----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    changes: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditLog:
    """Record one write. Call it inside the service's own transaction so both land or neither.

    `changes` is small: {"field": [old, new]} for edits, or a few facts for other actions.
    """
    actor_user = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        actor=actor_user,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=_jsonable(dict(changes or {})),
        ip_address=ip_address,
    )


AUDIT_BATCH = 1000


def audit_record_many(
    *,
    actor: User | None,
    action: str,
    model: type[models.Model],
    entries: Iterable[tuple[Any, str, Mapping[str, Any]]],
) -> int:
    """audit_record for many objects of one model: (pk, label, changes) each, written in
    batches so a bulk edit of 10,000 SKUs costs ten INSERTs, not ten thousand. Returns the count."""
    content_type = ContentType.objects.get_for_model(model)
    actor_user = actor if actor is not None and actor.is_authenticated else None
    batch: list[AuditLog] = []
    written = 0
    for pk, label, changes in entries:
        batch.append(
            AuditLog(
                actor=actor_user,
                action=action,
                content_type=content_type,
                object_id=str(pk),
                object_repr=str(label)[:200],
                changes=_jsonable(dict(changes)),
            )
        )
        if len(batch) >= AUDIT_BATCH:
            AuditLog.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        AuditLog.objects.bulk_create(batch)
        written += len(batch)
    return written


def field_changes(instance: models.Model, new_values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{"field": [old, new]} for each field whose value differs."""
    out: dict[str, list[Any]] = {}
    for name, new in new_values.items():
        old = getattr(instance, name)
        if old != new:
            out[name] = [old, new]
    return out


# --- Jobs ------------------------------------------------------------------------------------


def job_create(*, kind: str, title: str, actor: User | None, total: int = 0) -> Job:
    return Job.objects.create(kind=kind, title=title, created_by=actor, total=total)


def job_start(*, job_id: int, total: int | None = None) -> None:
    values: dict[str, Any] = {"status": Job.Status.RUNNING, "started_at": timezone.now()}
    if total is not None:
        values["total"] = total
    Job.objects.filter(pk=job_id).update(**values)


def job_progress(*, job_id: int, done: int, message: str = "") -> None:
    """Progress is written outside the job's own transaction so the progress bar sees it."""
    Job.objects.filter(pk=job_id).update(done=done, message=message[:500])


def job_advance(*, job_id: int, by: int = 1) -> None:
    Job.objects.filter(pk=job_id).update(done=F("done") + by)


def job_succeed(
    *, job_id: int, result: Mapping[str, Any] | None = None, message: str = "", result_url: str = ""
) -> None:
    job = Job.objects.get(pk=job_id)
    job.status = Job.Status.SUCCEEDED
    job.done = job.total
    job.result = _jsonable(dict(result or {}))
    job.message = message[:500]
    job.result_url = result_url
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "done", "result", "message", "result_url", "finished_at"])


def job_fail(*, job_id: int, message: str, result: Mapping[str, Any] | None = None) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED,
        message=message[:500],
        result=_jsonable(dict(result or {})),
        finished_at=timezone.now(),
    )


# --- Heartbeat -------------------------------------------------------------------------------


def heartbeat_record(*, name: str, hostname: str = "") -> Heartbeat:
    heartbeat, _created = Heartbeat.objects.update_or_create(
        name=name, defaults={"at": timezone.now(), "hostname": hostname[:200]}
    )
    return heartbeat


# --- Users and roles -------------------------------------------------------------------------


def _set_role(user: User, role: Role) -> None:
    user.groups.set([Group.objects.get(name=role.group_name)])


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    _set_role(user, role)
    audit_record(
        actor=actor,
        action="user.create",
        obj=user,
        changes={"username": username, "role": role.group_name, "email": email},
    )
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, role: Role, first_name: str, last_name: str, email: str) -> User:
    old_role = Role.for_user(user)
    changes: dict[str, Any] = field_changes(
        user, {"first_name": first_name, "last_name": last_name, "email": email}
    )
    if old_role is not role:
        changes["role"] = [old_role.group_name if old_role else None, role.group_name]
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.full_clean(exclude=["password"])
    user.save(update_fields=["first_name", "last_name", "email"])
    _set_role(user, role)
    if changes:
        audit_record(actor=actor, action="user.update", obj=user, changes=changes)
    return user


class SelfDeactivationError(Exception):
    """An administrator may not lock themselves out."""


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    if user.pk == actor.pk and not active:
        raise SelfDeactivationError
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.activate" if active else "user.deactivate",
            obj=user,
            changes={"is_active": [not active, active]},
        )
    return user


@transaction.atomic
def user_reset_password(*, actor: User | None, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    # The password itself is never recorded.
    audit_record(actor=actor, action="user.reset_password", obj=user)
    return user


# --- Company ---------------------------------------------------------------------------------


@transaction.atomic
def company_update(*, actor: User | None, values: Mapping[str, Any]) -> Company:
    company = Company.objects.select_for_update().filter(pk=1).first() or Company(pk=1)
    changes = field_changes(company, values) if company.pk and not company._state.adding else dict(values)
    for name, value in values.items():
        setattr(company, name, value)
    company.full_clean()
    company.save()
    if changes:
        audit_record(actor=actor, action="company.update", obj=company, changes=changes)
    return company
