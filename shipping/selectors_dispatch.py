"""Reads of the dispatch desk (발송처리): which boxes can go to their channels, and how."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from channels.adapters.base import Capability
from channels.models import ChannelAccount
from channels.registry import adapter_class
from shipping.models import OPEN_SHIPMENT_STATES, Shipment, ShipmentItem, ShipmentStatus

Dispatch = ShipmentItem.Dispatch
# Items a dispatch run sends (or offers in a sheet): never sent, or refused last time.
TO_SEND = (Dispatch.WAITING, Dispatch.FAILED)
# Items whose line reached its channel (by API or by the uploaded sheet).
DONE = (Dispatch.SENT, Dispatch.EXCEL)


def dispatch_states(*, packed_only: bool) -> tuple[str, ...]:
    """Box states a dispatch run takes. Sellers often hand boxes to the courier before packing
    is scanned, so PACKED is not required unless asked for."""
    return (ShipmentStatus.PACKED,) if packed_only else tuple(OPEN_SHIPMENT_STATES)


def account_sends_by_api(account: ChannelAccount) -> bool:
    """Whether the account's dispatch goes through the marketplace API (an adapter with the
    DISPATCH capability and saved credentials); otherwise it is Excel-only."""
    cls = adapter_class(account.marketplace)
    return cls is not None and Capability.DISPATCH in cls.capabilities and account.has_credentials


def dispatch_ready_shipments(
    *, packed_only: bool = False, account_id: int | None = None, ids: Iterable[int] | None = None
) -> QuerySet[Shipment]:
    """Boxes ready to dispatch: open (or packed only), with a courier and a tracking number,
    holding at least one item not yet sent (of `account_id` when given)."""
    pending = ShipmentItem.objects.filter(shipment=OuterRef("pk"), dispatch_state__in=TO_SEND)
    if account_id is not None:
        pending = pending.filter(line__account_id=account_id)
    qs = (
        Shipment.objects.filter(status__in=dispatch_states(packed_only=packed_only), courier__isnull=False)
        .exclude(tracking_number="")
        .filter(Exists(pending))
    )
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.select_related("courier", "account")


@dataclass(frozen=True)
class AccountGroup:
    account: ChannelAccount
    by_api: bool
    boxes: int
    items: int
    failed: int


def dispatch_groups(shipments: QuerySet[Shipment]) -> list[AccountGroup]:
    """Per channel account: how many of these boxes and unsent items it has, and whether they
    go by API or by the channel's Excel sheet. One query, grouped in the database."""
    rows = (
        ShipmentItem.objects.filter(shipment__in=shipments.values("pk"), dispatch_state__in=TO_SEND)
        .values("line__account_id")
        .annotate(
            boxes=Count("shipment_id", distinct=True),
            items=Count("pk"),
            failed=Count("pk", filter=Q(dispatch_state=Dispatch.FAILED)),
        )
    )
    counts = {row["line__account_id"]: row for row in rows}
    accounts = ChannelAccount.objects.filter(pk__in=counts).order_by("name")
    return [
        AccountGroup(
            account=account,
            by_api=account_sends_by_api(account),
            boxes=counts[account.pk]["boxes"],
            items=counts[account.pk]["items"],
            failed=counts[account.pk]["failed"],
        )
        for account in accounts
    ]


def dispatch_items(*, shipment_ids: Iterable[int]) -> QuerySet[ShipmentItem]:
    """The items of these boxes with what the result page shows."""
    return (
        ShipmentItem.objects.filter(shipment_id__in=list(shipment_ids))
        .select_related("shipment__courier", "line__order", "line__account")
        .order_by("shipment_id", "pk")
    )
