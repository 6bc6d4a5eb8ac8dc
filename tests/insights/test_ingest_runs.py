"""POST/GET /api/v1/workflow-runs/: runs with their jobs, replaced by id, all or nothing."""

import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings

from insights.ingest import ingest_workflow_runs
from insights.models import (
    DailyJobStat,
    DirtyJobDay,
    Environment,
    Job,
    Project,
    Service,
    TestModule,
    Workflow,
    WorkflowRun,
)
from tests.insights.test_rollups import assert_rollups_match_raw_rows, stored_daily_stats

URL = "/api/v1/workflow-runs/"


@pytest.fixture
def yaml_project(db):
    project = Project.objects.create(key="yaml", name="YAML")
    Environment.objects.create(project=project, name="prod", production=True)
    Environment.objects.create(project=project, name="dev", production=False)
    Service.objects.create(project=project, name="svc", service_type="k8s")
    Project.objects.create(key="other", name="Other")
    return project


def run_payload(run_id="ci-42-7", project="yaml", **overrides):
    """The example of API.md section 3."""
    payload = {
        "id": run_id,
        "project": project,
        "workflow": "build-deploy",
        "status": "passed",
        "created_at": "2022-08-01T10:00:00+08:00",
        "jobs": [
            {
                "name": "build-svc",
                "type": "build",
                "status": "passed",
                "started_at": "2022-08-01T10:00:05+08:00",
                "finished_at": "2022-08-01T10:03:00+08:00",
            },
            {
                "name": "deploy-prod",
                "type": "deploy",
                "status": "failed",
                "environment": "prod",
                "service": "svc",
                "started_at": "2022-08-01T10:03:10+08:00",
                "finished_at": "2022-08-01T10:04:10+08:00",
            },
            {
                "name": "unit",
                "type": "test",
                "status": "timeout",
                "test_module": "unit",
                "case_count": 24,
                "started_at": "2022-08-01T10:04:20+08:00",
                "finished_at": "2022-08-01T10:34:20+08:00",
            },
        ],
    }
    payload.update(overrides)
    return payload


# --- happy paths ---------------------------------------------------------------------------------


def test_posting_a_run_stores_it_with_its_jobs(api_client, yaml_project):
    response = api_client.post(URL, run_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == "ci-42-7"
    assert (body["project"], body["workflow"], body["status"]) == ("yaml", "build-deploy", "passed")
    assert [job["name"] for job in body["jobs"]] == ["build-svc", "deploy-prod", "unit"]
    assert body["jobs"][1]["environment"] == "prod" and body["jobs"][1]["service"] == "svc"
    run = WorkflowRun.objects.get(pk="ci-42-7")
    assert run.created_at == datetime(2022, 8, 1, 2, tzinfo=UTC)
    jobs = list(run.jobs.order_by("position"))
    assert [job.project_id for job in jobs] == [yaml_project.pk] * 3
    assert jobs[2].test_module == "unit" and jobs[2].case_count == 24
    assert TestModule.objects.get(project=yaml_project, name="unit").case_count == 24

    detail = api_client.get(f"{URL}ci-42-7/").json()
    assert detail == body


def test_posting_a_list_stores_every_run(api_client, yaml_project):
    response = api_client.post(URL, [run_payload("a"), run_payload("b", workflow="nightly")], format="json")
    assert response.status_code == 201
    assert [run["id"] for run in response.json()] == ["a", "b"]
    assert Job.objects.count() == 6


def test_an_unknown_workflow_is_created_in_the_project(api_client, yaml_project):
    api_client.post(URL, run_payload(workflow="brand-new"), format="json")
    assert Workflow.objects.filter(project=yaml_project, name="brand-new").exists()


def test_a_running_run_may_have_no_jobs_or_unfinished_ones(api_client, yaml_project):
    empty = run_payload("empty", status="running", jobs=[])
    del empty["jobs"]
    running = run_payload(
        "busy",
        status="running",
        jobs=[
            {"name": "b", "type": "build", "status": "running", "started_at": "2022-08-01T10:00:05+08:00"},
            {"name": "c", "type": "deploy", "status": "cancelled", "finished_at": None},
        ],
    )
    response = api_client.post(URL, [empty, running], format="json")
    assert response.status_code == 201, response.json()
    assert response.json()[0]["jobs"] == []
    assert response.json()[1]["jobs"][0]["finished_at"] is None


def test_reposting_a_run_replaces_the_run_and_all_its_jobs(
    api_client, yaml_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(URL, run_payload(), format="json").status_code == 201
    final = run_payload(project="other", workflow="release", status="failed")
    final["jobs"] = [
        {
            "name": "build-again",
            "type": "build",
            "status": "failed",
            "started_at": "2022-08-02T10:00:00+08:00",
            "finished_at": "2022-08-02T10:01:00+08:00",
        }
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, final, format="json")
    assert response.status_code == 200
    run = WorkflowRun.objects.get(pk="ci-42-7")
    other = Project.objects.get(key="other")
    assert (run.project, run.workflow.name, run.status) == (other, "release", "failed")
    assert [(job.name, job.project_id) for job in run.jobs.all()] == [("build-again", other.pk)]
    # The replaced jobs no longer count anywhere; the test module they reported is gone.
    assert stored_daily_stats() == {(other.pk, date(2022, 8, 2), "build"): (0, 1, 0, 60_000_000)}
    assert not TestModule.objects.exists()
    assert not DirtyJobDay.objects.exists()


def test_posting_the_same_run_twice_counts_it_once(api_client, yaml_project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(URL, run_payload(), format="json")
        api_client.post(URL, run_payload(), format="json")
    assert Job.objects.count() == 3
    assert stored_daily_stats()[(yaml_project.pk, date(2022, 8, 1), "build")] == (1, 0, 0, 175_000_000)
    assert_rollups_match_raw_rows()


def test_ingest_marks_old_and_new_days_dirty_until_the_task_runs(yaml_project):
    ingest_workflow_runs([_validated(run_payload())])
    moved = _validated(run_payload())
    for job in moved["jobs"]:
        job["started_at"] += timedelta(days=3)
        job["finished_at"] += timedelta(days=3)
    ingest_workflow_runs([moved])
    days = set(DirtyJobDay.objects.values_list("project_pk", "day"))
    assert days == {(yaml_project.pk, date(2022, 8, 1)), (yaml_project.pk, date(2022, 8, 4))}
    assert not DailyJobStat.objects.exists()  # on_commit never fired inside the test transaction


@override_settings(INSIGHTS_TIME_ZONE="Europe/Berlin")
def test_jobs_count_on_the_local_day_of_their_start(yaml_project, django_capture_on_commit_callbacks):
    payload = run_payload(jobs=[_build("2024-10-27T23:30:00+01:00"), _build("2024-10-27T23:30:00+00:00")])
    with django_capture_on_commit_callbacks(execute=True):
        ingest_workflow_runs([_validated(payload)])
    assert set(stored_daily_stats()) == {
        (yaml_project.pk, date(2024, 10, 27), "build"),
        (yaml_project.pk, date(2024, 10, 28), "build"),
    }


def test_a_batch_of_a_thousand_runs_takes_a_bounded_number_of_queries(
    api_client, yaml_project, django_assert_max_num_queries
):
    batch = [run_payload(f"run-{n}") for n in range(1000)]
    for item in batch:
        item["jobs"] += copy.deepcopy(item["jobs"][:2])
    with django_assert_max_num_queries(150):  # a query per run would be 1000+
        response = api_client.post(URL, batch, format="json")
    assert response.status_code == 201
    assert Job.objects.count() == 5000
    with django_assert_max_num_queries(150):  # a query per run would be 1000+
        assert api_client.post(URL, batch, format="json").status_code == 200
    assert Job.objects.count() == 5000


# --- bad input: 400, DRF's shape, nothing written -------------------------------------------------


def _set(path, value):
    def change(payload):
        target = payload
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


BAD_PAYLOADS = {
    "naive created_at": (_set(["created_at"], "2022-08-01T10:00:00"), {"created_at"}),
    "naive job time": (_set(["jobs", 0, "started_at"], "2022-08-01 10:00:05"), {"jobs"}),
    "not a date": (_set(["created_at"], "yesterday"), {"created_at"}),
    "numeric time": (_set(["created_at"], 1659319200), {"created_at"}),
    "unknown project": (_set(["project"], "nope"), {"project"}),
    "unknown environment": (_set(["jobs", 1, "environment"], "staging"), {"jobs"}),
    "environment of another project": (_set(["jobs", 1, "environment"], "elsewhere"), {"jobs"}),
    "unknown service": (_set(["jobs", 1, "service"], "nosvc"), {"jobs"}),
    "finished before started": (_set(["jobs", 0, "finished_at"], "2022-08-01T10:00:00+08:00"), {"jobs"}),
    "passed without finished_at": (_set(["jobs", 0, "finished_at"], KeyError), {"jobs"}),
    "failed without started_at": (_set(["jobs", 1, "started_at"], None), {"jobs"}),
    "test without test_module": (_set(["jobs", 2, "test_module"], KeyError), {"jobs"}),
    "negative case_count": (_set(["jobs", 2, "case_count"], -1), {"jobs"}),
    "fractional case_count": (_set(["jobs", 2, "case_count"], 2.5), {"jobs"}),
    "bad job type": (_set(["jobs", 0, "type"], "lint"), {"jobs"}),
    "bad job status": (_set(["jobs", 0, "status"], "success"), {"jobs"}),
    "bad run status": (_set(["status"], "done"), {"status"}),
    "missing id": (_set(["id"], KeyError), {"id"}),
    "jobs not a list": (_set(["jobs"], {"name": "x"}), {"jobs"}),
    "case_count as text": (_set(["jobs", 2, "case_count"], "24"), {"jobs"}),
    "id not a string": (_set(["id"], 42), {"id"}),
    "NUL in a project key": (_set(["project"], "ya\x00ml"), {"project"}),
    "NUL in an environment": (_set(["jobs", 1, "environment"], "pr\x00od"), {"jobs"}),
    "unknown run field": (_set(["colour"], "red"), {"colour"}),
    "unknown job field": (_set(["jobs", 0, "duration"], 5), {"jobs"}),
}


@pytest.mark.parametrize("case", sorted(BAD_PAYLOADS))
def test_a_bad_run_is_refused_naming_the_field(api_client, yaml_project, case):
    change, fields = BAD_PAYLOADS[case]
    Environment.objects.create(project=Project.objects.get(key="other"), name="elsewhere")
    payload = run_payload()
    change(payload)
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert not WorkflowRun.objects.exists() and not Job.objects.exists() and not Workflow.objects.exists()


def test_a_bad_job_error_names_its_index(api_client, yaml_project):
    payload = run_payload()
    payload["jobs"][1]["environment"] = "staging"
    payload["jobs"][2]["case_count"] = -3
    shape = api_client.post(URL, payload, format="json").json()
    assert shape["jobs"][0] == {} and set(shape["jobs"][2]) == {"case_count"}
    payload["jobs"][2]["case_count"] = 3
    lookup = api_client.post(URL, payload, format="json").json()
    assert lookup == {"jobs": [{}, {"environment": ["Project 'yaml' has no environment named 'staging'."]}, {}]}


def test_one_bad_item_refuses_the_whole_batch_with_one_entry_per_item(api_client, yaml_project):
    batch = [run_payload("a"), run_payload("b", project="nope"), run_payload("c")]
    response = api_client.post(URL, batch, format="json")
    assert response.status_code == 400
    body = response.json()
    assert len(body) == 3 and body[0] == {} and body[2] == {} and set(body[1]) == {"project"}
    assert not WorkflowRun.objects.exists() and not Job.objects.exists()


def test_a_repost_with_a_bad_item_leaves_the_stored_run_untouched(api_client, yaml_project):
    api_client.post(URL, run_payload("a"), format="json")
    bad = run_payload("b")
    bad["jobs"][0]["status"] = "nope"
    response = api_client.post(URL, [run_payload("a", status="failed", jobs=[]), bad], format="json")
    assert response.status_code == 400
    assert WorkflowRun.objects.get(pk="a").status == "passed"
    assert Job.objects.filter(run_id="a").count() == 3


def test_the_same_id_twice_in_a_batch_is_refused(api_client, yaml_project):
    response = api_client.post(URL, [run_payload("a"), run_payload("b"), run_payload("a")], format="json")
    assert response.status_code == 400
    body = response.json()
    assert body[0] == {} and body[1] == {} and set(body[2]) == {"id"}
    assert not WorkflowRun.objects.exists()


@override_settings(INGEST_MAX_BATCH=2)
def test_a_batch_over_the_limit_is_refused(api_client, yaml_project):
    response = api_client.post(URL, [run_payload(str(n)) for n in range(3)], format="json")
    assert response.status_code == 400
    assert "at most 2" in str(response.json())
    assert not WorkflowRun.objects.exists()


def test_a_body_that_is_neither_object_nor_list_is_refused(api_client, yaml_project):
    assert api_client.post(URL, "42", content_type="application/json").status_code == 400
    assert api_client.post(URL, "{not json", content_type="application/json").status_code == 400
    assert api_client.post(URL, [1, "x"], format="json").status_code == 400


def test_writes_need_a_write_token(read_only_client, anonymous_client, yaml_project):
    assert read_only_client.post(URL, run_payload(), format="json").status_code == 403
    assert anonymous_client.post(URL, run_payload(), format="json").status_code == 401
    assert read_only_client.get(URL).status_code == 200
    assert not WorkflowRun.objects.exists()


# --- reading -------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_and_filtered(api_client, yaml_project):
    api_client.post(
        URL,
        [
            run_payload("old", created_at="2022-08-01T10:00:00+08:00"),
            run_payload("new", created_at="2022-08-03T10:00:00+08:00", status="failed"),
            run_payload(
                "elsewhere", project="other", workflow="nightly", jobs=[], created_at="2022-08-02T12:00:00+08:00"
            ),
        ],
        format="json",
    )

    def ids(query=""):
        response = api_client.get(URL + query)
        assert response.status_code == 200, response.json()
        return [run["id"] for run in response.json()["results"]]

    assert ids() == ["new", "elsewhere", "old"]
    assert ids("?project=yaml") == ["new", "old"]
    assert ids("?workflow=nightly") == ["elsewhere"]
    assert ids("?status=failed") == ["new"]
    assert ids("?created_at__gte=2022-08-02T00:00:00%2B08:00") == ["new", "elsewhere"]
    assert ids("?created_at__gte=2022-08-02T00:00:00 08:00&project=yaml") == ["new"]
    assert ids("?created_at__lt=2022-08-02T00:00:00Z&project=yaml") == ["old"]
    assert ids("?ordering=created_at") == ["old", "elsewhere", "new"]
    assert api_client.get(URL + "?created_at__gte=2022-08-02T00:00:00").status_code == 400
    assert api_client.get(URL + "?status=done").status_code == 400


def test_an_unknown_run_is_not_found(api_client, yaml_project):
    assert api_client.get(f"{URL}missing/").status_code == 404
    assert api_client.get(f"{URL}a%00b/").status_code == 404


# --- helpers -------------------------------------------------------------------------------------


def _build(started):
    return {
        "name": "b",
        "type": "build",
        "status": "passed",
        "started_at": started,
        "finished_at": started,
    }


def _validated(payload):
    from insights.api.runs import WorkflowRunInputSerializer

    serializer = WorkflowRunInputSerializer(data=payload)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@pytest.mark.postgres
def test_concurrent_reposts_of_one_run_leave_exactly_one_posts_jobs(transactional_db):
    from django.db import connection

    from tests.insights.test_rollups import run_in_threads

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    Project.objects.create(key="yaml", name="YAML")
    counter = iter(range(100))

    def post():
        n = next(counter)
        jobs = [_build(f"2024-01-0{1 + n % 5}T10:00:00+08:00") | {"name": f"post-{n}"} for _ in range(1 + n % 4)]
        payload = run_payload("same", jobs=jobs)
        ingest_workflow_runs([_validated(payload)])
        return n

    for _ in range(3):
        run_in_threads(4, post)
        names = set(Job.objects.filter(run_id="same").values_list("name", flat=True))
        assert len(names) == 1
        n = int(names.pop().split("-")[1])
        assert Job.objects.filter(run_id="same").count() == 1 + n % 4
    assert_rollups_match_raw_rows_after_recompute()


def assert_rollups_match_raw_rows_after_recompute():
    from insights.rollups import recompute_dirty

    recompute_dirty()
    assert_rollups_match_raw_rows()


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:00:00+00:00", "1969-12-31T23:59:59Z", "2100-01-02T00:00:00Z"]
)
def test_times_outside_2000_to_2100_are_refused(api_client, moment):
    """Day arithmetic near datetime's limits would overflow, and a run in 1970 or 9999 would stretch
    every no-date answer over millions of zero-filled days; such instants are refused up front."""
    from insights.models import Project, WorkflowRun

    Project.objects.create(key="p", name="P")
    run = {"id": "far", "project": "p", "workflow": "wf", "status": "passed", "created_at": moment, "jobs": []}
    response = api_client.post("/api/v1/workflow-runs/", run, format="json")
    assert response.status_code == 400
    assert "created_at" in response.json()
    assert not WorkflowRun.objects.exists()


def test_a_run_with_an_offset_postgresql_cannot_store_is_kept_as_the_same_instant(api_client, yaml_project):
    """ISO 8601 allows offsets up to +-23:59, PostgreSQL only +-15:59: times are stored as UTC
    (found by the schemathesis fuzz: the run's list filter was a 500 on PostgreSQL)."""
    payload = run_payload(created_at="2022-08-01T10:00:00+22:30", jobs=[])
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    assert WorkflowRun.objects.get().created_at == datetime(2022, 7, 31, 11, 30, tzinfo=UTC)
    listed = api_client.get(URL, {"created_at__lte": "2022-07-31T00:00:00-11:30"})
    assert [run["id"] for run in listed.json()["results"]] == ["ci-42-7"]
