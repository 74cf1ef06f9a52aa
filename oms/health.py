"""What /healthz and the dashboard report: database, broker and the last worker heartbeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from oms.models import Heartbeat


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Health:
    checks: list[Check]
    worker_seen_at: datetime | None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down", with its reason
        return Check("database", False, f"{type(exc).__name__}: {exc}"[:200])
    return Check("database", True, connection.vendor)


def check_broker() -> Check:
    from oms.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            transport = conn.transport_cls
    except Exception as exc:
        return Check("broker", False, f"{type(exc).__name__}: {exc}"[:200])
    return Check("broker", True, str(transport))


def check_worker(now: datetime | None = None) -> tuple[Check, datetime | None]:
    now = now or timezone.now()
    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        return Check("worker", False, "no heartbeat yet"), None
    age = (now - beat.at).total_seconds()
    fresh = age <= settings.OMS_HEARTBEAT_STALE_AFTER.total_seconds()
    return Check("worker", fresh, f"last heartbeat {int(age)}s ago ({beat.hostname})"), beat.at


def health() -> Health:
    database = check_database()
    checks = [database, check_broker()]
    seen_at = None
    if database.ok:
        worker, seen_at = check_worker()
        checks.append(worker)
    else:
        checks.append(Check("worker", False, "database unavailable"))
    return Health(checks=checks, worker_seen_at=seen_at)
