"""The bulk product sheet (상품 일괄등록/수정): its columns, the template, the catalogue download in
the same layout (download -> edit -> upload round-trips), and the sheet of bad rows.

One row per SKU. Product-level columns (상품명, 브랜드, 카테고리, 판매가) repeat on each row of a
product; SKU-level columns (옵션명, 바코드, 옵션추가금액, 원가, 안전재고, 품절기준수량) belong to the row."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import xlsxwriter
from django.http import FileResponse
from django.utils.translation import gettext as _

from catalog.models import Sku
from oms.excel import safe_cell
from oms.sheets import Column

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PRODUCT_COLUMNS: list[Column] = [
    Column("product_code", "상품코드", ("대표상품코드", "product code", "product_code"), required=True),
    Column("name", "상품명", ("대표상품명", "product name", "name")),
    Column("brand", "브랜드", ("brand",)),
    Column("category", "카테고리", ("분류", "category")),
    Column("option_label", "옵션명", ("옵션", "option", "option name")),
    Column("sku_code", "SKU코드", ("단품코드", "옵션코드", "sku", "sku code", "sku_code"), required=True),
    Column("barcode", "바코드", ("barcode",)),
    Column("sale_price", "판매가", ("판매가격", "sale price", "price")),
    Column("cost", "원가", ("cost",)),
    Column("safety_stock", "안전재고", ("safety stock",)),
    Column(
        "low_stock_threshold", "품절기준수량", ("재고부족기준", "low stock threshold", "low-stock threshold")
    ),
    Column("extra_price", "옵션추가금액", ("추가금액", "옵션가", "extra price")),
]
HEADERS = [c.header for c in PRODUCT_COLUMNS]
HEADER_OF = {c.key: c.header for c in PRODUCT_COLUMNS}
TEXT_KEYS = {"product_code", "sku_code", "barcode"}  # kept as text so leading zeros survive

SAMPLE_ROWS = [
    ["KNIT-001", "울 라운드 니트", "데모브랜드", "의류>니트", "블랙 / S", "KNIT-001-BK-S", "8801234567890",
     39000, 15000, 2, 3, 0],
    ["KNIT-001", "울 라운드 니트", "데모브랜드", "의류>니트", "블랙 / M", "KNIT-001-BK-M", "8801234567891",
     39000, 15000, 2, 3, 2000],
]  # fmt: skip


def guide_lines() -> list[tuple[str, str]]:
    return [
        ("상품코드", _("Required. The product (대표상품) code. Rows with the same code are one product.")),
        (
            "SKU코드",
            _("Required. The option's unique code. An existing code is updated, a new one is created."),
        ),
        ("상품명", _("Required for a new product. The same on every row of a product.")),
        ("브랜드 / 카테고리", _("Optional. The same on every row of a product.")),
        ("판매가", _("Required for a new product: the product's sale price in won (15,000 or 15000).")),
        ("옵션추가금액", _("Optional: added to the sale price for this option (may be negative).")),
        ("옵션명", _("Optional: the option shown to buyers, e.g. 블랙 / S.")),
        ("바코드, 원가, 안전재고, 품절기준수량", _("Optional, per option. Whole numbers of 0 or more.")),
        (
            _("Blank cells"),
            _("A blank cell keeps the current value (a new product or option gets 0 or blank)."),
        ),
        (_("Columns"), _("Headers may be in any order; columns with other headers are ignored.")),
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


def _formats(workbook: Any) -> dict[str, Any]:
    return {
        "head": workbook.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1}),
        "req": workbook.add_format(
            {"bold": True, "bg_color": "#FCE4D6", "border": 1, "font_color": "#9C2A00"}
        ),
        "text": workbook.add_format({"num_format": "@"}),
        "money": workbook.add_format({"num_format": "#,##0"}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "bold": workbook.add_format({"bold": True, "valign": "top"}),
    }


def _write_row(ws: Any, r: int, values: Sequence[Any], text_cols: set[int], fmt: dict[str, Any]) -> None:
    for c, raw in enumerate(values):
        value = safe_cell(raw)
        if value is None or value == "":
            continue
        if c in text_cols or isinstance(value, str):
            ws.write_string(r, c, str(value), fmt["text"] if c in text_cols else None)
        elif isinstance(value, bool):
            ws.write_boolean(r, c, value)
        else:
            ws.write_number(r, c, value)


def write_sheet(
    fileobj: Any,
    *,
    sheet: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    text_keys: set[str],
    guide: Sequence[tuple[str, str]] = (),
    guide_title: str = "",
) -> None:
    """A data sheet (required headers highlighted, code columns as text) and a guide sheet after it."""
    workbook = xlsxwriter.Workbook(
        fileobj,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    fmt = _formats(workbook)
    ws = workbook.add_worksheet(sheet[:31])
    text_cols = {i for i, c in enumerate(columns) if c.key in text_keys}
    for i, column in enumerate(columns):
        ws.write_string(0, i, column.header, fmt["req"] if column.required else fmt["head"])
        ws.set_column(i, i, 22 if column.key in {"name", "option_label", "category"} else 14,
                      fmt["text"] if i in text_cols else None)  # fmt: skip
    ws.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        _write_row(ws, r, row, text_cols, fmt)
    if guide:
        gs = workbook.add_worksheet(_("Guide")[:31])
        gs.set_column(0, 0, 30)
        gs.set_column(1, 1, 90)
        gs.write_string(0, 0, guide_title or _("How to fill in this sheet"), fmt["bold"])
        for r, (left, right) in enumerate(guide, start=2):
            gs.write_string(r, 0, str(left), fmt["bold"])
            gs.write_string(r, 1, str(right), fmt["wrap"])
    workbook.close()


def sheet_response(*, filename: str, **kwargs: Any) -> FileResponse:
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    write_sheet(tmp, **kwargs)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def template_response() -> FileResponse:
    return sheet_response(
        filename="product_upload_template.xlsx",
        sheet=_("Products"),
        columns=PRODUCT_COLUMNS,
        rows=SAMPLE_ROWS,
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )


def catalogue_rows(skus: Iterable[Sku]) -> Iterator[list[Any]]:
    for sku in skus:
        product = sku.product
        yield [
            product.code,
            product.name,
            product.brand,
            product.category,
            sku.option_label,
            sku.code,
            sku.barcode,
            product.sale_price,
            sku.cost,
            sku.safety_stock,
            sku.low_stock_threshold,
            sku.extra_price,
        ]


def catalogue_response(skus: Iterable[Sku], *, filename: str) -> FileResponse:
    """The current catalogue in the upload layout: edit it and upload it back."""
    return sheet_response(
        filename=filename,
        sheet=_("Products"),
        columns=PRODUCT_COLUMNS,
        rows=catalogue_rows(skus),
        text_keys=TEXT_KEYS,
        guide=guide_lines(),
    )


def catalogue_skus() -> Iterable[Sku]:
    """Every SKU with its product, in sheet order (product code, then the SKUs as created)."""
    return Sku.objects.select_related("product").order_by("product__code", "pk").iterator(chunk_size=2000)


def error_rows_response(rows: Iterable[Any], *, headers: Sequence[str], filename: str) -> FileResponse:
    """The bad rows of an upload: sheet row, columns, reasons, then the row as it was read (the
    extra columns are ignored on upload, so the fixed rows can go back into the sheet)."""
    lead = [Column("row", _("Row")), Column("column", _("Column")), Column("reason", _("Reason"))]
    columns = lead + [Column(f"c{i}", h) for i, h in enumerate(headers)]

    def lines() -> Iterator[list[Any]]:
        for row in rows:
            yield [
                row.row,
                ", ".join(dict.fromkeys(e.column for e in row.errors)),
                "\n".join(f"{e.column}: {e.message}" for e in row.errors),
                *row.values,
            ]

    return sheet_response(
        filename=filename,
        sheet=_("Errors"),
        columns=columns,
        rows=lines(),
        text_keys={f"c{i}" for i in range(len(headers))},
    )
