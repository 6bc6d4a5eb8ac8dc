"""Writes of raw origin samples (one row per domain and minute, with per-status-code counts).

Two ways in, both one transaction, a few bulk statements and no per-row queries, both marking the
touched 5-minute buckets dirty so the rollups follow after commit:

- `replace_origin_samples`: the API. A posted sample is the whole count of its domain and minute,
  so it replaces what is stored (flux, pv and the status set); posting twice counts once.
- `add_origin_samples`: the log importer. Counts are added to what is stored, with
  `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`, atomic under concurrent imports.
"""

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from time import monotonic

from django.db import connection, transaction

from cdnorigin import bulk
from cdnorigin.dirty import mark_buckets_dirty, mark_pairs_dirty
from cdnorigin.models import Domain, OriginSample, OriginStatusCount

# Values are capped so that a day of sums (1440 minutes) still fits a signed 64-bit column.
MAX_VALUE = 2**48 - 1
# Timestamps accepted: from the Unix epoch to 2100-01-01 (exclusive).
MAX_TIMESTAMP = 4_102_444_800
ROWS_PER_STATEMENT = 200
logger = logging.getLogger(__name__)


class UnknownDomainsError(ValueError):
    """Samples name domains that do not exist; nothing was written."""

    def __init__(self, names):
        self.names = sorted(names)
        super().__init__(f"Unknown domains: {', '.join(self.names)}")


def minute_of(timestamp: int) -> datetime:
    """The UTC start of the minute holding Unix second `timestamp`."""
    return datetime.fromtimestamp(timestamp - timestamp % 60, UTC)


def _chunks(items: list, size: int):
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _upsert_samples(rows: list[tuple[int, datetime, int, int]], add: bool) -> dict[tuple[int, datetime], int]:
    """Write (domain_id, minute, flux, pv) rows, replacing or adding to stored ones; returns their ids."""
    table = connection.ops.quote_name(OriginSample._meta.db_table)
    update = f"flux = {table}.flux + excluded.flux, pv = {table}.pv + excluded.pv" if add else None
    returned = bulk.upsert(
        OriginSample,
        ["domain_id", "minute", "flux", "pv"],
        rows,
        conflict=["domain_id", "minute"],
        update=update or "flux = excluded.flux, pv = excluded.pv",
        returning=["id", "domain_id", "minute"],
    )
    return {(domain_id, as_utc(minute)): sample_id for sample_id, domain_id, minute in returned}


def as_utc(value: datetime | str) -> datetime:
    """A datetime column read by a raw cursor: aware on PostgreSQL, naive UTC (or text) on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _upsert_status_counts(rows: list[tuple[int, int, int]], add: bool) -> None:
    """Write (sample_id, code, count) rows; with `add`, a stored count of that code is added to."""
    qn = connection.ops.quote_name
    table, count = qn(OriginStatusCount._meta.db_table), qn("count")
    update = f"{count} = {table}.{count} + excluded.{count}" if add else f"{count} = excluded.{count}"
    bulk.upsert(OriginStatusCount, ["sample_id", "code", "count"], rows, conflict=["sample_id", "code"], update=update)


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
    latest = {(domain_ids[item["domain"]], minute_of(item["timestamp"])): item for item in items}
    with transaction.atomic():
        ids = _upsert_samples([(*key, item["flux"], item["pv"]) for key, item in latest.items()], add=False)
        # A plain DELETE: QuerySet.delete() would load every row to send the signals admin edits use.
        bulk.delete_in(OriginStatusCount, "sample_id", list(ids.values()))
        _upsert_status_counts(
            [
                (ids[key], int(code), count)
                for key, item in latest.items()
                for code, count in item.get("status", {}).items()
            ],
            add=False,
        )
        buckets = mark_pairs_dirty(latest.keys())
    _log_batch("origin_samples", started, samples=len(latest), domains=len(domain_ids), buckets=buckets)
    return len(latest)


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
    with transaction.atomic():
        ids = _upsert_samples([(domain_id, minute, *merged[minute][:2]) for minute in minutes], add=True)
        _upsert_status_counts(
            [
                (ids[(domain_id, minute)], code, n)
                for minute in minutes
                for code, n in sorted(merged[minute][2].items())
            ],
            add=True,
        )
        buckets = mark_buckets_dirty(domain_id, minutes)
    _log_batch("origin_log_minutes", started, samples=len(minutes), domains=1, buckets=buckets)
    return len(minutes)


def _log_batch(kind: str, started: float, **counts: int) -> None:
    logger.info(
        "ingest batch stored", extra={"kind": kind, **counts, "duration_ms": round((monotonic() - started) * 1000, 1)}
    )
