"""Create or update a channel account from the command line (operators, cron, support):

    manage.py channel_account --marketplace smartstore --name "스마트스토어 본점" \\
        --set client_id=... --set client_secret=... [--base-url URL] [--pause|--resume]

Credential values are encrypted exactly as the account form does it and are never printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from channels.models import ChannelAccount, Marketplace
from channels.services_accounts import (
    AccountError,
    channel_account_create,
    channel_account_pause,
    channel_account_resume,
    channel_account_update,
    credential_fields_of,
)


class Command(BaseCommand):
    help = "Create or update a channel account; credential values are encrypted, never printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--marketplace", required=True, help=f"one of: {', '.join(Marketplace.values)}")
        parser.add_argument(
            "--name", required=True, help="the account's name (unique); an existing one is updated"
        )
        parser.add_argument(
            "--base-url", default=None, help="API base URL (empty string: the marketplace's own)"
        )
        parser.add_argument(
            "--set",
            dest="values",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a credential value (repeat); KEY= clears an optional one",
        )
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--pause", action="store_true", help="stop collection and stock push")
        state.add_argument("--resume", action="store_true", help="active again")

    def handle(self, *args: Any, **options: Any) -> None:
        marketplace: str = options["marketplace"].strip()
        name: str = options["name"].strip()
        if marketplace not in Marketplace.values:
            raise CommandError(
                _("Unknown marketplace %(code)s. Choose one of: %(codes)s.")
                % {"code": marketplace, "codes": ", ".join(Marketplace.values)}
            )
        if not name:
            raise CommandError(_("--name must not be empty."))
        credentials = self._parse_values(marketplace, options["values"])
        base_url: str | None = options["base_url"]

        try:
            with transaction.atomic():
                account = ChannelAccount.objects.filter(name=name).first()
                if account is None:
                    account = channel_account_create(
                        actor=None,
                        marketplace=marketplace,
                        name=name,
                        base_url=base_url or "",
                        credentials=credentials,
                    )
                    created = True
                else:
                    if account.marketplace != marketplace:
                        raise CommandError(
                            _(
                                "Account %(name)s is on %(old)s, not %(new)s; "
                                "an account's marketplace cannot change."
                            )
                            % {"name": name, "old": account.marketplace, "new": marketplace}
                        )
                    account = channel_account_update(
                        actor=None, account=account, base_url=base_url, credentials=credentials or None
                    )
                    created = False
                if options["pause"]:
                    account = channel_account_pause(actor=None, account=account)
                elif options["resume"]:
                    account = channel_account_resume(actor=None, account=account)
        except AccountError as exc:
            raise CommandError(str(exc)) from None

        values = {
            "id": account.pk,
            "name": account.name,
            "marketplace": account.marketplace,
            "status": account.status,
            "url": account.base_url or _("(marketplace default)"),
            "keys": ", ".join(sorted(k for k, v in credentials.items() if v)) or "-",
        }
        if created:
            summary = _(
                "Created account #%(id)s %(name)s (%(marketplace)s): status %(status)s; base URL %(url)s; "
                "credentials set: %(keys)s"
            )
        else:
            summary = _(
                "Updated account #%(id)s %(name)s (%(marketplace)s): status %(status)s; base URL %(url)s; "
                "credentials set: %(keys)s"
            )
        summary = summary % values
        self.stdout.write(summary)

    def _parse_values(self, marketplace: str, pairs: list[str]) -> dict[str, str | None]:
        fields = {f.name for f in credential_fields_of(marketplace)}
        if pairs and not fields:
            raise CommandError(
                _("%(code)s has no API connection, so it takes no --set values.") % {"code": marketplace}
            )
        values: dict[str, str | None] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip()
            if not sep or not key:
                # Never echo the argument: it may be a secret typed without its KEY=.
                raise CommandError(_("Each --set needs the form KEY=VALUE."))
            if key not in fields:
                raise CommandError(
                    _("Unknown credential %(key)s for %(code)s. It takes: %(known)s.")
                    % {"key": key, "code": marketplace, "known": ", ".join(sorted(fields))}
                )
            if key in values:
                raise CommandError(_("--set %(key)s is given twice.") % {"key": key})
            values[key] = value
        return values
