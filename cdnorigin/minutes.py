"""`1min` answers: flux, pv and status_all from the minutes the 5-minute rows carry (see
`cdnorigin.minute_blocks`), single status codes straight from the raw minute rows.

Buckets the 5-minute rows cannot answer are read from the minute rows: a dirty bucket (stale until
its recompute) and a row without minutes (rolled before they existed; `rebuild_rollups` fills them).
"""

import struct
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter

from django.db import connection

from .dirty import FIVE_MINUTES, bucket_runs, dirty_buckets
from .minute_blocks import BLOCK, MINUTES, WIDTH
from .models import OriginRollup, OriginSample
from .periods import Periods
from .rollups import sample_minutes
from .series import CHUNK, EpochSeconds, Series, binary_rows, in_scope

# The x00 code each class sum of a status_all answer is filed under, and its place in a minute.
CLASSES = ((200, 3), (300, 4), (400, 5), (500, 6))


def minute_series(
    ids: list[int], scope: list[int] | None, periods: Periods, with_status: bool, classes_only: bool = False
) -> dict[int, Series]:
    """Per-domain 1-minute series: flux and pv, or with `with_status` the status counts.

    `classes_only` (status_all, which needs no single code): the sum over every code as
    `status_total` and the 2xx..5xx sums under their x00 codes, all that status_all looks at, read
    from the 5-minute rows as flux and pv are. Other status metrics read each sample's status object.
    """
    if not with_status or classes_only:
        return _block_series(ids, scope, periods, classes_only)
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in ids}
    first, end = periods.first_datetime(), periods.end_datetime()
    base = periods.first
    if connection.vendor == "postgresql":
        in_order = list(range(size))
        for domain_id, code, indexes, values in _code_arrays(scope, first, end, base):
            target = series.get(domain_id)
            if target is not None:
                target.status[code] = _placer(indexes, in_order)(values)
        return series
    samples = in_scope(OriginSample.objects.filter(minute__gte=first, minute__lt=end), "domain_id", scope).order_by()
    for domain_id, minute, status in samples.values_list("domain_id", EpochSeconds("minute"), "status").iterator(CHUNK):
        target = series.get(domain_id)  # None: a domain created since the domains were listed
        if target is not None:
            target.add_status((minute - base) // 60, status, size)
    return series


def _placer(indexes: list[int], in_order: list[int]) -> Callable[[list[int]], list[int]]:
    """A function laying out an array of one domain's samples, in the order of their minute `indexes`,
    on the minutes `in_order` (0, 1, ...) with zeros where no sample is; made once for all of the
    domain's arrays.

    Every minute present and in order: the array is the series. Compared, never assumed: an
    aggregate's input order follows the plan, and re-posted rows move in the heap (on the benchmark
    data, 35 of 50 domains a day hold a few). Every minute present in another order: one C-level
    gather per array (measured as fast as joining the in-order runs by slices). Minutes missing: a
    cell at a time (each cell is one sample's, set once).
    """
    if indexes == in_order:
        return _as_is
    if len(indexes) > 1 and sorted(indexes) == in_order:
        gather = itemgetter(*sorted(range(len(indexes)), key=indexes.__getitem__))
        return lambda values: list(gather(values))

    def place(values: list[int]) -> list[int]:
        cells = [0] * len(in_order)
        for index, count in zip(indexes, values, strict=True):
            cells[index] = count
        return cells

    return place


def _as_is(values: list[int]) -> list[int]:
    return values


def _scope_sql(scope: list[int] | None, first: datetime, end: datetime, base: int) -> tuple[str, list]:
    where = "s.minute >= %s AND s.minute < %s"
    params: list = [base, first, end]
    if scope is not None:
        where += " AND s.domain_id = ANY(%s::int4[])"
        params.append(scope)
    return where, params


# float8 epoch (exact for whole seconds): EXTRACT's numeric costs more than the rest of the row.
MINUTE_INDEX = "((FLOOR(date_part('epoch', s.minute))::int8 - %s) / 60)::int4"
# Arrays in minute order, so a complete day is usually taken as it is (the reader still checks).
BY_MINUTE = "ORDER BY s.minute"


def _code_arrays(scope: list[int] | None, first: datetime, end: datetime, base: int) -> list[tuple]:
    """PostgreSQL: per domain and code, the minute indexes and counts as two arrays."""
    where, params = _scope_sql(scope, first, end, base)
    return binary_rows(
        f"SELECT s.domain_id, e.key::int4, array_agg({MINUTE_INDEX} {BY_MINUTE}), "
        f"array_agg(e.value::int8 {BY_MINUTE}) "
        f"FROM {_samples()} s, jsonb_each_text(s.status) e WHERE {where} GROUP BY s.domain_id, e.key",
        params,
    )


def _samples() -> str:
    return connection.ops.quote_name(OriginSample._meta.db_table)


def _block_series(ids: list[int], scope: list[int] | None, periods: Periods, classes: bool) -> dict[int, Series]:
    """Per-domain 1-minute series of flux and pv, or with `classes` the status_all sums (everything as
    `status_total`, 2xx..5xx under their x00 codes), from the 5-minute rows' minutes."""
    size = len(periods)
    first = periods.first - periods.first % FIVE_MINUTES
    buckets = -(-(periods.end - first) // FIVE_MINUTES)
    end = first + buckets * FIVE_MINUTES
    wanted = set(ids)
    raw: dict[int, set[int]] = defaultdict(set)  # domain -> bucket starts to read from minute rows
    for domain_id, start in dirty_buckets(scope, _utc(first), _utc(end)):
        if domain_id in wanted:
            raw[domain_id].add(int(start.timestamp()))
    grid = list(range(first, end, FIVE_MINUTES))
    buffers: dict[int, bytes | bytearray] = {}
    for domain_id, starts, lengths, packed in _block_rows(scope, first, end):
        if domain_id in wanted:
            buffers[domain_id] = _lay_out(starts, lengths, packed, grid, raw[domain_id])
    _patch_from_minute_rows(buffers, raw, first, buckets)
    skip = (periods.first - first) // 60
    layout = struct.Struct(f">{buckets * MINUTES * WIDTH}q")
    series = {}
    for domain_id in ids:
        target = series[domain_id] = Series.zeros(size)
        buffer = buffers.get(domain_id)
        values = layout.unpack(buffer) if buffer is not None else None

        def field(index: int, values=values) -> list[int]:
            if values is None:
                return [0] * size
            return list(values[skip * WIDTH + index : (skip + size) * WIDTH : WIDTH])

        if classes:
            target.status_total = field(2)
            target.status = {code: field(index) for code, index in CLASSES}
        else:
            target.flux, target.pv = field(0), field(1)
    return series


def _lay_out(starts: list[int], lengths: list[int], packed: bytes, grid: list[int], raw: set[int]) -> bytes | bytearray:
    """One domain's blocks (in the order of `starts`) on the `grid` of bucket starts; buckets whose row
    has no minutes yet join `raw`. A whole block for every bucket, in order (the usual case; compared,
    never assumed): the string as it is."""
    size = BLOCK.size
    if len(packed) == len(grid) * size and starts == grid:
        return packed
    buffer = bytearray(len(grid) * size)
    at = 0
    for start, length in zip(starts, lengths, strict=True):
        if length == size:
            slot = (start - grid[0]) // FIVE_MINUTES
            buffer[slot * size : (slot + 1) * size] = packed[at : at + size]
        else:
            raw.add(start)
        at += length
    return buffer


def _block_rows(scope: list[int] | None, first: int, end: int) -> list[tuple[int, list[int], list[int], bytes]]:
    """Per domain, its 5-minute rows in [first, end): their starts, block lengths, and the blocks
    concatenated in that order."""
    if connection.vendor == "postgresql":
        return [
            (domain_id, starts, lengths, bytes(packed or b""))
            for domain_id, starts, lengths, packed in _block_arrays(scope, first, end)
        ]
    return _block_lists(scope, first, end)


def _block_arrays(scope: list[int] | None, first: int, end: int) -> list[tuple]:
    """PostgreSQL: one row per domain, its starts, block lengths and blocks concatenated in one order
    (binary: bytes arrive as they are, not hex-encoded)."""
    qn = connection.ops.quote_name
    column = qn("minutes")
    sql = (
        f"SELECT {qn('domain_id')}, array_agg(date_part('epoch', {qn('start')})::int8), "
        f"array_agg(octet_length({column})), string_agg({column}, ''::bytea) "
        f"FROM {qn(OriginRollup._meta.db_table)} "
        f"WHERE {qn('interval')} = '5min' AND {qn('start')} >= %s AND {qn('start')} < %s"
    )
    params: list = [_utc(first), _utc(end)]
    if scope is not None:
        # A filter, not an index condition: one range of the (interval, start) index, as selectors do.
        sql += f" AND ({qn('domain_id')} = ANY(%s::int8[])) IS TRUE"
        params.append(scope)
    return binary_rows(f"{sql} GROUP BY {qn('domain_id')}", params)


def _block_lists(scope: list[int] | None, first: int, end: int) -> list[tuple]:
    """The portable reader: the same per-domain lists from the rows in order."""
    rows = OriginRollup.objects.filter(interval="5min", start__gte=_utc(first), start__lt=_utc(end))
    if scope is not None:
        rows = rows.filter(domain_id__in=scope)
    per_domain: dict[int, tuple[list, list, list]] = {}
    for domain_id, start, block in (
        rows.order_by("domain_id", "interval", "start")
        .values_list("domain_id", EpochSeconds("start"), "minutes")
        .iterator(CHUNK)
    ):
        starts, lengths, blocks = per_domain.setdefault(domain_id, ([], [], []))
        starts.append(start)
        lengths.append(len(block))
        blocks.append(bytes(block))
    return [
        (domain_id, starts, lengths, b"".join(blocks)) for domain_id, (starts, lengths, blocks) in per_domain.items()
    ]


def _patch_from_minute_rows(
    buffers: dict[int, bytes | bytearray], raw: dict[int, set[int]], first: int, buckets: int
) -> None:
    """Rewrite the buckets in `raw` from the minute rows: zeros, then each sample's minute."""
    ranges = []
    for domain_id, starts in raw.items():
        if not starts:
            continue
        buffer = buffers.get(domain_id)
        if buffer is None:
            buffer = buffers[domain_id] = bytearray(buckets * BLOCK.size)
        elif not isinstance(buffer, bytearray):
            buffer = buffers[domain_id] = bytearray(buffer)
        for start in starts:
            slot = (start - first) // FIVE_MINUTES
            buffer[slot * BLOCK.size : (slot + 1) * BLOCK.size] = bytes(BLOCK.size)
        ranges += [(domain_id, _utc(lo), _utc(hi)) for lo, hi in bucket_runs(sorted(starts))]
    minute = struct.Struct(f">{WIDTH}q")
    for domain_id, at, values in sample_minutes(ranges):
        if at - at % FIVE_MINUTES in raw[domain_id]:
            minute.pack_into(buffers[domain_id], (at - first) // 60 * minute.size, *values)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
