"""The courier order sheet (택배 접수 파일): one row per shipment for the courier's bulk
registration program, in our generic layout or the column set of CJ대한통운's bulk sheet.

Rows are read with a few set-based queries (shipments, then their lines in chunks), never
one query per shipment, and written with xlsxwriter in constant memory. Every cell is a
string or a number written as such: phone numbers and zip codes stay text (leading zeros
survive) and nothing typed by a buyer can become a formula."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import xlsxwriter
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oms.excel import safe_cell
from oms.models import Company
from shipping.models import Courier, Shipment, ShipmentItem, shipment_number

CHUNK = 2000
# CJ's bulk sheet takes 품목명 up to 150 bytes (counted in the Korean code page); ours is generous
# but still short enough to fit a label.
GENERIC_ITEMS_BYTES = 200
CJ_ITEMS_BYTES = 150


class CompanyDetailsMissing(ValueError):
    """The sender (보내는분) is not set up on the company page; str() is for the user."""


@dataclass(frozen=True)
class Sender:
    """보내는분: the company, with the return address where it has one (parcels come back there)."""

    name: str
    phone: str
    zip_code: str
    address: str

    @classmethod
    def from_company(cls) -> Sender:
        company = Company.objects.filter(pk=1).first()
        missing = []
        if company is None or not company.name.strip():
            missing.append(str(_("company name")))
        if company is None or not company.phone.strip():
            missing.append(str(_("phone")))
        if company is None or missing:
            raise CompanyDetailsMissing(
                str(
                    _(
                        "The courier sheet needs the sender's %(missing)s. "
                        "Fill them in on the company details page first."
                    )
                )
                % {"missing": ", ".join(missing)}
            )
        use_return = bool(company.return_address.strip())
        return cls(
            name=company.name.strip(),
            phone=company.phone.strip(),
            zip_code=(company.return_zip_code if use_return else company.zip_code).strip(),
            address=(company.return_address if use_return else company.address).strip(),
        )


@dataclass
class SheetRow:
    """One shipment as the courier sheet shows it."""

    shipment_id: int
    recipient_name: str
    recipient_phone: str
    recipient_phone2: str
    zip_code: str
    address: str
    delivery_message: str
    courier_name: str
    tracking_number: str
    account_name: str
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (product, option, quantity)
    order_numbers: list[str] = field(default_factory=list)

    @property
    def number(self) -> str:
        return shipment_number(self.shipment_id)

    @property
    def quantity(self) -> int:
        return sum(q for _name, _option, q in self.items)

    @property
    def summary(self) -> str:
        return items_summary(self.items)


def _fits(text: str, max_bytes: int) -> bool:
    return len(text.encode("cp949", errors="replace")) <= max_bytes


def _truncate(text: str, max_bytes: int) -> str:
    if _fits(text, max_bytes):
        return text
    while text and not _fits(text + "…", max_bytes):
        text = text[:-1]
    return text.rstrip() + "…"


def short_option(option: str) -> str:
    """'색상: 블랙 / 사이즈: S' -> '블랙/S' (the values are what a packer needs)."""
    parts = [p.strip() for p in option.split("/")]
    values = [p.rpartition(":")[2].strip() or p for p in parts if p]
    return "/".join(values)


def items_summary(items: Sequence[tuple[str, str, int]], *, max_bytes: int = GENERIC_ITEMS_BYTES) -> str:
    """'울 라운드 니트 블랙/S x2 외 1건': the first line by name, option and quantity, then how many
    other lines share the box. Cut (with …) to max_bytes, keeping the quantity and the count."""
    if not items:
        return ""
    name, option, quantity = items[0]
    head = " ".join(p for p in (" ".join(name.split()), short_option(option)) if p)
    tail = f" x{quantity}" if quantity > 1 else ""
    if len(items) > 1:
        tail += gettext(" and %(count)d more") % {"count": len(items) - 1}
    budget = max_bytes - len(tail.encode("cp949", errors="replace"))
    return _truncate(head, max(budget, 8)) + tail


# --- Reading rows --------------------------------------------------------------------------------


def courier_sheet_rows(shipment_ids: Sequence[int]) -> Iterator[SheetRow]:
    """The shipments' rows in id order: 1 + 2 queries per CHUNK shipments."""
    default = Courier.objects.filter(is_default=True).values_list("name", flat=True).first() or ""
    ids = sorted(set(shipment_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows: dict[int, SheetRow] = {}
        for values in (
            Shipment.objects.filter(pk__in=chunk)
            .order_by("pk")
            .values(
                "pk",
                "recipient_name",
                "recipient_phone",
                "recipient_phone2",
                "zip_code",
                "address",
                "delivery_message",
                "tracking_number",
                "courier__name",
                "account__name",
            )
        ):
            rows[values["pk"]] = SheetRow(
                shipment_id=values["pk"],
                recipient_name=values["recipient_name"],
                recipient_phone=values["recipient_phone"],
                recipient_phone2=values["recipient_phone2"],
                zip_code=values["zip_code"],
                address=values["address"],
                delivery_message=values["delivery_message"],
                courier_name=values["courier__name"] or default,
                tracking_number=values["tracking_number"],
                account_name=values["account__name"] or "",
            )
        accounts: dict[int, set[str]] = defaultdict(set)
        for item in (
            ShipmentItem.objects.filter(shipment_id__in=chunk)
            .order_by("shipment_id", "line_id")
            .values_list(
                "shipment_id",
                "line__product_name",
                "line__option_text",
                "line__quantity",
                "line__order__external_order_id",
                "line__account__name",
            )
        ):
            shipment_id, product, option, quantity, order_no, account_name = item
            row = rows.get(shipment_id)
            if row is None:
                continue
            row.items.append((product, option, quantity))
            if order_no not in row.order_numbers:
                row.order_numbers.append(order_no)
            accounts[shipment_id].add(account_name)
        for shipment_id, row in rows.items():
            if not row.account_name:
                row.account_name = ", ".join(sorted(accounts.get(shipment_id, ())))
            yield row


# --- Layouts -------------------------------------------------------------------------------------

Getter = Callable[[SheetRow, Sender], Any]


@dataclass(frozen=True)
class Column:
    header: str | Promise
    value: Getter
    text: bool = False  # written with the Text format ("@"): digits stay digits with their zeros
    width: int = 14


@dataclass(frozen=True)
class Layout:
    key: str
    label: str | Promise
    sheet: str
    columns: tuple[Column, ...]


def _blank(row: SheetRow, sender: Sender) -> str:
    return ""


# Headers are the couriers' Korean terms whatever the UI language: the sheet goes to a Korean
# courier's program, and our tracking upload reads 출고번호 / 택배사 / 송장번호 back by header text.
GENERIC = Layout(
    key="generic",
    label=_("Generic (출고번호, 받는분, 주소, 품목명 ...)"),
    sheet="택배접수",
    columns=(
        Column("출고번호", lambda r, s: r.number, text=True, width=12),
        Column("택배사", lambda r, s: r.courier_name, width=12),
        Column("송장번호", lambda r, s: r.tracking_number, text=True, width=16),
        Column("보내는분", lambda r, s: s.name, width=14),
        Column("보내는분 전화", lambda r, s: s.phone, text=True, width=14),
        Column("보내는분 우편번호", lambda r, s: s.zip_code, text=True, width=10),
        Column("보내는분 주소", lambda r, s: s.address, width=36),
        Column("받는분", lambda r, s: r.recipient_name, width=12),
        Column("받는분 전화", lambda r, s: r.recipient_phone, text=True, width=14),
        Column("받는분 전화2", lambda r, s: r.recipient_phone2, text=True, width=14),
        Column("우편번호", lambda r, s: r.zip_code, text=True, width=9),
        Column("주소", lambda r, s: r.address, width=44),
        Column("품목명", lambda r, s: items_summary(r.items, max_bytes=GENERIC_ITEMS_BYTES), width=36),
        Column("수량", lambda r, s: r.quantity, width=7),
        Column("배송메세지", lambda r, s: r.delivery_message, width=24),
        Column("주문번호", lambda r, s: ", ".join(r.order_numbers), text=True, width=20),
        Column("판매처", lambda r, s: r.account_name, width=14),
    ),
)

# The column set of CJ대한통운's bulk registration sheet (대량 접수 / 통합 엑셀), in its order;
# columns we have nothing for stay empty so the courier's program applies its defaults
# (예약구분 일반, 집하예정일 today, 박스타입 and 운임 from the contract). 고객주문번호 carries our
# 출고번호, which comes back with the tracking number in CJ's result file.
CJ = Layout(
    key="cj",
    label=_("CJ대한통운 bulk registration sheet"),
    sheet="CJ대한통운",
    columns=(
        Column("예약구분", _blank, width=8),
        Column("집하예정일", _blank, text=True, width=10),
        Column("보내는분성명", lambda r, s: s.name, width=14),
        Column("보내는분전화번호", lambda r, s: s.phone, text=True, width=14),
        Column("보내는분기타연락처", _blank, text=True, width=14),
        Column("보내는분우편번호", lambda r, s: s.zip_code, text=True, width=10),
        Column("보내는분주소(전체, 분할)", lambda r, s: s.address, width=36),
        Column("받는분성명", lambda r, s: r.recipient_name, width=12),
        Column("받는분전화번호", lambda r, s: r.recipient_phone, text=True, width=14),
        Column("받는분기타연락처", lambda r, s: r.recipient_phone2, text=True, width=14),
        Column("받는분우편번호", lambda r, s: r.zip_code, text=True, width=10),
        Column("받는분주소(전체, 분할)", lambda r, s: r.address, width=44),
        Column("운송장번호", lambda r, s: r.tracking_number, text=True, width=16),
        Column("고객주문번호", lambda r, s: r.number, text=True, width=12),
        Column("품목명", lambda r, s: items_summary(r.items, max_bytes=CJ_ITEMS_BYTES), width=36),
        Column("내품수량", lambda r, s: r.quantity, width=8),
        Column("박스수량", lambda r, s: 1, width=8),
        Column("박스타입", _blank, width=8),
        Column("기본운임", _blank, width=8),
        Column("배송메세지1", lambda r, s: r.delivery_message, width=24),
        Column("배송메세지2", _blank, width=12),
        Column("운임구분", _blank, width=8),
    ),
)

LAYOUTS: dict[str, Layout] = {GENERIC.key: GENERIC, CJ.key: CJ}


def courier_sheet_write(
    fileobj: IO[bytes] | str, *, layout: Layout, sender: Sender, rows: Iterable[SheetRow]
) -> int:
    """Write the sheet; returns the number of shipment rows."""
    workbook = xlsxwriter.Workbook(
        fileobj,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    ws = workbook.add_worksheet(layout.sheet[:31])
    header = workbook.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    for col, column in enumerate(layout.columns):
        ws.set_column(col, col, column.width, text if column.text else None)
        ws.write_string(0, col, str(column.header), header)
    count = 0
    for r, row in enumerate(rows, start=1):
        count += 1
        for c, column in enumerate(layout.columns):
            value = safe_cell(column.value(row, sender))
            if value is None or value == "":
                continue
            if isinstance(value, bool | int | float) and not column.text:
                ws.write_number(r, c, value)
            elif column.text:
                ws.write_string(r, c, str(value), text)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    workbook.close()
    return count
