"""The courier order sheet (택배 접수 파일): which shipments go on it, writing it, and marking
the exported boxes as invoice printed (READY -> PRINTED) in one UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from oms.models import User
from oms.services import audit_record
from shipping.excel_courier import LAYOUTS, Sender, courier_sheet_rows, courier_sheet_write
from shipping.models import OPEN_SHIPMENT_STATES, Courier, Shipment, ShipmentItem, ShipmentStatus


class UnknownLayout(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            _("Unknown sheet layout %(layout)s. Choose one of: %(layouts)s.")
            % {"layout": key, "layouts": ", ".join(LAYOUTS)}
        )


@dataclass(frozen=True)
class SheetFilters:
    """Which shipments: open ones (or `statuses`), by default only those still without a
    tracking number. A courier also takes the boxes without one when it is the default."""

    courier: Courier | None = None
    account: ChannelAccount | None = None
    statuses: tuple[str, ...] = ()
    without_tracking: bool = True
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SheetExport:
    count: int
    marked_printed: int
    layout: str


def courier_sheet_queryset(*, filters: SheetFilters) -> QuerySet[Shipment]:
    allowed = {s.value for s in OPEN_SHIPMENT_STATES}
    statuses = [s for s in filters.statuses if s in allowed] or sorted(allowed)
    queryset = Shipment.objects.filter(status__in=statuses)
    if filters.ids:
        # Boxes picked by hand on the desk: whatever their tracking number.
        queryset = queryset.filter(pk__in=filters.ids)
    elif filters.without_tracking:
        queryset = queryset.filter(tracking_number="")
    if filters.courier is not None:
        by_courier = Q(courier=filters.courier)
        if filters.courier.is_default:
            by_courier |= Q(courier__isnull=True)
        queryset = queryset.filter(by_courier)
    if filters.account is not None:
        mixed_with_account = Exists(
            ShipmentItem.objects.filter(shipment=OuterRef("pk"), line__account=filters.account)
        )
        queryset = queryset.filter(Q(account=filters.account) | Q(account__isnull=True) & mixed_with_account)
    return queryset.order_by("pk")


def courier_sheet_select(*, filters: SheetFilters) -> list[int]:
    """The ids of the shipments the sheet will hold, in order."""
    return list(courier_sheet_queryset(filters=filters).values_list("pk", flat=True))


def courier_sheet_export(
    *,
    fileobj: IO[bytes] | str,
    shipment_ids: Sequence[int],
    layout: str,
    mark_printed: bool,
    actor: User | None,
) -> SheetExport:
    """Write the sheet of `shipment_ids` to `fileobj` and, when asked, mark those still READY
    as invoice printed. Raises CompanyDetailsMissing (no sender) or UnknownLayout first, before
    anything is written."""
    if layout not in LAYOUTS:
        raise UnknownLayout(layout)
    sender = Sender.from_company()
    count = courier_sheet_write(
        fileobj, layout=LAYOUTS[layout], sender=sender, rows=courier_sheet_rows(shipment_ids)
    )
    marked = (
        shipments_mark_printed(shipment_ids=shipment_ids, actor=actor, layout=layout) if mark_printed else 0
    )
    return SheetExport(count=count, marked_printed=marked, layout=layout)


@transaction.atomic
def shipments_mark_printed(*, shipment_ids: Sequence[int], actor: User | None, layout: str = "") -> int:
    """READY -> PRINTED with printed_at now, for those of `shipment_ids` still READY (one
    UPDATE; boxes that moved on meanwhile are left alone). Returns how many changed."""
    if not shipment_ids:
        return 0
    now = timezone.now()
    changed = Shipment.objects.filter(pk__in=list(shipment_ids), status=ShipmentStatus.READY).update(
        status=ShipmentStatus.PRINTED, printed_at=now, updated_at=now
    )
    audit_record(
        actor=actor,
        action="shipment.courier_sheet",
        changes={"shipments": len(shipment_ids), "marked_printed": changed, "layout": layout},
    )
    return changed
