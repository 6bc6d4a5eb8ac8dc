"""Step 3: the rows the plan names, as dense arrays per domain on the answer's grid.

One reader per source (`plan.source`), each reading its rows through one function whose PostgreSQL
and SQLite forms differ only inside it (`rollup_arrays`, `code_arrays`, `block_rows`): PostgreSQL
aggregates each domain's rows into arrays, fetched in binary (psycopg decodes arrays in C, where a
Django row costs a tuple and converters apiece); SQLite streams the rows and groups them in Python.
Both hand back the same per-domain tuples in start order. Cells of stale periods are left at zero
here and summed by `patch`, which also gets the clean 5-minute rows inside them (`Readings.fives`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BigIntegerField, Func

from cdnorigin.minute_blocks import BLOCK
from cdnorigin.models import OriginRollup, OriginSample
from cdnorigin.origin_data.plan import MINUTE_BLOCKS, MINUTE_CODES, Plan
from cdnorigin.origin_data.series import SLOT_BYTES, Series, Slots
from common.rows import binary_rows

# Rows fetched per round trip when streaming rows (SQLite).
CHUNK = 20000
# OriginRollup columns and the Series list each fills; `status` is added code by code.
SERIES_COLUMNS = {"flux": "flux", "pv": "pv", "peak_flux_5m": "peak_flux", "peak_pv_5m": "peak_pv"}
# Columns holding fixed-width packed values: one byte string per domain, the rows' values concatenated.
PACKED_COLUMNS = {"five_minute_flux": SLOT_BYTES, "five_minute_pv": SLOT_BYTES, "minutes": BLOCK.size}


@dataclass
class Readings:
    series: dict[int, Series] = field(default_factory=dict)  # rollups, minute codes: on the period grid
    blocks: dict[int, bytes | bytearray] = field(default_factory=dict)  # minute blocks, on the bucket grid
    fives: dict[tuple[int, int], list[tuple[int, int, dict]]] = field(default_factory=dict)  # see `_stale_fives`
    slots: dict[int, Slots] = field(default_factory=dict)  # hour rows' packed values, for the total's peaks


def read(plan: Plan) -> Readings:
    if plan.source == MINUTE_BLOCKS:
        return Readings(blocks=_minute_blocks(plan))
    if plan.source == MINUTE_CODES:
        return Readings(series=_code_series(plan))
    series, slots = _rollup_series(plan)
    if plan.slot_column and plan.periods.interval == "day":
        slots = _hour_slots(plan)
    return Readings(series=series, fives=_stale_fives(plan), slots=slots)


# --- the row readers: one signature each, the database's own form inside ------------------------


def uses_arrays() -> bool:
    """Whether the readers aggregate rows into arrays in the database (PostgreSQL) or stream them."""
    return connection.vendor == "postgresql"


def rollup_arrays(interval: str, scope: list[int] | None, first: int, end: int, columns: tuple[str, ...]) -> list:
    """Per domain, its rollup rows of `interval` in [first, end), in start order: (domain_id, starts,
    then per column a list of values, or for a PACKED_COLUMNS column one byte string)."""
    if uses_arrays():
        widths = tuple(PACKED_COLUMNS.get(column) for column in columns)
        return [_in_start_order(row, widths) for row in _rollup_arrays(interval, scope, first, end, columns)]
    rows = OriginRollup.objects.filter(interval=interval, start__gte=_utc(first), start__lt=_utc(end))
    if scope is not None:
        rows = rows.filter(domain_id__in=scope)
    rows = rows.order_by("domain_id", "interval", "start").values_list("domain_id", EpochSeconds("start"), *columns)
    return _grouped(rows.iterator(CHUNK), columns)


def _rollup_arrays(interval: str, scope: list[int] | None, first: int, end: int, columns: tuple[str, ...]) -> list:
    """PostgreSQL: one row of arrays per domain, in the heap order the aggregates see.

    Measured on 31 days x 50 domains: the domain list is applied as a filter (`IS TRUE`), not as an
    index condition, so PostgreSQL reads the (interval, start) range (~1,900 pages) instead of walking
    each domain's rows of every interval and day through the domain index (~14,000 pages: the whole
    table); no ORDER BY inside the aggregates, as each would sort apart (`_in_start_order` sorts).
    """
    qn = connection.ops.quote_name
    epoch = f"date_part('epoch', {qn('start')})::int8"  # float8, exact for whole seconds; numeric is slower
    selects = [qn("domain_id"), f"array_agg({epoch})"]
    for column in columns:
        aggregate = "string_agg({}, ''::bytea)" if column in PACKED_COLUMNS else "array_agg({})"
        selects.append(aggregate.format(qn(column)))
    where = f"{qn('interval')} = %s AND {qn('start')} >= %s AND {qn('start')} < %s"
    params: list = [interval, _utc(first), _utc(end)]
    if scope is not None:
        where += f" AND ({qn('domain_id')} = ANY(%s::int8[])) IS TRUE"
        params.append(scope)
    table = qn(OriginRollup._meta.db_table)
    return binary_rows(f"SELECT {', '.join(selects)} FROM {table} WHERE {where} GROUP BY {qn('domain_id')}", params)


def _in_start_order(row: tuple, widths: tuple[int | None, ...]) -> tuple:
    """A row of `_rollup_arrays` with its arrays, and the pieces of its packed strings (`widths`: the
    width of each column's pieces, None for an array), in start order.

    The aggregates hand rows over in heap order, and every recompute of a period moves its row (a
    delete and an insert), so a live table is seldom in start order; sorted here with one C-level
    gather per array, the layout takes its whole-array path again (on 31 days x 50 domains of shuffled
    hour rows the answer took 62 ms instead of ~35 without this).
    """
    domain_id, starts, *arrays = row
    arrays = [(b"" if width else []) if array is None else array for array, width in zip(arrays, widths, strict=True)]
    if starts == sorted(starts):
        return (domain_id, starts, *arrays)
    gather = itemgetter(*sorted(range(len(starts)), key=starts.__getitem__))  # two or more starts: unsorted
    ordered = []
    for array, width in zip(arrays, widths, strict=True):
        if width:
            ordered.append(b"".join(gather([array[at : at + width] for at in range(0, len(array), width)])))
        else:
            ordered.append(list(gather(array)))
    return (domain_id, list(gather(starts)), *ordered)


def _grouped(rows, columns: tuple[str, ...]) -> list[tuple]:
    """Rows (domain_id, start, *values) ordered by domain and start as `rollup_arrays` hands them over."""
    per_domain: dict[int, tuple[list, list[list]]] = {}
    for domain_id, start, *values in rows:
        starts, lists = per_domain.setdefault(domain_id, ([], [[] for _ in columns]))
        starts.append(start)
        for cells, value in zip(lists, values, strict=True):
            cells.append(value)
    result = []
    for domain_id, (starts, lists) in per_domain.items():
        arrays = [
            b"".join(bytes(value) for value in cells) if column in PACKED_COLUMNS else cells
            for column, cells in zip(columns, lists, strict=True)
        ]
        result.append((domain_id, starts, *arrays))
    return result


def code_arrays(
    scope: list[int] | None, first: int, end: int, klass: int | None = None
) -> list[tuple[int, int, list[int], list[int]]]:
    """Per domain and status code (of class `klass` only, if given) in the minute rows of [first, end):
    (domain_id, code, minute indexes counted from `first`, counts), in minute order where the database
    keeps it (the layout checks)."""
    if uses_arrays():
        return _code_arrays(scope, _utc(first), _utc(end), first, klass)
    samples = OriginSample.objects.filter(minute__gte=_utc(first), minute__lt=_utc(end)).order_by()
    if scope is not None:
        samples = samples.filter(domain_id__in=scope)
    codes: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for domain_id, minute, status in samples.values_list("domain_id", EpochSeconds("minute"), "status").iterator(CHUNK):
        for code, count in status.items():
            if klass is not None and int(code) // 100 != klass:
                continue
            indexes, counts = codes.setdefault((domain_id, int(code)), ([], []))
            indexes.append((minute - first) // 60)
            counts.append(count)
    return [(domain_id, code, indexes, counts) for (domain_id, code), (indexes, counts) in codes.items()]


# float8 epoch (exact for whole seconds): EXTRACT's numeric costs more than the rest of the row.
MINUTE_INDEX = "((FLOOR(date_part('epoch', s.minute))::int8 - %s) / 60)::int4"
# Arrays in minute order, so a complete day is usually taken as it is (the layout still checks).
BY_MINUTE = "ORDER BY s.minute"


def _code_arrays(
    scope: list[int] | None, first: datetime, end: datetime, base: int, klass: int | None = None
) -> list[tuple]:
    """PostgreSQL: per domain and code, the minute indexes and counts as two arrays."""
    where = "s.minute >= %s AND s.minute < %s"
    params: list = [base, first, end]
    if scope is not None:
        where += " AND s.domain_id = ANY(%s::int4[])"
        params.append(scope)
    if klass is not None:
        where += " AND left(e.key, 1) = %s"
        params.append(str(klass))
    samples = connection.ops.quote_name(OriginSample._meta.db_table)
    return binary_rows(
        f"SELECT s.domain_id, e.key::int4, array_agg({MINUTE_INDEX} {BY_MINUTE}), "
        f"array_agg(e.value::int8 {BY_MINUTE}) "
        f"FROM {samples} s, jsonb_each_text(s.status) e WHERE {where} GROUP BY s.domain_id, e.key",
        params,
    )


def block_rows(scope: list[int] | None, first: int, end: int) -> list[tuple[int, list[int], bytes]]:
    """Per domain, its 5-minute rows in [first, end): their starts, and their minute blocks concatenated
    in that order (BLOCK.size each)."""
    return rollup_arrays("5min", scope, first, end, ("minutes",))


class EpochSeconds(Func):
    """Unix seconds of a datetime column, computed by the database: parsing a Python datetime per row
    would cost more than the rest of an answer."""

    output_field = BigIntegerField()

    def get_db_converters(self, connection):
        return []  # both databases already answer a Python int

    def as_sql(self, compiler, connection, **extra):
        raise ImproperlyConfigured(f"origin statistics support SQLite and PostgreSQL, not {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint")

    def as_sqlite(self, compiler, connection, **extra):
        # '%%%%s' survives both the template and the backend's placeholder rewriting as strftime's '%s'.
        return super().as_sql(compiler, connection, template="CAST(STRFTIME('%%%%s', %(expressions)s) AS INTEGER)")


# --- the sources, laid out on the answer's grid ---------------------------------------------------


def _rollup_series(plan: Plan) -> tuple[dict[int, Series], dict[int, Slots]]:
    """Per-domain series from the rollups of the periods' interval, stale cells at zero; at hour with
    `plan.slot_column`, also each domain's packed 5-minute values of the rows on the grid (same scan)."""
    periods = plan.periods
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in plan.ids}
    columns = plan.columns
    slotted = plan.slot_column is not None and periods.interval == "hour"
    if slotted:
        columns = (*columns, plan.slot_column)
    grid = list(periods.starts)
    position: dict[int, int] | None = None
    slots = {}
    for domain_id, starts, *arrays in rollup_arrays(periods.interval, plan.scope, periods.first, periods.end, columns):
        target = series.get(domain_id)
        if target is None:
            continue
        whole = starts == grid
        if not whole and position is None:
            position = {start: index for index, start in enumerate(grid)}  # rollup rows start periods
        indexes = range(len(starts)) if whole else [position.get(start) for start in starts]
        for column, array in zip(plan.columns, arrays, strict=False):  # the slot column, last, is not a series
            if column == "status":
                for index, codes in zip(indexes, array, strict=True):
                    if index is not None and (domain_id, index) not in plan.stale:
                        target.add_status(index, codes, size, plan.status_key)
            elif whole:
                setattr(target, SERIES_COLUMNS[column], array)
            else:
                cells = getattr(target, SERIES_COLUMNS[column])
                for index, value in zip(indexes, array, strict=True):
                    if index is not None:
                        cells[index] = value
        if slotted:
            slots[domain_id] = _on_grid(starts, arrays[-1], None if whole else position)
    for domain_id, index in plan.stale:
        target = series[domain_id]
        target.flux[index] = target.pv[index] = target.peak_flux[index] = target.peak_pv[index] = 0
    return series, slots


def _on_grid(starts: list[int], packed: bytes, keep: Callable | dict | None) -> Slots:
    """Slots of the rows starting at a period start (`keep`; None: all rows)."""
    if keep is None:
        return Slots(starts, packed)
    pieces = [(start, packed[n * SLOT_BYTES : (n + 1) * SLOT_BYTES]) for n, start in enumerate(starts) if start in keep]
    return Slots([start for start, _ in pieces], b"".join(piece for _, piece in pieces))


def _hour_slots(plan: Plan) -> dict[int, Slots]:
    """For day answers: each domain's packed values of the hour rows inside the periods (a day is made of
    the hour rows starting in it, as its rollup is)."""
    periods, wanted = plan.periods, set(plan.ids)
    rows = rollup_arrays("hour", plan.scope, periods.first, periods.end, (plan.slot_column,))
    return {domain_id: Slots(starts, packed) for domain_id, starts, packed in rows if domain_id in wanted}


def _stale_fives(plan: Plan) -> dict[tuple[int, int], list[tuple[int, int, dict]]]:
    """The clean 5-minute rows inside each stale hour or day, (domain id, period index) -> their (flux, pv,
    status): `patch` adds the dirty buckets' raw values to them. None needed at 5min (a stale period is
    its one dirty bucket)."""
    periods = plan.periods
    if periods.interval == "5min" or not plan.stale:
        return {}
    domain_ids = sorted({domain_id for domain_id, _ in plan.stale})
    first = min(periods.bounds(index)[0] for _, index in plan.stale)
    stop = max(periods.bounds(index)[1] for _, index in plan.stale)
    fives: dict[tuple[int, int], list[tuple[int, int, dict]]] = {}
    for domain_id, starts, flux, pv, codes in rollup_arrays("5min", domain_ids, first, stop, ("flux", "pv", "status")):
        for start, values in zip(starts, zip(flux, pv, codes, strict=True), strict=True):
            key = (domain_id, periods.index_of(start))
            if key in plan.stale and (domain_id, start) not in plan.dirty:
                fives.setdefault(key, []).append(values)
    return fives


def _code_series(plan: Plan) -> dict[int, Series]:
    """Per-domain 1-minute series of every status code, from the minute rows."""
    periods = plan.periods
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in plan.ids}
    in_order = list(range(size))
    for domain_id, code, indexes, counts in code_arrays(plan.scope, periods.first, periods.end, plan.status_class):
        target = series.get(domain_id)  # None: a domain created since the domains were listed
        if target is not None:
            target.status[code] = _placer(indexes, in_order)(counts)
    return series


def _placer(indexes: list[int], in_order: list[int]) -> Callable[[list[int]], list[int]]:
    """A function laying out an array of one domain's samples, in the order of their minute `indexes`,
    on the minutes `in_order` (0, 1, ...) with zeros where no sample is.

    Every minute present and in order: the array is the series. Compared, never assumed: an
    aggregate's input order follows the plan, and re-posted rows move in the heap. Every minute present
    in another order: one C-level gather per array. Minutes missing: a cell at a time (each cell is one
    sample's, set once).
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


def _minute_blocks(plan: Plan) -> dict[int, bytes | bytearray]:
    """Per domain, the minute blocks of its 5-minute rows laid out on the grid of buckets covering the
    periods (zeros where a bucket has no row): a whole block for every bucket, in order (the usual
    case; compared, never assumed), is taken as it is."""
    first, end = plan.bucket_range()
    grid = list(range(first, end, 300))
    size = BLOCK.size
    wanted = set(plan.ids)
    blocks = {}
    for domain_id, starts, packed in block_rows(plan.scope, first, end):
        if domain_id not in wanted:
            continue
        if starts == grid:
            blocks[domain_id] = packed
            continue
        buffer = bytearray(len(grid) * size)
        for n, start in enumerate(starts):
            slot = (start - first) // 300
            buffer[slot * size : (slot + 1) * size] = packed[n * size : (n + 1) * size]
        blocks[domain_id] = buffer
    return blocks


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
