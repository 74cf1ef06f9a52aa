"""발주확인 for the day's batch (cron): NEW lines that are mapped and fully reserved become
CONFIRMED through orders' state machine, then each account whose channel takes confirmations
by API is told at once (channels.services_sync.channel_orders_confirm, the same call the
schedule makes):

    manage.py confirm_lines [--account "스마트스토어 본점"]

Prints a one-line summary. Exits non-zero for an unknown account or when a channel refused."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.adapters.base import Capability
from channels.management.commands.collect_orders import account_named
from channels.models import ChannelAccount
from channels.registry import adapter_class
from channels.services_sync import SyncRefused, channel_orders_confirm
from orders.models import LineStatus, OrderLine
from orders.services_bulk import BulkAction, lines_bulk_action


class Command(BaseCommand):
    help = "Confirm (발주확인) new lines that are mapped and reserved, and tell the channels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="only this channel account (its name)")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"]) if options.get("account") else None
        lines = OrderLine.objects.filter(
            status=LineStatus.NEW, unmapped=False, backorder=False, skus__isnull=False
        )
        if account is not None:
            lines = lines.filter(account=account)
        ids = list(lines.distinct().order_by("pk").values_list("pk", flat=True))
        result = lines_bulk_action(line_ids=ids, action=BulkAction.CONFIRM, actor=None)
        accounts = ChannelAccount.objects.filter(
            pk__in=OrderLine.objects.filter(pk__in=ids).values("account_id").distinct()
        ).order_by("name")
        sent = refused = 0
        errors: list[str] = []
        for acct in accounts:
            cls = adapter_class(acct.marketplace)
            if cls is None or Capability.CONFIRM_ORDERS not in cls.capabilities or not acct.has_credentials:
                continue  # Excel-only: the seller confirms on the marketplace's own screen
            try:
                outcome = channel_orders_confirm(account_id=acct.pk)
            except SyncRefused as exc:
                errors.append(f"{acct.name}: {exc}")
                continue
            sent += outcome.done
            refused += outcome.failed
            if outcome.error is not None and outcome.job is not None:
                errors.append(f"{acct.name}: {outcome.job.error}")
        self.stdout.write(
            _(
                "%(confirmed)d lines confirmed (%(refused_here)d refused); channels acknowledged %(sent)d, "
                "refused %(refused)d."
            )
            % {
                "confirmed": result.changed,
                "refused_here": len(result.refused),
                "sent": sent,
                "refused": refused,
            }
        )
        if errors or refused:
            raise CommandError(
                "; ".join(errors) or _("The channels refused %(count)d lines.") % {"count": refused}
            )
