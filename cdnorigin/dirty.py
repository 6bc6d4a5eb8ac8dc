"""Which 5-minute buckets have stale rollups, and the on-commit recompute that cleans them.

Every write of raw origin rows marks the (domain, 5-minute UTC start) buckets it touched, inside the
writer's transaction; the recompute is scheduled with `transaction.on_commit`, so it only ever runs
against committed rows. A bucket still marked is answered from raw rows by the selectors, so a
statistic is never stale even while the recompute is pending or has failed.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from django.utils import timezone

from cdnorigin import bulk
from cdnorigin.models import DirtyOriginBucket
from common.tasking import enqueue_after_commit

FIVE_MINUTES = 300
# Marked buckets this close are read from raw rows as one range (the clean ones in between are read too).
RUN_GAP = 3600
logger = logging.getLogger(__name__)


def bucket_runs(starts: list[int]) -> list[tuple[int, int]]:
    """Sorted bucket starts (Unix seconds) as [first, last + 5 min) ranges, split at gaps wider than RUN_GAP."""
    runs: list[list[int]] = []
    for start in starts:
        if runs and start - runs[-1][1] <= RUN_GAP:
            runs[-1][1] = start + FIVE_MINUTES
        else:
            runs.append([start, start + FIVE_MINUTES])
    return [(first, stop) for first, stop in runs]


def five_minute_floor(dt: datetime) -> datetime:
    """The UTC start of the 5-minute bucket holding `dt` (an aware datetime)."""
    if dt.tzinfo is None:
        raise ValueError("five_minute_floor needs an aware datetime")
    seconds = int(dt.timestamp())
    return datetime.fromtimestamp(seconds - seconds % FIVE_MINUTES, UTC)


def mark_buckets_dirty(domain_id: int, minutes: Iterable[datetime]) -> int:
    """Mark the buckets holding `minutes` of one domain stale and schedule their recompute.

    An already marked bucket gets a fresh `marked_at`, which tells a recompute running meanwhile
    that it must not clear the mark. Returns the number of buckets marked.
    """
    starts = {five_minute_floor(minute) for minute in minutes}
    return mark_pairs_dirty((domain_id, start) for start in starts)


def mark_pairs_dirty(pairs: Iterable[tuple[int, datetime]]) -> int:
    """`mark_buckets_dirty` for buckets of several domains: pairs of (domain_id, any instant in the bucket)."""
    keys = sorted({(domain_id, five_minute_floor(instant)) for domain_id, instant in pairs})
    if not keys:
        return 0
    now = timezone.now()
    bulk.upsert(
        DirtyOriginBucket,
        ["domain_pk", "start", "marked_at"],
        [(domain_id, start, now) for domain_id, start in keys],
        conflict=["domain_pk", "start"],
        update="marked_at = excluded.marked_at, retry_at = NULL",
    )
    schedule_recompute()
    return len(keys)


def dirty_buckets(domain_ids: Iterable[int] | None, start: datetime, end: datetime) -> set[tuple[int, datetime]]:
    """Marked buckets of `domain_ids` (None: every domain) overlapping [start, end), as (domain_id, UTC start)."""
    rows = DirtyOriginBucket.objects.filter(start__gte=five_minute_floor(start), start__lt=end)
    if domain_ids is not None:
        rows = rows.filter(domain_pk__in=list(domain_ids))
    return {(domain_id, bucket.astimezone(UTC)) for domain_id, bucket in rows.values_list("domain_pk", "start")}


def schedule_recompute() -> None:
    """Recompute the marked buckets after the current transaction commits (see common.tasking)."""
    enqueue_after_commit("cdnorigin.tasks.recompute_dirty_origin_buckets", "cdnorigin", logger)
