"""Dropping origin data past the retention window (settings.CDN_RETENTION_DAYS).

Queries may not reach further back than the retention, so rows older than it are dead weight. The
cutoff is a local midnight, so a day is never left half-kept. Deletes run as plain SQL: the ORM's
cascade would load millions of rows into Python first.
"""

import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cdnorigin.models import DirtyOriginBucket, OriginRollup, OriginSample

logger = logging.getLogger(__name__)


def retention_cutoff(now: datetime | None = None) -> datetime:
    """The local midnight `CDN_RETENTION_DAYS` days before today's; rows before it are expired."""
    zone = ZoneInfo(settings.INSIGHTS_TIME_ZONE)
    today = (now or timezone.now()).astimezone(zone).date()
    first_kept = today - timedelta(days=settings.CDN_RETENTION_DAYS)
    return datetime(first_kept.year, first_kept.month, first_kept.day, tzinfo=zone)


def purge_expired(now: datetime | None = None) -> dict:
    """Delete samples (their status counts inside them), rollups and dirty marks older than the cutoff."""
    cutoff = retention_cutoff(now)
    started = time.monotonic()
    samples = OriginSample._meta.db_table
    param = connection.ops.adapt_datetimefield_value(cutoff)  # raw SQL gets what the ORM would store
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {samples} WHERE minute < %s", [param])
        deleted_samples = cursor.rowcount
        cursor.execute(f"DELETE FROM {OriginRollup._meta.db_table} WHERE start < %s", [param])
        deleted_rollups = cursor.rowcount
        cursor.execute(f"DELETE FROM {DirtyOriginBucket._meta.db_table} WHERE start < %s", [param])
        deleted_dirty = cursor.rowcount
    summary = {
        "cutoff": cutoff.isoformat(),
        "samples": deleted_samples,
        "rollups": deleted_rollups,
        "dirty_marks": deleted_dirty,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    logger.info("purged expired origin data", extra=summary)
    return summary
