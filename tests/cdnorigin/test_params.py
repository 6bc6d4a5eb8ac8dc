"""Validation of DescribeCdnOriginData's parameters: every bad one is a 400 naming it, never a crash."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cdnorigin.errors import VolcError
from cdnorigin.params import BOTH, PER_DOMAIN, TOTAL, parse_query

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
DAY = 86400


def query(**params):
    params.setdefault("Metric", "flux")
    return parse_query(params, NOW)


def rejected(name: str, **params) -> VolcError:
    with pytest.raises(VolcError) as caught:
        query(**params)
    assert (caught.value.status, caught.value.code) == (400, f"InvalidParameter.{name}")
    assert caught.value.message
    return caught.value


def test_without_times_the_last_24_hours_in_5_minute_periods_are_asked():
    parsed = query()
    assert (parsed.start, parsed.end, parsed.interval) == (NOW_TS - DAY, NOW_TS, "5min")


def test_times_arrive_as_json_integers_or_query_string_digits():
    assert query(StartTime=NOW_TS - 600, EndTime=NOW_TS).start == NOW_TS - 600
    parsed = query(StartTime=str(NOW_TS - 600), EndTime=str(NOW_TS))
    assert (parsed.start, parsed.end) == (NOW_TS - 600, NOW_TS)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"StartTime": NOW_TS}, "EndTime"),
        ({"EndTime": NOW_TS}, "StartTime"),
        ({"StartTime": NOW_TS, "EndTime": NOW_TS - 1}, "StartTime"),
    ],
)
def test_both_times_or_neither_and_in_order(params, name):
    rejected(name, **params)


@pytest.mark.parametrize(
    "bad",
    [1.5, float(NOW_TS), True, -1, 2**32, 10**30, "12a", " 1", "-1", "1e9", "1.0", [NOW_TS], {"a": 1}, "９"],
)
def test_a_time_that_is_not_unix_seconds_is_rejected(bad):
    rejected("StartTime", StartTime=bad, EndTime=NOW_TS)
    rejected("EndTime", StartTime=NOW_TS - 60, EndTime=bad)


def test_data_older_than_the_retention_cannot_be_asked_for(settings):
    oldest = NOW_TS - 92 * DAY
    assert query(StartTime=oldest, EndTime=NOW_TS, Interval="day").start == oldest
    error = rejected("StartTime", StartTime=oldest - 1, EndTime=oldest + 60)
    assert "92 days" in error.message
    settings.CDN_RETENTION_DAYS = 7
    rejected("StartTime", StartTime=NOW_TS - 8 * DAY, EndTime=NOW_TS - 7 * DAY)


@pytest.mark.parametrize(
    ("span", "allowed"),
    [
        (0, {"1min", "5min", "hour"}),
        (DAY, {"1min", "5min", "hour"}),
        (DAY + 1, {"5min", "hour", "day"}),
        (31 * DAY, {"5min", "hour", "day"}),
        (31 * DAY + 1, {"day"}),
        (92 * DAY, {"day"}),
    ],
)
def test_the_interval_must_fit_the_span(span, allowed):
    for interval in ("1min", "5min", "hour", "day"):
        params = {"StartTime": NOW_TS - span, "EndTime": NOW_TS, "Interval": interval}
        if interval in allowed:
            assert query(**params).interval == interval
        else:
            rejected("Interval", **params)


def test_a_span_longer_than_92_days_fits_no_interval(settings):
    settings.CDN_RETENTION_DAYS = 400
    error = rejected("Interval", StartTime=NOW_TS - 92 * DAY - 1, EndTime=NOW_TS, Interval="day")
    assert "92 days" in error.message


def test_the_default_interval_fails_when_it_does_not_fit():
    rejected("Interval", StartTime=NOW_TS - 40 * DAY, EndTime=NOW_TS)


@pytest.mark.parametrize("bad", ["HOUR", "1h", "60min", "minute", 5, ["5min"], "5min,hour"])
def test_an_unknown_interval_is_rejected(bad):
    rejected("Interval", Interval=bad)


@pytest.mark.parametrize(
    "metric", ["flux", "bandwidth", "pv", "qps", "status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
)
def test_every_documented_metric_is_accepted(metric):
    assert query(Metric=metric).metric == metric


@pytest.mark.parametrize("bad", [None, "", "Flux", "flux,pv", "status_1xx", "status_200", 1, ["flux"]])
def test_one_documented_metric_is_required(bad):
    rejected("Metric", Metric=bad)


def test_domains_are_kept_in_request_order():
    assert query(Domain="b.com,a.com").domains == ("b.com", "a.com")
    assert query(Domain="").domains is None
    assert query(Domain=",".join(f"d{number}.com" for number in range(50))).domains[-1] == "d49.com"


@pytest.mark.parametrize(
    "bad",
    [
        "a.com, b.com",
        "a.com,,b.com",
        "a.com,",
        ",a.com",
        " a.com",
        "a.com\tb.com",
        "a.com,a.com",
        "a\x00.com",
        "a.com,\x1b[31m",
        "a" * 254,
        ",".join(f"d{number}.com" for number in range(51)),
        ["a.com"],
        7,
    ],
)
def test_a_malformed_domain_list_is_rejected(bad):
    rejected("Domain", Domain=bad)


@pytest.mark.parametrize(
    ("domain", "aggregate", "output"),
    [
        ("a.com", None, BOTH),
        ("a.com", "", BOTH),
        ("a.com", "disaggregate", PER_DOMAIN),
        ("a.com", "aggregate", TOTAL),
        (None, None, TOTAL),
        (None, "disaggregate", TOTAL),
        (None, "aggregate", TOTAL),
    ],
)
def test_aggregate_chooses_per_domain_resources_the_total_or_both(domain, aggregate, output):
    assert query(Domain=domain, Aggregate=aggregate).output == output


@pytest.mark.parametrize("bad", ["Aggregate", "total", "none", 1, True, ["aggregate"]])
def test_an_unknown_aggregate_is_rejected(bad):
    rejected("Aggregate", Domain="a.com", Aggregate=bad)


def test_a_body_that_is_not_an_object_is_rejected():
    with pytest.raises(VolcError) as caught:
        parse_query(["flux"], NOW)
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter.Body")


def test_unknown_parameters_are_ignored():
    assert query(Action="DescribeCdnOriginData", Version="2021-03-01", Area="china").metric == "flux"


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
names = ["StartTime", "EndTime", "Interval", "Metric", "Domain", "Aggregate"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(names), junk | st.sampled_from(["5min", "flux", str(NOW_TS), "a.com"])))
def test_any_junk_is_accepted_or_a_400_naming_a_parameter(params):
    try:
        parsed = parse_query(params, NOW)
    except VolcError as error:
        assert error.status == 400
        assert error.code.removeprefix("InvalidParameter.") in names
    else:
        assert parsed.start <= parsed.end
        assert parsed.metric == params["Metric"]
