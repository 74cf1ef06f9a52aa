"""Reading marketplace order sheets into ChannelOrder dataclasses, with row errors.

An order is never split: when one row of an order is bad, every row of that order is held
back with it (and told why), so registering "the valid rows" never half-writes an order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from channels.types import ChannelOrder, ChannelOrderLine, LineState
from oms.db import without_cyclic_gc
from oms.sheets import (
    CellError,
    Column,
    HeaderNotFound,
    RowError,
    SheetTable,
    cell_datetime,
    cell_int,
    cell_text,
    find_table,
    open_workbook,
)
from orders.excel_profiles import BUILTIN_PROFILES, ORDER_FIELDS, SheetProfile
from orders.models import ExcelProfile

MAX_QUANTITY = 100_000


class NoProfileFits(Exception):
    """The sheet's headers fit no profile; str() is for the user."""


@dataclass
class ParsedSheet:
    profile: SheetProfile
    table: SheetTable
    orders: list[ChannelOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    # sheet row numbers of each order, for telling the user which rows an order came from
    order_rows: dict[str, list[int]] = field(default_factory=dict)

    @property
    def line_count(self) -> int:
        return sum(len(o.lines) for o in self.orders)


def user_profile(profile: ExcelProfile) -> SheetProfile:
    """A seller-defined profile: each field mapped to one header text (or several, "|"-separated)."""
    headers = {
        name: tuple(h.strip() for h in str(text).split("|") if h.strip())
        for name, text in (profile.mapping or {}).items()
        if name in ORDER_FIELDS and str(text).strip()
    }
    line_id_from: tuple[str, ...] = ()
    if "external_line_id" not in headers:
        line_id_from = ("external_order_id", "line_seq") if "line_seq" in headers else ("external_order_id",)
    return SheetProfile(
        key=f"user:{profile.pk}",
        label=profile.name,
        marketplace=profile.account.marketplace,
        headers=headers,
        sheet_name=profile.sheet_name,
        header_row=profile.header_row or None,
        line_id_from=line_id_from,
        user_defined=True,
    )


def profiles_for(account: ChannelAccount) -> list[SheetProfile]:
    """The account's own profiles first, then the built-in one for its marketplace, then the rest."""
    own = [user_profile(p) for p in account.excel_profiles.select_related("account").order_by("name")]
    builtins = sorted(BUILTIN_PROFILES.values(), key=lambda p: p.marketplace != account.marketplace)
    return own + builtins


def _columns(profile: SheetProfile) -> list[Column]:
    columns = []
    for name, headers in profile.headers.items():
        if not headers:
            continue
        columns.append(Column(key=name, header=headers[0], aliases=tuple(headers[1:])))
    # Only the order no. is required for locating the header row; the rest is checked after.
    return [
        Column(key=c.key, header=c.header, aliases=c.aliases, required=c.key == "external_order_id")
        for c in columns
    ]


def open_order_sheet(
    source: Any,
    *,
    account: ChannelAccount,
    profile: SheetProfile | None = None,
    password: str | None = None,
    filename: str = "",
) -> tuple[SheetProfile, SheetTable]:
    """Open the file and find the profile that fits: the given one, or the first of the
    account's profiles whose required headers are all there."""
    book = open_workbook(source, password=password, filename=filename)
    rows_by_sheet = {name: book.rows(name) for name in book.visible_sheet_names()}
    candidates = [profile] if profile else profiles_for(account)
    problems = []
    for candidate in candidates:
        try:
            return candidate, locate_profile(rows_by_sheet, candidate, book.file_format)
        except HeaderNotFound as exc:
            problems.append(f"{candidate.label}: {exc}")
    if profile:
        raise NoProfileFits(problems[0])
    raise NoProfileFits(
        _("The sheet's headers fit no order profile. Choose the right channel account or define a profile.")
        + " "
        + " / ".join(problems[:3])
    )


def locate_profile(
    rows_by_sheet: dict[str, list[list[Any]]], profile: SheetProfile, file_format: str
) -> SheetTable:
    names = [profile.sheet_name] if profile.sheet_name in rows_by_sheet else list(rows_by_sheet)
    last: HeaderNotFound | None = None
    for name in names:
        try:
            table = find_table(
                rows_by_sheet[name],
                _columns(profile),
                header_row=profile.header_row,
                sheet_name=name,
                file_format=file_format,
            )
        except HeaderNotFound as exc:
            last = exc
            continue
        missing = _missing_fields(profile, table)
        if missing:
            labels = [str(ORDER_FIELDS[m].label) for m in missing]
            last = HeaderNotFound(
                _("Required columns are missing: %(missing)s.") % {"missing": ", ".join(labels)}, labels
            )
            continue
        return table
    raise last or HeaderNotFound(_("No header row found."))


def _missing_fields(profile: SheetProfile, table: SheetTable) -> list[str]:
    missing = [
        name
        for name, spec in ORDER_FIELDS.items()
        if spec.required and name != "address1" and not table.has(name)
    ]
    if not (table.has("address1") or table.has("address_full")):
        missing.append("address1")
    if profile.line_id_from:
        missing += [name for name in profile.line_id_from if not table.has(name)]
    elif not table.has("external_line_id"):
        missing.append("external_line_id")
    return missing


# --- Rows -> orders ------------------------------------------------------------------------------


class _Row:
    """One data row, its cells read by column index (no per-row dict). Parsed dates and money
    are cached per distinct cell value for the whole sheet: an order's lines repeat its dates
    and amounts, and a sheet repeats its prices."""

    __slots__ = ("cache", "cells", "index", "number", "width")

    def __init__(self, index: dict[str, int], cache: dict[tuple[str, type, Any], Any]) -> None:
        self.index = index
        self.cache = cache
        self.number = 0
        self.cells: list[Any] = []
        self.width = 0

    def get(self, key: str) -> Any:
        i = self.index.get(key)
        if i is None or i >= self.width:
            return ""
        return self.cells[i]

    def text(self, key: str) -> str:
        i = self.index.get(key)
        if i is None or i >= self.width:
            return ""
        value = self.cells[i]
        if value.__class__ is str:
            text = value.strip()
            if len(text) > 1 and text[0] == "'" and text[1] in "=+@-":
                return text[1:]
            return text
        return cell_text(value)

    def money(self, key: str) -> int | None:
        i = self.index.get(key)
        if i is None or i >= self.width:
            return None
        value = self.cells[i]
        if value.__class__ is int and -(10**12) <= value <= 10**12:
            return value
        if value is None or value == "":
            return None
        return self._cached("money", value, _read_money)

    def when(self, key: str) -> datetime | None:
        i = self.index.get(key)
        if i is None or i >= self.width:
            return None
        value = self.cells[i]
        if value is None or value == "":
            return None
        return self._cached("when", value, _read_when)

    def _cached(self, kind: str, value: Any, read: Any) -> Any:
        try:
            hit = self.cache.get((kind, value.__class__, value))
        except TypeError:  # an unhashable cell: read it as it is
            return read(value)
        if hit is None:
            try:
                hit = (read(value), None)
            except CellError as exc:
                hit = (None, exc)
            self.cache[(kind, value.__class__, value)] = hit
        if hit[1] is not None:
            raise hit[1]
        return hit[0]


def _read_money(value: Any) -> int | None:
    if not cell_text(value):
        return None
    return cell_int(value, min_value=-(10**12), max_value=10**12)


def _read_when(value: Any) -> datetime | None:
    moment = cell_datetime(value)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _state(profile: SheetProfile, row: _Row) -> tuple[LineState, str]:
    detail, status = row.text("status_detail"), row.text("status")
    for text in (detail, status):
        if text in profile.states:
            return profile.states[text], text
    return profile.line_state_default, detail or status


def _data_rows(table: SheetTable) -> Iterator[_Row]:
    """The table's data rows whose mapped cells are not all blank (as SheetTable.rows), read
    in place: one _Row object is reused, so keep nothing of it but what you read."""
    row = _Row(dict(table.columns), {})
    indexes = sorted(set(table.columns.values()))
    first = table.header_row + 1
    for offset, cells in enumerate(table.data):
        width = len(cells)
        for i in indexes:
            if i >= width:
                break
            value = cells[i]
            if value.__class__ is str:
                if value and not value.isspace():
                    break
            elif value is not None:
                break
        else:
            continue
        row.number = first + offset
        row.cells = cells
        row.width = width
        yield row


def parse_rows(profile: SheetProfile, table: SheetTable) -> ParsedSheet:
    """Turn the table's rows into ChannelOrders. Bad rows become RowErrors, and take the rest of
    their order with them."""
    parsed = ParsedSheet(profile=profile, table=table)
    by_order: dict[str, list[tuple[int, ChannelOrderLine, dict[str, Any]]]] = defaultdict(list)
    bad_orders: dict[str, int] = {}
    seen_lines: dict[str, int] = {}
    for row in _data_rows(table):
        parsed.rows_read += 1
        order_id = row.text("external_order_id")
        try:
            line, order_values = _parse_row(profile, table, row)
        except _BadCell as bad:
            parsed.errors.append(
                RowError(
                    row.number,
                    table.header_for(bad.key, str(ORDER_FIELDS[bad.key].label)),
                    bad.message,
                    bad.value,
                )
            )
            if order_id:
                bad_orders.setdefault(order_id, row.number)
            continue
        if line.external_line_id in seen_lines:
            parsed.errors.append(
                RowError(
                    row.number,
                    table.header_for("external_line_id", str(ORDER_FIELDS["external_line_id"].label)),
                    _("The same line appears twice in the sheet (also row %(row)s).")
                    % {"row": seen_lines[line.external_line_id]},
                    line.external_line_id,
                )
            )
            bad_orders.setdefault(order_id, row.number)
            continue
        seen_lines[line.external_line_id] = row.number
        by_order[order_id].append((row.number, line, order_values))

    for order_id, rows in by_order.items():
        numbers = [number for number, _l, _v in rows]
        if order_id in bad_orders:
            for number in numbers:
                parsed.errors.append(
                    RowError(
                        number,
                        table.header_for("external_order_id", str(ORDER_FIELDS["external_order_id"].label)),
                        _("Held back: row %(row)s of the same order has an error.")
                        % {"row": bad_orders[order_id]},
                        order_id,
                    )
                )
            continue
        first = rows[0][2]
        shipping = _order_shipping(rows)
        parsed.orders.append(
            ChannelOrder(
                external_order_id=order_id,
                lines=tuple(line for _n, line, _v in rows),
                shipping_fee=shipping,
                raw={"rows": numbers, "profile": profile.key},
                **first,
            )
        )
        parsed.order_rows[order_id] = numbers
    parsed.errors.sort(key=lambda e: (e.row, e.column))
    return parsed


def _order_shipping(rows: Sequence[tuple[int, ChannelOrderLine, dict[str, Any]]]) -> int:
    """Shipping fee per bundle, counted once per bundle (sheets repeat it on every line)."""
    per_bundle: dict[str, int] = {}
    for _number, _line, values in rows:
        # Some sheets repeat the fee on every line of a bundle, others put it on one line.
        fee = values.pop("_shipping", 0) or 0
        per_bundle[values["bundle_key"]] = max(per_bundle.get(values["bundle_key"], 0), fee)
    return sum(per_bundle.values())


class _BadCell(Exception):
    def __init__(self, key: str, message: str, value: Any = "") -> None:
        self.key, self.message, self.value = key, message, cell_text(value)
        super().__init__(message)


def _parse_row(
    profile: SheetProfile, table: SheetTable, row: _Row
) -> tuple[ChannelOrderLine, dict[str, Any]]:
    text = row.text

    def need(key: str) -> str:
        value = text(key)
        if not value:
            raise _BadCell(key, _("This value is required."))
        return value

    def money(key: str) -> int | None:
        try:
            return row.money(key)
        except CellError as exc:
            raise _BadCell(key, str(exc), row.get(key)) from exc

    def when(key: str) -> datetime | None:
        try:
            return row.when(key)
        except CellError as exc:
            raise _BadCell(key, str(exc), row.get(key)) from exc

    need("external_order_id")
    if profile.line_id_from:
        parts = [need(k) for k in profile.line_id_from]
        line_id = "-".join(parts)
    else:
        line_id = need("external_line_id")
    product_name = need("product_name")
    raw_quantity = row.get("quantity")
    if raw_quantity.__class__ is int and 1 <= raw_quantity <= MAX_QUANTITY:
        quantity: int | None = raw_quantity
    else:
        try:
            quantity = cell_int(raw_quantity, min_value=1, max_value=MAX_QUANTITY)
        except CellError as exc:
            raise _BadCell("quantity", str(exc), raw_quantity) from exc
    if quantity is None:
        raise _BadCell("quantity", _("This value is required."))
    recipient = need("recipient_name")
    recipient_phone, recipient_phone2 = text("recipient_phone"), text("recipient_phone2")
    if not (recipient_phone or recipient_phone2):
        raise _BadCell("recipient_phone", _("This value is required."))
    address1, address2 = text("address1"), text("address2")
    if not address1:
        address1 = text("address_full")
        address2 = ""
    if not address1:
        key = "address1" if table.has("address1") else "address_full"
        raise _BadCell(key, _("This value is required."))
    unit = money("unit_price") or 0
    option_price = money("option_price") or 0
    discount = money("discount") or 0
    line_total = money("line_total")
    ordered_at = when("ordered_at")
    paid_at = when("paid_at")
    state, channel_status = _state(profile, row)
    option_code, seller_code = text("option_code"), text("seller_code")
    if option_code and seller_code and option_code != seller_code:
        codes: tuple[str, ...] = (option_code, seller_code)
    else:
        codes = (option_code or seller_code,) if option_code or seller_code else ()
    line = ChannelOrderLine(
        external_line_id=line_id,
        product_name=product_name,
        quantity=quantity,
        unit_price=unit + option_price,
        option_text=text("option_text"),
        channel_product_id=text("channel_product_id"),
        channel_option_id=text("channel_option_id"),
        seller_codes=codes,
        discount=discount,
        line_total=line_total,
        state=state,
        channel_status=channel_status,
    )
    values: dict[str, Any] = {
        "ordered_at": ordered_at or paid_at,
        "paid_at": paid_at,
        "buyer_name": text("buyer_name"),
        "buyer_phone": text("buyer_phone"),
        "recipient_name": recipient,
        "recipient_phone": recipient_phone,
        "recipient_phone2": recipient_phone2,
        "zip_code": text("zip_code"),
        "address1": address1,
        "address2": address2,
        "delivery_message": text("delivery_message"),
        "bundle_key": text("bundle_key"),
        "_shipping": money("shipping_fee") or 0,
    }
    return line, values


def parse_order_sheet(
    source: Any,
    *,
    account: ChannelAccount,
    profile: SheetProfile | None = None,
    password: str | None = None,
    filename: str = "",
) -> ParsedSheet:
    with without_cyclic_gc():
        found, table = open_order_sheet(
            source, account=account, profile=profile, password=password, filename=filename
        )
        return parse_rows(found, table)


def error_rows(errors: Iterable[RowError]) -> list[list[Any]]:
    return [e.as_list() for e in errors]
