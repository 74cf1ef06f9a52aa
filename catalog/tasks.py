"""Celery entry points for the catalog: the Excel import jobs (products and stock)."""

from __future__ import annotations

from celery import shared_task

from oms.models import User


@shared_task(acks_late=True, ignore_result=True)
def import_session_task(*, session_id: int, action: str, job_id: int, actor_id: int | None = None) -> None:
    """Check ("preview") or apply ("commit") an uploaded product or stock sheet; the kind is the
    session's. Both are safe to run twice: a commit only runs while the session is COMMITTING."""
    from catalog.services_import import import_session_commit, import_session_preview

    if action == "preview":
        import_session_preview(session_id=session_id, job_id=job_id)
    elif action == "commit":
        actor = User.objects.filter(pk=actor_id).first() if actor_id else None
        import_session_commit(session_id=session_id, actor=actor, job_id=job_id)
    else:
        raise ValueError(f"unknown import action {action!r}")
