"""Celery tasks of the origin statistics: thin wrappers around `cdnorigin.rollups`.

With no broker configured (CELERY_BROKER_URL unset) they run inline, eagerly.
"""

from datetime import date

from celery import shared_task

from cdnorigin import retention, rollups


@shared_task(name="cdnorigin.tasks.recompute_dirty_origin_buckets", ignore_result=True)
def recompute_dirty_origin_buckets(limit: int | None = None) -> int:
    """Recompute the rollups of every marked 5-minute bucket; scheduled on commit and by the beat sweep."""
    return rollups.recompute_dirty(limit)


@shared_task(name="cdnorigin.tasks.rebuild_origin_rollups", ignore_result=True)
def rebuild_origin_rollups(since: str | None = None) -> dict:
    """Rebuild every rollup from raw rows (from local date `since`, ISO `YYYY-MM-DD`, if given)."""
    return rollups.rebuild(date.fromisoformat(since) if since else None)


@shared_task(name="cdnorigin.tasks.purge_expired_origin_data", ignore_result=True)
def purge_expired_origin_data() -> dict:
    """Drop origin rows past CDN_RETENTION_DAYS (the beat runs it daily)."""
    return retention.purge_expired()
