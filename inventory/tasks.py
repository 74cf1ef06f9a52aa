"""Celery entry points for inventory."""

from __future__ import annotations

from celery import shared_task

from inventory.notifications import low_stock_email_send


@shared_task(acks_late=True, ignore_result=True)
def low_stock_email_task() -> int:
    """Scheduled daily by beat (settings.CELERY_BEAT_SCHEDULE): the 재고 부족 e-mail."""
    return low_stock_email_send()
