"""Step 5: the answer's numbers, resource by resource: each domain's series, the `total` and its peaks,
per-second rates, and the series each metric answers with.

Peaks of the `total` at hour/day come from 5-minute sums across the domains, never from adding
per-domain peaks: the twelve 5-minute values each hour row carries are summed slot by slot over the
domains (dirty buckets already patched), then maximised.
"""

import struct
from collections.abc import Collection

from cdnorigin.minute_blocks import MINUTES, WIDTH
from cdnorigin.origin_data.limits import check_answer_size
from cdnorigin.origin_data.plan import MINUTE_BLOCKS, Plan
from cdnorigin.origin_data.read import Readings
from cdnorigin.origin_data.series import EMPTY_SLOTS, SLOT_BYTES, Series, Slots, column_sums, slot_sums
from cdnorigin.params import BOTH, PER_DOMAIN, TOTAL
from cdnorigin.periods import FIVE_MINUTES, FIXED_SECONDS, Periods
from cdnorigin.rollup_rows import SLOTS

TOTAL_NAME = "total"
# The classes status_all answers a sum of, besides its sum over every code.
STATUS_CLASSES = (2, 3, 4, 5)


# The x00 code each class sum of a 1-minute status_all answer is filed under, and its place in a minute.
CLASSES = ((200, 3), (300, 4), (400, 5), (500, 6))

Resource = tuple[str, list[tuple[str, list[int] | list[float]]]]  # name, [(metric, values)]


def shape(plan: Plan, readings: Readings) -> list[Resource]:
    periods, metric = plan.periods, plan.query.metric
    per_domain = _block_series(plan, readings.blocks) if plan.source == MINUTE_BLOCKS else readings.series
    # The size bound, counted from the codes read: before any total or answer series is built.
    by_domain, with_total = plan.query.output in (PER_DOMAIN, BOTH), plan.query.output in (TOTAL, BOTH)
    check_answer_size(answer_series(metric, per_domain.values(), by_domain, with_total), len(periods))
    resources = []
    if plan.query.output in (PER_DOMAIN, BOTH):
        resources += [(name, _metric_values(metric, periods, per_domain[key])) for key, name in plan.domains]
    if plan.query.output in (TOTAL, BOTH):
        total = Series.total(list(per_domain.values()), len(periods))
        if plan.slot_column:
            peaks = _total_peak(periods, readings.slots)
            if metric == "bandwidth":
                total.peak_flux = peaks
            else:
                total.peak_pv = peaks
        resources.append((TOTAL_NAME, _metric_values(metric, periods, total)))
    return resources


def answered_codes(series: Series, klass: int) -> list[int]:
    """The codes of status class `klass` (5: 5xx) a status_<klass>xx answer of `series` gives a series
    of their own: those counted in some period."""
    return sorted(code for code, counts in series.status.items() if code // 100 == klass and any(counts))


def answer_series(metric: str, domains: Collection[Series], per_domain: bool, total: bool) -> int:
    """How many series an answer of `metric` holds, counted from the series read, before any is built:
    a resource per domain of `domains` (with `per_domain`) and `total` (with `total`), each with one
    series (flux, pv, bandwidth, qps), five (status_all) or the class sum and one per answered code
    (status_2xx..5xx). `total` answers the codes of every domain: counts are never negative, so a code
    counted for a domain is counted in their sum."""
    resources = len(domains) * per_domain + total
    if metric == "status_all":
        return resources * (1 + len(STATUS_CLASSES))
    if not metric.startswith("status_"):
        return resources
    codes = [answered_codes(series, int(metric[len("status_")])) for series in domains]
    per_code = sum(map(len, codes)) if per_domain else 0
    return resources + per_code + (len(set().union(*codes)) if total else 0)


def _block_series(plan: Plan, blocks: dict[int, bytes | bytearray]) -> dict[int, Series]:
    """Per-domain 1-minute series from the minute blocks: flux and pv, or for status_all the sum over
    every code as `status_total` and the 2xx..5xx sums under their x00 codes (all status_all reads).
    A series is a strided slice of one unpack of the domain's blocks."""
    periods = plan.periods
    size = len(periods)
    first, end = plan.bucket_range()
    layout = struct.Struct(f">{(end - first) // FIVE_MINUTES * MINUTES * WIDTH}q")
    skip = (periods.first - first) // 60
    classes = plan.query.metric == "status_all"
    series = {}
    for domain_id in plan.ids:
        target = series[domain_id] = Series.zeros(size)
        buffer = blocks.get(domain_id)
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


def _total_peak(periods: Periods, slots: dict[int, Slots]) -> list[int]:
    """Per period, the largest 5-minute value summed over the domains of `slots`.

    Every domain's packed hour values are laid out on one grid of the hours of the periods and summed
    slot by slot across domains (`slot_sums`); a domain with a row for every hour is laid out already.
    Hours off the grid (a zone whose offset changed by half an hour inside the range) are summed on
    their own.
    """
    first, hours = periods.first, (periods.end - periods.first) // 3600
    grid = list(range(first, first + hours * 3600, 3600))
    buffers = []
    off_grid: dict[int, list[bytes]] = {}
    for domain_id in sorted(slots):
        block = slots.get(domain_id, EMPTY_SLOTS)
        if block.starts == grid:
            buffers.append(block.packed)
            continue
        buffer = bytearray(hours * SLOT_BYTES)
        for start, piece in block.pieces().items():
            slot, rest = divmod(start - first, 3600)
            if rest or not 0 <= slot < hours:
                off_grid.setdefault(start, []).append(piece)
            else:
                buffer[slot * SLOT_BYTES : (slot + 1) * SLOT_BYTES] = piece
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
