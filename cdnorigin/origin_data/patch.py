"""Step 4: the dirty buckets, recomputed from the raw minute rows, in one place.

A marked 5-minute bucket's rollup rows may be stale until its recompute runs, so the answer takes that
bucket from the minute rows instead and is never stale:

- 1-minute answers (minute blocks): the bucket's five minutes are rewritten from its minute rows;
- 5min/hour/day answers: each stale period (left at zero by `read`) is summed from its 5-minute values,
  the clean ones from the 5-minute rollup rows (`Readings.fives`), the dirty ones from the minute rows;
  peaks are the largest of those values;
- the hour rows' packed 5-minute values behind the total's peaks take the dirty buckets' raw values (an
  hour without a row starts from zeros).

1-minute single status codes are read from the minute rows already and need nothing here.
"""

import struct
from collections import defaultdict
from datetime import UTC, datetime

from cdnorigin.dirty import FIVE_MINUTES, bucket_runs
from cdnorigin.minute_blocks import BLOCK, WIDTH
from cdnorigin.origin_data.plan import MINUTE_BLOCKS, ROLLUPS, Plan
from cdnorigin.origin_data.read import Readings
from cdnorigin.origin_data.series import SLOT_BYTES, Slots
from cdnorigin.periods import floor, local_zone
from cdnorigin.raw_sums import compute_five_minute_rows, sample_minutes
from cdnorigin.rollup_rows import pack_slots, unpack_slots

RawValues = dict[tuple[int, int], tuple[int, int, dict]]  # (domain id, bucket start) -> (flux, pv, status)


def patch(plan: Plan, readings: Readings) -> None:
    if not plan.dirty:
        return
    if plan.source == MINUTE_BLOCKS:
        _patch_blocks(plan, readings.blocks)
    elif plan.source == ROLLUPS:
        raw = _raw_five_minute_values(plan.dirty)
        _patch_stale_periods(plan, readings, raw)
        if plan.slot_column:
            _patch_slots(readings.slots, raw, 0 if plan.slot_column == "five_minute_flux" else 1)


def _raw_five_minute_values(dirty: frozenset[tuple[int, int]]) -> RawValues:
    """Raw 5-minute sums of the dirty buckets, zero where the minute rows are gone."""
    values: RawValues = {pair: (0, 0, {}) for pair in dirty}
    for first, stop in bucket_runs(sorted({start for _, start in dirty})):
        domain_ids = sorted({domain_id for domain_id, start in dirty if first <= start < stop})
        for row in compute_five_minute_rows(domain_ids, _utc(first), _utc(stop)):
            pair = (row["domain_id"], int(row["start"].timestamp()))
            if pair in values:
                values[pair] = (row["flux"], row["pv"], row["status"])
    return values


def _patch_stale_periods(plan: Plan, readings: Readings, raw: RawValues) -> None:
    periods = plan.periods
    size = len(periods)
    values = defaultdict(list, {key: list(fives) for key, fives in readings.fives.items()})
    for (domain_id, start), value in raw.items():
        values[(domain_id, periods.index_of(start))].append(value)
    for (domain_id, index), inside in values.items():
        target = readings.series[domain_id]
        for flux, pv, codes in inside:
            target.flux[index] += flux
            target.pv[index] += pv
            target.peak_flux[index] = max(target.peak_flux[index], flux)
            target.peak_pv[index] = max(target.peak_pv[index], pv)
            if plan.with_status:
                target.add_status(index, codes, size, plan.status_key)


def _patch_slots(slots: dict[int, Slots], raw: RawValues, which: int) -> None:
    """Write each dirty bucket's raw flux (`which` 0) or pv (1) into its hour's packed values."""
    zone = local_zone()
    fixes: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for (domain_id, start), values in raw.items():
        hour = floor(start, "hour", zone)
        fixes[domain_id][hour].append(((start - hour) // FIVE_MINUTES, values[which]))
    for domain_id, hours in fixes.items():
        pieces = slots[domain_id].pieces() if domain_id in slots else {}
        for hour, changes in hours.items():
            cells = list(unpack_slots(pieces.get(hour, bytes(SLOT_BYTES))))
            for slot, value in changes:
                cells[slot] = value
            pieces[hour] = pack_slots(cells)
        starts = sorted(pieces)
        slots[domain_id] = Slots(starts, b"".join(pieces[start] for start in starts))


def _patch_blocks(plan: Plan, blocks: dict[int, bytes | bytearray]) -> None:
    """Rewrite the dirty buckets' blocks from the minute rows: zeros, then each sample's minute."""
    first, end = plan.bucket_range()
    buckets = (end - first) // FIVE_MINUTES
    raw: dict[int, set[int]] = defaultdict(set)
    for domain_id, start in plan.dirty:
        raw[domain_id].add(start)
    ranges = []
    for domain_id, starts in raw.items():
        buffer = blocks.get(domain_id)
        if buffer is None:
            buffer = blocks[domain_id] = bytearray(buckets * BLOCK.size)
        elif not isinstance(buffer, bytearray):
            buffer = blocks[domain_id] = bytearray(buffer)
        for start in starts:
            slot = (start - first) // FIVE_MINUTES
            buffer[slot * BLOCK.size : (slot + 1) * BLOCK.size] = bytes(BLOCK.size)
        ranges += [(domain_id, _utc(lo), _utc(hi)) for lo, hi in bucket_runs(sorted(starts))]
    minute = struct.Struct(f">{WIDTH}q")
    for domain_id, at, values in sample_minutes(ranges):
        if at - at % FIVE_MINUTES in raw[domain_id]:
            minute.pack_into(blocks[domain_id], (at - first) // 60 * minute.size, *values)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
