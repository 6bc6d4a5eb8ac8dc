"""Raw minute rows -> 5-minute sums: what the recompute writes as 5-minute rows and what an answer reads
for a dirty bucket. The database expands the samples' status objects (`jsonb_each_text` / `json_each`)
and, unless the rows' minutes are needed anyway, sums flux and pv too."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from cdnorigin.dirty import FIVE_MINUTES, five_minute_floor
from cdnorigin.minute_blocks import minute_values, pack_minutes
from cdnorigin.models import CLASS_FIELDS, OriginSample
from cdnorigin.rollup_rows import FIVE, NO_SLOTS, rollup_row, unix, utc
from common.rows import chunks

# Ranges OR'ed into one statement (3 parameters each, well under SQLite's 999).
RANGES_PER_QUERY = 150


def _epoch_expression() -> str:
    """SQL for the Unix second of `s.minute`."""
    if connection.vendor == "postgresql":
        return "FLOOR(EXTRACT(EPOCH FROM s.minute))::bigint"
    if connection.vendor == "sqlite":
        return "CAST(STRFTIME('%%s', s.minute) AS INTEGER)"
    raise ImproperlyConfigured(f"origin rollups support SQLite and PostgreSQL, not {connection.vendor}")


def _bucket_expression() -> str:
    """SQL for the Unix second starting the 5-minute bucket of `s.minute`."""
    return f"({_epoch_expression()} / {FIVE_MINUTES}) * {FIVE_MINUTES}"


def status_codes_expression(alias: str = "s") -> str:
    """A table function of `<alias>.status` yielding (key, value) rows: its codes and counts."""
    function = "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"
    return f"{function}({alias}.status)"


def _ranges_sql(chunk: list[tuple[int, datetime, datetime]]) -> tuple[str, list]:
    """WHERE clause over minute rows `s` for (domain_id, start, end) ranges, and its parameters."""
    adapt = connection.ops.adapt_datetimefield_value
    where = " OR ".join(["(s.domain_id = %s AND s.minute >= %s AND s.minute < %s)"] * len(chunk))
    return where, [value for domain_id, a, b in chunk for value in (domain_id, adapt(a), adapt(b))]


def sample_minutes(ranges: list[tuple[int, datetime, datetime]]) -> Iterator[tuple[int, int, tuple[int, ...]]]:
    """Each minute row in (domain_id, start, end) ranges, unordered: its domain_id, Unix second, and its
    values as a 5-minute row's `minutes` hold them (`cdnorigin.minute_blocks.minute_values`)."""
    samples = connection.ops.quote_name(OriginSample._meta.db_table)
    columns = ", ".join(f"s.{name}" for name in ("flux", "pv", *CLASS_FIELDS))
    with connection.cursor() as cursor:
        for chunk in chunks(ranges, RANGES_PER_QUERY):
            where, params = _ranges_sql(chunk)
            cursor.execute(
                f"SELECT s.domain_id, {_epoch_expression()}, {columns} FROM {samples} s WHERE {where}", params
            )
            for domain_id, at, flux, pv, *classes in cursor.fetchall():
                yield domain_id, int(at), minute_values(flux, pv, classes)


def raw_five_minute_rows(ranges: list[tuple[int, datetime, datetime]], with_minutes: bool = True) -> list[dict]:
    """5-minute rows of the minute rows in (domain_id, start, end) ranges (bucket-aligned), ordered.

    The status sums by code come from the samples' status objects expanded by the database
    (`jsonb_each_text` / `json_each`). Flux and pv are summed by the database too, or, `with_minutes`,
    from the minute rows read anyway for the rows' `minutes` (see cdnorigin.minute_blocks).
    """
    samples = connection.ops.quote_name(OriginSample._meta.db_table)
    bucket = _bucket_expression()
    codes = status_codes_expression()
    count = "CAST(e.value AS bigint)"
    sums: dict[tuple[int, int], list] = {}
    minutes: dict[tuple[int, int], dict[int, tuple[int, ...]]] = defaultdict(dict)
    if with_minutes:
        for domain_id, at, values in sample_minutes(ranges):
            start = at - at % FIVE_MINUTES
            acc = sums.setdefault((domain_id, start), [0, 0, {}])
            acc[0] += values[0]
            acc[1] += values[1]
            minutes[(domain_id, start)][(at - start) // 60] = values
    with connection.cursor() as cursor:
        for chunk in chunks(ranges, RANGES_PER_QUERY):
            where, params = _ranges_sql(chunk)
            if not with_minutes:
                cursor.execute(
                    f"SELECT s.domain_id, {bucket} AS bucket, SUM(s.flux), SUM(s.pv) FROM {samples} s "
                    f"WHERE {where} GROUP BY s.domain_id, bucket",
                    params,
                )
                for domain_id, start, flux, pv in cursor.fetchall():
                    sums[(domain_id, int(start))] = [int(flux), int(pv), {}]
            cursor.execute(
                f"SELECT s.domain_id, {bucket} AS bucket, e.key, SUM({count}) FROM {samples} s, {codes} e "
                f"WHERE ({where}) AND {count} > 0 GROUP BY s.domain_id, bucket, e.key",
                params,
            )
            for domain_id, start, code, total in cursor.fetchall():
                sums[(domain_id, int(start))][2][code] = int(total)
    return [
        rollup_row(
            domain_id,
            FIVE,
            start,
            flux,
            pv,
            flux,
            pv,
            status,
            minutes=pack_minutes(minutes[(domain_id, start)]) if with_minutes else NO_SLOTS,
        )
        for (domain_id, start), (flux, pv, status) in sorted(sums.items())
    ]


def compute_five_minute_rows(domain_ids: Iterable[int], start: datetime, end: datetime) -> list[dict]:
    """5-minute rows straight from the minute rows, for every bucket overlapping [start, end) (pure read).

    Each dict has the shape of an OriginRollup row: domain_id, interval, start (aware UTC), flux, pv,
    peak_flux_5m, peak_pv_5m (= flux, pv), status. Buckets without minute rows are absent.
    """
    first = five_minute_floor(start)
    stop = utc(-(-unix(end) // FIVE_MINUTES) * FIVE_MINUTES)
    if stop <= first:
        return []
    return raw_five_minute_rows([(domain_id, first, stop) for domain_id in sorted(set(domain_ids))], with_minutes=False)
