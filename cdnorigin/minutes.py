"""`1min` answers: per-domain series straight from the raw minute rows."""

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter

import psycopg
from django.db import connection

from .models import CLASS_FIELDS, OriginSample
from .periods import FIXED_SECONDS, Periods
from .series import CHUNK, EpochSeconds, Series, in_scope


def minute_series(
    ids: list[int], scope: list[int] | None, periods: Periods, with_status: bool, classes_only: bool = False
) -> dict[int, Series]:
    """Per-domain series straight from the minute rows, read on the (domain, minute) and (minute) indexes.

    Flux/pv metrics read those columns. Status metrics read each sample's status object, except with
    `classes_only` (status_all, which needs no single code): then the per-class sums columns are read
    and each class's sum is filed under its class's x00 code, all that status_all looks at (on
    PostgreSQL only 2xx..5xx, with their sum over all classes as `status_total`). Each cell is one
    sample's, so rows are read unordered.
    """
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in ids}
    first, end = periods.first_datetime(), periods.end_datetime()
    base, step = periods.first, FIXED_SECONDS["1min"]
    samples = in_scope(OriginSample.objects.filter(minute__gte=first, minute__lt=end), "domain_id", scope).order_by()
    if not with_status:
        rows = samples.values_list("domain_id", EpochSeconds("minute"), "flux", "pv")
        for domain_id, minute, flux, pv in rows.iterator(CHUNK):
            target = series.get(domain_id)  # None: a domain created since the domains were listed
            if target is not None:
                index = (minute - base) // step
                target.flux[index] += flux
                target.pv[index] += pv
        return series
    in_order = list(range(size))
    if connection.vendor == "postgresql" and classes_only:
        for domain_id, indexes, everything, *per_class in _class_arrays(scope, first, end, base):
            target = series.get(domain_id)
            if target is not None:
                place = _placer(indexes, in_order)
                target.status_total = place(everything)
                target.status = {
                    klass * 100: place(sums) for (klass, _), sums in zip(READ_CLASSES, per_class, strict=True)
                }
        return series
    if connection.vendor == "postgresql":
        for domain_id, code, indexes, values in _code_arrays(scope, first, end, base):
            target = series.get(domain_id)
            if target is not None:
                target.status[code] = _placer(indexes, in_order)(values)
        return series
    if classes_only:
        rows = samples.values_list("domain_id", EpochSeconds("minute"), *CLASS_FIELDS)
        for domain_id, minute, *sums in rows.iterator(CHUNK):
            target = series.get(domain_id)
            if target is not None:
                index = (minute - base) // step
                for klass, count in enumerate(sums, start=1):
                    if count:
                        cells = target.status.get(klass * 100)
                        if cells is None:
                            cells = target.status[klass * 100] = [0] * size
                        cells[index] = count
        return series
    for domain_id, minute, status in samples.values_list("domain_id", EpochSeconds("minute"), "status").iterator(CHUNK):
        target = series.get(domain_id)
        if target is not None:
            target.add_status((minute - base) // step, status, size)
    return series


def _placer(indexes: list[int], in_order: list[int]) -> Callable[[list[int]], list[int]]:
    """A function laying out an array of one domain's samples, in the order of their minute `indexes`,
    on the minutes `in_order` (0, 1, ...) with zeros where no sample is; made once for all of the
    domain's arrays.

    Every minute present and in order: the array is the series. Compared, never assumed: an
    aggregate's input order follows the plan, and re-posted rows move in the heap (on the benchmark
    data, 35 of 50 domains a day hold a few). Every minute present in another order: one C-level
    gather per array (measured as fast as joining the in-order runs by slices). Minutes missing: a
    cell at a time (each cell is one sample's, set once).
    """
    if indexes == in_order:
        return _as_is
    if len(indexes) > 1 and sorted(indexes) == in_order:
        gather = itemgetter(*sorted(range(len(indexes)), key=indexes.__getitem__))
        return lambda values: list(gather(values))

    def place(values: list[int]) -> list[int]:
        cells = [0] * len(in_order)
        for index, count in zip(indexes, values, strict=True):
            cells[index] = count
        return cells

    return place


def _as_is(values: list[int]) -> list[int]:
    return values


def _scope_sql(scope: list[int] | None, first: datetime, end: datetime, base: int) -> tuple[str, list]:
    where = "s.minute >= %s AND s.minute < %s"
    params: list = [base, first, end]
    if scope is not None:
        where += " AND s.domain_id = ANY(%s::int4[])"
        params.append(scope)
    return where, params


# float8 epoch (exact for whole seconds): EXTRACT's numeric costs more than the rest of the row.
MINUTE_INDEX = "((FLOOR(date_part('epoch', s.minute))::int8 - %s) / 60)::int4"
# Arrays in minute order, so a complete day is usually taken as it is (the reader still checks).
BY_MINUTE = "ORDER BY s.minute"
# The classes a status_all answer shows besides the sum over all of them.
READ_CLASSES = tuple((klass, f"status_{klass}xx") for klass in (2, 3, 4, 5))


def _class_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int) -> list[tuple]:
    """PostgreSQL: per domain, the minute indexes, the sum over every class and the 2xx..5xx sums, as
    arrays: exactly the series of a status_all answer, so no per-domain sums are left to Python.

    No ORDER BY inside the aggregates: each would sort apart, and the reader checks the order.
    """
    where, params = _scope_sql(scope, first, end, base)
    everything = " + ".join(f"s.{name}" for name in CLASS_FIELDS)  # < 2**58: at most 100 codes x 2**48 each
    sums = ", ".join(f"array_agg(s.{name})" for _, name in READ_CLASSES)
    return _binary_rows(
        f"SELECT s.domain_id, array_agg({MINUTE_INDEX}), array_agg({everything}), {sums} "
        f"FROM {_samples()} s WHERE {where} GROUP BY s.domain_id",
        params,
    )


def _code_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int) -> list[tuple]:
    """PostgreSQL: per domain and code, the minute indexes and counts as two arrays."""
    where, params = _scope_sql(scope, first, end, base)
    return _binary_rows(
        f"SELECT s.domain_id, e.key::int4, array_agg({MINUTE_INDEX} {BY_MINUTE}), "
        f"array_agg(e.value::int8 {BY_MINUTE}) "
        f"FROM {_samples()} s, jsonb_each_text(s.status) e WHERE {where} GROUP BY s.domain_id, e.key",
        params,
    )


def _binary_rows(sql: str, params: list) -> list[tuple]:
    """All rows of `sql` through a binary-format cursor of the same connection (and transaction), as
    `selectors._rollup_arrays` reads: psycopg parses binary arrays in C, where PostgreSQL writing and
    psycopg parsing some 400 k numbers as text cost more than aggregating them."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _samples() -> str:
    return connection.ops.quote_name(OriginSample._meta.db_table)
