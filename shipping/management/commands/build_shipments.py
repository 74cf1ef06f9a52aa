"""출고 생성 (합포장) for the day's batch (cron), the same service as the desk's button:

    manage.py build_shipments [--account "스마트스토어 본점"] [--across-channels]

Prints a one-line summary (and the first skipped lines with why, with -v 2). Exits non-zero
for an unknown account."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from channels.management.commands.collect_orders import account_named
from shipping.services_build import shipments_build


class Command(BaseCommand):
    help = "Box the confirmed lines into shipments (합포장) and print a one-line summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="only this channel account (its name)")
        parser.add_argument(
            "--across-channels",
            action="store_true",
            help="one box per recipient even across channel accounts",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"]) if options.get("account") else None
        outcome = shipments_build(actor=None, account=account, across_channels=options["across_channels"])
        self.stdout.write(outcome.summary())
        if options["verbosity"] >= 2:
            for skipped in outcome.skipped[:200]:
                self.stdout.write(
                    _("  skipped %(line)s: %(reason)s")
                    % {"line": skipped.external_line_id, "reason": skipped.reason}
                )
