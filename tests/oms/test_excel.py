from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from oms.excel import safe_cell, write_xlsx


def test_cells_that_look_like_formulas_stay_text() -> None:
    buf = BytesIO()
    rows = [
        ["=SUM(A1:A9)", "+82 10", "@cmd", "-cmd|calc", "-5", "- 메모 -", 15000, Decimal("9.90"), "http://x.y"]
    ]
    write_xlsx(buf, sheet="t", headers=[str(i) for i in range(9)], rows=rows)
    sheet = load_workbook(BytesIO(buf.getvalue())).active
    assert sheet is not None
    values = [c.value for c in sheet[2]]
    types = [c.data_type for c in sheet[2]]
    assert values[:6] == ["'=SUM(A1:A9)", "'+82 10", "'@cmd", "'-cmd|calc", "-5", "- 메모 -"]
    assert "f" not in types
    assert values[6] == 15000 and values[7] == 9.9
    assert sheet["I2"].hyperlink is None


def test_dates_are_written_as_dates() -> None:
    buf = BytesIO()
    write_xlsx(buf, sheet="t", headers=["d"], rows=[[dt.date(2026, 11, 25)]])
    sheet = load_workbook(BytesIO(buf.getvalue())).active
    assert sheet is not None
    assert sheet["A2"].value == dt.datetime(2026, 11, 25)


def test_safe_cell_passes_ordinary_values() -> None:
    assert safe_cell("울 라운드 니트") == "울 라운드 니트"
    assert safe_cell(None) is None
