"""PATCH and DELETE of rollback records: the result is checked as a POST is, a refused edit changes
nothing, and the Zadig rollback detail answers what is stored after the edit."""

import pytest

from insights.models import Rollback, ServiceSnapshot
from tests.insights.test_api_rollbacks import projects, record  # noqa: F401


@pytest.fixture
def stored(api_client):
    response = api_client.post("/api/v1/rollbacks/", record(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def url(body: dict) -> str:
    return f"/api/v1/rollbacks/{body['id']}/"


def test_patching_replaces_the_fields_given_and_merges_nested_objects(api_client, stored):
    patch = {
        "env_name": "prod-2",
        "production": True,
        "create_by": {"name": "Ops"},
        "update_service": {"release_name": "r2"},
    }
    response = api_client.patch(url(stored), patch, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    expected = {
        **stored,
        "env_name": "prod-2",
        "production": True,
        "create_by": {**stored["create_by"], "name": "Ops"},
        "update_service": {**stored["update_service"], "release_name": "r2"},
    }
    assert body == expected
    assert api_client.get(url(stored)).json() == expected
    assert ServiceSnapshot.objects.count() == 2


def test_the_zadig_rollback_detail_answers_the_edited_record(api_client, stored):
    api_client.patch(url(stored), {"service_name": "renamed"}, format="json")
    answer = api_client.get(
        "/openapi/statistics/v2/rollback/detail",
        {"startTime": stored["create_time"] - 1, "endTime": stored["create_time"] + 1, "pageNum": 1, "pageSize": 10},
    ).json()
    assert [item["service_name"] for item in answer["data"]] == ["renamed"]


def test_a_refused_patch_changes_nothing(api_client, stored):
    for patch in (
        {"project_key": "no-such-project"},
        {"create_time": -5},
        {"env_name": ""},
        {"colour": "red"},
        {"id": 999},
        {"origin_service": {"containers": "not a list"}},
        ["env_name"],
    ):
        response = api_client.patch(url(stored), patch, format="json")
        assert response.status_code == 400, (patch, response.json())
    assert api_client.get(url(stored)).json() == stored


def test_deleting_removes_the_record_and_its_snapshots(api_client, stored):
    assert api_client.delete(url(stored)).status_code == 204
    assert api_client.get(url(stored)).status_code == 404
    assert not Rollback.objects.exists() and not ServiceSnapshot.objects.exists()


def test_read_only_tokens_change_nothing_and_unknown_ids_are_404(api_client, read_only_client, stored):
    assert read_only_client.patch(url(stored), {"env_name": "x"}, format="json").status_code == 403
    assert read_only_client.delete(url(stored)).status_code == 403
    assert api_client.get(url(stored)).json() == stored
    assert api_client.delete("/api/v1/rollbacks/987654/").status_code == 404
    assert api_client.patch("/api/v1/rollbacks/987654/", {"env_name": "x"}, format="json").status_code == 404
