"""Four client processes post overlapping batches over HTTP to gunicorn while a real worker rolls
up: each stored key holds exactly one whole write, and the rollups equal the raw recomputation.

Needs CELERY_BROKER_URL (Redis) and DATABASE_URL on PostgreSQL (see test_worker_processes.py).
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cdnorigin.models import DirtyOriginBucket, OriginSample
from common.tokens import create_api_token
from insights.models import DirtyJobDay, Job, WorkflowRun
from tests.integration.conftest import ROOT, drain
from tests.integration.data import assert_rollups_equal_raw_recomputation, make_catalogue, recent_minute, run_batch

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a Celery broker: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/15",
    ),
]

POSTERS = 4
ROUNDS = 4
RUN_IDS = [f"run-{n}" for n in range(12)]
MINUTES = range(0, 30)
POSTER_SECONDS = 120


def write_tag(poster: int, round_: int) -> int:
    return poster * 100 + round_ + 1


def samples(first: int, tag: int, rng: random.Random) -> list[dict]:
    """Every poster writes the same domain-minutes; flux, pv and status all name the write (`tag`)."""
    return [
        {
            "domain": name,
            "timestamp": first + 60 * minute,
            "flux": tag * 1_000_000 + rng.randint(0, 999_999),
            "pv": tag * 1000 + rng.randint(0, 999),
            "status": {"200": tag, "404": rng.randint(0, 9)},
        }
        for minute in MINUTES
        for name in ("www.example.com", "img.example.com")
    ]


def runs(tag: int, rng: random.Random) -> list[dict]:
    """Every poster re-posts the same run ids; each job's name names the write (`tag`)."""
    batch = run_batch(rng, rng.sample(RUN_IDS, len(RUN_IDS)))
    for run in batch:
        for index, job in enumerate(run["jobs"]):
            job["name"] = f"w{tag}-{index}"
    return batch


def test_overlapping_batches_from_four_processes_keep_one_whole_write_per_key(processes, tmp_path: Path):
    start_worker, start_web = processes
    make_catalogue()
    token = create_api_token("posters")
    start_worker()
    web = start_web()
    first = recent_minute()
    jobs_of = {}  # (run id, tag) -> job count of that write
    files = []
    for poster in range(POSTERS):
        rng = random.Random(poster)
        requests = []
        for round_ in range(ROUNDS):
            tag = write_tag(poster, round_)
            batch = runs(tag, rng)
            jobs_of.update({(run["id"], tag): len(run["jobs"]) for run in batch})
            requests += [["/api/v1/workflow-runs/", batch], ["/api/v1/cdn/origin-samples/", samples(first, tag, rng)]]
        files.append(tmp_path / f"poster-{poster}.json")
        files[-1].write_text(json.dumps(requests))

    posters = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests/integration/poster.py"), web, token, str(file)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for file in files
    ]
    try:
        errors = [poster.communicate(timeout=POSTER_SECONDS)[1] for poster in posters]
    finally:
        for poster in posters:
            poster.kill()
    assert [poster.returncode for poster in posters] == [0] * POSTERS, errors

    drain(DirtyJobDay, DirtyOriginBucket)
    for flux, pv, codes in ((sample.flux, sample.pv, sample.status) for sample in OriginSample.objects.all()):
        assert flux // 1_000_000 == pv // 1000 == codes["200"], "a sample mixes two writes"
    assert OriginSample.objects.count() == 2 * len(MINUTES)
    assert WorkflowRun.objects.count() == len(RUN_IDS)
    for run_id in RUN_IDS:
        names = list(Job.objects.filter(run_id=run_id).values_list("name", flat=True))
        tags = {int(name[1:].split("-")[0]) for name in names}
        assert len(tags) <= 1, f"run {run_id} mixes jobs of writes {tags}"
        if tags:
            assert len(names) == jobs_of[(run_id, tags.pop())], f"run {run_id} lost or doubled jobs"
    assert_rollups_equal_raw_recomputation()
