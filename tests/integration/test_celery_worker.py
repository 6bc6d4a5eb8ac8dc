"""With a real broker and worker, runs posted through the API end up in the rollup via the task queue.

Needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/14) and, to be meaningful, PostgreSQL:
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 DATABASE_URL=postgres://postgres@127.0.0.1:5432/h4a \\
        .venv/bin/pytest -m celery_worker tests/integration
"""

import os
import random
import threading
import time
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun, task_prerun
from django.db import connections

from config.celery import app
from insights.models import DirtyJobDay, Environment, Project, Service
from tests.insights.test_rollup_failures import poison
from tests.insights.test_rollups import expected_daily_stats, local_midnights, random_runs, stored_daily_stats

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a Celery broker: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/14",
    ),
]

WAIT_SECONDS = 60


@pytest.fixture
def worker(transactional_db):
    """A real worker thread consuming the broker; records which threads ran our task."""
    ran_in: list[int] = []

    def record(sender=None, **kwargs):
        if sender is not None and sender.name == "insights.tasks.recompute_dirty_job_days":
            ran_in.append(threading.get_ident())

    def close_connections(**kwargs):
        # The worker thread's connections must not outlive the test (the test database is dropped).
        connections.close_all()

    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    task_prerun.connect(record, weak=False)
    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1):
            yield ran_in
    finally:
        task_prerun.disconnect(record)
        task_postrun.disconnect(close_connections)
        app.conf.task_always_eager = was_eager


def two_projects() -> None:
    """alpha and beta, each with a production and a staging environment and one service."""
    for key in ("alpha", "beta"):
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="staging", production=False)
        Service.objects.create(project=project, name="svc", service_type="k8s")


def as_posted(batch: list[dict]) -> list[dict]:
    """The random runs with their times as ISO text, as a client posts them (in place)."""
    for item in batch:
        for job in item["jobs"]:
            for field in ("started_at", "finished_at"):
                if field in job:
                    job[field] = job[field].isoformat()
        item["created_at"] = item["created_at"].isoformat()
    return batch


def test_posted_runs_are_rolled_up_by_the_worker(worker, api_client):
    two_projects()
    rng = random.Random(2024)
    midnights = local_midnights("Asia/Shanghai", date(2024, 5, 1), 3)
    batches = [random_runs(rng, [f"run-{n}" for n in range(start, start + 30)], midnights) for start in (0, 20)]
    for batch in batches:  # the second batch re-posts ten runs of the first
        as_posted(batch)
        response = api_client.post("/api/v1/workflow-runs/", batch, format="json")
        assert response.status_code == 201, response.json()

    deadline = time.monotonic() + WAIT_SECONDS
    while DirtyJobDay.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not DirtyJobDay.objects.exists(), "the worker did not recompute the dirty buckets in time"
    assert worker and threading.get_ident() not in worker, "the task ran inline, not in the worker"
    assert stored_daily_stats() == expected_daily_stats()
    assert stored_daily_stats()


def test_a_poisoned_bucket_is_set_aside_and_the_worker_rolls_up_the_others(worker, api_client):
    """Raw rows no recompute can store (see tests/insights/test_rollup_failures.py) on one project-day:
    the worker records the failure on that mark and still rolls up every other bucket."""
    two_projects()
    bad_day = poison(Project.objects.get(key="alpha"))
    rng = random.Random(7)
    batch = random_runs(rng, [f"run-{n}" for n in range(20)], local_midnights("Asia/Shanghai", date(2024, 5, 1), 2))
    for item in as_posted(batch):
        item["project"] = "beta"
    response = api_client.post("/api/v1/workflow-runs/", batch, format="json")
    assert response.status_code == 201, response.json()

    deadline = time.monotonic() + WAIT_SECONDS
    while DirtyJobDay.objects.filter(attempts=0).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not DirtyJobDay.objects.filter(attempts=0).exists(), "the healthy buckets were not recomputed in time"
    assert worker and threading.get_ident() not in worker, "the task ran inline, not in the worker"
    alpha = Project.objects.get(key="alpha")
    assert list(DirtyJobDay.objects.values_list("project_pk", "day")) == [(alpha.pk, bad_day)]
    assert DirtyJobDay.objects.get().retry_at is not None
    expected = {key: value for key, value in expected_daily_stats().items() if key[1] != bad_day}
    assert stored_daily_stats() == expected
    assert stored_daily_stats()
