"""`/` as Volcengine's DescribeCdnOriginData: signing, accounts, the envelope and dispatch.

The statistics themselves are replaced by a recording fake here (they are tested in
test_selectors.py); tests/cdnorigin/test_sdk.py runs the real thing through the official SDK.
"""

import hashlib
import itertools
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdnorigin import selectors, throttle
from cdnorigin.access_keys import create_access_key
from cdnorigin.errors import VolcError
from cdnorigin.models import AccessKey, Domain
from tests.cdnorigin.volc_client import error_code, sign

pytestmark = pytest.mark.django_db
RESULT = {"Resources": [{"Name": "total", "Metrics": [{"Metric": "pv", "Values": [{"Timestamp": 0, "Value": 1.0}]}]}]}
PARAMS = {"Metric": "pv", "StartTime": 1700000000, "EndTime": 1700000600, "Interval": "5min"}


# Every request here in a second of its own: test_throttle.py tests the throttle, and account ids
# repeat between tests, so a real clock could let one test's requests count against the next.
TICKS = itertools.count(start=random.randrange(10**9, 2 * 10**9, 10**6))


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=lambda: next(TICKS)))


@pytest.fixture
def calls(monkeypatch):
    """The parameters and allowed domains each selector call received."""
    received = []

    def fake(params, allowed_domains):
        received.append((params, allowed_domains))
        return RESULT

    monkeypatch.setattr(selectors, "describe_origin_data", fake)
    return received


@pytest.fixture
def key_pair(db):
    return create_access_key("main-user")


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def body(response) -> dict:
    return orjson.loads(response.content)


def test_signed_post_answers_the_selectors_result_in_the_envelope(client, key_pair, calls):
    response = sign(*key_pair, params=PARAMS).send(client)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    payload = body(response)
    metadata = payload["ResponseMetadata"]
    assert set(payload) == {"ResponseMetadata", "Result"}
    assert {k: v for k, v in metadata.items() if k != "RequestId"} == {
        "Action": "DescribeCdnOriginData",
        "Version": "2021-03-01",
        "Service": "CDN",
        "Region": "cn-north-1",
    }
    assert response["X-Request-Id"] == metadata["RequestId"]
    assert payload["Result"] == RESULT
    assert calls == [(PARAMS, None)]


def test_get_form_passes_query_parameters_as_strings(client, key_pair, calls):
    response = sign(*key_pair, method="GET", params=PARAMS).send(client)
    assert response.status_code == 200, response.content
    assert calls == [({name: str(value) for name, value in PARAMS.items()}, None)]


def test_a_sub_account_is_limited_to_its_granted_domains(client, calls):
    for name in ("a.example.com", "b.example.com", "c.example.com"):
        Domain.objects.create(name=name)
    ak, sk = create_access_key("sub-user", ["a.example.com", "c.example.com"])
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 200
    assert calls[0][1] == {"a.example.com", "c.example.com"}


def test_region_and_service_of_the_scope_come_from_the_header(client, key_pair, calls):
    response = sign(*key_pair, params=PARAMS, region="cn-beijing", service="cdn").send(client)
    assert response.status_code == 200, response.content


def test_request_ids_are_fresh_for_every_request(client, key_pair, calls):
    ids = {body(sign(*key_pair, params=PARAMS).send(client))["ResponseMetadata"]["RequestId"] for _ in range(5)}
    ids |= {body(client.post("/?Action=Nope&Version=1"))["ResponseMetadata"]["RequestId"] for _ in range(5)}
    assert len(ids) == 10


def test_a_wrong_secret_does_not_match(client, key_pair, calls):
    ak, sk = key_pair
    response = sign(ak, sk + "x", params=PARAMS).send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    assert calls == []


def test_a_body_changed_after_signing_does_not_match(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    request.body = orjson.dumps({**PARAMS, "Metric": "flux"})
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    request.headers["X-Content-Sha256"] = hashlib.sha256(request.body).hexdigest()  # the hash is signed too
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    assert calls == []


def test_a_signed_header_changed_after_signing_does_not_match(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    request.content_type = "application/json; charset=utf-8"
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    request = sign(*key_pair, params=PARAMS, host="127.0.0.1")
    request.headers["Host"] = "localhost"
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    assert calls == []


def test_an_unsigned_header_may_change(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    request.headers["User-Agent"] = "something else"
    assert request.send(client).status_code == 200


def test_a_query_string_changed_after_signing_does_not_match(client, key_pair, calls):
    request = sign(*key_pair, method="GET", params=PARAMS)
    request.query = [(name, "flux" if name == "Metric" else value) for name, value in request.query]
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    request = sign(*key_pair, params=PARAMS)
    request.query.append(("Domain", "other.example.com"))
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")
    assert calls == []


def test_an_unknown_or_inactive_access_key_is_refused(client, key_pair, calls):
    ak, sk = key_pair
    response = sign("AKLTunknown", sk, params=PARAMS).send(client)
    assert (response.status_code, error_code(response)) == (401, "InvalidAccessKey")
    AccessKey.objects.filter(access_key_id=ak).update(active=False)
    response = sign(ak, sk, params=PARAMS).send(client)
    assert (response.status_code, error_code(response)) == (401, "InvalidAccessKey")
    assert calls == []


@pytest.mark.parametrize("minutes", [16, -16, 60 * 24])
def test_a_stale_or_future_x_date_is_refused(client, key_pair, calls, minutes):
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    response = sign(*key_pair, params=PARAMS, at=at).send(client)
    assert (response.status_code, error_code(response)) == (403, "InvalidTimestamp")
    assert calls == []


@pytest.mark.parametrize("minutes", [14, -14])
def test_an_x_date_within_the_allowed_skew_is_accepted(client, key_pair, calls, minutes):
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    assert sign(*key_pair, params=PARAMS, at=at).send(client).status_code == 200


def test_a_missing_or_garbled_x_date_is_refused(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    request.headers["X-Date"] = "2024-01-02T03:04:05Z"
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (403, "InvalidTimestamp")


def test_the_scope_date_must_be_the_x_date_day(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    x_date = request.headers["X-Date"]
    other_day = (datetime.strptime(x_date[:8], "%Y%m%d") - timedelta(days=1)).strftime("%Y%m%d")
    request.headers["Authorization"] = request.headers["Authorization"].replace(f"/{x_date[:8]}/", f"/{other_day}/")
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "SignatureDoesNotMatch")


def test_a_missing_authorization_header_is_refused(client, key_pair, calls):
    request = sign(*key_pair, params=PARAMS)
    del request.headers["Authorization"]
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "MissingAuthenticationToken")
    assert body(response)["ResponseMetadata"]["Error"]["CodeN"] > 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda header: "Bearer " + header,
        lambda header: header.replace("HMAC-SHA256", "HMAC-SHA1"),
        lambda header: header.replace("/request,", ","),
        lambda header: header.split(", Signature=")[0],
        lambda header: header.replace("SignedHeaders=", "SignedHeaders=x-not-sent;"),
        lambda header: header[:-10],
    ],
)
def test_a_malformed_authorization_header_is_refused(client, key_pair, calls, mangle):
    request = sign(*key_pair, params=PARAMS)
    request.headers["Authorization"] = mangle(request.headers["Authorization"])
    response = request.send(client)
    assert (response.status_code, error_code(response)) == (401, "InvalidAuthorization")
    assert calls == []


def test_last_used_is_recorded_at_most_once_a_minute(client, key_pair, calls):
    ak, sk = key_pair
    assert sign(ak, sk, params=PARAMS).send(client).status_code == 200
    first = AccessKey.objects.get(access_key_id=ak).last_used_at
    assert first is not None and abs((timezone.now() - first).total_seconds()) < 60
    recent = timezone.now() - timedelta(seconds=30)
    AccessKey.objects.filter(access_key_id=ak).update(last_used_at=recent)
    sign(ak, sk, params=PARAMS).send(client)
    assert AccessKey.objects.get(access_key_id=ak).last_used_at == recent
    stale = timezone.now() - timedelta(minutes=2)
    AccessKey.objects.filter(access_key_id=ak).update(last_used_at=stale)
    sign(ak, sk, params=PARAMS).send(client)
    assert AccessKey.objects.get(access_key_id=ak).last_used_at > recent


@pytest.mark.parametrize(
    "query",
    [
        {"Action": "DescribeCdnData", "Version": "2021-03-01"},
        {"Action": "DescribeCdnOriginData", "Version": "2020-01-01"},
        {"Action": "DescribeCdnOriginData"},
        {"Action": "", "Version": "2021-03-01"},
    ],
)
def test_an_unknown_action_or_version_is_404_before_authentication(client, key_pair, calls, query):
    for request in (sign(*key_pair, params=PARAMS, query=query), sign("AKLTnobody", "x", query=query)):
        response = request.send(client)
        assert (response.status_code, error_code(response)) == (404, "InvalidActionOrVersion")
        assert body(response)["ResponseMetadata"]["Action"] == query["Action"]
    assert calls == []


def test_a_post_to_the_root_without_action_is_an_unknown_action(client):
    response = client.post("/", data=b"{}", content_type="application/json")
    assert (response.status_code, error_code(response)) == (404, "InvalidActionOrVersion")


def test_other_methods_are_refused_in_the_envelope(client, key_pair, calls):
    response = client.put("/?Action=DescribeCdnOriginData&Version=2021-03-01", data=b"{}")
    assert (response.status_code, error_code(response)) == (405, "MethodNotAllowed")


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b'"Metric"', b"\xff\xfe", b"{}}"])
def test_a_body_that_is_not_a_json_object_is_a_bad_parameter(client, key_pair, calls, payload):
    response = sign(*key_pair, body=payload).send(client)
    assert (response.status_code, error_code(response)) == (400, "InvalidParameter.Body")
    assert calls == []


def test_a_repeated_query_parameter_is_a_bad_parameter(client, key_pair, calls):
    query = {"Action": "DescribeCdnOriginData", "Version": "2021-03-01", "Metric": ["pv", "flux"]}
    response = sign(*key_pair, method="GET", query=query).send(client)
    assert (response.status_code, error_code(response)) == (400, "InvalidParameter.Metric")
    assert calls == []


def test_an_empty_body_means_no_parameters(client, key_pair, calls):
    assert sign(*key_pair, method="GET", body=b"", content_type=None).send(client).status_code == 200
    assert calls == [({}, None)]


def test_selector_errors_are_answered_with_their_status_and_code(client, key_pair, monkeypatch):
    def refuse(params, allowed_domains):
        raise VolcError(403, "AccessDenied.IAMUnauthorized", "您没有权限执行该操作")

    monkeypatch.setattr(selectors, "describe_origin_data", refuse)
    response = sign(*key_pair, params=PARAMS).send(client)
    assert response.status_code == 403
    error = body(response)["ResponseMetadata"]["Error"]
    assert error == {"CodeN": 100013, "Code": "AccessDenied.IAMUnauthorized", "Message": "您没有权限执行该操作"}
    assert "Result" not in body(response)


def test_an_unexpected_failure_is_a_logged_500_in_the_envelope(client, key_pair, monkeypatch, caplog):
    def explode(params, allowed_domains):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "describe_origin_data", explode)
    response = sign(*key_pair, params=PARAMS).send(client)
    assert (response.status_code, error_code(response)) == (500, "InternalError")
    assert "boom" not in response.content.decode()
    logged = [record for record in caplog.records if record.name == "cdnorigin.api.volc"]
    assert [str(record.exc_info[1]) for record in logged] == ["boom"]


def test_the_root_page_without_action_is_html(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for link in ('href="/admin/"', 'href="/api/v1/"', "DescribeCdnOriginData", "/openapi/statistics/"):
        assert link in page


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
PARAMETER_VALUES = (
    JSON_SCALARS
    | st.lists(JSON_SCALARS, max_size=3)
    | st.sampled_from(["5min", "hour", "1min", "day", "flux", "status_2xx", "a.example.com,a.example.com", "a\x00b"])
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["StartTime", "EndTime", "Metric", "Domain", "Interval", "Aggregate", "Other"]),
        PARAMETER_VALUES,
        max_size=6,
    ),
    method=st.sampled_from(["GET", "POST"]),
)
def test_no_parameters_make_the_real_selector_fail_with_a_500(client, key_pair, params, method):
    Domain.objects.get_or_create(name="a.example.com")
    if method == "GET":
        params = {name: value for name, value in params.items() if isinstance(value, str)}
    response = sign(*key_pair, method=method, params=params).send(client)
    assert response.status_code in (200, 400, 403, 404), response.content
    payload = body(response)
    assert ("Result" in payload) == (response.status_code == 200)
