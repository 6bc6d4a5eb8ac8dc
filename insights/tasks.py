"""Celery tasks of the insights app: thin wrappers around `insights.rollups`.

Transient database errors (connection lost, deadlock or serialization failure: Django raises them as
OperationalError/InterfaceError) are retried with exponential backoff and jitter, at most
`MAX_RETRIES` times; after that the marks simply stay and the beat sweep tries again a minute later.

No extra lock is needed against two workers recomputing one bucket: on PostgreSQL `recompute_dirty`
takes the marks with `FOR UPDATE SKIP LOCKED`, and a writer re-marking a locked bucket waits for the
recompute's commit, so one bucket is in at most one recompute at a time; on SQLite every transaction
begins IMMEDIATE (settings), so recomputes are serialised by the database's single write lock.
"""

import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

from common import metrics
from insights import rollups
from insights.sources import apply, retention

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_SECONDS = 60
# What every task that writes shares: transient database errors retried with backoff and jitter.
RETRIED = {
    "ignore_result": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": MAX_RETRIES,
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
}


@shared_task(
    name="insights.tasks.recompute_dirty_job_days",
    **RETRIED,
)
def recompute_dirty_job_days(limit: int | None = None) -> int:
    """Recompute the daily job rollup buckets marked dirty (scheduled on commit by every writer)."""
    started = time.monotonic()
    done = rollups.recompute_dirty(limit=limit)
    metrics.rollup_run("insights", done, time.monotonic() - started)
    logger.log(
        logging.INFO if done else logging.DEBUG,
        "rollup recomputed",
        extra={"app": "insights", "buckets": done, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return done


@shared_task(
    name="insights.tasks.apply_delivery",
    **RETRIED,
)
def apply_delivery(pk: int) -> str | None:
    """Apply one stored webhook delivery (queued on commit by the hook that stored it)."""
    return apply.apply_delivery(pk)


@shared_task(name="insights.tasks.apply_pending_deliveries", ignore_result=True)
def apply_pending_deliveries() -> int:
    """Apply deliveries whose queued apply was lost (broker down, worker killed)."""
    return apply.apply_pending()


@shared_task(name="insights.tasks.purge_deliveries", ignore_result=True)
def purge_deliveries() -> int:
    """Drop raw deliveries past INSIGHTS_DELIVERY_RETENTION_DAYS."""
    return retention.purge_deliveries()
