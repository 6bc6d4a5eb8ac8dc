"""The workflow-run write path (PostgreSQL: upsert + DELETE ... RETURNING + COPY; elsewhere the ORM)
and the POST echo built without serializers: both must store and answer what the serializers did."""

from datetime import date

import pytest

from insights.api.runs import WorkflowRunSerializer
from insights.ingest import ingest_workflow_runs
from insights.models import DirtyJobDay, Environment, Job, Project, Service, WorkflowRun
from tests.insights.test_ingest_runs import URL, run_payload
from tests.insights.test_rollups import assert_rollups_match_raw_rows


@pytest.fixture
def catalogue(db):
    project = Project.objects.create(key="yaml", name="YAML")
    Environment.objects.create(project=project, name="prod", production=True)
    Service.objects.create(project=project, name="svc", service_type="k8s")
    Project.objects.create(key="other", name="Other")
    return project


def varied_batch():
    """Runs whose jobs use every optional field in each of its forms."""
    plain = run_payload("plain")
    odd = run_payload(
        " padded-id ",
        workflow="  nightly ",
        status="running",
        created_at="2022-08-01T00:00:00.250Z",
        jobs=[
            {"name": " b ", "type": "build", "status": "running", "started_at": "2022-07-31T23:59:59-05:30"},
            {"name": "c", "type": "deploy", "status": "cancelled", "environment": "", "service": None},
            {
                "name": "d",
                "type": "deploy",
                "status": "passed",
                "environment": " prod ",
                "service": "svc",
                "started_at": "2022-08-01T10:00:00+00:00",
                "finished_at": "2022-08-01T10:00:00.000001+00:00",
                "test_module": "  ",
                "case_count": None,
            },
            {
                "name": "t",
                "type": "test",
                "status": "failed",
                "test_module": " e2e ",
                "case_count": 0,
                "started_at": "2022-08-02T01:00:00+14:00",
                "finished_at": "2022-08-02T01:00:00+14:00",
            },
        ],
    )
    empty = run_payload("empty", project="other", jobs=[])
    del empty["jobs"]
    return [plain, odd, empty]


def test_the_echo_is_what_reading_the_stored_runs_gives(api_client, catalogue):
    response = api_client.post(URL, varied_batch(), format="json")
    assert response.status_code == 201, response.json()
    echoed = response.json()
    assert [run["id"] for run in echoed] == ["plain", "padded-id", "empty"]
    for run in echoed:
        assert api_client.get(f"{URL}{run['id']}/").json() == run
    stored = WorkflowRun.objects.filter(pk__in=["plain", "padded-id", "empty"])
    by_serializer = {run["id"]: run for run in WorkflowRunSerializer(stored, many=True).data}
    assert [dict(by_serializer[run["id"]]) for run in echoed] == echoed


def test_one_posted_object_is_echoed_as_an_object(api_client, catalogue):
    body = api_client.post(URL, run_payload(), format="json").json()
    assert body == api_client.get(f"{URL}ci-42-7/").json()


def test_a_batch_of_new_and_replaced_runs_is_created_and_counts_each_job_once(
    api_client, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(URL, run_payload("a"), format="json").status_code == 201
    changed = run_payload("a", status="failed")
    changed["jobs"] = changed["jobs"][:1]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, [run_payload("b"), changed], format="json")
    assert response.status_code == 201
    assert Job.objects.filter(run_id="a").count() == 1 and Job.objects.filter(run_id="b").count() == 3
    assert list(Job.objects.filter(run_id="b").order_by("position").values_list("position", flat=True)) == [0, 1, 2]
    assert_rollups_match_raw_rows()
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(URL, [changed, run_payload("b")], format="json").status_code == 200
    assert Job.objects.count() == 4
    assert_rollups_match_raw_rows()


def test_ingest_reports_which_runs_were_new(catalogue):
    from tests.insights.test_ingest_runs import _validated

    first = ingest_workflow_runs([_validated(run_payload("a"))])
    again = ingest_workflow_runs([_validated(run_payload("b")), _validated(run_payload("a", jobs=[]))])
    assert [run.created for run in first] == [True]
    assert [run.created for run in again] == [True, False]
    stored = dict(WorkflowRun.objects.values_list("id", "received_at"))
    assert stored == {"a": again[1].received_at, "b": again[0].received_at}
    assert not Job.objects.filter(run_id="a").exists()


def test_moving_a_run_to_another_project_marks_both_projects_days(catalogue):
    from tests.insights.test_ingest_runs import _validated

    ingest_workflow_runs([_validated(run_payload("a"))])
    DirtyJobDay.objects.all().delete()
    ingest_workflow_runs([_validated(run_payload("a", project="other", jobs=run_payload()["jobs"][:1]))])
    other = Project.objects.get(key="other")
    assert set(DirtyJobDay.objects.values_list("project_pk", "day")) == {
        (catalogue.pk, date(2022, 8, 1)),
        (other.pk, date(2022, 8, 1)),
    }
    assert set(Job.objects.values_list("project_id", flat=True)) == {other.pk}
