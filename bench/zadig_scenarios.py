"""The Zadig scenarios: statistics over a year of a million jobs, rollback detail, and workflow-run ingest."""

import statistics
import time
from datetime import timedelta
from urllib.parse import urlencode

from bench.harness import Bench, Target, analyze, assert_same, baseline_median, local_midnight_today, timed


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
