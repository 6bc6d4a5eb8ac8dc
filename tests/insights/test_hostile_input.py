"""Regression tests of issue 12's server errors and wrong acceptances: every refusal is a 4xx in the
family's envelope, names what is wrong, and stores nothing."""

import pytest
from django.test import override_settings

from cdnorigin.models import Domain, OriginSample
from insights.models import Project, WorkflowRun

MANY = "&".join(f"a{i}=1" for i in range(1001))
RUN = '{"id": "r1", "project": "yaml", "workflow": "w", "status": "passed", "created_at": %s, "jobs": []}'


@pytest.fixture
def project(db):
    return Project.objects.create(key="yaml", name="YAML")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/projects/", "/api/v1/workflow-runs/", "/api/v1/rollbacks/", "/api/v1/cdn/origin-samples/"],
)
def test_json_nested_1500_levels_is_a_400_not_a_recursion_error(api_client, path):
    answer = api_client.post(path, b"[" * 1500 + b"]" * 1500, content_type="application/json")
    assert answer.status_code == 400
    assert "depth" in answer.json()["detail"]


def test_a_run_time_with_a_nul_or_non_ascii_digits_is_refused(api_client, project):
    for created_at in ('"2022-08-01T10:00:00Z\\u0000"', '"\uff12\uff10\uff12\uff12-08-01T10:00:00Z"'):
        answer = api_client.post("/api/v1/workflow-runs/", RUN % created_at, content_type="application/json")
        assert answer.status_code == 400, created_at
        assert list(answer.json()) == ["created_at"]
    assert not WorkflowRun.objects.exists()


def test_a_filter_time_with_non_ascii_digits_is_refused(api_client):
    answer = api_client.get("/api/v1/workflow-runs/", {"created_at__gte": "\uff12\uff10\uff12\uff12-08-01T10:00:00Z"})
    assert answer.status_code == 400
    assert "created_at__gte" in answer.json()


def test_a_nul_in_an_origin_sample_domain_names_the_field(api_client):
    Domain.objects.create(name="a.com")
    body = '[{"domain": "a\\u0000.com", "timestamp": 1631635200, "flux": 1, "pv": 1}]'
    answer = api_client.post("/api/v1/cdn/origin-samples/", body, content_type="application/json")
    assert (answer.status_code, answer.json()) == (400, [{"domain": ["Null characters are not allowed."]}])
    assert not OriginSample.objects.exists()


def test_a_nul_in_a_domain_url_is_404(api_client):
    answer = api_client.get("/api/v1/cdn/domains/a%00b/")
    assert answer.status_code == 404
    assert "detail" in answer.json()


@pytest.mark.parametrize("path", ["/api/v1/projects/", "/openapi/statistics/build"])
def test_too_many_query_parameters_are_refused_after_authentication(api_client, anonymous_client, path):
    anonymous = anonymous_client.get(f"{path}?{MANY}")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    refused = api_client.get(f"{path}?{MANY}")
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/json"
    text = refused.json().get("description") or refused.json()["detail"]
    assert "more than 1000 parameters" in text


def test_a_token_in_an_oversized_query_string_still_authenticates(anonymous_client):
    from common.tokens import create_api_token

    token = create_api_token("q")
    answer = anonymous_client.get(f"/api/v1/projects/?{MANY}&token={token}")
    assert answer.status_code == 400


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_over_the_limit_is_413_in_the_envelope(api_client, anonymous_client):
    body = '{"key": "big", "name": "%s"}' % ("x" * 2000)
    answer = api_client.post("/api/v1/projects/", body, content_type="application/json")
    assert answer.status_code == 413
    assert "larger than 1024 bytes" in answer.json()["detail"]
    assert anonymous_client.post("/api/v1/projects/", body, content_type="application/json").status_code == 401
    assert not Project.objects.filter(key="big").exists()


def _run_with_job(started: str, finished: str) -> dict:
    job = {"name": "unit", "type": "test", "status": "passed", "test_module": "unit", "case_count": 1}
    return {
        "id": "long",
        "project": "yaml",
        "workflow": "w",
        "status": "passed",
        "created_at": started,
        "jobs": [{**job, "started_at": started, "finished_at": finished}],
    }


def test_a_job_longer_than_31_days_is_refused_so_its_day_can_be_rolled_up(api_client, project):
    """The attacker's run (test jobs from 1970 to 9999) was accepted and then overflowed the day's
    bigint sum of durations in the worker; now neither its times nor its length are accepted."""
    for started, finished in (
        ("1970-01-01T00:00:00Z", "9999-12-29T00:00:00Z"),
        ("2022-08-01T00:00:00Z", "2022-09-01T00:00:01Z"),
    ):
        answer = api_client.post("/api/v1/workflow-runs/", _run_with_job(started, finished), format="json")
        assert answer.status_code == 400
        assert "jobs" in answer.json() or "created_at" in answer.json()
    assert not WorkflowRun.objects.exists()
    just = api_client.post(
        "/api/v1/workflow-runs/", _run_with_job("2022-08-01T00:00:00Z", "2022-09-01T00:00:00Z"), format="json"
    )
    assert just.status_code == 201, just.json()


def test_the_admin_refuses_the_same_times_and_durations(project):
    from datetime import UTC, datetime

    from django.core.exceptions import ValidationError

    from insights.models import Job, Workflow

    run = WorkflowRun(
        id="r",
        project=project,
        workflow=Workflow.objects.create(project=project, name="w"),
        status="passed",
        created_at=datetime(1970, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as refused:
        run.full_clean()
    assert "created_at" in refused.value.message_dict
    job = Job(
        run=run,
        project=project,
        name="j",
        type="build",
        status="passed",
        started_at=datetime(2022, 1, 1, tzinfo=UTC),
        finished_at=datetime(2022, 3, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as refused:
        job.clean()
    assert refused.value.message_dict == {"finished_at": ["A job may last at most 31 days (finished_at - started_at)."]}
