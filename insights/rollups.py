"""How the derived insights tables are recomputed from raw jobs, bucket by bucket.

`DailyJobStat` holds, per (project, local day, kind), the counted jobs: a final status
(passed/failed/timeout) and a start time. Kinds come from the job type; a deploy to a production
environment is counted as `deploy` AND as `release`. A bucket is always recomputed whole from raw
rows (stale rows deleted, fresh ones upserted), never incremented, so a retried, duplicated or
concurrent recompute cannot double count. `TestModule` keeps the case count last reported per
(project, test module).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate

from config.faults import rollup_pause
from insights.dirty import day_bounds, local_day, mark_job_days, zone
from insights.models import FINAL_STATUSES, DailyJobStat, DirtyJobDay, Job, JobKind, Project, Status, TestModule

JOB_STATE = ("project_id", "type", "status", "started_at", "test_module")  # what a job's buckets depend on
STAT_FIELDS = ("passed", "failed", "timeout", "duration_us")
KIND_OF_TYPE = {Job.Type.BUILD: JobKind.BUILD, Job.Type.DEPLOY: JobKind.DEPLOY, Job.Type.TEST: JobKind.TEST}
PROJECTS_PER_QUERY = 100
DIRTY_BATCH = 200
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


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aggregate(jobs_filter: Q) -> dict[StatKey, dict[str, int]]:
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
        kinds = [KIND_OF_TYPE[row["type"]]]
        if row["type"] == Job.Type.DEPLOY and row["environment__production"]:
            kinds.append(JobKind.RELEASE)
        spent = row["duration"] or timedelta(0)
        for kind in kinds:
            stat = stats.setdefault((row["project_id"], row["day"], str(kind)), dict.fromkeys(STAT_FIELDS, 0))
            stat["passed"] += row["passed"]
            stat["failed"] += row["failed"]
            stat["timeout"] += row["timeout"]
            stat["duration_us"] += spent // timedelta(microseconds=1)
    return stats


def compute_job_day_stats(pairs: Iterable[Bucket]) -> dict[StatKey, dict[str, int]]:
    """The rollup rows the buckets `pairs` should hold, from raw jobs (pure read).

    Keys are (project_id, day, kind); a bucket/kind without counted jobs is absent (all zeros).
    """
    wanted = {(int(pid), day) for pid, day in pairs}
    stats: dict[StatKey, dict[str, int]] = {}
    ranges = [
        Q(project_id=pid, started_at__gte=day_bounds(first)[0], started_at__lt=day_bounds(last)[1])
        for pid, days in sorted(_by_project(wanted).items())
        for first, last in _day_runs(days)
    ]
    for chunk in _chunks(ranges, PROJECTS_PER_QUERY):
        condition = Q()
        for one in chunk:
            condition |= one
        stats.update(_aggregate(condition))
    return {key: stat for key, stat in stats.items() if key[:2] in wanted}


def _save_stats(stats: dict[StatKey, dict[str, int]]) -> int:
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


def recompute_job_days(pairs: Iterable[Bucket]) -> int:
    """Rewrite the rollup rows of the buckets `pairs` from raw jobs; returns the rows written.

    Rows no longer backed by jobs are deleted, the others upserted: two concurrent recomputes of
    one bucket both end with the same rows and never collide on the unique key.
    """
    wanted = {(int(pid), day) for pid, day in pairs}
    if not wanted:
        return 0
    with transaction.atomic():
        stats = compute_job_day_stats(wanted)
        stale = []
        for chunk in _chunks(sorted(_by_project(wanted).items()), PROJECTS_PER_QUERY):
            condition = Q()
            for pid, days in chunk:
                condition |= Q(project_id=pid, day__in=sorted(days))
            existing = DailyJobStat.objects.filter(condition).values_list("id", "project_id", "day", "kind")
            stale += [pk for pk, pid, day, kind in existing.order_by("id") if (pid, day, kind) not in stats]
        for ids in _chunks(stale, 500):
            DailyJobStat.objects.filter(id__in=ids).delete()
        return _save_stats(stats)


def _clear_marks(marks: list[tuple[int, datetime]]) -> set[int]:
    """Delete dirty marks that were not refreshed since read; returns the ids still dirty."""
    kept: set[int] = set()
    for chunk in _chunks(marks, PROJECTS_PER_QUERY):
        unchanged = Q()
        for pk, marked_at in chunk:
            unchanged |= Q(pk=pk, marked_at=marked_at)
        DirtyJobDay.objects.filter(unchanged).delete()
        kept.update(DirtyJobDay.objects.filter(pk__in=[pk for pk, _ in chunk]).values_list("pk", flat=True))
    return kept


def recompute_dirty(limit: int | None = None) -> int:
    """Recompute the buckets marked dirty (at most `limit`); returns how many were recomputed.

    A mark is cleared only if its `marked_at` is unchanged, so a bucket re-marked while we read
    raw rows stays dirty for the next run. On PostgreSQL the marks being worked on are locked
    with SKIP LOCKED, so concurrent workers share the queue instead of repeating each other.
    Marks re-marked during this call are left to the task their writer scheduled.
    """
    done = 0
    left_dirty: set[int] = set()
    while limit is None or done < limit:
        size = DIRTY_BATCH if limit is None else min(DIRTY_BATCH, limit - done)
        with transaction.atomic():
            marks = DirtyJobDay.objects.exclude(pk__in=left_dirty).order_by("marked_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                marks = marks.select_for_update(skip_locked=True)
            batch = list(marks.values_list("id", "project_pk", "day", "marked_at")[:size])
            if not batch:
                break
            recompute_job_days((pid, day) for _, pid, day, _ in batch)
            rollup_pause("insights")
            left_dirty |= _clear_marks([(pk, marked_at) for pk, _, _, marked_at in batch])
        done += len(batch)
    return done


def recompute_test_modules(pairs: Iterable[tuple[int, str]]) -> int:
    """Set each (project_id, module)'s case count from its test job with the latest `started_at`
    (any status; ties: latest id) among those that reported one; drop modules without test jobs.
    Returns the number of modules kept."""
    kept = 0
    for pid, module in sorted({(int(pid), name) for pid, name in pairs if name}):
        jobs = Job.objects.filter(project_id=pid, type=Job.Type.TEST, test_module=module)
        latest = (
            jobs.filter(case_count__isnull=False)
            .order_by(F("started_at").desc(nulls_last=True), "-id")
            .values_list("case_count", "started_at")
            .first()
        )
        if latest is None and not jobs.exists():
            TestModule.objects.filter(project_id=pid, name=module).delete()
            continue
        case_count, reported_at = latest or (0, None)
        TestModule.objects.update_or_create(
            project_id=pid, name=module, defaults={"case_count": case_count, "reported_at": reported_at}
        )
        kept += 1
    return kept


def rebuild(since: date | None = None) -> dict:
    """Recompute every rollup bucket from raw rows (from local day `since` on, or all of them),
    and every test module; dirty marks seen at the start and unchanged at the end are cleared."""
    with transaction.atomic():
        marks = DirtyJobDay.objects.order_by("id")
        stats_rows = DailyJobStat.objects.all()
        jobs = Q()
        if since is not None:
            marks = marks.filter(day__gte=since)
            stats_rows = stats_rows.filter(day__gte=since)
            jobs = Q(started_at__gte=day_bounds(since)[0])
        seen = list(marks.values_list("id", "marked_at"))
        deleted, _ = stats_rows.delete()
        written = _save_stats(_aggregate(jobs))
        # Marks before test modules: the lock order of ingest, so the two never deadlock.
        still_dirty = _clear_marks(seen)
        orphans, _ = DirtyJobDay.objects.exclude(project_pk__in=Project.objects.values("id")).delete()
        modules = set(TestModule.objects.values_list("project_id", "name"))
        modules |= set(
            Job.objects.filter(type=Job.Type.TEST).exclude(test_module="").values_list("project_id", "test_module")
        )
        kept_modules = recompute_test_modules(modules)
    return {
        "since": since.isoformat() if since else None,
        "daily_job_stats_deleted": deleted,
        "daily_job_stats_written": written,
        "test_modules": kept_modules,
        "dirty_cleared": len(seen) - len(still_dirty) + orphans,
    }


def jobs_changed(states: Iterable[dict | None]) -> None:
    """Jobs with these states (`JOB_STATE` fields, before and after a change) were written or
    deleted: mark the buckets they count in dirty and recompute the test modules they name."""
    buckets, modules = set(), set()
    for state in filter(None, states):
        if state["type"] in KIND_OF_TYPE and state["status"] in FINAL_STATUSES and state["started_at"] is not None:
            buckets.add((state["project_id"], local_day(state["started_at"])))
        if state["type"] == Job.Type.TEST and state["test_module"]:
            modules.add((state["project_id"], state["test_module"]))
    mark_job_days(buckets)
    recompute_test_modules(modules)
