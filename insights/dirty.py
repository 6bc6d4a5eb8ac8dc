"""Local days and the dirty-bucket ledger of the daily job rollup.

A bucket is (project, local day of `started_at`) in `settings.INSIGHTS_TIME_ZONE`. Writers of raw
jobs mark the buckets they touched; a task recomputes them after commit. Marking an already dirty
bucket refreshes its `marked_at`, which is how a recompute that ran concurrently learns that it
must not clear the mark (see `rollups.recompute_dirty`), and clears a failed recompute's `retry_at`:
the write may be the fix (common.rollup_failures).
"""

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from common.tasking import enqueue_after_commit
from insights.models import DirtyJobDay

MICROSECOND = timedelta(microseconds=1)
logger = logging.getLogger(__name__)


def zone() -> ZoneInfo:
    """The zone days are counted in; read on each call so `override_settings` takes effect."""
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def local_day(dt: datetime) -> date:
    """The calendar day (service time zone) an aware instant falls on."""
    return dt.astimezone(zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware UTC instants: 24 h, or 23/25 h when the clocks change."""
    return _day_start(day), _day_start(day + timedelta(days=1))


def _day_start(day: date) -> datetime:
    """The first instant whose local day is `day`, also where midnight is skipped or repeated."""
    tz = zone()
    for fold in (0, 1):
        start = datetime.combine(day, time(), tzinfo=tz).replace(fold=fold).astimezone(UTC)
        if local_day(start) == day and local_day(start - MICROSECOND) < day:
            return start
    # Unreachable for real zones; keep the plain reading rather than fail.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def mark_job_days(pairs: Iterable[tuple[int, date]]) -> None:
    """Record (project_id, day) buckets as dirty and schedule their recompute once the data commits."""
    buckets = {(int(pid), day) for pid, day in pairs if pid is not None and day is not None}
    if not buckets:
        return
    now = timezone.now()
    DirtyJobDay.objects.bulk_create(
        [DirtyJobDay(project_pk=pid, day=day, marked_at=now) for pid, day in sorted(buckets)],
        update_conflicts=True,
        unique_fields=["project_pk", "day"],
        update_fields=["marked_at", "retry_at"],
        batch_size=500,
    )
    schedule_recompute()


def schedule_recompute() -> None:
    """Recompute the marked buckets after the current transaction commits (see common.tasking)."""
    enqueue_after_commit("insights.tasks.recompute_dirty_job_days", "insights", logger)


def dirty_job_days(project_ids: list[int] | None, first: date, last: date) -> set[tuple[int, date]]:
    """Buckets between two local days (inclusive) whose rollup rows are out of date."""
    rows = DirtyJobDay.objects.filter(day__gte=first, day__lte=last)
    if project_ids is not None:
        rows = rows.filter(project_pk__in=project_ids)
    return set(rows.order_by().values_list("project_pk", "day"))
