"""DescribeCdnOriginData: origin statistics per domain and period, read from rollups (API.md section 4).

`1min` answers come from the raw minute rows. `5min`, `hour` and `day` answers come from the
OriginRollup rows of that interval, except a (domain, period) holding a dirty 5-minute bucket: it is
rebuilt from 5-minute values, the clean ones from the 5-minute rollup and the dirty ones from raw
minute rows, so an answer is never stale. Peaks of the `total` at `hour`/`day` come from 5-minute
sums across the domains, never from adding per-domain peaks: the twelve 5-minute values each hour row
carries are summed slot by slot over the domains (dirty buckets patched with raw values), then maximised.
On PostgreSQL, flux and pv answers read the rollups as one row of arrays per domain.
"""

from collections import defaultdict
from datetime import UTC, datetime
from operator import itemgetter

from django.db import connection
from django.utils import timezone

from .dirty import bucket_runs, dirty_buckets
from .errors import VolcError
from .minutes import minute_series
from .models import Domain, OriginRollup
from .params import BOTH, PER_DOMAIN, TOTAL, OriginQuery, parse_query
from .periods import FIVE_MINUTES, FIXED_SECONDS, Periods, floor, local_zone, periods_between
from .points import Points, Timeline
from .rollups import SLOT_STRUCT, SLOTS, compute_five_minute_rows, pack_slots, unpack_slots
from .series import (
    CHUNK,
    EMPTY_SLOTS,
    STATUS_CLASSES,
    EpochSeconds,
    Series,
    Slots,
    answer_series,
    answered_codes,
    binary_rows,
    check_answer_size,
    column_sums,
    in_scope,
    slot_sums,
)

TOTAL_NAME = "total"
RATES = ("bandwidth", "qps")  # metrics answered as per-second floats; the others are integer sums
# OriginRollup columns and the Series list each fills.
SERIES_COLUMNS = {"flux": "flux", "pv": "pv", "peak_flux_5m": "peak_flux", "peak_pv_5m": "peak_pv"}


def describe_origin_data(params: dict, allowed_domains: set[str] | None, *, now: datetime | None = None) -> dict:
    """The `Result` of DescribeCdnOriginData for a caller who may see `allowed_domains` (None: all)."""
    query = parse_query(params, now or timezone.now())
    domains = _resolve_domains(query.domains, allowed_domains)
    periods = periods_between(query.start, query.end, query.interval)
    ids = [domain_id for domain_id, _ in domains]
    # Every domain of a main account: no `IN (...)` list, however many domains there are.
    scope = None if query.domains is None and allowed_domains is None else ids
    with_status = query.metric.startswith("status")
    with_peaks = query.metric in ("bandwidth", "qps") and query.interval in ("hour", "day")
    total_peaks = with_peaks and query.output in (TOTAL, BOTH)
    slot_column = "five_minute_flux" if query.metric == "bandwidth" else "five_minute_pv"
    raw_dirty, slots = {}, {}
    if query.interval == "1min":
        per_domain = minute_series(ids, scope, periods, with_status, classes_only=query.metric == "status_all")
    else:
        hour_slots = total_peaks and query.interval == "hour"
        per_domain, raw_dirty, slots = _rollup_series(
            ids, scope, periods, with_status, _read_columns(query), slot_column if hour_slots else None
        )
    # The size bound (series.MAX_POINTS_PER_ANSWER), counted from the codes read: before any answer is built.
    by_domain, with_total = query.output in (PER_DOMAIN, BOTH), query.output in (TOTAL, BOTH)
    check_answer_size(answer_series(query.metric, per_domain.values(), by_domain, with_total), len(periods))
    resources = []
    timeline = Timeline(periods.starts)  # one JSON template of the timestamps for every metric
    if query.output in (PER_DOMAIN, BOTH):
        resources += [_resource(name, query, timeline, periods, per_domain[domain_id]) for domain_id, name in domains]
    if query.output in (TOTAL, BOTH):
        total = Series.total(list(per_domain.values()), len(periods))
        if total_peaks:
            if query.interval == "day":
                slots = _hour_slots(scope, periods, per_domain, slot_column)
            peaks = _total_peak(periods, slots, raw_dirty, slot_column)
            if query.metric == "bandwidth":
                total.peak_flux = peaks
            else:
                total.peak_pv = peaks
        resources.append(_resource(TOTAL_NAME, query, timeline, periods, total))
    return {"Resources": resources}


def _resolve_domains(names: tuple[str, ...] | None, allowed: set[str] | None) -> list[tuple[int, str]]:
    """(id, name) of the domains asked about, in request order; 403 before 404, as the seed's sub-accounts."""
    if names is None:
        rows = Domain.objects.all() if allowed is None else Domain.objects.filter(name__in=allowed)
        return list(rows.order_by("name").values_list("id", "name"))
    if allowed is not None and any(name not in allowed for name in names):
        raise VolcError(403, "AccessDenied.IAMUnauthorized", "您没有权限执行该操作")
    found = dict(Domain.objects.filter(name__in=names).values_list("name", "id"))
    missing = [name for name in names if name not in found]
    if missing:
        raise VolcError(404, "NotFound.Domain", f"账户下无此域名:{','.join(missing)}")
    return [(found[name], name) for name in names]


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _read_columns(query: OriginQuery) -> tuple[str, ...]:
    """The rollup columns (of SERIES_COLUMNS) a flux or pv metric is answered from at 5min/hour/day."""
    if query.metric in ("flux", "pv"):
        return (query.metric,)
    column = "flux" if query.metric == "bandwidth" else "pv"
    return (column,) if query.interval == "5min" else (f"peak_{column}_5m",)


def _rollup_series(
    ids: list[int],
    scope: list[int] | None,
    periods: Periods,
    with_status: bool,
    columns: tuple[str, ...] = tuple(SERIES_COLUMNS),
    slot_column: str | None = None,
) -> tuple[dict[int, Series], dict[tuple[int, int], tuple[int, int, dict]], dict[int, Slots]]:
    """Per-domain series from the rollups of the period's interval, stale periods rebuilt from 5-minute values.

    Also returns the raw 5-minute values of every dirty bucket in range, (domain_id, bucket start) ->
    (flux, pv, status), and with `slot_column` (hour rows) each domain's packed 5-minute values of that
    column, stale rows included, for the `total` peaks.
    """
    size = len(periods)
    series = {domain_id: Series.zeros(size) for domain_id in ids}
    first, end = periods.first_datetime(), periods.end_datetime()
    # Marks of domains not answered about (deleted, or created since they were listed) are left out.
    dirty = {
        (domain_id, _ts(start))
        for domain_id, start in dirty_buckets(scope, first, end)
        if domain_id in series and periods.index_of(_ts(start)) is not None
    }
    stale = {(domain_id, periods.index_of(start)) for domain_id, start in dirty}
    if _reads_arrays(with_status):
        slots = _fill_from_arrays(series, scope, periods, stale, columns, slot_column)
    else:
        slots = _fill_from_rows(series, scope, periods, stale, with_status, slot_column)
    raw_dirty = _raw_five_minute_values(dirty)
    for (domain_id, index), values in _stale_five_minute_values(stale, dirty, raw_dirty, periods).items():
        target = series[domain_id]
        for flux, pv, codes in values:
            target.flux[index] += flux
            target.pv[index] += pv
            target.peak_flux[index] = max(target.peak_flux[index], flux)
            target.peak_pv[index] = max(target.peak_pv[index], pv)
            if with_status:
                target.add_status(index, codes, size)
    return series, raw_dirty, slots


def _reads_arrays(with_status: bool) -> bool:
    """PostgreSQL reads flux and pv rollups as arrays; status metrics (a JSON object per row) and SQLite read rows."""
    return connection.vendor == "postgresql" and not with_status


def _fill_from_rows(
    series: dict[int, Series],
    scope: list[int] | None,
    periods: Periods,
    stale: set[tuple[int, int]],
    with_status: bool,
    slot_column: str | None,
) -> dict[int, Slots]:
    """The portable reader: one rollup row at a time; stale cells are left at zero for the rebuild."""
    size = len(periods)
    columns = ["domain_id", EpochSeconds("start"), "flux", "pv", "peak_flux_5m", "peak_pv_5m"]
    columns += [slot_column] if slot_column else []
    columns += ["status"] if with_status else []
    rows = in_scope(
        OriginRollup.objects.filter(
            interval=periods.interval, start__gte=periods.first_datetime(), start__lt=periods.end_datetime()
        ),
        "domain_id",
        scope,
    )
    rows = rows.order_by("domain_id", "interval", "start").values_list(*columns)
    position = {start: index for index, start in enumerate(periods.starts)}  # rollup rows start periods
    slot_rows = []
    for row in rows.iterator(CHUNK):
        target = series.get(row[0])
        index = position.get(row[1])
        if target is None or index is None:
            continue
        if slot_column:
            slot_rows.append((row[0], row[1], row[6]))
        if stale and (row[0], index) in stale:
            continue
        # One rollup row per domain and period: plain assignment.
        target.flux[index] = row[2]
        target.pv[index] = row[3]
        target.peak_flux[index] = row[4]
        target.peak_pv[index] = row[5]
        if with_status:
            target.add_status(index, row[-1], size)
    return _slots_of_rows(slot_rows)


def _fill_from_arrays(
    series: dict[int, Series],
    scope: list[int] | None,
    periods: Periods,
    stale: set[tuple[int, int]],
    columns: tuple[str, ...],
    slot_column: str | None,
) -> dict[int, Slots]:
    """PostgreSQL, metrics without status: a row of arrays per domain (see `_rollup_arrays`), only the
    Series lists the metric reads (`columns`, names of SERIES_COLUMNS); the others stay zero.

    A domain with a row in every period, in order (the usual case), takes the arrays as its lists
    whole; stale cells are then reset to zero for the rebuild, as the portable reader never fills them.
    """
    starts = list(periods.starts)
    position = None
    slots = {}
    names = [SERIES_COLUMNS[column] for column in columns]
    for domain_id, row_starts, *arrays in _rollup_arrays(
        periods.interval, scope, periods.first, periods.end, columns, slot_column
    ):
        target = series.get(domain_id)
        if target is None:
            continue
        if row_starts == starts:
            for name, array in zip(names, arrays[: len(names)], strict=True):
                setattr(target, name, array)
        else:
            if position is None:
                position = {start: index for index, start in enumerate(starts)}
            for name, array in zip(names, arrays[: len(names)], strict=True):
                cells = getattr(target, name)
                for start, value in zip(row_starts, array, strict=True):
                    index = position.get(start)
                    if index is not None:
                        cells[index] = value
        if slot_column:
            unfilled, packed = arrays[len(columns) :]
            slots[domain_id] = Slots.of_arrays(row_starts, unfilled, packed, None if row_starts == starts else position)
    for domain_id, index in stale:
        target = series[domain_id]
        target.flux[index] = target.pv[index] = target.peak_flux[index] = target.peak_pv[index] = 0
    return slots


def _rollup_arrays(
    interval: str, scope: list[int] | None, first: int, end: int, columns: tuple[str, ...], slot_column: str | None
) -> list[tuple]:
    """PostgreSQL: per domain, its rollup rows of `interval` in [first, end) as arrays, in one order.

    Each row: domain_id, the rows' starts (epoch seconds), an array per column of `columns`, then with
    `slot_column` the starts of rows without packed values (None: none) and the packed values of the
    others concatenated in the same order. Some fifty rows of arrays instead of a row per domain and
    hour: psycopg decodes binary arrays in C, where a Django row costs a tuple and converters apiece.

    Measured on 31 days x 50 domains: the domain list is applied as a filter (`IS TRUE`), not as an
    index condition, so PostgreSQL reads the (interval, start) range (~1,900 pages, as the row reader
    did) instead of walking each domain's rows of every interval and day through the domain index
    (~14,000 pages: the whole table); no ORDER BY inside the aggregates, as each would sort apart.
    """
    qn = connection.ops.quote_name
    epoch = f"date_part('epoch', {qn('start')})::int8"  # float8, exact for whole seconds; numeric is slower
    selects = [qn("domain_id"), f"array_agg({epoch})"] + [f"array_agg({qn(column)})" for column in columns]
    if slot_column:
        filled = f"octet_length({qn(slot_column)}) = {SLOT_STRUCT.size}"
        selects += [
            f"array_agg({epoch}) FILTER (WHERE NOT {filled})",
            f"string_agg({qn(slot_column)}, ''::bytea) FILTER (WHERE {filled})",
        ]
    where = f"{qn('interval')} = %s AND {qn('start')} >= %s AND {qn('start')} < %s"
    params: list = [interval, _utc(first), _utc(end)]
    if scope is not None:
        where += f" AND ({qn('domain_id')} = ANY(%s::int8[])) IS TRUE"
        params.append(scope)
    sql = f"SELECT {', '.join(selects)} FROM {qn(OriginRollup._meta.db_table)} WHERE {where} GROUP BY {qn('domain_id')}"
    return [_in_start_order(row, len(columns), slot_column is not None) for row in binary_rows(sql, params)]


def _in_start_order(row: tuple, columns: int, slotted: bool) -> tuple:
    """A row of `_rollup_arrays` with its arrays (and packed values) in the order of their starts.

    The aggregates hand rows over in heap order, and every recompute of a period moves its row (a
    delete and an insert), so a live table is seldom in start order; sorted here with one C-level
    gather per array, the readers take their whole-array paths again (on 31 days x 50 domains of
    shuffled hour rows the answer took 62 ms instead of ~35 without this).
    """
    domain_id, starts, *arrays = row
    if starts == sorted(starts):
        return row
    gather = itemgetter(*sorted(range(len(starts)), key=starts.__getitem__))  # two or more: unsorted
    ordered = [list(gather(array)) for array in arrays[:columns]]
    if slotted:
        unfilled, packed = arrays[columns:]
        if packed:
            # The packed values are the filled rows', in the rows' order: their pieces by start.
            width = SLOT_STRUCT.size
            pieces = [packed[at : at + width] for at in range(0, len(packed), width)]
            filled = starts
            if unfilled:
                missing = set(unfilled)
                filled = [start for start in starts if start not in missing]
            by_start = sorted(range(len(filled)), key=filled.__getitem__)
            packed = b"".join(itemgetter(*by_start)(pieces)) if len(pieces) > 1 else packed
        ordered += [sorted(unfilled) if unfilled else unfilled, packed]
    return (domain_id, list(gather(starts)), *ordered)


def _raw_five_minute_values(dirty: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int, dict]]:
    """Raw 5-minute sums of the dirty buckets, zero where the minute rows are gone."""
    values = {pair: (0, 0, {}) for pair in dirty}
    if not dirty:
        return values
    for first, stop in bucket_runs(sorted({start for _, start in dirty})):
        domain_ids = sorted({domain_id for domain_id, start in dirty if first <= start < stop})
        for row in compute_five_minute_rows(domain_ids, _utc(first), _utc(stop)):
            pair = (row["domain_id"], _ts(row["start"]))
            if pair in values:
                values[pair] = (row["flux"], row["pv"], row["status"])
    return values


def _stale_five_minute_values(
    stale: set[tuple[int, int]],
    dirty: set[tuple[int, int]],
    raw_dirty: dict[tuple[int, int], tuple[int, int, dict]],
    periods: Periods,
) -> dict[tuple[int, int], list[tuple[int, int, dict]]]:
    """The 5-minute values inside each stale (domain, period): rollup rows where clean, raw where dirty."""
    values = defaultdict(list)
    for (domain_id, start), value in raw_dirty.items():
        values[(domain_id, periods.index_of(start))].append(value)
    if periods.interval == "5min" or not stale:
        return values
    domain_ids = sorted({domain_id for domain_id, _ in stale})
    first = min(periods.bounds(index)[0] for _, index in stale)
    stop = max(periods.bounds(index)[1] for _, index in stale)
    rows = OriginRollup.objects.filter(
        interval="5min", domain_id__in=domain_ids, start__gte=_utc(first), start__lt=_utc(stop)
    ).order_by("domain_id", "interval", "start")
    for domain_id, start, flux, pv, codes in rows.values_list(
        "domain_id", EpochSeconds("start"), "flux", "pv", "status"
    ).iterator(CHUNK):
        key = (domain_id, periods.index_of(start))
        if key in stale and (domain_id, start) not in dirty:
            values[key].append((flux, pv, codes))
    return values


def _hour_slots(scope: list[int] | None, periods: Periods, series: dict[int, Series], column: str) -> dict[int, Slots]:
    """Each answered domain's packed `column` of the hour rows inside the periods (a day is made of the
    hour rows starting in it, as its rollup is)."""
    if _reads_arrays(False):
        rows = _rollup_arrays("hour", scope, periods.first, periods.end, (), column)
        return {
            domain_id: Slots.of_arrays(starts, unfilled, packed)
            for domain_id, starts, unfilled, packed in rows
            if domain_id in series
        }
    rows = in_scope(
        OriginRollup.objects.filter(
            interval="hour", start__gte=periods.first_datetime(), start__lt=periods.end_datetime()
        ),
        "domain_id",
        scope,
    ).order_by("domain_id", "interval", "start")
    return _slots_of_rows(
        row for row in rows.values_list("domain_id", EpochSeconds("start"), column).iterator(CHUNK) if row[0] in series
    )


def _slots_of_rows(rows) -> dict[int, Slots]:
    """(domain_id, start, packed) rows, ordered by domain and start, as each domain's Slots."""
    pieces = defaultdict(list)
    for domain_id, start, packed in rows:
        pieces[domain_id].append((start, packed))
    return {domain_id: Slots.of_rows(rows) for domain_id, rows in pieces.items()}


def _total_peak(
    periods: Periods,
    slots: dict[int, Slots],
    raw_dirty: dict[tuple[int, int], tuple[int, int, dict]],
    column: str,
) -> list[int]:
    """Per period, the largest 5-minute value of `column` summed over the domains of `slots`.

    Every domain's packed hour values are laid out on one grid of the hours of the periods and summed
    slot by slot across domains (`slot_sums`). An hour holding dirty buckets keeps its row's values for
    the clean buckets (they were rolled from the same 5-minute rows) and takes the raw values for the
    dirty ones; a dirty bucket whose hour has no row adds to zeros. Hour rows written before the slots
    existed are filled from their 5-minute rows. Hours off the grid (a zone whose offset changed by
    half an hour inside the range) are summed on their own.
    """
    zone = local_zone()
    which = 0 if column == "five_minute_flux" else 1
    patches: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for (domain_id, start), values in raw_dirty.items():
        hour = floor(start, "hour", zone)
        patches[(domain_id, hour)].append(((start - hour) // FIVE_MINUTES, values[which]))
    unfilled = _five_minute_slots(
        {(domain_id, start): [0] * SLOTS for domain_id, block in slots.items() for start in block.unfilled},
        zone,
        ("flux", "pv")[which],
    )
    first, hours = periods.first, (periods.end - periods.first) // 3600
    grid = list(range(first, first + hours * 3600, 3600))
    width = SLOT_STRUCT.size
    # domain -> hour start -> the piece replacing the row's (None: the row's, or zeros, to be patched)
    edits: dict[int, dict[int, bytes | None]] = defaultdict(dict)
    for (domain_id, start), values in unfilled.items():
        edits[domain_id][start] = pack_slots(values)
    for domain_id, start in patches:
        edits[domain_id].setdefault(start, None)
    buffers = []
    off_grid: dict[int, list[bytes]] = defaultdict(list)
    for domain_id in sorted(set(slots) | set(edits)):
        block = slots.get(domain_id, EMPTY_SLOTS)
        changes = edits.get(domain_id)
        if not changes and block.starts == grid:
            buffers.append(block.packed)  # a row for every hour, none to patch: already laid out
            continue
        buffer = bytearray(hours * width)
        pieces = {start: block.packed[n * width : (n + 1) * width] for n, start in enumerate(block.starts)}
        for start, piece in (changes or {}).items():
            if piece is not None or start not in pieces:
                pieces[start] = piece or bytes(width)
        for start, piece in pieces.items():
            fixes = patches.get((domain_id, start))
            if fixes:
                piece = _patched(piece, fixes)
            slot, rest = divmod(start - first, 3600)
            if rest or not 0 <= slot < hours:
                off_grid[start].append(piece)
            else:
                buffer[slot * width : (slot + 1) * width] = piece
        buffers.append(buffer)
    sums = slot_sums(buffers, hours * SLOTS)
    peaks = [0] * len(periods)
    fixed = periods.interval == "hour"
    for hour in range(hours):
        index = hour if fixed else periods.index_of(first + hour * 3600)
        if index is not None:
            peaks[index] = max(peaks[index], max(sums[hour * SLOTS : (hour + 1) * SLOTS]))
    for start, pieces in off_grid.items():
        index = periods.index_of(start)
        if index is not None:
            peaks[index] = max(peaks[index], max(slot_sums(pieces, SLOTS)))
    return peaks


def _patched(packed: bytes, fixes: list[tuple[int, int]]) -> bytes:
    values = list(unpack_slots(packed))
    for slot, value in fixes:
        values[slot] = value
    return pack_slots(values)


def _five_minute_slots(
    unfilled: dict[tuple[int, int], list[int]], zone, column: str
) -> dict[tuple[int, int], list[int]]:
    """Fill (domain_id, hour start) -> twelve values of `column` from the 5-minute rows (a fallback for
    hour rows rolled before the slots existed; dirty buckets are patched by the caller)."""
    if not unfilled:
        return unfilled
    rows = OriginRollup.objects.filter(
        interval="5min",
        domain_id__in=sorted({domain_id for domain_id, _ in unfilled}),
        start__gte=_utc(min(start for _, start in unfilled)),
        start__lt=_utc(max(start for _, start in unfilled) + 3600),
    ).order_by("domain_id", "interval", "start")
    for domain_id, start, value in rows.values_list("domain_id", EpochSeconds("start"), column).iterator(CHUNK):
        hour = floor(start, "hour", zone)
        slots = unfilled.get((domain_id, hour))
        if slots is not None:
            slots[(start - hour) // FIVE_MINUTES] = value
    return unfilled


def _resource(name: str, query: OriginQuery, timeline: Timeline, periods: Periods, series: Series) -> dict:
    """One resource of the answer; each metric's `Values` are Points (see cdnorigin.points): rates as
    floats, every other metric as its integer sums."""
    points = Points if query.metric in RATES else Points.of_counts
    return {
        "Name": name,
        "Metrics": [
            {"Metric": metric, "Values": points(timeline, values)}
            for metric, values in _metric_values(query.metric, periods, series)
        ],
    }


def _per_second(numbers: list[int], periods: Periods, peaks: list[int], bits: int) -> list[float]:
    """Per-second rate: over the period at 1min/5min; the largest 5-minute rate at hour/day."""
    if periods.interval in ("1min", "5min"):
        seconds = FIXED_SECONDS[periods.interval]
        return [value * bits / seconds for value in numbers]
    return [value * bits / FIVE_MINUTES for value in peaks]


def _metric_values(metric: str, periods: Periods, series: Series) -> list[tuple[str, list[int] | list[float]]]:
    """The answer's series for `metric`. Class and overall status sums are added over their codes in
    one pass each (`column_sums`, C loops): a 1-minute day of 51 resources has 367 k cells, where a
    Python loop per cell cost about a fifth of the answer."""
    if metric == "flux":
        return [("flux", series.flux)]
    if metric == "pv":
        return [("pv", series.pv)]
    if metric == "bandwidth":
        return [("bandwidth", _per_second(series.flux, periods, series.peak_flux, 8))]
    if metric == "qps":
        return [("qps", _per_second(series.pv, periods, series.peak_pv, 1))]
    size = len(periods)
    if metric == "status_all":
        return [("status_all", series.statuses(size))] + [
            (f"status_{klass}xx", _class_sums(series, klass, size)) for klass in STATUS_CLASSES
        ]
    klass = int(metric[len("status_")])
    codes = answered_codes(series, klass)
    return [(metric, _class_sums(series, klass, size))] + [(f"status_{code}", series.status[code]) for code in codes]


def _class_sums(series: Series, klass: int, size: int) -> list[int]:
    return column_sums([counts for code, counts in series.status.items() if code // 100 == klass], size)
