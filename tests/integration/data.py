"""Data for the real-process tests: the catalogue, random batches as JSON, and the one check that
matters (every rollup equals the slow recomputation from raw rows)."""

import json
import random
import urllib.request
from datetime import date

from django.conf import settings
from django.utils import timezone

from cdnorigin.models import Domain
from insights.models import Environment, Project, Service
from tests.cdnorigin.test_rollups import expected_rollups, stored_rollups
from tests.insights.test_rollups import expected_daily_stats, local_midnights, random_runs, stored_daily_stats

DOMAINS = ("www.example.com", "img.example.com")
MIDNIGHTS = local_midnights("Asia/Shanghai", date(2024, 5, 1), 3)


def make_catalogue() -> None:
    for key in ("alpha", "beta"):
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="staging", production=False)
        Service.objects.create(project=project, name="svc", service_type="k8s")
    for name in DOMAINS:
        Domain.objects.create(name=name)


def run_batch(rng: random.Random, ids: list[str]) -> list[dict]:
    """Random workflow runs (jobs spread over three local days), as the JSON the API takes."""
    runs = random_runs(rng, ids, MIDNIGHTS)
    return json.loads(json.dumps(runs, default=lambda value: value.isoformat()))


def recent_minute() -> int:
    """A 5-minute boundary two hours ago: inside the CDN retention and the query window."""
    now = int(timezone.now().timestamp()) - 7200
    return now - now % 300


def sample_batch(rng: random.Random, first: int, minutes: range, tag: int = 0) -> list[dict]:
    """One sample per domain and minute offset; flux encodes `tag` so a stored row names its write."""
    return [
        {
            "domain": name,
            "timestamp": first + 60 * minute,
            "flux": tag * 1_000_000 + rng.randint(0, 999_999),
            "pv": tag * 1000 + rng.randint(0, 999),
            "status": {"200": rng.randint(0, 50), "404": rng.randint(0, 5), "502": rng.randint(0, 2)},
        }
        for minute in minutes
        for name in DOMAINS
    ]


def assert_rollups_equal_raw_recomputation() -> None:
    assert stored_daily_stats() == expected_daily_stats()
    assert stored_rollups() == expected_rollups(settings.INSIGHTS_TIME_ZONE)


def post_json(url: str, token: str, body) -> int:
    """POST JSON over real HTTP; returns the status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status
