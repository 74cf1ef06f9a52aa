from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku


class Marketplace(models.TextChoices):
    SMARTSTORE = "smartstore", _("Naver SmartStore")
    COUPANG = "coupang", _("Coupang")
    ELEVENST = "11st", _("11st")
    GMARKET = "gmarket", _("Gmarket")
    AUCTION = "auction", _("Auction")
    CAFE24 = "cafe24", _("Cafe24")
    SHOPIFY = "shopify", _("Shopify")
    SANDBOX = "sandbox", _("Sandbox marketplace")
    MANUAL = "manual", _("Phone / offline")
    OTHER = "other", _("Other (Excel only)")


class ChannelAccount(models.Model):
    """One seller account on one marketplace. Several accounts of one marketplace are normal.

    The channels issue adds credentials, schedules and sync state; orders only need this much."""

    marketplace = models.CharField(_("marketplace"), max_length=32, choices=Marketplace.choices)
    name = models.CharField(_("account name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel account")
        verbose_name_plural = _("channel accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OptionMapping(models.Model):
    """매칭: a channel's (product, option) on one account -> one or more SKUs x quantity.

    Made once, by hand or automatically, then used for every later order of that option.
    `option_key` is the channel's option id when it has one, else the normalised option text."""

    account = models.ForeignKey(
        ChannelAccount,
        verbose_name=_("channel account"),
        on_delete=models.CASCADE,
        related_name="option_mappings",
    )
    channel_product_id = models.CharField(_("channel product id"), max_length=100, blank=True)
    option_key = models.CharField(_("option"), max_length=300, blank=True)
    product_name = models.CharField(_("channel product name"), max_length=300, blank=True)
    option_text = models.CharField(_("channel option"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        "oms.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("option mapping")
        verbose_name_plural = _("option mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "channel_product_id", "option_key"], name="optionmapping_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.channel_product_id}:{self.option_key}"


class OptionMappingItem(models.Model):
    mapping = models.ForeignKey(OptionMapping, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("option mapping item")
        verbose_name_plural = _("option mapping items")
        constraints = [
            models.UniqueConstraint(fields=["mapping", "sku"], name="optionmappingitem_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="optionmappingitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.mapping_id} -> {self.sku_id} x{self.quantity}"
