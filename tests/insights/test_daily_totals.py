"""The all-projects daily totals (`DailyJobTotal`): kept equal to the per-project rows summed, and
never read for a day that still has a dirty mark."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings

from insights import module_cases, rollup_rebuild, rollups
from insights.dirty import day_bounds, local_day, mark_job_days
from insights.ingest import ingest_workflow_runs
from insights.models import DailyJobStat, DailyJobTotal, DirtyJobDay, Environment, Job, Project, TestModule
from tests.insights.test_rollups import (
    assert_rollups_match_raw_rows,
    expected_daily_totals,
    expected_test_modules,
    job,
    run,
    stored_daily_totals,
    stored_test_modules,
)

pytestmark = pytest.mark.django_db
AT = datetime(2024, 1, 2, 3, tzinfo=UTC)  # 11:00 in Shanghai


@pytest.fixture
def projects(db):
    made = []
    for key in ("alpha", "beta", "gamma"):
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="staging", production=False)
        made.append(project)
    return made


def builds(body: dict) -> dict:
    return {row["date"]: (row["success"], row["failure"]) for row in body["data"]}


def window(first: date, last: date) -> dict:
    """startDate/endDate choosing the whole local days first..last."""
    return {"startDate": int(day_bounds(first)[0].timestamp()), "endDate": int(day_bounds(last)[1].timestamp()) - 1}


def test_totals_follow_every_recompute_and_sum_all_projects(projects):
    ingest_workflow_runs(
        [
            run("a", "alpha", [job("build", "passed", AT), job("deploy", "passed", AT, environment="prod")]),
            run("b", "beta", [job("build", "failed", AT), job("build", "timeout", AT + timedelta(days=1))]),
        ]
    )
    rollups.recompute_dirty()
    assert_rollups_match_raw_rows()
    day = local_day(AT)
    assert DailyJobTotal.objects.get(day=day, kind="build").passed == 1
    assert DailyJobTotal.objects.get(day=day, kind="build").failed == 1
    assert DailyJobTotal.objects.get(day=day, kind="release").passed == 1


def test_a_repost_moving_a_job_across_midnight_moves_it_between_day_totals(projects):
    with override_settings(INSIGHTS_TIME_ZONE="Europe/Berlin"):
        midnight = datetime(2024, 3, 31, tzinfo=UTC) - timedelta(hours=1)  # 00:00 Berlin (CET)
        ingest_workflow_runs([run("r", "alpha", [job("build", "passed", midnight - timedelta(seconds=1))])])
        ingest_workflow_runs([run("s", "beta", [job("build", "passed", midnight + timedelta(seconds=5))])])
        rollups.recompute_dirty()
        assert stored_daily_totals()[(date(2024, 3, 30), "build")][0] == 1
        ingest_workflow_runs([run("r", "alpha", [job("build", "passed", midnight)])])  # now on the 31st
        rollups.recompute_dirty()
        assert (date(2024, 3, 30), "build") not in stored_daily_totals()
        assert stored_daily_totals()[(date(2024, 3, 31), "build")][0] == 2
        assert_rollups_match_raw_rows()


def test_deleting_a_project_removes_it_from_the_totals(projects):
    alpha, beta, _ = projects
    ingest_workflow_runs(
        [run("a", "alpha", [job("build", "passed", AT)]), run("b", "beta", [job("build", "failed", AT)])]
    )
    rollups.recompute_dirty()
    mark_job_days([(alpha.pk, local_day(AT) + timedelta(days=3))])  # a pending mark of the doomed project
    alpha.delete()
    assert not DirtyJobDay.objects.exists()
    assert stored_daily_totals() == expected_daily_totals() == {(local_day(AT), "build"): (0, 1, 0, 60_000_000)}
    Project.objects.filter(pk=beta.pk).delete()  # a queryset delete takes the same path
    assert not DailyJobTotal.objects.exists()


def test_orphan_marks_recomputed_or_cleaned_leave_the_totals_right(projects):
    ingest_workflow_runs([run("b", "beta", [job("build", "passed", AT)])])
    rollups.recompute_dirty()
    mark_job_days([(987654, local_day(AT))])  # a project that no longer exists
    assert rollups.recompute_dirty() == 1
    assert_rollups_match_raw_rows()
    mark_job_days([(987654, local_day(AT))])
    summary = rollup_rebuild.rebuild()
    assert summary["dirty_cleared"] == 1
    assert_rollups_match_raw_rows()


def test_rebuild_restores_tampered_totals(projects):
    ingest_workflow_runs(
        [run("a", "alpha", [job("build", "passed", AT)]), run("g", "gamma", [job("test", "passed", AT)])]
    )
    rollups.recompute_dirty()
    DailyJobTotal.objects.update(passed=999)
    DailyJobTotal.objects.create(day=date(2020, 1, 1), kind="build", passed=3)
    summary = rollup_rebuild.rebuild()
    assert summary["daily_job_totals_written"] == 2
    assert_rollups_match_raw_rows()


def test_a_day_with_one_dirty_bucket_is_not_read_from_the_totals(projects, read_only_client):
    """Would fail if the totals were read for a day with a mark: they are made wrong on purpose."""
    alpha, beta, gamma = projects
    ingest_workflow_runs(
        [
            run("a", "alpha", [job("build", "passed", AT), job("build", "passed", AT + timedelta(days=1))]),
            run("b", "beta", [job("build", "failed", AT)]),
            run("g", "gamma", [job("build", "passed", AT)]),
        ]
    )
    rollups.recompute_dirty()
    # alpha's bucket changes and stays dirty; beta's and gamma's stay clean.
    ingest_workflow_runs([run("a2", "alpha", [job("build", "timeout", AT + timedelta(hours=1))])])
    assert set(DirtyJobDay.objects.values_list("project_pk", "day")) == {(alpha.pk, local_day(AT))}
    DailyJobTotal.objects.filter(day=local_day(AT)).update(passed=1000, failed=1000)
    DailyJobStat.objects.filter(project=alpha, day=local_day(AT)).update(passed=500)  # stale, and dirty
    days = window(local_day(AT), local_day(AT) + timedelta(days=1))
    body = read_only_client.get("/openapi/statistics/build", days).json()
    assert builds(body) == {"2024-01-02": (2, 2), "2024-01-03": (1, 0)}
    # Once recomputed, the day is clean again and read from its (recomputed) total.
    rollups.recompute_dirty()
    assert DailyJobTotal.objects.get(day=local_day(AT), kind="build").passed == 2
    again = read_only_client.get("/openapi/statistics/build", days).json()
    assert again == body


def test_the_totals_are_what_a_clean_day_reads(projects, read_only_client):
    ingest_workflow_runs([run("a", "alpha", [job("build", "passed", AT)])])
    rollups.recompute_dirty()
    DailyJobTotal.objects.filter(kind="build").update(passed=41)
    body = read_only_client.get("/openapi/statistics/build", window(local_day(AT), local_day(AT))).json()
    assert builds(body) == {"2024-01-02": (41, 0)}


@pytest.mark.postgres
def test_the_postgresql_bucket_aggregate_equals_the_portable_one(projects):
    if connection.vendor != "postgresql":
        pytest.skip("the unnest path is PostgreSQL's")
    ingest_workflow_runs(
        [
            run(
                f"r{n}",
                ("alpha", "beta")[n % 2],
                [job("deploy", "passed", AT + timedelta(hours=5 * n), environment="prod")],
            )
            for n in range(12)
        ]
    )
    buckets = set(Job.objects.values_list("project_id", "started_at").distinct())
    wanted = {(pid, local_day(started)) for pid, started in buckets} | {(999, local_day(AT))}
    from django.db.models import Q

    portable = {key: value for key, value in rollups.aggregate_jobs(Q()).items() if key[:2] in wanted}
    assert rollups.compute_job_day_stats(wanted) == portable != {}


def test_recompute_test_modules_uses_a_bounded_number_of_statements(projects, django_assert_max_num_queries):
    alpha, beta, _ = projects
    ingest_workflow_runs(
        [
            run(
                f"t{n}",
                ("alpha", "beta")[n % 2],
                [job("test", "passed", AT + timedelta(minutes=n), test_module=f"m{n % 7}", case_count=n)],
            )
            for n in range(40)
        ]
    )
    TestModule.objects.create(project=alpha, name="no-jobs", case_count=3)
    pairs = set(TestModule.objects.values_list("project_id", "name"))
    with django_assert_max_num_queries(6):
        kept = module_cases.recompute_test_modules(pairs)
    assert kept == len(pairs) - 1
    assert not TestModule.objects.filter(name="no-jobs").exists()
    assert stored_test_modules() == expected_test_modules()
