"""The results as a markdown table, and that table in README.md's Benchmarks section."""

import os
import platform
from datetime import UTC, datetime

from bench.harness import ROOT, Sizes


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
