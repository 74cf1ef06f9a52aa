"""Send 발주확인 to one account's channel now for the lines the OMS confirmed (operators, cron,
support); lines the channel refused before are sent again:

    manage.py confirm_orders --account "스마트스토어 본점"

Prints the job summary in one line. Exits non-zero with the marketplace's reason when the run
failed or the channel refused lines.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.management.commands.collect_orders import account_named
from channels.services_sync import SyncRefused, channel_orders_confirm


class Command(BaseCommand):
    help = "Send 발주확인 to one account's channel now and print the job summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the channel account's name")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"])
        try:
            outcome = channel_orders_confirm(account_id=account.pk, include_failed=True)
        except SyncRefused as exc:
            raise CommandError(str(exc)) from None
        job = outcome.job
        if job is None:
            self.stdout.write(_("Nothing to confirm for %(name)s.") % {"name": account.name})
            return
        self.stdout.write(
            _(
                "Confirmation #%(job)d for %(name)s: %(sent)d lines sent, %(done)d confirmed, "
                "%(failed)d refused; %(status)s in %(seconds).1f s."
            )
            % {
                "job": job.pk,
                "name": account.name,
                "sent": len(outcome.lines),
                "done": outcome.done,
                "failed": outcome.failed,
                "status": job.get_status_display(),
                "seconds": job.duration_seconds or 0.0,
            }
        )
        if outcome.error is not None:
            raise CommandError(job.error)
        if outcome.failed:
            raise CommandError(
                _("The channel refused %(count)d lines: %(items)s")
                % {"count": outcome.failed, "items": job.params.get("failed_items", "")}
            )
