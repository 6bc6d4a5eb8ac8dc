"""The CDN scenarios: origin-data queries, freshness, sample ingest (inline and on a Celery worker) and
scaling with the days stored."""

import os
import statistics
import sys
import time
from datetime import datetime, timedelta

from bench.harness import (
    DEFAULT_BROKER_URL,
    Bench,
    Target,
    analyze,
    assert_same,
    baseline_median,
    local_midnight_today,
    timed,
)


def cdn_phase(bench: Bench, server, token: str, ak: str, sk: str) -> None:
    from bench import baselines, data
    from cdnorigin import rollups

    sizes = bench.sizes
    days = sizes.cdn_days
    names = [f"d{n:02d}.bench.example.com" for n in range(sizes.cdn_domains)]
    ids = data.ensure_domains(names)
    domains = list(zip(ids, names, strict=True))
    today = local_midnight_today()
    print(f"CDN: {len(names)} domains x {days} days of minute samples", flush=True)

    def load(first: datetime, minutes: int, seed: int) -> None:
        began = time.perf_counter()
        copied = data.copy_origin_samples(ids, first, minutes, seed)
        print(f"  COPY {copied.rows:,} rows ({copied.rate:,.0f}/s)", end="", flush=True)
        began = time.perf_counter()
        summary = rollups.rebuild()
        print(f"; cdnorigin.rollups.rebuild {time.perf_counter() - began:.1f} s {summary}", flush=True)
        analyze()

    def freshness(first_minute: datetime) -> list[float]:
        """POST the newest minute of every domain; the recompute of its buckets runs on commit."""
        samples = []
        for n in range(bench.repeat + 2):
            items = data.sample_items(names, first_minute + timedelta(minutes=n), 1, seed=n)
            began = time.perf_counter()
            server.post_json("/api/v1/cdn/origin-samples/", token, items)
            samples.append((time.perf_counter() - began) * 1000)
        return samples[2:]

    load(today - timedelta(days=1), 1440, seed=1)
    fresh_small = freshness(today)
    load(today - timedelta(days=days), (days - 1) * 1440, seed=2)
    fresh_large = freshness(today + timedelta(hours=2))
    small_p50 = statistics.median(fresh_small)
    bench.record(
        f"freshness: newest minute of {len(names)} domains, 1 vs {days} days stored",
        len(names),
        fresh_large,
        small_p50,
        statistics.median(fresh_large) / small_p50,
        Target(max_p50_ms=500, max_ratio=1.5),
        detail=f"1 day: p50 {small_p50:.1f} ms",
    )

    def query(name: str, params: dict, expected_call, rows: int, target: Target) -> None:
        samples, answer = timed(lambda: server.describe_cdn_origin_data(ak, sk, params), bench.repeat)
        expected, baseline_ms = baseline_median(expected_call)
        assert_same(name, answer, expected)
        bench.record(name, rows, samples, baseline_ms, None, target)

    end = int(today.timestamp()) - 1
    start = int((today - timedelta(days=days)).timestamp())
    all_names = ",".join(names)
    samples_stored = len(names) * days * 1440
    query(
        f"cdn bandwidth, hour, {days} days, {len(names)} domains + total",
        {"StartTime": start, "EndTime": end, "Metric": "bandwidth", "Interval": "hour", "Domain": all_names},
        lambda: baselines.cdn_peak_rate(domains, start, end, "hour", "bandwidth"),
        samples_stored,
        Target(max_p50_ms=150, min_ratio=20),
    )
    day_start = int((today - timedelta(days=1)).timestamp())
    query(
        f"cdn status_all, 1min, 1 day, {len(names)} domains + total",
        {"StartTime": day_start, "EndTime": end, "Metric": "status_all", "Interval": "1min", "Domain": all_names},
        lambda: baselines.cdn_status_all(domains, day_start, end, "1min"),
        len(names) * 1440,
        Target(max_p50_ms=200),
    )
    query(
        f"cdn flux, day, {days} days, Domain absent (total)",
        {"StartTime": start, "EndTime": end, "Metric": "flux", "Interval": "day"},
        lambda: baselines.cdn_total_sum(start, end, "day", "flux"),
        samples_stored,
        Target(max_p50_ms=50),
    )

    # Ingest: batches of 10,000 samples over HTTP, and COPY of the same rows at other minutes.
    per_batch = sizes.sample_batch // len(names)
    http_ms, copy_ms = [], []
    by_name = dict(zip(names, ids, strict=True))
    for n in range(bench.repeat + 2):
        first = today + timedelta(days=1, minutes=n * per_batch)
        items = data.sample_items(names, first, per_batch, seed=100 + n)
        began = time.perf_counter()
        server.post_json("/api/v1/cdn/origin-samples/", token, items)
        took = (time.perf_counter() - began) * 1000
        moved = [dict(item, timestamp=item["timestamp"] + 20 * 86400) for item in items]
        copied = data.copy_sample_items(by_name, moved)
        if n >= 2:
            http_ms.append(took)
            copy_ms.append(copied.seconds * 1000)
    rate = len(items) / (statistics.median(http_ms) / 1000)
    bench.record(
        f"ingest origin-samples over HTTP, batches of {len(items):,}, one request (rollups inline)",
        len(items),
        http_ms,
        statistics.median(copy_ms),
        None,
        Target(min_ratio=0.2),
        detail=f"{rate:,.0f} samples/s; COPY {len(items) / statistics.median(copy_ms) * 1000:,.0f} samples/s",
    )
    sustained_ingest(bench, token, names, by_name, today + timedelta(days=40), per_batch)


def sustained_ingest(bench: Bench, token: str, names: list[str], by_name: dict, first: datetime, per_batch: int):
    """Batches posted back to back to a server whose rollups are recomputed by a Celery worker, as in
    production, timed until the worker has caught up (no dirty bucket left): samples/s sustained.

    The broker is BENCH_BROKER_URL (default Redis database 13 on 127.0.0.1; it is emptied first), the
    queue one of the harness's own.
    """
    import redis

    from bench import data
    from bench.server import Server, Worker
    from cdnorigin.models import DirtyOriginBucket

    broker = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER_URL)
    try:
        redis.Redis.from_url(broker).flushdb()
    except redis.RedisError as exc:
        sys.exit(f"the sustained-ingest scenario needs Redis at {broker} (BENCH_BROKER_URL): {exc}")
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_TASK_DEFAULT_QUEUE": f"insights-bench-{os.getpid()}"}

    def drained(deadline_s: float = 300) -> None:
        deadline = time.monotonic() + deadline_s
        while DirtyOriginBucket.objects.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not catch up within 300 s; see bench/worker.log")
            time.sleep(0.005)

    batches = [
        data.sample_items(names, first + timedelta(minutes=n * per_batch), per_batch, seed=300 + n)
        for n in range(bench.repeat + 2)
    ]
    with Worker(env), Server(env, log="server-sustained.log") as server:
        for items in batches[:2]:  # warm-up: both processes connected and their code paths loaded
            server.post_json("/api/v1/cdn/origin-samples/", token, items)
        drained()
        request_ms = []
        began = time.perf_counter()
        for items in batches[2:]:
            sent = time.perf_counter()
            server.post_json("/api/v1/cdn/origin-samples/", token, items)
            request_ms.append((time.perf_counter() - sent) * 1000)
        drained()
        total_s = time.perf_counter() - began
    copy_ms = []
    for items in batches[2:]:
        moved = [dict(item, timestamp=item["timestamp"] + 20 * 86400) for item in items]
        copy_ms.append(data.copy_sample_items(by_name, moved).seconds * 1000)
    samples = sum(len(items) for items in batches[2:])
    rate = samples / total_s
    copy_rate = len(batches[2]) / (statistics.median(copy_ms) / 1000)
    bench.record(
        f"ingest origin-samples over HTTP, {len(batches) - 2} batches of {len(batches[2]):,} back to back, "
        "rollups on a Celery worker (sustained)",
        len(batches[2]),
        request_ms,
        statistics.median(copy_ms),
        rate / copy_rate,
        Target(min_rate=50_000, min_ratio=0.2),
        detail=f"{rate:,.0f} samples/s until the rollups caught up ({total_s:.2f} s); COPY {copy_rate:,.0f} samples/s",
        rate=rate,
    )


def scaling_phase(bench: Bench, server, ak: str, sk: str) -> None:
    """The same small answers with 7 and with 92 days of history stored."""
    from bench import baselines, data
    from cdnorigin import rollups

    sizes = bench.sizes
    data.truncate_cdn()
    names = [f"s{n:02d}.bench.example.com" for n in range(sizes.scale_domains)]
    ids = data.ensure_domains(names)
    domains = list(zip(ids, names, strict=True))
    today = local_midnight_today()
    small, large = sizes.scale_days
    end = int(today.timestamp()) - 1
    cases = {
        "hour": (int((today - timedelta(days=1)).timestamp()), "hour"),
        "day": (int((today - timedelta(days=7)).timestamp()), "day"),
    }
    print(f"Scaling: {len(names)} domains, {small} then {large} days stored", flush=True)

    def measure() -> dict[str, list[float]]:
        measured = {}
        for label, (start, interval) in cases.items():
            params = {
                "StartTime": start,
                "EndTime": end,
                "Metric": "bandwidth",
                "Interval": interval,
                "Domain": ",".join(names),
            }
            samples, answer = timed(lambda params=params: server.describe_cdn_origin_data(ak, sk, params), bench.repeat)
            expected, _ = baselines.cdn_peak_rate(domains, start, end, interval, "bandwidth")
            assert_same(f"scaling {label}", answer, expected)
            measured[label] = samples
        return measured

    data.copy_origin_samples(ids, today - timedelta(days=small), small * 1440, seed=3)
    rollups.rebuild()
    analyze()
    before = measure()
    began = time.perf_counter()
    data.copy_origin_samples(ids, today - timedelta(days=large), (large - small) * 1440, seed=4)
    rollups.rebuild()
    analyze()
    print(f"  loaded and rebuilt {large - small} more days in {time.perf_counter() - began:.1f} s", flush=True)
    after = measure()
    for label, (_, interval) in cases.items():
        base = statistics.median(before[label])
        span = "1 day" if interval == "hour" else "7 days"
        bench.record(
            f"scaling: bandwidth, {interval}, {span}, {len(names)} domains, {small} vs {large} days stored",
            len(names) * large * 1440,
            after[label],
            base,
            statistics.median(after[label]) / base,
            Target(max_ratio=1.5),
            detail=f"{small} days: p50 {base:.1f} ms",
        )
