"""python manage.py import_stock FILE [--dry-run] [--user NAME]

Sets counts (방식 설정) or adds and removes stock (증감) from a stock sheet, all or nothing,
through the inventory services. Exit 0 with a one-line summary; exit 1 when rows are bad or a
row is refused (each named: row, column, reason); exit 2 when the file cannot be read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.services_import import import_file_command
from oms.models import ImportSession


class Command(BaseCommand):
    help = "Set or change stock from a stock sheet (SKU코드, 위치, 수량, 방식)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the sheet to import")
        parser.add_argument("--dry-run", action="store_true", help="check the sheet and write nothing")
        parser.add_argument("--user", default="", help="user name recorded in the stock ledger")
        parser.add_argument("--password", default="", help="the file's password, if it has one")

    def handle(self, *args: Any, **options: Any) -> None:
        line = import_file_command(
            kind=ImportSession.Kind.STOCK,
            path=options["file"],
            username=options["user"],
            password=options["password"],
            dry_run=options["dry_run"],
            stderr=self.stderr,
        )
        self.stdout.write(line)
