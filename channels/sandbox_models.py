"""Models of the sandbox marketplace (channels/sandbox): a fake marketplace the app serves
itself in demo mode, so the demo shows collection, stock push and dispatch end to end over
real HTTP through a real adapter (channels.adapters.sandbox).

These rows are the marketplace's side, not the OMS's: its own product options with the stock
and price the OMS last told it, its own orders and their states, what it received, and the
API keys it issued. Written only by channels.sandbox.services and channels.sandbox.generator.

Imported at the end of channels/models.py so that Django registers them with the channels app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["SandboxApiKey", "SandboxEvent", "SandboxListing", "SandboxOrder", "SandboxOrderLine"]


class SandboxApiKey(models.Model):
    """An API token the sandbox issued (the seller pastes it into the channel account as
    api_token). Only its SHA-256 is kept: the token is shown once, when issued."""

    label = models.CharField(_("label"), max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    last4 = models.CharField(_("last 4 characters"), max_length=4, editable=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox API key")
        verbose_name_plural = _("sandbox API keys")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"····{self.last4}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SandboxListing(models.Model):
    """One product option on sale in the sandbox (the marketplace's product number, option
    number and 판매자 관리코드), with the stock and price the OMS last pushed. Orders take stock
    from here, like a real marketplace's displayed quantity."""

    class SaleStatus(models.TextChoices):
        ON_SALE = "ON_SALE", _("On sale")
        SUSPENDED = "SUSPENDED", _("Sale stopped")

    product_id = models.CharField(_("product number"), max_length=30)
    option_id = models.CharField(_("option number"), max_length=30)
    product_name = models.CharField(_("product name"), max_length=200)
    option_text = models.CharField(_("option"), max_length=200, blank=True)
    price = models.PositiveIntegerField(_("price"))
    stock_quantity = models.PositiveIntegerField(_("stock"), default=0)
    sale_status = models.CharField(
        _("sale status"), max_length=16, choices=SaleStatus.choices, default=SaleStatus.ON_SALE
    )
    seller_code = models.CharField(_("seller code"), max_length=100, blank=True)
    stock_updated_at = models.DateTimeField(_("stock last set"), null=True, blank=True)
    product_updated_at = models.DateTimeField(_("price or status last set"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox listing")
        verbose_name_plural = _("sandbox listings")
        ordering = ["product_id", "option_id"]
        constraints = [
            # Option numbers are unique across the marketplace, as Naver's and Coupang's are.
            models.UniqueConstraint(fields=["option_id"], name="sandboxlisting_unique_option_id"),
        ]

    def __str__(self) -> str:
        option = f" / {self.option_text}" if self.option_text else ""
        return f"{self.product_name}{option}"

    @property
    def orderable(self) -> bool:
        return self.sale_status == self.SaleStatus.ON_SALE and self.stock_quantity > 0


class SandboxOrder(models.Model):
    """An order a (generated) buyer placed in the sandbox. `changed_at` moves whenever the
    order or one of its lines changes: the order API lists orders by it. `read_at` tells the
    page which orders the OMS has not collected yet (or not since they changed)."""

    order_no = models.CharField(_("order number"), max_length=30, unique=True)
    ordered_at = models.DateTimeField(_("ordered"))
    paid_at = models.DateTimeField(_("paid"))
    changed_at = models.DateTimeField(_("changed"), db_index=True)
    buyer_name = models.CharField(_("buyer"), max_length=50)
    buyer_phone = models.CharField(_("buyer phone"), max_length=20)
    recipient_name = models.CharField(_("recipient"), max_length=50)
    recipient_phone = models.CharField(_("recipient phone"), max_length=20)
    recipient_phone2 = models.CharField(_("recipient phone 2"), max_length=20, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=10)
    address1 = models.CharField(_("address"), max_length=200)
    address2 = models.CharField(_("address detail"), max_length=200, blank=True)
    delivery_message = models.CharField(_("delivery message"), max_length=200, blank=True)
    shipping_fee = models.PositiveIntegerField(_("shipping fee"), default=0)
    # When the order API last handed the order out (the OMS collected it).
    read_at = models.DateTimeField(_("collected"), null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox order")
        verbose_name_plural = _("sandbox orders")
        indexes = [models.Index(fields=["changed_at", "id"], name="sandboxorder_changed_idx")]

    def __str__(self) -> str:
        return self.order_no


class SandboxOrderLine(models.Model):
    """One product order (상품주문) of a sandbox order. Korean marketplaces confirm and
    dispatch per line, so the state lives here: NEW -> CONFIRMED -> DISPATCHED."""

    class Status(models.TextChoices):
        NEW = "NEW", _("New")
        CONFIRMED = "CONFIRMED", _("Confirmed")
        DISPATCHED = "DISPATCHED", _("Dispatched")

    order = models.ForeignKey(SandboxOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.CharField(_("line number"), max_length=30, unique=True)
    listing = models.ForeignKey(
        SandboxListing, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    product_id = models.CharField(_("product number"), max_length=30)
    option_id = models.CharField(_("option number"), max_length=30)
    product_name = models.CharField(_("product name"), max_length=200)
    option_text = models.CharField(_("option"), max_length=200, blank=True)
    seller_code = models.CharField(_("seller code"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.PositiveIntegerField(_("unit price"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    courier_code = models.CharField(_("courier"), max_length=20, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("sandbox order line")
        verbose_name_plural = _("sandbox order lines")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="sandboxorderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["NEW", "CONFIRMED", "DISPATCHED"]),
                name="sandboxorderline_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.line_no

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


class SandboxEvent(models.Model):
    """Something the sandbox received or did, for its page: an order placed by a buyer, the
    OMS reading orders, a confirmation, a dispatch, a stock or product push, a fault it was
    told to answer with. `summary` is one line for people; `payload` the items, trimmed."""

    class Kind(models.TextChoices):
        ORDER_PLACED = "order_placed", _("Order placed")
        ORDERS_READ = "orders_read", _("Orders collected")
        CONFIRM = "confirm", _("Order confirmation")
        DISPATCH = "dispatch", _("Dispatch")
        STOCK = "stock", _("Stock push")
        PRODUCT = "product", _("Price / sale status push")
        FAULT = "fault", _("Simulated failure")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    summary = models.CharField(_("summary"), max_length=500)
    ok_count = models.PositiveIntegerField(_("accepted"), default=0)
    failed_count = models.PositiveIntegerField(_("refused"), default=0)
    payload = models.JSONField(_("details"), default=list, blank=True)

    class Meta:
        verbose_name = _("sandbox event")
        verbose_name_plural = _("sandbox events")
        indexes = [models.Index(fields=["kind", "-id"], name="sandboxevent_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
