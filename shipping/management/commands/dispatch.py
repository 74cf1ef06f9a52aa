"""python manage.py dispatch [--account NAME] [--packed-only] [--excel-dir DIR] [--user NAME]

발송처리 for the daily batch, like the Dispatch page: every shipment ready to dispatch (open,
with a courier and a tracking number; only packed ones with --packed-only) goes to its
channels through the same service. Channels with an API get each line; Excel-only channels
are skipped with a hint, or with --excel-dir their dispatch sheets are written there and
those lines count as shipped. Lines sent before are never sent again, so a cron retry is safe.

Prints one summary line. Exit status:
  0  everything ready was sent (or nothing was ready; Excel-only lines skipped are not an error)
  1  the channel refused some lines, or refused the whole run (e.g. its credentials): each
     refused line is printed with the marketplace's reason; running again retries them
  2  bad input: unknown --account or --user, --excel-dir not a folder
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from oms.models import User
from orders.models import OrderLine
from shipping.excel_dispatch import dispatch_sheet_write, sheet_filename
from shipping.models import ShipmentItem, shipment_number
from shipping.selectors_dispatch import dispatch_ready_shipments
from shipping.services_dispatch import ItemAnswer, dispatch_sheet_mark, sheet_items, shipments_dispatch

FAILED_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Dispatch every shipment ready to go to its channels (발송처리) and print a summary. "
        "Exit 0: all sent (Excel-only lines skipped are not an error); 1: the channel refused "
        "lines or the run (each printed with the reason; run again to retry); 2: bad input "
        "(unknown account or user, no such folder)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", default="", help="only this channel account's lines")
        parser.add_argument(
            "--packed-only", action="store_true", help="only shipments whose packing (검수) is done"
        )
        parser.add_argument(
            "--excel-dir",
            default="",
            help="write Excel-only channels' dispatch sheets into this folder and mark those lines shipped",
        )
        parser.add_argument("--user", default="", help="user name recorded as the one who dispatched")

    def handle(self, *args: Any, **options: Any) -> None:
        account = None
        if options["account"]:
            account = ChannelAccount.objects.filter(name=options["account"]).first()
            if account is None:
                names = ", ".join(ChannelAccount.objects.order_by("name").values_list("name", flat=True))
                raise CommandError(
                    _("No channel account named %(name)s. Accounts: %(names)s.")
                    % {"name": options["account"], "names": names or "-"},
                    returncode=2,
                )
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(name)s.") % {"name": options["user"]}, returncode=2)
        excel_dir = Path(options["excel_dir"]) if options["excel_dir"] else None
        if excel_dir is not None and not excel_dir.is_dir():
            raise CommandError(_("No such folder: %(path)s") % {"path": excel_dir}, returncode=2)

        ready = dispatch_ready_shipments(
            packed_only=options["packed_only"], account_id=account.pk if account else None
        )
        ids = list(ready.values_list("pk", flat=True))
        if not ids:
            self.stdout.write(_("Nothing to dispatch: no shipment with a tracking number is waiting."))
            return
        outcome = shipments_dispatch(
            shipments=ids,
            actor=actor,
            packed_only=options["packed_only"],
            account_ids=[account.pk] if account else None,
        )
        written: list[str] = []
        if excel_dir is not None:
            for account_id in sorted(outcome.excel):
                sheet_account = ChannelAccount.objects.get(pk=account_id)
                written.append(self._sheet(sheet_account, ids, excel_dir, actor, options["packed_only"]))
        excel_left = 0 if excel_dir is not None else outcome.excel_waiting
        self.stdout.write(
            _(
                "Dispatch: %(boxes)d shipments, %(sent)d lines sent, %(failed)d refused, %(shipped)d "
                "shipments shipped, %(excel)d lines of Excel-only channels skipped."
            )
            % {
                "boxes": len(ids),
                "sent": outcome.sent,
                "failed": outcome.failed,
                "shipped": len(outcome.shipped),
                "excel": excel_left,
            }
        )
        for path in written:
            self.stdout.write(_("Dispatch sheet written: %(path)s") % {"path": path})
        if excel_left:
            self.stdout.write(
                _(
                    "Excel-only channels take their dispatch sheet: download it on the Dispatch page, "
                    "or run again with --excel-dir FOLDER."
                )
            )
        for answer in outcome.items:
            if answer.state == "skipped":
                self.stdout.write(self._about(answer))
        if outcome.ok:
            return
        failed = [a for a in outcome.items if a.state == ShipmentItem.Dispatch.FAILED]
        for answer in failed[:FAILED_SHOWN]:
            self.stderr.write(self._about(answer))
        if len(failed) > FAILED_SHOWN:
            self.stderr.write(_("(%(count)d more)") % {"count": len(failed) - FAILED_SHOWN})
        raise CommandError(
            "; ".join(outcome.errors)
            or _("The channels refused %(count)d lines; run the command again to retry them.")
            % {"count": len(failed)},
            returncode=1,
        )

    @staticmethod
    def _about(answer: ItemAnswer) -> str:
        """출고번호 / 상품주문번호 (account): why."""
        line = OrderLine.objects.select_related("account").filter(pk=answer.line_id).first()
        where = f"{line.external_line_id} ({line.account.name})" if line else str(answer.line_id)
        return f"{shipment_number(answer.shipment_id)} / {where}: {answer.message}"

    def _sheet(
        self, account: ChannelAccount, ids: list[int], folder: Path, actor: User | None, packed_only: bool
    ) -> str:
        """Mark the account's lines shipped and write its sheet of them, in one transaction: if
        the file cannot be written, nothing is marked. The file is written beside the target and
        renamed, so a half-written sheet never sits under the final name."""
        path = folder / sheet_filename(account)
        fd, tmp_name = tempfile.mkstemp(suffix=".xlsx", dir=folder)
        os.close(fd)
        try:
            with transaction.atomic():
                marked = dispatch_sheet_mark(
                    account=account, shipment_ids=ids, actor=actor, packed_only=packed_only
                )
                items = sheet_items(account=account, shipment_ids=ids).filter(pk__in=marked)
                with open(tmp_name, "wb") as fh:
                    dispatch_sheet_write(fh, account=account, items=items)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return str(path)
