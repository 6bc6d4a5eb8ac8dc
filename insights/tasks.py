"""Celery tasks of the insights app: thin wrappers around `insights.rollups`."""

from celery import shared_task

from insights import rollups


@shared_task(ignore_result=True)
def recompute_dirty_job_days(limit: int | None = None) -> int:
    """Recompute the daily job rollup buckets marked dirty (scheduled on commit by every writer)."""
    return rollups.recompute_dirty(limit=limit)
