"""python manage.py export_courier_sheet [--courier CODE] [--layout generic|cj] [--account NAME]
[--status ready|printed|packed] [--with-tracking] [--no-mark-printed] [--user NAME] FILE

Writes the courier order sheet (택배 접수 파일) like the Courier sheet page: open shipments
without a tracking number (by default), one row per box, and marks those still ready as invoice
printed. Exit 0 with a one-line summary; exit 0 without writing FILE when no shipment matches
(a quiet day is not an error for a cron job, and the message says so); exit 2 on bad input
(unknown courier, layout, account, status or user; the company's name or phone missing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from oms.models import User
from shipping.couriers import courier_resolve
from shipping.excel_courier import LAYOUTS, CompanyDetailsMissing, Sender
from shipping.models import OPEN_SHIPMENT_STATES
from shipping.services_sheet import SheetFilters, courier_sheet_export, courier_sheet_select


class Command(BaseCommand):
    help = "Write the courier order sheet (xlsx) of the open shipments and mark them invoice printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the xlsx file to write")
        parser.add_argument("--courier", default="", help="courier code or name (e.g. CJGLS, 롯데택배)")
        parser.add_argument("--layout", default="generic", help="generic or cj (CJ대한통운 bulk sheet)")
        parser.add_argument("--account", default="", help="only this channel account's shipments")
        parser.add_argument(
            "--status", default="", help="only shipments in this state: ready, printed or packed"
        )
        parser.add_argument(
            "--with-tracking",
            action="store_true",
            help="include shipments that already have a tracking number",
        )
        parser.add_argument(
            "--no-mark-printed", action="store_true", help="leave the shipments' state as it is"
        )
        parser.add_argument("--user", default="", help="user name recorded as the one who exported")

    def handle(self, *args: Any, **options: Any) -> None:
        filters = self._filters(options)
        layout = options["layout"].strip().lower()
        if layout not in LAYOUTS:
            raise CommandError(
                _("Unknown sheet layout %(layout)s. Choose one of: %(layouts)s.")
                % {"layout": options["layout"], "layouts": ", ".join(LAYOUTS)},
                returncode=2,
            )
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(name)s.") % {"name": options["user"]}, returncode=2)
        try:
            Sender.from_company()
        except CompanyDetailsMissing as exc:
            raise CommandError(str(exc), returncode=2) from None
        path = Path(options["file"])
        ids = courier_sheet_select(filters=filters)
        if not ids:
            self.stdout.write(_("No shipments to export; %(path)s was not written.") % {"path": path})
            return
        if not path.parent.is_dir():
            raise CommandError(_("No such folder: %(path)s") % {"path": path.parent}, returncode=2)
        # Written beside the target and renamed: a half-written sheet never sits under FILE.
        fd, tmp_name = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            result = courier_sheet_export(
                fileobj=tmp_name,
                shipment_ids=ids,
                layout=layout,
                mark_printed=not options["no_mark_printed"],
                actor=actor,
            )
            os.replace(tmp_name, path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        self.stdout.write(
            _(
                "%(path)s: %(count)d shipments written (%(layout)s layout); "
                "%(marked)d marked as invoice printed."
            )
            % {"path": path, "count": result.count, "layout": layout, "marked": result.marked_printed}
        )

    def _filters(self, options: dict[str, Any]) -> SheetFilters:
        courier = None
        if options["courier"]:
            courier = courier_resolve(options["courier"])
            if courier is None:
                raise CommandError(
                    _("Unknown courier %(courier)s. Use a code or name from the courier list, e.g. CJGLS.")
                    % {"courier": options["courier"]},
                    returncode=2,
                )
        account = None
        if options["account"]:
            account = ChannelAccount.objects.filter(name=options["account"]).first()
            if account is None:
                names = ", ".join(ChannelAccount.objects.order_by("name").values_list("name", flat=True)[:30])
                raise CommandError(
                    _("No channel account named %(name)s. Accounts: %(names)s")
                    % {"name": options["account"], "names": names or "-"},
                    returncode=2,
                )
        statuses: tuple[str, ...] = ()
        if options["status"]:
            allowed = {s.value for s in OPEN_SHIPMENT_STATES}
            status = options["status"].strip().lower()
            if status not in allowed:
                raise CommandError(
                    _("Unknown status %(status)s. Choose one of: %(statuses)s.")
                    % {"status": options["status"], "statuses": ", ".join(sorted(allowed))},
                    returncode=2,
                )
            statuses = (status,)
        return SheetFilters(
            courier=courier,
            account=account,
            statuses=statuses,
            without_tracking=not options["with_tracking"],
        )
