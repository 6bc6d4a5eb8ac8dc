"""The `total` peaks summed from packed hour slots, and the PostgreSQL array reader of the rollups:
the lane-wise integer sum against a value-by-value one, and whole answers against a recount from the
raw minutes with every hour rolled (the laid-out fast path), dirty buckets and unfilled hour rows."""

import random
import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from cdnorigin import rollups, selectors
from cdnorigin.dirty import mark_pairs_dirty
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.selectors import describe_origin_data
from cdnorigin.series import Slots, slot_sums

from .test_selectors_properties import (
    anchor_day,
    assert_same,
    build_data,
    expected_answer,
    minute,
    random_query,
    random_samples,
    store,
    store_many,
    values,
)


def one_by_one(buffers: list[bytes], count: int) -> list[int]:
    sums = [0] * count
    for buffer in buffers:
        for index, value in enumerate(struct.unpack(f"<{count}q", buffer)):
            sums[index] += value
    return sums


@pytest.mark.parametrize("seed", range(20))
def test_lane_sums_equal_value_by_value_sums_up_to_the_largest_safe_values(seed):
    rng = random.Random(seed)
    count = rng.choice([12, 24, 120])
    buffers = []
    for _ in range(rng.randint(1, 60)):
        # Lanes near the limit of `slot_sums`' guard for this many buffers, and ordinary ones.
        top = 2 ** (64 - (60).bit_length()) - 1
        values = [rng.choice([0, rng.randint(0, 10**12), top]) for _ in range(count)]
        buffers.append(struct.pack(f"<{count}q", *values))
    assert list(slot_sums(buffers, count)) == one_by_one(buffers, count)


@pytest.mark.parametrize("value", [2**62, 2**63 - 1, -1, -(2**63)])
def test_values_that_could_spill_into_the_next_lane_are_added_one_by_one(value):
    buffers = [struct.pack("<3q", value, 5, value), struct.pack("<3q", 7, value, value), struct.pack("<3q", 1, 1, 1)]
    assert list(slot_sums(buffers, 3)) == one_by_one(buffers, 3)


def test_no_buffers_sum_to_zeros():
    assert list(slot_sums([], 24)) == [0] * 24


def test_slots_keep_only_filled_rows_and_list_the_unfilled_ones():
    packed = struct.pack("<12q", *range(12)) + struct.pack("<12q", *range(12, 24))
    slots = Slots.of_arrays([0, 3600, 7200], [3600], packed)
    assert (slots.starts, slots.packed, slots.unfilled) == ([0, 7200], packed, [3600])
    kept = Slots.of_arrays([0, 3600, 7200], [3600], packed, keep={3600, 7200})
    assert (kept.starts, kept.packed, kept.unfilled) == ([7200], packed[96:], [3600])
    whole = Slots.of_arrays([7200, 0], None, packed[96:] + packed[:96])  # any order, kept as given
    assert (whole.starts, whole.packed, whole.unfilled) == ([7200, 0], packed[96:] + packed[:96], [])
    assert Slots.of_arrays([0], [0], None) == Slots([], b"", [0])
    rows = Slots.of_rows([(0, packed[:96]), (3600, b""), (7200, memoryview(packed[96:]))])
    assert (rows.starts, rows.packed, rows.unfilled) == ([0, 7200], packed, [3600])


def dense_data(rng: random.Random, zone: ZoneInfo, domains: list[Domain], blank_hours: bool):
    """Every minute of ~2 local days for each domain, rolled up, then some minutes changed (dirty)
    and, with `blank_hours`, some hour rows stripped of their packed values."""
    first = int(anchor_day(zone).timestamp()) - 86400
    minutes = 2 * 86400 // 60
    truth = {}
    for domain in domains:
        samples = random_samples(rng, first, minutes, 1.0)
        store_many(domain, samples)
        truth.update({(domain.name, ts): sample for ts, sample in samples.items()})
    rollups.rebuild()
    if blank_hours:
        hours = list(OriginRollup.objects.filter(interval="hour").values_list("id", flat=True))
        OriginRollup.objects.filter(id__in=rng.sample(hours, len(hours) // 4)).update(
            five_minute_flux=b"", five_minute_pv=b""
        )
    changed = []
    for domain in rng.sample(domains, len(domains) - 1):  # one domain stays clean: laid out whole
        for _ in range(rng.randint(1, 6)):
            ts = first + 60 * rng.randrange(minutes)
            if rng.random() < 0.3:
                OriginSample.objects.filter(domain=domain, minute=minute(ts)).delete()
                truth.pop((domain.name, ts), None)
            else:
                sample = (rng.randint(0, 10**10), rng.randint(0, 9000), {})
                store(domain, ts, *sample)
                truth[(domain.name, ts)] = sample
            changed.append((domain.id, minute(ts)))
    mark_pairs_dirty(changed)
    assert DirtyOriginBucket.objects.exists()
    return first, minutes, truth


@pytest.mark.django_db
@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Europe/Berlin"])
@pytest.mark.parametrize("blank_hours", [False, True])
def test_total_peaks_over_fully_rolled_hours_with_dirty_buckets_match_a_recount(settings, zone_name, blank_hours):
    settings.INSIGHTS_TIME_ZONE = zone_name
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"dense-{zone_name}-{blank_hours}")
    domains = [Domain.objects.create(name=f"d{number}.example.com") for number in range(3)]
    names = [domain.name for domain in domains]
    first, minutes, truth = dense_data(rng, zone, domains, blank_hours)
    now = datetime.fromtimestamp(first, UTC) + timedelta(days=10)
    queries = [
        # Exactly the rolled range: every domain has a row in every hour, so its slots are laid out whole.
        {"StartTime": first, "EndTime": first + minutes * 60 - 1, "Interval": "hour"},
        {"StartTime": first, "EndTime": first + minutes * 60 - 1, "Interval": "day"},
        {"StartTime": first - 7200, "EndTime": first + 86400, "Interval": "hour"},  # hours without rows
    ]
    for number, params in enumerate(queries):
        for metric in ("bandwidth", "qps", "pv") if number == 0 else ("bandwidth", "qps"):
            for domain_param in (",".join(names), None):
                asked = {**params, "Metric": metric}
                if domain_param:
                    asked["Domain"] = domain_param
                expected = expected_answer(
                    truth,
                    asked["StartTime"],
                    asked["EndTime"],
                    asked["Interval"],
                    metric,
                    names,
                    "both" if domain_param else "total",
                    zone,
                )
                assert_same(values(describe_origin_data(asked, None, now=now)), expected)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array reader is PostgreSQL's")
@pytest.mark.parametrize("seed", range(3))
def test_the_array_reader_answers_as_the_row_reader_does(settings, monkeypatch, seed):
    settings.INSIGHTS_TIME_ZONE = "Europe/Berlin"
    zone = ZoneInfo("Europe/Berlin")
    rng = random.Random(f"readers-{seed}")
    domains = [Domain.objects.create(name=f"d{number}.example.com") for number in range(rng.randint(2, 4))]
    names = [domain.name for domain in domains]
    first, minutes, truth = build_data(rng, zone, domains)
    hours = list(OriginRollup.objects.filter(interval="hour").values_list("id", flat=True))
    OriginRollup.objects.filter(id__in=rng.sample(hours, len(hours) // 3)).update(five_minute_flux=b"")
    now = datetime.fromtimestamp(first, UTC) + timedelta(days=10)
    for _ in range(12):
        params = {**random_query(rng, first, minutes, names), "Metric": rng.choice(["flux", "pv", "bandwidth", "qps"])}
        with monkeypatch.context() as patched:
            patched.setattr(selectors, "_reads_arrays", lambda with_status: False)
            by_rows = describe_origin_data(params, None, now=now)
        assert describe_origin_data(params, None, now=now) == by_rows


@pytest.mark.parametrize("seed", range(20))
def test_rollup_arrays_in_heap_order_are_put_in_start_order_with_their_packed_values(seed):
    """Rows arrive in heap order (recomputes move them); each array, the unfilled starts and the packed
    pieces of the filled rows follow their starts into start order, so the whole-array paths apply."""
    rng = random.Random(seed)
    starts = [3600 * n for n in range(rng.randint(1, 30))]
    unfilled = sorted(rng.sample(starts, rng.randint(0, len(starts) // 3)))
    flux = {start: rng.randrange(10**12) for start in starts}
    packed = {start: struct.pack("<12q", *(rng.randrange(10**9) for _ in range(12))) for start in starts}
    heap = starts[:]
    rng.shuffle(heap)
    row = (
        7,
        heap,
        [flux[start] for start in heap],
        [start for start in heap if start in unfilled] or None,
        b"".join(packed[start] for start in heap if start not in unfilled) or None,
    )
    domain_id, got_starts, got_flux, got_unfilled, got_packed = selectors._in_start_order(row, 1, True)
    assert (domain_id, got_starts, got_flux) == (7, starts, [flux[start] for start in starts])
    assert (got_unfilled or []) == unfilled
    assert (got_packed or b"") == b"".join(packed[start] for start in starts if start not in unfilled)
    assert selectors._in_start_order((7, starts, [1] * len(starts)), 1, False)[1] == starts
