"""The stock upload sheet (엑셀 재고 업로드): columns, the template, and the current stock in
the same layout (a count sheet: download, fill in what was counted, upload with 방식 설정)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _

from catalog.excel import sheet_response
from catalog.models import Sku
from inventory.models import Location, StockLevel
from oms.sheets import Column

STOCK_COLUMNS: list[Column] = [
    Column("sku_code", "SKU코드", ("단품코드", "옵션코드", "sku", "sku code", "sku_code"), required=True),
    Column("location", "위치", ("창고", "로케이션", "위치코드", "창고코드", "location"), required=True),
    Column("quantity", "수량", ("재고", "재고수량", "quantity", "qty"), required=True),
    Column("mode", "방식", ("구분", "처리방식", "mode"), required=True),
    Column("reason", "사유", ("메모", "reason", "memo")),
]
HEADER_OF = {c.header: c for c in STOCK_COLUMNS}
TEXT_KEYS = {"sku_code", "location"}

MODE_SET = "설정"
MODE_DELTA = "증감"
_MODE_WORDS = {
    "설정": MODE_SET,
    "재고설정": MODE_SET,
    "실사": MODE_SET,
    "set": MODE_SET,
    "count": MODE_SET,
    "=": MODE_SET,
    "증감": MODE_DELTA,
    "가감": MODE_DELTA,
    "입출고": MODE_DELTA,
    "add": MODE_DELTA,
    "adjust": MODE_DELTA,
    "delta": MODE_DELTA,
    "+/-": MODE_DELTA,
    "±": MODE_DELTA,
}


def parse_mode(text: str) -> str | None:
    return _MODE_WORDS.get("".join(text.split()).casefold())


SAMPLE_ROWS = [
    ["KNIT-001-BK-S", "WH01", 25, MODE_SET, "3월 재고 실사"],
    ["KNIT-001-BK-M", "WH01", 10, MODE_DELTA, "입고"],
    ["KNIT-001-BK-S", "매장", -2, MODE_DELTA, "파손"],
]


def guide_lines() -> list[tuple[str, str]]:
    return [
        ("SKU코드", _("Required. The SKU's code. Bundles (세트상품) hold no stock of their own.")),
        ("위치", _("Required. The location's code or name.")),
        ("수량", _("Required. A whole number.")),
        (
            "방식",
            _(
                "Required. 설정: set the stock to this number (a stock count). 증감: add this number "
                "(negative to remove)."
            ),
        ),
        ("사유", _("Optional. Recorded in the stock ledger; 'Excel upload' when blank.")),
        (
            _("Sample rows"),
            _("The template's sample rows are imported like any other: replace or delete them."),
        ),
        (
            _("Upload"),
            _(
                "Nothing is saved until you check the preview and press Apply; a sheet with errors "
                "changes nothing."
            ),
        ),
    ]


def active_locations() -> list[Location]:
    return list(Location.objects.filter(is_active=True).order_by("priority", "pk"))


def stock_levels(*, location_id: int | None = None) -> Iterable[StockLevel]:
    """Every stock level of a single SKU (optionally at one location), by SKU code."""
    qs = StockLevel.objects.select_related("sku", "location").filter(sku__kind=Sku.Kind.SINGLE)
    if location_id:
        qs = qs.filter(location_id=location_id)
    return qs.order_by("sku__code", "location__priority", "location_id").iterator(chunk_size=2000)


def template_response(*, locations: Sequence[Location] = ()) -> FileResponse:
    """The template; its sample rows use the seller's own location codes when there are any."""
    rows = [list(r) for r in SAMPLE_ROWS]
    if locations:
        rows[0][1] = rows[1][1] = locations[0].code
        if len(locations) > 1:
            rows[2][1] = locations[1].name  # a location may be named instead of coded
        else:
            rows.pop()
    return sheet_response(
        filename="stock_upload_template.xlsx",
        sheet=_("Stock"),
        columns=STOCK_COLUMNS,
        rows=rows,
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )


def count_sheet_rows(levels: Iterable[StockLevel]) -> Iterator[list[Any]]:
    for level in levels:
        yield [level.sku.code, level.location.code, level.on_hand, MODE_SET, ""]


def count_sheet_response(levels: Iterable[StockLevel], *, filename: str) -> FileResponse:
    """Current on-hand per SKU x location in the upload layout, with 방식 = 설정."""
    return sheet_response(
        filename=filename,
        sheet=_("Stock"),
        columns=STOCK_COLUMNS,
        rows=count_sheet_rows(levels),
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )
