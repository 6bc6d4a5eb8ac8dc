"""The bound on one DescribeCdnOriginData answer (cdnorigin.origin_data.limits.MAX_POINTS_PER_ANSWER): series times
periods over every resource; one point over it is 400 `InvalidParameter.Interval` naming the limit and
the request's figure, through the signed API and on the staff page alike.

Small limits (monkeypatched) keep the data tiny; the real constant is checked against the benchmark's
status_all shape, the largest fixed-size answer and the per-code blow-up it exists for, by count only.
"""

import itertools
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client

from cdnorigin import selectors, throttle
from cdnorigin.access_keys import create_access_key
from cdnorigin.errors import VolcError
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, Domain
from cdnorigin.origin_data import limits, read, render
from cdnorigin.origin_data.limits import MAX_POINTS_PER_ANSWER, check_answer_size
from cdnorigin.origin_data.series import Series
from cdnorigin.origin_data.shape import answer_series
from cdnorigin.pages import api_parameters
from cdnorigin.periods import periods_between
from tests.browser.data import DOMAINS, local_input, origin_data
from tests.cdnorigin.volc_client import sign

pytestmark = pytest.mark.django_db

A, B = "a.example.com", "b.example.com"
MINUTES = 10
ADVICE = ("a coarser Interval", "a shorter time range", "fewer domains")


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    """Each request in a second of its own (test_throttle.py tests the throttle; ids repeat between tests)."""
    ticks = itertools.count(start=random.randrange(10**9, 2 * 10**9, 10**6))
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=lambda: next(ticks)))


def limit(monkeypatch, points: int) -> None:
    monkeypatch.setattr(limits, "MAX_POINTS_PER_ANSWER", points)


@pytest.fixture
def hour(db) -> int:
    """Ten minutes of two domains three hours ago. 5xx codes: a 500 and 502 (and a 504 counted 0 times,
    which answers no series), b 502 and 503; so status_5xx of both and `total` has 3 + 3 + 4 series."""
    start = int(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp()) - 3 * 3600
    for name in (A, B):
        Domain.objects.create(name=name)
    items = []
    for minute in range(MINUTES):
        ts = start + 60 * minute
        items.append({"domain": A, "timestamp": ts, "flux": 1000, "pv": 8, "status": {200: 5, 500: 1, 502: 2, 504: 0}})
        items.append({"domain": B, "timestamp": ts, "flux": 500, "pv": 8, "status": {200: 3, 502: 1, 503: 4}})
    return start, items


@pytest.fixture
def stored(hour, request, django_capture_on_commit_callbacks):
    """The samples, rolled up (the recompute their commit schedules) or left dirty (answered from raw rows)."""
    start, items = hour
    if getattr(request, "param", "rolled") == "rolled":
        with django_capture_on_commit_callbacks(execute=True):
            replace_origin_samples(items)
    else:
        replace_origin_samples(items)
    return start


@pytest.fixture
def key_pair(db):
    return create_access_key("main-user")


def ask(key_pair, **params):
    return sign(*key_pair, params=params).send(Client())


def params(start: int, interval: str, metric: str = "status_5xx", **extra) -> dict:
    end = start + 60 * (MINUTES - 1)
    return {"StartTime": start, "EndTime": end, "Interval": interval, "Metric": metric, "Domain": f"{A},{B}", **extra}


def periods(start: int, interval: str) -> int:
    return len(periods_between(start, start + 60 * (MINUTES - 1), interval))


def metrics(payload: dict) -> dict[str, list[str]]:
    resources = payload["Result"]["Resources"]
    return {resource["Name"]: [item["Metric"] for item in resource["Metrics"]] for resource in resources}


def assert_refused(response, points: int, limit: int) -> None:
    """400 with the error envelope and nothing else; the message names the figure, the limit and the way out."""
    assert response.status_code == 400, response.content
    payload = orjson.loads(response.content)
    assert set(payload) == {"ResponseMetadata"}
    error = payload["ResponseMetadata"]["Error"]
    assert set(error) == {"CodeN", "Code", "Message"}
    assert (error["Code"], error["CodeN"]) == ("InvalidParameter.Interval", 100004)
    message = error["Message"]
    assert f"would hold {points} points" in message and f"the {limit} points one answer may hold" in message
    assert all(advice in message for advice in ADVICE), message


EXPECTED_5XX = {
    A: ["status_5xx", "status_500", "status_502"],
    B: ["status_5xx", "status_502", "status_503"],
    "total": ["status_5xx", "status_500", "status_502", "status_503"],
}


@pytest.mark.parametrize("stored", ["rolled", "dirty"], indirect=True)
@pytest.mark.parametrize("interval", ["1min", "5min"])
def test_per_code_status_answers_up_to_the_limit_and_refuses_one_point_more(monkeypatch, key_pair, stored, interval):
    points = 10 * periods(stored, interval)  # the 504 counted 0 times is no series, so not counted
    limit(monkeypatch, points)
    response = ask(key_pair, **params(stored, interval))
    assert response.status_code == 200, response.content
    payload = orjson.loads(response.content)
    assert metrics(payload) == EXPECTED_5XX
    resources = payload["Result"]["Resources"]
    assert sum(len(item["Values"]) for resource in resources for item in resource["Metrics"]) == points

    limit(monkeypatch, points - 1)
    assert_refused(ask(key_pair, **params(stored, interval)), points, points - 1)


def test_the_total_alone_counts_its_codes_once(monkeypatch, key_pair, stored):
    """Aggregate=aggregate: `total` only, with the union of the domains' codes (4 series)."""
    points = 4 * periods(stored, "1min")
    limit(monkeypatch, points)
    response = ask(key_pair, **params(stored, "1min", Aggregate="aggregate"))
    assert response.status_code == 200, response.content
    assert metrics(orjson.loads(response.content)) == {"total": EXPECTED_5XX["total"]}
    limit(monkeypatch, points - 1)
    assert_refused(ask(key_pair, **params(stored, "1min", Aggregate="aggregate")), points, points - 1)


@pytest.mark.parametrize("metric, per_resource", [("flux", 1), ("qps", 1), ("status_all", 5)])
def test_fixed_size_metrics_count_their_series_per_resource(monkeypatch, key_pair, stored, metric, per_resource):
    """flux and the rates answer one series per resource, status_all five (its sum and 2xx..5xx); fewer
    resources (Aggregate=aggregate) or a coarser Interval bring a refused request under the limit."""
    points = 3 * per_resource * periods(stored, "1min")
    limit(monkeypatch, points - 1)
    assert_refused(ask(key_pair, **params(stored, "1min", metric)), points, points - 1)
    assert ask(key_pair, **params(stored, "1min", metric, Aggregate="aggregate")).status_code == 200
    assert ask(key_pair, **params(stored, "5min", metric)).status_code == 200


def test_a_refused_answer_is_never_built(monkeypatch, stored):
    """The check sits between reading the series and building the answer: neither the `total` sums nor
    a resource's Points are made for a refused request."""

    def never(*args, **kwargs):
        raise AssertionError("built an answer past the limit")

    limit(monkeypatch, 10 * periods(stored, "1min") - 1)
    monkeypatch.setattr(render, "Points", never)
    monkeypatch.setattr(Series, "total", classmethod(never))
    with pytest.raises(VolcError) as refused:
        selectors.describe_origin_data(params(stored, "1min"), None)
    assert refused.value.code == "InvalidParameter.Interval"


@pytest.mark.parametrize("interval", ["1min", "5min"])
def test_a_per_code_answer_past_the_limit_is_refused_before_its_rows_are_read(monkeypatch, stored, interval):
    """Counted from the codes stored in range, before any row is read, so memory never follows a flood
    of codes; the same error as the check on what was read."""

    def never(*args, **kwargs):
        raise AssertionError("read the rows of a refused answer")

    limit(monkeypatch, 10 * periods(stored, interval) - 1)
    monkeypatch.setattr(read, "rollup_arrays", never)
    monkeypatch.setattr(read, "code_arrays", never)
    with pytest.raises(VolcError) as refused:
        selectors.describe_origin_data(params(stored, interval), None)
    assert refused.value.code == "InvalidParameter.Interval"
    assert not DirtyOriginBucket.objects.exists(), "every bucket was counted before reading"


# --- the staff page ------------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def page_choice(origin) -> dict:
    return {
        "start": local_input(origin.first_minute - timedelta(hours=1)),
        "end": local_input(origin.first_minute + timedelta(hours=2)),
        "interval": "5min",
        "domain": list(DOMAINS),
    }


def test_the_page_shows_the_refusal_as_its_message(monkeypatch, staff):
    """The page's largest answer is status_all: 5 series of 2 domains and `total`."""
    chosen = page_choice(origin_data())
    query = api_parameters({**chosen, "domains": chosen["domain"]})
    points = 15 * len(periods_between(query["StartTime"], query["EndTime"], "5min"))
    limit(monkeypatch, points)
    assert staff.get("/cdn/", chosen).status_code == 200

    limit(monkeypatch, points - 1)
    response = staff.get("/cdn/", chosen)
    assert response.status_code == 400
    assert b'role="alert"' in response.content and b"InvalidParameter.Interval" in response.content
    assert f"would hold {points} points".encode() in response.content
    assert f"the {points - 1} points one answer may hold".encode() in response.content
    csv_response = staff.get("/cdn/", {**chosen, "format": "csv", "chart": "status"})
    assert csv_response.status_code == 400 and f"would hold {points} points".encode() in csv_response.content


# --- the real limit, by count ----------------------------------------------------------------------


def domains_with(codes: range, count: int = 50) -> list[Series]:
    """`count` domains' series (one period each: only which codes are counted matters to the count)."""
    return [Series([1], [1], [0], [0], {code: [1] for code in codes}) for _ in range(count)]


def test_the_real_limit_admits_the_benchmarks_status_all_answer():
    """bench/run.py: status_all at 1min over a day (StartTime at midnight, EndTime a second before the
    next) of 50 domains and `total`: 255 series x 1,440 periods = 367,200 points."""
    day = int(datetime(2024, 9, 15, tzinfo=UTC).timestamp())
    size = len(periods_between(day, day + 86399, "1min"))
    series_count = answer_series("status_all", domains_with(range(200, 600, 50)), True, True)
    assert (series_count, size) == (255, 1440)
    check_answer_size(series_count, size)
    assert series_count * size == 367_200 < MAX_POINTS_PER_ANSWER


def test_the_real_limit_admits_every_fixed_size_answer_and_refuses_a_flood_of_codes():
    """The largest answer the parameters alone fix (status_all at 5min over 31 days of 50 domains and
    `total`) fits; status_5xx of the same shape with 100 distinct 5xx codes a domain is refused."""
    start = int(datetime(2024, 9, 1, tzinfo=UTC).timestamp())
    size = len(periods_between(start, start + 31 * 86400, "5min"))
    assert size == 8929
    check_answer_size(answer_series("status_all", domains_with(range(0)), True, True), size)
    usual = answer_series("status_5xx", domains_with(range(500, 504)), True, True)  # four codes a domain
    check_answer_size(usual, size)
    flood = answer_series("status_5xx", domains_with(range(500, 600)), True, True)
    assert flood == 51 * 101
    with pytest.raises(VolcError) as refused:
        check_answer_size(flood, size)
    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter.Interval")
    assert f"would hold {flood * size} points" in refused.value.message
    assert str(MAX_POINTS_PER_ANSWER) in refused.value.message
