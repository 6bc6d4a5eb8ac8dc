"""Rows in bulk: plain inserts of prepared values (demo and benchmark loaders: no model instances, no
signals), and the slicing every batched statement uses to stay under a database's parameter limit."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import psycopg
from django.db import connection


def db_datetime(moment: datetime):
    """An aware datetime as the backend stores it (what DateTimeField does, without the overhead)."""
    return connection.ops.adapt_datetimefield_value(moment)


def insert_rows(model, fields: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """A plain bulk insert of prepared values: COPY on PostgreSQL (bulk_create is ~10x slower
    there), executemany elsewhere. No signals, no model instances."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """`items` in slices of at most `size`, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Above this many rows by the planner's estimate, a table's count is the estimate (a full count of a
# table of millions of rows is a sequential scan on every page view).
ESTIMATE_ABOVE = 100_000


def table_count(model) -> tuple[int, bool]:
    """(rows, estimated): PostgreSQL's `pg_class.reltuples` for a big table (kept by ANALYZE and
    autovacuum), an exact count otherwise (and always on SQLite)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            row = cursor.fetchone()
        if row and row[0] > ESTIMATE_ABOVE:
            return int(row[0]), True
    return model._default_manager.count(), False


def binary_iter(sql: str, params: list) -> Iterator[tuple]:
    """`binary_rows`, made into Python values one row at a time as they are iterated (psycopg holds the
    result in C): for results too big to keep as a list beside what the caller builds from them."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        yield from cursor


def binary_rows(sql: str, params: list) -> list[tuple]:
    """PostgreSQL: all rows of `sql` through a binary-format cursor of Django's connection (and so its
    transaction). psycopg decodes binary arrays and timestamps in C, where the text format would have
    PostgreSQL write (and psycopg parse, in Python for Django's time-zone loader) every value as text."""
    return list(binary_iter(sql, params))
