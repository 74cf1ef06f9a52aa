"""The sheet-reading layer every import uses: refusals before parsing, header mapping by text,
and robust cell parsing."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import msoffcrypto
import pytest
import xlsxwriter
from django.utils import timezone, translation
from msoffcrypto.format.ooxml import OOXMLFile

from oms.sheets import (
    CellError,
    Column,
    DuplicateColumn,
    FileTooLarge,
    HeaderNotFound,
    NotASpreadsheet,
    PasswordRequired,
    SheetError,
    SheetUploadForm,
    UnsafeArchive,
    WrongPassword,
    cell_bool,
    cell_date,
    cell_datetime,
    cell_decimal,
    cell_int,
    cell_text,
    column_letter,
    normalize_header,
    read_table,
)

COLUMNS = [
    Column("order_no", "주문번호", ("상품주문번호",), required=True),
    Column("qty", "수량", required=True),
    Column("price", "판매가", ("결제금액",)),
    Column("name", "상품명", ("product name",)),
]


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Messages are asserted in English (the msgids), whatever the Korean catalog says."""
    with translation.override("en"):
        yield


def xlsx(rows: Sequence[Sequence[Any]], *, sheets: Sequence[str] = ("Sheet1",), first: int = 0) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    for name in sheets:
        ws = book.add_worksheet(name)
        if name == sheets[first]:
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if isinstance(value, dt.datetime):
                        ws.write_datetime(r, c, value, book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
                    elif value is not None:
                        ws.write(r, c, value)
        else:
            ws.write(0, 0, "안내: 이 시트는 설명입니다")
    book.close()
    return buf.getvalue()


def encrypt(data: bytes, password: str) -> bytes:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


# --- Header mapping --------------------------------------------------------------------------


def test_columns_are_mapped_by_header_text_in_any_order_and_extra_columns_are_ignored() -> None:
    data = xlsx(
        [["비고", " 수량 ", "상품 주문번호", "PRODUCT NAME", "메모2"], ["x", 2, "2026-0001", "니트", "y"]]
    )
    table = read_table(data, columns=COLUMNS)
    assert table.columns == {"qty": 1, "order_no": 2, "name": 3}
    assert table.ignored_headers == ["비고", "메모2"]
    (row,) = list(table.rows())
    assert row.number == 2
    assert (row["order_no"], row["qty"], row["name"], row["price"]) == ("2026-0001", 2.0, "니트", "")


def test_the_header_row_is_found_below_a_title_and_rows_keep_their_sheet_numbers() -> None:
    rows: list[list[Any]] = [
        ["발송처리 주문 목록"],
        [],
        ["상품주문번호", "수량"],
        ["A-1", 1],
        [None, None],
        ["A-2", 3],
    ]
    table = read_table(xlsx(rows), columns=COLUMNS)
    assert table.header_row == 3
    assert [(r.number, r["order_no"]) for r in table.rows()] == [(4, "A-1"), (6, "A-2")]


def test_a_given_header_row_is_used_as_is() -> None:
    rows: list[list[Any]] = [["상품주문번호", "수량"], ["주문번호", "수량"], ["B-1", 5]]
    table = read_table(xlsx(rows), columns=COLUMNS, header_row=2)
    assert [r["order_no"] for r in table.rows()] == ["B-1"]
    with pytest.raises(HeaderNotFound, match="Row 3"):
        read_table(xlsx(rows), columns=COLUMNS, header_row=3)


def test_missing_required_headers_are_named() -> None:
    with pytest.raises(HeaderNotFound) as exc:
        read_table(xlsx([["주문번호", "상품명"], ["A", "니트"]]), columns=COLUMNS)
    assert exc.value.missing == ["수량"]
    assert "수량" in str(exc.value)

    with pytest.raises(HeaderNotFound) as exc:
        read_table(xlsx([["아무", "헤더"]]), columns=COLUMNS)
    assert exc.value.missing == ["주문번호", "수량"]


def test_a_header_given_twice_is_refused_with_both_columns() -> None:
    with pytest.raises(DuplicateColumn, match="columns B and D"):
        read_table(xlsx([["수량", "주문번호", "x", "상품주문번호"]]), columns=COLUMNS)


def test_the_first_sheet_with_the_headers_is_used_and_a_named_sheet_is_required_to_exist() -> None:
    data = xlsx([["주문번호", "수량"], ["C-1", 1]], sheets=("안내", "Delivery"), first=1)
    table = read_table(data, columns=COLUMNS)
    assert table.sheet_name == "Delivery"
    assert read_table(data, columns=COLUMNS, sheet="Delivery").row_count == 1
    with pytest.raises(SheetError, match="Orders"):
        read_table(data, columns=COLUMNS, sheet="Orders")


def test_header_normalisation() -> None:
    assert normalize_header(" SKU 코드 ") == normalize_header("sku코드") == "sku코드"
    assert normalize_header("ＳＫＵ코드*") == "sku코드"  # full-width letters and a required marker
    assert column_letter(0) == "A" and column_letter(25) == "Z" and column_letter(27) == "AB"


# --- Formats -----------------------------------------------------------------------------------


def test_csv_in_utf8_and_cp949_is_read() -> None:
    for encoding in ("utf-8-sig", "cp949"):
        data = '주문번호,수량,상품명\nD-1," 2 ","니트, 블랙"\n'.encode(encoding)
        table = read_table(data, columns=COLUMNS, filename="orders.csv")
        (row,) = list(table.rows())
        assert (row["order_no"], cell_int(row["qty"]), row["name"]) == ("D-1", 2, "니트, 블랙")


def _ods(rows: Sequence[Sequence[str]]) -> bytes:
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
            for v in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="시트1">{cells}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def test_ods_is_read() -> None:
    table = read_table(_ods([["주문번호", "수량"], ["E-1", "4"]]), columns=COLUMNS)
    assert table.file_format == "ods"
    assert [(r["order_no"], cell_int(r["qty"])) for r in table.rows()] == [("E-1", 4)]


# --- Refusals before parsing -----------------------------------------------------------------------


def test_files_over_the_limit_are_refused_before_reading(settings: Any) -> None:
    settings.OMS_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(FileTooLarge, match=r"over \d+ MB"):
        read_table(b"x" * 1001, columns=COLUMNS)


def test_a_zip_bomb_is_refused_from_its_directory_without_extracting(monkeypatch: pytest.MonkeyPatch) -> None:
    # 50 MB of zeros compresses to ~50 KB: a ratio of ~1000x, refused from the zip directory.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 200_000

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the archive must not be extracted")

    monkeypatch.setattr(zipfile.ZipFile, "read", never)
    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(UnsafeArchive, match="100x"):
        read_table(data, columns=COLUMNS, filename="orders.xlsx")


def test_a_zip_whose_directory_claims_more_than_300_mb_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    data = bytearray(buf.getvalue())
    # Patch the central directory's uncompressed size of the last entry to 400 MB.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (400 * 1024 * 1024).to_bytes(4, "little")
    with pytest.raises(UnsafeArchive, match="300 MB"):
        read_table(bytes(data), columns=COLUMNS)


def test_a_renamed_non_spreadsheet_is_refused_by_its_content() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    with pytest.raises(NotASpreadsheet, match="not a spreadsheet"):
        read_table(png, columns=COLUMNS, filename="orders.xlsx")
    with pytest.raises(NotASpreadsheet):
        read_table(b"just some text\nnot a sheet", columns=COLUMNS, filename="orders.xlsx")
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(NotASpreadsheet):
        read_table(docx.getvalue(), columns=COLUMNS, filename="orders.xlsx")
    with pytest.raises(NotASpreadsheet, match="empty"):
        read_table(b"", columns=COLUMNS)


def test_a_password_protected_file_needs_the_right_password() -> None:
    locked = encrypt(xlsx([["Title row"], ["상품주문번호", "수량"], ["F-1", 2]]), "1234")
    assert msoffcrypto.OfficeFile(io.BytesIO(locked)).is_encrypted()

    with pytest.raises(PasswordRequired, match="password"):
        read_table(locked, columns=COLUMNS)
    with pytest.raises(WrongPassword, match="wrong"):
        read_table(locked, columns=COLUMNS, password="0000")
    table = read_table(locked, columns=COLUMNS, password="1234", header_row=2)
    assert [(r.number, r["order_no"]) for r in table.rows()] == [(3, "F-1")]


def test_the_upload_form_refuses_a_file_over_the_limit(settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils.datastructures import MultiValueDict

    settings.OMS_UPLOAD_MAX_BYTES = 10
    form = SheetUploadForm(data={}, files=MultiValueDict({"file": [SimpleUploadedFile("a.xlsx", b"x" * 11)]}))
    assert not form.is_valid()
    assert "MB" in form.errors["file"][0]


# --- Cells -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15000, 15000),
        (15000.0, 15000),
        ("15,000", 15000),
        (" 15000 ", 15000),
        ("15,000원", 15000),
        ("₩15,000", 15000),
        ("１５０００", 15000),
        ("-3", -3),
        ("", None),
        (None, None),
        ("15,000.00", 15000),
    ],
)
def test_cell_int_reads_numbers_however_they_were_typed(value: Any, expected: int | None) -> None:
    assert cell_int(value, min_value=None) == expected


@pytest.mark.parametrize(
    ("value", "message"), [("abc", "not a number"), (1.5, "whole"), (True, "TRUE"), ("-1", "minimum")]
)
def test_cell_int_refuses_what_is_not_a_whole_number(value: Any, message: str) -> None:
    with pytest.raises(CellError, match=message):
        cell_int(value, min_value=0)


def test_cell_decimal_keeps_the_fraction() -> None:
    assert cell_decimal("1,234.50") == Decimal("1234.50")
    assert cell_decimal(0.1) == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15000.0, "15000"),
        (8801234567890.0, "8801234567890"),
        (0.5, "0.5"),
        ("  니트 ", "니트"),
        ("'=SUM(A1)", "=SUM(A1)"),  # our downloads' formula guard comes off again
        ("'그대로", "'그대로"),
        (dt.date(2026, 3, 1), "2026-03-01"),
        (None, ""),
    ],
)
def test_cell_text(value: Any, expected: str) -> None:
    assert cell_text(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        46082,
        46082.0,
        "46082",
        dt.date(2026, 3, 1),
        "2026-03-01",
        "2026.03.01",
        "2026/3/1",
        "20260301",
        "2026년 3월 1일",
        "26-03-01",
    ],
)
def test_cell_date_from_serials_and_text(value: Any) -> None:
    assert cell_date(value) == dt.date(2026, 3, 1)


def test_cell_datetime_reads_times_and_is_aware() -> None:
    moment = cell_datetime("2026-03-01 오후 2:05")
    assert moment is not None and timezone.is_aware(moment)
    assert timezone.localtime(moment).replace(tzinfo=None) == dt.datetime(2026, 3, 1, 14, 5)
    serial = cell_datetime(46082.5)
    assert serial is not None and timezone.localtime(serial).hour == 12
    assert cell_datetime("") is None
    with pytest.raises(CellError):
        cell_datetime("2026-13-01")
    with pytest.raises(CellError):
        cell_datetime("내일")


def test_dates_in_a_real_sheet() -> None:
    table = read_table(
        xlsx([["주문번호", "수량", "결제일"], ["G-1", 1, dt.datetime(2026, 3, 1, 9, 30)]]),
        columns=[*COLUMNS, Column("paid", "결제일")],
    )
    (row,) = list(table.rows())
    paid = cell_datetime(row["paid"])
    assert paid is not None and timezone.localtime(paid).replace(tzinfo=None) == dt.datetime(
        2026, 3, 1, 9, 30
    )


def test_cell_bool() -> None:
    assert cell_bool("Y") is True and cell_bool("사용") is True and cell_bool("N") is False
    assert cell_bool("") is None
    with pytest.raises(CellError):
        cell_bool("maybe")
