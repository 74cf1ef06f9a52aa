"""Reusable list-page pieces: keyset paging that stays fast at a million rows, tab counts that
stop at a cap, and the selection helper behind select-all + bulk actions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict

M = TypeVar("M", bound=Model)

PAGE_SIZE = 50


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    items: list[M]
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool


# Tab counts stop at this many: "10,000+" is as useful as the exact figure for a tab, and
# counting is then bounded by the cap, not by the million rows behind it.
COUNT_CAP = 10_000


def capped_counts(parts: Sequence[tuple[str, QuerySet[Any]]], cap: int = COUNT_CAP) -> dict[str, int]:
    """{key: how many rows the queryset selects, stopping at `cap`} for every (key, queryset),
    in one statement of UNION ALL'ed SELECT COUNT(*) FROM (... LIMIT cap): each part reads at
    most `cap` rows of an index range instead of the whole table. A count equal to `cap` means
    "cap or more"."""
    sql_parts: list[str] = []
    params: list[Any] = []
    keys: list[str] = []
    for key, queryset in parts:
        try:
            sql, part_params = queryset.order_by().values("pk")[:cap].query.sql_with_params()
        except EmptyResultSet:
            continue
        sql_parts.append(f"SELECT {len(keys)}, COUNT(*) FROM ({sql}) AS part{len(keys)}")  # noqa: S608 - built from querysets
        params += list(part_params)
        keys.append(key)
    results = dict.fromkeys((key for key, _qs in parts), 0)
    if sql_parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(sql_parts), params)
            for index, count in cursor.fetchall():
                results[keys[index]] = count
    return results


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) else None


def _after_q(order: tuple[str, ...], values: list[Any], *, reverse: bool) -> Q:
    """Rows strictly after `values` in `order` (or before, when reverse): a row-value compare
    written as OR-of-ANDs so every database and every mix of directions gets an index range."""
    condition = Q()
    for i, field in enumerate(order):
        name = field.lstrip("-")
        descending = field.startswith("-") != reverse
        lookup = f"{name}__lt" if descending else f"{name}__gt"
        step = Q(**{lookup: values[i]})
        for j in range(i):
            step &= Q(**{order[j].lstrip("-"): values[j]})
        condition |= step
    # The OR alone is not an index range for Postgres; bounding the leading column is, so a
    # deep page starts where the cursor is instead of scanning everything before it.
    first = order[0].lstrip("-")
    first_descending = order[0].startswith("-") != reverse
    bound = Q(**{f"{first}__lte" if first_descending else f"{first}__gte": values[0]})
    return bound & condition


def keyset_page(
    queryset: QuerySet[M],
    *,
    order: tuple[str, ...] = ("-pk",),
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage[M]:
    """One page of `queryset` in `order` (which must end in a unique field, usually pk)."""
    names = [f.lstrip("-") for f in order]
    reverse = False
    qs = queryset
    cursor_values = _decode(after) if after else None
    if before and not after:
        cursor_values = _decode(before)
        reverse = cursor_values is not None
    if cursor_values is not None and len(cursor_values) == len(order):
        qs = qs.filter(_after_q(order, cursor_values, reverse=reverse))
    else:
        cursor_values = None
        reverse = False
    ordering = [("" if f.startswith("-") else "-") + f.lstrip("-") for f in order] if reverse else list(order)
    rows = list(qs.order_by(*ordering)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()

    def cursor_of(row: M) -> str:
        return _encode([getattr(row, n if n != "pk" else "pk") for n in names])

    if reverse:
        next_cursor = cursor_of(rows[-1]) if rows else None
        prev_cursor = cursor_of(rows[0]) if rows and has_more else None
        is_first = not has_more
    else:
        next_cursor = cursor_of(rows[-1]) if rows and has_more else None
        prev_cursor = cursor_of(rows[0]) if rows and cursor_values is not None else None
        is_first = cursor_values is None
    return KeysetPage(items=rows, next_cursor=next_cursor, prev_cursor=prev_cursor, is_first=is_first)


def page_from_request(
    request: HttpRequest, queryset: QuerySet[M], *, order: tuple[str, ...] = ("-pk",), size: int = PAGE_SIZE
) -> KeysetPage[M]:
    return keyset_page(
        queryset, order=order, after=request.GET.get("after"), before=request.GET.get("before"), size=size
    )


def querystring_without(query: QueryDict, *names: str) -> str:
    """The current filters as a query string, minus paging or format keys."""
    q = query.copy()
    for name in names:
        q.pop(name, None)
    return q.urlencode()


def selected_queryset(data: QueryDict, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows a bulk action applies to: every row matching the filters when the user chose
    "select all matching", otherwise the checked ids (limited to the filtered queryset, so a
    forged id outside the user's view is never touched)."""
    if data.get("select_all") == "filtered":
        return queryset
    ids = [int(v) for v in data.getlist("ids") if v.isdigit()]
    return queryset.filter(pk__in=ids)
