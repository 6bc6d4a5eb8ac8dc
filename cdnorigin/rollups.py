"""How the origin rollups are recomputed from the raw minute rows, bucket by bucket.

Three levels per domain, each derived whole from the level below, never incremented in place (a
retried or duplicated task cannot double count):

- `5min`: sums of the minute rows of one UTC 5-minute bucket (`cdnorigin.raw_sums`);
- `hour`: sums of the 5-minute rows of one local hour (starts where the local minute is 0);
- `day`: sums of the hour rows of one local day (local midnight to local midnight: 23/24/25 h).

`peak_flux_5m`/`peak_pv_5m` are the largest 5-minute sums inside the period (a 5-minute row's own
values). An hour row also carries its twelve 5-minute flux and pv values (`five_minute_flux`/`_pv`,
packed as `cdnorigin.rollup_rows` says; zero where a bucket has no row), so peaks of sums across domains need no
5-minute rows. `status` maps a code (string) to its non-zero count. A period without minute rows has
no row.
Period boundaries come from `cdnorigin.periods`, the same arithmetic the answers use.

On PostgreSQL `recompute_buckets` rewrites each level of all its buckets with a few set-based
statements (`cdnorigin.rollup_sql`); the Python path here (read, sum, delete, insert) serves SQLite,
`rebuild` and the rare hours a half-hour DST shift makes overlap. Both write the same rows.

Recomputes of one domain are serialised by locking its `Domain` row (`FOR NO KEY UPDATE`, which does
not block writers inserting rows that reference it), so two workers cleaning different 5-minute
buckets of the same hour cannot each write an hour computed without the other's fresh bucket.
"""

import json
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdnorigin import bulk, rollup_sql
from cdnorigin.bulk import int_array
from cdnorigin.dirty import FIVE_MINUTES, five_minute_floor
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.periods import floor, local_zone, next_start
from cdnorigin.raw_sums import RANGES_PER_QUERY, raw_five_minute_rows
from cdnorigin.rollup_rows import (
    DAY,
    END_OF_TIME,
    FIVE,
    HOUR,
    INSERT_COLUMNS,
    ROLLUP_FIELDS,
    SLOTS,
    pack_slots,
    rollup_row,
    unix,
    utc,
)
from common.faults import rollup_pause
from common.rollup_failures import due_filter, recompute_isolated, record_failures
from common.rows import chunks

# Dirty marks handled per transaction by `recompute_dirty`.
DIRTY_BATCH = 2000
# Minute rows of a domain per set-based rebuild statement (a multiple of 5 minutes): a week, ~10,000 rows.
REBUILD_SECONDS = 7 * 86400


# --- lower level -> hour and day ----------------------------------------------------------------


def _roll(rows: Iterable[dict], interval: str, zone) -> list[dict]:
    """Rows of `interval` from rows of a finer interval: sums, maxima of the 5-minute peaks, and for
    an hour from 5-minute rows its twelve 5-minute values (zero where a bucket has no row)."""
    slotted = interval == HOUR
    groups: dict[tuple[int, int], list] = {}
    for row in rows:
        instant = unix(row["start"])
        key = (row["domain_id"], floor(instant, interval, zone))
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = [0, 0, 0, 0, Counter(), [0] * SLOTS, [0] * SLOTS]
        acc[0] += row["flux"]
        acc[1] += row["pv"]
        acc[2] = max(acc[2], row["peak_flux_5m"])
        acc[3] = max(acc[3], row["peak_pv_5m"])
        acc[4].update(row["status"])
        if slotted:
            slot = (instant - key[1]) // FIVE_MINUTES
            acc[5][slot] += row["flux"]
            acc[6][slot] += row["pv"]
    return [
        rollup_row(
            domain_id,
            interval,
            start,
            *acc[:5],
            *((pack_slots(acc[5]), pack_slots(acc[6])) if slotted else ()),
        )
        for (domain_id, start), acc in sorted(groups.items())
    ]


def _merge_seconds(keys: Iterable[tuple[int, int]], interval: str, zone) -> list[tuple[int, int, int]]:
    """(domain_id, period start) keys as few (domain_id, start, end) ranges of adjacent periods, in seconds."""
    ranges: list[list] = []
    for domain_id, start in sorted(set(keys)):
        end = next_start(start, interval, zone)
        if ranges and ranges[-1][0] == domain_id and ranges[-1][2] == start:
            ranges[-1][2] = end
        else:
            ranges.append([domain_id, start, end])
    return [(domain_id, a, b) for domain_id, a, b in ranges]


def _merge(keys: Iterable[tuple[int, int]], interval: str, zone) -> list[tuple[int, datetime, datetime]]:
    """`_merge_seconds` with the range bounds as aware UTC datetimes."""
    return [(domain_id, utc(a), utc(b)) for domain_id, a, b in _merge_seconds(keys, interval, zone)]


def _ranges_q(ranges: list[tuple[int, datetime, datetime]]) -> Q:
    query = Q()
    for domain_id, a, b in ranges:
        query |= Q(domain_id=domain_id, start__gte=a, start__lt=b)
    return query


def _read(interval: str, ranges: list[tuple[int, datetime, datetime]]) -> list[dict]:
    rows = []
    for chunk in chunks(ranges, RANGES_PER_QUERY):
        rows.extend(OriginRollup.objects.filter(_ranges_q(chunk), interval=interval).values(*ROLLUP_FIELDS))
    return rows


def _insert(rows: list[dict]) -> None:
    """Plain multi-row INSERT: a rebuild writes hundreds of thousands of rows, model instances cost ~10x."""
    bulk.upsert(
        OriginRollup,
        INSERT_COLUMNS,
        [(*(row[column] for column in INSERT_COLUMNS[:-1]), json.dumps(row["status"])) for row in rows],
    )


def _replace(interval: str, ranges: list[tuple[int, datetime, datetime]], rows: list[dict]) -> int:
    """Delete the rows of `interval` in `ranges` and insert `rows` (all inside those ranges)."""
    for chunk in chunks(ranges, RANGES_PER_QUERY):
        OriginRollup.objects.filter(_ranges_q(chunk), interval=interval).delete()
    _insert(rows)
    return len(rows)


def _lock_domains(domain_ids: Iterable[int]) -> None:
    """Serialise recomputes per domain (no-op on SQLite, where writers are serialised anyway)."""
    ids = sorted(set(domain_ids))
    for chunk in chunks(ids, 500):
        list(Domain.objects.select_for_update(no_key=True).filter(id__in=chunk).order_by("id").values_list("id"))


def _period_keys(buckets: set[tuple[int, int]], zone, floors: dict | None = None) -> tuple[set, set]:
    """The (domain_id, start) keys of the hours and days holding the buckets; each distinct bucket start
    is floored once (a batch of 50 domains shares its starts; `rebuild` shares `floors` across domains)."""
    floors = {} if floors is None else floors
    for start in {start for _, start in buckets} - floors.keys():
        floors[start] = (floor(start, HOUR, zone), floor(start, DAY, zone))
    return {(d, floors[s][0]) for d, s in buckets}, {(d, floors[s][1]) for d, s in buckets}


def _hours_tile(hour_keys: set[tuple[int, int]], zone) -> bool:
    """Whether every 5-minute bucket in [start, start + 1 h) of each of these hours floors to that hour.

    The SQL sums an hour's 5-minute rows by that range, the portable path by `floor`; they agree in
    every zone whose offsets differ by whole hours. Across a half-hour DST shift (Lord Howe) the range
    holds buckets of the neighbouring hour, and the portable path runs instead. An hour holds at most one
    shift, so its first and last buckets tell.
    """
    hours = {start for _, start in hour_keys}
    last = 3600 - FIVE_MINUTES
    return all(floor(start, HOUR, zone) == start == floor(start + last, HOUR, zone) for start in hours)


def _upper_set_based(hour_keys: set, day_keys: set, zone, delete: bool = True) -> dict:
    """PostgreSQL: the hours and days of these keys, each level in a few statements (`delete=False`: their
    rows are gone already)."""
    hours = _merge_seconds(hour_keys, HOUR, zone)
    day_ends = {start: next_start(start, DAY, zone) for start in {start for _, start in day_keys}}
    days = [(d, start, day_ends[start]) for d, start in sorted(day_keys)]
    return {HOUR: rollup_sql.replace_level(HOUR, hours, delete), DAY: rollup_sql.replace_level(DAY, days, delete)}


def _upper_portable(hour_keys: set, day_keys: set, zone) -> dict:
    """Any database: the hours and days of these keys read, summed in Python, deleted and inserted."""
    hour_ranges = _merge(hour_keys, HOUR, zone)
    day_ranges = _merge(day_keys, DAY, zone)
    counts = {HOUR: _replace(HOUR, hour_ranges, _roll(_read(FIVE, hour_ranges), HOUR, zone))}
    counts[DAY] = _replace(DAY, day_ranges, _roll(_read(HOUR, day_ranges), DAY, zone))
    return counts


def _recompute_set_based(buckets: set, hour_keys: set, day_keys: set, zone) -> dict:
    """PostgreSQL: every level in a few statements (`cdnorigin.rollup_sql`)."""
    five = rollup_sql.replace_level(FIVE, _merge_seconds(buckets, FIVE, zone))
    return {FIVE: five, **_upper_set_based(hour_keys, day_keys, zone)}


def _recompute_portable(buckets: set, hour_keys: set, day_keys: set, zone) -> dict:
    """Any database: read each level's rows, sum them in Python, delete and insert."""
    five_ranges = _merge(buckets, FIVE, zone)
    five = _replace(FIVE, five_ranges, raw_five_minute_rows(five_ranges))
    return {FIVE: five, **_upper_portable(hour_keys, day_keys, zone)}


def _bucket_second(instant: datetime | int) -> int:
    """The Unix second starting the 5-minute bucket of an aware datetime or a Unix second."""
    if isinstance(instant, int):
        return instant - instant % FIVE_MINUTES
    return unix(five_minute_floor(instant))


def recompute_buckets(pairs: Iterable[tuple[int, datetime | int]], portable: bool = False) -> dict:
    """Recompute the 5-minute rows of these (domain_id, bucket) pairs whole from raw rows, then their
    hours from the 5-minute rows and their days from the hour rows; one transaction.

    On PostgreSQL each level is a few set-based statements; `portable` forces the Python path that
    SQLite runs (the tests compare the two).
    """
    zone = local_zone()
    buckets = {(domain_id, _bucket_second(instant)) for domain_id, instant in pairs}
    if not buckets:
        return {FIVE: 0, HOUR: 0, DAY: 0}
    hour_keys, day_keys = _period_keys(buckets, zone)
    set_based = not portable and connection.vendor == "postgresql" and _hours_tile(hour_keys, zone)
    with transaction.atomic():
        _lock_domains(domain_id for domain_id, _ in buckets)
        if set_based:
            return _recompute_set_based(buckets, hour_keys, day_keys, zone)
        return _recompute_portable(buckets, hour_keys, day_keys, zone)


# --- dirty marks -------------------------------------------------------------------------------


def _take_marks(size: int) -> list[tuple]:
    """The oldest `size` due marks as (id, domain_id, bucket start, marked_at), locked, skipping locked
    ones; a mark waiting for the retry of a failed recompute is not due (common.rollup_failures).

    On PostgreSQL the start comes as Unix seconds and `marked_at` as its text, all that the recompute and
    `_clear_marks` need: turning 4,000 timestamps into datetimes cost several ms per batch of 2,000.
    """
    if connection.vendor != "postgresql":
        return list(
            DirtyOriginBucket.objects.select_for_update(skip_locked=True)
            .filter(due_filter())
            .order_by("marked_at", "id")
            .values_list("id", "domain_pk", "start", "marked_at")[:size]
        )
    table = connection.ops.quote_name(DirtyOriginBucket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, domain_pk, EXTRACT(EPOCH FROM start)::int8, marked_at::text FROM {table} "
            "WHERE retry_at IS NULL OR retry_at <= %s ORDER BY marked_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
            [timezone.now(), size],
        )
        return cursor.fetchall()


def _clear_marks(marks: list[tuple[int, object]]) -> int:
    """Delete marks (id, marked_at) unless re-marked meanwhile: a newer write must keep its mark.

    `marked_at` is a datetime, or on PostgreSQL also its text (see `_take_marks`).
    """
    by_time: dict[object, list[int]] = {}
    for mark_id, marked_at in marks:
        by_time.setdefault(marked_at, []).append(mark_id)
    deleted = 0
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(DirtyOriginBucket._meta.db_table)
        with connection.cursor() as cursor:
            for marked_at, ids in by_time.items():
                cursor.execute(
                    f"DELETE FROM {table} WHERE id = ANY(%s::int8[]) AND marked_at = %s::timestamptz",
                    [int_array(ids), marked_at],
                )
                deleted += cursor.rowcount
        return deleted
    for marked_at, ids in by_time.items():
        for chunk in chunks(ids, 500):
            deleted += DirtyOriginBucket.objects.filter(id__in=chunk, marked_at=marked_at).delete()[0]
    return deleted


def recompute_dirty(limit: int | None = None) -> int:
    """Recompute every marked bucket (at most `limit`), oldest mark first; returns the marks processed.

    Each batch is one transaction. Marks are taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
    concurrent runs share the work; running it twice is harmless (the second finds nothing). A bucket
    whose recompute fails is set aside with a retry time and the rest go on (common.rollup_failures).
    """
    done = 0
    previous = None
    while limit is None or done < limit:
        size = DIRTY_BATCH if limit is None else min(DIRTY_BATCH, limit - done)
        with transaction.atomic():
            marks = _take_marks(size)
            if not marks or marks == previous:
                break
            by_bucket = {(domain_id, start): (mark_id, marked_at) for mark_id, domain_id, start, marked_at in marks}
            recomputed, failed = recompute_isolated("cdnorigin", list(by_bucket), recompute_buckets)
            record_failures(DirtyOriginBucket, {by_bucket[bucket][0]: exc for bucket, exc in failed.items()})
            rollup_pause("cdnorigin")
            _clear_marks([by_bucket[bucket] for bucket in recomputed])
        previous = marks
        done += len(marks)
    return done


# --- full rebuild ------------------------------------------------------------------------------


def _five_minute_starts(domain_id: int, first: int) -> set[tuple[int, int]]:
    """(domain_id, Unix second) of the domain's 5-minute rows from `first` on."""
    table = connection.ops.quote_name(OriginRollup._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXTRACT(EPOCH FROM start)::int8 FROM {table} WHERE domain_id = %s AND interval = %s "
            "AND start >= to_timestamp(%s)",
            [domain_id, FIVE, first],
        )
        return {(domain_id, start) for (start,) in cursor.fetchall()}


def _minute_span(domain_id: int, first: int) -> tuple[int, int] | None:
    """The Unix seconds of the domain's first and last minute rows from `first` on, or None without any."""
    table = connection.ops.quote_name(OriginSample._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXTRACT(EPOCH FROM MIN(minute))::int8, EXTRACT(EPOCH FROM MAX(minute))::int8 FROM {table} "
            "WHERE domain_id = %s AND minute >= to_timestamp(%s)",
            [domain_id, first],
        )
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def _rebuild_five_set_based(domain_id: int, first: int) -> int:
    """A domain's 5-minute rows from `first` on, `REBUILD_SECONDS` of minute rows per statement (the last
    one open-ended): a month in one went past work_mem and its GROUP BY spilled to disk."""
    span = _minute_span(domain_id, first)
    if span is None:
        return 0
    low, high = span
    starts = range(max(first, low - low % FIVE_MINUTES), high + 1, REBUILD_SECONDS)
    ends = [*starts[1:], unix(END_OF_TIME)]
    return sum(
        rollup_sql.replace_level(FIVE, [(domain_id, start, end)], delete=False)
        for start, end in zip(starts, ends, strict=True)
    )


def _rebuild_set_based(domain_id: int, first: int, zone, floors: dict) -> dict:
    """PostgreSQL: a domain's rows from `first` on, level by level in a few statements (the Python path
    spent ~40 s on 2.2 M minute rows turning them into objects); hours and days of a domain whose hours
    do not tile (see `_hours_tile`) go the portable way."""
    five = _rebuild_five_set_based(domain_id, first)
    hour_keys, day_keys = _period_keys(_five_minute_starts(domain_id, first), zone, floors)
    if _hours_tile(hour_keys, zone):
        return {FIVE: five, **_upper_set_based(hour_keys, day_keys, zone, delete=False)}
    return {FIVE: five, **_upper_portable(hour_keys, day_keys, zone)}


def _rebuild_portable(domain_id: int, first: int, zone) -> dict:
    """Any database: a domain's rows from `first` on, summed in Python."""
    five = raw_five_minute_rows([(domain_id, utc(first), END_OF_TIME)])
    hours = _roll(five, HOUR, zone)
    days = _roll(hours, DAY, zone)
    _insert([*five, *hours, *days])
    return {FIVE: len(five), HOUR: len(hours), DAY: len(days)}


def rebuild(since: date | None = None, portable: bool = False) -> dict:
    """Recompute every rollup from raw rows (only periods from local midnight of `since` on, if given).

    One transaction per domain, so a long rebuild never holds everything locked. Marks of the rebuilt
    range are cleared unless re-marked meanwhile; marks of deleted domains are dropped. On PostgreSQL
    the levels are set-based (`cdnorigin.rollup_sql`); `portable` forces the Python path SQLite runs.
    """
    zone = local_zone()
    first = int(datetime.combine(since, time(), tzinfo=zone).timestamp()) if since else 0
    set_based = not portable and connection.vendor == "postgresql"
    floors: dict = {}
    totals = Counter()
    domain_ids = list(Domain.objects.order_by("id").values_list("id", flat=True))
    for domain_id in domain_ids:
        with transaction.atomic():
            _lock_domains([domain_id])
            marks = DirtyOriginBucket.objects.filter(domain_pk=domain_id)
            stale = OriginRollup.objects.filter(domain_id=domain_id)
            if since:
                marks = marks.filter(start__gte=utc(first))
                stale = stale.filter(start__gte=utc(first))
            marks = list(marks.values_list("id", "marked_at"))
            stale.delete()
            if set_based:
                counts = _rebuild_set_based(domain_id, first, zone, floors)
            else:
                counts = _rebuild_portable(domain_id, first, zone)
            totals["five_minute_rows"] += counts[FIVE]
            totals["hour_rows"] += counts[HOUR]
            totals["day_rows"] += counts[DAY]
            totals["marks_cleared"] += _clear_marks(marks)
    orphans = DirtyOriginBucket.objects.exclude(domain_pk__in=Domain.objects.values("id"))
    totals["marks_cleared"] += orphans.delete()[0]
    return {
        "since": since.isoformat() if since else None,
        "domains": len(domain_ids),
        "five_minute_rows": totals["five_minute_rows"],
        "hour_rows": totals["hour_rows"],
        "day_rows": totals["day_rows"],
        "marks_cleared": totals["marks_cleared"],
    }
