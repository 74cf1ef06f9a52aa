"""Have the sandbox marketplace's buyers place orders now (tests, demos, support):

    manage.py sandbox_generate --orders 5 [--seed 42]

Orders take stock off the sandbox's options and never order an option at stock 0, exactly as
the scheduled buyers do; fewer orders are placed when stock runs out (exit status 0 while at
least one was placed). `--issue-token` prints a new API token for a sandbox channel account.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.sandbox.generator import sandbox_orders_generate
from channels.sandbox.services import sandbox_key_issue


class Command(BaseCommand):
    help = "Place orders in the sandbox marketplace now (never of options at stock 0)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=1, help="how many orders (1-1000)")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable orders")
        parser.add_argument(
            "--issue-token",
            metavar="LABEL",
            default=None,
            help="instead, issue a sandbox API token with this label and print it (shown once)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.OMS_SANDBOX_ENABLED:
            raise CommandError(_("The sandbox marketplace is off on this server (OMS_SANDBOX_ENABLED)."))
        if options["issue_token"] is not None:
            _key, token = sandbox_key_issue(actor=None, label=options["issue_token"])
            self.stdout.write(token)
            return
        count: int = options["orders"]
        if not 1 <= count <= 1000:
            raise CommandError(_("--orders must be between 1 and 1000."))
        rng = random.Random(options["seed"]) if options["seed"] is not None else None
        placed = sandbox_orders_generate(count=count, rng=rng)
        if not placed:
            raise CommandError(
                _("No option is on sale with stock left in the sandbox, so no order was placed.")
            )
        lines = sum(len(order.lines.all()) for order in placed)
        self.stdout.write(
            f"sandbox: {len(placed)} orders / {lines} product orders placed"
            + (f" ({count - len(placed)} not placed: out of stock)" if len(placed) < count else "")
        )
        for order in placed:
            self.stdout.write(f"  {order.order_no} {order.buyer_name}")
