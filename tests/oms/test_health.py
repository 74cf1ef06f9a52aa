from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oms.models import Heartbeat, User
from oms.services import heartbeat_record
from oms.tasks import heartbeat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_healthz_is_503_until_a_worker_reports() -> None:
    response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False


def test_healthz_is_ok_with_a_fresh_heartbeat_and_stale_after_two_minutes() -> None:
    heartbeat.run()
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"
    Heartbeat.objects.update(at=timezone.now() - dt.timedelta(minutes=3))
    assert Client().get(reverse("healthz")).status_code == 503


def test_dashboard_shows_the_system_status(staff_user: User) -> None:
    heartbeat_record(name="worker", hostname="w1")
    html = client_for(staff_user).get(reverse("dashboard")).content.decode()
    assert "시스템 상태" in html or "System status" in html
    assert "정상" in html
