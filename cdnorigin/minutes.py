"""`1min` answers: per-domain series straight from the raw minute rows."""

from datetime import datetime

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
    and each class's sum is filed under its class's x00 code, all that status_all looks at. Each cell
    is one sample's, so rows are read unordered.
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
    if connection.vendor == "postgresql":
        rows = _class_arrays(scope, first, end, base) if classes_only else _code_arrays(scope, first, end, base)
        in_order = list(range(size))
        for domain_id, code, indexes, values in rows:
            target = series.get(domain_id)
            if target is None:
                continue
            # Every minute present and in order: the array is the series. Compared, never assumed:
            # an aggregate's input order follows the plan (a re-posted row moves in the heap).
            if indexes == in_order:
                target.status[code] = values
                continue
            cells = target.status[code] = [0] * size
            for index, count in zip(indexes, values, strict=True):
                cells[index] = count  # one value per sample: each cell is set once
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


def _scope_sql(scope: list[int] | None, first: datetime, end: datetime, base: int) -> tuple[str, list]:
    where = "s.minute >= %s AND s.minute < %s"
    params: list = [base, first, end]
    if scope is not None:
        where += " AND s.domain_id = ANY(%s::int4[])"
        params.append(scope)
    return where, params


MINUTE_INDEX = "((FLOOR(EXTRACT(EPOCH FROM s.minute))::bigint - %s) / 60)::int4"
# Arrays in minute order, so a complete day is usually taken as it is (the reader still checks).
BY_MINUTE = "ORDER BY s.minute"


def _class_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int) -> list[tuple]:
    """PostgreSQL: per domain, the minute indexes and each class's sums as arrays (psycopg parses an
    array in C: filling the series costs a list assignment per value, not a Python row per sample)."""
    where, params = _scope_sql(scope, first, end, base)
    sums = ", ".join(f"array_agg(s.{name})" for name in CLASS_FIELDS)
    sql = (
        f"SELECT s.domain_id, array_agg({MINUTE_INDEX}), {sums} FROM {_samples()} s WHERE {where} GROUP BY s.domain_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (domain_id, klass * 100, indexes, values)
            for domain_id, indexes, *per_class in cursor.fetchall()
            for klass, values in enumerate(per_class, start=1)
        ]


def _code_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int) -> list[tuple]:
    """PostgreSQL: per domain and code, the minute indexes and counts as two arrays."""
    where, params = _scope_sql(scope, first, end, base)
    sql = (
        f"SELECT s.domain_id, e.key::int4, array_agg({MINUTE_INDEX} {BY_MINUTE}), array_agg(e.value::int8 {BY_MINUTE}) "
        f"FROM {_samples()} s, jsonb_each_text(s.status) e WHERE {where} GROUP BY s.domain_id, e.key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _samples() -> str:
    return connection.ops.quote_name(OriginSample._meta.db_table)
