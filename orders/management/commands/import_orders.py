"""python manage.py import_orders --account NAME [--profile PROFILE] [--password PW] [--dry-run] FILE

Registers the orders of a marketplace order sheet for one channel account, like the upload page:
orders already registered are not duplicated, and an order with a bad row is held back whole
(listed on stderr: row, column, reason). Exit 0 with a one-line summary; exit 1 with --strict
when any row is bad (then nothing is written); exit 2 when the account or profile is unknown or
the file cannot be read (wrong password, not a spreadsheet, headers that fit no profile) —
nothing is written then either."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from oms.models import User
from orders.services_import import OrderImportError, order_import_file, profile_resolve

MAX_LISTED = 200


class Command(BaseCommand):
    help = "Register the orders of a marketplace order sheet (xlsx, xls, ods, csv) for one channel account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the order sheet")
        parser.add_argument("--account", required=True, help="channel account name")
        parser.add_argument(
            "--profile",
            default="",
            help="smartstore, coupang, 11st, or the name of one of the account's own profiles "
            "(default: detect from the headers)",
        )
        parser.add_argument("--password", default="", help="the file's password (SmartStore downloads)")
        parser.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
        parser.add_argument(
            "--strict", action="store_true", help="write nothing when any row is bad (exit 1)"
        )
        parser.add_argument("--user", default="", help="user name recorded as the one who imported")

    def handle(self, *args: Any, **options: Any) -> None:
        account = ChannelAccount.objects.filter(name=options["account"]).first()
        if account is None:
            names = ", ".join(ChannelAccount.objects.order_by("name").values_list("name", flat=True)[:30])
            raise CommandError(
                _("No channel account named %(name)s. Accounts: %(names)s")
                % {"name": options["account"], "names": names or "-"},
                returncode=2,
            )
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(name)s.") % {"name": options["user"]}, returncode=2)
        path = options["file"]
        dry_run = options["dry_run"] or options["strict"]
        try:
            profile = profile_resolve(account=account, key=options["profile"]) if options["profile"] else None
            counts, batch = order_import_file(
                account=account,
                path=path,
                profile=profile,
                password=options["password"],
                dry_run=dry_run,
                actor=actor,
            )
            errors = counts["errors_list"]
            self._list_errors(errors)
            if options["strict"] and errors:
                raise CommandError(
                    _("%(n)s bad rows in %(path)s; nothing was written.")
                    % {"n": counts["error_rows"], "path": path},
                    returncode=1,
                )
            if options["strict"] and not options["dry_run"]:
                counts, batch = order_import_file(
                    account=account,
                    path=path,
                    profile=profile,
                    password=options["password"],
                    dry_run=False,
                    actor=actor,
                )
        except OrderImportError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        if batch is not None and not counts.get("orders"):
            raise CommandError(
                _("No valid order in %(path)s; nothing was registered.") % {"path": path}, returncode=1
            )
        if batch is None:
            self.stdout.write(self._dry_summary(path, counts))
        else:
            self.stdout.write(self._summary(path, counts, batch.counts.get("result") or {}))

    def _list_errors(self, errors: list[list[Any]]) -> None:
        for row, column, message, value in errors[:MAX_LISTED]:
            shown = f" ({value})" if value else ""
            self.stderr.write(
                _("Row %(row)s, %(column)s: %(message)s") % {"row": row, "column": column, "message": message}
                + shown
            )
        if len(errors) > MAX_LISTED:
            self.stderr.write(_("... and %(n)s more.") % {"n": len(errors) - MAX_LISTED})

    @staticmethod
    def _dry_summary(path: str, c: dict[str, Any]) -> str:
        return _(
            "%(path)s: %(orders)s orders (%(lines)s lines) read; %(new)s new orders (%(new_lines)s lines) "
            "would be registered, %(present)s already present; %(bad)s bad rows "
            "(dry run: nothing was written)."
        ) % {
            "path": path,
            "orders": c["orders"],
            "lines": c["lines"],
            "new": c["new_orders"],
            "new_lines": c["new_lines"],
            "present": c["present_orders"],
            "bad": c["error_rows"],
        }

    @staticmethod
    def _summary(path: str, c: dict[str, Any], r: dict[str, Any]) -> str:
        return _(
            "%(path)s: %(created)s new orders (%(lines)s lines), %(updated)s updated, "
            "%(unchanged)s unchanged; %(unmapped)s lines need mapping, %(backorder)s short of stock; "
            "%(bad)s bad rows held back."
        ) % {
            "path": path,
            "created": r.get("orders_created", 0),
            "lines": r.get("lines_created", 0),
            "updated": r.get("orders_updated", 0),
            "unchanged": r.get("orders_unchanged", 0),
            "unmapped": r.get("unmapped", 0),
            "backorder": r.get("backorder", 0),
            "bad": c.get("error_rows", 0),
        }
