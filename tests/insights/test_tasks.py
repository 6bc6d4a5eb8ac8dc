"""The rollup task survives transient database errors, and a lost enqueue never loses a write."""

import logging
from datetime import UTC, datetime

import pytest
from celery.result import allow_join_result
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError

from config.celery import app as celery_app
from insights import rollups
from insights.ingest import ingest_workflow_runs
from insights.models import DailyJobStat, DirtyJobDay, WorkflowRun
from insights.tasks import MAX_RETRIES, recompute_dirty_job_days
from tests.insights.test_rollups import catalogue, job, run  # noqa: F401 (fixture)

STARTED = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def eager_retries():
    """Eager tasks retry inline only when they do not propagate (as in a worker); `.get()` still raises.

    `allow_join_result`: Celery's "never call get() within a task" flag is a process global that eager
    tasks run concurrently in threads (other tests, on PostgreSQL) can leave set.
    """
    was = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    with allow_join_result():
        yield
    celery_app.conf.task_eager_propagates = was


def test_transient_database_errors_are_retried_until_the_recompute_succeeds(monkeypatch):
    calls = []

    def flaky(limit=None):
        calls.append(limit)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return 4

    monkeypatch.setattr(rollups, "recompute_dirty", flaky)
    assert recompute_dirty_job_days.apply().get() == 4
    assert len(calls) == 3


def test_retries_are_bounded(monkeypatch):
    calls = []

    def broken(limit=None):
        calls.append(limit)
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(rollups, "recompute_dirty", broken)
    with pytest.raises(OperationalError):
        recompute_dirty_job_days.apply().get()
    assert len(calls) == MAX_RETRIES + 1


def test_other_errors_are_not_retried(monkeypatch):
    calls = []

    def buggy(limit=None):
        calls.append(limit)
        raise ValueError("a bug, not a glitch")

    monkeypatch.setattr(rollups, "recompute_dirty", buggy)
    with pytest.raises(ValueError):
        recompute_dirty_job_days.apply().get()
    assert len(calls) == 1


def test_ingest_commits_and_buckets_stay_dirty_when_the_broker_is_down(
    catalogue,  # noqa: F811
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
):
    class BrokerDown:
        @staticmethod
        def delay(*args, **kwargs):
            raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("insights.tasks.recompute_dirty_job_days", BrokerDown)
    with caplog.at_level(logging.WARNING, logger="insights.dirty"), django_capture_on_commit_callbacks(execute=True):
        ingest_workflow_runs([run("r1", jobs=[job("build", "passed", STARTED)])])

    assert WorkflowRun.objects.filter(id="r1").exists()
    assert DirtyJobDay.objects.count() == 1
    assert not DailyJobStat.objects.exists()
    [record] = [r for r in caplog.records if r.name == "insights.dirty"]
    assert record.getMessage().startswith("rollup enqueue failed")
    assert record.error == "OperationalError"

    monkeypatch.undo()
    assert recompute_dirty_job_days.apply().get() == 1  # what the beat sweep does a minute later
    assert not DirtyJobDay.objects.exists()
    assert DailyJobStat.objects.get(kind="build").passed == 1


def test_an_ingest_batch_is_logged_with_its_counts(catalogue, caplog):  # noqa: F811
    with caplog.at_level(logging.INFO, logger="insights.ingest"):
        ingest_workflow_runs([run("r1", jobs=[job("build", "passed", STARTED), job("test", "failed", STARTED)])])
    [record] = [r for r in caplog.records if r.name == "insights.ingest"]
    assert (record.kind, record.items, record.replaced, record.jobs) == ("workflow_runs", 1, 0, 2)
    assert record.duration_ms >= 0
