"""Edits and deletes made one row at a time (admin, shell) keep the rollups equal to raw rows."""

from datetime import UTC, date, datetime, timedelta

import pytest

from insights import rollups
from insights.dirty import local_day
from insights.ingest import ingest_workflow_runs
from insights.models import DailyJobStat, DirtyJobDay, Environment, Job, Project, TestModule, Workflow, WorkflowRun
from tests.insights.test_rollups import assert_rollups_match_raw_rows, stored_daily_stats

AT = datetime(2024, 5, 6, 3, tzinfo=UTC)  # 11:00 in Shanghai
DAY = local_day(AT)


@pytest.fixture
def stored(db, django_capture_on_commit_callbacks):
    """Two projects; run r1 in alpha with a build, a production deploy and a test job, rolled up."""
    alpha = Project.objects.create(key="alpha", name="Alpha")
    beta = Project.objects.create(key="beta", name="Beta")
    for project in (alpha, beta):
        Environment.objects.create(project=project, name="prod", production=True)
    jobs = [
        _job("build", "passed"),
        _job("deploy", "failed", environment="prod"),
        _job("test", "passed", test_module="unit", case_count=10),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        ingest_workflow_runs(
            [{"id": "r1", "project": "alpha", "workflow": "wf", "status": "passed", "created_at": AT, "jobs": jobs}]
        )
    assert_rollups_match_raw_rows()
    return alpha, beta


def _job(kind, status, **extra):
    return {
        "name": kind,
        "type": kind,
        "status": status,
        "started_at": AT,
        "finished_at": AT + timedelta(minutes=1),
        **extra,
    }


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run the on-commit recompute the edits schedule, as a committed admin request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_changing_a_job_status_recomputes_its_day(stored, committing):
    alpha, _ = stored
    job = Job.objects.get(type="build")
    with committing():
        job.status = "failed"
        job.save()
    assert stored_daily_stats()[(alpha.pk, DAY, "build")] == (0, 1, 0, 60_000_000)
    assert_rollups_match_raw_rows()


def test_moving_a_job_to_another_day_recomputes_both_days(stored, committing):
    alpha, _ = stored
    job = Job.objects.get(type="build")
    with committing():
        job.started_at += timedelta(days=2)
        job.finished_at += timedelta(days=2)
        job.save()
    assert (alpha.pk, DAY, "build") not in stored_daily_stats()
    assert stored_daily_stats()[(alpha.pk, DAY + timedelta(days=2), "build")] == (1, 0, 0, 60_000_000)
    assert not DirtyJobDay.objects.exists()


def test_deleting_a_job_or_a_run_removes_its_counts(stored, committing):
    alpha, _ = stored
    with committing():
        Job.objects.get(type="build").delete()
    assert (alpha.pk, DAY, "build") not in stored_daily_stats()
    with committing():
        WorkflowRun.objects.get(pk="r1").delete()
    assert stored_daily_stats() == {}
    assert not TestModule.objects.exists()


def test_a_job_created_by_hand_is_counted_and_takes_its_runs_project(stored, committing):
    alpha, beta = stored
    with committing():
        Job.objects.create(
            run_id="r1", project=beta, name="extra", type="build", status="timeout", started_at=AT, finished_at=AT
        )
    assert Job.objects.get(name="extra").project == alpha
    assert stored_daily_stats()[(alpha.pk, DAY, "build")] == (1, 0, 1, 60_000_000)


def test_moving_a_run_to_another_project_moves_its_jobs_and_both_projects_counts(stored, committing):
    alpha, beta = stored
    run = WorkflowRun.objects.get(pk="r1")
    with committing():
        run.project = beta
        run.workflow = Workflow.objects.create(project=beta, name="wf")
        run.save()
    assert set(Job.objects.values_list("project_id", flat=True)) == {beta.pk}
    assert {key[0] for key in stored_daily_stats()} == {beta.pk}
    assert set(TestModule.objects.values_list("project_id", "name")) == {(beta.pk, "unit")}
    assert_rollups_match_raw_rows()


def test_flipping_an_environments_production_flag_moves_its_deploys_in_and_out_of_release(stored, committing):
    alpha, _ = stored
    prod = Environment.objects.get(project=alpha, name="prod")
    with committing():
        prod.production = False
        prod.save()
    assert (alpha.pk, DAY, "release") not in stored_daily_stats()
    assert stored_daily_stats()[(alpha.pk, DAY, "deploy")] == (0, 1, 0, 60_000_000)
    with committing():
        prod.production = True
        prod.save()
    assert stored_daily_stats()[(alpha.pk, DAY, "release")] == (0, 1, 0, 60_000_000)


def test_editing_a_test_job_updates_its_module(stored, committing):
    alpha, _ = stored
    job = Job.objects.get(type="test")
    with committing():
        job.case_count = 42
        job.save()
    assert TestModule.objects.get(project=alpha, name="unit").case_count == 42
    with committing():
        job.test_module = "integration"
        job.save()
    assert set(TestModule.objects.values_list("name", "case_count")) == {("integration", 42)}
    assert_rollups_match_raw_rows()


def test_deleting_a_project_leaves_no_rollup_rows_or_marks(stored, committing):
    alpha, beta = stored
    run = {"id": "b1", "project": "beta", "workflow": "wf", "status": "passed", "created_at": AT}
    with committing():
        ingest_workflow_runs([{**run, "jobs": [_job("build", "passed"), _job("test", "failed", test_module="unit")]}])
    DirtyJobDay.objects.create(project_pk=beta.pk, day=date(2024, 1, 1))
    assert DailyJobStat.objects.filter(project_id=beta.pk).exists()
    with committing():
        beta.delete()
    assert not DailyJobStat.objects.filter(project_id=beta.pk).exists()
    assert not DirtyJobDay.objects.filter(project_pk=beta.pk).exists()
    assert not TestModule.objects.filter(project_id=beta.pk).exists()
    assert_rollups_match_raw_rows()


def test_ingest_does_not_go_through_the_one_row_handlers(stored, monkeypatch):
    calls = []
    monkeypatch.setattr("insights.signals.jobs_changed", lambda states: calls.append(states))
    run = {"id": "r1", "project": "alpha", "workflow": "wf", "status": "passed", "created_at": AT}
    ingest_workflow_runs([{**run, "jobs": [_job("build", "failed")]}])
    assert calls == []
    assert DirtyJobDay.objects.filter(day=DAY).exists()  # ingest marked the day itself
    rollups.recompute_dirty()
    assert_rollups_match_raw_rows()


@pytest.mark.django_db
def test_deleting_a_project_with_deploy_jobs_cascades_and_clears_its_statistics():
    """Environments and services named by jobs are RESTRICTed, yet a whole project can go."""
    from django.db.models import RestrictedError
    from django.utils import timezone

    from insights.models import Service

    project = Project.objects.create(key="gone", name="Gone")
    env = Environment.objects.create(project=project, name="prod", production=True)
    svc = Service.objects.create(project=project, name="svc", service_type="k8s")
    workflow = Workflow.objects.create(project=project, name="wf")
    now = timezone.now()
    run = WorkflowRun.objects.create(id="r1", project=project, workflow=workflow, status="passed", created_at=now)
    Job.objects.create(
        run=run,
        project=project,
        name="d",
        type="deploy",
        status="passed",
        started_at=now,
        finished_at=now,
        environment=env,
        service=svc,
    )
    rollups.recompute_dirty()
    assert DailyJobStat.objects.filter(project=project, kind="release").exists()
    with pytest.raises(RestrictedError):
        env.delete()
    project.delete()
    assert not Job.objects.exists()
    assert not DailyJobStat.objects.filter(project_id=project.pk).exists()
