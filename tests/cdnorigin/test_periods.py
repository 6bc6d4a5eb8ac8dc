"""Period arithmetic of DescribeCdnOriginData: the seed's examples and local clock time on DST days."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdnorigin.periods import floor, periods_between

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone, *parts) -> int:
    return int(datetime(*parts, tzinfo=zone).timestamp())


def local_starts(periods, zone) -> list[str]:
    return [datetime.fromtimestamp(ts, zone).strftime("%m-%d %H:%M") for ts in periods.starts]


@pytest.mark.parametrize(
    ("start", "end", "interval", "expected"),
    [
        ((15, 7), (15, 21), "5min", ["15:05", "15:10", "15:15", "15:20"]),
        ((15, 7), (15, 25), "5min", ["15:05", "15:10", "15:15", "15:20", "15:25"]),
        ((15, 7), (18, 21), "hour", ["15:00", "16:00", "17:00", "18:00"]),
        ((15, 7), (19, 0), "hour", ["15:00", "16:00", "17:00", "18:00", "19:00"]),
        ((15, 7), (15, 20), "1min", [f"15:{minute:02d}" for minute in range(7, 21)]),
    ],
)
def test_documented_examples_give_the_documented_periods(start, end, interval, expected):
    periods = periods_between(at(SHANGHAI, 2026, 11, 2, *start), at(SHANGHAI, 2026, 11, 2, *end), interval, SHANGHAI)
    assert [label[6:] for label in local_starts(periods, SHANGHAI)] == expected
    assert periods.end == periods.starts[-1] + {"1min": 60, "5min": 300, "hour": 3600}[interval]


def test_a_start_on_a_boundary_is_its_own_period():
    periods = periods_between(at(SHANGHAI, 2026, 11, 2, 15, 5), at(SHANGHAI, 2026, 11, 2, 15, 5), "5min", SHANGHAI)
    assert periods.starts == (at(SHANGHAI, 2026, 11, 2, 15, 5),)


def test_days_start_at_local_midnight():
    periods = periods_between(at(SHANGHAI, 2026, 11, 2, 15, 7), at(SHANGHAI, 2026, 11, 4, 0, 0), "day", SHANGHAI)
    assert local_starts(periods, SHANGHAI) == ["11-02 00:00", "11-03 00:00", "11-04 00:00"]
    assert periods.starts[0] % 86400 == 16 * 3600  # midnight in UTC+8 is 16:00 UTC


def test_the_day_clocks_go_back_lasts_25_hours_and_repeats_an_hour():
    day = periods_between(at(BERLIN, 2026, 10, 25, 12), at(BERLIN, 2026, 10, 25, 12), "day", BERLIN)
    assert day.seconds(0) == 25 * 3600
    hours = periods_between(at(BERLIN, 2026, 10, 25, 0, 30), at(BERLIN, 2026, 10, 25, 4, 30), "hour", BERLIN)
    assert local_starts(hours, BERLIN) == [
        "10-25 00:00",
        "10-25 01:00",
        "10-25 02:00",
        "10-25 02:00",
        "10-25 03:00",
        "10-25 04:00",
    ]


def test_the_day_clocks_go_forward_lasts_23_hours_and_skips_an_hour():
    day = periods_between(at(BERLIN, 2026, 3, 29, 12), at(BERLIN, 2026, 3, 30, 12), "day", BERLIN)
    assert [day.seconds(0), day.seconds(1)] == [23 * 3600, 24 * 3600]
    hours = periods_between(at(BERLIN, 2026, 3, 29, 0, 30), at(BERLIN, 2026, 3, 29, 4, 30), "hour", BERLIN)
    assert local_starts(hours, BERLIN) == ["03-29 00:00", "03-29 01:00", "03-29 03:00", "03-29 04:00"]


def test_a_day_whose_midnight_is_skipped_starts_at_the_transition():
    santiago = ZoneInfo("America/Santiago")
    periods = periods_between(at(santiago, 2026, 9, 6, 12), at(santiago, 2026, 9, 6, 12), "day", santiago)
    assert local_starts(periods, santiago) == ["09-06 01:00"]
    assert periods.seconds(0) == 23 * 3600


def test_hours_start_where_the_local_minute_is_zero():
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+5:45
    periods = periods_between(at(kathmandu, 2026, 11, 2, 10, 50), at(kathmandu, 2026, 11, 2, 11, 10), "hour", kathmandu)
    assert local_starts(periods, kathmandu) == ["11-02 10:00", "11-02 11:00"]
    assert periods.starts[0] % 3600 == 15 * 60


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(1_700_000_000, 1_800_000_000),
    span=st.integers(0, 3 * 86400),
    interval=st.sampled_from(["1min", "5min", "hour", "day"]),
    zone=st.sampled_from([SHANGHAI, BERLIN, ZoneInfo("America/Santiago"), ZoneInfo("Asia/Kathmandu")]),
)
def test_periods_tile_the_range_and_every_instant_finds_its_period(start, span, interval, zone):
    end = start + span
    periods = periods_between(start, end, interval, zone)
    assert periods.starts[0] <= start and end < periods.end
    for index in range(len(periods)):
        first, stop = periods.bounds(index)
        assert first < stop
        assert periods.index_of(first) == index and periods.index_of(stop - 1) == index
        assert floor(stop - 1, interval, zone) == first
        if interval in ("hour", "day"):
            local = datetime.fromtimestamp(first, zone)
            assert local.minute == 0
            if interval == "day":
                assert local.hour == 0 or datetime.fromtimestamp(first - 1, zone).date() < local.date()
    assert periods.index_of(periods.starts[0] - 1) is None
    assert periods.index_of(periods.end) is None
