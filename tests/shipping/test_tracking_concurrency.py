"""One tracking number, one recipient, even when two people type it at the same moment
(Postgres only: each worker is a thread with its own connection, released together)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from shipping.models import Shipment
from shipping.services_tracking import TrackingError, shipment_set_tracking
from tests.shipping.factories import ShipmentFactory, courier

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


def test_one_number_typed_for_different_recipients_at_once_lands_on_one_box() -> None:
    boxes = [
        ShipmentFactory.create(recipient_name=f"고객{i}", recipient_phone=f"0101111{i:04d}")
        for i in range(WORKERS)
    ]
    cj = courier()
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = [None] * WORKERS

    def work(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            shipment_set_tracking(shipment=boxes[index], courier=cj, number="601234567890", actor=None)
            results[index] = "saved"
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results.count("saved") == 1, results
    winner = boxes[results.index("saved")]
    refused = [r for r in results if r != "saved"]
    # Each refusal names the box that got the number (whatever the language).
    assert all(isinstance(r, TrackingError) and winner.number in str(r) for r in refused), refused
    assert list(Shipment.objects.filter(tracking_number="601234567890").values_list("pk", flat=True)) == [
        winner.pk
    ]
