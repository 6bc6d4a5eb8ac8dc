"""The set-based recompute and rebuild (PostgreSQL) write exactly the rows of the portable Python path,
which test_rollups.py checks against a slow recomputation from raw minute rows."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cdnorigin import rollup_rows, rollup_sql, rollups
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.periods import floor
from tests.cdnorigin.test_rollups import (
    ANCHORS,
    as_items,
    assert_rollups_match,
    local_anchor,
    reset,
    samples_strategy,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based recompute is PostgreSQL's"),
]
COLUMNS = [field.column for field in OriginRollup._meta.concrete_fields if field.column != "id"]


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=name) for name in ("a.example.com", "b.example.com")]


def _hashable(value):
    if isinstance(value, memoryview):
        return bytes(value)
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def snapshot() -> set[tuple]:
    """Every rollup row, all columns but the id (the packed slots and the status included)."""
    return {tuple(_hashable(value) for value in row) for row in OriginRollup.objects.values_list(*COLUMNS)}


def restore(rows: set[tuple]) -> None:
    OriginRollup.objects.all().delete()
    OriginRollup.objects.bulk_create(
        OriginRollup(**{**dict(zip(COLUMNS, row, strict=True)), "status": dict(row[COLUMNS.index("status")])})
        for row in rows
    )


def marked_pairs() -> list[tuple[int, datetime]]:
    return list(DirtyOriginBucket.objects.values_list("domain_pk", "start"))


def both_ways(pairs) -> tuple[set, set, dict, dict]:
    """Recompute `pairs` set-based and, from the same starting rows, portably; the rows and counts of each."""
    before = snapshot()
    counts = rollups.recompute_buckets(pairs)
    set_based = snapshot()
    restore(before)
    portable_counts = rollups.recompute_buckets(pairs, portable=True)
    return set_based, snapshot(), counts, portable_counts


@pytest.mark.parametrize("zone_name", sorted(ANCHORS))
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=samples_strategy, second=samples_strategy, deletes=st.lists(st.integers(0, 10**6), max_size=4))
def test_set_based_recompute_writes_the_rows_of_the_portable_one(zone_name, first, second, deletes, domains, settings):
    settings.INSIGHTS_TIME_ZONE = zone_name
    reset()
    replace_origin_samples(as_items(zone_name, domains, first))
    rollups.recompute_buckets(marked_pairs(), portable=True)  # rollups of the first batch, now stale
    DirtyOriginBucket.objects.all().delete()

    replace_origin_samples(as_items(zone_name, domains, second))  # re-posts and new minutes
    samples = list(OriginSample.objects.order_by("id"))
    for number in deletes:  # deleted samples leave periods with fewer rows, or none
        if samples:
            samples.pop(number % len(samples)).delete()
    pairs = marked_pairs()

    set_based, portable, counts, portable_counts = both_ways(pairs)
    assert set_based == portable
    assert counts == portable_counts
    assert_rollups_match(zone_name)


def test_many_codes_zero_counts_and_empty_statuses_sum_alike(domains):
    base = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp())
    many = {str(code): code % 7 for code in range(100, 600, 3)}  # 167 codes, some counts zero
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": base, "flux": 5, "pv": 1, "status": many},
            {"domain": "a.example.com", "timestamp": base + 60, "flux": 7, "pv": 2, "status": {"200": 2}},
            {"domain": "b.example.com", "timestamp": base, "flux": 0, "pv": 0, "status": {"200": 0}},
            {"domain": "b.example.com", "timestamp": base + 3600, "flux": 1, "pv": 0},
        ]
    )
    set_based, portable, counts, _ = both_ways(marked_pairs())
    assert set_based == portable
    assert counts == {"5min": 3, "hour": 3, "day": 2}
    day = OriginRollup.objects.get(domain=domains[0], interval="day")
    assert day.status == {**{code: count for code, count in many.items() if count}, "200": 2}
    assert OriginRollup.objects.get(domain=domains[1], interval="day").status == {}


def test_a_bucket_whose_samples_are_gone_loses_its_rows(domains):
    base = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp())
    replace_origin_samples([{"domain": "a.example.com", "timestamp": base, "flux": 5, "pv": 1}])
    rollups.recompute_dirty()
    assert OriginRollup.objects.count() == 3
    OriginSample.objects.all().delete()
    assert rollups.recompute_buckets(marked_pairs()) == {"5min": 0, "hour": 0, "day": 0}
    assert not OriginRollup.objects.exists()


def test_hours_tile_except_across_a_half_hour_dst_shift():
    berlin, lord_howe = ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Lord_Howe")
    autumn = int(datetime(2024, 10, 27, tzinfo=UTC).timestamp())  # Berlin's 25-hour day
    assert rollups._hours_tile({(1, floor(autumn + 600 * n, "hour", berlin)) for n in range(200)}, berlin)
    shift = int(datetime(2024, 10, 5, 15, 30, tzinfo=UTC).timestamp())  # Lord Howe 02:00 -> 02:30
    hours = {(1, floor(shift + 300 * n, "hour", lord_howe)) for n in range(-24, 24)}
    assert not rollups._hours_tile(hours, lord_howe)


def test_a_half_hour_dst_shift_falls_back_to_the_portable_path_and_stays_right(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Australia/Lord_Howe"
    shift = int(datetime(2024, 10, 5, 15, 30, tzinfo=UTC).timestamp())
    replace_origin_samples(
        [
            {
                "domain": "a.example.com",
                "timestamp": shift + 60 * minute,
                "flux": minute + 90,
                "pv": 1,
                "status": {"200": 1},
            }
            for minute in range(-90, 90, 7)
        ]
    )
    rollups.recompute_dirty()
    assert_rollups_match("Australia/Lord_Howe")


# --- the codes each level sums by -----------------------------------------------------------------


PRESENT = ["200", "304", "404"]


@pytest.mark.parametrize(
    ("known", "kept"),
    [
        ([], PRESENT),  # none known yet: looked up
        (["200"], PRESENT),  # too few: found out, looked up, written again
        (["200", "304", "404", "418", "599"], ["200", "304", "404", "418", "599"]),  # a few too many: kept
        ([*PRESENT, *(str(code) for code in range(500, 510))], PRESENT),  # many too many: forgotten
    ],
)
def test_codes_known_from_an_earlier_recompute_are_checked_not_trusted(known, kept, domains, monkeypatch):
    base = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp())
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": base, "flux": 5, "pv": 3, "status": {"200": 1, "404": 2}},
            {"domain": "b.example.com", "timestamp": base + 3600, "flux": 7, "pv": 1, "status": {"304": 1}},
        ]
    )
    for level in (rollup_rows.FIVE, rollup_rows.HOUR, rollup_rows.DAY):
        monkeypatch.setitem(rollup_sql._known_codes, level, known)
    set_based, portable, counts, portable_counts = both_ways(marked_pairs())
    assert set_based == portable
    assert counts == portable_counts == {"5min": 2, "hour": 2, "day": 2}
    assert OriginRollup.objects.get(domain=domains[0], interval="day").status == {"200": 1, "404": 2}
    assert rollup_sql._known_codes == {rollup_rows.FIVE: kept, rollup_rows.HOUR: kept, rollup_rows.DAY: kept}


# --- rebuild ---------------------------------------------------------------------------------------


def marks() -> set[tuple]:
    return set(DirtyOriginBucket.objects.values_list("domain_pk", "start"))


def rebuild_both_ways(since) -> tuple[set, set, dict, dict]:
    """`rebuild(since)` set-based and, from the same rollups and marks, portably; the rows and summaries."""
    before, marked = snapshot(), marks()
    summary = rollups.rebuild(since)
    set_based, left = snapshot(), marks()
    restore(before)
    DirtyOriginBucket.objects.all().delete()
    DirtyOriginBucket.objects.bulk_create(DirtyOriginBucket(domain_pk=d, start=s) for d, s in marked)
    portable_summary = rollups.rebuild(since, portable=True)
    assert left == marks()
    return set_based, snapshot(), summary, portable_summary


@pytest.mark.parametrize("zone_name", sorted(ANCHORS))
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=samples_strategy,
    second=samples_strategy,
    since=st.none() | st.tuples(st.integers(0, 1), st.integers(-1, 1)),
)
def test_set_based_rebuild_writes_the_rows_of_the_portable_one(
    zone_name, first, second, since, domains, settings, monkeypatch
):
    settings.INSIGHTS_TIME_ZONE = zone_name
    monkeypatch.setattr(rollups, "REBUILD_SECONDS", 900)  # many statements a domain: their seams are tested
    reset()
    replace_origin_samples(as_items(zone_name, domains, first))
    rollups.recompute_buckets(marked_pairs(), portable=True)
    OriginRollup.objects.filter(id__in=OriginRollup.objects.order_by("id").values("id")[:3]).update(flux=-1)
    replace_origin_samples(as_items(zone_name, domains, second))  # left marked: rebuild clears what it rewrites
    day = None
    if since is not None:
        anchor, shift = since
        day = datetime.fromtimestamp(local_anchor(zone_name, anchor), ZoneInfo(zone_name)).date()
        day += timedelta(days=shift)

    set_based, portable, summary, portable_summary = rebuild_both_ways(day)
    assert set_based == portable
    assert summary == portable_summary
    if day is None:
        assert_rollups_match(zone_name)


def test_rebuild_across_a_half_hour_dst_shift_rolls_that_domain_portably(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Australia/Lord_Howe"
    shift = int(datetime(2024, 10, 5, 15, 30, tzinfo=UTC).timestamp())
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": shift + 60 * minute, "flux": minute + 90, "pv": 1}
            for minute in range(-90, 90, 7)
        ]
        + [{"domain": "b.example.com", "timestamp": shift + 86400, "flux": 3, "pv": 1, "status": {"200": 1}}]
    )
    summary = rollups.rebuild()
    assert_rollups_match("Australia/Lord_Howe")
    assert summary["marks_cleared"] > 0
    assert not DirtyOriginBucket.objects.exists()
