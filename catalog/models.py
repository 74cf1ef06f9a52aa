from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """대표상품: what the seller lists; its SKUs are the sellable options."""

    class Status(models.TextChoices):
        ON_SALE = "on_sale", _("On sale")
        SOLD_OUT = "sold_out", _("Sold out")
        DISCONTINUED = "discontinued", _("Discontinued")

    code = models.CharField(_("product code"), max_length=50, unique=True)
    name = models.CharField(_("product name"), max_length=200)
    brand = models.CharField(_("brand"), max_length=100, blank=True, db_index=True)
    category = models.CharField(_("category"), max_length=200, blank=True, db_index=True)
    description = models.TextField(_("description"), blank=True)
    image_urls = models.JSONField(_("image URLs"), default=list, blank=True)
    sale_price = models.PositiveIntegerField(_("sale price"), default=0)
    cost = models.PositiveIntegerField(_("cost"), default=0)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.ON_SALE,
        help_text=_("Summary of the SKUs' sale status: on sale while any SKU is on sale."),
    )
    option_names = models.JSONField(
        _("option names"),
        default=list,
        blank=True,
        help_text=_("The option axes in order, e.g. colour and size."),
    )
    no_merge = models.BooleanField(
        _("never pack with other orders"), default=False, help_text=_("합포장 불가: ships in its own box.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["status", "-id"], name="product_status_idx")]

    def __str__(self) -> str:
        return f"[{self.code}] {self.name}"


class Sku(models.Model):
    """단품/옵션상품: the unit every channel and sheet shares through its SKU code.

    Only single SKUs hold stock. A bundle (세트상품) is made of components; its sellable
    quantity is derived from them and never stored."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single")
        BUNDLE = "bundle", _("Bundle")

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="skus"
    )
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.SINGLE)
    option_label = models.CharField(_("option"), max_length=200, blank=True)
    option_values = models.JSONField(_("option values"), default=dict, blank=True)
    barcode = models.CharField(_("barcode"), max_length=64, blank=True, db_index=True)
    extra_price = models.IntegerField(_("extra price"), default=0)
    cost = models.PositiveIntegerField(_("cost"), default=0)
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), default=0)
    status = models.CharField(
        _("sale status"), max_length=16, choices=Product.Status.choices, default=Product.Status.ON_SALE
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        indexes = [
            models.Index(fields=["product", "id"], name="sku_product_idx"),
            # The product list pages by (newest product first, its SKUs in creation order).
            models.Index(fields=["-product", "id"], name="sku_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.option_label}".strip()

    @property
    def price(self) -> int:
        return self.product.sale_price + self.extra_price

    @property
    def is_bundle(self) -> bool:
        return self.kind == self.Kind.BUNDLE


class BundleItem(models.Model):
    """One component of a bundle SKU: component x quantity."""

    bundle = models.ForeignKey(
        Sku, verbose_name=_("bundle"), on_delete=models.CASCADE, related_name="components"
    )
    component = models.ForeignKey(
        Sku, verbose_name=_("component"), on_delete=models.PROTECT, related_name="used_in_bundles"
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("bundle item")
        verbose_name_plural = _("bundle items")
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundleitem_unique_component"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="bundleitem_quantity_positive"),
            models.CheckConstraint(condition=~Q(bundle=models.F("component")), name="bundleitem_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id} <- {self.component_id} x {self.quantity}"


class SkuChange(models.Model):
    """A SKU whose name, price or sale state changed and is not yet pushed to the channels.

    Written in the same transaction as the change (durable). The channel product push claims
    the marks before it reads what it sends (marked_at set to inventory.models.MARK_CLAIMED) and
    clears only marks still claimed afterwards, so a change made meanwhile marks the SKU again
    and is pushed by the next run (channels.services_sync.push._drain_marks)."""

    sku = models.OneToOneField(Sku, on_delete=models.CASCADE, primary_key=True, related_name="pending_change")
    marked_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("pending product change")
        verbose_name_plural = _("pending product changes")

    def __str__(self) -> str:
        return f"{self.sku_id} @ {self.marked_at:%Y-%m-%d %H:%M:%S}"
