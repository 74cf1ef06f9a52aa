"""Worker signal handlers: report a heartbeat as soon as a worker is up, not 30 s later."""

import contextlib
import socket
from typing import Any

from celery.signals import worker_ready


@worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    from django.db import DatabaseError

    from oms.services import heartbeat_record

    # Not migrated yet: the scheduled heartbeat will report once it is.
    with contextlib.suppress(DatabaseError):
        heartbeat_record(name="worker", hostname=socket.gethostname())
