"""Writes of raw origin samples (one row per domain and minute, its per-status-code counts inside it).

Two ways in, both one transaction, a few bulk statements and no per-row queries, both marking the
touched 5-minute buckets dirty so the rollups follow after commit:

- `replace_origin_samples`: the API. A posted sample is the whole count of its domain and minute,
  so it replaces what is stored (flux, pv and the status object); posting twice counts once. On
  PostgreSQL the batch is COPied into a temporary table and written from it by one INSERT (an
  INSERT ... ON CONFLICT when it holds minutes already stored).
- `add_origin_samples`: the log importer. Counts are added to what is stored, with
  `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`, atomic under concurrent imports.
"""

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from time import monotonic

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from cdnorigin import bulk
from cdnorigin.dirty import FIVE_MINUTES, mark_buckets_dirty, mark_pairs_dirty, schedule_recompute
from cdnorigin.models import CLASS_FIELDS, DirtyOriginBucket, Domain, OriginSample, status_class_sums

# Values are capped so that a day of sums (1440 minutes) still fits a signed 64-bit column.
MAX_VALUE = 2**48 - 1
# Timestamps accepted: from the Unix epoch to 2100-01-01 (exclusive).
MAX_TIMESTAMP = 4_102_444_800
logger = logging.getLogger(__name__)
# Index of a code's class (0 for 1xx .. 4 for 5xx), keyed by the code as str and as int: a lookup is
# cheaper than `int(code) // 100 - 1` in the batch's one per-sample loop.
CLASS_OF_CODE = {key: code // 100 - 1 for code in range(100, 600) for key in (code, str(code))}


class UnknownDomainsError(ValueError):
    """Samples name domains that do not exist; nothing was written."""

    def __init__(self, names):
        self.names = sorted(names)
        super().__init__(f"Unknown domains: {', '.join(self.names)}")


def minute_of(timestamp: int) -> datetime:
    """The UTC start of the minute holding Unix second `timestamp`."""
    return datetime.fromtimestamp(timestamp - timestamp % 60, UTC)


def _status_json(status: Mapping) -> str:
    """{code: count} as the stored JSON object: string codes in ascending order."""
    return orjson.dumps({str(code): count for code, count in sorted(status.items(), key=lambda i: int(i[0]))}).decode()


def _copy_text(rows: list[tuple[int, int, int, int, Mapping]]) -> str:
    """The batch in COPY's text format: domain_id, minute second, flux, pv, status JSON, 1xx..5xx sums.

    Digits-only codes and integers: the JSON holds nothing COPY's text format would need to escape.
    The row order is left to the INSERT's ORDER BY; this loop is the batch's only per-sample Python.
    """
    dumps, option, class_of = orjson.dumps, orjson.OPT_NON_STR_KEYS, CLASS_OF_CODE
    lines = []
    append = lines.append
    for domain_id, second, flux, pv, status in rows:
        sums = [0, 0, 0, 0, 0]
        for code, count in status.items():
            sums[class_of[code]] += count
        append(
            f"{domain_id}\t{second}\t{flux}\t{pv}\t{dumps(status, option=option).decode()}\t"
            f"{sums[0]}\t{sums[1]}\t{sums[2]}\t{sums[3]}\t{sums[4]}\n"
        )
    return "".join(lines)


def _load_batch(cursor, text: str) -> None:
    """COPY the batch into a temporary table (dropped on commit; dropped here too when an enclosing
    transaction wrote a batch already)."""
    cursor.execute(
        "DROP TABLE IF EXISTS pg_temp.origin_sample_batch; "
        "CREATE TEMPORARY TABLE origin_sample_batch (domain_id int8, second int8, flux int8, pv int8, "
        "status jsonb, status_1xx int8, status_2xx int8, status_3xx int8, status_4xx int8, status_5xx int8) "
        "ON COMMIT DROP"
    )
    columns = f"domain_id, second, flux, pv, status, {', '.join(CLASS_FIELDS)}"
    with cursor.cursor.copy(f"COPY origin_sample_batch ({columns}) FROM STDIN") as copy:
        copy.write(text)


def _write_samples(cursor) -> None:
    """Insert the batch's samples, replacing stored ones of the same domain and minute.

    A plain INSERT first, in a savepoint: new minutes, the usual case, skip ON CONFLICT's speculative
    insertion (about a third of the statement). A unique violation (a re-post, or a concurrent writer
    of the same minute that committed first) rolls it back and the upsert runs; a whole re-post fails
    at its first row, so the retry costs little. Rows go in (domain, minute) order, so two batches
    touching the same rows lock them in the same order and wait for each other instead of deadlocking.
    """
    samples = connection.ops.quote_name(OriginSample._meta.db_table)
    classes = ", ".join(CLASS_FIELDS)
    insert = (
        f"INSERT INTO {samples} (domain_id, minute, flux, pv, status, {classes}) "
        f"SELECT domain_id, to_timestamp(second), flux, pv, status, {classes} FROM origin_sample_batch "
        "ORDER BY domain_id, second"
    )
    try:
        with transaction.atomic():
            cursor.execute(insert)
        return
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, psycopg_errors.UniqueViolation):
            raise
    update = ", ".join(f"{name} = excluded.{name}" for name in ("flux", "pv", "status", *CLASS_FIELDS))
    cursor.execute(f"{insert} ON CONFLICT (domain_id, minute) DO UPDATE SET {update}")


def _mark_batch(cursor) -> int:
    """Mark the batch's 5-minute buckets dirty; returns their number."""
    dirty = connection.ops.quote_name(DirtyOriginBucket._meta.db_table)
    cursor.execute(
        f"INSERT INTO {dirty} (domain_pk, start, marked_at) "
        f"SELECT DISTINCT domain_id, to_timestamp(second - second %% {FIVE_MINUTES}), %s::timestamptz "
        "FROM origin_sample_batch ORDER BY 1, 2 "
        "ON CONFLICT (domain_pk, start) DO UPDATE SET marked_at = excluded.marked_at, retry_at = NULL",
        [timezone.now()],
    )
    return cursor.rowcount


def _replace_copy(rows: list[tuple[int, int, int, int, Mapping]]) -> int:
    """PostgreSQL: COPY the batch into a temporary table, write the samples from it in one statement
    and upsert their buckets' dirty marks; returns the number of buckets marked.

    (Measured against one INSERT ... SELECT FROM jsonb_to_recordset of the whole body: PostgreSQL's
    parse of the 1 MB document and the class sums in SQL cost more than the Python of `_copy_text`.)
    """
    text = _copy_text(rows)
    with connection.cursor() as cursor:
        _load_batch(cursor, text)
        _write_samples(cursor)
        buckets = _mark_batch(cursor)
    schedule_recompute()
    return buckets


def _replace_portable(rows: list[tuple[int, int, int, int, Mapping]]) -> int:
    """Any database: a multi-row upsert of the samples, then their buckets' dirty marks."""
    update = ", ".join(f"{name} = excluded.{name}" for name in ("flux", "pv", "status", *CLASS_FIELDS))
    bulk.upsert(
        OriginSample,
        ["domain_id", "minute", "flux", "pv", "status", *CLASS_FIELDS],
        [
            (domain_id, minute_of(second), flux, pv, _status_json(status), *status_class_sums(status))
            for domain_id, second, flux, pv, status in sorted(rows, key=lambda row: (row[0], row[1]))
        ],
        conflict=["domain_id", "minute"],
        update=update,
    )
    return mark_pairs_dirty((domain_id, minute_of(second)) for domain_id, second, *_ in rows)


def replace_origin_samples(items: list[dict]) -> int:
    """Store validated samples, each replacing the stored one of its domain and minute; returns their number.

    An item is `{"domain": name, "timestamp": Unix seconds, "flux": int, "pv": int, "status": {code: count}}`
    (codes as int or three-digit strings). Raises UnknownDomainsError, writing nothing, if any domain
    is unknown. Two items of one domain and minute: the later one wins (the API refuses such batches).
    """
    if not items:
        return 0
    names = {item["domain"] for item in items}
    domain_ids = dict(Domain.objects.filter(name__in=names).values_list("name", "id"))
    if unknown := names - domain_ids.keys():
        raise UnknownDomainsError(unknown)
    started = monotonic()
    latest = {(item["domain"], item["timestamp"] // 60): item for item in items}
    rows = [
        (domain_ids[item["domain"]], minute * 60, item["flux"], item["pv"], item.get("status") or {})
        for (_, minute), item in latest.items()
    ]
    with transaction.atomic():
        buckets = _replace_copy(rows) if connection.vendor == "postgresql" else _replace_portable(rows)
    _log_batch("origin_samples", started, samples=len(latest), domains=len(domain_ids), buckets=buckets)
    return len(latest)


def _merge_status_sql(table: str) -> str:
    """SQL for the stored `status` object plus the `excluded` one, code by code (inside ON CONFLICT)."""
    if connection.vendor == "postgresql":
        return (
            "(SELECT COALESCE(jsonb_object_agg(code, total), '{}'::jsonb) FROM (SELECT code, SUM(n) AS total FROM "
            f"(SELECT key AS code, value::bigint AS n FROM jsonb_each_text({table}.status) UNION ALL "
            "SELECT key, value::bigint FROM jsonb_each_text(excluded.status)) parts GROUP BY code) merged)"
        )
    return (
        "(SELECT json_group_object(code, total) FROM (SELECT code, SUM(n) AS total FROM "
        f"(SELECT key AS code, value AS n FROM json_each({table}.status) UNION ALL "
        "SELECT key, value FROM json_each(excluded.status)) GROUP BY code ORDER BY code))"
    )


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE:
        raise ValueError(f"{what} must be a whole number from 0 to {MAX_VALUE}, not {value!r}")
    return value


def _merge_per_minute(per_minute: Mapping[datetime, tuple]) -> dict[datetime, tuple[int, int, Counter]]:
    """Validate and merge the importer's input by minute start (two keys inside one minute add up)."""
    merged: dict[datetime, tuple[int, int, Counter]] = {}
    for instant, (flux, pv, status) in per_minute.items():
        if instant.tzinfo is None:
            raise ValueError(f"minute {instant!r} must be an aware datetime")
        timestamp = int(instant.timestamp())
        if not 0 <= timestamp < MAX_TIMESTAMP:
            raise ValueError(f"minute {instant.isoformat()} is outside 1970..2099")
        minute = minute_of(timestamp)
        old_flux, old_pv, codes = merged.get(minute, (0, 0, Counter()))
        for code, count in status.items():
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise ValueError(f"status code must be an int from 100 to 599, not {code!r}")
            codes[code] += _count(count, f"count of status {code}")
        merged[minute] = (old_flux + _count(flux, "flux"), old_pv + _count(pv, "pv"), codes)
    return merged


def add_origin_samples(domain: Domain | int, per_minute: Mapping[datetime, tuple[int, int, Mapping[int, int]]]) -> int:
    """Add flux, pv and status counts per minute to what is stored for `domain`; returns the minutes touched.

    `per_minute` maps an aware datetime (floored to its minute) to (flux, pv, {code: count}). Atomic and
    safe against concurrent imports of the same minutes; raises ValueError on bad values, writing nothing.
    """
    domain_id = domain.pk if isinstance(domain, Domain) else int(domain)
    merged = _merge_per_minute(per_minute)
    if not merged:
        return 0
    started = monotonic()
    minutes = sorted(merged)
    table = connection.ops.quote_name(OriginSample._meta.db_table)
    added = ("flux", "pv", *CLASS_FIELDS)
    update = ", ".join([f"{name} = {table}.{name} + excluded.{name}" for name in added])
    with transaction.atomic():
        bulk.upsert(
            OriginSample,
            ["domain_id", "minute", "flux", "pv", "status", *CLASS_FIELDS],
            [
                (domain_id, minute, flux, pv, _status_json(codes), *status_class_sums(codes))
                for minute in minutes
                for flux, pv, codes in [merged[minute]]
            ],
            conflict=["domain_id", "minute"],
            update=f"{update}, status = {_merge_status_sql(table)}",
        )
        buckets = mark_buckets_dirty(domain_id, minutes)
    _log_batch("origin_log_minutes", started, samples=len(minutes), domains=1, buckets=buckets)
    return len(minutes)


def _log_batch(kind: str, started: float, **counts: int) -> None:
    logger.info(
        "ingest batch stored", extra={"kind": kind, **counts, "duration_ms": round((monotonic() - started) * 1000, 1)}
    )
