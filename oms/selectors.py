from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from oms.models import AuditLog, Job, User
from oms.roles import Role


def user_list(*, filters: dict[str, Any]) -> QuerySet[User]:
    qs = User.objects.prefetch_related("groups")
    q = (filters.get("q") or "").strip()
    if q:
        from django.db.models import Q

        qs = qs.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    role = filters.get("role")
    if role and role in Role.__members__:
        qs = qs.filter(groups__name=Role[role].group_name)
    active = filters.get("active")
    if active in {"0", "1"}:
        qs = qs.filter(is_active=active == "1")
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_list(*, filters: dict[str, Any]) -> QuerySet[AuditLog]:
    qs = AuditLog.objects.select_related("actor", "content_type")
    if filters.get("actor"):
        qs = qs.filter(actor=filters["actor"])
    if filters.get("content_type"):
        qs = qs.filter(content_type=filters["content_type"])
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"].strip())
    if filters.get("date_from"):
        qs = qs.filter(at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(at__lt=_day_start(filters["date_to"] + dt.timedelta(days=1)))
    return qs


def job_list_for(*, user: User) -> QuerySet[Job]:
    """Jobs a user may watch: their own; administrators see everyone's."""
    qs = Job.objects.select_related("created_by")
    if user.has_perm("oms.change_job"):
        return qs
    return qs.filter(created_by=user)
