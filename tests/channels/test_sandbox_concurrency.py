"""Buyers ordering at the same moment never sell more than the sandbox shows (Postgres only:
each buyer is a thread with its own connection, all released together)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from channels.sandbox.generator import sandbox_orders_generate
from channels.sandbox_models import SandboxListing, SandboxOrder, SandboxOrderLine
from tests.channels.test_sandbox_helpers import make_listing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 20


def test_buyers_at_the_same_moment_never_take_more_than_the_stock() -> None:
    a, b = make_listing(stock=3), make_listing(stock=2)
    barrier = threading.Barrier(BUYERS)
    errors: list[BaseException] = []
    placed: list[Any] = []

    def buy() -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            placed.extend(sandbox_orders_generate(count=1))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, daemon=True) for _ in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a buyer hung (deadlock?)"
    assert errors == []
    sold = dict(
        SandboxOrderLine.objects.values("listing_id")
        .annotate(n=Sum("quantity"))
        .values_list("listing_id", "n")
    )
    assert sold.get(a.pk, 0) <= 3 and sold.get(b.pk, 0) <= 2
    assert sum(sold.values()) == 5  # every unit sold, none twice
    assert set(SandboxListing.objects.values_list("stock_quantity", flat=True)) == {0}
    numbers = list(SandboxOrder.objects.values_list("order_no", flat=True))
    assert len(numbers) == len(set(numbers)) == len(placed)
