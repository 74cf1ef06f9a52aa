"""python manage.py import_products FILE [--dry-run] [--user NAME]

Creates or updates products and SKUs from a bulk product sheet, all or nothing. Exit 0 with a
one-line summary; exit 1 when rows are bad (each listed: row, column, reason); exit 2 when the
file cannot be read. Nothing is written unless every row is good."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.services_import import import_file_command
from oms.models import ImportSession


class Command(BaseCommand):
    help = "Create or update products and SKUs from a bulk product sheet (xlsx, xls, ods, csv)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the sheet to import")
        parser.add_argument("--dry-run", action="store_true", help="check the sheet and write nothing")
        parser.add_argument("--user", default="", help="user name recorded as the one who imported")
        parser.add_argument("--password", default="", help="the file's password, if it has one")

    def handle(self, *args: Any, **options: Any) -> None:
        line = import_file_command(
            kind=ImportSession.Kind.PRODUCTS,
            path=options["file"],
            username=options["user"],
            password=options["password"],
            dry_run=options["dry_run"],
            stderr=self.stderr,
        )
        self.stdout.write(line)
