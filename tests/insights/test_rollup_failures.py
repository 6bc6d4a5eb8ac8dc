"""A job-day bucket whose recompute fails is set aside with a retry time; the other buckets go on.

The poison is real, not a mock: forty test jobs of 8,029 years each on one project-day (rows written
past the API's bounds, as raw SQL or an old import could) sum past the bigint of `duration_us`, which
fails the recompute of that bucket on PostgreSQL and on SQLite alike.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from common.rollup_failures import FIRST_BACKOFF, MAX_BACKOFF, backoff
from insights import rollups
from insights.dirty import local_day, mark_job_days
from insights.ingest import ingest_workflow_runs
from insights.models import DirtyJobDay, Job, WorkflowRun
from tests.insights.test_rollups import (
    catalogue,  # noqa: F401 (fixture)
    expected_daily_stats,
    job,
    run,
    stored_daily_stats,
)

POISON_START = datetime(1970, 1, 1, 12, tzinfo=UTC)
POISON_END = datetime(9999, 12, 29, tzinfo=UTC)


def poison(project) -> date:
    """Forty 8,029-year test jobs on one day of `project`, marked dirty; returns that local day."""
    ingest_workflow_runs([run("poison-carrier", project=project.key)])
    carrier = WorkflowRun.objects.get(pk="poison-carrier")
    Job.objects.bulk_create(
        Job(
            run=carrier,
            project=project,
            position=n,
            name=f"forever-{n}",
            type="test",
            status="passed",
            started_at=POISON_START,
            finished_at=POISON_END,
        )
        for n in range(40)
    )
    day = local_day(POISON_START)
    mark_job_days([(project.pk, day)])
    return day


def healthy_runs():
    at = datetime(2024, 3, 1, 9, tzinfo=UTC)
    ingest_workflow_runs(
        [
            run("good-alpha", project="alpha", jobs=[job("build", "passed", at, seconds=90)]),
            run("good-beta", project="beta", jobs=[job("test", "failed", at + timedelta(days=1), seconds=30)]),
        ]
    )


def without_day(stats: dict, day: date) -> dict:
    return {key: value for key, value in stats.items() if key[1] != day}


def test_one_poisoned_bucket_does_not_keep_the_others_dirty(catalogue):  # noqa: F811
    alpha, _ = catalogue
    bad_day = poison(alpha)
    healthy_runs()
    assert DirtyJobDay.objects.count() == 3

    assert rollups.recompute_dirty() == 3

    assert stored_daily_stats() == without_day(expected_daily_stats(), bad_day)
    assert list(DirtyJobDay.objects.values_list("project_pk", "day")) == [(alpha.pk, bad_day)]
    mark = DirtyJobDay.objects.get()
    assert mark.attempts == 1
    assert "out of range" in mark.last_error or "overflow" in mark.last_error.lower()
    assert len(mark.last_error) <= 500
    assert timezone.now() < mark.retry_at <= timezone.now() + FIRST_BACKOFF


def test_a_failed_bucket_waits_for_its_retry_time_then_backs_off_further(catalogue):  # noqa: F811
    alpha, _ = catalogue
    poison(alpha)
    rollups.recompute_dirty()

    assert rollups.recompute_dirty() == 0, "a mark waiting for its retry is not taken"
    assert DirtyJobDay.objects.get().attempts == 1

    DirtyJobDay.objects.update(retry_at=timezone.now() - timedelta(seconds=1))
    assert rollups.recompute_dirty() == 1
    mark = DirtyJobDay.objects.get()
    assert mark.attempts == 2
    assert mark.retry_at > timezone.now() + FIRST_BACKOFF


def test_a_new_write_retries_at_once_and_a_fix_clears_the_mark(catalogue):  # noqa: F811
    alpha, _ = catalogue
    bad_day = poison(alpha)
    rollups.recompute_dirty()

    mark_job_days([(alpha.pk, bad_day)])
    assert DirtyJobDay.objects.get().retry_at is None
    assert rollups.recompute_dirty() == 1, "re-marked: due again at once"
    assert DirtyJobDay.objects.get().attempts == 2

    Job.objects.filter(name__startswith="forever-").delete()
    mark_job_days([(alpha.pk, bad_day)])
    assert rollups.recompute_dirty() == 1
    assert not DirtyJobDay.objects.exists()
    assert stored_daily_stats() == expected_daily_stats()


def test_a_transient_error_is_raised_for_the_task_to_retry_and_records_nothing(catalogue, monkeypatch):  # noqa: F811
    healthy_runs()

    def connection_lost(pairs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(rollups, "recompute_job_days", connection_lost)
    with pytest.raises(OperationalError):
        rollups.recompute_dirty()
    assert DirtyJobDay.objects.count() == 2
    assert not DirtyJobDay.objects.filter(attempts__gt=0).exists()


def test_healthz_counts_the_failing_bucket_apart_without_its_error(client, catalogue):  # noqa: F811
    alpha, _ = catalogue
    poison(alpha)
    healthy_runs()
    rollups.recompute_dirty()

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    lag = body["rollups"]["insights"]
    assert (lag["dirty_buckets"], lag["failing_buckets"]) == (1, 1)
    assert lag["next_retry_at"] is not None
    assert "range" not in str(body) and "overflow" not in str(body).lower()


def test_the_admin_index_shows_the_failing_bucket_and_its_error(admin_client, catalogue):  # noqa: F811
    alpha, _ = catalogue
    bad_day = poison(alpha)
    rollups.recompute_dirty()

    page = admin_client.get("/admin/").content.decode()
    assert 'id="rollup-failures"' in page
    assert f"project {alpha.pk} on {bad_day}" in page
    assert DirtyJobDay.objects.get().last_error.split(":")[0] in page


def test_the_admin_index_has_no_failure_panel_when_nothing_fails(admin_client, catalogue):  # noqa: F811
    healthy_runs()
    rollups.recompute_dirty()
    assert 'id="rollup-failures"' not in admin_client.get("/admin/").content.decode()


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (10_000, 60)])
def test_backoff_doubles_from_a_minute_up_to_an_hour(attempts, minutes):
    assert backoff(attempts) == timedelta(minutes=minutes)
    assert backoff(attempts) <= MAX_BACKOFF
