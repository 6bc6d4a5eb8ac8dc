"""`make bench`: months of data, answers through the real HTTP stack, each checked against the obvious SQL.

Runs against PostgreSQL only (`DATABASE_URL`, a dedicated database whose name contains "bench": the
harness empties its tables). Data is loaded with COPY, rollups are built by the project's own
`rebuild`, and a gunicorn started here answers every request. Writes bench/results.json and prints a
markdown table (`--readme` also puts it in README.md's "Benchmarks" section).

ratio = baseline_ms / p50_ms for queries and ingest (how many times faster than the obvious SQL, or
than COPY of the same rows); for freshness and scaling it is p50(large) / p50(small), with
baseline_ms = p50(small).
"""

import argparse
import os
import platform
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/insights_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"


@dataclass(frozen=True)
class Sizes:
    label: str
    cdn_domains: int
    cdn_days: int
    scale_domains: int
    scale_days: tuple[int, int]
    projects: int
    jobs: int
    rollbacks: int
    sample_batch: int = 10_000
    run_batch: int = 1_000
    rollback_page: int = 100


FULL = Sizes("full", 50, 31, 10, (7, 92), 200, 1_000_000, 100_000)
SCALED = Sizes("scaled", 10, 7, 2, (7, 92), 50, 100_000, 10_000)
# A minute-long check that the harness itself works (not a benchmark).
SMOKE = Sizes("smoke", 3, 2, 1, (2, 10), 5, 2_000, 200, sample_batch=300, run_batch=50)


@dataclass
class Target:
    """What a scenario must reach; `text` describes it. Scaled-down runs judge ratios only, when a
    scenario has one (absolute figures depend on the data size), else the absolute target."""

    max_p50_ms: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None
    min_rate: float | None = None  # rows per second: the scenario's own rate if it gives one, else at the p50
    max_mb: float | None = None

    def describe(self, full: bool) -> str:
        parts = []
        ratio_only = not full and (self.min_ratio is not None or self.max_ratio is not None)
        if not ratio_only:
            if self.max_p50_ms is not None:
                parts.append(f"p50 <= {self.max_p50_ms:g} ms")
            if self.min_rate is not None:
                parts.append(f">= {self.min_rate:,.0f} rows/s")
            if self.max_mb is not None:
                parts.append(f"<= {self.max_mb:g} MB")
        if self.min_ratio is not None:
            parts.append(f"ratio >= {self.min_ratio:g}")
        if self.max_ratio is not None:
            parts.append(f"ratio <= {self.max_ratio:g}")
        return ", ".join(parts)

    def met(self, result: dict, full: bool) -> bool:
        ratio_only = not full and (self.min_ratio is not None or self.max_ratio is not None)
        checks = []
        if self.min_ratio is not None:
            checks.append(result["ratio"] >= self.min_ratio)
        if self.max_ratio is not None:
            checks.append(result["ratio"] <= self.max_ratio)
        if not ratio_only:
            if self.max_p50_ms is not None:
                checks.append(result["p50_ms"] <= self.max_p50_ms)
            if self.min_rate is not None:
                rate = result.get("rate") or result["rows"] / (result["p50_ms"] / 1000)
                checks.append(rate >= self.min_rate)
            if self.max_mb is not None:
                checks.append(result["p50_ms"] <= self.max_mb)
        return all(checks)


@dataclass
class Bench:
    sizes: Sizes
    repeat: int
    full: bool
    results: list[dict] = field(default_factory=list)

    def record(
        self,
        name: str,
        rows: int,
        samples_ms: list[float],
        baseline_ms: float | None,
        ratio,
        target: Target,
        detail="",
        rate: float | None = None,
    ):
        p50 = statistics.median(samples_ms)
        p95 = percentile(samples_ms, 95)
        if ratio is None and baseline_ms is not None:
            ratio = baseline_ms / p50
        result = {
            "name": name,
            "rows": rows,
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "baseline_ms": None if baseline_ms is None else round(baseline_ms, 2),
            "ratio": None if ratio is None else round(ratio, 3),
            "target": target.describe(self.full),
            "meets_target": False,
            "detail": detail,
        }
        result["meets_target"] = target.met({**result, "ratio": ratio, "p50_ms": p50, "rate": rate}, self.full)
        self.results.append(result)
        print(
            f"  {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, baseline {baseline_ms or 0:.1f} ms, "
            f"ratio {ratio if ratio is None else round(ratio, 2)} -> {'ok' if result['meets_target'] else 'MISS'}",
            detail,
            flush=True,
        )
        return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(call, repeat: int, warmup: int = 2) -> tuple[list[float], object]:
    answer = None
    for _ in range(warmup):
        answer = call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples, answer


def baseline_median(call, times: int = 3) -> tuple[object, float]:
    answer, seconds = None, []
    for _ in range(times):
        answer, took = call()
        seconds.append(took * 1000)
    return answer, statistics.median(seconds)


def assert_same(name: str, api, baseline) -> None:
    """The API's answer must equal the obvious SQL's (floats to 1e-9 relative)."""
    mismatch = _first_difference(api, baseline, "")
    if mismatch:
        raise AssertionError(f"{name}: the API's answer differs from the baseline at {mismatch}")


def _first_difference(a, b, where: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where} keys {sorted(a)} != {sorted(b)}"
        for key in a:
            if found := _first_difference(a[key], b[key], f"{where}.{key}"):
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where} length {len(a)} != {len(b)}"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := _first_difference(x, y, f"{where}[{n}]"):
                return found
        return None
    if isinstance(a, float) or isinstance(b, float):
        if abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1):
            return None
        return f"{where}: {a!r} != {b!r}"
    return None if a == b else f"{where}: {a!r} != {b!r}"


# --- setup -----------------------------------------------------------------------------------------


def prepare_database(url: str, allow_any: bool) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench needs PostgreSQL: DATABASE_URL=postgres://user@host:5432/insights_bench")
    if "bench" not in name and not allow_any:
        sys.exit(f"refusing to empty database {name!r}: use a dedicated one whose name contains 'bench'")
    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def analyze() -> None:
    """Statistics and visibility map after a bulk load, as autovacuum would soon leave them in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def local_midnight_today() -> datetime:
    from bench.baselines import local_midnight, zone

    return datetime.fromtimestamp(local_midnight(datetime.now(zone()).date()), UTC)


# --- Zadig -----------------------------------------------------------------------------------------


def zadig_phase(bench: Bench, server, token: str) -> None:
    from bench import baselines, data
    from insights import rollup_rebuild

    sizes = bench.sizes
    print(
        f"Zadig: {sizes.projects} projects, {sizes.jobs:,} jobs over 365 days, {sizes.rollbacks:,} rollbacks",
        flush=True,
    )
    catalogue = data.ensure_catalogue(sizes.projects)
    today = local_midnight_today()
    first = today - timedelta(days=365)
    loaded = 0
    began = time.perf_counter()
    chunk = 20_000
    for offset in range(0, sizes.jobs // 5, chunk):
        items = data.run_items(
            catalogue, min(chunk, sizes.jobs // 5 - offset), first, 365, seed=offset, prefix=f"load{offset:08d}-"
        )
        loaded += data.copy_runs(catalogue, items).rows
    loaded += data.copy_rollbacks(catalogue, sizes.rollbacks, first, 365, seed=7).rows
    print(f"  COPY {loaded:,} rows in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    summary = rollup_rebuild.rebuild()
    print(f"  insights.rollup_rebuild.rebuild: {time.perf_counter() - began:.1f} s {summary}", flush=True)
    analyze()

    first_day = (today - timedelta(days=365)).astimezone(baselines.zone()).date()
    last_day = (today - timedelta(days=1)).astimezone(baselines.zone()).date()
    window = {"startDate": baselines.local_midnight(first_day), "endDate": baselines.local_midnight(last_day) + 3600}
    for kind, target in (("build", Target(max_p50_ms=50, min_ratio=20)), ("test", Target(max_p50_ms=50, min_ratio=20))):
        path = f"/openapi/statistics/{kind}?{urlencode(window)}"
        samples, answer = timed(lambda path=path: server.get_json(path, token), bench.repeat)
        if kind == "build":
            expected, baseline_ms = baseline_median(
                lambda: baselines.zadig_success_failure("build", first_day, last_day)
            )
        else:
            expected, baseline_ms = baseline_median(lambda: baselines.zadig_test(first_day, last_day))
        assert_same(kind, answer, expected)
        bench.record(f"zadig {kind}, 365 days, all projects", sizes.jobs, samples, baseline_ms, None, target)

    key = catalogue.projects[len(catalogue.projects) // 2][1]
    start, end = int(first.timestamp()), int(today.timestamp())
    query = {"projectKey": key, "startTime": start, "endTime": end, "pageNum": 1, "pageSize": sizes.rollback_page}
    path = f"/openapi/statistics/v2/rollback/detail?{urlencode(query)}"
    samples, answer = timed(lambda: server.get_json(path, token), bench.repeat)
    expected, baseline_ms = baseline_median(lambda: baselines.zadig_rollback_page(key, start, end, sizes.rollback_page))
    assert_same("rollback detail", answer, expected)
    bench.record(
        f"zadig v2/rollback/detail page 1 of {sizes.rollback_page}, one project",
        sizes.rollbacks,
        samples,
        baseline_ms,
        None,
        Target(max_p50_ms=30),
    )


def run_ingest_phase(bench: Bench, server, token: str) -> None:
    from bench import data

    sizes = bench.sizes
    catalogue = data.ensure_catalogue(sizes.projects)
    # A live feed: runs of the last day (a back-fill spread over a year touches ~1,000 rollup buckets per batch).
    first = local_midnight_today() - timedelta(days=1)
    http_ms, copy_ms = [], []
    batches = bench.repeat + 2
    for n in range(batches):
        items = data.run_items(catalogue, sizes.run_batch, first, 1, seed=10_000 + n, prefix=f"http{n:04d}-")
        began = time.perf_counter()
        server.post_json("/api/v1/workflow-runs/", token, items)
        took = (time.perf_counter() - began) * 1000
        same = data.run_items(catalogue, sizes.run_batch, first, 1, seed=10_000 + n, prefix=f"copy{n:04d}-")
        copied = data.copy_runs(catalogue, same)
        if n >= 2:  # the first two warm up
            http_ms.append(took)
            copy_ms.append(copied.seconds * 1000)
    rate = sizes.run_batch / (statistics.median(http_ms) / 1000)
    bench.record(
        f"ingest workflow-runs over HTTP, batches of {sizes.run_batch:,} runs x 5 jobs (last day)",
        sizes.run_batch,
        http_ms,
        statistics.median(copy_ms),
        None,
        Target(min_rate=2_000),
        detail=f"{rate:,.0f} runs/s",
    )


# --- CDN ---------------------------------------------------------------------------------------------


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


# --- report ------------------------------------------------------------------------------------------


def markdown(results: list[dict], sizes: Sizes, elapsed: float) -> str:
    lines = [
        f"Run: `make bench{' FULL=1' if sizes.label == 'full' else ''}` ({sizes.label} sizes), "
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{elapsed / 60:.1f} min in all, 1-minute load average {os.getloadavg()[0]:.1f} at the end "
        "(other processes on the machine inflate every figure).",
        "",
        "| scenario | rows | p50 ms | p95 ms | baseline ms | ratio | target | met | notes |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        baseline = "" if r["baseline_ms"] is None else f"{r['baseline_ms']:,.1f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:,.2f}"
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['p50_ms']:,.1f} | {r['p95_ms']:,.1f} | {baseline} | {ratio} | "
            f"{r['target']} | {'yes' if r['meets_target'] else '**no**'} | {r['detail']} |"
        )
    return "\n".join(lines)


README_INTRO = """\
`make bench` (scaled down, under 10 minutes) or `make bench FULL=1` (full sizes) loads data with COPY into a
dedicated PostgreSQL database (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/insights_bench`; its
tables are emptied), builds the rollups with the project's own rebuild, starts gunicorn (2 workers) and times 20
requests per scenario through HTTP. Every answer is checked equal to the same answer computed by one SQL statement
over the raw tables (the baseline). ratio = baseline / p50 (for ingest the baseline is COPY of the same rows, so
0.2 means a fifth of COPY's speed); for freshness and scaling it is p50(large) / p50(small). The harness runs
without a broker, so rollup recomputes run inline, inside the measured requests, except in the sustained-ingest
scenario: there a second gunicorn and a real Celery worker share a Redis broker (`BENCH_BROKER_URL`, default
`redis://127.0.0.1:6379/13`, emptied first), as in production, and 20 batches posted back to back are timed until
the worker has recomputed every bucket they dirtied. Scaled-down runs judge the ratio targets only where a
scenario has one. `make bench BENCH_ARGS=--readme` puts its table here; every complete run writes
`bench/results.json`, committed from the full run below.
"""


def update_readme(table: str, sizes: Sizes) -> None:
    """Replace this run's sizes' table in README.md's Benchmarks section, keeping the other sizes' table."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, marker, rest = text.partition("## Benchmarks\n")
    if not marker:
        raise SystemExit("README.md has no '## Benchmarks' section")
    tail_at = rest.find("\n## ")
    section, tail = (rest[:tail_at], rest[tail_at:]) if tail_at >= 0 else (rest, "")
    tables = {}
    for part in section.split("\n### ")[1:]:
        title, _, body = part.partition("\n")
        tables[title.strip()] = body.strip()
    tables[f"{sizes.label.capitalize()} sizes"] = table
    order = sorted(tables, key=lambda title: (not title.startswith("Scaled"), title))
    body = "".join(f"\n### {title}\n\n{tables[title]}\n" for title in order)
    readme.write_text(head + marker + "\n" + README_INTRO + body + tail)


PHASES = {
    "zadig": lambda bench, server, token, ak, sk: zadig_phase(bench, server, token),
    "ingest": lambda bench, server, token, ak, sk: run_ingest_phase(bench, server, token),
    "cdn": lambda bench, server, token, ak, sk: cdn_phase(bench, server, token, ak, sk),
    "scaling": lambda bench, server, token, ak, sk: scaling_phase(bench, server, ak, sk),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full sizes (slow)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness works")
    parser.add_argument("--repeat", type=int, default=20, help="measured requests per scenario")
    parser.add_argument("--readme", action="store_true", help="put the table in README.md's Benchmarks section")
    parser.add_argument("--allow-any-database", action="store_true", help="empty a database not named *bench*")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, of {', '.join(PHASES)} (a partial run does not write results.json)",
    )
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    if not only or any(name not in PHASES for name in only):
        parser.error(f"--only takes phases of {', '.join(PHASES)}")
    began = time.monotonic()
    # A kill of the harness unwinds like Ctrl-C, so the server it started is stopped on the way out.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    prepare_database(url, args.allow_any_database)
    os.environ.pop("CELERY_BROKER_URL", None)  # rollup recomputes run inline, inside the measured requests
    os.environ.pop("CACHE_URL", None)
    os.environ["CDN_RATE_LIMIT_PER_SECOND"] = "1000000"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.server import Server
    from cdnorigin.access_keys import create_access_key
    from common.tokens import create_api_token

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE cdnorigin_domain, cdnorigin_dirtyoriginbucket, insights_project, insights_cluster, "
            "insights_dirtyjobday CASCADE"
        )
    token = create_api_token("bench")
    ak, sk = create_access_key("bench-cdn")
    bench = Bench(FULL if args.full else SMOKE if args.smoke else SCALED, args.repeat, args.full)
    print(f"Benchmark, {bench.sizes.label} sizes, database {urlparse(url).path.lstrip('/')}", flush=True)
    with Server(dict(os.environ)) as server:
        for name in only:
            phase = PHASES[name]
            phase(bench, server, token, ak, sk)
        peak = server.peak_rss_mb()
    bench.results.append(
        {
            "name": "memory: peak RSS of a gunicorn worker (VmHWM)",
            "rows": 0,
            "p50_ms": round(peak, 1),
            "p95_ms": round(peak, 1),
            "baseline_ms": None,
            "ratio": None,
            "target": Target(max_mb=300).describe(True),
            "meets_target": peak <= 300,
            "detail": f"{peak:.0f} MB (figures in MB, not ms)",
        }
    )
    table = markdown(bench.results, bench.sizes, time.monotonic() - began)
    print()
    print(table)
    if len(only) < len(PHASES):
        print("(a partial run: bench/results.json and README.md left as they were)")
        return
    (ROOT / "bench" / "results.json").write_bytes(orjson.dumps(bench.results, option=orjson.OPT_INDENT_2))
    if args.readme:
        update_readme(table, bench.sizes)


if __name__ == "__main__":
    main()
