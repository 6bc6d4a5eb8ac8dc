"""With a real `celery worker` process on a real broker, rollups end up equal to the raw rows, also
when the worker is killed mid-recompute or the broker is down while data arrives.

Needs CELERY_BROKER_URL (Redis) and DATABASE_URL on PostgreSQL, as `.ci/run` provides:
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 DATABASE_URL=postgres://postgres@127.0.0.1:5432/w2a \\
        .venv/bin/pytest -m celery_worker tests/integration
"""

import os
import random
from datetime import timedelta

import pytest
from django.conf import settings

from cdnorigin.models import DirtyOriginBucket, OriginRollup, OriginSample
from cdnorigin.retention import retention_cutoff
from cdnorigin.selectors import describe_origin_data
from cdnorigin.tasks import purge_expired_origin_data, recompute_dirty_origin_buckets
from common.tokens import create_api_token
from insights.models import DailyJobStat, DirtyJobDay
from insights.tasks import recompute_dirty_job_days
from tests.cdnorigin.test_rollups import stored_rollups
from tests.insights.test_rollups import stored_daily_stats
from tests.integration.conftest import drain, free_port, wait_until
from tests.integration.data import (
    DOMAINS,
    assert_rollups_equal_raw_recomputation,
    make_catalogue,
    post_json,
    recent_minute,
    run_batch,
    sample_batch,
)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a Celery broker: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/15",
    ),
]

RUNS = "/api/v1/workflow-runs/"
SAMPLES = "/api/v1/cdn/origin-samples/"


def ingest(client, rng: random.Random, first: int) -> None:
    """Two batches of each kind; the second re-posts runs and minutes of the first."""
    for start in (0, 20):
        response = client.post(RUNS, run_batch(rng, [f"run-{n}" for n in range(start, start + 30)]), format="json")
        assert response.status_code == 201, response.content
    for minutes in (range(0, 40), range(30, 70)):
        response = client.post(SAMPLES, sample_batch(rng, first, minutes), format="json")
        assert response.status_code == 201, response.content


def test_the_worker_process_rolls_up_what_the_api_stored(processes, api_client):
    start_worker, _ = processes
    make_catalogue()
    start_worker()

    ingest(api_client, random.Random(7), recent_minute())

    drain(DirtyJobDay, DirtyOriginBucket)
    assert DailyJobStat.objects.exists() and OriginRollup.objects.filter(interval="day").exists()
    assert_rollups_equal_raw_recomputation()


def test_a_worker_killed_mid_recompute_loses_nothing_and_counts_nothing_twice(processes, api_client):
    start_worker, _ = processes
    make_catalogue()
    first = recent_minute()
    ingest(api_client, random.Random(11), first)
    drain_with(start_worker)  # a clean state of rollups to be changed below
    before = {"insights": stored_daily_stats(), "cdnorigin": stored_rollups()}

    # Slow recomputes: the worker pauses inside its transaction, after writing rollup rows.
    slow = start_worker(ROLLUP_FAULT_PAUSE_SECONDS="60")
    rng = random.Random(12)
    response = api_client.post(SAMPLES, sample_batch(rng, first, range(10, 50), tag=1), format="json")
    assert response.status_code == 201
    response = api_client.post(RUNS, run_batch(rng, [f"run-{n}" for n in range(10, 40)]), format="json")
    assert response.status_code == 200  # every run replaced
    slow.wait_for("rollup paused for fault test")
    slow.kill()

    # The killed transaction (rollup rows written, marks not yet cleared) rolled back whole.
    paused = "cdnorigin" if "app=cdnorigin" in slow.output() else "insights"
    assert {"insights": DirtyJobDay, "cdnorigin": DirtyOriginBucket}[paused].objects.exists()
    now = {"insights": stored_daily_stats(), "cdnorigin": stored_rollups()}
    assert now[paused] == before[paused]
    start_worker()
    recompute_dirty_job_days.delay()  # what the beat sweep sends every minute
    recompute_dirty_origin_buckets.delay()
    drain(DirtyJobDay, DirtyOriginBucket)
    assert_rollups_equal_raw_recomputation()


def drain_with(start_worker) -> None:
    worker = start_worker()
    drain(DirtyJobDay, DirtyOriginBucket)
    worker.stop()
    assert_rollups_equal_raw_recomputation()


def test_ingest_commits_while_the_broker_is_down_and_the_sweep_catches_up(processes, api_client):
    start_worker, start_web = processes
    make_catalogue()
    token = create_api_token("poster")
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    web = start_web(CELERY_BROKER_URL=dead_broker)  # gunicorn whose enqueue after commit fails
    rng = random.Random(21)
    first = recent_minute()
    runs = run_batch(rng, [f"run-{n}" for n in range(40)])
    samples = sample_batch(rng, first, range(0, 60))

    assert post_json(web + RUNS, token, runs) == 201
    assert post_json(web + SAMPLES, token, samples) == 201

    # Raw rows are the truth: stored, every touched bucket still dirty, no rollup written.
    assert OriginSample.objects.count() == len(samples)
    assert DirtyJobDay.objects.exists() and DirtyOriginBucket.objects.exists()
    assert not DailyJobStat.objects.exists() and not OriginRollup.objects.exists()
    zadig_before = api_client.get("/openapi/statistics/build", {"startDate": 0, "endDate": 2**31}).json()
    query = {"StartTime": first - 3600, "EndTime": first + 7200, "Metric": "flux", "Interval": "hour"}
    query["Domain"] = ",".join(DOMAINS)
    cdn_before = describe_origin_data(query, None)
    assert any(value["Value"] for value in cdn_before["Resources"][0]["Metrics"][0]["Values"])

    start_worker()  # on the live broker: the sweep catches up
    recompute_dirty_job_days.delay()
    recompute_dirty_origin_buckets.delay()
    drain(DirtyJobDay, DirtyOriginBucket)
    assert_rollups_equal_raw_recomputation()
    # The answers given from raw rows while dirty are the answers given from the rollups now.
    assert api_client.get("/openapi/statistics/build", {"startDate": 0, "endDate": 2**31}).json() == zadig_before
    assert describe_origin_data(query, None) == cdn_before


def test_the_purge_task_drops_expired_samples_with_their_rollups(processes, api_client):
    start_worker, _ = processes
    make_catalogue()
    start_worker(CDN_RETENTION_DAYS=str(settings.CDN_RETENTION_DAYS))
    cutoff = retention_cutoff()
    expired_first = int((cutoff - timedelta(hours=2)).timestamp())
    kept_first = recent_minute()
    rng = random.Random(31)
    for first in (expired_first, kept_first):
        response = api_client.post(SAMPLES, sample_batch(rng, first, range(0, 30)), format="json")
        assert response.status_code == 201
    drain(DirtyOriginBucket)
    assert OriginRollup.objects.filter(start__lt=cutoff).exists()
    kept = OriginSample.objects.filter(minute__gte=cutoff).count()

    purge_expired_origin_data.delay()

    wait_until(lambda: not OriginSample.objects.filter(minute__lt=cutoff).exists(), 30, "the purge task")
    assert OriginSample.objects.count() == kept == 30 * len(DOMAINS)
    assert not OriginRollup.objects.filter(start__lt=cutoff).exists()
    assert_rollups_equal_raw_recomputation()
