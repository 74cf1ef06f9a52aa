"""Reading uploaded spreadsheets safely and fast (python-calamine), for every import.

    table = read_table(upload, columns=COLUMNS, password=pw)      # refuses unsafe files first
    for row in table.rows():
        price = cell_int(row["sale_price"])                        # CellError -> a RowError for row.number

Guards, in this order and before any parser runs: the size limit (settings.OMS_UPLOAD_MAX_BYTES);
the file's real type from its first bytes (not its name); the password (msoffcrypto-tool) for an
encrypted Office file; for zip based formats (xlsx, ods) the zip directory, so a file that would
expand past 300 MB or 100x its own size is refused without being extracted.

Columns are found by their header text (trimmed, spaces ignored, Latin letters case-insensitive,
aliases allowed), never by position: extra columns are ignored and missing required ones are
named. Every refusal is a SheetError subclass whose str() is a user-facing, translated message.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import python_calamine
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Zip based formats: refuse when the directory says the content would expand past this.
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_UNZIP_RATIO = 100
MAX_ZIP_ENTRIES = 10_000
# How many rows from the top are searched for the header row when it is not given.
HEADER_SEARCH_ROWS = 10

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")

Cell = Any  # what a parser hands back: str, int, float, bool, date, datetime, time, timedelta


# --- Errors ------------------------------------------------------------------------------------


class SheetError(Exception):
    """The file as a whole cannot be read; nothing was imported. str() is for the user."""


class FileTooLarge(SheetError):
    pass


class UnsafeArchive(SheetError):
    """A zip (xlsx/ods) whose contents would expand far beyond the file: a zip bomb, or broken."""


class NotASpreadsheet(SheetError):
    pass


class PasswordRequired(SheetError):
    pass


class WrongPassword(SheetError):
    pass


class SheetNotFound(SheetError):
    pass


class HeaderNotFound(SheetError):
    """No header row with the required columns; `missing` names the required headers not found."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


class DuplicateColumn(SheetError):
    pass


class CellError(ValueError):
    """One cell's value is unusable; str() is for the user (the caller adds row and column)."""


@dataclass(frozen=True)
class RowError:
    """A problem with one row, as shown to the user: sheet row number, column header, reason."""

    row: int
    column: str
    message: str
    value: str = ""

    def as_list(self) -> list[Any]:
        return [self.row, self.column, self.message, self.value]


# --- Columns and tables ------------------------------------------------------------------------


def normalize_header(text: Any) -> str:
    """The form headers are compared in: NFKC (full-width letters become plain), no whitespace at
    all (so "상품 코드" == "상품코드"), a trailing "*" (required marker) dropped, casefolded."""
    value = unicodedata.normalize("NFKC", cell_text(text, unescape=False))
    value = re.sub(r"\s+", "", value).rstrip("*")
    return value.casefold()


@dataclass(frozen=True)
class Column:
    """A field the importer wants, found in the sheet by its header text."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False

    def names(self) -> set[str]:
        return {normalize_header(n) for n in (self.header, *self.aliases)}


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class SheetRow:
    """One data row: its number as the spreadsheet shows it (1-based) and its mapped cells."""

    number: int
    values: Mapping[str, Cell]

    def __getitem__(self, key: str) -> Cell:
        return self.values.get(key, "")

    def get(self, key: str, default: Cell = "") -> Cell:
        return self.values.get(key, default)


@dataclass
class SheetTable:
    """A sheet with its header row located and columns mapped by header text."""

    sheet_name: str
    header_row: int  # 1-based, as the spreadsheet shows it
    columns: dict[str, int]  # key -> 0-based column index in the sheet
    headers: dict[str, str]  # key -> header text as written in the sheet
    ignored_headers: list[str]
    data: list[list[Cell]] = field(repr=False)  # rows below the header
    file_format: str = ""

    @property
    def row_count(self) -> int:
        """Data rows below the header, blank rows included (the upper bound of rows())."""
        return len(self.data)

    def has(self, key: str) -> bool:
        return key in self.columns

    def header_for(self, key: str, fallback: str = "") -> str:
        return self.headers.get(key, fallback or key)

    def rows(self) -> Iterator[SheetRow]:
        """Data rows whose mapped cells are not all blank, with their spreadsheet row numbers."""
        columns = list(self.columns.items())
        for offset, raw in enumerate(self.data):
            values: dict[str, Cell] = {}
            blank = True
            width = len(raw)
            for key, index in columns:
                value = raw[index] if index < width else ""
                if isinstance(value, str):
                    if value.strip():
                        blank = False
                elif value is not None:
                    blank = False
                values[key] = value
            if not blank:
                yield SheetRow(self.header_row + 1 + offset, values)


# --- Opening files ---------------------------------------------------------------------------


def _max_bytes() -> int:
    return int(settings.OMS_UPLOAD_MAX_BYTES)


def _source_size(source: Any) -> int | None:
    if isinstance(source, bytes | bytearray):
        return len(source)
    if isinstance(source, str | Path):
        return Path(source).stat().st_size
    size = getattr(source, "size", None)
    if isinstance(size, int):
        return size
    if hasattr(source, "seek") and hasattr(source, "tell"):
        here = source.tell()
        source.seek(0, io.SEEK_END)
        end = int(source.tell())
        source.seek(here)
        return end
    return None


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}"


def check_size(source: Any) -> None:
    size = _source_size(source)
    if size is not None and size > _max_bytes():
        raise FileTooLarge(
            _("The file is %(size)s MB; files over %(limit)s MB are not accepted. Split it into parts.")
            % {"size": f"{size / (1024 * 1024):.1f}", "limit": _megabytes(_max_bytes())}
        )


def read_bytes(source: Any) -> bytes:
    """The file's content, refusing anything over the upload limit before reading it all."""
    check_size(source)
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    if hasattr(source, "seek"):
        source.seek(0)
    data = b"".join(source.chunks()) if hasattr(source, "chunks") else source.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        raise FileTooLarge(
            _("The file is larger than %(limit)s MB and is not accepted.")
            % {"limit": _megabytes(_max_bytes())}
        )
    return data


def check_zip(data: bytes) -> None:
    """Refuse a zip whose directory says it expands too far. Nothing is extracted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise NotASpreadsheet(
            _("The file is damaged or is not a spreadsheet (it could not be opened).")
        ) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UnsafeArchive(_("The file has too many parts to be a spreadsheet; it was not opened."))
    expanded = sum(max(0, e.file_size) for e in entries)
    if expanded > MAX_UNZIPPED_BYTES or expanded > MAX_UNZIP_RATIO * max(len(data), 1):
        raise UnsafeArchive(
            _(
                "The file would expand to %(size)s MB when opened (%(ratio)sx its size); files over "
                "%(limit)s MB or %(max_ratio)sx are refused as unsafe."
            )
            % {
                "size": _megabytes(expanded),
                "ratio": expanded // max(len(data), 1),
                "limit": _megabytes(MAX_UNZIPPED_BYTES),
                "max_ratio": MAX_UNZIP_RATIO,
            }
        )


def _zip_kind(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype")[:100]:
            return "ods"
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    raise NotASpreadsheet(
        _("The file is a zip archive or another Office document, not a spreadsheet (xlsx, xls, ods, csv).")
    )


def decrypt(data: bytes, password: str | None) -> bytes:
    """An encrypted Office file (OLE container) decrypted with `password`; other files unchanged."""
    import msoffcrypto
    from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError, ParseError

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        encrypted = office.is_encrypted()
    except (FileFormatError, ParseError, OSError, ValueError, KeyError):
        return data
    if not encrypted:
        return data
    if not password:
        raise PasswordRequired(
            _("The file is password-protected. Enter the file password and upload it again.")
        )
    out = io.BytesIO()
    try:
        office.load_key(password=password)
        office.decrypt(out)
    except InvalidKeyError as exc:
        raise WrongPassword(_("The file password is wrong. Check it and try again.")) from exc
    except (DecryptionError, FileFormatError, ParseError, ValueError, KeyError) as exc:
        raise WrongPassword(
            _("The file could not be decrypted with this password (wrong password or unknown encryption).")
        ) from exc
    return out.getvalue()


@dataclass
class Workbook:
    """An opened spreadsheet: the sheets' names and a way to read each one's cells."""

    file_format: str  # xlsx, xls, ods or csv
    sheet_names: list[str]
    _book: Any = field(default=None, repr=False)
    _csv_rows: list[list[Cell]] | None = field(default=None, repr=False)

    def visible_sheet_names(self) -> list[str]:
        if self._book is None:
            return self.sheet_names
        visible = []
        for meta in self._book.sheets_metadata:
            if meta.visible == python_calamine.SheetVisibleEnum.Visible and (
                meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            ):
                visible.append(meta.name)
        return visible or self.sheet_names

    def rows(self, sheet_name: str) -> list[list[Cell]]:
        """Every row from A1 (so list index + 1 is the spreadsheet row number)."""
        if self._csv_rows is not None:
            return self._csv_rows
        try:
            sheet = self._book.get_sheet_by_name(sheet_name)
            return sheet.to_python(skip_empty_area=False)
        except python_calamine.CalamineError as exc:
            raise NotASpreadsheet(
                _("The sheet %(sheet)s could not be read: the file is damaged.") % {"sheet": sheet_name}
            ) from exc


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise NotASpreadsheet(_("The CSV file is neither UTF-8 nor EUC-KR (CP949) text."))


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    return b"\x00" not in sample


def open_workbook(source: Any, *, password: str | None = None, filename: str = "") -> Workbook:
    """Open a spreadsheet after the size, type, password and zip checks."""
    data = read_bytes(source)
    if not filename:
        filename = str(getattr(source, "name", "") or (source if isinstance(source, str | Path) else ""))
    if not data.strip():
        raise NotASpreadsheet(_("The file is empty."))
    if data.startswith(OLE_MAGIC):
        data = decrypt(data, password)
    if data.startswith(ZIP_MAGIC):
        check_zip(data)
        file_format = _zip_kind(data)
    elif data.startswith(OLE_MAGIC):
        file_format = "xls"
    elif Path(filename).suffix.lower() in {".csv", ".txt"} or (
        not Path(filename).suffix and _looks_like_text(data)
    ):
        text = _decode_csv(data)
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        rows: list[list[Cell]] = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
        return Workbook("csv", ["CSV"], _csv_rows=rows)
    else:
        raise NotASpreadsheet(
            _("This is not a spreadsheet file. Upload an Excel (xlsx, xls), ODS or CSV file.")
        )
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise PasswordRequired(
            _("The file is password-protected. Enter the file password and upload it again.")
        ) from exc
    except python_calamine.CalamineError as exc:
        raise NotASpreadsheet(
            _("The file is damaged or is not a spreadsheet (it could not be opened).")
        ) from exc
    return Workbook(file_format, list(book.sheet_names), _book=book)


# --- Finding the header row ------------------------------------------------------------------


def _map_header(
    cells: Sequence[Cell], columns: Sequence[Column]
) -> tuple[dict[str, int], dict[str, str], list[str], list[tuple[str, int, int]]]:
    """(key -> index, key -> header text, ignored headers, duplicates (header, first, second))."""
    lookup: dict[str, Column] = {}
    for column in columns:
        for name in column.names():
            lookup[name] = column
    found: dict[str, int] = {}
    texts: dict[str, str] = {}
    ignored: list[str] = []
    duplicates: list[tuple[str, int, int]] = []
    for index, cell in enumerate(cells):
        text = cell_text(cell, unescape=False)
        if not text:
            continue
        match = lookup.get(normalize_header(text))
        if match is None:
            ignored.append(text)
        elif match.key in found:
            duplicates.append((text, found[match.key], index))
        else:
            found[match.key] = index
            texts[match.key] = text
    return found, texts, ignored, duplicates


def find_table(
    rows: list[list[Cell]],
    columns: Sequence[Column],
    *,
    header_row: int | None = None,
    search_rows: int = HEADER_SEARCH_ROWS,
    sheet_name: str = "",
    file_format: str = "",
) -> SheetTable:
    """Locate the header row (given, 1-based; or the first of the top `search_rows` rows holding
    every required header) and map the columns."""
    required = [c for c in columns if c.required]
    candidates = [header_row - 1] if header_row is not None else list(range(min(search_rows, len(rows))))
    best: tuple[int, list[str]] | None = None
    missing = [c.header for c in required]
    for index in candidates:
        cells = rows[index] if 0 <= index < len(rows) else []
        found, texts, ignored, duplicates = _map_header(cells, columns)
        missing = [c.header for c in required if c.key not in found]
        if not missing:
            if duplicates:
                text, first, second = duplicates[0]
                raise DuplicateColumn(
                    _("The header %(header)s appears twice (columns %(a)s and %(b)s). Keep one of them.")
                    % {"header": text, "a": column_letter(first), "b": column_letter(second)}
                )
            return SheetTable(
                sheet_name=sheet_name,
                header_row=index + 1,
                columns=found,
                headers=texts,
                ignored_headers=ignored,
                data=rows[index + 1 :],
                file_format=file_format,
            )
        if found and (best is None or len(missing) < len(best[1])):
            best = (index, missing)
    if header_row is not None:
        raise HeaderNotFound(
            _("Row %(row)s is not the header row: required columns are missing: %(missing)s.")
            % {"row": header_row, "missing": ", ".join(missing)},
            missing,
        )
    if best is not None:
        raise HeaderNotFound(
            _("Required columns are missing: %(missing)s (header row %(row)s).")
            % {"missing": ", ".join(best[1]), "row": best[0] + 1},
            best[1],
        )
    names = [c.header for c in required]
    raise HeaderNotFound(
        _("No header row found in the first %(n)s rows. The sheet needs the columns: %(columns)s.")
        % {"n": search_rows, "columns": ", ".join(names)},
        names,
    )


def read_table(
    source: Any,
    *,
    columns: Sequence[Column],
    password: str | None = None,
    filename: str = "",
    sheet: str | int | None = None,
    header_row: int | None = None,
    search_rows: int = HEADER_SEARCH_ROWS,
) -> SheetTable:
    """Open `source` (path, bytes, or an uploaded file) and return the table of `columns`.

    `sheet` is a name or 0-based index; without it the first visible sheet that has the
    required headers is used (so a guide sheet before the data sheet does no harm)."""
    book = open_workbook(source, password=password, filename=filename)
    if sheet is None:
        names = book.visible_sheet_names()
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(book.sheet_names):
            raise SheetNotFound(_("The file has no sheet number %(n)s.") % {"n": sheet + 1})
        names = [book.sheet_names[sheet]]
    else:
        if sheet not in book.sheet_names:
            raise SheetNotFound(
                _("The file has no sheet named %(sheet)s (it has: %(names)s).")
                % {"sheet": sheet, "names": ", ".join(book.sheet_names)}
            )
        names = [sheet]
    first_error: HeaderNotFound | None = None
    for name in names:
        try:
            return find_table(
                book.rows(name),
                columns,
                header_row=header_row,
                search_rows=search_rows,
                sheet_name=name,
                file_format=book.file_format,
            )
        except HeaderNotFound as exc:
            first_error = first_error or exc
    if first_error is None:
        raise SheetNotFound(_("The file has no sheets."))
    raise first_error


# --- Cells -------------------------------------------------------------------------------------

_FORMULA_TRIGGERS = ("=", "+", "@", "-", "\t", "\r")


def cell_text(value: Cell, *, unescape: bool = True) -> str:
    """A cell as text: trimmed; 15000.0 -> "15000" (numbers without a trailing .0); dates as
    YYYY-MM-DD. With `unescape`, the "'" our own downloads put before formula-like text
    (oms.excel.safe_cell) is taken off again, so a download -> upload round trip is exact."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if unescape and len(text) > 1 and text[0] == "'" and text[1] in "=+@-":
            return text[1:]
        return text
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != time() else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


_NUMBER_NOISE = re.compile(r"[,\s원개₩￦]")


def cell_decimal(value: Cell) -> Decimal | None:
    """A number from 15000, 15000.0, "15,000", " 15000 ", "15,000원", "₩15,000"; None if blank."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise CellError(_("Expected a number, not TRUE/FALSE."))
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime | date | time | timedelta):
        raise CellError(_("Expected a number, not a date."))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    cleaned = _NUMBER_NOISE.sub("", text)
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("%(value)s is not a number.") % {"value": text[:40]}) from None
    if not number.is_finite():
        raise CellError(_("%(value)s is not a number.") % {"value": text[:40]})
    return number


def cell_int(
    value: Cell, *, min_value: int | None = None, max_value: int | None = 2_147_483_647
) -> int | None:
    """A whole number (see cell_decimal for the accepted forms); None if blank."""
    number = cell_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise CellError(_("%(value)s is not a whole number.") % {"value": cell_text(value)})
    result = int(number)
    if min_value is not None and result < min_value:
        raise CellError(_("%(value)s is below the minimum of %(min)s.") % {"value": result, "min": min_value})
    if max_value is not None and result > max_value:
        raise CellError(_("%(value)s is too large.") % {"value": result})
    return result


EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})\s*[-./년]\s*(?P<m>\d{1,2})\s*[-./월]\s*(?P<d>\d{1,2})\s*[.일]?"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?!\d)"),
    re.compile(r"^(?P<y>\d{2})[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})(?!\d)"),
]
_TIME_PATTERN = re.compile(
    r"(?:(?P<ampm>오전|오후|AM|PM|am|pm)\s*)?(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm2>AM|PM|am|pm)?"
)


def _from_serial(number: float) -> datetime:
    if not 1 <= number < 2_958_466:  # 1900-01-01 .. 9999-12-31
        raise CellError(_("%(value)s is not a date.") % {"value": cell_text(number)})
    days = int(number)
    seconds = round((number - days) * 86400)
    return datetime.combine(EXCEL_EPOCH, time()) + timedelta(days=days, seconds=seconds)


def _parse_text_datetime(text: str) -> datetime:
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match["y"])
        if year < 100:
            year += 2000
        try:
            day = date(year, int(match["m"]), int(match["d"]))
        except ValueError:
            raise CellError(_("%(value)s is not a valid date.") % {"value": text[:40]}) from None
        rest = text[match.end() :]
        clock = time()
        tm = _TIME_PATTERN.search(rest)
        if tm:
            hour, minute, second = int(tm["h"]), int(tm["mi"]), int(tm["s"] or 0)
            marker = (tm["ampm"] or tm["ampm2"] or "").lower()
            if marker in {"오후", "pm"} and hour < 12:
                hour += 12
            if marker in {"오전", "am"} and hour == 12:
                hour = 0
            try:
                clock = time(hour, minute, second)
            except ValueError:
                raise CellError(_("%(value)s is not a valid time.") % {"value": text[:40]}) from None
        return datetime.combine(day, clock)
    raise CellError(_("%(value)s is not a date (use YYYY-MM-DD).") % {"value": text[:40]})


def cell_datetime(value: Cell) -> datetime | None:
    """An aware datetime (in the current time zone) from a date cell, an Excel serial number, or
    text such as 2026-03-01 14:05, 2026.03.01, 20260301, 2026년 3월 1일 오후 2:05; None if blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError(_("Expected a date, not TRUE/FALSE."))
    if isinstance(value, datetime):
        naive = value
    elif isinstance(value, date):
        naive = datetime.combine(value, time())
    elif isinstance(value, int | float):
        naive = _from_serial(float(value))
    elif isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"\d{5}(\.\d+)?", stripped):
            naive = _from_serial(float(stripped))
        else:
            naive = _parse_text_datetime(stripped)
    else:
        raise CellError(_("%(value)s is not a date.") % {"value": str(value)[:40]})
    if timezone.is_aware(naive):
        return naive
    return timezone.make_aware(naive)


def cell_date(value: Cell) -> date | None:
    """A date from a date cell, an Excel serial number or text (see cell_datetime); None if blank."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    moment = cell_datetime(value)
    return timezone.localtime(moment).date() if moment is not None else None


_TRUE = {"y", "yes", "true", "1", "o", "예", "네", "사용", "판매", "판매중", "v"}
_FALSE = {"n", "no", "false", "0", "x", "아니오", "아니요", "미사용", "중지", "판매중지"}


def cell_bool(value: Cell) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).casefold()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(_("%(value)s is not Y or N.") % {"value": text[:40]})


# --- Upload form -------------------------------------------------------------------------------


class SheetUploadForm(forms.Form):
    """A spreadsheet upload: the file (size and name checked here, contents by read_table) and
    the file's password when it has one."""

    file = forms.FileField(
        label=gettext_lazy("Spreadsheet file"),
        help_text=gettext_lazy("xlsx, xls, ods or csv, up to 20 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SPREADSHEET_EXTENSIONS)}),
    )
    password = forms.CharField(
        label=gettext_lazy("File password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Only if the file is password-protected."),
    )

    def clean_file(self) -> Any:
        upload: IO[bytes] | Any = self.cleaned_data["file"]
        try:
            check_size(upload)
        except FileTooLarge as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload
