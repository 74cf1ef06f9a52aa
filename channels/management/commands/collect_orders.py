"""Collect one account's orders now, the same run the schedule makes (operators, cron, support):

    manage.py collect_orders --account "스마트스토어 본점" [--since 2025-01-15T09:00]

Prints the job summary in one line. Exits non-zero with the marketplace's reason when the run
failed or skipped items it could not read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from channels.services_sync import SyncRefused, channel_orders_collect


def account_named(name: str) -> ChannelAccount:
    account = ChannelAccount.objects.filter(name=name.strip()).first()
    if account is None:
        names = ", ".join(ChannelAccount.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(
            _("No channel account is named %(name)s. Accounts: %(names)s")
            % {"name": name, "names": names or _("(none yet)")}
        )
    return account


def parse_since(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise CommandError(
            _("--since must be an ISO time such as 2025-01-15T09:00 (Korean time unless it has an offset).")
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment >= timezone.now():
        raise CommandError(_("--since must be in the past."))
    return moment


class Command(BaseCommand):
    help = "Collect one account's orders now and print the job summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the channel account's name")
        parser.add_argument(
            "--since",
            default=None,
            help="collect orders changed since this ISO time (default: the account's cursor)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"])
        since = parse_since(options["since"]) if options["since"] else None
        try:
            outcome = channel_orders_collect(account_id=account.pk, since=since)
        except SyncRefused as exc:
            raise CommandError(str(exc)) from None
        job, ingest = outcome.job, outcome.ingest
        duration = job.duration_seconds or 0.0
        self.stdout.write(
            _(
                "Collection #%(job)d for %(name)s (%(since)s to %(until)s): %(fetched)d orders fetched, "
                "%(created)d new, %(updated)d updated, %(unchanged)d unchanged; %(lines)d new lines, "
                "%(reserved)d reserved, %(short)d short of stock, %(unmapped)d to map; "
                "%(failed)d items skipped; %(status)s in %(seconds).1f s."
            )
            % {
                "job": job.pk,
                "name": account.name,
                "since": timezone.localtime(outcome.since).strftime("%Y-%m-%d %H:%M"),
                "until": timezone.localtime(outcome.until).strftime("%Y-%m-%d %H:%M"),
                "fetched": outcome.fetched,
                "created": ingest.orders_created,
                "updated": ingest.orders_updated,
                "unchanged": ingest.orders_unchanged,
                "lines": ingest.lines_created,
                "reserved": ingest.reserved,
                "short": ingest.backorder,
                "unmapped": ingest.unmapped,
                "failed": len(outcome.skipped_items),
                "status": job.get_status_display(),
                "seconds": duration,
            }
        )
        if outcome.error is not None:
            raise CommandError(job.error)
        if outcome.skipped_items:
            raise CommandError(
                _("%(count)d items could not be read and will be read again on the next run: %(items)s")
                % {"count": len(outcome.skipped_items), "items": job.params.get("skipped_items", "")}
            )
