"""The `total` peaks summed from packed hour slots, and the PostgreSQL array reader of the rollups:
the lane-wise integer sum against a value-by-value one, and whole answers against a recount from the
raw minutes with every hour rolled (the laid-out fast path) and dirty buckets."""

import random
import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from cdnorigin import rollups
from cdnorigin.dirty import mark_pairs_dirty
from cdnorigin.models import DirtyOriginBucket, Domain, OriginSample
from cdnorigin.origin_data import read
from cdnorigin.origin_data.series import slot_sums
from cdnorigin.selectors import describe_origin_data

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


def dense_data(rng: random.Random, zone: ZoneInfo, domains: list[Domain]):
    """Every minute of ~2 local days for each domain, rolled up, then some minutes changed (dirty)."""
    first = int(anchor_day(zone).timestamp()) - 86400
    minutes = 2 * 86400 // 60
    truth = {}
    for domain in domains:
        samples = random_samples(rng, first, minutes, 1.0)
        store_many(domain, samples)
        truth.update({(domain.name, ts): sample for ts, sample in samples.items()})
    rollups.rebuild()
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
def test_total_peaks_over_fully_rolled_hours_with_dirty_buckets_match_a_recount(settings, zone_name):
    settings.INSIGHTS_TIME_ZONE = zone_name
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"dense-{zone_name}-False")
    domains = [Domain.objects.create(name=f"d{number}.example.com") for number in range(3)]
    names = [domain.name for domain in domains]
    first, minutes, truth = dense_data(rng, zone, domains)
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
    now = datetime.fromtimestamp(first, UTC) + timedelta(days=10)
    for _ in range(12):
        params = {**random_query(rng, first, minutes, names), "Metric": rng.choice(["flux", "pv", "bandwidth", "qps"])}
        with monkeypatch.context() as patched:
            patched.setattr(read, "uses_arrays", lambda: False)
            by_rows = describe_origin_data(params, None, now=now)
        assert describe_origin_data(params, None, now=now) == by_rows


@pytest.mark.parametrize("seed", range(20))
def test_rollup_arrays_in_heap_order_are_put_in_start_order_with_their_packed_values(seed):
    """Rows arrive in heap order (recomputes move them); each array and the pieces of the packed values
    follow their starts into start order, so the whole-array paths apply."""
    rng = random.Random(seed)
    starts = [3600 * n for n in range(rng.randint(1, 30))]
    flux = {start: rng.randrange(10**12) for start in starts}
    packed = {start: struct.pack("<12q", *(rng.randrange(10**9) for _ in range(12))) for start in starts}
    heap = starts[:]
    rng.shuffle(heap)
    row = (7, heap, [flux[start] for start in heap], b"".join(packed[start] for start in heap))
    domain_id, got_starts, got_flux, got_packed = read._in_start_order(row, (None, 96))
    assert (domain_id, got_starts, got_flux) == (7, starts, [flux[start] for start in starts])
    assert got_packed == b"".join(packed[start] for start in starts)
    assert read._in_start_order((7, starts, [1] * len(starts)), (None,))[1] == starts
