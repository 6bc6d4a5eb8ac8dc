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
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages

from bench.cdn_scenarios import cdn_phase, scaling_phase
from bench.dora_scenarios import dora_phase
from bench.harness import (
    DEFAULT_DATABASE_URL,
    FULL,
    ROOT,
    SCALED,
    SMOKE,
    Bench,
    Target,
    prepare_database,
)
from bench.report import markdown, update_readme
from bench.zadig_scenarios import run_ingest_phase, zadig_phase

# The scenario families, in the order a run takes them.
PHASES = {
    "zadig": lambda bench, server, token, ak, sk: zadig_phase(bench, server, token),
    "dora": lambda bench, server, token, ak, sk: dora_phase(bench, server, token),  # on the zadig phase's runs
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
