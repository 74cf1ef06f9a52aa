"""Writing xlsx downloads: streamed row by row, and no cell ever becomes a formula or link."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse
from django.utils import timezone

# Characters that make a spreadsheet treat typed text as a formula. xlsxwriter writes strings
# as strings when strings_to_formulas is off; the prefix keeps a copied-out value harmless too.
# A leading "-" is only a trigger before something other than a digit, space or dash, so
# "-5" and "- 메모 -" stay as typed.
FORMULA_TRIGGERS = ("=", "+", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    if text.startswith(FORMULA_TRIGGERS):
        return True
    return len(text) > 1 and text[0] == "-" and not (text[1].isdigit() or text[1] in " -")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and _looks_like_formula(value):
        return "'" + value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def write_xlsx(fileobj: Any, *, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    workbook = xlsxwriter.Workbook(
        fileobj,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    ws = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for col, header in enumerate(headers):
        ws.write_string(0, col, str(header), bold)
        ws.set_column(col, col, max(10, min(40, len(str(header)) * 2 + 4)))
    for r, row in enumerate(rows, start=1):
        for c, raw in enumerate(row):
            value = safe_cell(raw)
            if value is None:
                continue
            if isinstance(value, datetime):
                ws.write_datetime(r, c, value, datetime_fmt)
            elif isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    workbook.close()


def xlsx_response(
    *, filename: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> FileResponse:
    """An xlsx download built in a temporary file (constant memory), then streamed."""
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    write_xlsx(tmp, sheet=sheet, headers=headers, rows=rows)
    tmp.seek(0)
    return FileResponse(
        tmp,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
