"""The daily job rollup and test modules always equal a slow recomputation from raw rows."""

import random
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from insights import rollup_rebuild, rollups
from insights.dirty import day_bounds, dirty_job_days, local_day, mark_job_days
from insights.ingest import ingest_workflow_runs
from insights.models import (
    FINAL_STATUSES,
    DailyJobStat,
    DailyJobTotal,
    DirtyJobDay,
    Environment,
    Job,
    Project,
    Service,
    TestModule,
    WorkflowRun,
)
from insights.tasks import recompute_dirty_job_days

# --- the slow, obvious recomputation every test compares against -------------------------------


def expected_daily_stats() -> dict:
    """(project_id, local day, kind) -> (passed, failed, timeout, duration_us), job by job in Python."""
    stats: dict = {}
    for job in Job.objects.select_related("environment").order_by("id"):
        if job.type not in ("build", "deploy", "test") or job.status not in FINAL_STATUSES or job.started_at is None:
            continue
        kinds = [job.type]
        if job.type == "deploy" and job.environment is not None and job.environment.production:
            kinds.append("release")
        spent = 0
        if job.finished_at is not None:
            spent = (job.finished_at - job.started_at) // timedelta(microseconds=1)
        for kind in kinds:
            key = (job.project_id, local_day(job.started_at), kind)
            passed, failed, timeout, duration = stats.get(key, (0, 0, 0, 0))
            stats[key] = (
                passed + (job.status == "passed"),
                failed + (job.status == "failed"),
                timeout + (job.status == "timeout"),
                duration + spent,
            )
    return stats


def stored_daily_stats() -> dict:
    """The rollup table, rows of all zeros left out (they need not be stored)."""
    return {
        (row.project_id, row.day, row.kind): (row.passed, row.failed, row.timeout, row.duration_us)
        for row in DailyJobStat.objects.all()
        if (row.passed, row.failed, row.timeout) != (0, 0, 0)
    }


def expected_test_modules() -> dict:
    """(project_id, module) -> case count of its latest-started test job that reported one."""
    latest: dict = {}
    for job in Job.objects.filter(type="test").exclude(test_module="").order_by("id"):
        key = (job.project_id, job.test_module)
        latest.setdefault(key, None)
        if job.case_count is None:
            continue
        rank = (job.started_at is not None, job.started_at or datetime.min.replace(tzinfo=UTC), job.id)
        if latest[key] is None or rank > latest[key][0]:
            latest[key] = (rank, job.case_count)
    return {key: (value[1] if value else 0) for key, value in latest.items()}


def stored_test_modules() -> dict:
    return {(module.project_id, module.name): module.case_count for module in TestModule.objects.all()}


def expected_daily_totals() -> dict:
    """(local day, kind) -> the expected per-project rows summed over every project."""
    totals: dict = {}
    for (_, day, kind), values in expected_daily_stats().items():
        totals[(day, kind)] = tuple(a + b for a, b in zip(totals.get((day, kind), (0, 0, 0, 0)), values, strict=True))
    return totals


def stored_daily_totals() -> dict:
    return {
        (row.day, row.kind): (row.passed, row.failed, row.timeout, row.duration_us)
        for row in DailyJobTotal.objects.all()
        if (row.passed, row.failed, row.timeout) != (0, 0, 0)
    }


def assert_rollups_match_raw_rows():
    assert stored_daily_stats() == expected_daily_stats()
    assert stored_daily_totals() == expected_daily_totals()
    assert stored_test_modules() == expected_test_modules()


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def catalogue(db):
    """Two projects, each with a production and a staging environment and one service."""
    projects = []
    for key in ("alpha", "beta"):
        project = Project.objects.create(key=key, name=key.title())
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="staging", production=False)
        Service.objects.create(project=project, name="svc", service_type="k8s")
        projects.append(project)
    return projects


def random_job(rng: random.Random, around: datetime) -> dict:
    kind = rng.choice(["build", "deploy", "test", "other"])
    status = rng.choice(["passed", "passed", "failed", "timeout", "cancelled", "running"])
    # In UTC: arithmetic on a zoneinfo datetime is wall-clock arithmetic, which DST days break.
    started = around.astimezone(UTC) + timedelta(
        seconds=rng.randint(-3 * 3600, 3 * 3600), microseconds=rng.randint(0, 999_999)
    )
    job = {"name": f"{kind}-{rng.randint(1, 3)}", "type": kind, "status": status}
    if status in ("passed", "failed", "timeout") or rng.random() < 0.5:
        job["started_at"] = started
        if status in ("passed", "failed", "timeout") or rng.random() < 0.5:
            job["finished_at"] = started + timedelta(seconds=rng.randint(0, 5400), microseconds=rng.randint(0, 999))
    if kind == "deploy":
        job["environment"] = rng.choice(["prod", "staging", None])
        job["service"] = rng.choice(["svc", None])
    if kind == "test":
        job["test_module"] = rng.choice(["unit", "e2e"])
        job["case_count"] = rng.choice([None, rng.randint(0, 500)])
    return job


def random_runs(rng: random.Random, ids: list[str], midnights: list[datetime]) -> list[dict]:
    return [
        {
            "id": run_id,
            "project": rng.choice(["alpha", "beta"]),
            "workflow": rng.choice(["build-deploy", "nightly"]),
            "status": rng.choice(["passed", "failed", "running"]),
            "created_at": rng.choice(midnights),
            "jobs": [random_job(rng, rng.choice(midnights)) for _ in range(rng.randint(0, 5))],
        }
        for run_id in ids
    ]


def local_midnights(tz_name: str, first: date, count: int) -> list[datetime]:
    tz = ZoneInfo(tz_name)
    return [datetime.combine(first + timedelta(days=n), datetime.min.time(), tzinfo=tz) for n in range(count)]


# --- days ----------------------------------------------------------------------------------------


@override_settings(INSIGHTS_TIME_ZONE="Europe/Berlin")
@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2024, 3, 31), 23), (date(2024, 10, 27), 25), (date(2024, 6, 1), 24), (date(2024, 3, 30), 24)],
)
def test_berlin_days_are_23_or_25_hours_long_when_the_clocks_change(day, hours):
    start, end = day_bounds(day)
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert end - start == timedelta(hours=hours)
    assert local_day(start) == day
    assert local_day(end - timedelta(microseconds=1)) == day
    assert local_day(end) == day + timedelta(days=1)


def test_shanghai_day_starts_at_local_midnight():
    assert day_bounds(date(2022, 8, 1)) == (
        datetime(2022, 7, 31, 16, tzinfo=UTC),
        datetime(2022, 8, 1, 16, tzinfo=UTC),
    )
    assert local_day(datetime(2022, 7, 31, 15, 59, 59, tzinfo=UTC)) == date(2022, 7, 31)
    assert local_day(datetime(2022, 7, 31, 16, 0, 0, tzinfo=UTC)) == date(2022, 8, 1)


@override_settings(INSIGHTS_TIME_ZONE="America/Santiago")
def test_a_day_whose_midnight_is_skipped_starts_at_the_first_local_instant():
    # Chile moved clocks from 00:00 to 01:00 on 2022-09-11: the day starts at 01:00 local.
    start, end = day_bounds(date(2022, 9, 11))
    assert start == datetime(2022, 9, 11, 4, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


# --- rollup semantics ----------------------------------------------------------------------------


def run(run_id, project="alpha", jobs=(), created_at=None):
    return {
        "id": run_id,
        "project": project,
        "workflow": "wf",
        "status": "passed",
        "created_at": created_at or datetime(2024, 1, 1, tzinfo=UTC),
        "jobs": list(jobs),
    }


def job(kind, status, started, seconds=60, **extra):
    return {
        "name": kind,
        "type": kind,
        "status": status,
        "started_at": started,
        "finished_at": started + timedelta(seconds=seconds),
        **extra,
    }


def test_a_production_deploy_counts_as_deploy_and_as_release(catalogue):
    alpha = catalogue[0]
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs(
        [
            run(
                "r1",
                jobs=[
                    job("deploy", "passed", at, 30, environment="prod"),
                    job("deploy", "failed", at, 10, environment="staging"),
                    job("deploy", "timeout", at, 5),
                    job("build", "cancelled", at),
                    job("other", "passed", at),
                ],
            )
        ]
    )
    rollups.recompute_dirty()
    day = local_day(at)
    assert stored_daily_stats() == {
        (alpha.pk, day, "deploy"): (1, 1, 1, 45_000_000),
        (alpha.pk, day, "release"): (1, 0, 0, 30_000_000),
    }


def test_compute_job_day_stats_reads_only_the_requested_buckets(catalogue):
    alpha, beta = catalogue
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs(
        [
            run("a", jobs=[job("build", "passed", at), job("build", "passed", at + timedelta(days=1))]),
            run("b", project="beta", jobs=[job("build", "failed", at)]),
        ]
    )
    stats = rollups.compute_job_day_stats([(alpha.pk, local_day(at))])
    assert stats == {
        (alpha.pk, local_day(at), "build"): {"passed": 1, "failed": 0, "timeout": 0, "duration_us": 60_000_000}
    }
    assert rollups.compute_job_day_stats([]) == {}


def test_compute_job_day_stats_keeps_each_day_to_its_own_projects(catalogue):
    """Buckets (alpha, day 1) and (beta, day 2): neither project's other day is counted, though both
    projects and both days are wanted."""
    alpha, beta = catalogue
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    later = at + timedelta(days=1)
    ingest_workflow_runs(
        [
            run("a", jobs=[job("build", "passed", at), job("build", "failed", later)]),
            run("b", project="beta", jobs=[job("build", "timeout", at), job("build", "passed", later, seconds=90)]),
        ]
    )
    stats = rollups.compute_job_day_stats([(alpha.pk, local_day(at)), (beta.pk, local_day(later))])
    assert stats == {
        (alpha.pk, local_day(at), "build"): {"passed": 1, "failed": 0, "timeout": 0, "duration_us": 60_000_000},
        (beta.pk, local_day(later), "build"): {"passed": 1, "failed": 0, "timeout": 0, "duration_us": 90_000_000},
    }


def test_clear_marks_deletes_the_unchanged_marks_and_returns_the_refreshed_ones(catalogue):
    alpha, beta = catalogue
    marks = [
        DirtyJobDay.objects.create(project_pk=pid, day=date(2024, 1, day))
        for pid in (alpha.pk, beta.pk)
        for day in (1, 2)
    ]
    refreshed = marks[1]
    DirtyJobDay.objects.filter(pk=refreshed.pk).update(marked_at=refreshed.marked_at + timedelta(seconds=1))

    assert rollups.clear_marks([(mark.pk, mark.marked_at) for mark in marks]) == {refreshed.pk}
    assert list(DirtyJobDay.objects.values_list("pk", flat=True)) == [refreshed.pk]


def test_recompute_deletes_rows_no_job_backs_any_more(catalogue):
    alpha = catalogue[0]
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs([run("r", jobs=[job("build", "passed", at)])])
    rollups.recompute_dirty()
    assert DailyJobStat.objects.count() == 1
    ingest_workflow_runs([run("r", jobs=[job("build", "running", at)])])
    assert dirty_job_days([alpha.pk], local_day(at), local_day(at)) == {(alpha.pk, local_day(at))}
    assert rollups.recompute_dirty() == 1
    assert DailyJobStat.objects.count() == 0
    assert not DirtyJobDay.objects.exists()


def test_a_bucket_re_marked_during_its_recompute_stays_dirty(catalogue, monkeypatch):
    """A concurrent writer re-marks the bucket while the recompute reads raw rows: the mark survives."""
    alpha = catalogue[0]
    day = date(2024, 1, 2)
    mark_job_days([(alpha.pk, day)])
    real = rollups.recompute_job_days

    def recompute_while_a_writer_re_marks(pairs):
        written = real(pairs)
        DirtyJobDay.objects.filter(project_pk=alpha.pk, day=day).update(
            marked_at=DirtyJobDay.objects.get(project_pk=alpha.pk, day=day).marked_at + timedelta(seconds=1)
        )
        return written

    monkeypatch.setattr(rollups, "recompute_job_days", recompute_while_a_writer_re_marks)
    assert rollups.recompute_dirty() == 1
    assert dirty_job_days(None, day, day) == {(alpha.pk, day)}
    monkeypatch.setattr(rollups, "recompute_job_days", real)
    assert rollups.recompute_dirty() == 1
    assert dirty_job_days(None, day, day) == set()


def test_recompute_dirty_honours_its_limit(catalogue):
    alpha = catalogue[0]
    mark_job_days([(alpha.pk, date(2024, 1, day)) for day in range(1, 6)])
    assert rollups.recompute_dirty(limit=2) == 2
    assert DirtyJobDay.objects.count() == 3
    assert rollups.recompute_dirty() == 3
    assert rollups.recompute_dirty() == 0


def test_marks_of_a_deleted_project_are_simply_cleared(db):
    mark_job_days([(987654, date(2024, 1, 1))])
    assert rollups.recompute_dirty() == 1
    assert not DirtyJobDay.objects.exists()
    assert not DailyJobStat.objects.exists()


def test_test_module_takes_the_case_count_of_its_latest_started_job(catalogue):
    alpha = catalogue[0]
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs(
        [
            run("late", jobs=[job("test", "failed", at + timedelta(hours=1), test_module="unit", case_count=7)]),
            run("early", jobs=[job("test", "passed", at, test_module="unit", case_count=99)]),
            run("no-count", jobs=[job("test", "passed", at + timedelta(hours=2), test_module="unit")]),
        ]
    )
    module = TestModule.objects.get(project=alpha, name="unit")
    assert (module.case_count, module.reported_at) == (7, at + timedelta(hours=1))
    # A later-posted job with the same start wins the tie (latest id).
    ingest_workflow_runs(
        [run("tie", jobs=[job("test", "cancelled", at + timedelta(hours=1), test_module="unit", case_count=8)])]
    )
    assert TestModule.objects.get(project=alpha, name="unit").case_count == 8
    WorkflowRun.objects.filter(id__in=["late", "early", "tie"]).delete()
    assert TestModule.objects.get(project=alpha, name="unit").case_count == 0  # jobs remain, none with a count
    WorkflowRun.objects.filter(id="no-count").delete()
    assert not TestModule.objects.exists()


# --- rebuild -------------------------------------------------------------------------------------


def test_rebuild_restores_tampered_rollups_and_clears_marks(catalogue):
    rng = random.Random(7)
    ingest_workflow_runs(
        random_runs(rng, [f"r{n}" for n in range(40)], local_midnights("Asia/Shanghai", date(2024, 1, 1), 4))
    )
    DailyJobStat.objects.update(passed=1000)
    TestModule.objects.update(case_count=12345)
    summary = rollup_rebuild.rebuild()
    assert summary["dirty_cleared"] > 0
    assert not DirtyJobDay.objects.exists()
    assert_rollups_match_raw_rows()


def test_rebuild_since_a_day_leaves_earlier_days_alone(catalogue):
    alpha = catalogue[0]
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs([run("r", jobs=[job("build", "passed", at), job("build", "passed", at + timedelta(days=2))])])
    rollups.recompute_dirty()
    DailyJobStat.objects.update(passed=50)
    rollup_rebuild.rebuild(since=local_day(at) + timedelta(days=1))
    assert stored_daily_stats() == {
        (alpha.pk, local_day(at), "build"): (50, 0, 0, 60_000_000),
        (alpha.pk, local_day(at) + timedelta(days=2), "build"): (1, 0, 0, 60_000_000),
    }


def test_rebuild_rollups_command_rebuilds_and_prints_a_summary(catalogue):
    at = datetime(2024, 1, 2, 3, tzinfo=UTC)
    ingest_workflow_runs([run("r", jobs=[job("build", "passed", at)])])
    DailyJobStat.objects.all().delete()
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert_rollups_match_raw_rows()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("insights: rebuilt all days:")
    assert "daily_job_stats_written=1" in lines[0]
    assert lines[1].startswith("cdnorigin: rebuilt all days:")


def test_rebuild_rollups_command_refuses_a_malformed_since(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_rollups", "--since", "yesterday")


# --- the property: whatever happens, rollups equal the raw recomputation -------------------------


@pytest.mark.parametrize("tz_name", ["Asia/Shanghai", "Europe/Berlin"])
@pytest.mark.parametrize("seed", range(12))
def test_rollups_equal_raw_recomputation_through_ingest_repost_edit_delete_and_rebuild(
    catalogue, django_capture_on_commit_callbacks, tz_name, seed
):
    rng = random.Random(seed)
    first = date(2024, 3, 30) if tz_name == "Europe/Berlin" and seed % 2 else date(2024, 10, 26)
    midnights = local_midnights(tz_name, first, 3)
    ids = [f"run-{n}" for n in range(rng.randint(5, 25))]
    with override_settings(INSIGHTS_TIME_ZONE=tz_name):
        # 1. ingest; the on-commit task recomputes.
        with django_capture_on_commit_callbacks(execute=True):
            ingest_workflow_runs(random_runs(rng, ids, midnights))
        assert not DirtyJobDay.objects.exists()
        assert_rollups_match_raw_rows()

        # 2. re-post some runs (new content, maybe another project), plus some new ones.
        reposted = rng.sample(ids, k=len(ids) // 2) + [f"new-{n}" for n in range(3)]
        with django_capture_on_commit_callbacks(execute=True):
            ingest_workflow_runs(random_runs(rng, reposted, midnights))
        assert_rollups_match_raw_rows()

        # 3. admin-style edits through model save(): status, start time, environment, run project.
        jobs = list(Job.objects.order_by("id"))
        with django_capture_on_commit_callbacks(execute=True):
            for edited in rng.sample(jobs, k=min(4, len(jobs))):
                edited.status = rng.choice(["passed", "failed", "timeout", "running"])
                edited.started_at = rng.choice(midnights).astimezone(UTC) + timedelta(minutes=rng.randint(-90, 90))
                edited.finished_at = edited.started_at + timedelta(seconds=rng.randint(0, 600))
                edited.save()
            moved = WorkflowRun.objects.order_by("id").first()
            moved.project = rng.choice(catalogue)
            moved.save()
            prod = Environment.objects.get(project=catalogue[0], name="prod")
            prod.production = not prod.production
            prod.save()
        assert_rollups_match_raw_rows()
        assert all(j.project_id == j.run.project_id for j in Job.objects.select_related("run"))

        # 4. deletes: a job, a run.
        with django_capture_on_commit_callbacks(execute=True):
            if Job.objects.exists():
                rng.choice(list(Job.objects.order_by("id"))).delete()
            WorkflowRun.objects.filter(id=rng.choice(ids)).delete()
        assert_rollups_match_raw_rows()

        # 5. the task run twice changes nothing; a rebuild from scratch gives the same rows.
        recompute_dirty_job_days.delay()
        recompute_dirty_job_days.delay()
        assert_rollups_match_raw_rows()
        DailyJobStat.objects.all().delete()
        rollup_rebuild.rebuild()
        assert_rollups_match_raw_rows()


# --- concurrency (PostgreSQL: real row locks) -----------------------------------------------------


def run_in_threads(count: int, work) -> list:
    """Call `work()` in `count` threads at once; each closes its own database connection."""
    from threading import Barrier, Thread

    from django.db import connection

    barrier, results, errors = Barrier(count), [], []

    def target():
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # re-raised in the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.postgres
def test_concurrent_recomputes_share_the_dirty_buckets_without_loss(transactional_db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL")
    for key in ("alpha", "beta"):
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="staging", production=False)
        Service.objects.create(project=project, name="svc", service_type="k8s")
    rng = random.Random(3)
    ingest_workflow_runs(
        random_runs(rng, [f"r{n}" for n in range(300)], local_midnights("Asia/Shanghai", date(2024, 1, 1), 40))
    )
    marks = DirtyJobDay.objects.count()
    # Tiny batches so the workers interleave.
    original = rollups.DIRTY_BATCH
    rollups.DIRTY_BATCH = 3
    try:
        done = run_in_threads(4, rollups.recompute_dirty)
    finally:
        rollups.DIRTY_BATCH = original
    assert sum(done) == marks
    assert not DirtyJobDay.objects.exists()
    assert_rollups_match_raw_rows()
