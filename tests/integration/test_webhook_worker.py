"""GitHub deliveries posted concurrently to gunicorn, with redeliveries, applied by two real Celery worker
processes on a real broker: every one is stored once and applied, and the runs they leave are exactly what
applying the same deliveries one by one leaves (the per-source lock serialises the folds).

Needs CELERY_BROKER_URL (Redis) and DATABASE_URL on PostgreSQL, as `.ci/run` provides.
"""

import os
import random
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from insights.models import WorkflowRun
from insights.sources import secrets
from insights.sources.apply import replay
from insights.sources.models import Delivery, Source
from tests.integration.conftest import wait_until
from tests.sources import github_examples
from tests.sources import github_story as story
from tests.sources.conftest import GITHUB_SECRET, signature
from tests.sources.test_github_order import events

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a Celery broker: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/15",
    ),
]


def _post(base: str, delivery_id: str, event: str, payload: dict) -> int:
    body = orjson.dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": signature(body),
    }
    request = urllib.request.Request(f"{base}/hooks/gh/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_concurrent_deliveries_and_redeliveries_apply_once_each_and_fold_as_in_order(processes):
    github_examples.need()
    start_worker, start_web = processes
    Source.objects.create(name="gh", kind="github", secret=secrets.keep("github", GITHUB_SECRET))
    # Folds pause a random part of 0.3 s before writing, so without the lock two folds of one run overlap.
    start_worker(SOURCE_FAULT_FOLD_PAUSE_SECONDS="0.3")
    start_worker(SOURCE_FAULT_FOLD_PAUSE_SECONDS="0.3")
    start_worker(SOURCE_FAULT_FOLD_PAUSE_SECONDS="0.3")
    base = start_web()
    listed = events()
    rng = random.Random(20261204)
    sends = listed + rng.sample(listed, len(listed) // 2)  # half of them redelivered
    rng.shuffle(sends)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda sent: _post(base, *sent), sends))
    assert set(answers) <= {200, 202}, answers
    assert answers.count(202) == len(listed), "each delivery acknowledged as new exactly once"

    def settled():
        states = list(Delivery.objects.values_list("state", flat=True))
        return len(states) == len(listed) and set(states) == {Delivery.State.APPLIED}

    wait_until(settled, 60, "every delivery to be applied by the workers")
    by_workers = story.stored()
    assert len(by_workers) == 4
    WorkflowRun.objects.all().delete()
    replay(Source.objects.get(), since=Delivery.objects.earliest("received_at").received_at)
    assert story.stored() == by_workers
