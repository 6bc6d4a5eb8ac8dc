"""PATCH and DELETE of runs and of single jobs: checked like a POST, refused to read-only tokens, and the
daily statistics follow the edit as they follow a re-post."""

from datetime import UTC, datetime

import pytest

from insights import rollups
from insights.models import DailyJobStat, Job, WorkflowRun
from tests.insights.test_rollups import catalogue, expected_daily_stats, stored_daily_stats  # noqa: F401

AT = datetime(2024, 5, 1, 9, tzinfo=UTC)
URL = "/api/v1/workflow-runs/run-1/"


def job(name, kind, status, start="2024-05-01T09:00:00Z", end="2024-05-01T09:10:00Z", **extra):
    return {"name": name, "type": kind, "status": status, "started_at": start, "finished_at": end, **extra}


@pytest.fixture
def posted(api_client, catalogue):  # noqa: F811
    body = {
        "id": "run-1",
        "project": "alpha",
        "workflow": "ci",
        "status": "passed",
        "created_at": "2024-05-01T09:00:00Z",
        "jobs": [
            job("build", "build", "passed"),
            job("test", "test", "passed", test_module="unit", case_count=10),
            job("deploy", "deploy", "passed", environment="prod", service="svc"),
        ],
    }
    assert api_client.post("/api/v1/workflow-runs/", body, format="json").status_code == 201
    rollups.recompute_dirty()
    return body


def statistics_follow():
    rollups.recompute_dirty()
    assert stored_daily_stats() == expected_daily_stats()


def test_patching_a_run_replaces_the_fields_given_and_keeps_the_rest(api_client, posted):
    response = api_client.patch(URL, {"status": "failed", "workflow": "nightly"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["workflow"], body["project"]) == ("failed", "nightly", "alpha")
    assert [item["name"] for item in body["jobs"]] == ["build", "test", "deploy"]
    assert api_client.get(URL).json() == body


def test_patching_a_job_moves_its_counts_and_the_statistics_follow(api_client, posted):
    before = DailyJobStat.objects.get(kind="build").passed
    response = api_client.patch(f"{URL}jobs/0/", {"status": "failed"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["jobs"][0]["status"] == "failed"
    statistics_follow()
    build = DailyJobStat.objects.get(kind="build")
    assert (build.passed, build.failed) == (before - 1, 1)


def test_moving_a_job_to_another_day_moves_it_in_the_statistics(api_client, posted):
    later = {"started_at": "2024-05-03T23:00:00+08:00", "finished_at": "2024-05-03T23:30:00+08:00"}
    assert api_client.patch(f"{URL}jobs/1/", later, format="json").status_code == 200
    statistics_follow()


def test_a_patch_is_checked_like_a_post_and_a_refused_one_changes_nothing(api_client, posted):
    before = api_client.get(URL).json()
    backwards = {"started_at": "2024-05-01T10:00:00Z", "finished_at": "2024-05-01T09:00:00Z"}
    refused = api_client.patch(f"{URL}jobs/0/", backwards, format="json")
    assert refused.status_code == 400
    assert "finished_at" in refused.json()
    for patch in ({"status": "sort of"}, {"colour": "red"}, {"id": "run-2"}, ["status"], {"created_at": "yesterday"}):
        response = api_client.patch(URL, patch, format="json")
        assert response.status_code == 400, (patch, response.json())
    assert api_client.get(URL).json() == before


def test_deleting_a_job_renumbers_the_rest_and_the_statistics_follow(api_client, posted):
    assert api_client.delete(f"{URL}jobs/1/").status_code == 204
    assert [item["name"] for item in api_client.get(URL).json()["jobs"]] == ["build", "deploy"]
    assert not Job.objects.filter(type="test").exists()
    statistics_follow()


def test_deleting_a_run_deletes_its_jobs_and_its_counts(api_client, posted):
    assert stored_daily_stats()
    assert api_client.delete(URL).status_code == 204
    assert api_client.get(URL).status_code == 404
    assert not WorkflowRun.objects.exists() and not Job.objects.exists()
    statistics_follow()
    assert stored_daily_stats() == {}


def test_unknown_runs_and_positions_are_404(api_client, posted):
    assert api_client.patch("/api/v1/workflow-runs/nope/", {"status": "failed"}, format="json").status_code == 404
    assert api_client.delete("/api/v1/workflow-runs/nope/").status_code == 404
    assert api_client.patch(f"{URL}jobs/3/", {"status": "failed"}, format="json").status_code == 404
    assert api_client.delete(f"{URL}jobs/99/").status_code == 404


def test_read_only_tokens_and_anonymous_clients_change_nothing(read_only_client, anonymous_client, api_client, posted):
    before = api_client.get(URL).json()
    assert read_only_client.patch(URL, {"status": "failed"}, format="json").status_code == 403
    assert read_only_client.delete(f"{URL}jobs/0/").status_code == 403
    assert read_only_client.delete(URL).status_code == 403
    assert anonymous_client.delete(URL).status_code == 401
    assert api_client.get(URL).json() == before
