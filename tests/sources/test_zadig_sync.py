"""Syncing from a fake Zadig server (tests/sources/zadig_fake.py, shaped after koderover/zadig's
OpenAPI structs named there): runs, jobs, commits, the cursor, backoff, errors and the task bound."""

from datetime import UTC, datetime
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from insights import rollup_rebuild
from insights.models import Environment, Job, Project, WorkflowRun
from insights.sources import secrets
from insights.sources.models import Delivery, Source
from insights.sources.zadig_sync import SYNC_LOCK_NAMESPACE, sync_zadig

from .zadig_fake import PROJECT, SHA_A, SHA_B, TOKEN, FakeZadig, task

pytestmark = pytest.mark.django_db

DAY = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, the statistics' default zone
T0 = int(DAY.timestamp())


@pytest.fixture
def zadig():
    server = FakeZadig()
    yield server
    server.close()


@pytest.fixture
def sleeps():
    return []


def make_source(zadig, token=TOKEN, **fields) -> Source:
    project = Project.objects.create(key=PROJECT, name="Shop")
    return Source.objects.create(
        name="zadig-main", kind="zadig", url=zadig.url, secret=secrets.encrypt(token), project=project, **fields
    )


def sync(sleeps, **kwargs):
    options = {"retries": 3, "page_size": 2}
    return sync_zadig(sleep=sleeps.append, client_options=options, **kwargs)


def snapshot():
    runs = sorted(WorkflowRun.objects.values_list("id", "status"))
    jobs = sorted(Job.objects.values_list("run_id", "name", "type", "status", "started_at", "finished_at"))
    return runs, jobs, Delivery.objects.count()


def stats(api_client, kind):
    params = {"startDate": T0 - 3600, "endDate": T0 + 3600}
    return api_client.get(f"/openapi/statistics/{kind}", params).json()


def test_a_sync_makes_runs_jobs_and_the_statistics_count_them(zadig, sleeps, api_client):
    zadig.add(task("ci", 1, "passed", T0))
    zadig.add(task("ci", 2, "failed", T0 + 100, sha=SHA_B))
    zadig.add(task("nightly", 7, "passed", T0 + 200))
    source = make_source(zadig)
    reports = sync(sleeps)
    assert {(r.workflow, r.fetched, r.stored, r.error) for r in reports} == {("ci", 2, 2, ""), ("nightly", 1, 1, "")}
    assert sorted(WorkflowRun.objects.values_list("id", "status", "branch")) == [
        ("zadig-main:ci#1", "passed", "main"),
        ("zadig-main:ci#2", "failed", "main"),
        ("zadig-main:nightly#7", "passed", "main"),
    ]
    run = WorkflowRun.objects.get(id="zadig-main:ci#2")
    assert run.workflow.name == "ci display" and run.project.key == PROJECT
    assert run.created_at == datetime.fromtimestamp(T0 + 95, UTC)
    jobs = {job.name: job for job in run.jobs.select_related("environment", "service")}
    assert {name: (j.type, j.status) for name, j in jobs.items()} == {
        "build-web": ("build", "passed"),
        "unit": ("test", "passed"),
        "deploy-prod": ("deploy", "failed"),
    }
    assert jobs["unit"].test_module == "unit-tests"
    assert jobs["deploy-prod"].environment.name == "prod" and jobs["deploy-prod"].service.name == "web"
    assert Environment.objects.get(project__key=PROJECT, name="prod").production is True
    # Zadig gives no commit time: the repos' commits are on the run at the task's creation (an upper bound).
    assert [(c.sha, c.committed_at) for c in run.commits.all()] == [(SHA_B, run.created_at)]
    assert set(Delivery.objects.values_list("head_sha", flat=True)) == {SHA_A, SHA_B}
    assert set(Delivery.objects.values_list("state", flat=True)) == {"applied"}
    # nothing secret is stored
    bodies = " ".join(Delivery.objects.values_list("body", flat=True))
    assert "repo-secret" not in bodies and "hunter2" not in bodies and TOKEN not in bodies
    source.refresh_from_db()
    assert source.cursor == {"ci": {"synced": 2, "running": []}, "nightly": {"synced": 7, "running": []}}
    assert source.accepted_count == 3 and source.last_error == ""
    rollup_rebuild.rebuild()
    assert stats(api_client, "build")["total"] == 3
    assert stats(api_client, "deploy") == {
        "total": 3,
        "success": 2,
        "data": [{"date": "2024-03-04", "success": 2, "failure": 1, "total": 3}],
    }
    assert sleeps == []


def test_a_second_sync_changes_nothing(zadig, sleeps):
    zadig.add(task("ci", 1, "passed", T0))
    zadig.add(task("ci", 2, "passed", T0 + 100))
    make_source(zadig)
    sync(sleeps)
    before = snapshot()
    details = zadig.count("/openapi/workflows/custom/task?")
    reports = sync(sleeps)
    assert snapshot() == before
    assert zadig.count("/openapi/workflows/custom/task?") == details  # no detail fetched again
    assert [(r.fetched, r.stored) for r in reports] == [(0, 0)]


def test_a_task_that_finishes_between_syncs_is_updated(zadig, sleeps):
    zadig.add(task("ci", 1, "running", T0))
    source = make_source(zadig)
    sync(sleeps)
    run = WorkflowRun.objects.get(id="zadig-main:ci#1")
    assert run.status == "running"
    assert sorted(run.jobs.values_list("name", "status")) == [("build-web", "passed"), ("unit", "running")]
    source.refresh_from_db()
    assert source.cursor == {"ci": {"synced": 1, "running": [1]}}
    sync(sleeps)  # still running, same content: a duplicate
    assert Delivery.objects.count() == 1
    zadig.add(task("ci", 1, "passed", T0))
    zadig.add(task("ci", 2, "passed", T0 + 500))
    reports = sync(sleeps)
    assert [(r.fetched, r.stored, r.running) for r in reports] == [(2, 2, 0)]
    run = WorkflowRun.objects.get(id="zadig-main:ci#1")
    assert run.status == "passed"
    assert sorted(run.jobs.values_list("name", "status")) == [
        ("build-web", "passed"),
        ("deploy-prod", "passed"),
        ("unit", "passed"),
    ]
    assert WorkflowRun.objects.count() == 2 and Job.objects.count() == 6
    source.refresh_from_db()
    assert source.cursor == {"ci": {"synced": 2, "running": []}}


def test_a_crash_mid_sync_resumes_without_loss_or_double_count(zadig, sleeps, api_client):
    for task_id in range(1, 6):
        zadig.add(task("ci", task_id, "passed", T0 + task_id * 100))
    source = make_source(zadig)
    # the listing takes 3 pages of 2 (6 requests: workflows + 3 pages... ), then 2 details, then 500s
    zadig.fail_after = 1 + 3 + 2
    reports = sync(sleeps)
    assert reports[0].stored == 2 and "HTTP 500" in reports[0].error
    source.refresh_from_db()
    assert source.cursor == {"ci": {"synced": 2, "running": []}}
    assert "HTTP 500" in source.last_error and source.last_error_at is not None
    zadig.fail_after = None
    sync(sleeps)
    source.refresh_from_db()
    assert source.cursor == {"ci": {"synced": 5, "running": []}}
    assert sorted(WorkflowRun.objects.values_list("id", flat=True)) == [f"zadig-main:ci#{i}" for i in range(1, 6)]
    assert Delivery.objects.count() == 5 and Job.objects.count() == 15
    rollup_rebuild.rebuild()
    assert stats(api_client, "build")["total"] == 5


def test_429_with_retry_after_and_5xx_are_backed_off(zadig, sleeps):
    zadig.add(task("ci", 1, "passed", T0))
    make_source(zadig)
    zadig.script = [(429, {"Retry-After": "7"}), (503, {}), (502, {})]
    reports = sync(sleeps)
    assert sleeps == [7.0, 2.0, 4.0]  # Retry-After honoured, then 1 s doubling (the 2nd and 3rd attempts)
    assert reports[0].stored == 1 and reports[0].error == ""


def test_backoff_is_bounded_then_the_workflow_stops_and_the_error_is_recorded(zadig, sleeps):
    zadig.add(task("ci", 1, "passed", T0))
    source = make_source(zadig, workflows=["ci"])
    zadig.fail_after = 0
    reports = sync(sleeps)
    assert len(sleeps) == 3 and sleeps == [1.0, 2.0, 4.0]
    assert zadig.count("/") == 4
    assert reports[0].error and WorkflowRun.objects.count() == 0
    source.refresh_from_db()
    assert source.last_error.startswith("workflow ci: GET /openapi/workflows/custom/ci/tasks: HTTP 500")
    assert source.cursor == {}


def test_a_huge_retry_after_is_capped(zadig, sleeps):
    zadig.add(task("ci", 1, "passed", T0))
    make_source(zadig, workflows=["ci"])
    zadig.script = [(429, {"Retry-After": "86400"})]
    sync(sleeps)
    assert sleeps == [60.0]


def test_a_wrong_token_records_the_error_on_the_source(zadig, sleeps):
    zadig.add(task("ci", 1, "passed", T0))
    source = make_source(zadig, token="not-the-token")
    reports = sync(sleeps)
    assert reports[0].error and WorkflowRun.objects.count() == 0 and sleeps == []
    source.refresh_from_db()
    assert "HTTP 401" in source.last_error and "refused the token" in source.last_error
    assert "not-the-token" not in source.last_error
    assert source.last_error_at is not None


def test_an_unreadable_token_records_the_error(zadig, sleeps):
    source = make_source(zadig)
    Source.objects.filter(pk=source.pk).update(secret="fernet:garbage")
    reports = sync(sleeps)
    assert reports[0].error and zadig.requests == []
    source.refresh_from_db()
    assert "token cannot be read" in source.last_error


def test_max_tasks_bounds_one_call(zadig, sleeps):
    for task_id in range(1, 8):
        zadig.add(task("ci", task_id, "passed", T0 + task_id * 100))
    source = make_source(zadig)
    reports = sync(sleeps, max_tasks=3)
    assert reports[0].fetched == 3 and zadig.count("/openapi/workflows/custom/task?") == 3
    source.refresh_from_db()
    assert source.cursor["ci"]["synced"] == 3  # oldest first: nothing below the cursor is missing
    sync(sleeps, max_tasks=3)
    sync(sleeps, max_tasks=3)
    assert WorkflowRun.objects.count() == 7
    source.refresh_from_db()
    assert source.cursor["ci"]["synced"] == 7


def test_the_command_prints_what_it_fetched_and_honours_max_tasks(zadig, sleeps):
    for task_id in range(1, 4):
        zadig.add(task("ci", task_id, "passed", T0 + task_id * 100))
    make_source(zadig)
    out = StringIO()
    call_command("sync_zadig", "--source", "zadig-main", "--max-tasks", "2", stdout=out, stderr=StringIO())
    assert "zadig-main ci: 3 new, 2 fetched, 2 stored, 0 unchanged, 0 still running" in out.getvalue()
    assert WorkflowRun.objects.count() == 2


def test_the_beat_task_syncs(zadig):
    from insights.sources.zadig_tasks import sync_zadig_sources

    zadig.add(task("ci", 1, "passed", T0))
    make_source(zadig)
    assert sync_zadig_sources.run() == 1
    assert WorkflowRun.objects.count() == 1


def test_a_source_already_being_synced_is_skipped_not_synced_twice(zadig, sleeps):
    if connection.vendor != "postgresql":
        pytest.skip("the sync lock is PostgreSQL's")
    zadig.add(task("ci", 1, "passed", T0))
    source = make_source(zadig)
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [SYNC_LOCK_NAMESPACE, source.pk])
        [report] = sync(sleeps)
        assert report.error == "already being synced by another process"
        assert not Delivery.objects.exists() and zadig.requests == []
    finally:
        other.close()
    assert sync(sleeps) and Delivery.objects.exists(), "once the other sync ends, the next one runs"


def test_a_sync_is_counted_for_prometheus(zadig, sleeps):
    from common.metrics import SOURCE_SYNCS

    def count(outcome):
        return SOURCE_SYNCS.labels("zadig-main", outcome)._value.get()

    zadig.add(task("ci", 1, "passed", T0))
    make_source(zadig)
    before = count("stored"), count("unchanged")
    sync(sleeps)
    sync(sleeps)
    assert (count("stored") - before[0], count("unchanged") - before[1]) == (1, 0), "a second sync fetches nothing"
