from __future__ import annotations

import pytest
from django.urls import reverse

from oms.models import Job, User
from oms.services import job_advance, job_create, job_fail, job_progress, job_start, job_succeed
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_running_job_fragment_polls_and_finished_one_stops(staff_user: User) -> None:
    job = job_create(kind="order_import", title="스마트스토어 주문 업로드", actor=staff_user)
    job_start(job_id=job.pk, total=200)
    job_progress(job_id=job.pk, done=50, message="50행 처리")
    client = client_for(staff_user)
    url = reverse("job_detail", args=[job.pk])

    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert 'aria-valuenow="25"' in running
    assert "<html" not in running

    job_advance(job_id=job.pk, by=10)
    job_succeed(job_id=job.pk, result={"created": 190, "failed": 10}, result_url="/jobs/")
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done
    assert 'aria-valuenow="100"' in done
    page = client.get(url).content.decode()
    assert "created" in page and "190" in page


def test_failed_job_keeps_its_reason(staff_user: User) -> None:
    job = job_create(kind="x", title="t", actor=staff_user, total=3)
    job_fail(job_id=job.pk, message="시트에 필수 열이 없습니다: 상품주문번호")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.is_finished
    assert "상품주문번호" in client_for(staff_user).get(reverse("job_detail", args=[job.pk])).content.decode()


def test_job_list_shows_own_jobs(staff_user: User, manager_user: User) -> None:
    job_create(kind="x", title="내 작업", actor=staff_user)
    job_create(kind="x", title="남의 작업", actor=manager_user)
    html = client_for(staff_user).get(reverse("job_list")).content.decode()
    assert "내 작업" in html and "남의 작업" not in html
