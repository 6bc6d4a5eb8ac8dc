"""The origin tasks survive transient database errors, a lost enqueue never loses a write, and the
daily purge task drops expired samples together with their rollups."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from celery.result import allow_join_result
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError

from cdnorigin import rollups
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.retention import retention_cutoff
from cdnorigin.tasks import MAX_RETRIES, purge_expired_origin_data, recompute_dirty_origin_buckets
from config.celery import app as celery_app

T0 = 1714521600  # 2024-05-01T00:00:00Z


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


@pytest.fixture
def domain(db):
    return Domain.objects.create(name="www.example.com")


def sample(timestamp, flux=100, pv=2):
    return {"domain": "www.example.com", "timestamp": timestamp, "flux": flux, "pv": pv, "status": {"200": pv}}


def test_transient_database_errors_are_retried_and_bounded(monkeypatch):
    calls = []

    def flaky(limit=None):
        calls.append(limit)
        if len(calls) < 3:
            raise OperationalError("could not serialize access due to concurrent update")
        return 2

    monkeypatch.setattr(rollups, "recompute_dirty", flaky)
    assert recompute_dirty_origin_buckets.apply().get() == 2
    assert len(calls) == 3

    calls.clear()
    monkeypatch.setattr(rollups, "recompute_dirty", lambda limit=None: calls.append(limit) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # a bug is not retried
        recompute_dirty_origin_buckets.apply().get()
    assert len(calls) == 1

    def down(limit=None):
        calls.append(limit)
        raise OperationalError("connection refused")

    calls.clear()
    monkeypatch.setattr(rollups, "recompute_dirty", down)
    with pytest.raises(OperationalError):
        recompute_dirty_origin_buckets.apply().get()
    assert len(calls) == MAX_RETRIES + 1


def test_ingest_commits_and_buckets_stay_dirty_when_the_broker_is_down(
    domain, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    class BrokerDown:
        @staticmethod
        def delay(*args, **kwargs):
            raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("cdnorigin.tasks.recompute_dirty_origin_buckets", BrokerDown)
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        assert replace_origin_samples([sample(T0), sample(T0 + 300)]) == 2

    assert OriginSample.objects.count() == 2
    assert DirtyOriginBucket.objects.count() == 2
    assert not OriginRollup.objects.exists()
    [failed] = [r for r in caplog.records if r.name == "cdnorigin.dirty"]
    assert failed.getMessage().startswith("rollup enqueue failed") and failed.error == "OperationalError"
    [batch] = [r for r in caplog.records if r.name == "cdnorigin.ingest"]
    assert (batch.kind, batch.samples, batch.domains, batch.buckets) == ("origin_samples", 2, 1, 2)

    monkeypatch.undo()
    assert recompute_dirty_origin_buckets.apply().get() == 2  # what the beat sweep does a minute later
    assert not DirtyOriginBucket.objects.exists()
    assert {(r.interval, r.flux) for r in OriginRollup.objects.all()} == {("5min", 100), ("hour", 200), ("day", 200)}


def test_purge_task_drops_expired_samples_with_their_rollups(domain, settings, django_capture_on_commit_callbacks):
    settings.CDN_RETENTION_DAYS = 3
    cutoff = retention_cutoff()
    old = int((cutoff - timedelta(minutes=10)).timestamp())
    kept = int(cutoff.timestamp()) + 600
    with django_capture_on_commit_callbacks(execute=True):
        replace_origin_samples([sample(old), sample(kept)])
    assert not DirtyOriginBucket.objects.exists()
    assert OriginRollup.objects.filter(start__lt=cutoff).exists()

    summary = purge_expired_origin_data.apply().get()

    assert summary["samples"] == 1
    assert [int(m.timestamp()) for m in OriginSample.objects.values_list("minute", flat=True)] == [kept]
    assert list(OriginSample.objects.values_list("status", flat=True)) == [{"200": 2}]
    assert not OriginRollup.objects.filter(start__lt=cutoff).exists()
    assert OriginRollup.objects.filter(interval="5min").get().start == datetime.fromtimestamp(kept, UTC)
