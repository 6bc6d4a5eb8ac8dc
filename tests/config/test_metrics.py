"""`GET /metrics`: Prometheus' text format, parsed here with prometheus_client's own parser, counting
what operators alert on; answered only to the allowed networks or the metrics token."""

import ipaddress
import random

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from cdnorigin import throttle
from cdnorigin.errors import VolcError
from cdnorigin.models import DirtyOriginBucket, Domain
from insights import rollups
from insights.dirty import mark_job_days
from insights.models import DirtyJobDay, Project
from insights.tasks import recompute_dirty_job_days
from tests.insights.test_rollup_failures import poison

pytestmark = pytest.mark.django_db


def scrape(client: Client | None = None, **extra) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_and_timed_by_route_method_and_status():
    before = scrape()
    Client().get("/healthz")
    Client().get("/no/such/page/at/all")
    after = scrape()
    assert value(after, "insights_http_requests_total", route="healthz", method="GET", status="200") == (
        value(before, "insights_http_requests_total", route="healthz", method="GET", status="200") + 1
    )
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "insights_http_requests_total", **unmatched)
        == value(before, "insights_http_requests_total", **unmatched) + 1
    )
    count = {"route": "healthz", "method": "GET"}
    assert value(after, "insights_http_request_duration_seconds_count", **count) == (
        value(before, "insights_http_request_duration_seconds_count", **count) + 1
    )


def test_ingest_items_are_counted_as_accepted_or_refused_per_kind(api_client, read_only_client):
    before = scrape()
    good = [{"key": f"p{n}", "name": f"Project {n}"} for n in range(3)]
    assert api_client.post("/api/v1/projects/", good, format="json").status_code == 201
    bad = [{"key": "ok", "name": "fine"}, {"key": "", "name": "no key"}]
    assert api_client.post("/api/v1/projects/", bad, format="json").status_code == 400
    assert read_only_client.post("/api/v1/projects/", good, format="json").status_code == 403  # not an input refusal
    broken = api_client.post("/api/v1/cdn/domains/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    after = scrape()
    delta = {
        (kind, outcome): value(after, "insights_ingest_rows_total", kind=kind, outcome=outcome)
        - value(before, "insights_ingest_rows_total", kind=kind, outcome=outcome)
        for kind in ("projects", "cdn_domains")
        for outcome in ("accepted", "refused")
    }
    assert delta == {
        ("projects", "accepted"): 3,
        ("projects", "refused"): 2,
        ("cdn_domains", "accepted"): 0,
        ("cdn_domains", "refused"): 1,
    }


def test_dirty_queue_gauges_are_the_database_counts():
    project = Project.objects.create(key="gauge", name="Gauge")
    poison(project)  # one insights mark; recomputing it fails
    rollups.recompute_dirty()
    mark_job_days([(project.pk, project.created_at.date())])
    domain = Domain.objects.create(name="gauge.example.com")
    DirtyOriginBucket.objects.create(domain_pk=domain.pk, start="2024-05-01T00:00:00Z")
    samples = scrape()
    assert value(samples, "insights_rollup_dirty_buckets", app="insights") == DirtyJobDay.objects.count() == 2
    assert value(samples, "insights_rollup_failing_buckets", app="insights") == 1
    assert value(samples, "insights_rollup_dirty_buckets", app="cdnorigin") == 1
    assert value(samples, "insights_rollup_oldest_dirty_age_seconds", app="insights") >= 0
    assert value(samples, "insights_rollup_bucket_failures_total", app="insights") >= 1
    assert value(samples, "insights_database_up") == 1


def test_throttle_refusals_are_counted(settings, monkeypatch):
    now = random.randrange(10**9, 2 * 10**9) + 0.25
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=lambda: now))
    settings.CDN_RATE_LIMIT_PER_SECOND = 2
    before = value(scrape(), "insights_cdn_throttled_total")
    for _ in range(2):
        throttle.limiter.consume(99)
    for _ in range(3):
        with pytest.raises(VolcError):
            throttle.limiter.consume(99)
    assert value(scrape(), "insights_cdn_throttled_total") == before + 3


def test_rollup_runs_are_timed_per_app():
    before = value(scrape(), "insights_rollup_recompute_duration_seconds_count", app="insights")
    recompute_dirty_job_days()
    assert value(scrape(), "insights_rollup_recompute_duration_seconds_count", app="insights") == before + 1


def test_other_networks_get_a_404_and_the_token_opens_the_page(settings):
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 404
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    settings.METRICS_TOKEN = "s3cret-scrape"
    assert Client().get("/metrics").status_code == 404, "with a token set, the network alone is not enough"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    scrape(HTTP_AUTHORIZATION="Bearer s3cret-scrape")
