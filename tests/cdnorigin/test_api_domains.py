"""`/api/v1/cdn/domains/`: keyed upsert by name, validation, filters, ordering, auth."""

import datetime as dt

import pytest
from django.test import override_settings

from cdnorigin.models import Domain

URL = "/api/v1/cdn/domains/"
pytestmark = pytest.mark.django_db


def item_errors(body) -> dict:
    """Per-item errors by index, whether DRF renders them as a list or as a dict keyed by index."""
    if isinstance(body, list):
        return {str(index): entry for index, entry in enumerate(body) if entry}
    return body


def test_posting_a_new_domain_creates_it_with_201(api_client):
    response = api_client.post(URL, {"name": "www.example.com"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "www.example.com"
    assert "created_at" in response.json()
    assert list(Domain.objects.values_list("name", flat=True)) == ["www.example.com"]


def test_reposting_a_known_domain_answers_200_and_changes_nothing(api_client):
    first = api_client.post(URL, {"name": "www.example.com"}, format="json").json()
    again = api_client.post(URL, {"name": "WWW.Example.com"}, format="json")
    assert again.status_code == 200
    assert again.json() == first
    assert Domain.objects.count() == 1


def test_names_are_stored_lowercase_and_trimmed(api_client):
    response = api_client.post(URL, {"name": "  CDN.Example.COM "}, format="json")
    assert response.status_code == 201
    assert Domain.objects.get().name == "cdn.example.com"


def test_a_wildcard_domain_is_accepted(api_client):
    assert api_client.post(URL, {"name": "*.img.example.com"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "name",
    [
        "",
        "localhost",
        "a..example.com",
        "-a.example.com",
        "a-.example.com",
        "a_b.example.com",
        "a.example.com,b.example.com",
        "a example.com",
        "example.com.",
        "*.*.example.com",
        "a.*.example.com",
        "*.com.",
        "10.0.0.1",
        "http://example.com",
        "x" * 64 + ".example.com",
        "ab." + ".".join(["a" * 61] * 4) + ".com",  # 254 characters
    ],
)
def test_a_name_that_is_not_a_hostname_is_refused_with_400(api_client, name):
    response = api_client.post(URL, {"name": name}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert not Domain.objects.exists()


def test_a_253_character_name_is_accepted(api_client):
    name = "a." + ".".join(["a" * 61] * 4) + ".com"
    assert len(name) == 253
    assert api_client.post(URL, {"name": name}, format="json").status_code == 201


def test_a_list_creates_every_new_name_and_keeps_known_ones(api_client):
    Domain.objects.create(name="a.example.com")
    response = api_client.post(URL, [{"name": "b.example.com"}, {"name": "A.example.com"}], format="json")
    assert response.status_code == 201
    assert [item["name"] for item in response.json()] == ["b.example.com", "a.example.com"]
    assert sorted(Domain.objects.values_list("name", flat=True)) == ["a.example.com", "b.example.com"]


def test_a_list_of_only_known_names_answers_200(api_client):
    Domain.objects.create(name="a.example.com")
    response = api_client.post(URL, [{"name": "a.example.com"}, {"name": "a.example.com"}], format="json")
    assert response.status_code == 200
    assert Domain.objects.count() == 1


def test_a_list_with_one_bad_item_writes_nothing_and_reports_per_item(api_client):
    response = api_client.post(URL, [{"name": "ok.example.com"}, {"name": "bad name"}, {}], format="json")
    assert response.status_code == 400
    errors = item_errors(response.json())
    assert sorted(errors) == ["1", "2"]
    assert "name" in errors["1"]
    assert "name" in errors["2"]
    assert not Domain.objects.exists()


@override_settings(INGEST_MAX_BATCH=3)
def test_a_list_over_the_batch_limit_is_refused(api_client):
    items = [{"name": f"d{i}.example.com"} for i in range(4)]
    response = api_client.post(URL, items, format="json")
    assert response.status_code == 400
    assert not Domain.objects.exists()


def test_a_body_that_is_not_an_object_or_list_is_a_400(api_client):
    assert api_client.post(URL, "www.example.com", format="json").status_code == 400
    response = api_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_retrieve_by_name_ignores_case(api_client):
    Domain.objects.create(name="www.example.com")
    response = api_client.get(f"{URL}WWW.example.com/")
    assert response.status_code == 200
    assert response.json()["name"] == "www.example.com"
    assert api_client.get(f"{URL}missing.example.com/").status_code == 404


def test_list_is_ordered_by_name_and_paged(api_client):
    names = [f"d{i:02d}.example.com" for i in range(12)]
    for name in reversed(names):
        Domain.objects.create(name=name)
    response = api_client.get(URL, {"page_size": 5, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 12
    assert [item["name"] for item in body["results"]] == names[5:10]
    reverse = api_client.get(URL, {"ordering": "-name", "page_size": 3}).json()
    assert [item["name"] for item in reverse["results"]] == names[::-1][:3]


def test_name_filters_exact_and_contains(api_client):
    for name in ["a.example.com", "b.example.com", "img.other.org"]:
        Domain.objects.create(name=name)
    exact = api_client.get(URL, {"name": "A.example.com"}).json()["results"]
    assert [item["name"] for item in exact] == ["a.example.com"]
    contains = api_client.get(URL, {"name__contains": "EXAMPLE"}).json()["results"]
    assert [item["name"] for item in contains] == ["a.example.com", "b.example.com"]


def test_created_at_range_filter_takes_iso_times_with_offset(api_client):
    base = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    for day, name in enumerate(["a.example.com", "b.example.com", "c.example.com"]):
        domain = Domain.objects.create(name=name)
        Domain.objects.filter(pk=domain.pk).update(created_at=base + dt.timedelta(days=day))
    response = api_client.get(
        URL, {"created_at__gte": "2024-05-02T08:00:00+08:00", "created_at__lt": "2024-05-03T00:00:00Z"}
    )
    assert response.status_code == 200, response.content
    assert [item["name"] for item in response.json()["results"]] == ["b.example.com"]
    # An unencoded "+" arrives as a space; it still means the offset.
    unencoded = api_client.get(f"{URL}?created_at__lte=2024-05-02T08:00:00+08:00")
    assert [item["name"] for item in unencoded.json()["results"]] == ["a.example.com", "b.example.com"]


@pytest.mark.parametrize("value", ["2024-05-02T00:00:00", "2024-05-02", "yesterday", "2024-13-01T00:00:00Z"])
def test_created_at_without_offset_or_unparsable_is_a_400(api_client, value):
    response = api_client.get(URL, {"created_at__gte": value})
    assert response.status_code == 400
    assert "created_at__gte" in response.json()


def test_read_only_token_may_list_but_not_create(read_only_client):
    assert read_only_client.get(URL).status_code == 200
    assert read_only_client.post(URL, {"name": "www.example.com"}, format="json").status_code == 403
    assert not Domain.objects.exists()


def test_anonymous_requests_are_refused(anonymous_client):
    assert anonymous_client.get(URL).status_code in (401, 403)
    assert anonymous_client.post(URL, {"name": "www.example.com"}, format="json").status_code in (401, 403)


def test_put_is_not_offered(api_client):
    """A whole-object PUT is not offered: PATCH renames and DELETE deletes (tests/cdnorigin/test_domain_edits.py)."""
    Domain.objects.create(name="www.example.com")
    assert api_client.put(f"{URL}www.example.com/", {"name": "x.example.com"}, format="json").status_code == 405
    assert Domain.objects.filter(name="www.example.com").exists()


def test_an_offset_postgresql_cannot_store_still_filters(api_client):
    """ISO 8601 allows offsets up to +-23:59, PostgreSQL only +-15:59: compared as UTC (a 500 on
    PostgreSQL before; found by the schemathesis fuzz)."""
    domain = Domain.objects.create(name="a.example.com")
    Domain.objects.filter(pk=domain.pk).update(created_at=dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    assert api_client.get(URL, {"created_at__lt": "2024-05-01T02:00:00-22:00"}).json()["count"] == 0
    assert api_client.get(URL, {"created_at__lt": "2024-05-01T02:00:01-22:00"}).json()["count"] == 1
    assert api_client.get(URL, {"created_at__gt": "0001-01-01T05:00:00+20:00"}).status_code == 400
