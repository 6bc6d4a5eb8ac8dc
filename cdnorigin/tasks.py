"""Celery tasks of the origin statistics: thin wrappers around `cdnorigin.rollups` and `cdnorigin.retention`.

With no broker configured (CELERY_BROKER_URL unset) they run inline, eagerly. Transient database errors
(connection lost, deadlock, serialization failure: Django's OperationalError/InterfaceError) are retried
with exponential backoff and jitter, at most `MAX_RETRIES` times; the marks of a recompute that still
fails stay, and the beat sweep tries again a minute later.

No extra lock guards a bucket against two workers: `recompute_dirty` takes marks `FOR UPDATE SKIP
LOCKED` and `recompute_buckets` locks the domain row, so on PostgreSQL one domain is recomputed by one
transaction at a time; on SQLite every transaction begins IMMEDIATE (settings), which serialises them.
"""

import logging
import time
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cdnorigin import retention, rollups
from common import metrics

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": MAX_RETRIES,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


@shared_task(name="cdnorigin.tasks.recompute_dirty_origin_buckets", ignore_result=True, **RETRY)
def recompute_dirty_origin_buckets(limit: int | None = None) -> int:
    """Recompute the rollups of every marked 5-minute bucket; scheduled on commit and by the beat sweep."""
    started = time.monotonic()
    done = rollups.recompute_dirty(limit)
    metrics.rollup_run("cdnorigin", done, time.monotonic() - started)
    logger.log(
        logging.INFO if done else logging.DEBUG,
        "rollup recomputed",
        extra={"app": "cdnorigin", "buckets": done, "duration_ms": _ms(started)},
    )
    return done


@shared_task(name="cdnorigin.tasks.rebuild_origin_rollups", ignore_result=True, **RETRY)
def rebuild_origin_rollups(since: str | None = None) -> dict:
    """Rebuild every rollup from raw rows (from local date `since`, ISO `YYYY-MM-DD`, if given)."""
    started = time.monotonic()
    summary = rollups.rebuild(date.fromisoformat(since) if since else None)
    logger.info("rollup rebuilt", extra={"app": "cdnorigin", **summary, "duration_ms": _ms(started)})
    return summary


@shared_task(name="cdnorigin.tasks.purge_expired_origin_data", ignore_result=True, **RETRY)
def purge_expired_origin_data() -> dict:
    """Drop origin rows past CDN_RETENTION_DAYS (the beat runs it daily; `retention.purge_expired` logs it)."""
    return retention.purge_expired()
