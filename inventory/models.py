from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku


class Location(models.Model):
    """Where stock sits. Only locations that sell count toward available-to-sell."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", _("Warehouse")
        STORE = "store", _("Store")
        THREE_PL = "3pl", _("3PL")
        FULFILMENT = "fulfilment", _("Marketplace fulfilment centre")

    code = models.CharField(_("location code"), max_length=32, unique=True)
    name = models.CharField(_("location name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.WAREHOUSE)
    sells = models.BooleanField(_("counts toward sellable stock"), default=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are reserved and picked from first.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """On hand and reserved for one SKU at one location: the only rows that are locked.

    Written only by inventory.services, always under a row lock taken in primary-key order."""

    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock_levels"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["sku", "location"], name="stocklevel_unique_sku_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stocklevel_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}: {self.on_hand}/{self.reserved}"

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """The append-only stock ledger. For every (SKU, location): sum(quantity) == on_hand and
    sum(reserved_delta) == reserved. Rows are never updated or deleted."""

    class Type(models.TextChoices):
        RECEIVE = "receive", _("Receive")
        ADJUST = "adjust", _("Adjust")
        COUNT = "count", _("Stock count")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        RESERVE = "reserve", _("Reserve")
        RELEASE = "release", _("Release")
        SHIP = "ship", _("Ship")
        RETURN = "return", _("Return")

    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    quantity = models.IntegerField(_("on-hand change"))
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    on_hand_after = models.IntegerField(_("on hand after"))
    reserved_after = models.IntegerField(_("reserved after"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["sku", "-id"], name="movement_sku_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.sku_id}@{self.location_id} {self.quantity:+d}"


class Reservation(models.Model):
    """Stock held for one reference (an order line, usually "orderline:<id>") at a location.

    `quantity` is what is still held; releasing or consuming lowers it, and a closed
    reservation keeps its row (with quantity 0) as history."""

    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(_("reference"), max_length=100)
    quantity = models.PositiveIntegerField(_("held"))
    original_quantity = models.PositiveIntegerField(_("reserved"))
    consumed = models.PositiveIntegerField(_("shipped"), default=0)
    released = models.PositiveIntegerField(_("released"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "sku", "location"], name="reservation_unique_ref_sku_loc"
            ),
            models.CheckConstraint(
                condition=Q(quantity=F("original_quantity") - F("consumed") - F("released")),
                name="reservation_quantity_balances",
            ),
        ]
        indexes = [
            models.Index(fields=["reference"], name="reservation_ref_idx"),
            models.Index(fields=["sku"], name="reservation_open_sku_idx", condition=Q(quantity__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.sku_id}@{self.location_id} x{self.quantity}"


# marked_at of a stock-dirty mark the push has claimed (read before this value was set).
MARK_CLAIMED = datetime(2000, 1, 1, tzinfo=UTC)
MARK_CLAIMED_SQL = "'2000-01-01 00:00:00+00'::timestamptz"


class StockDirty(models.Model):
    """A SKU whose available quantity changed and is not yet pushed to the channels.

    Upserted in the same transaction as the change, so a crash loses nothing. The channel
    stock push claims a batch of marks (marked_at := MARK_CLAIMED, committed) BEFORE it reads
    the quantities it pushes, and afterwards deletes only the marks still claimed. A change
    committed after the claim therefore needs to write its mark only when there is no row or a
    claimed one: the reservation statements skip the write when the SKU is already marked and
    unclaimed (no new row version on every reservation of a hot SKU); mark_stock_dirty always
    writes, which is just as safe."""

    sku = models.OneToOneField(Sku, on_delete=models.CASCADE, primary_key=True, related_name="stock_dirty")
    marked_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("stock change to push")
        verbose_name_plural = _("stock changes to push")

    def __str__(self) -> str:
        return f"{self.sku_id} @ {self.marked_at:%Y-%m-%d %H:%M:%S}"
