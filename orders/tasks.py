"""Celery entry points for orders: registering a big uploaded order sheet (주문서 업로드)."""

from __future__ import annotations

from celery import shared_task

from oms.models import User


@shared_task(acks_late=True, ignore_result=True)
def order_import_commit_task(*, batch_id: int, job_id: int, actor_id: int | None = None) -> None:
    """Register the valid orders of an uploaded sheet. Safe to run twice: a registered batch is
    left alone, and orders a killed run already stored are found, not duplicated."""
    from orders.models import ImportBatch
    from orders.services_import import order_import_commit

    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    order_import_commit(batch=batch, actor=actor, job_id=job_id)
