"""Reading marketplace JSON values and small helpers the adapters share.

Marketplaces send ids as strings or numbers (sometimes 12.0), leave fields out, and send
garbage now and then. These helpers read a value the one way every adapter wants it; the ones
that cannot raise Malformed, which an adapter catches per item, so one bad item is skipped
without losing the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import requests
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext

from channels.types import ChannelOrder, ChannelOrderLine, ItemResult

KST = timezone(timedelta(hours=9), "KST")
T = TypeVar("T")
NO_DEFAULT: Any = object()  # whole_number(..., default=NO_DEFAULT): the value is required


class Malformed(ValueError):
    """One item of an answer that does not have the shape we rely on."""


def text(value: Any) -> str:
    """A string, an integer or a whole float as text (ids arrive as either); else ""."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ""


def required_text(obj: dict[str, Any], name: str) -> str:
    value = text(obj.get(name))
    if not value:
        raise Malformed(gettext("%(name)s is missing") % {"name": name})
    return value


def whole_number(obj: dict[str, Any], name: str, default: Any = NO_DEFAULT) -> int:
    """obj[name] as an int: a whole number, or a string of one; `default` when it is absent."""
    value = obj.get(name)
    if value is None and default is not NO_DEFAULT:
        return int(default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Malformed(gettext("%(name)s is not a number") % {"name": name})
    try:
        number = float(value)
    except ValueError:
        raise Malformed(gettext("%(name)s is not a number") % {"name": name}) from None
    if not math.isfinite(number) or number != int(number):
        raise Malformed(gettext("%(name)s is not a whole number") % {"name": name})
    return int(number)


def date_kst(obj: dict[str, Any], name: str) -> datetime | None:
    """obj[name] as an aware datetime (ISO 8601); a time without an offset is Korean time."""
    value = obj.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Malformed(gettext("%(name)s is not a date") % {"name": name})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(
            gettext("%(name)s is not a date: %(value)s") % {"name": name, "value": value[:40]}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


def ceil_ms(moment: datetime) -> datetime:
    """Round up to the millisecond the APIs speak in, so a change in the last fraction of a
    millisecond before `until` is inside the window rather than in the gap before the next."""
    spare = moment.microsecond % 1000
    return moment + timedelta(microseconds=1000 - spare) if spare else moment


def aware(moment: datetime) -> datetime:
    return moment if dj_timezone.is_aware(moment) else dj_timezone.make_aware(moment)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def body_code(body: Any) -> str:
    """The error code of a JSON error body ({"code": ...}), or ""."""
    return text(body.get("code")) if isinstance(body, dict) else ""


def keyed(result: ItemResult, key: str) -> ItemResult:
    """The same answer, about another key (a product's answer given to each of its options)."""
    return ItemResult(
        key=key, ok=result.ok, code=result.code, message=result.message, retryable=result.retryable
    )


# The order-level ChannelOrder fields an adapter reads from any one item of the order.
HEAD_FIELDS = (
    "ordered_at",
    "paid_at",
    "buyer_name",
    "buyer_phone",
    "recipient_name",
    "recipient_phone",
    "recipient_phone2",
    "zip_code",
    "address1",
    "address2",
    "delivery_message",
)


@dataclass
class PendingOrder:
    """An order put together from the items a marketplace lists apart (Naver product orders,
    Coupang shipment boxes): the order-level fields of its first item (`head`, HEAD_FIELDS),
    every line, the raw items under `raw_key`, and the sum of the items' shipping fees."""

    head: dict[str, Any]
    bundle_key: str
    raw_key: str
    lines: list[ChannelOrderLine] = field(default_factory=list)
    raw: list[Any] = field(default_factory=list)
    shipping_fee: int = 0

    def add(self, lines: Iterable[ChannelOrderLine], raw: dict[str, Any], shipping_fee: int) -> None:
        self.lines += lines
        self.raw.append(raw)
        self.shipping_fee += shipping_fee

    def build(self, order_id: str) -> ChannelOrder:
        return ChannelOrder(
            external_order_id=order_id,
            lines=tuple(self.lines),
            **{name: self.head[name] for name in HEAD_FIELDS},
            shipping_fee=self.shipping_fee,
            bundle_key=self.bundle_key,
            raw={self.raw_key: self.raw},
        )
