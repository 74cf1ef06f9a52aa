"""Re-encrypt every channel account's credentials with the first key in OMS_CREDENTIALS_KEYS.

Rotation: put the new key first in OMS_CREDENTIALS_KEYS (keep the old one after it), restart,
run this command, then remove the old key once it reports nothing left to rotate.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.crypto import CredentialsUnreadable, decrypt_credentials, is_current
from channels.models import ChannelAccount
from channels.services_accounts import channel_account_rotate_key


class Command(BaseCommand):
    help = "Re-encrypt every channel account's credentials with the first key in OMS_CREDENTIALS_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the accounts that still use an older key"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = current = empty = 0
        unreadable: list[str] = []
        for account in ChannelAccount.objects.order_by("pk").iterator():
            if not account.credentials_encrypted:
                empty += 1
                continue
            try:
                if options["dry_run"]:
                    if is_current(account.credentials_encrypted):
                        current += 1
                    else:
                        decrypt_credentials(account.credentials_encrypted)  # readable by an older key?
                        rotated += 1
                elif channel_account_rotate_key(account=account):
                    rotated += 1
                else:
                    current += 1
            except CredentialsUnreadable:
                unreadable.append(f"#{account.pk} {account.name}")
        counts = {"rotated": rotated, "current": current, "empty": empty, "unreadable": len(unreadable)}
        if options["dry_run"]:
            line = _(
                "Would re-encrypt %(rotated)d account(s); %(current)d already on the current key; "
                "%(empty)d without credentials; %(unreadable)d unreadable."
            )
        else:
            line = _(
                "Re-encrypted %(rotated)d account(s); %(current)d already on the current key; "
                "%(empty)d without credentials; %(unreadable)d unreadable."
            )
        self.stdout.write(line % counts)
        if unreadable:
            raise CommandError(
                _(
                    "These accounts' credentials cannot be decrypted with any key in OMS_CREDENTIALS_KEYS "
                    "(add the old key back, or enter their credentials again): %(accounts)s"
                )
                % {"accounts": ", ".join(unreadable)}
            )
