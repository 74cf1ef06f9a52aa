"""Celery entry points of the shipping desk: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def shipments_dispatch_task(*, job_id: int, actor_id: int | None = None) -> None:
    """발송처리 of a dispatch job's boxes. Safe to run twice: a finished job is left alone, and
    items already sent are never sent again (nor is their stock consumed again)."""
    from oms.models import User
    from shipping.services_dispatch import dispatch_run

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    dispatch_run(job_id=job_id, actor=actor)


@shared_task(acks_late=True, ignore_result=True)
def shipments_build_task(
    *, job_id: int, actor_id: int | None = None, account_id: int | None = None, across_channels: bool = False
) -> None:
    """출고 생성 (합포장) of the desk's big runs. Safe to run twice: a finished job is left alone,
    and lines already boxed are not candidates any more."""
    from oms.models import User
    from shipping.services_build import shipments_build_job

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    shipments_build_job(job_id=job_id, actor=actor, account_id=account_id, across_channels=across_channels)
