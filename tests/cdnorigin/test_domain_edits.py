"""Renaming (PATCH) and deleting (DELETE) a CDN domain through the API: a delete takes the domain's
samples, rollups and marks with it, and other domains' answers do not change."""

from datetime import UTC, datetime

import pytest

from cdnorigin import rollups
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import CdnAccount, DirtyOriginBucket, Domain, DomainGrant, OriginRollup, OriginSample
from cdnorigin.selectors import describe_origin_data

pytestmark = pytest.mark.django_db
AT = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp())
NOW = datetime(2024, 5, 3, tzinfo=UTC)
QUERY = {"StartTime": AT, "EndTime": AT + 86399, "Interval": "hour", "Metric": "flux"}


@pytest.fixture
def two_domains(api_client):
    api_client.post("/api/v1/cdn/domains/", [{"name": "a.example.com"}, {"name": "b.example.com"}], format="json")
    replace_origin_samples(
        [
            {"domain": name, "timestamp": AT + 60 * minute, "flux": 10 + minute, "pv": 1, "status": {"200": 1}}
            for name in ("a.example.com", "b.example.com")
            for minute in range(0, 600, 7)
        ]
    )
    rollups.recompute_dirty()


def test_deleting_a_domain_removes_its_data_and_leaves_the_others_answers_alone(api_client, two_domains):
    kept = describe_origin_data({**QUERY, "Domain": "b.example.com"}, None, now=NOW)
    gone = Domain.objects.get(name="a.example.com")
    DirtyOriginBucket.objects.create(domain_pk=gone.pk, start=datetime(2024, 5, 1, tzinfo=UTC))
    assert api_client.delete("/api/v1/cdn/domains/a.example.com/").status_code == 204
    assert api_client.get("/api/v1/cdn/domains/a.example.com/").status_code == 404
    assert not OriginSample.objects.filter(domain_id=gone.pk).exists()
    assert not OriginRollup.objects.filter(domain_id=gone.pk).exists()
    assert not DirtyOriginBucket.objects.filter(domain_pk=gone.pk).exists()
    assert OriginSample.objects.exists() and OriginRollup.objects.exists()
    assert describe_origin_data({**QUERY, "Domain": "b.example.com"}, None, now=NOW) == kept
    assert describe_origin_data(QUERY, None, now=NOW)["Resources"][0]["Metrics"] == kept["Resources"][0]["Metrics"]


def test_renaming_keeps_the_history_under_the_new_name(api_client, two_domains):
    before = describe_origin_data({**QUERY, "Domain": "a.example.com"}, None, now=NOW)
    response = api_client.patch("/api/v1/cdn/domains/a.example.com/", {"name": "  A2.Example.com "}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "a2.example.com"
    after = describe_origin_data({**QUERY, "Domain": "a2.example.com"}, None, now=NOW)
    assert after["Resources"][0]["Metrics"] == before["Resources"][0]["Metrics"]


def test_a_rename_onto_a_taken_or_bad_name_is_refused_and_changes_nothing(api_client, two_domains):
    for body in ({"name": "b.example.com"}, {"name": "not a host"}, {"name": ""}, {"colour": "red"}, ["x"]):
        response = api_client.patch("/api/v1/cdn/domains/a.example.com/", body, format="json")
        assert response.status_code == 400, (body, response.json())
    assert set(Domain.objects.values_list("name", flat=True)) == {"a.example.com", "b.example.com"}


def test_grants_go_with_a_deleted_domain_and_read_only_tokens_change_nothing(
    api_client, read_only_client, two_domains, django_user_model
):
    account = CdnAccount.objects.create(user=django_user_model.objects.create(username="sub"), is_sub_account=True)
    for domain in Domain.objects.all():
        DomainGrant.objects.create(account=account, domain=domain)
    assert read_only_client.delete("/api/v1/cdn/domains/a.example.com/").status_code == 403
    assert (
        read_only_client.patch(
            "/api/v1/cdn/domains/a.example.com/", {"name": "c.example.com"}, format="json"
        ).status_code
        == 403
    )
    assert Domain.objects.count() == 2
    assert api_client.delete("/api/v1/cdn/domains/nope.example.com/").status_code == 404
    assert api_client.delete("/api/v1/cdn/domains/a.example.com/").status_code == 204
    assert list(DomainGrant.objects.values_list("domain__name", flat=True)) == ["b.example.com"]
