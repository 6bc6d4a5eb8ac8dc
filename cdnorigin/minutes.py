"""`1min` answers: per-domain series straight from the raw minute rows."""

from datetime import datetime

from django.db import connection

from .models import OriginSample, OriginStatusCount
from .periods import FIXED_SECONDS, Periods
from .series import CHUNK, EpochSeconds, Series, in_scope


def minute_series(ids: list[int], scope: list[int] | None, periods: Periods, with_status: bool) -> dict[int, Series]:
    """Per-domain series straight from the minute rows.

    Status metrics read only the status counts, flux/pv metrics only the samples. Rows are read
    unordered (each is added to its own cell, so order cannot matter): sorting the ~4 status rows
    per minute and domain cost more than the rest of the query.
    """
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in ids}
    first, end = periods.first_datetime(), periods.end_datetime()
    base, step = periods.first, FIXED_SECONDS["1min"]
    if not with_status:
        samples = in_scope(OriginSample.objects.filter(minute__gte=first, minute__lt=end), "domain_id", scope)
        rows = samples.order_by().values_list("domain_id", EpochSeconds("minute"), "flux", "pv")
        for domain_id, minute, flux, pv in rows.iterator(CHUNK):
            target = series.get(domain_id)  # None: a domain created since the domains were listed
            if target is not None:
                index = (minute - base) // step
                target.flux[index] += flux
                target.pv[index] += pv
        return series
    if connection.vendor == "postgresql":
        for domain_id, code, indexes, values in _status_arrays(scope, first, end, base):
            target = series.get(domain_id)
            if target is not None:
                cells = target.status[code] = [0] * size
                for index, count in zip(indexes, values, strict=True):
                    cells[index] = count  # one row per sample and code: each cell is set once
        return series
    counts = OriginStatusCount.objects.filter(sample__minute__gte=first, sample__minute__lt=end)
    counts = in_scope(counts, "sample__domain_id", scope)
    rows = counts.order_by().values_list("sample__domain_id", EpochSeconds("sample__minute"), "code", "count")
    for domain_id, minute, code, count in rows.iterator(CHUNK):
        target = series.get(domain_id)
        if target is not None:
            cells = target.status.get(code)
            if cells is None:
                cells = target.status[code] = [0] * size
            cells[(minute - base) // step] += count
    return series


def _status_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int):
    """PostgreSQL: per domain and code, the minute indexes and counts as two arrays.

    Some fifty rows of arrays instead of a row per minute and code: psycopg parses an array in C,
    so the answer costs a list assignment per value instead of a Python row tuple.
    """
    qn = connection.ops.quote_name
    samples = qn(OriginSample._meta.db_table)
    counts = qn(OriginStatusCount._meta.db_table)
    where = "s.minute >= %s AND s.minute < %s"
    params: list = [base, first, end]
    if scope is not None:
        where += " AND s.domain_id = ANY(%s::int4[])"
        params.append(scope)
    sql = (
        f"SELECT s.domain_id, c.code, array_agg(((FLOOR(EXTRACT(EPOCH FROM s.minute))::bigint - %s) / 60)::int4), "
        f"array_agg(c.{qn('count')}) FROM {counts} c JOIN {samples} s ON s.id = c.sample_id "
        f"WHERE {where} GROUP BY s.domain_id, c.code ORDER BY s.domain_id, c.code"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
