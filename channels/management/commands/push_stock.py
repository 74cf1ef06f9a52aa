"""Push stock to one account's channel now (operators, cron, support):

    manage.py push_stock --account "스마트스토어 본점" [--all] [--force]

Without --all, the SKUs marked stock-dirty are pushed to this account (their marks stay for the
other accounts' scheduled push); --all is the reconciliation: every linked listing whose last
pushed value differs from what it should show; --force sends even equal values. Prints the
summary in one line; exits non-zero with the marketplace's reason on failure.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.management.commands.collect_orders import account_named
from channels.services_sync import SyncRefused, channel_stock_push


class Command(BaseCommand):
    help = "Push stock to one account's channel now and print the summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the channel account's name")
        parser.add_argument(
            "--all", action="store_true", help="every linked listing, not only the changed SKUs"
        )
        parser.add_argument(
            "--force", action="store_true", help="send even values equal to the last ones sent"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"])
        try:
            outcome = channel_stock_push(account_id=account.pk, full=options["all"], force=options["force"])
        except SyncRefused as exc:
            raise CommandError(str(exc)) from None
        job = outcome.jobs[0] if outcome.jobs else None
        self.stdout.write(
            _(
                "Stock push%(job)s for %(name)s: %(considered)d listings looked at, %(pushed)d sent, "
                "%(skipped)d unchanged, %(failed)d refused%(kept)s%(timing)s."
            )
            % {
                "job": f" #{job.pk}" if job else "",
                "name": account.name,
                "considered": outcome.considered,
                "pushed": outcome.pushed,
                "skipped": outcome.skipped,
                "failed": outcome.failed,
                "kept": _("; %(n)d SKUs left to send again") % {"n": outcome.kept_dirty}
                if outcome.kept_dirty
                else "",
                "timing": _("; %(status)s in %(seconds).1f s")
                % {"status": job.get_status_display(), "seconds": job.duration_seconds or 0.0}
                if job
                else "",
            }
        )
        if outcome.error is not None:
            raise CommandError(job.error if job and job.error else outcome.error.message)
        if outcome.failed:
            raise CommandError(
                _("The channel refused %(count)d listings: %(items)s")
                % {"count": outcome.failed, "items": job.params.get("failed_items", "") if job else ""}
            )
