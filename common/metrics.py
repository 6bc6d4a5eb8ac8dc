"""Prometheus metrics of the web and worker processes, and the `/metrics` page that exposes them.

Counters and histograms are prometheus-client's. Under gunicorn (several worker processes) and beside a
Celery worker on the same host, set PROMETHEUS_MULTIPROC_DIR to one directory writable by all of them
(emptied at start: `make serve` and the systemd units do it): every process writes its samples there and
`/metrics` adds them up. Without it, each process counts in memory and `/metrics` shows the web process's
own counts. The dirty-queue gauges are read from the database at scrape time, so they are right whatever
process answers.

`/metrics` answers only a request with `Authorization: Bearer <METRICS_TOKEN>` when that setting is set,
or else one from METRICS_ALLOWED_NETWORKS (default: loopback only); anything else is a 404, so the page is
not advertised.
"""

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from common import registry

REQUESTS = Counter(
    "insights_http_requests_total",
    "HTTP requests answered, by URL route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "insights_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_ROWS = Counter(
    "insights_ingest_rows_total",
    "Items posted to the ingest API, by kind and outcome (accepted: stored; refused: the batch was refused).",
    ["kind", "outcome"],
)
ROLLUP_SECONDS = Histogram(
    "insights_rollup_recompute_duration_seconds",
    "Time of one dirty-queue recompute run (a task), by app.",
    ["app"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
ROLLUP_BUCKETS = Counter("insights_rollup_buckets_total", "Dirty buckets taken by recompute runs, by app.", ["app"])
ROLLUP_FAILURES = Counter(
    "insights_rollup_bucket_failures_total", "Bucket recomputes that failed and were set aside for a retry.", ["app"]
)
WEBHOOK_DELIVERIES = Counter(
    "insights_webhook_deliveries_total",
    "Webhook deliveries answered, by source name (unknown: no enabled source of that name) and outcome "
    "(accepted, duplicate, ignored, unauthorized, malformed, too_large, not_found).",
    ["source", "outcome"],
)
DELIVERIES_APPLIED = Counter(
    "insights_deliveries_applied_total",
    "Stored deliveries applied to runs, by source kind and outcome (applied, failed).",
    ["kind", "outcome"],
)
SOURCE_SYNCS = Counter(
    "insights_source_sync_tasks_total",
    "Task details a pulled source (Zadig) fetched, by source and outcome (stored: new or changed; unchanged), "
    "and workflows whose sync stopped on an error (outcome error).",
    ["source", "outcome"],
)
THROTTLED = Counter(
    "insights_cdn_throttled_total", "DescribeCdnOriginData requests refused with 429 FlowLimitExceeded."
)


def route_of(request) -> str:
    """The URL pattern that answered (bounded label values), or `unmatched` for a 404 outside any route."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "unmatched"


class MetricsMiddleware:
    """Counts every request and times it; first in the chain, so its time is the whole answer's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route, method = route_of(request), request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        return response


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def rollup_run(app: str, buckets: int, seconds: float) -> None:
    """One dirty-queue recompute run of `app` took `seconds` and took `buckets` marks."""
    ROLLUP_SECONDS.labels(app).observe(seconds)
    ROLLUP_BUCKETS.labels(app).inc(buckets)


def webhook_delivery(source: str, outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(source, outcome).inc()


def delivery_applied(kind: str, outcome: str) -> None:
    DELIVERIES_APPLIED.labels(kind, outcome).inc()


def source_synced(source: str, stored: int, unchanged: int, failed: bool) -> None:
    SOURCE_SYNCS.labels(source, "stored").inc(stored)
    SOURCE_SYNCS.labels(source, "unchanged").inc(unchanged)
    if failed:
        SOURCE_SYNCS.labels(source, "error").inc()


def ingest_rows(kind: str, outcome: str, count: int) -> None:
    if count:
        INGEST_ROWS.labels(kind, outcome).inc(count)


class DirtyQueueCollector:
    """Each app's dirty buckets, failing buckets and the oldest mark's age, read when scraped; a database
    that cannot be read shows as `insights_database_up 0` rather than an error page."""

    def collect(self):
        dirty = GaugeMetricFamily("insights_rollup_dirty_buckets", "Buckets waiting for a recompute.", labels=["app"])
        failing = GaugeMetricFamily(
            "insights_rollup_failing_buckets", "Buckets whose recompute failed, waiting for a retry.", labels=["app"]
        )
        oldest = GaugeMetricFamily(
            "insights_rollup_oldest_dirty_age_seconds", "Age of the oldest dirty mark (0: none).", labels=["app"]
        )
        up = GaugeMetricFamily("insights_database_up", "Whether the scrape could read the database (1) or not (0).")
        now = timezone.now()
        try:
            for queue in registry.rollup_queues():
                state = queue.state(now)
                dirty.add_metric([queue.label], state.dirty)
                failing.add_metric([queue.label], state.failing)
                oldest.add_metric([queue.label], state.oldest_age_seconds)
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (dirty, failing, oldest, up)


def exposition() -> bytes:
    """The text format of every metric (all processes' samples in multiprocess mode) and the gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        source = CollectorRegistry()
        MultiProcessCollector(source)
    else:
        source = REGISTRY
    return generate_latest(_Together(source, DirtyQueueCollector()))


class _Together:
    """Several collectors read as one, without registering the gauges in a process-wide registry."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    if request.method != "GET" or not allowed(request):
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
