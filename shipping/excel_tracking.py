"""Tracking-number sheets to download: the upload template pre-filled with the open boxes that
still need a number, and the open boxes with their current numbers (to correct and upload back).
Both are the generic upload layout (services_tracking_import): 출고번호 is the key; 수취인 and
주문번호 are there for the person filling it in; 택배사 may stay blank (the box's courier, else the
default courier)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.excel import sheet_response
from oms.sheets import Column
from shipping.models import OPEN_SHIPMENT_STATES, Shipment, ShipmentItem

TEMPLATE_COLUMNS = [
    Column("shipment_no", "출고번호", required=True),
    Column("recipient", "수취인"),
    Column("order_no", "주문번호"),
    Column("courier", "택배사"),
    Column("tracking", "송장번호", required=True),
]
TEXT_KEYS = {"shipment_no", "order_no", "tracking"}
BATCH = 2000


def guide_lines() -> list[tuple[str, str]]:
    return [
        (
            "출고번호",
            _("Required. The box (S00000123), as printed on the packing slip and the courier sheet."),
        ),
        ("송장번호", _("The courier's tracking number: digits only; hyphens and spaces are dropped.")),
        (
            "택배사",
            _("Optional: blank means the box's courier, else the default courier. CJ대한통운, 롯데택배, ..."),
        ),
        ("수취인 / 주문번호", _("For reference only; they are not read back.")),
        (_("Blank rows"), _("Rows without a tracking number are skipped: fill in what you have and upload.")),
        (
            _("Other sheets"),
            _(
                "SmartStore's bulk dispatch sheet and Coupang's DeliveryList with 운송장번호 filled in "
                "can be uploaded as they are."
            ),
        ),
    ]


def open_box_rows(*, without_number: bool) -> Iterator[list[Any]]:
    """출고번호, 수취인, 주문번호, 택배사, 송장번호 of the open boxes, oldest first, read in batches."""
    qs = Shipment.objects.filter(status__in=OPEN_SHIPMENT_STATES).select_related("courier").order_by("pk")
    if without_number:
        qs = qs.filter(tracking_number="")
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        orders: dict[int, list[str]] = defaultdict(list)
        items = (
            ShipmentItem.objects.filter(shipment_id__in=[s.pk for s in batch])
            .order_by("shipment_id", "line__order_id")
            .values_list("shipment_id", "line__order__external_order_id")
        )
        for shipment_id, order_no in items:
            if order_no not in orders[shipment_id]:
                orders[shipment_id].append(order_no)
        for shipment in batch:
            yield [
                shipment.number,
                shipment.recipient_name,
                ", ".join(orders.get(shipment.pk, [])),
                "" if without_number else (shipment.courier.name if shipment.courier else ""),
                "" if without_number else shipment.tracking_number,
            ]


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d_%H%M")


def template_response() -> FileResponse:
    return sheet_response(
        filename=f"tracking_upload_{_stamp()}.xlsx",
        sheet=_("Tracking numbers"),
        columns=TEMPLATE_COLUMNS,
        rows=open_box_rows(without_number=True),
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )


def open_boxes_response() -> FileResponse:
    return sheet_response(
        filename=f"tracking_open_boxes_{_stamp()}.xlsx",
        sheet=_("Tracking numbers"),
        columns=TEMPLATE_COLUMNS,
        rows=open_box_rows(without_number=False),
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )
