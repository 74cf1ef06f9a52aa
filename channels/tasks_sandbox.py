"""Celery entry point of the sandbox marketplace's buyers (imported through CELERY_IMPORTS).

The beat runs it every 10 seconds; the service decides whether a round of orders is due
(every 20-40 s at random) and does nothing while the sandbox is off or no account uses it."""

from __future__ import annotations

from celery import shared_task

from channels.sandbox.generator import sandbox_tick


@shared_task(acks_late=True, ignore_result=True)
def sandbox_tick_task() -> int:
    return len(sandbox_tick())
