"""DescribeCdnOriginData: origin statistics per domain and period, read from rollups (API.md section 4).

`1min` answers come from the raw minute rows. `5min`, `hour` and `day` answers come from the
OriginRollup rows of that interval, except a (domain, period) holding a dirty 5-minute bucket: it is
rebuilt from 5-minute values, the clean ones from the 5-minute rollup and the dirty ones from raw
minute rows, so an answer is never stale. Peaks of the `total` at `hour`/`day` come from 5-minute
sums across the domains, never from adding per-domain peaks: the twelve 5-minute values each hour row
carries are summed slot by slot over the domains (dirty buckets patched with raw values), then maximised.
"""

import struct
from collections import defaultdict
from datetime import UTC, datetime

from django.utils import timezone

from .dirty import dirty_buckets
from .errors import VolcError
from .minutes import minute_series
from .models import Domain, OriginRollup
from .params import BOTH, PER_DOMAIN, TOTAL, OriginQuery, parse_query
from .periods import FIVE_MINUTES, FIXED_SECONDS, Periods, floor, local_zone, periods_between
from .rollups import SLOT_STRUCT, SLOTS, compute_five_minute_rows, pack_slots, unpack_slots
from .series import CHUNK, EpochSeconds, Series, in_scope

TOTAL_NAME = "total"
STATUS_CLASSES = (2, 3, 4, 5)
# Dirty 5-minute buckets closer than this are read from minute rows in one query.
DIRTY_RUN_GAP = 3600


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
    raw_dirty, hour_slots = {}, []
    if query.interval == "1min":
        per_domain = minute_series(ids, scope, periods, with_status)
    else:
        per_domain, raw_dirty, hour_slots = _rollup_series(
            ids, scope, periods, with_status, with_slots=total_peaks and query.interval == "hour"
        )
    resources = []
    if query.output in (PER_DOMAIN, BOTH):
        resources += [_resource(name, query, periods, per_domain[domain_id]) for domain_id, name in domains]
    if query.output in (TOTAL, BOTH):
        total = Series.zeros(len(periods))
        for series in per_domain.values():
            total.add(series)
        if total_peaks:
            if query.interval == "day":
                hour_slots = _hour_slots(scope, periods, per_domain)
            total.peak_flux, total.peak_pv = _total_peaks(periods, hour_slots, raw_dirty)
        resources.append(_resource(TOTAL_NAME, query, periods, total))
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


def _rollup_series(
    ids: list[int], scope: list[int] | None, periods: Periods, with_status: bool, with_slots: bool = False
) -> tuple[dict[int, Series], dict[tuple[int, int], tuple[int, int, dict]], list[tuple]]:
    """Per-domain series from the rollups of the period's interval, stale periods rebuilt from 5-minute values.

    Also returns the raw 5-minute values of every dirty bucket in range, (domain_id, bucket start) ->
    (flux, pv, status), and with `with_slots` (hour rows) each row's (domain_id, start, packed 5-minute
    flux, packed pv), stale ones included, for the `total` peaks.
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
    columns = ["domain_id", EpochSeconds("start"), "flux", "pv", "peak_flux_5m", "peak_pv_5m"]
    columns += ["five_minute_flux", "five_minute_pv"] if with_slots else []
    columns += ["status"] if with_status else []
    rows = in_scope(
        OriginRollup.objects.filter(interval=periods.interval, start__gte=first, start__lt=end), "domain_id", scope
    )
    rows = rows.order_by("domain_id", "interval", "start").values_list(*columns)
    position = {start: index for index, start in enumerate(periods.starts)}  # rollup rows start periods
    hour_slots = []
    for row in rows.iterator(CHUNK):
        target = series.get(row[0])
        index = position.get(row[1])
        if target is None or index is None:
            continue
        if with_slots:
            hour_slots.append(row[:2] + row[6:8])
        if stale and (row[0], index) in stale:
            continue
        # One rollup row per domain and period: plain assignment.
        target.flux[index] = row[2]
        target.pv[index] = row[3]
        target.peak_flux[index] = row[4]
        target.peak_pv[index] = row[5]
        if with_status:
            target.add_status(index, row[-1], size)
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
    return series, raw_dirty, hour_slots


def _runs(starts: list[int]) -> list[tuple[int, int]]:
    """Sorted bucket starts grouped into [first, last + 5 min) runs, split at gaps wider than DIRTY_RUN_GAP."""
    runs = []
    for start in starts:
        if runs and start - runs[-1][1] <= DIRTY_RUN_GAP:
            runs[-1][1] = start + FIVE_MINUTES
        else:
            runs.append([start, start + FIVE_MINUTES])
    return [tuple(run) for run in runs]


def _raw_five_minute_values(dirty: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int, dict]]:
    """Raw 5-minute sums of the dirty buckets, zero where the minute rows are gone."""
    values = {pair: (0, 0, {}) for pair in dirty}
    if not dirty:
        return values
    for first, stop in _runs(sorted({start for _, start in dirty})):
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


def _hour_slots(scope: list[int] | None, periods: Periods, series: dict[int, Series]) -> list[tuple]:
    """(domain_id, start, packed 5-minute flux, packed pv) of the hour rows inside the periods, for the
    answered domains (a day is made of the hour rows starting in it, as its rollup is)."""
    rows = in_scope(
        OriginRollup.objects.filter(
            interval="hour", start__gte=periods.first_datetime(), start__lt=periods.end_datetime()
        ),
        "domain_id",
        scope,
    ).order_by("domain_id", "interval", "start")
    return [
        row
        for row in rows.values_list("domain_id", EpochSeconds("start"), "five_minute_flux", "five_minute_pv").iterator(
            CHUNK
        )
        if row[0] in series
    ]


def _total_peaks(
    periods: Periods, hour_slots: list[tuple], raw_dirty: dict[tuple[int, int], tuple[int, int, dict]]
) -> tuple[list[int], list[int]]:
    """Per period, the largest 5-minute flux and pv summed over the domains of `hour_slots`.

    Each hour row's twelve packed values are summed slot by slot across domains. An hour holding dirty
    buckets keeps its row's values for the clean buckets (they were rolled from the same 5-minute rows)
    and takes the raw values for the dirty ones; a dirty bucket whose hour has no row adds to zeros.
    Hour rows written before the slots existed are filled from their 5-minute rows.
    """
    zone = local_zone()
    patches: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for (domain_id, start), (flux, pv, _codes) in raw_dirty.items():
        hour = floor(start, "hour", zone)
        patches[(domain_id, hour)].append(((start - hour) // FIVE_MINUTES, flux, pv))
    packed_flux: dict[int, list] = defaultdict(list)  # hour start -> packed rows
    packed_pv: dict[int, list] = defaultdict(list)
    unfilled = {}
    for domain_id, start, flux, pv in hour_slots:
        if len(flux) != SLOT_STRUCT.size or len(pv) != SLOT_STRUCT.size:
            unfilled[(domain_id, start)] = ([0] * SLOTS, [0] * SLOTS)
            continue
        fixes = patches.pop((domain_id, start), None)
        if fixes:
            flux, pv = _patched(unpack_slots(flux), unpack_slots(pv), fixes)
        packed_flux[start].append(flux)
        packed_pv[start].append(pv)
    for (domain_id, start), (flux, pv) in _five_minute_slots(unfilled, zone).items():
        flux, pv = _patched(flux, pv, patches.pop((domain_id, start), ()))
        packed_flux[start].append(flux)
        packed_pv[start].append(pv)
    for (_, start), fixes in patches.items():  # dirty buckets of hours without a row
        flux, pv = _patched([0] * SLOTS, [0] * SLOTS, fixes)
        packed_flux[start].append(flux)
        packed_pv[start].append(pv)
    peak_flux, peak_pv = [0] * len(periods), [0] * len(periods)
    for peaks, packed in ((peak_flux, packed_flux), (peak_pv, packed_pv)):
        for start, rows in packed.items():
            index = periods.index_of(start)
            if index is not None:
                peaks[index] = max(peaks[index], _peak_of_sums(rows))
    return peak_flux, peak_pv


def _patched(flux, pv, fixes) -> tuple[bytes, bytes]:
    flux, pv = list(flux), list(pv)
    for slot, slot_flux, slot_pv in fixes:
        flux[slot], pv[slot] = slot_flux, slot_pv
    return pack_slots(flux), pack_slots(pv)


def _peak_of_sums(rows: list[bytes]) -> int:
    """The largest slot-wise sum of packed rows: one `struct` call for all of them, then a sum per slot."""
    values = struct.unpack(f"<{SLOTS * len(rows)}q", b"".join(rows))
    return max(sum(values[slot::SLOTS]) for slot in range(SLOTS))


def _five_minute_slots(
    unfilled: dict[tuple[int, int], tuple[list[int], list[int]]], zone
) -> dict[tuple[int, int], tuple[list[int], list[int]]]:
    """Fill (domain_id, hour start) -> twelve flux and pv values from the 5-minute rows (a fallback for
    hour rows rolled before the slots existed; dirty buckets are patched by the caller)."""
    if not unfilled:
        return unfilled
    rows = OriginRollup.objects.filter(
        interval="5min",
        domain_id__in=sorted({domain_id for domain_id, _ in unfilled}),
        start__gte=_utc(min(start for _, start in unfilled)),
        start__lt=_utc(max(start for _, start in unfilled) + 3600),
    ).order_by("domain_id", "interval", "start")
    for domain_id, start, flux, pv in rows.values_list("domain_id", EpochSeconds("start"), "flux", "pv").iterator(
        CHUNK
    ):
        hour = floor(start, "hour", zone)
        slots = unfilled.get((domain_id, hour))
        if slots is not None:
            slot = (start - hour) // FIVE_MINUTES
            slots[0][slot], slots[1][slot] = flux, pv
    return unfilled


def _resource(name: str, query: OriginQuery, periods: Periods, series: Series) -> dict:
    return {
        "Name": name,
        "Metrics": [
            {
                "Metric": metric,
                "Values": [{"Timestamp": ts, "Value": value} for ts, value in zip(periods.starts, values, strict=True)],
            }
            for metric, values in _metric_values(query.metric, periods, series)
        ],
    }


def _per_second(numbers: list[int], periods: Periods, peaks: list[int], bits: int) -> list[float]:
    """Per-second rate: over the period at 1min/5min; the largest 5-minute rate at hour/day."""
    if periods.interval in ("1min", "5min"):
        seconds = FIXED_SECONDS[periods.interval]
        return [value * bits / seconds for value in numbers]
    return [value * bits / FIVE_MINUTES for value in peaks]


def _metric_values(metric: str, periods: Periods, series: Series) -> list[tuple[str, list[float]]]:
    if metric == "flux":
        return [("flux", [float(value) for value in series.flux])]
    if metric == "pv":
        return [("pv", [float(value) for value in series.pv])]
    if metric == "bandwidth":
        return [("bandwidth", _per_second(series.flux, periods, series.peak_flux, 8))]
    if metric == "qps":
        return [("qps", _per_second(series.pv, periods, series.peak_pv, 1))]
    size = len(periods)
    by_class = {klass: [0] * size for klass in range(1, 6)}
    for code, counts in series.status.items():
        target = by_class[code // 100]
        for index, count in enumerate(counts):
            target[index] += count
    if metric == "status_all":
        everything = [sum(column) for column in zip(*by_class.values(), strict=True)]
        return [("status_all", [float(value) for value in everything])] + [
            (f"status_{klass}xx", [float(value) for value in by_class[klass]]) for klass in STATUS_CLASSES
        ]
    klass = int(metric[len("status_")])
    codes = sorted(code for code, counts in series.status.items() if code // 100 == klass and any(counts))
    return [(metric, [float(value) for value in by_class[klass]])] + [
        (f"status_{code}", [float(value) for value in series.status[code]]) for code in codes
    ]
