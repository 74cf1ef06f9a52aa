"""Couriers and shipments (출고/송장): the boxes that leave the warehouse.

A Shipment is one box under one tracking number. Its ShipmentItems are order lines, possibly
of several orders (합포장), and each line is in at most one live shipment. The line's own state
(READY, SHIPPED, ...) stays in orders; stock stays in inventory. Shipping asks them to change.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from channels.models import ChannelAccount
from orders.models import OrderLine

SHIPMENT_NUMBER_PREFIX = "S"
_NUMBER_RE = re.compile(rf"^{SHIPMENT_NUMBER_PREFIX}?0*(\d{{1,12}})$", re.IGNORECASE)


def parse_tracking_lengths(rule: str) -> list[tuple[int, int]]:
    """'10,12' -> [(10, 10), (12, 12)]; '8-16' -> [(8, 16)]; '' -> [] (no length rule).
    Raises ValueError on anything else."""
    spans: list[tuple[int, int]] = []
    for part in (p.strip() for p in rule.replace(" ", "").split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        lo, hi = int(low), int(high) if dash else int(low)
        if not 1 <= lo <= hi <= 50:
            raise ValueError(part)
        spans.append((lo, hi))
    return spans


class Courier(models.Model):
    """택배사. `code` is our key and the Naver/Coupang code (CJGLS, HYUNDAI for 롯데, KGB for
    로젠); `marketplace_codes` holds the codes of marketplaces that use others (11st, ESM)."""

    code = models.CharField(_("courier code"), max_length=30, unique=True)
    name = models.CharField(_("courier name"), max_length=100, unique=True)
    marketplace_codes = models.JSONField(
        _("codes per marketplace"),
        default=dict,
        blank=True,
        help_text=_("Marketplace -> its code for this courier, where it differs from the courier code."),
    )
    tracking_lengths = models.CharField(
        _("tracking number lengths"),
        max_length=50,
        blank=True,
        help_text=_("Allowed digit counts, e.g. 10,12 or 8-16; empty for no length rule."),
    )
    tracking_url = models.CharField(
        _("tracking URL"),
        max_length=300,
        blank=True,
        help_text=_("Delivery tracking page; {number} is replaced by the tracking number."),
    )
    is_default = models.BooleanField(_("default courier"), default=False)
    is_active = models.BooleanField(_("in use"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("courier")
        verbose_name_plural = _("couriers")
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="courier_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def code_for(self, marketplace: str) -> str:
        """The code a marketplace knows this courier by (its own where set, else ours)."""
        return str(self.marketplace_codes.get(marketplace) or self.code)

    def tracking_link(self, number: str) -> str:
        return self.tracking_url.replace("{number}", number) if self.tracking_url and number else ""


class ShipmentStatus(models.TextChoices):
    READY = "ready", _("Ready to ship")  # 출고대기
    PRINTED = "printed", _("Invoice printed")  # 송장출력
    PACKED = "packed", _("Packed")  # 검수완료
    SHIPPED = "shipped", _("Shipped")  # 출고완료
    DELIVERED = "delivered", _("Delivered")  # 배송완료
    CANCELLED = "cancelled", _("Cancelled")  # every line left it (cancelled or moved out)


# A shipment in these states can still change (lines merged, split, tracking numbers typed).
OPEN_SHIPMENT_STATES = (ShipmentStatus.READY, ShipmentStatus.PRINTED, ShipmentStatus.PACKED)


class Shipment(models.Model):
    """One box (출고). Its 출고번호 is `number`, derived from the primary key (S00000123),
    printed as a barcode on the packing slip and used as the key of courier and tracking sheets."""

    account = models.ForeignKey(
        ChannelAccount,
        verbose_name=_("channel account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when the box holds orders of several channel accounts."),
    )
    merge_key = models.CharField(_("combined shipping key"), max_length=400, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.READY
    )
    courier = models.ForeignKey(
        Courier, verbose_name=_("courier"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tracking_number = models.CharField(_("tracking number"), max_length=50, blank=True)
    # The recipient, copied from the first order when the box was made (the courier sheet and
    # the slip print these; an address change on the order is flagged on the line).
    recipient_name = models.CharField(_("recipient"), max_length=100, blank=True)
    recipient_phone = models.CharField(_("recipient phone"), max_length=20, blank=True)
    recipient_phone2 = models.CharField(_("recipient phone 2"), max_length=20, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=7, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    delivery_message = models.CharField(_("delivery message"), max_length=500, blank=True)
    # 검수: scanned quantity per stock SKU id ({"12": 2}); complete when it equals the box's needs.
    pack_progress = models.JSONField(_("packing progress"), default=dict, blank=True)
    printed_at = models.DateTimeField(_("invoice printed"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed"), null=True, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [
            models.Index(fields=["status", "-id"], name="shipment_status_idx"),
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
            # The desk: an account's boxes by state, and the search box (recipient by prefix,
            # full phone).
            models.Index(fields=["account", "status", "-id"], name="shipment_account_status_idx"),
            models.Index(
                fields=["recipient_name"],
                name="shipment_recipient_like_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["recipient_phone"], name="shipment_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """출고번호."""
        return shipment_number(self.pk)

    @property
    def tracking_link(self) -> str:
        return self.courier.tracking_link(self.tracking_number) if self.courier else ""


def shipment_number(pk: int | None) -> str:
    return f"{SHIPMENT_NUMBER_PREFIX}{pk:08d}" if pk else ""


def shipment_pk_from_number(text: str) -> int | None:
    """'S00000123', 's123' or '123' -> 123; anything else -> None."""
    match = _NUMBER_RE.match(str(text).strip())
    return int(match.group(1)) if match else None


class ShipmentItem(models.Model):
    """One order line in a box. A line is in at most one shipment at a time: splitting moves the
    row to another shipment, and a line that leaves (cancelled) loses its row."""

    class Dispatch(models.TextChoices):
        WAITING = "waiting", _("Not sent")
        SENT = "sent", _("Sent to the channel")
        FAILED = "failed", _("Refused by the channel")
        EXCEL = "excel", _("Sent by Excel sheet")

    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="items"
    )
    line = models.OneToOneField(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="shipment_item"
    )
    dispatch_state = models.CharField(
        _("dispatch"), max_length=10, choices=Dispatch.choices, default=Dispatch.WAITING
    )
    dispatch_message = models.CharField(_("channel answer"), max_length=500, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment item")
        verbose_name_plural = _("shipment items")

    def __str__(self) -> str:
        return f"{self.shipment} / {self.line_id}"
