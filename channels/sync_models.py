"""Models of the sync services (channels.services_sync): what each order line's channel was told,
and the run locks that keep two runs of one kind from overlapping.

Imported at the end of channels/models.py so that Django registers them with the channels app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LineSync(models.Model):
    """The channel's side of one order line: whether its 발주확인 and its 발송처리 reached the
    marketplace, and if not, the marketplace's reason.

    Written only by channels.services_sync. A dispatch keeps the courier and tracking number it
    was asked to send, so a failed one can be sent again exactly as asked, and a line already
    dispatched is never sent twice."""

    line = models.OneToOneField(
        "orders.OrderLine",
        verbose_name=_("order line"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="channel_sync",
    )
    account = models.ForeignKey(
        "channels.ChannelAccount",
        verbose_name=_("channel account"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    # 발주확인 on the channel.
    confirmed_at = models.DateTimeField(_("confirmed on the channel"), null=True, blank=True)
    confirm_error = models.CharField(_("confirmation error"), max_length=500, blank=True)
    confirm_code = models.CharField(_("confirmation error code"), max_length=100, blank=True)
    confirm_retryable = models.BooleanField(_("confirmation can be retried"), default=False)
    confirm_attempts = models.PositiveSmallIntegerField(_("confirmation attempts"), default=0)
    confirm_tried_at = models.DateTimeField(_("last confirmation attempt"), null=True, blank=True)
    # 발송처리 on the channel, with what was asked.
    courier_code = models.CharField(_("courier code"), max_length=30, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=50, blank=True)
    dispatch_requested_at = models.DateTimeField(_("dispatch requested"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched on the channel"), null=True, blank=True)
    dispatch_error = models.CharField(_("dispatch error"), max_length=500, blank=True)
    dispatch_code = models.CharField(_("dispatch error code"), max_length=100, blank=True)
    dispatch_retryable = models.BooleanField(_("dispatch can be retried"), default=False)
    dispatch_attempts = models.PositiveSmallIntegerField(_("dispatch attempts"), default=0)
    dispatch_tried_at = models.DateTimeField(_("last dispatch attempt"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("line sync state")
        verbose_name_plural = _("line sync states")
        indexes = [
            # The confirm and dispatch runs look for an account's lines still to send.
            models.Index(
                fields=["account", "line"],
                name="linesync_confirm_failed_idx",
                condition=Q(confirmed_at__isnull=True) & ~Q(confirm_error=""),
            ),
            models.Index(
                fields=["account", "line"],
                name="linesync_dispatch_pending_idx",
                condition=Q(dispatched_at__isnull=True, dispatch_requested_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.line_id}"


class SyncLock(models.Model):
    """A run lock (one collection per account, one stock push at a time, ...). Taking it is an
    INSERT of its key, which the database makes atomic for every process on every backend (the
    embedded SQLite default included); an expired lock (a killed worker) is taken over."""

    key = models.CharField(max_length=100, primary_key=True)
    token = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("sync lock")
        verbose_name_plural = _("sync locks")

    def __str__(self) -> str:
        return self.key
