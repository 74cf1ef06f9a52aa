"""python manage.py import_tracking [--dry-run] [--user NAME] [--password PW] FILE

Gives boxes their tracking numbers from a sheet (our 출고번호 sheet, SmartStore's bulk dispatch
sheet or Coupang's DeliveryList), all or nothing, through the same service as the upload page.
Exit 0 with a one-line summary; exit 1 when rows are bad (each named on stderr: row, column,
reason) and nothing was written; exit 2 when the file cannot be read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from oms.models import User
from oms.sheets import SheetError
from shipping.services_tracking_import import summary_line, tracking_import_file

MAX_LISTED = 200


class Command(BaseCommand):
    help = "Give shipments their tracking numbers from a sheet (출고번호 or 주문번호, 택배사, 송장번호)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the sheet: xlsx, xls, ods or csv")
        parser.add_argument("--dry-run", action="store_true", help="check the sheet and write nothing")
        parser.add_argument("--user", default="", help="user name recorded as having entered the numbers")
        parser.add_argument("--password", default="", help="the file's password, if it has one")

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["file"]
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(name)s.") % {"name": options["user"]}, returncode=2)
        try:
            with open(path, "rb") as fh:
                plan, result = tracking_import_file(
                    source=fh,
                    filename=path,
                    actor=actor,
                    dry_run=options["dry_run"],
                    password=options["password"],
                )
        except OSError as exc:
            raise CommandError(
                _("Cannot open %(path)s: %(error)s") % {"path": path, "error": exc.strerror}, returncode=2
            ) from None
        except SheetError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        if plan.has_errors:
            errors = plan.errors
            for error in errors[:MAX_LISTED]:
                self.stderr.write(
                    _("Row %(row)s, %(column)s: %(message)s")
                    % {"row": error.row, "column": error.column, "message": error.message}
                )
            if len(errors) > MAX_LISTED:
                self.stderr.write(_("... and %(n)s more.") % {"n": len(errors) - MAX_LISTED})
            bad_rows = sum(1 for r in plan.rows if r.status == "error")
            raise CommandError(
                _("%(n)s bad rows in %(path)s; nothing was written.") % {"n": bad_rows, "path": path},
                returncode=1,
            )
        self.stdout.write(summary_line(plan, dry_run=options["dry_run"], written=result is not None))
