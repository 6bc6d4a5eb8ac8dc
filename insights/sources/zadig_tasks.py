"""The beat task that pulls Zadig workflow tasks (see insights.sources.zadig_sync)."""

from celery import shared_task

from insights.sources import zadig_sync


@shared_task(name="insights.tasks.sync_zadig_sources", ignore_result=True, soft_time_limit=240, time_limit=270)
def sync_zadig_sources(max_tasks: int = zadig_sync.DEFAULT_MAX_TASKS) -> int:
    """Sync every enabled zadig source; the number of task details fetched."""
    return sum(report.fetched for report in zadig_sync.sync_zadig(max_tasks=max_tasks))
