"""The official `volcengine` SDK, unchanged, against a live server: answers and error codes.

Samples go in through the ingest service (which marks buckets dirty and recomputes rollups on
commit), so these answers come from the same path production uses.
"""

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from volcengine.cdn.service import CDNService

from cdnorigin import throttle
from cdnorigin.access_keys import create_access_key
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import Domain

DOMAINS = ("a.example.com", "b.example.com")


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    """Each request in a second of its own (test_throttle.py tests the throttle; ids repeat between tests)."""
    ticks = itertools.count(start=random.randrange(10**9, 2 * 10**9, 10**6))
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=lambda: next(ticks)))


@pytest.fixture
def sdk(live_server):
    """A CDNService pointed at the live server (the SDK keeps one shared instance: restored after).

    Closing the session ends the kept-alive connection, so the server's request thread ends and
    closes its database session; otherwise it would hold the test database open.
    """
    service = CDNService()
    saved = (service.service_info.host, service.service_info.scheme)
    service.set_host(live_server.url.split("://", 1)[1])
    service.set_scheme("http")
    yield service
    service.session.close()
    service.set_host(saved[0])
    service.set_scheme(saved[1])


def use_key(service: CDNService, key_pair: tuple[str, str]) -> CDNService:
    service.set_ak(key_pair[0])
    service.set_sk(key_pair[1])
    return service


@pytest.fixture
def samples(transactional_db):
    """Random minute samples over one UTC hour two hours ago; returns (hour start, samples)."""
    for name in DOMAINS:
        Domain.objects.create(name=name)
    rng = random.Random(4)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    items = [
        {
            "domain": name,
            "timestamp": int((hour + timedelta(minutes=minute)).timestamp()),
            "flux": rng.randrange(0, 10**9),
            "pv": rng.randrange(0, 5000),
            "status": {"200": rng.randrange(0, 100), "404": rng.randrange(0, 5)},
        }
        for name in DOMAINS
        for minute in sorted(rng.sample(range(60), 25))
    ]
    replace_origin_samples(items)
    return hour, items


def sdk_error(call) -> dict:
    """The SDK raises Exception(response body as bytes) for any non-200 answer.

    Caught here rather than kept in pytest.raises' ExceptionInfo: its traceback would keep the
    SDK's response, and with it the socket, alive past the test."""
    try:
        answer = call()
    except Exception as exc:
        return json.loads(exc.args[0])["ResponseMetadata"]["Error"]
    pytest.fail(f"expected an error, got {answer}")


def expected_sums(items, name, start, step, count, field):
    sums = [0] * count
    for item in items:
        if item["domain"] == name:
            sums[(item["timestamp"] - start) // step] += item[field]
    return [float(value) for value in sums]


def values(resource) -> list[float]:
    (metric,) = resource["Metrics"]
    return [value["Value"] for value in metric["Values"]]


def test_the_sdk_gets_correct_flux_per_five_minutes(sdk, samples):
    hour, items = samples
    start = int(hour.timestamp())
    service = use_key(sdk, create_access_key("main"))
    answer = service.describe_cdn_origin_data(
        {"StartTime": start, "EndTime": start + 3599, "Metric": "flux", "Domain": ",".join(DOMAINS), "Interval": "5min"}
    )
    assert answer["ResponseMetadata"]["Action"] == "DescribeCdnOriginData"
    resources = answer["Result"]["Resources"]
    assert [resource["Name"] for resource in resources] == [*DOMAINS, "total"]
    per_domain = {name: expected_sums(items, name, start, 300, 12, "flux") for name in DOMAINS}
    assert values(resources[0]) == per_domain[DOMAINS[0]]
    assert values(resources[1]) == per_domain[DOMAINS[1]]
    assert values(resources[2]) == [a + b for a, b in zip(*per_domain.values(), strict=True)]
    timestamps = [value["Timestamp"] for value in resources[0]["Metrics"][0]["Values"]]
    assert timestamps == [start + 300 * index for index in range(12)]


def test_the_sdk_get_form_gets_correct_hourly_pv(sdk, samples):
    hour, items = samples
    start = int(hour.timestamp())
    service = use_key(sdk, create_access_key("main"))
    answer = service.describe_cdn_origin_data(
        {"StartTime": start, "EndTime": start + 3599, "Metric": "pv", "Interval": "hour"}, method="GET"
    )
    (total,) = answer["Result"]["Resources"]
    assert total["Name"] == "total"
    assert values(total) == [float(sum(item["pv"] for item in items))]


def test_a_sub_account_naming_a_domain_outside_its_grant_is_denied(sdk, samples):
    service = use_key(sdk, create_access_key("sub", [DOMAINS[0]]))
    error = sdk_error(lambda: service.describe_cdn_origin_data({"Metric": "flux", "Domain": ",".join(DOMAINS)}))
    assert error["Code"] == "AccessDenied.IAMUnauthorized"
    allowed = service.describe_cdn_origin_data({"Metric": "flux", "Domain": DOMAINS[0], "Aggregate": "disaggregate"})
    assert [resource["Name"] for resource in allowed["Result"]["Resources"]] == [DOMAINS[0]]


def test_an_unknown_domain_is_not_found(sdk, samples):
    service = use_key(sdk, create_access_key("main"))
    error = sdk_error(lambda: service.describe_cdn_origin_data({"Metric": "flux", "Domain": "nope.example.com"}))
    assert error["Code"] == "NotFound.Domain"
    assert "nope.example.com" in error["Message"]


def test_an_interval_too_fine_for_the_span_is_a_bad_parameter(sdk, samples):
    hour, _ = samples
    start = int(hour.timestamp())
    service = use_key(sdk, create_access_key("main"))
    params = {"StartTime": start - 2 * 86400, "EndTime": start, "Metric": "flux", "Interval": "1min"}
    assert sdk_error(lambda: service.describe_cdn_origin_data(params))["Code"] == "InvalidParameter.Interval"


def test_a_wrong_secret_is_refused_by_signature(sdk, samples):
    ak, sk = create_access_key("main")
    service = use_key(sdk, (ak, sk[:-1] + ("A" if sk[-1] != "A" else "B")))
    assert sdk_error(lambda: service.describe_cdn_origin_data({"Metric": "flux"}))["Code"] == "SignatureDoesNotMatch"
