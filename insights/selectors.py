"""Reads behind the Zadig job statistics (overview, build, deploy, test, release): one public function
per endpoint, pure functions of filters -> plain dicts (rollback detail: `insights.rollback_records`).

Whole local days are read from the `DailyJobStat` rollup, except buckets still listed in
`DirtyJobDay`, which are computed from raw jobs (`compute_job_day_stats`), so no answer is stale.
Days only partly inside a requested instant range (release v2) are counted from raw jobs directly.
The dirty set is read BEFORE the rollup rows, and the clean rows are read in one statement that
excludes exactly that set: a recompute committing in between only makes us compute a bucket from raw
rows that was already clean, and no bucket is ever counted twice. Without a project filter, days with
no dirty mark at all are read from `DailyJobTotal` (one row per day instead of one per project); the
days with marks take the per-project path, so the two never cover the same day.
"""

import operator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce

from django.db.models import Max, Min, Q, Sum
from django.utils import timezone

from insights.dirty import day_bounds, dirty_job_days, local_day
from insights.models import (
    FINAL_STATUSES,
    Artifact,
    Cluster,
    DailyJobStat,
    DailyJobTotal,
    Environment,
    Job,
    JobKind,
    Project,
    Service,
    Status,
    TestModule,
    Workflow,
)
from insights.rollups import STAT_FIELDS, compute_job_day_stats

ONE_DAY = timedelta(days=1)
# The most days one zero-filled daily series holds, given dates or not (about a century).
MAX_SERIES_DAYS = 36_600
MICROSECONDS = 1_000_000


@dataclass
class Tally:
    """Counted jobs of one bucket; `total` is what the endpoints call total/exec_count."""

    passed: int = 0
    failed: int = 0
    timeout: int = 0
    duration_us: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.timeout

    def merge(self, other: "Tally") -> None:
        self.add(vars(other))

    def add(self, row) -> None:
        self.passed += row["passed"]
        self.failed += row["failed"]
        self.timeout += row["timeout"]
        self.duration_us += row["duration_us"]


def project_ids(keys: list[str] | None) -> list[int] | None:
    """Ids of the projects named by `keys` (unknown keys match nothing); None = every project."""
    if keys is None:
        return None
    return list(Project.objects.filter(key__in=keys).order_by("id").values_list("id", flat=True))


def _counted_jobs(kind: str, pids: list[int] | None):
    """Raw jobs the rollup of `kind` counts: a final status and a start time."""
    jobs = Job.objects.filter(status__in=FINAL_STATUSES, started_at__isnull=False)
    if kind == JobKind.RELEASE:
        jobs = jobs.filter(type=Job.Type.DEPLOY, environment__production=True)
    else:
        jobs = jobs.filter(type=kind)
    if pids is not None:
        jobs = jobs.filter(project_id__in=pids)
    return jobs


def _tally_raw(kind: str, pids: list[int] | None, start: datetime, end: datetime) -> dict[date, Tally]:
    """Counted jobs with `start <= started_at < end`, per local day, straight from raw rows."""
    tallies: dict[date, Tally] = {}
    rows = _counted_jobs(kind, pids).filter(started_at__gte=start, started_at__lt=end)
    for started, finished, status in rows.values_list("started_at", "finished_at", "status").order_by("id"):
        tally = tallies.setdefault(local_day(started), Tally())
        if status == Status.PASSED:
            tally.passed += 1
        elif status == Status.FAILED:
            tally.failed += 1
        else:
            tally.timeout += 1
        if finished is not None:
            tally.duration_us += (finished - started) // timedelta(microseconds=1)
    return tallies


def _pairs(buckets: set[tuple[int, date]]) -> Q:
    """A filter matching the rollup rows of exactly these (project, day) buckets."""
    days_of: dict[int, list[date]] = {}
    for pid, day in sorted(buckets):
        days_of.setdefault(pid, []).append(day)
    return reduce(operator.or_, (Q(project_id=pid, day__in=days) for pid, days in days_of.items()))


SUMS = {field: Sum(field) for field in STAT_FIELDS}


def _tally_whole_days(kind: str, pids: list[int] | None, first: date, last: date) -> dict[date, Tally]:
    """Whole local days first..last: rollup rows of clean buckets (one statement, one snapshot),
    plus the dirty buckets recomputed from raw jobs. For all projects, a day without any dirty mark
    is one `DailyJobTotal` row, exact because every bucket it sums is clean."""
    dirty = dirty_job_days(pids, first, last)
    tallies: dict[date, Tally] = {}
    rollup = DailyJobStat.objects.filter(kind=kind, day__gte=first, day__lte=last)
    if pids is None:
        dirty_days = sorted({day for _, day in dirty})
        totals = DailyJobTotal.objects.filter(kind=kind, day__gte=first, day__lte=last)
        if dirty_days:
            totals = totals.exclude(day__in=dirty_days)
        for day, *counts in totals.values_list("day", *STAT_FIELDS).order_by():
            tallies[day] = Tally(*counts)  # one row per day: the unique (kind, day)
        rollup = rollup.filter(day__in=dirty_days)
    else:
        rollup = rollup.filter(project_id__in=pids)
    if dirty:
        rollup = rollup.exclude(_pairs(dirty))
    if pids is not None or dirty:
        for row in rollup.values("day").annotate(**SUMS).order_by("day"):
            tallies.setdefault(row["day"], Tally()).add(row)
    for (_, day, row_kind), row in compute_job_day_stats(sorted(dirty)).items():
        if row_kind == kind:
            tallies.setdefault(day, Tally()).add(row)
    return tallies


def job_tallies(kind: str, pids: list[int] | None, start: datetime, end: datetime) -> dict[date, Tally]:
    """Counted jobs of `kind` with `start <= started_at < end`, per local day (days without jobs may be absent)."""
    if pids == [] or end <= start:
        return {}
    first, last = local_day(start), local_day(end - timedelta(microseconds=1))
    whole_first = first if day_bounds(first)[0] >= start else first + ONE_DAY
    whole_last = last if day_bounds(last)[1] <= end else last - ONE_DAY
    tallies: dict[date, Tally] = {}
    if whole_first <= whole_last:
        tallies.update(_tally_whole_days(kind, pids, whole_first, whole_last))
    for day in {first, last} - set(_days(whole_first, whole_last)):
        lo, hi = day_bounds(day)
        tallies.update(_tally_raw(kind, pids, max(lo, start), min(hi, end)))
    return tallies


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _day_range(kind: str, pids: list[int] | None, first: date | None, last: date | None) -> tuple[date, date] | None:
    """The requested local days, or (no dates) first day with counted data .. today; None = nothing to show."""
    if first is not None and last is not None:
        return first, last
    if pids == []:
        return None
    span = _counted_jobs(kind, pids).aggregate(first=Min("started_at"), last=Max("started_at"))
    if span["first"] is None:
        return None
    # Jobs dated in the future (a skewed CI clock) stretch the series so that totals match the rows.
    last = max(local_day(timezone.now()), local_day(span["last"]))
    # Ingest and the admin keep job times within 2000..2100, so this holds already; rows written
    # around them (raw SQL) must still not make every client's default answer millions of days long.
    return max(local_day(span["first"]), last - timedelta(days=MAX_SERIES_DAYS - 1)), last


def _daily_tallies(kind: str, keys: list[str] | None, first: date | None, last: date | None):
    pids = project_ids(keys)
    days = _day_range(kind, pids, first, last)
    if days is None:
        return pids, [], {}
    start, end = day_bounds(days[0])[0], day_bounds(days[1])[1]
    return pids, _days(*days), job_tallies(kind, pids, start, end)


def _success_failure(kind: str, keys, first, last) -> dict:
    _, days, tallies = _daily_tallies(kind, keys, first, last)
    data = []
    for day in days:
        tally = tallies.get(day, Tally())
        data.append(
            {
                "date": day.isoformat(),
                "success": tally.passed,
                "failure": tally.failed + tally.timeout,
                "total": tally.total,
            }
        )
    return {
        "total": sum(row["total"] for row in data),
        "success": sum(row["success"] for row in data),
        "data": data,
    }


def build_stats(keys: list[str] | None, first: date | None, last: date | None) -> dict:
    return _success_failure(JobKind.BUILD, keys, first, last)


def deploy_stats(keys: list[str] | None, first: date | None, last: date | None) -> dict:
    return _success_failure(JobKind.DEPLOY, keys, first, last)


def _case_count(pids: list[int] | None) -> int:
    modules = TestModule.objects.all() if pids is None else TestModule.objects.filter(project_id__in=pids)
    return modules.aggregate(total=Sum("case_count"))["total"] or 0


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def test_stats(keys: list[str] | None, first: date | None, last: date | None) -> dict:
    """Counts over the range, and weekly buckets anchored on its last day, newest first."""
    pids, days, tallies = _daily_tallies(JobKind.TEST, keys, first, last)
    overall = Tally()
    weeks = []
    for end_index in range(len(days) - 1, -1, -7):
        week = Tally()
        for day in days[max(0, end_index - 6) : end_index + 1]:
            week.merge(tallies.get(day, Tally()))
        overall.merge(week)
        weeks.append(
            {
                "date": days[end_index].isoformat(),
                "success_count": week.passed,
                "timeout_count": week.timeout,
                "failed_count": week.failed,
            }
        )
    average = _round_half_up(overall.duration_us, overall.total * MICROSECONDS) if overall.total else 0
    return {
        "case_count": _case_count(pids),
        "exec_count": overall.total,
        "success_count": overall.passed,
        "average_runtime": average,
        "data": weeks,
    }


def release_stats(keys: list[str] | None, start: datetime, end: datetime) -> dict:
    """Production deploys with `start <= started_at < end`, zero-filled over every local day touched."""
    pids = project_ids(keys)
    tallies = job_tallies(JobKind.RELEASE, pids, start, end)
    daily = []
    for day in _days(local_day(start), local_day(end - timedelta(microseconds=1))):
        tally = tallies.get(day, Tally())
        daily.append(
            {
                "date": day.isoformat(),
                "total": tally.total,
                "success_count": tally.passed,
                "fail_count": tally.failed + tally.timeout,
            }
        )
    return {
        "total": sum(row["total"] for row in daily),
        "success_count": sum(row["success_count"] for row in daily),
        "daily_stat": daily,
    }


def overview() -> dict:
    return {
        "project_count": Project.objects.count(),
        "cluster_count": Cluster.objects.count(),
        "service_count": Service.objects.count(),
        "workflow_count": Workflow.objects.count(),
        "env_count": Environment.objects.count(),
        "artifact_count": Artifact.objects.count(),
    }
