"""Origin-sample ingest: POST/GET /api/v1/cdn/origin-samples/ and the log importer's add_origin_samples."""

import gc
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdnorigin import rollups
from cdnorigin.api import samples as samples_api
from cdnorigin.ingest import (
    UnknownDomainsError,
    add_origin_samples,
    replace_origin_samples,
)
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.retention import purge_expired

URL = "/api/v1/cdn/origin-samples/"
T0 = 1714521600  # 2024-05-01T00:00:00Z
pytestmark = pytest.mark.django_db


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=name) for name in ("www.example.com", "img.example.com")]


def sample(timestamp=T0, domain="www.example.com", flux=13806, pv=12, status=None):
    return {"domain": domain, "timestamp": timestamp, "flux": flux, "pv": pv, "status": status or {"200": 10, "404": 2}}


def stored() -> list[tuple]:
    return [
        (s.domain.name, int(s.minute.timestamp()), s.flux, s.pv, s.status)
        for s in OriginSample.objects.select_related("domain").order_by("id")
    ]


def status_entries() -> int:
    return sum(len(status) for status in OriginSample.objects.values_list("status", flat=True))


def post(client, payload):
    return client.post(URL, payload, format="json")


# --- POST: the happy path --------------------------------------------------------------------------


def test_posting_a_list_stores_one_row_per_domain_and_minute(api_client, domains):
    response = post(api_client, [sample(), sample(T0 + 60, "img.example.com", 5, 1, {"503": 1})])
    assert response.status_code == 201, response.content
    assert response.json() == {"count": 2}
    assert stored() == [
        ("www.example.com", T0, 13806, 12, {"200": 10, "404": 2}),
        ("img.example.com", T0 + 60, 5, 1, {"503": 1}),
    ]


def test_a_single_object_is_accepted_and_its_timestamp_is_floored_to_the_minute(api_client, domains):
    response = post(api_client, sample(T0 + 59, domain=" WWW.Example.com"))
    assert response.status_code == 201, response.content
    assert stored() == [("www.example.com", T0, 13806, 12, {"200": 10, "404": 2})]


def test_status_may_be_left_out(api_client, domains):
    payload = sample()
    del payload["status"]
    assert post(api_client, payload).status_code == 201
    assert stored() == [("www.example.com", T0, 13806, 12, {})]


def test_reposting_replaces_the_whole_sample_and_counts_once(api_client, domains, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(api_client, [sample(status={"200": 10, "404": 2})])
        post(api_client, [sample(status={"200": 10, "404": 2})])
    assert stored() == [("www.example.com", T0, 13806, 12, {"200": 10, "404": 2})]
    assert OriginRollup.objects.get(interval="day").flux == 13806

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, [sample(T0 + 30, flux=1, pv=3, status={"502": 3})])
    assert response.status_code == 201
    assert stored() == [("www.example.com", T0, 1, 3, {"502": 3})]  # 200 and 404 are gone
    day = OriginRollup.objects.get(interval="day")
    assert (day.flux, day.pv, day.status) == (1, 3, {"502": 3})
    assert not DirtyOriginBucket.objects.exists()


def test_a_full_batch_of_10000_is_written_in_bulk_statements(api_client, domains, django_assert_max_num_queries):
    batch = [sample(T0 + 60 * i, status={"200": 1, "304": 2}) for i in range(10_000)]
    body = json.dumps(batch)
    with django_assert_max_num_queries(400):  # per-row writes would take over 10,000
        response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.content[:500]
    assert OriginSample.objects.count() == 10_000
    assert status_entries() == 20_000
    with django_assert_max_num_queries(400):  # and again, replacing every row
        assert api_client.post(URL, body, content_type="application/json").status_code == 201
    assert status_entries() == 20_000
    assert DirtyOriginBucket.objects.count() == 2000


def test_a_batch_mixing_new_and_stored_minutes_replaces_these_and_adds_those(
    api_client, domains, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(api_client, [sample(T0 + 60 * i, flux=1, pv=1, status={"200": 1}) for i in range(0, 10, 2)])
        response = post(api_client, [sample(T0 + 60 * i, flux=2, pv=2, status={"404": 2}) for i in range(3, 9)])
    assert response.status_code == 201, response.content
    assert sorted((minute - T0, flux, status) for _, minute, flux, _, status in stored()) == [
        (0, 1, {"200": 1}),
        (120, 1, {"200": 1}),
        (180, 2, {"404": 2}),
        (240, 2, {"404": 2}),
        (300, 2, {"404": 2}),
        (360, 2, {"404": 2}),
        (420, 2, {"404": 2}),
        (480, 2, {"404": 2}),
    ]
    day = OriginRollup.objects.get(interval="day")
    assert (day.flux, day.status) == (14, {"200": 2, "404": 12})


def test_the_cycle_collector_is_off_while_a_batch_is_written_and_back_on_after(api_client, domains, monkeypatch):
    seen = []

    def replace(items):
        seen.append(gc.isenabled())
        return len(items)

    monkeypatch.setattr(samples_api, "replace_origin_samples", replace)
    assert gc.isenabled()
    assert post(api_client, [sample()]).status_code == 201
    assert seen == [False]
    assert gc.isenabled()

    gc.disable()  # turned off by someone else: left off
    try:
        assert post(api_client, [sample()]).status_code == 201
        assert not gc.isenabled()
    finally:
        gc.enable()

    monkeypatch.setattr(samples_api, "replace_origin_samples", lambda items: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        post(api_client, [sample()])
    assert gc.isenabled()


# --- POST: refused, nothing written ----------------------------------------------------------------


def item_errors(body) -> dict:
    return {index: entry for index, entry in enumerate(body) if entry}


def test_one_bad_item_refuses_the_whole_batch_naming_its_index_and_field(api_client, domains):
    response = post(api_client, [sample(), sample(T0 + 60, flux=-1), sample(T0 + 120)])
    assert response.status_code == 400
    assert item_errors(response.json()) == {1: {"flux": ["Must be from 0 to 281474976710655."]}}
    assert not OriginSample.objects.exists()
    assert not DirtyOriginBucket.objects.exists()


def test_unknown_domains_are_listed_and_nothing_is_written(api_client, domains):
    response = post(api_client, [sample(), sample(domain="nope.example.com"), sample(domain="gone.example.org")])
    assert response.status_code == 400
    errors = item_errors(response.json())
    assert sorted(errors) == [1, 2]
    assert "nope.example.com" in errors[1]["domain"][0]
    assert "gone.example.org" in errors[2]["domain"][0]
    assert not OriginSample.objects.exists()


def test_two_samples_for_one_domain_and_minute_in_a_batch_are_refused(api_client, domains):
    response = post(api_client, [sample(T0), sample(T0 + 60), sample(T0 + 59)])
    assert response.status_code == 400
    errors = item_errors(response.json())
    assert list(errors) == [2]
    assert "Item 0" in errors[2]["timestamp"][0]
    assert not OriginSample.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"flux": -1}, "flux"),
        ({"pv": -5}, "pv"),
        ({"flux": 1.5}, "flux"),
        ({"flux": "12"}, "flux"),
        ({"pv": True}, "pv"),
        ({"pv": None}, "pv"),
        ({"flux": 2**48}, "flux"),
        ({"timestamp": 1631635200.0}, "timestamp"),
        ({"timestamp": "1631635200"}, "timestamp"),
        ({"timestamp": "2024-05-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": -60}, "timestamp"),
        ({"timestamp": 10**12}, "timestamp"),
        ({"timestamp": False}, "timestamp"),
        ({"domain": 5}, "domain"),
        ({"domain": ""}, "domain"),
        ({"status": {"99": 1}}, "status"),
        ({"status": {"600": 1}}, "status"),
        ({"status": {"abc": 1}}, "status"),
        ({"status": {"2000": 1}}, "status"),
        ({"status": {"099": 1}}, "status"),
        ({"status": {"200": -1}}, "status"),
        ({"status": {"200": "1"}}, "status"),
        ({"status": {"200": True}}, "status"),
        ({"status": [200]}, "status"),
    ],
)
def test_each_bad_value_is_a_400_naming_the_item_and_field(api_client, domains, change, field):
    response = post(api_client, [sample(), {**sample(T0 + 60), **change}])
    assert response.status_code == 400, response.content
    assert list(item_errors(response.json())) == [1]
    assert list(response.json()[1]) == [field]
    assert not OriginSample.objects.exists()


def test_a_single_bad_object_gets_its_errors_as_an_object(api_client, domains):
    response = post(api_client, {**sample(), "status": {"600": 1}})
    assert response.status_code == 400
    assert list(response.json()) == ["status"]
    assert "600" in response.json()["status"][0]


@pytest.mark.parametrize("field", ["domain", "timestamp", "flux", "pv"])
def test_missing_fields_are_named(api_client, domains, field):
    payload = sample()
    del payload[field]
    response = post(api_client, [payload])
    assert response.status_code == 400
    assert response.json() == [{field: ["This field is required."]}]


@pytest.mark.parametrize("payload", [[1], ["x"], [None], 5, "text", None])
def test_a_body_that_is_not_samples_is_a_400(api_client, domains, payload):
    response = post(api_client, payload)
    assert response.status_code == 400
    assert not OriginSample.objects.exists()


def test_more_than_10000_items_is_a_400(api_client, domains):
    response = api_client.post(
        URL, json.dumps([sample(T0 + 60 * i) for i in range(10_001)]), content_type="application/json"
    )
    assert response.status_code == 400
    assert "10000" in response.json()["non_field_errors"][0]
    assert not OriginSample.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api_client, domains):
    response = api_client.post(URL, "[{not json", content_type="application/json")
    assert response.status_code == 400
    assert not OriginSample.objects.exists()


def test_writes_need_a_write_token(read_only_client, anonymous_client, domains):
    assert post(read_only_client, [sample()]).status_code == 403
    assert post(anonymous_client, [sample()]).status_code in (401, 403)
    assert not OriginSample.objects.exists()


# --- GET ---------------------------------------------------------------------------------------------


@pytest.fixture
def some_samples(domains):
    replace_origin_samples(
        [sample(T0 + 60 * i, status={"200": i, "301": 1}) for i in range(5)]
        + [sample(T0 + 60 * i, "img.example.com", flux=i, pv=i, status={}) for i in range(3)]
    )


def test_listing_returns_the_posted_shape_with_ids(api_client, some_samples):
    api_client.get(URL)  # the token's first use of the minute is recorded: one more query
    with CaptureQueriesContext(connection) as few:
        api_client.get(URL, {"page_size": 2})
    with CaptureQueriesContext(connection) as many:
        response = api_client.get(URL)
    assert len(many) == len(few)  # no query per row
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8
    first = body["results"][0]
    assert set(first) == {"id", "domain", "timestamp", "flux", "pv", "status"}
    assert {k: first[k] for k in ("domain", "timestamp", "flux", "pv", "status")} == {
        "domain": "www.example.com",
        "timestamp": T0,
        "flux": 13806,
        "pv": 12,
        "status": {"200": 0, "301": 1},
    }
    assert api_client.get(f"{URL}{first['id']}/").json() == first


def test_the_listing_round_trips_through_post(api_client, some_samples):
    before = stored()
    listed = api_client.get(URL, {"page_size": 1000}).json()["results"]
    assert post(api_client, listed).status_code == 201
    assert sorted(stored()) == sorted(before)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"domain": "img.example.com"}, 3),
        ({"domain": "IMG.example.com,www.example.com"}, 8),
        ({"start": str(T0 + 120)}, 4),
        ({"start": str(T0 + 119), "end": str(T0 + 180)}, 5),
        ({"start": "2024-05-01T08:02:00+08:00", "domain": "www.example.com"}, 3),
        ({"end": "2024-05-01T00:00:30Z"}, 2),
    ],
)
def test_listing_filters_by_domain_and_minute_range(api_client, some_samples, query, expected):
    response = api_client.get(URL, query)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected


def test_a_time_filter_without_an_offset_is_a_400(api_client, some_samples):
    assert api_client.get(URL, {"start": "2024-05-01T00:00:00"}).status_code == 400
    assert api_client.get(URL, {"start": "soon"}).status_code == 400


def test_listing_pages(api_client, some_samples):
    body = api_client.get(URL, {"page_size": 3, "page": 3}).json()
    assert body["count"] == 8
    assert len(body["results"]) == 2


# --- the services ------------------------------------------------------------------------------------


def test_replace_refuses_unknown_domains_writing_nothing(domains):
    with pytest.raises(UnknownDomainsError) as error:
        replace_origin_samples([sample(), sample(domain="x.example.com")])
    assert error.value.names == ["x.example.com"]
    assert not OriginSample.objects.exists()


def test_add_origin_samples_adds_to_what_is_stored(domains, django_capture_on_commit_callbacks):
    www = domains[0]
    minute = datetime.fromtimestamp(T0, UTC)
    replace_origin_samples([sample()])
    with django_capture_on_commit_callbacks(execute=True):
        touched = add_origin_samples(
            www,
            {
                minute.replace(second=10): (100, 2, {200: 1, 500: 1}),
                minute.replace(second=50): (1, 1, {500: 2}),
                datetime.fromtimestamp(T0 + 3600, UTC): (7, 7, {}),
            },
        )
    assert touched == 2
    assert stored() == [
        ("www.example.com", T0, 13907, 15, {"200": 11, "404": 2, "500": 3}),
        ("www.example.com", T0 + 3600, 7, 7, {}),
    ]
    add_origin_samples(www.id, {minute: (1, 1, {200: 1})})
    assert stored()[0] == ("www.example.com", T0, 13908, 16, {"200": 12, "404": 2, "500": 3})
    assert OriginRollup.objects.get(interval="day").flux == 13907 + 7
    assert DirtyOriginBucket.objects.count() == 1  # the last add, not yet committed


@pytest.mark.parametrize(
    "per_minute",
    [
        {datetime(2024, 5, 1): (1, 1, {})},
        {datetime(2024, 5, 1, tzinfo=UTC): (-1, 1, {})},
        {datetime(2024, 5, 1, tzinfo=UTC): (1, 1.5, {})},
        {datetime(2024, 5, 1, tzinfo=UTC): (1, 1, {600: 1})},
        {datetime(2024, 5, 1, tzinfo=UTC): (1, 1, {"200": 1})},
        {datetime(2024, 5, 1, tzinfo=UTC): (1, 1, {200: -1})},
    ],
)
def test_add_origin_samples_refuses_bad_values_writing_nothing(domains, per_minute):
    with pytest.raises(ValueError):
        add_origin_samples(domains[0], {datetime(2024, 4, 1, tzinfo=UTC): (1, 1, {}), **per_minute})
    assert not OriginSample.objects.exists()
    assert not DirtyOriginBucket.objects.exists()


def test_purge_drops_whole_local_days_past_retention_and_keeps_the_rest(domains, settings):
    settings.INSIGHTS_TIME_ZONE = "Asia/Shanghai"
    settings.CDN_RETENTION_DAYS = 10
    midnight = int(datetime(2024, 5, 1, 16, 0, tzinfo=UTC).timestamp())  # 2024-05-02 00:00 in Shanghai
    replace_origin_samples([sample(midnight - 60), sample(midnight)])
    rollups.recompute_dirty()
    DirtyOriginBucket.objects.create(domain_pk=domains[0].id, start=datetime.fromtimestamp(midnight - 300, UTC))
    now = datetime(2024, 5, 12, 1, 0, tzinfo=UTC)  # 09:00 on 2024-05-12 in Shanghai: ten days keeps 05-02 on
    summary = purge_expired(now)
    assert summary["cutoff"] == "2024-05-02T00:00:00+08:00"
    assert (summary["samples"], summary["rollups"], summary["dirty_marks"]) == (1, 3, 1)
    assert stored() == [("www.example.com", midnight, 13806, 12, {"200": 10, "404": 2})]
    assert status_entries() == 2
    assert set(OriginRollup.objects.values_list("interval", "flux")) == {
        ("5min", 13806),
        ("hour", 13806),
        ("day", 13806),
    }


def test_a_time_filter_with_an_offset_postgresql_cannot_store_works(api_client, some_samples):
    """ISO 8601 allows offsets up to +-23:59, PostgreSQL only +-15:59: compared as UTC (found by the fuzz)."""
    same = api_client.get(URL, {"start": str(T0 + 120)}).json()["count"]
    shifted = datetime.fromtimestamp(T0 + 120, UTC).astimezone(timezone(timedelta(hours=23, minutes=30)))
    response = api_client.get(URL, {"start": shifted.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == same
