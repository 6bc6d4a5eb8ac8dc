"""Origin rollups (5min/hour/day) always equal a slow recomputation from the raw minute rows."""

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cdnorigin import raw_sums, rollup_rows, rollups
from cdnorigin.dirty import dirty_buckets, five_minute_floor, mark_buckets_dirty
from cdnorigin.ingest import add_origin_samples, replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.tasks import recompute_dirty_origin_buckets

pytestmark = pytest.mark.django_db

# Local instants around which samples are spread: local midnights (incl. both 2024 Berlin DST days).
ANCHORS = {
    "Asia/Shanghai": [(2024, 5, 1)],
    "Europe/Berlin": [(2024, 3, 31), (2024, 10, 27)],
    "Asia/Kolkata": [(2024, 7, 15)],
}
CODES = ["200", "206", "304", "404", "502"]


# --- the slow, obvious reference -----------------------------------------------------------------


def expected_rollups(zone_name: str) -> set[tuple]:
    """Every rollup row, computed naively from each raw minute row and its local clock time."""
    zone = ZoneInfo(zone_name)
    minutes = defaultdict(lambda: [0, 0, Counter()])
    for sample in OriginSample.objects.all():
        entry = minutes[(sample.domain_id, sample.minute)]
        entry[0] += sample.flux
        entry[1] += sample.pv
        entry[2].update(sample.status)
    periods = defaultdict(lambda: [0, 0, Counter(), defaultdict(lambda: [0, 0])])
    for (domain_id, minute), (flux, pv, codes) in minutes.items():
        local = minute.astimezone(zone)
        five = minute.replace(minute=minute.minute - minute.minute % 5)
        hour = minute - timedelta(minutes=local.minute)  # the instant the local clock showed hh:00
        day = datetime.combine(local.date(), time(), tzinfo=zone).astimezone(UTC)
        for interval, start in (("5min", five), ("hour", hour), ("day", day)):
            period = periods[(domain_id, interval, start)]
            period[0] += flux
            period[1] += pv
            period[2].update(codes)
            period[3][five][0] += flux
            period[3][five][1] += pv
    return {
        (
            domain_id,
            interval,
            start.astimezone(UTC),
            flux,
            pv,
            max(value[0] for value in fives.values()),
            max(value[1] for value in fives.values()),
            tuple(sorted((code, count) for code, count in codes.items() if count)),
        )
        for (domain_id, interval, start), (flux, pv, codes, fives) in periods.items()
    }


def stored_rollups() -> set[tuple]:
    rows = OriginRollup.objects.values_list(
        "domain_id", "interval", "start", "flux", "pv", "peak_flux_5m", "peak_pv_5m", "status"
    )
    stored = {(*row[:2], row[2].astimezone(UTC), *row[3:7], tuple(sorted(row[7].items()))) for row in rows}
    assert len(stored) == len(rows)
    return stored


def expected_hour_slots(zone_name: str) -> dict[tuple, tuple[list[int], list[int]]]:
    """(domain_id, hour start) -> the flux and pv of its twelve 5-minute buckets, from each raw minute."""
    zone = ZoneInfo(zone_name)
    slots = defaultdict(lambda: ([0] * 12, [0] * 12))
    for sample in OriginSample.objects.all():
        local = sample.minute.astimezone(zone)
        hour = sample.minute - timedelta(minutes=local.minute)
        flux, pv = slots[(sample.domain_id, hour.astimezone(UTC))]
        flux[local.minute // 5] += sample.flux
        pv[local.minute // 5] += sample.pv
    return dict(slots)


def stored_hour_slots() -> dict[tuple, tuple[list[int], list[int]]]:
    """The packed 5-minute values of the hour rows; 5-minute and day rows carry none."""
    assert not OriginRollup.objects.exclude(interval="hour").exclude(five_minute_flux=b"", five_minute_pv=b"").exists()
    return {
        (domain_id, start.astimezone(UTC)): (list(rollup_rows.unpack_slots(flux)), list(rollup_rows.unpack_slots(pv)))
        for domain_id, start, flux, pv in OriginRollup.objects.filter(interval="hour").values_list(
            "domain_id", "start", "five_minute_flux", "five_minute_pv"
        )
    }


def assert_rollups_match(zone_name: str):
    assert stored_rollups() == expected_rollups(zone_name)
    assert stored_hour_slots() == expected_hour_slots(zone_name)


# --- data ----------------------------------------------------------------------------------------


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=name) for name in ("a.example.com", "b.example.com")]


def local_anchor(zone_name: str, index: int) -> int:
    year, month, day = ANCHORS[zone_name][index % len(ANCHORS[zone_name])]
    return int(datetime.combine(date(year, month, day), time(), tzinfo=ZoneInfo(zone_name)).timestamp())


samples_strategy = st.lists(
    st.tuples(
        st.integers(0, 1),  # domain
        st.integers(0, 1),  # anchor
        st.integers(-150, 150),  # minutes from the anchor: around midnight and the hours next to it
        st.integers(0, 59),  # seconds inside the minute
        st.integers(0, 10**9),  # flux
        st.integers(0, 1000),  # pv
        st.dictionaries(st.sampled_from(CODES), st.integers(0, 50), max_size=3),
    ),
    max_size=25,
)


def as_items(zone_name: str, domains, raw) -> list[dict]:
    items = {}
    for domain, anchor, offset, second, flux, pv, status in raw:
        timestamp = local_anchor(zone_name, anchor) + offset * 60 + second
        items[(domain, timestamp // 60)] = {
            "domain": domains[domain].name,
            "timestamp": timestamp,
            "flux": flux,
            "pv": pv,
            "status": status,
        }
    return list(items.values())


def reset():
    OriginSample.objects.all().delete()
    OriginRollup.objects.all().delete()
    DirtyOriginBucket.objects.all().delete()


# --- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zone_name", sorted(ANCHORS))
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=samples_strategy, second=samples_strategy, edits=st.lists(st.integers(0, 10**6), max_size=4))
def test_rollups_equal_a_recomputation_from_minute_rows_through_every_kind_of_write(
    zone_name, first, second, edits, domains, settings, django_capture_on_commit_callbacks
):
    settings.INSIGHTS_TIME_ZONE = zone_name
    reset()
    with django_capture_on_commit_callbacks(execute=True):
        replace_origin_samples(as_items(zone_name, domains, first))
    assert_rollups_match(zone_name)

    with django_capture_on_commit_callbacks(execute=True):  # a re-post of other contents
        replace_origin_samples(as_items(zone_name, domains, second))
    assert_rollups_match(zone_name)

    samples = list(OriginSample.objects.order_by("id"))
    with django_capture_on_commit_callbacks(execute=True):  # admin-style edits, one model at a time
        for number, sample in zip(edits, samples, strict=False):
            if number % 4 == 0:
                sample.delete()
            elif number % 4 == 1:
                sample.flux = number
                sample.minute += timedelta(minutes=number % 97 - 48)
                if not OriginSample.objects.filter(domain_id=sample.domain_id, minute=sample.minute).exists():
                    sample.save()
            elif number % 4 == 2:
                sample.status = {**sample.status, "404": number % 7}
                sample.save()
            elif sample.status:
                sample.status = dict(sorted(sample.status.items())[1:])  # drop its lowest code
                sample.save(update_fields=["status"])
            else:
                sample.delete()
    assert_rollups_match(zone_name)

    with django_capture_on_commit_callbacks(execute=True):  # the log importer adds
        for sample in samples[:3]:
            add_origin_samples(sample.domain_id, {sample.minute: (7, 1, {500: 1})})
    assert_rollups_match(zone_name)
    assert not DirtyOriginBucket.objects.exists()


@pytest.mark.parametrize("zone_name", sorted(ANCHORS))
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=samples_strategy)
def test_rebuild_and_five_minute_rows_from_raw_match_the_recomputation(zone_name, raw, domains, settings):
    settings.INSIGHTS_TIME_ZONE = zone_name
    reset()
    replace_origin_samples(as_items(zone_name, domains, raw))  # on_commit never fires here: rollups empty
    expected = expected_rollups(zone_name)
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    five = raw_sums.compute_five_minute_rows([domain.id for domain in domains], start, end)
    assert not OriginRollup.objects.exists()  # a pure read
    assert {
        (
            row["domain_id"],
            "5min",
            row["start"],
            row["flux"],
            row["pv"],
            row["peak_flux_5m"],
            row["peak_pv_5m"],
            tuple(row["status"].items()),
        )
        for row in five
    } == {row for row in expected if row[1] == "5min"}

    summary = rollups.rebuild()
    assert stored_rollups() == expected
    assert stored_hour_slots() == expected_hour_slots(zone_name)
    assert summary["five_minute_rows"] + summary["hour_rows"] + summary["day_rows"] == len(expected)
    assert not DirtyOriginBucket.objects.exists()


# --- examples --------------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ts(text: str) -> int:
    return int(at(text).timestamp())


def test_berlin_autumn_dst_day_has_25_hour_rows_and_one_day_row(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Europe/Berlin"
    start = ts("2024-10-27T00:00:00+02:00")
    items = [
        {"domain": "a.example.com", "timestamp": start + hour * 3600, "flux": 10, "pv": 1, "status": {"200": 1}}
        for hour in range(25)
    ]
    replace_origin_samples(items)
    rollups.recompute_dirty()
    hours = OriginRollup.objects.filter(interval="hour")
    assert hours.count() == 25
    day = OriginRollup.objects.get(interval="day")
    assert day.start == at("2024-10-27T00:00:00+02:00")
    assert (day.flux, day.pv, day.peak_flux_5m, day.status) == (250, 25, 10, {"200": 25})
    assert_rollups_match("Europe/Berlin")


def test_kolkata_hours_start_at_half_past_utc(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Asia/Kolkata"
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": ts("2024-07-15T10:29:00Z"), "flux": 1, "pv": 1},
            {"domain": "a.example.com", "timestamp": ts("2024-07-15T10:30:00Z"), "flux": 2, "pv": 1},
        ]
    )
    rollups.recompute_dirty()
    starts = sorted(OriginRollup.objects.filter(interval="hour").values_list("start", flat=True))
    assert starts == [at("2024-07-15T09:30:00Z"), at("2024-07-15T10:30:00Z")]


def test_hour_peak_is_the_largest_five_minute_sum_not_the_largest_minute(domains, settings):
    base = ts("2024-05-01T10:00:00+08:00")
    replace_origin_samples(
        [{"domain": "a.example.com", "timestamp": base + minute * 60, "flux": 10, "pv": 2} for minute in range(5)]
        + [{"domain": "a.example.com", "timestamp": base + 600, "flux": 30, "pv": 1}]
    )
    rollups.recompute_dirty()
    hour = OriginRollup.objects.get(interval="hour")
    assert (hour.flux, hour.pv, hour.peak_flux_5m, hour.peak_pv_5m) == (80, 11, 50, 10)
    assert rollup_rows.unpack_slots(hour.five_minute_flux) == (50, 0, 30) + (0,) * 9
    assert rollup_rows.unpack_slots(hour.five_minute_pv) == (10, 0, 1) + (0,) * 9


def test_zero_status_counts_are_left_out_and_a_sample_without_traffic_still_makes_a_row(domains):
    replace_origin_samples(
        [{"domain": "a.example.com", "timestamp": ts("2024-05-01T00:00:00Z"), "flux": 0, "pv": 0, "status": {"200": 0}}]
    )
    rollups.recompute_dirty()
    assert sorted(OriginRollup.objects.values_list("interval", "flux", "status")) == [
        ("5min", 0, {}),
        ("day", 0, {}),
        ("hour", 0, {}),
    ]


def test_periods_without_data_lose_their_rows_after_a_delete(domains, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        replace_origin_samples(
            [{"domain": "a.example.com", "timestamp": ts("2024-05-01T00:00:00Z"), "flux": 5, "pv": 1}]
        )
    assert OriginRollup.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        OriginSample.objects.get().delete()
    assert not OriginRollup.objects.exists()
    assert not DirtyOriginBucket.objects.exists()


def test_writes_mark_five_minute_buckets_and_schedule_the_recompute_on_commit(
    domains, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        replace_origin_samples(
            [
                {"domain": "a.example.com", "timestamp": ts("2024-05-01T00:04:59Z"), "flux": 1, "pv": 1},
                {"domain": "a.example.com", "timestamp": ts("2024-05-01T00:05:00Z"), "flux": 1, "pv": 1},
                {"domain": "b.example.com", "timestamp": ts("2024-05-01T00:01:00Z"), "flux": 1, "pv": 1},
            ]
        )
        add_origin_samples(domains[1], {at("2024-05-01T00:02:00Z"): (1, 1, {})})
    assert callbacks
    assert dirty_buckets(None, at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z")) == {
        (domains[0].id, at("2024-05-01T00:00:00Z")),
        (domains[0].id, at("2024-05-01T00:05:00Z")),
        (domains[1].id, at("2024-05-01T00:00:00Z")),
    }
    assert dirty_buckets([domains[1].id], at("2024-05-01T00:03:00Z"), at("2024-05-01T00:05:00Z")) == {
        (domains[1].id, at("2024-05-01T00:00:00Z"))
    }
    assert not OriginRollup.objects.exists()
    for callback in callbacks:
        callback()
    assert not DirtyOriginBucket.objects.exists()
    assert OriginRollup.objects.filter(interval="5min").count() == 3


def test_the_task_run_twice_changes_nothing_the_second_time(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Europe/Berlin"
    replace_origin_samples(
        [
            {"domain": "b.example.com", "timestamp": ts("2024-03-31T01:58:00+01:00") + 60 * i, "flux": i, "pv": 1}
            for i in range(10)
        ]
    )
    assert recompute_dirty_origin_buckets.delay().get() == 3  # buckets 01:55, 02:00, 02:05
    first = stored_rollups()
    assert recompute_dirty_origin_buckets.delay().get() == 0
    assert stored_rollups() == first == expected_rollups("Europe/Berlin")


def test_recomputing_a_bucket_twice_does_not_double_count(domains):
    replace_origin_samples([{"domain": "a.example.com", "timestamp": ts("2024-05-01T00:00:00Z"), "flux": 5, "pv": 1}])
    pair = [(domains[0].id, at("2024-05-01T00:00:00Z"))]
    rollups.recompute_buckets(pair)
    rollups.recompute_buckets(pair)
    assert set(OriginRollup.objects.values_list("interval", "flux")) == {("5min", 5), ("hour", 5), ("day", 5)}


def test_a_bucket_marked_again_during_a_recompute_keeps_its_mark_and_is_recomputed_again(domains, monkeypatch):
    replace_origin_samples([{"domain": "a.example.com", "timestamp": ts("2024-05-01T00:00:00Z"), "flux": 5, "pv": 1}])
    calls = []
    real = rollups.recompute_buckets

    def recompute_while_a_write_arrives(pairs):
        pairs = list(pairs)
        calls.append(pairs)
        result = real(pairs)
        if len(calls) == 1:  # a concurrent writer re-marks the bucket after the recompute read the raw rows
            OriginSample.objects.filter(domain=domains[0]).update(flux=9)
            mark_buckets_dirty(domains[0].id, [at("2024-05-01T00:01:00Z")])
        return result

    monkeypatch.setattr(rollups, "recompute_buckets", recompute_while_a_write_arrives)
    assert rollups.recompute_dirty() == 2
    assert len(calls) == 2
    assert not DirtyOriginBucket.objects.exists()
    assert set(OriginRollup.objects.values_list("interval", "flux")) == {("5min", 9), ("hour", 9), ("day", 9)}


def test_recompute_dirty_respects_its_limit(domains):
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": ts("2024-05-01T00:00:00Z") + 300 * i, "flux": 1, "pv": 1}
            for i in range(4)
        ]
    )
    assert rollups.recompute_dirty(limit=3) == 3
    assert DirtyOriginBucket.objects.count() == 1
    assert rollups.recompute_dirty() == 1


def test_rebuild_since_a_day_rewrites_that_day_on_and_leaves_earlier_days_alone(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Asia/Shanghai"
    replace_origin_samples(
        [
            {"domain": "a.example.com", "timestamp": ts("2024-05-01T23:59:00+08:00"), "flux": 1, "pv": 1},
            {"domain": "a.example.com", "timestamp": ts("2024-05-02T00:00:00+08:00"), "flux": 2, "pv": 1},
        ]
    )
    rollups.recompute_dirty()
    OriginRollup.objects.update(flux=999)  # corrupted rollups
    summary = rollups.rebuild(since=date(2024, 5, 2))
    assert summary == {
        "since": "2024-05-02",
        "domains": 2,
        "five_minute_rows": 1,
        "hour_rows": 1,
        "day_rows": 1,
        "marks_cleared": 0,
    }
    by_day = {
        (row.interval, row.start >= at("2024-05-02T00:00:00+08:00")): row.flux for row in OriginRollup.objects.all()
    }
    assert by_day == {
        ("5min", False): 999,
        ("hour", False): 999,
        ("day", False): 999,
        ("5min", True): 2,
        ("hour", True): 2,
        ("day", True): 2,
    }


def test_rebuild_drops_marks_of_deleted_domains(domains):
    DirtyOriginBucket.objects.create(domain_pk=10**9, start=at("2024-05-01T00:00:00Z"))
    assert rollups.rebuild()["marks_cleared"] == 1
    assert not DirtyOriginBucket.objects.exists()


def test_a_mark_for_a_deleted_domain_is_recomputed_to_nothing(domains):
    mark_buckets_dirty(10**9, [at("2024-05-01T00:00:00Z")])
    assert rollups.recompute_dirty() == 1
    assert not OriginRollup.objects.exists()


def test_five_minute_floor_needs_an_aware_time_and_floors_to_utc_buckets():
    assert five_minute_floor(at("2024-05-01T08:09:59+08:00")) == at("2024-05-01T00:05:00Z")
    with pytest.raises(ValueError):
        five_minute_floor(datetime(2024, 5, 1))
