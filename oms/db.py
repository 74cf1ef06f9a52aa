"""Bulk writes for the big imports, shared by catalog, inventory and orders.

Django's bulk_create / bulk_update spend ~15 us per value preparing and re-parsing one huge
statement, and psycopg's client-side binding quotes every element of an array parameter in
Python; for a 20,000-line order sheet that was most of the import. On PostgreSQL:

- insert_rows / bulk_insert write through COPY (psycopg's C copy writer);
- insert_rows takes the new primary keys from the table's sequence first, so the caller knows
  them before the rows exist (to point other rows at them) and the rows go in with COPY;
- bulk_set updates through one UPDATE ... FROM unnest(arrays) per group of fields;
- pg_array spells a whole list as one array literal, a single string parameter, so psycopg
  quotes one string instead of dumping each element;
- without_cyclic_gc pauses Python's cyclic garbage collector around a big import: the tens of
  thousands of rows, tuples and dataclasses it builds made the collector re-scan the growing
  heap hundreds of times (1.1 s of a 20,000-line import's 9 s), and none of them is cyclic.

Other databases (SQLite in development) use Django's own bulk methods, which return the keys.
Values given to insert_rows are the model fields' Python values (JSON fields as Python objects);
fields not named take their defaults, auto_now(_add) fields the current time.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    text = str(value.isoformat() if isinstance(value, datetime) else value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of `values` (ints, strings, bools, datetimes, None), to pass
    as ONE parameter cast to the array type: `%s::bigint[]`. Every element is quoted (or a bare
    number), so commas, braces, quotes and backslashes inside strings are safe."""
    values = list(values)
    if all(v.__class__ is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(map(_array_item, values)) + "}"


_EMPTY_JSON = {dict: "{}", list: "[]"}


def _filled_columns(
    model: type[models.Model], columns: Sequence[str]
) -> tuple[list[models.Field[Any, Any]], list[Any]]:
    """The model's concrete non-pk fields not in `columns`, and the value each gets."""
    given = set(columns)
    now = timezone.now()
    rest: list[models.Field[Any, Any]] = []
    values: list[Any] = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.attname in given:
            continue
        rest.append(f)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values.append(now)
        else:
            values.append(f.get_default())
    return rest, values


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused (reference counting still frees
    everything that is not in a cycle). Re-enabled on the way out only if it was on at the
    way in, so nested and concurrent uses never leave it off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# (database alias, table) -> the name of the sequence behind its primary key
_SEQUENCES: dict[tuple[str, str], str] = {}


def next_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys from the table's sequence (PostgreSQL)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        sequence = _SEQUENCES.get((connection.alias, table))
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
            sequence = _SEQUENCES[(connection.alias, table)] = cursor.fetchone()[0]
        # The sequence named once (not looked up per row) and the keys back as one array:
        # 4-7x faster than a nextval(pg_get_serial_sequence(...)) row per key.
        # (A sequence only goes up, so sorted is the order they were taken in.)
        cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, count]
        )
        return sorted(cursor.fetchone()[0])


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert `rows` (values of the fields whose attnames are `columns`, in that order) and
    return their new primary keys, in order."""
    if not rows:
        return []
    rest, rest_values = _filled_columns(model, columns)
    meta = model._meta
    if not is_postgres():
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        for obj in objs:
            for f, value in zip(rest, rest_values, strict=True):
                setattr(obj, f.attname, value() if callable(value) else value)
        model.objects.bulk_create(objs)  # type: ignore[attr-defined]
        return [obj.pk for obj in objs]
    by_attname = {f.attname: f for f in meta.concrete_fields}
    named = [by_attname[c] for c in columns]
    json_at = [i for i, f in enumerate(named) if isinstance(f, models.JSONField)]
    constant = [
        json.dumps(v, ensure_ascii=False) if isinstance(f, models.JSONField) else v
        for f, v in zip(rest, rest_values, strict=True)
    ]
    assert not any(callable(v) for v in constant), "callable defaults are not supported here"
    ids = next_ids(model, len(rows))
    qn = connection.ops.quote_name
    assert meta.pk is not None
    names = ", ".join(qn(str(f.column)) for f in (meta.pk, *named, *rest))
    with connection.cursor() as cursor:
        raw: Any = cursor.cursor
        with raw.copy(f"COPY {qn(meta.db_table)} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            if json_at:
                for pk, row in zip(ids, rows, strict=True):
                    values = list(row)
                    for i in json_at:
                        value = values[i]
                        if value is not None:
                            empty = _EMPTY_JSON.get(value.__class__) if not value else None
                            values[i] = empty or json.dumps(value, ensure_ascii=False)
                    write((pk, *values, *constant))
            else:
                for pk, row in zip(ids, rows, strict=True):
                    write((pk, *row, *constant))
    return ids


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert new model instances (every concrete field from the instance). Primary keys are
    NOT set on the objects: look them up by a natural key."""
    if not objs:
        return
    qn = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(qn(str(f.column)) for f in fields)
    if not is_postgres():
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        rows = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objs]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    as_json = [isinstance(f, models.JSONField) for f in fields]
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor:
        raw: Any = cursor.cursor
        with raw.copy(f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [
                        json.dumps(value, ensure_ascii=False) if is_json and value is not None else value
                        for value, is_json in zip((getattr(obj, a) for a in attnames), as_json, strict=True)
                    ]
                )


def bulk_set(model: type[models.Model], objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write `field_names` of existing rows (by pk)."""
    if not objs:
        return
    qn = connection.ops.quote_name
    meta = model._meta
    by_name = {f.name: f for f in meta.concrete_fields}
    chosen = [by_name[name] for name in field_names]
    pk_field = meta.pk
    assert pk_field is not None
    if not is_postgres():
        # One prepared UPDATE run for every row (executemany): SQLite does this in-process,
        # far faster than bulk_update's CASE WHEN statements.
        sets = ", ".join(f"{qn(str(f.column))} = %s" for f in chosen)
        sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(str(pk_field.column))} = %s"  # noqa: S608
        rows = [
            [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in chosen] + [obj.pk]
            for obj in objs
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    assignments = ", ".join(f"{qn(str(f.column))} = v.c{i}" for i, f in enumerate(chosen))
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in chosen)
    names = ", ".join(f"c{i}" for i in range(len(chosen)))
    table = qn(meta.db_table)
    # Names come from the model; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest(%s::{pk_field.db_type(connection)}[], {arrays}) "  # noqa: S608
        f"AS v(id, {names}) WHERE {table}.{qn(str(pk_field.column))} = v.id"
    )
    attnames = [f.attname for f in chosen]
    with connection.cursor() as cursor:
        for part in chunked(objs, 5000):
            params = [[obj.pk for obj in part]] + [[getattr(obj, a) for obj in part] for a in attnames]
            cursor.execute(sql, params)
