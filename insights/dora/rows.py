"""Rows of a queryset as plain tuples, skipping Django's per-value converters.

The DORA reads fetch a few hundred thousand rows for a year; on SQLite, Django's datetime converter (a regex
per value) was most of their cost. The ORM still writes the SQL (both vendors); `instant` makes
what SQLite hands over (naive UTC, or text for an aggregate) an aware UTC datetime.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connection

from common.rows import binary_iter


def raw_rows(queryset) -> Iterator[tuple]:
    """The rows of a values_list queryset, in its column order, with unconverted values."""
    sql, params = queryset.query.sql_with_params()
    return fetch(sql, params)


def fetch(sql: str, params) -> Iterator[tuple]:
    """The rows of `sql`, made into Python values one at a time as they are iterated: a year holds a few
    hundred thousand, and a list of them all beside what the caller builds was most of a worker's memory
    peak. On PostgreSQL in binary, where psycopg decodes timestamps in C (Django's text loader for them is
    Python, and was most of a year's summary)."""
    if connection.vendor == "postgresql":
        yield from binary_iter(sql, list(params))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor


def instant(value) -> datetime | None:
    """An aware UTC datetime from what the driver gave: aware (PostgreSQL), naive UTC (a SQLite column the
    sqlite3 module converted) or text (a SQLite aggregate)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    # psycopg's zone objects make every later comparison call utcoffset(): settle on datetime.UTC once.
    return value if value.tzinfo is UTC else value.astimezone(UTC)
