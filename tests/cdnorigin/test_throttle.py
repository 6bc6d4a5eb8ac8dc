"""At most CDN_RATE_LIMIT_PER_SECOND requests per account and second, counted in the shared cache."""

import random

import orjson
import pytest
from django.core.cache import caches
from django.test import Client

from cdnorigin import selectors, throttle
from cdnorigin.access_keys import create_access_key
from cdnorigin.errors import VolcError
from tests.cdnorigin.volc_client import error_code, sign

PARAMS = {"Metric": "pv"}


class FixedClock:
    """A clock standing still until moved; each test gets its own second so cache keys never collide."""

    def __init__(self):
        self.now = random.randrange(10**9, 2 * 10**9) + 0.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fixed = FixedClock()
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=fixed))
    return fixed


@pytest.fixture
def answered(monkeypatch):
    monkeypatch.setattr(selectors, "describe_origin_data", lambda params, allowed_domains: {"Resources": []})


def test_the_21st_call_in_one_second_is_refused_and_a_second_later_the_window_is_free(clock, settings):
    settings.CDN_RATE_LIMIT_PER_SECOND = 20
    for _ in range(20):
        throttle.limiter.consume(7)
    with pytest.raises(VolcError) as excinfo:
        throttle.limiter.consume(7)
    assert (excinfo.value.status, excinfo.value.code) == (429, "FlowLimitExceeded")
    clock.now += 0.7  # .25 -> .95
    with pytest.raises(VolcError):
        throttle.limiter.consume(7)
    clock.now += 0.1  # 1.05: a new calendar second, but the burst is 0.8 s old
    with pytest.raises(VolcError):
        throttle.limiter.consume(7)
    clock.now += 0.2  # 1.25: the burst's 100 ms slot has left the window
    throttle.limiter.consume(7)


def test_bursts_on_both_sides_of_a_second_boundary_do_not_both_pass(clock, settings):
    """Issue 12: 20 requests at .8 s and 20 at the next second's start all passed (40 in 0.36 s)."""
    settings.CDN_RATE_LIMIT_PER_SECOND = 20
    clock.now = int(clock.now) + 0.8
    for _ in range(20):
        throttle.limiter.consume(4)
    second = int(clock.now)
    passed = 0
    for step in range(20):
        clock.now = second + 1 + step * 0.018  # 1.000 .. 1.342
        try:
            throttle.limiter.consume(4)
            passed += 1
        except VolcError:
            pass
    assert passed == 0


def test_a_client_slightly_over_the_limit_still_gets_the_limit_through(clock, settings):
    """Refused requests are not counted, so 25 a second gives 20 a second, not nothing."""
    settings.CDN_RATE_LIMIT_PER_SECOND = 20
    start = int(clock.now)
    passed = 0
    for n in range(125):  # five seconds at 25 per second
        clock.now = start + n / 25
        try:
            throttle.limiter.consume(5)
            passed += 1
        except VolcError:
            pass
    assert 95 <= passed <= 100


def test_accounts_are_counted_separately(clock, settings):
    settings.CDN_RATE_LIMIT_PER_SECOND = 2
    throttle.limiter.consume(1)
    throttle.limiter.consume(1)
    throttle.limiter.consume(2)
    with pytest.raises(VolcError):
        throttle.limiter.consume(1)
    throttle.limiter.consume(2)


def test_limiters_sharing_the_cache_share_the_count(clock, settings):
    """Two server processes are two limiters over one cache: together they allow the limit, not twice it."""
    settings.CDN_RATE_LIMIT_PER_SECOND = 3
    other_process = throttle.RateLimiter(clock=clock)
    throttle.limiter.consume(5)
    other_process.consume(5)
    throttle.limiter.consume(5)
    with pytest.raises(VolcError):
        other_process.consume(5)


def test_the_limit_follows_the_setting(clock, settings):
    settings.CDN_RATE_LIMIT_PER_SECOND = 1
    throttle.limiter.consume(9)
    with pytest.raises(VolcError):
        throttle.limiter.consume(9)


def test_a_failing_cache_lets_requests_through(clock, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "add", broken)
    for _ in range(50):
        throttle.limiter.consume(3)
    assert "throttle unavailable" in caplog.text


@pytest.mark.django_db
def test_the_21st_signed_request_in_one_second_gets_429(clock, answered, settings):
    settings.CDN_RATE_LIMIT_PER_SECOND = 20
    ak, sk = create_access_key("busy")
    client = Client()
    statuses = [sign(ak, sk, params=PARAMS).send(client).status_code for _ in range(20)]
    assert statuses == [200] * 20
    response = sign(ak, sk, params=PARAMS).send(client)
    assert (response.status_code, error_code(response)) == (429, "FlowLimitExceeded")
    assert orjson.loads(response.content)["ResponseMetadata"]["Action"] == "DescribeCdnOriginData"
    other_ak, other_sk = create_access_key("quiet")
    assert sign(other_ak, other_sk, params=PARAMS).send(client).status_code == 200
    clock.now += 1
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 200


@pytest.mark.django_db
def test_unauthenticated_requests_are_not_counted(clock, answered, settings):
    settings.CDN_RATE_LIMIT_PER_SECOND = 2
    ak, sk = create_access_key("careful")
    client = Client()
    for _ in range(5):
        assert sign(ak, sk + "wrong", params=PARAMS).send(client).status_code == 401
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 200
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 200
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 429
