"""How the derived insights tables are recomputed from raw jobs, bucket by bucket.

`DailyJobStat` holds, per (project, local day, kind), the counted jobs: a final status
(passed/failed/timeout) and a start time. Kinds come from the job type; a deploy to a production
environment is counted as `deploy` AND as `release`. A bucket is always recomputed whole from raw
rows (stale rows deleted, fresh ones upserted), never incremented, so a retried, duplicated or
concurrent recompute cannot double count. `DailyJobTotal` is the same per (local day, kind) over all
projects, recomputed from the day's `DailyJobStat` rows whenever any of them is rewritten, under a
per-day lock (PostgreSQL advisory lock; SQLite serialises writers anyway) taken before it reads them,
so the last writer of a day always sums rows that include every earlier writer's. `TestModule` keeps
the case count last reported per (project, test module).

On PostgreSQL the buckets travel as arrays (`unnest`), so a recompute is a handful of statements
whatever the number of buckets; elsewhere the same rows come from ORM queries over merged day ranges.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from common.faults import rollup_pause
from common.rollup_failures import due_filter, recompute_isolated, record_failures
from common.rows import chunks
from insights.daily_totals import refresh_totals
from insights.dirty import day_bounds, mark_job_days, zone
from insights.models import (
    FINAL_STATUSES,
    DailyJobStat,
    DirtyJobDay,
    Environment,
    Job,
    JobKind,
    Project,
    Status,
)
from insights.module_cases import recompute_test_modules

JOB_STATE = ("project_id", "type", "status", "started_at", "test_module")  # what a job's buckets depend on
STAT_FIELDS = ("passed", "failed", "timeout", "duration_us")
KIND_OF_TYPE = {Job.Type.BUILD: JobKind.BUILD, Job.Type.DEPLOY: JobKind.DEPLOY, Job.Type.TEST: JobKind.TEST}
PROJECTS_PER_QUERY = 100
# Marks per recompute transaction: a live feed's 1,000-run batch dirties a few hundred (every
# project's day or two), recomputed in one pass rather than re-reading the same days' pages.
DIRTY_BATCH = 1000
ONE_DAY = timedelta(days=1)

Bucket = tuple[int, date]
StatKey = tuple[int, date, str]


def _day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days merged into (first, last) runs, so a query reads a few time ranges."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + ONE_DAY:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _by_project(pairs: Iterable[Bucket]) -> dict[int, set[date]]:
    grouped: dict[int, set[date]] = defaultdict(set)
    for pid, day in pairs:
        grouped[int(pid)].add(day)
    return grouped


def _kinds(job_type: str, production: bool | None) -> list[str]:
    kinds = [str(KIND_OF_TYPE[job_type])]
    if job_type == Job.Type.DEPLOY and production:
        kinds.append(str(JobKind.RELEASE))
    return kinds


def _add_row(stats: dict[StatKey, dict[str, int]], key: tuple, counts: tuple, spent: timedelta | None) -> None:
    """Fold one (project, day, type, production) group into the per-kind rows it counts in."""
    pid, day, job_type, production = key
    passed, failed, timeout = counts
    for kind in _kinds(job_type, production):
        stat = stats.setdefault((pid, day, kind), dict.fromkeys(STAT_FIELDS, 0))
        stat["passed"] += passed
        stat["failed"] += failed
        stat["timeout"] += timeout
        stat["duration_us"] += (spent or timedelta(0)) // timedelta(microseconds=1)


def aggregate_jobs(jobs_filter: Q) -> dict[StatKey, dict[str, int]]:
    """Counted jobs matching `jobs_filter`, summed per (project, local day, kind) in the database."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        Job.objects.filter(
            jobs_filter, type__in=list(KIND_OF_TYPE), status__in=FINAL_STATUSES, started_at__isnull=False
        )
        .annotate(day=TruncDate("started_at", tzinfo=zone()))
        .values("project_id", "day", "type", "environment__production")
        .annotate(
            passed=Count("id", filter=Q(status=Status.PASSED)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            timeout=Count("id", filter=Q(status=Status.TIMEOUT)),
            duration=Sum(duration),
        )
        .order_by()
    )
    stats: dict[StatKey, dict[str, int]] = {}
    for row in rows:
        _add_row(
            stats,
            (row["project_id"], row["day"], row["type"], row["environment__production"]),
            (row["passed"], row["failed"], row["timeout"]),
            row["duration"],
        )
    return stats


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _projects_by_day(wanted: set[Bucket]) -> list[tuple[date, list[int]]]:
    """The wanted projects of each day, days in order."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for pid, day in sorted(wanted):
        by_day[day].append(pid)
    return sorted(by_day.items())


def _aggregate_buckets_pg(wanted: set[Bucket]) -> dict[StatKey, dict[str, int]]:
    """`compute_job_day_stats` in one statement: per local day, one bitmap scan of the (project, type,
    started_at) index over all of that day's wanted projects. A live feed dirties one or two days
    of every project; scanned per bucket, each heap page (jobs of many projects) was read once per
    project on it, per day it is read once."""
    days = _projects_by_day(wanted)
    bounds = [day_bounds(day) for day, _ in days]
    # LATERAL ... OFFSET 0 (not flattened): index range scans per day, where a plain join lets the
    # planner hash the whole job table. The projects travel as one array literal per day ('{1,2}'):
    # psycopg has no ragged arrays. Grouped per environment, whose flag is joined once per group;
    # `_add_row` adds up the groups that share a production flag.
    sql = f"""
        SELECT a.project_id, a.day, a.type, e.production, a.passed, a.failed, a.timeout, a.spent
        FROM (
            SELECT j.project_id, d.day, j.type, j.environment_id,
                   COUNT(*) FILTER (WHERE j.status = %s) AS passed, COUNT(*) FILTER (WHERE j.status = %s) AS failed,
                   COUNT(*) FILTER (WHERE j.status = %s) AS timeout, SUM(j.finished_at - j.started_at) AS spent
            FROM unnest(%s::date[], %s::timestamptz[], %s::timestamptz[], %s::text[]) AS d(day, lo, hi, projects)
            CROSS JOIN LATERAL (
                SELECT j.project_id, j.type, j.status, j.started_at, j.finished_at, j.environment_id
                FROM {Job._meta.db_table} j
                WHERE j.project_id = ANY(d.projects::bigint[]) AND j.type = ANY(%s::varchar[])
                  AND j.started_at >= d.lo AND j.started_at < d.hi AND j.status = ANY(%s::varchar[])
                OFFSET 0
            ) AS j
            GROUP BY 1, 2, 3, 4
        ) AS a
        LEFT JOIN {Environment._meta.db_table} e ON e.id = a.environment_id
    """
    params = [
        *(str(status) for status in (Status.PASSED, Status.FAILED, Status.TIMEOUT)),
        [day for day, _ in days],
        [lo for lo, _ in bounds],
        [hi for _, hi in bounds],
        ["{" + ",".join(map(str, pids)) + "}" for _, pids in days],
        [str(job_type) for job_type in KIND_OF_TYPE],
        [str(status) for status in FINAL_STATUSES],
    ]
    stats: dict[StatKey, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pid, day, job_type, production, passed, failed, timeout, spent in cursor.fetchall():
            _add_row(stats, (pid, day, job_type, production), (passed, failed, timeout), spent)
    return stats


def compute_job_day_stats(pairs: Iterable[Bucket]) -> dict[StatKey, dict[str, int]]:
    """The rollup rows the buckets `pairs` should hold, from raw jobs (pure read).

    Keys are (project_id, day, kind); a bucket/kind without counted jobs is absent (all zeros).
    """
    wanted = {(int(pid), day) for pid, day in pairs}
    if not wanted:
        return {}
    if _postgres():
        return _aggregate_buckets_pg(wanted)
    stats: dict[StatKey, dict[str, int]] = {}
    ranges = [
        Q(project_id=pid, started_at__gte=day_bounds(first)[0], started_at__lt=day_bounds(last)[1])
        for pid, days in sorted(_by_project(wanted).items())
        for first, last in _day_runs(days)
    ]
    for chunk in chunks(ranges, PROJECTS_PER_QUERY):
        condition = Q()
        for one in chunk:
            condition |= one
        stats.update(aggregate_jobs(condition))
    return {key: stat for key, stat in stats.items() if key[:2] in wanted}


def save_stats(stats: dict[StatKey, dict[str, int]]) -> int:
    rows = [
        DailyJobStat(project_id=pid, day=day, kind=kind, **stat) for (pid, day, kind), stat in sorted(stats.items())
    ]
    DailyJobStat.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["project", "day", "kind"],
        update_fields=list(STAT_FIELDS),
        batch_size=500,
    )
    return len(rows)


def _write_stats_pg(wanted: set[Bucket], stats: dict[StatKey, dict[str, int]]) -> None:
    """Delete the buckets' rows that `stats` lacks and upsert the others: two statements. Rows whose
    values did not change are not rewritten (an unchanged row is already the recomputed one)."""
    keys = sorted(stats)
    fresh = [[key[n] for key in keys] for n in range(3)]
    buckets = sorted(wanted)
    table = DailyJobStat._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM {table} WHERE id IN (
                SELECT s.id
                FROM unnest(%s::bigint[], %s::date[]) AS b(project_id, day)
                CROSS JOIN LATERAL (
                    SELECT s.id, s.kind FROM {table} s WHERE s.project_id = b.project_id AND s.day = b.day OFFSET 0
                ) AS s
                WHERE NOT EXISTS (
                    SELECT 1 FROM unnest(%s::bigint[], %s::date[], %s::varchar[]) AS f(project_id, day, kind)
                    WHERE f.project_id = b.project_id AND f.day = b.day AND f.kind = s.kind))
            """,
            [[pid for pid, _ in buckets], [day for _, day in buckets], *fresh],
        )
        cursor.execute(
            f"""
            INSERT INTO {table} (project_id, day, kind, passed, failed, timeout, duration_us)
            SELECT * FROM unnest(%s::bigint[], %s::date[], %s::varchar[], %s::integer[], %s::integer[],
                                 %s::integer[], %s::bigint[])
            ON CONFLICT (project_id, day, kind) DO UPDATE SET
              passed = EXCLUDED.passed, failed = EXCLUDED.failed, timeout = EXCLUDED.timeout,
              duration_us = EXCLUDED.duration_us
            WHERE ({table}.passed, {table}.failed, {table}.timeout, {table}.duration_us)
              IS DISTINCT FROM (EXCLUDED.passed, EXCLUDED.failed, EXCLUDED.timeout, EXCLUDED.duration_us)
            """,
            [*fresh, *([stats[key][field] for key in keys] for field in STAT_FIELDS)],
        )


def _write_stats_portable(wanted: set[Bucket], stats: dict[StatKey, dict[str, int]]) -> None:
    stale = []
    for chunk in chunks(sorted(_by_project(wanted).items()), PROJECTS_PER_QUERY):
        condition = Q()
        for pid, days in chunk:
            condition |= Q(project_id=pid, day__in=sorted(days))
        existing = DailyJobStat.objects.filter(condition).values_list("id", "project_id", "day", "kind")
        stale += [pk for pk, pid, day, kind in existing.order_by("id") if (pid, day, kind) not in stats]
    for ids in chunks(stale, 500):
        DailyJobStat.objects.filter(id__in=ids).delete()
    save_stats(stats)


def recompute_job_days(pairs: Iterable[Bucket]) -> int:
    """Rewrite the rollup rows of the buckets `pairs` from raw jobs, and the all-projects totals of
    their days; returns the per-project rows written.

    Rows no longer backed by jobs are deleted, the others upserted: two concurrent recomputes of
    one bucket both end with the same rows and never collide on the unique key.
    """
    wanted = {(int(pid), day) for pid, day in pairs}
    if not wanted:
        return 0
    with transaction.atomic():
        stats = compute_job_day_stats(wanted)
        if _postgres():
            _write_stats_pg(wanted, stats)
        else:
            _write_stats_portable(wanted, stats)
        refresh_totals(day for _, day in wanted)
        return len(stats)


def forget_projects(pids: list[int]) -> None:
    """Drop the rollup rows and dirty marks of projects about to be deleted, and re-sum the totals of
    their days (the cascade alone would leave those totals counting the deleted rows).

    Marks first, then the day locks: the order `recompute_dirty` takes them in, so no deadlock.
    """
    with transaction.atomic():
        DirtyJobDay.objects.filter(project_pk__in=pids).delete()
        rows = DailyJobStat.objects.filter(project_id__in=pids)
        days = set(rows.order_by().values_list("day", flat=True).distinct())
        rows.delete()
        refresh_totals(days)


@receiver(pre_delete, sender=Project, dispatch_uid="insights_project_rollups_pre_delete")
def _project_deleting(sender, instance: Project, **kwargs):
    forget_projects([instance.pk])


def clear_marks(marks: list[tuple[int, datetime]]) -> set[int]:
    """Delete dirty marks that were not refreshed since read; returns the ids still dirty."""
    if _postgres():
        return _clear_marks_pg(marks)
    kept: set[int] = set()
    for chunk in chunks(marks, PROJECTS_PER_QUERY):
        unchanged = Q()
        for pk, marked_at in chunk:
            unchanged |= Q(pk=pk, marked_at=marked_at)
        DirtyJobDay.objects.filter(unchanged).delete()
        kept.update(DirtyJobDay.objects.filter(pk__in=[pk for pk, _ in chunk]).values_list("pk", flat=True))
    return kept


def _clear_marks_pg(marks: list[tuple[int, datetime]]) -> set[int]:
    """`clear_marks` in one statement (the OR of one condition per mark cost ~20 ms per 200 marks):
    the SELECT reads the statement's snapshot, so it still sees the marks the DELETE removes."""
    table = DirtyJobDay._meta.db_table
    ids = [pk for pk, _ in marks]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH cleared AS (
                DELETE FROM {table} d USING unnest(%s::bigint[], %s::timestamptz[]) AS m(id, marked_at)
                WHERE d.id = m.id AND d.marked_at = m.marked_at
                RETURNING d.id
            )
            SELECT d.id FROM {table} d WHERE d.id = ANY(%s::bigint[]) AND d.id NOT IN (SELECT id FROM cleared)
            """,
            [ids, [marked_at for _, marked_at in marks], ids],
        )
        return {pk for (pk,) in cursor.fetchall()}


def recompute_dirty(limit: int | None = None) -> int:
    """Recompute the buckets marked dirty and due (at most `limit`); returns how many were taken.

    A mark is cleared only if its `marked_at` is unchanged, so a bucket re-marked while we read
    raw rows stays dirty for the next run. On PostgreSQL the marks being worked on are locked
    with SKIP LOCKED, so concurrent workers share the queue instead of repeating each other.
    Marks re-marked during this call are left to the task their writer scheduled. A bucket whose
    recompute fails is set aside with a retry time and the rest go on (common.rollup_failures).
    """
    done = 0
    left_dirty: set[int] = set()
    while limit is None or done < limit:
        size = DIRTY_BATCH if limit is None else min(DIRTY_BATCH, limit - done)
        with transaction.atomic():
            marks = DirtyJobDay.objects.filter(due_filter()).exclude(pk__in=left_dirty).order_by("marked_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                marks = marks.select_for_update(skip_locked=True)
            batch = list(marks.values_list("id", "project_pk", "day", "marked_at")[:size])
            if not batch:
                break
            by_bucket = {(pid, day): (pk, marked_at) for pk, pid, day, marked_at in batch}
            recomputed, failed = recompute_isolated("insights", list(by_bucket), recompute_job_days)
            record_failures(DirtyJobDay, {by_bucket[bucket][0]: exc for bucket, exc in failed.items()})
            rollup_pause("insights")
            left_dirty |= clear_marks([by_bucket[bucket] for bucket in recomputed])
            left_dirty |= {by_bucket[bucket][0] for bucket in failed}
        done += len(batch)
    return done


def jobs_changed(states: Iterable[dict | None]) -> None:
    """Jobs with these states (`JOB_STATE` fields, before and after a change) were written or
    deleted: mark the buckets they count in dirty and recompute the test modules they name."""
    job_rows_changed(tuple(state[field] for field in JOB_STATE) for state in states if state)


def job_rows_changed(rows: Iterable[tuple]) -> None:
    """`jobs_changed` for states given as tuples in `JOB_STATE` order, as bulk writers hold them
    (no dict per job)."""
    tz = zone()
    counted_types, test = frozenset(KIND_OF_TYPE), Job.Type.TEST
    buckets, modules = set(), set()
    for project_id, job_type, status, started_at, test_module in rows:
        if job_type in counted_types and status in FINAL_STATUSES and started_at is not None:
            buckets.add((project_id, started_at.astimezone(tz).date()))
        if job_type == test and test_module:
            modules.add((project_id, test_module))
    mark_job_days(buckets)
    recompute_test_modules(modules)
