import socket

from celery import shared_task

from oms.services import heartbeat_record


@shared_task(acks_late=True, ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    """Scheduled by beat every 30 s: proves beat, broker and a worker are all running."""
    heartbeat_record(name=name, hostname=socket.gethostname())
