"""`DailyJobTotal`: the per-(local day, kind) sums over every project, recomputed from the day's
`DailyJobStat` rows whenever any of them is rewritten, under a per-day lock (PostgreSQL advisory lock;
SQLite serialises writers anyway) taken before it reads them, so the last writer of a day always sums
rows that include every earlier writer's."""

from collections.abc import Iterable
from datetime import date

from django.db import connection
from django.db.models import Sum

from common.rows import chunks
from insights.models import DailyJobStat, DailyJobTotal, JobKind

STAT_FIELDS = ("passed", "failed", "timeout", "duration_us")
TOTALS_LOCK_CLASS = 0x1A51  # first key of the per-day advisory locks guarding DailyJobTotal


def _lock_days(days: list[date]) -> None:
    """Take the per-day DailyJobTotal locks (PostgreSQL, until commit), in day order so that two
    recomputes never wait on each other in a cycle. SQLite runs one writer at a time."""
    if connection.vendor == "postgresql" and days:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(%s, d)) FROM (SELECT unnest(%s::integer[]) AS d ORDER BY 1) AS l",
                [TOTALS_LOCK_CLASS, sorted({day.toordinal() for day in days})],
            )


def refresh_totals(days: Iterable[date]) -> int:
    """Recompute the all-projects rows of these local days from their `DailyJobStat` rows; returns
    the rows the days now have. Must run in the transaction that rewrote those rows, after them."""
    days = sorted(set(days))
    if not days:
        return 0
    _lock_days(days)
    if connection.vendor == "postgresql":
        return _refresh_totals_pg(days)
    written = 0
    for chunk in chunks(days, 1000):
        sums = (
            DailyJobStat.objects.filter(day__in=chunk)
            .values("day", "kind")
            .annotate(**{field: Sum(field) for field in STAT_FIELDS})
            .order_by("day", "kind")
        )
        rows = [DailyJobTotal(**row) for row in sums]
        fresh = {(row.day, row.kind) for row in rows}
        existing = DailyJobTotal.objects.filter(day__in=chunk).values_list("id", "day", "kind").order_by("id")
        stale = [pk for pk, day, kind in existing if (day, kind) not in fresh]
        if stale:
            DailyJobTotal.objects.filter(id__in=stale).delete()
        DailyJobTotal.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kind", "day"],
            update_fields=list(STAT_FIELDS),
            batch_size=500,
        )
        written += len(rows)
    return written


def _refresh_totals_pg(days: list[date]) -> int:
    """`refresh_totals` in two statements, summed in the database (every kind named, so the sums come
    from the (kind, day) covering index); unchanged rows are not rewritten."""
    stats, totals = DailyJobStat._meta.db_table, DailyJobTotal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM {totals} t WHERE t.day = ANY(%s::date[])
              AND NOT EXISTS (SELECT 1 FROM {stats} s WHERE s.kind = t.kind AND s.day = t.day)
            """,
            [days],
        )
        cursor.execute(
            f"""
            WITH sums AS (
                SELECT day, kind, SUM(passed) AS passed, SUM(failed) AS failed, SUM(timeout) AS timeout,
                       SUM(duration_us) AS duration_us
                FROM {stats} WHERE kind = ANY(%s::varchar[]) AND day = ANY(%s::date[]) GROUP BY day, kind
            ), written AS (
                INSERT INTO {totals} (day, kind, passed, failed, timeout, duration_us)
                SELECT day, kind, passed, failed, timeout, duration_us FROM sums
                ON CONFLICT (kind, day) DO UPDATE SET
                  passed = EXCLUDED.passed, failed = EXCLUDED.failed, timeout = EXCLUDED.timeout,
                  duration_us = EXCLUDED.duration_us
                WHERE ({totals}.passed, {totals}.failed, {totals}.timeout, {totals}.duration_us)
                  IS DISTINCT FROM (EXCLUDED.passed, EXCLUDED.failed, EXCLUDED.timeout, EXCLUDED.duration_us)
            )
            SELECT count(*) FROM sums
            """,
            [list(JobKind.values), days],
        )
        return cursor.fetchone()[0]
