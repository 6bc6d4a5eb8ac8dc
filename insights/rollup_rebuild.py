"""`rebuild_rollups` for insights: every derived table recomputed from raw rows, in one transaction."""

from datetime import date

from django.db import transaction
from django.db.models import Q

from insights.daily_totals import refresh_totals
from insights.dirty import day_bounds
from insights.models import DailyJobStat, DailyJobTotal, DirtyJobDay, Job, Project, TestModule
from insights.module_cases import recompute_test_modules
from insights.rollups import aggregate_jobs, clear_marks, save_stats


def rebuild(since: date | None = None) -> dict:
    """Recompute every rollup bucket and all-projects total from raw rows (from local day `since` on,
    or all of them), and every test module; dirty marks seen at the start and unchanged at the end
    are cleared."""
    with transaction.atomic():
        marks = DirtyJobDay.objects.order_by("id")
        stats_rows = DailyJobStat.objects.all()
        jobs = Q()
        if since is not None:
            marks = marks.filter(day__gte=since)
            stats_rows = stats_rows.filter(day__gte=since)
            jobs = Q(started_at__gte=day_bounds(since)[0])
        # The marks are locked first (waiting for recomputes in flight), then rows, then the day
        # locks of the totals: the order recomputes take them in, so the two never deadlock.
        seen = list(marks.select_for_update().values_list("id", "marked_at"))
        deleted, _ = stats_rows.delete()
        written = save_stats(aggregate_jobs(jobs))
        still_dirty = clear_marks(seen)
        orphans, _ = DirtyJobDay.objects.exclude(project_pk__in=Project.objects.values("id")).delete()
        totals = DailyJobTotal.objects.all() if since is None else DailyJobTotal.objects.filter(day__gte=since)
        days = set(totals.values_list("day", flat=True))
        days |= set(stats_rows.order_by().values_list("day", flat=True).distinct())
        totals_written = refresh_totals(days)
        # Marks before test modules: the lock order of ingest, so the two never deadlock.
        modules = set(TestModule.objects.values_list("project_id", "name"))
        modules |= set(
            Job.objects.filter(type=Job.Type.TEST).exclude(test_module="").values_list("project_id", "test_module")
        )
        kept_modules = recompute_test_modules(modules)
    return {
        "since": since.isoformat() if since else None,
        "daily_job_stats_deleted": deleted,
        "daily_job_stats_written": written,
        "daily_job_totals_written": totals_written,
        "test_modules": kept_modules,
        "dirty_cleared": len(seen) - len(still_dirty) + orphans,
    }
