"""Row locks for the shipping desk, always in primary-key order so two workers never wait on
each other in a circle. Call inside a transaction.

Order of locking when both are needed: building locks the order lines first and then the
boxes it joins; a service that starts from boxes (merge, split, cancel, dispatch) locks the
boxes and lets orders.services lock their lines. The two never hold the same lines, since a
building run only takes lines that are in no box."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from orders.models import OrderLine
from shipping.models import Shipment


def lock_shipments(ids: Iterable[int], *, queryset: QuerySet[Shipment] | None = None) -> list[Shipment]:
    """The boxes, locked, in pk order (only the shipment rows, not what they join)."""
    base = queryset if queryset is not None else Shipment.objects.all()
    return list(base.filter(pk__in=sorted(set(ids))).order_by("pk").select_for_update(of=("self",)))


def lock_lines(ids: Iterable[int], *, queryset: QuerySet[OrderLine] | None = None) -> list[OrderLine]:
    """The order lines, locked, in pk order. A filter in `queryset` on the line's own columns
    (its status) is checked again by Postgres after a wait, so a line another worker just moved
    is left out rather than taken twice."""
    base = queryset if queryset is not None else OrderLine.objects.all()
    return list(base.filter(pk__in=sorted(set(ids))).order_by("pk").select_for_update(of=("self",)))
