"""What every benchmark scenario uses: the sizes, the targets, the run's results, timing and the
equality check against the baseline SQL, and the database set-up."""

import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


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
