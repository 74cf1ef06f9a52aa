from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
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

    Credentials are one MultiFernet token of a JSON object (channels.crypto); they are decrypted
    only in memory, for the adapter. `status` is the sync state (paused accounts are not
    collected or pushed; error means the marketplace refused the credentials); `is_active` is
    whether the account is still in use at all (orders keep pointing at retired accounts)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ERROR = "error", _("Error")

    marketplace = models.CharField(_("marketplace"), max_length=32, choices=Marketplace.choices)
    name = models.CharField(_("account name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("in use"), default=True)
    base_url = models.CharField(
        _("API base URL"),
        max_length=300,
        blank=True,
        help_text=_("Leave empty to use the marketplace's own address."),
    )
    credentials_encrypted = models.TextField(_("credentials (encrypted)"), blank=True, editable=False)
    credentials_updated_at = models.DateTimeField(_("credentials saved"), null=True, blank=True)
    collect_interval_minutes = models.PositiveSmallIntegerField(
        _("collect every (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    stock_push_enabled = models.BooleanField(_("send stock to this channel"), default=True)
    stock_keep_back = models.PositiveIntegerField(
        _("keep back"), default=0, help_text=_("Show this many fewer than are available.")
    )
    stock_expose_percent = models.PositiveSmallIntegerField(
        _("expose (%)"),
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of the available quantity this channel may sell."),
    )
    stock_zero_threshold = models.PositiveIntegerField(
        _("sold out at or below"),
        default=0,
        help_text=_("Send 0 when the available quantity is at or below this number."),
    )
    commission_rate = models.DecimalField(
        _("commission (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    status = models.CharField(_("sync status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    # Orders changed up to here are collected; each run re-reads an overlap before it.
    collect_cursor = models.DateTimeField(_("collected up to"), null=True, blank=True)
    # Adapter paging state that a datetime cannot hold (Naver moreSequence, Coupang nextToken).
    cursor_state = models.JSONField(_("paging state"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel account")
        verbose_name_plural = _("channel accounts")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_expose_percent__lte=100), name="channelaccount_expose_percent_lte_100"
            ),
            models.CheckConstraint(
                condition=Q(collect_interval_minutes__gte=1), name="channelaccount_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "paused", "error"]), name="channelaccount_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    @property
    def syncs(self) -> bool:
        """Whether scheduled collection and stock push run for this account."""
        return self.is_active and self.status != self.Status.PAUSED

    def exposed_quantity(self, available: int) -> int:
        """The quantity to publish on this channel for `available` sellable units: 0 at or below
        the sold-out threshold, else (available - keep back) x expose %, rounded down."""
        if available <= 0 or available <= self.stock_zero_threshold:
            return 0
        kept = max(0, available - self.stock_keep_back)
        return kept * self.stock_expose_percent // 100


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


class Listing(models.Model):
    """A product option as listed on one account (채널 상품): what the channel calls it, which SKU
    it sells, and what stock and price were last sent to it.

    Products without options are stored with an empty external option id."""

    class Status(models.TextChoices):
        ON_SALE = "on_sale", _("On sale")
        SOLD_OUT = "sold_out", _("Sold out")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    class LinkedBy(models.TextChoices):
        NONE = "", _("Not linked")
        MANUAL = "manual", _("Linked by hand")
        SKU_CODE = "sku_code", _("Auto: SKU code")
        SELLER_CODE = "seller_code", _("Auto: seller code")
        MAPPING = "mapping", _("Auto: option matching")

    account = models.ForeignKey(
        ChannelAccount, verbose_name=_("channel account"), on_delete=models.CASCADE, related_name="listings"
    )
    external_product_id = models.CharField(_("channel product id"), max_length=100)
    external_option_id = models.CharField(_("channel option id"), max_length=100, blank=True)
    seller_code = models.CharField(
        _("seller code"),
        max_length=100,
        blank=True,
        help_text=_("판매자 상품코드 / 옵션관리코드 / 업체상품코드 as registered on the channel."),
    )
    product_name = models.CharField(_("channel product name"), max_length=300, blank=True)
    option_text = models.CharField(_("channel option"), max_length=300, blank=True)
    sku = models.ForeignKey(
        Sku,
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="listings",
    )
    linked_by = models.CharField(
        _("linked by"), max_length=16, choices=LinkedBy.choices, default=LinkedBy.NONE, blank=True
    )
    name_override = models.CharField(_("name on this channel"), max_length=300, blank=True)
    price_override = models.PositiveIntegerField(_("price on this channel"), null=True, blank=True)
    sale_starts_at = models.DateTimeField(_("sale starts"), null=True, blank=True)
    sale_ends_at = models.DateTimeField(_("sale ends"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ON_SALE)
    stock_sync_excluded = models.BooleanField(
        _("excluded from stock sync"),
        default=False,
        help_text=_("재고 연동 제외: the stock push leaves this listing alone."),
    )
    last_pushed_quantity = models.IntegerField(_("last sent stock"), null=True, blank=True)
    last_pushed_price = models.PositiveIntegerField(_("last sent price"), null=True, blank=True)
    last_pushed_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    push_error = models.CharField(_("push error"), max_length=500, blank=True)
    push_error_at = models.DateTimeField(_("push error at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_product_id", "external_option_id"],
                name="listing_unique_external",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="listing_account_idx"),
            models.Index(fields=["account", "seller_code"], name="listing_seller_code_idx"),
        ]

    def __str__(self) -> str:
        option = f" / {self.option_text}" if self.option_text else ""
        return f"{self.product_name or self.external_product_id}{option}"

    @property
    def display_name(self) -> str:
        return self.name_override or self.product_name


class SyncJob(models.Model):
    """One run of a sync against one account: a collect, a push, a connection test.

    Counts are what the run saw; `error` is the marketplace's reason, secrets redacted."""

    class Kind(models.TextChoices):
        COLLECT = "collect", _("Order collection")
        CONFIRM = "confirm", _("Order confirmation")
        DISPATCH = "dispatch", _("Dispatch")
        STOCK_PUSH = "stock_push", _("Stock push")
        PRODUCT_PUSH = "product_push", _("Product push")
        RECONCILE = "reconcile", _("Stock reconciliation")
        AUTH_CHECK = "auth_check", _("Connection test")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly failed")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(
        ChannelAccount, verbose_name=_("channel account"), on_delete=models.CASCADE, related_name="sync_jobs"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    fetched = models.PositiveIntegerField(_("fetched"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    # What the run was asked to do (e.g. the collect window), so a retry can ask the same.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    retry_of = models.ForeignKey(
        "self",
        verbose_name=_("retry of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
    )
    triggered_by = models.ForeignKey(
        "oms.User",
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("sync job")
        verbose_name_plural = _("sync jobs")
        indexes = [
            models.Index(fields=["account", "-id"], name="syncjob_account_idx"),
            models.Index(fields=["account", "kind", "-id"], name="syncjob_account_kind_idx"),
            models.Index(fields=["status", "-id"], name="syncjob_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.PARTIAL, self.Status.FAILED}

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CallLog(models.Model):
    """One HTTP call to a marketplace (each retry is its own row). Written by channels.http only,
    after redaction: no credential, token or signature is ever stored here."""

    account = models.ForeignKey(
        ChannelAccount, verbose_name=_("channel account"), on_delete=models.CASCADE, related_name="calls"
    )
    job = models.ForeignKey(
        SyncJob,
        verbose_name=_("sync job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    error = models.CharField(_("error"), max_length=500, blank=True)
    request_excerpt = models.TextField(_("request"), blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        indexes = [
            models.Index(fields=["account", "-id"], name="calllog_account_idx"),
            models.Index(fields=["job", "id"], name="calllog_job_idx"),
            models.Index(fields=["at"], name="calllog_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status or '-'}"


class RateBucket(models.Model):
    """The token bucket of one account when there is no Redis (the embedded default): one row
    per key, updated under a row lock so every worker process shares it."""

    key = models.CharField(max_length=100, primary_key=True)
    tokens = models.FloatField(default=0)
    updated = models.FloatField(default=0)  # time.time() of the last refill

    class Meta:
        verbose_name = _("rate-limit bucket")
        verbose_name_plural = _("rate-limit buckets")

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.2f}"


from channels.sandbox_models import *  # noqa: E402, F403
from channels.sync_models import LineSync, SyncLock  # noqa: E402, F401  (registers them with this app)
