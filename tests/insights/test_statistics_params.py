"""Query strings of the Zadig statistics: every documented rule, and the decisions where the docs are silent."""

from datetime import UTC, date, datetime

import pytest
from django.http import QueryDict
from django.test import override_settings

from insights.api import zadig_params
from insights.api.errors import ZadigError

# 2024-03-31 00:30 in Shanghai is 2024-03-30 16:30 UTC.
SHANGHAI_EARLY_MORNING = int(datetime(2024, 3, 30, 16, 30, tzinfo=UTC).timestamp())


def q(query: str) -> QueryDict:
    return QueryDict(query)


def rejected(parse, query: str) -> str:
    with pytest.raises(ZadigError) as caught:
        parse(q(query))
    assert caught.value.status_code == 400
    return str(caught.value.detail)


def test_no_parameters_mean_all_projects_and_all_days():
    assert zadig_params.daily_query(q("")) == zadig_params.DailyQuery(None, None, None)


@pytest.mark.parametrize(
    "query",
    [
        "productNames=a&productNames=b",
        "productNames=a,b",
        "productNames=b&projectKey=a",
        "productNames=a,b&projectKey=b",
        "productNames= a , b ,",
        "projectKey=a,b",
    ],
)
def test_project_keys_may_be_repeated_comma_separated_or_given_as_project_key(query):
    assert zadig_params.daily_query(q(query)).project_keys == ["a", "b"]


@pytest.mark.parametrize("query", ["productNames=", "productNames=,", "projectKey=&productNames="])
def test_empty_project_keys_mean_all_projects(query):
    assert zadig_params.daily_query(q(query)).project_keys is None


def test_dates_are_bounded_by_the_local_days_that_contain_them():
    end = SHANGHAI_EARLY_MORNING + 86400 * 2
    with override_settings(INSIGHTS_TIME_ZONE="Asia/Shanghai"):
        parsed = zadig_params.daily_query(q(f"startDate={SHANGHAI_EARLY_MORNING}&endDate={end}"))
    assert (parsed.first_day, parsed.last_day) == (date(2024, 3, 31), date(2024, 4, 2))
    with override_settings(INSIGHTS_TIME_ZONE="Europe/Berlin"):
        parsed = zadig_params.daily_query(q(f"startDate={SHANGHAI_EARLY_MORNING}&endDate={end}"))
    assert (parsed.first_day, parsed.last_day) == (date(2024, 3, 30), date(2024, 4, 1))


def test_the_same_instant_twice_is_a_one_day_range():
    parsed = zadig_params.daily_query(q(f"startDate={SHANGHAI_EARLY_MORNING}&endDate={SHANGHAI_EARLY_MORNING}"))
    assert parsed.first_day == parsed.last_day


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("startDate=1700000000", "endDate"),
        ("endDate=1700000000", "startDate"),
        ("startDate=1700000001&endDate=1700000000", "endDate"),
        ("startDate=abc&endDate=1700000000", "startDate"),
        ("startDate=1700000000&endDate=1.5", "endDate"),
        ("startDate=&endDate=1700000000", "startDate"),
        ("startDate=-1&endDate=1700000000", "startDate"),
        ("startDate=+1&endDate=1700000000", "startDate"),
        ("startDate= 1&endDate=1700000000", "startDate"),
        ("startDate=1e9&endDate=1700000000", "startDate"),
        ("startDate=\u0661\u0662&endDate=1700000000", "startDate"),
        ("startDate=0&endDate=99999999999999999999999", "endDate"),
        ("startDate=0&endDate=" + "9" * 5000, "endDate"),
        ("startDate=0&endDate=253402300799", "endDate"),
        ("startDate=0&endDate=4000000000&productNames=a", "startDate..endDate"),
        ("startDate=1&startDate=2&endDate=3", "startDate"),
        ("productNames=a%00", "productNames"),
    ],
)
def test_bad_daily_parameters_are_rejected_naming_the_parameter(query, named):
    assert named in rejected(zadig_params.daily_query, query)


def test_a_repeated_identical_date_is_accepted():
    parsed = zadig_params.daily_query(q("startDate=5&startDate=5&endDate=7"))
    assert parsed.first_day == date(1970, 1, 1)


def test_the_largest_accepted_timestamp_still_has_a_local_day_in_every_zone():
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai"):
        with override_settings(INSIGHTS_TIME_ZONE=zone):
            top = zadig_params.MAX_TIMESTAMP
            parsed = zadig_params.release_query(q(f"start_time={top - 10}&end_time={top}"))
            assert parsed.end > parsed.start


def test_release_times_and_project_aliases():
    parsed = zadig_params.release_query(q("startTime=100&end_time=200&project_name=a&projectKey=b,c"))
    assert parsed.project_keys == ["a", "b", "c"]
    assert parsed.start == datetime.fromtimestamp(100, UTC)
    # end_time is inclusive for the whole second: the exclusive bound is one second later.
    assert parsed.end == datetime.fromtimestamp(201, UTC)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "start_time"),
        ("start_time=100", "end_time"),
        ("end_time=100", "start_time"),
        ("start_time=200&end_time=100", "end_time"),
        (f"start_time=0&end_time={366 * 86400 + 1}", "366"),
        ("start_time=x&end_time=100", "start_time"),
        ("start_time=100&end_time=100.0", "end_time"),
        ("start_time=100&startTime=101&end_time=200", "start_time"),
    ],
)
def test_bad_release_times_are_rejected(query, named):
    assert named in rejected(zadig_params.release_query, query)


def test_a_release_span_of_exactly_366_days_is_accepted():
    parsed = zadig_params.release_query(q(f"start_time=0&end_time={366 * 86400}"))
    assert parsed.project_keys is None


def test_rollback_defaults_and_filters():
    parsed = zadig_params.rollback_query(q("startTime=10&endTime=20&pageSize=5&projectKey=yaml&envName=&serviceName=s"))
    assert (parsed.page_num, parsed.page_size) == (1, 5)
    assert (parsed.project_key, parsed.env_name, parsed.service_name) == ("yaml", None, "s")
    assert parsed.start == datetime.fromtimestamp(10, UTC)
    assert parsed.end == datetime.fromtimestamp(21, UTC)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("endTime=20&pageSize=5", "startTime"),
        ("startTime=10&pageSize=5", "endTime"),
        ("startTime=30&endTime=20&pageSize=5", "endTime"),
        ("startTime=10&endTime=20", "pageSize"),
        ("startTime=10&endTime=20&pageSize=0", "pageSize"),
        ("startTime=10&endTime=20&pageSize=1001", "pageSize"),
        ("startTime=10&endTime=20&pageSize=5000", "pageSize"),
        ("startTime=10&endTime=20&pageSize=-1", "pageSize"),
        ("startTime=10&endTime=20&pageSize=", "pageSize"),
        ("startTime=10&endTime=20&pageSize=5&pageNum=0", "pageNum"),
        ("startTime=10&endTime=20&pageSize=5&pageNum=-2", "pageNum"),
        ("startTime=10&endTime=20&pageSize=5&pageNum=one", "pageNum"),
        ("startTime=10&endTime=20&pageSize=5&pageNum=", "pageNum"),
        ("startTime=10&endTime=20&pageSize=5&pageNum=10000000000000", "pageNum"),
        ("startTime=10&endTime=20&pageSize=5&projectKey=a&projectKey=b", "projectKey"),
        ("startTime=10&endTime=20&pageSize=5&serviceName=%00", "serviceName"),
    ],
)
def test_bad_rollback_parameters_are_rejected(query, named):
    assert named in rejected(zadig_params.rollback_query, query)


def test_page_size_bounds_are_inclusive():
    assert zadig_params.rollback_query(q("startTime=1&endTime=1&pageSize=1")).page_size == 1
    assert zadig_params.rollback_query(q("startTime=1&endTime=1&pageSize=1000&pageNum=7")).page_size == 1000
