from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from channels.models import ChannelAccount


class LineStatus(models.TextChoices):
    NEW = "new", _("New")
    CONFIRMED = "confirmed", _("Confirmed")
    READY = "ready", _("Ready to ship")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Purchase confirmed")
    HOLD = "hold", _("On hold")
    CANCEL_REQUESTED = "cancel_requested", _("Cancel requested")
    CANCELLED = "cancelled", _("Cancelled")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURNED = "returned", _("Returned")
    EXCHANGE_REQUESTED = "exchange_requested", _("Exchange requested")
    EXCHANGED = "exchanged", _("Exchanged")


# States in which a line holds (or waits for) stock.
RESERVING_STATES = (LineStatus.NEW, LineStatus.CONFIRMED, LineStatus.READY, LineStatus.HOLD)


class ExcelProfile(models.Model):
    """How to read one marketplace's order sheet: which header holds which field.

    Built-in profiles (SmartStore, Coupang, 11st) live in code (orders.excel); user-defined
    ones are rows here, saved per account, for Gmarket/Auction and small marketplaces."""

    account = models.ForeignKey(
        ChannelAccount,
        verbose_name=_("channel account"),
        on_delete=models.CASCADE,
        related_name="excel_profiles",
    )
    name = models.CharField(_("profile name"), max_length=100)
    sheet_name = models.CharField(_("sheet name"), max_length=100, blank=True)
    header_row = models.PositiveSmallIntegerField(_("header row"), default=1)
    mapping = models.JSONField(_("field -> header text"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Excel profile")
        verbose_name_plural = _("Excel profiles")
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="excelprofile_unique_name")]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One uploaded order sheet: its profile, counts, row errors and state."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Previewed")
        COMMITTED = "committed", _("Registered")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(
        ChannelAccount,
        verbose_name=_("channel account"),
        on_delete=models.PROTECT,
        related_name="import_batches",
    )
    profile_name = models.CharField(_("profile"), max_length=100)
    filename = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(_("stored file"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEW)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    job = models.ForeignKey("oms.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    committed_at = models.DateTimeField(_("registered"), null=True, blank=True)

    class Meta:
        verbose_name = _("order import")
        verbose_name_plural = _("order imports")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class Order(models.Model):
    class Source(models.TextChoices):
        API = "api", _("API")
        EXCEL = "excel", _("Excel")
        MANUAL = "manual", _("Manual")

    account = models.ForeignKey(
        ChannelAccount, verbose_name=_("channel account"), on_delete=models.PROTECT, related_name="orders"
    )
    external_order_id = models.CharField(_("order no."), max_length=100)
    ordered_at = models.DateTimeField(_("ordered"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    buyer_name = models.CharField(_("buyer"), max_length=100, blank=True)
    buyer_phone = models.CharField(_("buyer phone"), max_length=20, blank=True)
    recipient_name = models.CharField(_("recipient"), max_length=100, blank=True)
    recipient_phone = models.CharField(_("recipient phone"), max_length=20, blank=True)
    recipient_phone2 = models.CharField(_("recipient phone 2"), max_length=20, blank=True)
    # Last four digits of the recipient's phone (the buyer's when the recipient has none),
    # indexed, for "search by the last 4 digits".
    phone_last4 = models.CharField(max_length=4, blank=True, db_index=True)
    zip_code = models.CharField(_("zip code"), max_length=7, blank=True)
    zip_is_old = models.BooleanField(_("old 6-digit zip code"), default=False)
    address1 = models.CharField(_("address"), max_length=300, blank=True)
    address2 = models.CharField(_("address detail"), max_length=300, blank=True)
    delivery_message = models.CharField(_("delivery message"), max_length=500, blank=True)
    shipping_fee = models.IntegerField(_("shipping fee"), default=0)
    total_amount = models.BigIntegerField(_("total"), default=0)
    bundle_key = models.CharField(_("channel bundle no."), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.API)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    memo = models.TextField(_("CS memo"), blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # orders.ingest.order_digest of the channel data last ingested: the same data again is skipped.
    ingest_digest = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("collected"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["account", "external_order_id"], name="order_unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["-ordered_at", "-id"], name="order_ordered_idx"),
            models.Index(fields=["recipient_name"], name="order_recipient_idx"),
            # The order list's search box: exact order no. (without the account), names by
            # prefix (pattern ops so LIKE 'x%' uses them whatever the collation), full phones.
            models.Index(fields=["external_order_id"], name="order_external_id_idx"),
            models.Index(
                fields=["recipient_name"], name="order_recipient_like_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["buyer_name"], name="order_buyer_like_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["recipient_phone"], name="order_recipient_phone_idx"),
            models.Index(fields=["buyer_phone"], name="order_buyer_phone_idx"),
            models.Index(fields=["recipient_phone2"], name="order_recipient_phone2_idx"),
            models.Index(fields=["paid_at"], name="order_paid_idx"),
        ]

    def __str__(self) -> str:
        return self.external_order_id


# The order list's sort key: when the line was ordered, else when it was collected.
SORT_AT = Coalesce("ordered_at", "created_at")


class OrderLine(models.Model):
    """상품주문: the unit Korean marketplaces confirm, ship and claim. Status lives here and is
    changed only by orders.services."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="+")
    external_line_id = models.CharField(_("line no."), max_length=100)
    channel_product_id = models.CharField(_("channel product id"), max_length=100, blank=True)
    channel_option_id = models.CharField(_("channel option id"), max_length=100, blank=True)
    product_name = models.CharField(_("product"), max_length=300)
    option_text = models.CharField(_("option"), max_length=300, blank=True)
    seller_codes = models.JSONField(_("seller codes"), default=list, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.IntegerField(_("unit price"), default=0)
    discount = models.IntegerField(_("discount"), default=0)
    line_total = models.BigIntegerField(_("line total"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=LineStatus.choices, default=LineStatus.NEW)
    status_before_hold = models.CharField(max_length=20, choices=LineStatus.choices, blank=True)
    channel_status = models.CharField(_("channel status"), max_length=50, blank=True)
    unmapped = models.BooleanField(_("needs mapping"), default=False)
    backorder = models.BooleanField(_("short of stock"), default=False)
    address_changed = models.BooleanField(_("address changed"), default=False)
    ordered_at = models.DateTimeField(_("ordered"), null=True, blank=True)  # copy of the order's, for sorting
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_at = models.DateTimeField(_("collected"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_line_id"], name="orderline_unique_external_id"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="line_status_idx"),
            models.Index(fields=["account", "status", "-id"], name="line_account_status_idx"),
            models.Index(fields=["ordered_at", "id"], name="line_backorder_idx", condition=Q(backorder=True)),
            models.Index(
                fields=["account", "channel_product_id", "option_text"],
                name="line_unmapped_idx",
                condition=Q(unmapped=True),
            ),
            # The order list pages by (ordered time, id), newest or oldest first, with or without
            # an account and state filter; SORT_AT is its key (a line without an ordered time
            # sorts by when it was collected). Flag tabs use the partial ones.
            models.Index(SORT_AT, F("id"), name="line_sort_idx"),
            models.Index(F("status"), SORT_AT, F("id"), name="line_status_sort_idx"),
            models.Index(F("account"), SORT_AT, F("id"), name="line_account_sort_idx"),
            models.Index(F("account"), F("status"), SORT_AT, F("id"), name="line_acct_status_sort_idx"),
            models.Index(SORT_AT, F("id"), name="line_unmapped_sort_idx", condition=Q(unmapped=True)),
            models.Index(SORT_AT, F("id"), name="line_backorder_sort_idx", condition=Q(backorder=True)),
            models.Index(SORT_AT, F("id"), name="line_addr_sort_idx", condition=Q(address_changed=True)),
            models.Index(fields=["external_line_id"], name="line_external_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.external_line_id} {self.product_name}"

    @property
    def reservation_reference(self) -> str:
        return reservation_reference(self.pk)


def reservation_reference(line_id: int) -> str:
    """The inventory reference under which a line's stock is held."""
    return f"orderline:{line_id}"


class LineSku(models.Model):
    """A line's SKU allocation (from the option mapping): SKU x quantity for the whole line."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="skus")
    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("line SKU")
        verbose_name_plural = _("line SKUs")
        constraints = [
            models.UniqueConstraint(fields=["line", "sku"], name="linesku_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="linesku_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.sku_id} x{self.quantity}"


class OrderEvent(models.Model):
    """The order's timeline. Written in the same transaction as the change it records."""

    class Type(models.TextChoices):
        COLLECTED = "collected", _("Collected")
        UPDATED = "updated", _("Updated")
        MAPPED = "mapped", _("Mapped")
        RESERVED = "reserved", _("Stock reserved")
        BACKORDER = "backorder", _("Short of stock")
        STATUS = "status", _("Status changed")
        ADDRESS_CHANGED = "address_changed", _("Address changed")
        NOTE = "note", _("Note")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    message = models.CharField(_("message"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
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
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        indexes = [models.Index(fields=["order", "id"], name="orderevent_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.type}"
