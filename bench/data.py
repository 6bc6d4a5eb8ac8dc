"""Synthetic benchmark data, written with PostgreSQL COPY (psycopg 3) straight into the app's tables.

Values come from a seeded `random.Random`, drawn from small pools of pre-made rows so that generating
millions of rows costs little next to the COPY itself. Catalogue rows (domains, projects,
environments, services, workflows) are few and go through the ORM.
"""

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from cdnorigin.models import CLASS_FIELDS, Domain, OriginSample, status_class_sums
from insights.ingest import JOB_COLUMNS
from insights.models import Environment, Job, Project, Rollback, Service, ServiceSnapshot, Workflow, WorkflowRun

POOL = 4096
STATUS_CODES = (200, 206, 304, 404, 502)
FINAL_WEIGHTS = (("passed", 80), ("failed", 12), ("timeout", 4), ("cancelled", 3), ("running", 1))
JOB_PLAN = (
    ("build", "build"),
    ("test", "test"),
    ("deploy", "deploy-dev"),
    ("deploy", "deploy-prod"),
    ("other", "notify"),
)


@dataclass
class CopyStats:
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _sequence_to_max(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        )


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return cursor.fetchone()[0]


def _copy(table: str, columns: tuple[str, ...], rows) -> int:
    """COPY `rows` (an iterable of tuples) into `table`; returns the number written."""
    count = 0
    raw = connection.connection  # the psycopg 3 connection under Django's wrapper
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- CDN -----------------------------------------------------------------------------------------


def ensure_domains(names: list[str]) -> list[int]:
    Domain.objects.bulk_create([Domain(name=name) for name in names], ignore_conflicts=True)
    ids = dict(Domain.objects.filter(name__in=names).values_list("name", "id"))
    return [ids[name] for name in names]


def sample_pool(seed: int) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
    """(flux, pv, ((code, count), ...)) rows with 3 to 5 status codes each; pv = sum of the counts."""
    rng = random.Random(seed)
    pool = []
    for _ in range(POOL):
        codes = (200, 304, 404) + tuple(rng.sample((206, 502), rng.randint(0, 2)))
        counts = tuple((code, rng.randint(1, 4000) if code == 200 else rng.randint(0, 300)) for code in sorted(codes))
        pv = sum(count for _, count in counts)
        pool.append((pv * rng.randint(2_000, 60_000), pv, counts))
    return pool


SAMPLE_COLUMNS = ("id", "domain_id", "minute", "flux", "pv", "status", *CLASS_FIELDS)


def _status_values(counts) -> tuple:
    """The stored status object (JSON text) and its 1xx..5xx sums, from ((code, count), ...)."""
    status = {str(code): count for code, count in sorted(counts, key=lambda pair: int(pair[0]))}
    return (json.dumps(status), *status_class_sums(status))


def copy_origin_samples(domain_ids: list[int], first: datetime, minutes: int, seed: int) -> CopyStats:
    """Minute samples (their status counts inside) for every domain and minute in [first, first + minutes)."""
    pool = sample_pool(seed)
    packed = [_status_values(counts) for _, _, counts in pool]
    samples_table = OriginSample._meta.db_table
    start_id = _next_id(samples_table)
    began = time.perf_counter()

    def samples():
        sample_id = start_id
        for position, domain_id in enumerate(domain_ids):
            for offset in range(minutes):
                slot = (offset * 7 + position * 131) % POOL
                flux, pv, _ = pool[slot]
                yield (sample_id, domain_id, first + timedelta(minutes=offset), flux, pv, *packed[slot])
                sample_id += 1

    written = _copy(samples_table, SAMPLE_COLUMNS, samples())
    _sequence_to_max(samples_table)
    return CopyStats(written, time.perf_counter() - began)


def sample_items(names: list[str], first: datetime, minutes: int, seed: int) -> list[dict]:
    """The API's JSON items for every domain and minute in [first, first + minutes)."""
    pool = sample_pool(seed)
    base = int(first.timestamp())
    items = []
    for position, name in enumerate(names):
        for offset in range(minutes):
            flux, pv, counts = pool[(offset * 7 + position * 131) % POOL]
            status = {str(code): count for code, count in counts}
            items.append({"domain": name, "timestamp": base + 60 * offset, "flux": flux, "pv": pv, "status": status})
    return items


def copy_sample_items(domain_ids: dict[str, int], items: list[dict]) -> CopyStats:
    """The same items written with COPY (the ingest baseline)."""
    samples_table = OriginSample._meta.db_table
    start_id = _next_id(samples_table)
    # Rows are built before the clock starts: the baseline is the database's speed, not Python's.
    rows = [
        (
            start_id + n,
            domain_ids[item["domain"]],
            datetime.fromtimestamp(item["timestamp"], UTC),
            item["flux"],
            item["pv"],
            *_status_values(item["status"].items()),
        )
        for n, item in enumerate(items)
    ]
    began = time.perf_counter()
    written = _copy(samples_table, SAMPLE_COLUMNS, rows)
    _sequence_to_max(samples_table)
    return CopyStats(written, time.perf_counter() - began)


def truncate_cdn() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cdnorigin_originsample, cdnorigin_originrollup, cdnorigin_dirtyoriginbucket")


# --- Zadig ---------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    projects: list[tuple[int, str]]  # (id, key)
    workflows: dict[int, list[int]]  # project id -> workflow ids
    environments: dict[int, tuple[int, int]]  # project id -> (dev env id, prod env id)
    services: dict[int, list[tuple[int, str]]]  # project id -> [(service id, name)]


def ensure_catalogue(project_count: int) -> Catalogue:
    keys = [f"proj-{n:03d}" for n in range(project_count)]
    Project.objects.bulk_create([Project(key=key, name=f"Project {key}") for key in keys], ignore_conflicts=True)
    projects = list(Project.objects.filter(key__in=keys).order_by("id").values_list("id", "key"))
    pids = [pid for pid, _ in projects]
    Workflow.objects.bulk_create(
        [Workflow(project_id=pid, name=name) for pid in pids for name in ("ci", "release")], ignore_conflicts=True
    )
    Environment.objects.bulk_create(
        [Environment(project_id=pid, name=name, production=name == "prod") for pid in pids for name in ("dev", "prod")],
        ignore_conflicts=True,
    )
    Service.objects.bulk_create(
        [Service(project_id=pid, name=f"svc-{n}", service_type="k8s") for pid in pids for n in range(3)],
        ignore_conflicts=True,
    )
    workflows: dict[int, list[int]] = {}
    for wid, pid in Workflow.objects.filter(project_id__in=pids).order_by("id").values_list("id", "project_id"):
        workflows.setdefault(pid, []).append(wid)
    envs: dict[int, dict[str, int]] = {}
    for eid, pid, name in Environment.objects.filter(project_id__in=pids).values_list("id", "project_id", "name"):
        envs.setdefault(pid, {})[name] = eid
    services: dict[int, list[tuple[int, str]]] = {}
    for sid, pid, name in (
        Service.objects.filter(project_id__in=pids).order_by("id").values_list("id", "project_id", "name")
    ):
        services.setdefault(pid, []).append((sid, name))
    return Catalogue(projects, workflows, {pid: (e["dev"], e["prod"]) for pid, e in envs.items()}, services)


def _status(rng: random.Random) -> str:
    return rng.choices([s for s, _ in FINAL_WEIGHTS], weights=[w for _, w in FINAL_WEIGHTS])[0]


def run_items(catalogue: Catalogue, count: int, first: datetime, days: int, seed: int, prefix: str) -> list[dict]:
    """Workflow runs as the API takes them, five jobs each (build, test, deploy dev, deploy prod, other)."""
    rng = random.Random(seed)
    items = []
    span = days * 86400
    for n in range(count):
        pid, key = catalogue.projects[n % len(catalogue.projects)]
        created = first + timedelta(seconds=rng.randrange(span))
        jobs = []
        clock = created
        for position, (job_type, name) in enumerate(JOB_PLAN):
            status = _status(rng)
            started = clock + timedelta(seconds=rng.randint(1, 30))
            finished = started + timedelta(seconds=rng.randint(20, 1800))
            clock = finished
            job = {"name": name, "type": job_type, "status": status, "started_at": started.isoformat()}
            if status != "running":
                job["finished_at"] = finished.isoformat()
            if job_type == "deploy":
                job["environment"] = "prod" if position == 3 else "dev"
                job["service"] = catalogue.services[pid][n % 3][1]
            if job_type == "test":
                job["test_module"] = f"module-{n % 4}"
                job["case_count"] = rng.randint(10, 500)
            jobs.append(job)
        items.append(
            {
                "id": f"{prefix}{n:08d}",
                "project": key,
                "workflow": "ci" if n % 2 else "release",
                "status": jobs[-1]["status"],
                "created_at": created.isoformat(),
                "branch": "hotfix/urgent" if n % 20 == 7 else "main",
                "jobs": jobs,
            }
        )
    return items


def copy_runs(catalogue: Catalogue, items: list[dict]) -> CopyStats:
    """Runs and their jobs written with COPY (the data load, and the workflow-run ingest baseline)."""
    by_key = {key: pid for pid, key in catalogue.projects}
    now = datetime.now(UTC)

    def runs():
        for item in items:
            pid = by_key[item["project"]]
            workflow = catalogue.workflows[pid][0 if item["workflow"] == "ci" else 1]
            created = datetime.fromisoformat(item["created_at"])
            yield (item["id"], pid, workflow, item["status"], created, item.get("branch", ""), now)

    def jobs():
        for item in items:
            pid = by_key[item["project"]]
            dev, prod = catalogue.environments[pid]
            services = {name: sid for sid, name in catalogue.services[pid]}
            for position, job in enumerate(item["jobs"]):
                finished = job.get("finished_at")
                env = job.get("environment")
                yield (
                    item["id"],
                    pid,
                    position,
                    job["name"],
                    job["type"],
                    job["status"],
                    datetime.fromisoformat(job["started_at"]),
                    datetime.fromisoformat(finished) if finished else None,
                    None if env is None else (prod if env == "prod" else dev),
                    services.get(job.get("service")),
                    job.get("test_module", ""),
                    job.get("case_count"),
                )

    run_rows, job_rows = list(runs()), list(jobs())  # built before the clock starts, as above
    began = time.perf_counter()
    written = _copy(
        WorkflowRun._meta.db_table,
        ("id", "project_id", "workflow_id", "status", "created_at", "branch", "received_at"),
        run_rows,
    )
    written += _copy(Job._meta.db_table, JOB_COLUMNS, job_rows)  # the columns the ingest COPYs, in its order
    return CopyStats(written, time.perf_counter() - began)


def copy_rollbacks(catalogue: Catalogue, count: int, first: datetime, days: int, seed: int) -> CopyStats:
    """Rollback records with both service snapshots."""
    rng = random.Random(seed)
    span = days * 86400
    start_id = _next_id(Rollback._meta.db_table)
    began = time.perf_counter()
    picks = [
        (
            catalogue.projects[n % len(catalogue.projects)][0],
            first + timedelta(seconds=rng.randrange(span)),
            rng.random(),
        )
        for n in range(count)
    ]

    def rollbacks():
        for n, (pid, created, luck) in enumerate(picks):
            production = luck < 0.3
            service = catalogue.services[pid][n % 3][1]
            yield (
                start_id + n,
                pid,
                "prod" if production else "dev",
                "k8s",
                production,
                "rollback",
                service,
                "k8s",
                f"uid-{n % 17}",
                f"user{n % 17}",
                f"User {n % 17}",
                "user",
                created,
            )

    def snapshots():
        for n, (pid, created, _) in enumerate(picks):
            service = catalogue.services[pid][n % 3][1]
            for role, tag in (("origin", n), ("update", n + 1)):
                containers = [
                    {"name": service, "type": "", "image": f"registry/{service}:{tag}", "image_name": service}
                ]
                yield (
                    start_id + n,
                    role,
                    service,
                    f"{service}-release",
                    json.dumps(containers),
                    f"kind: Deployment\nmetadata:\n  name: {service}\n",
                    "",
                    "",
                    created - timedelta(minutes=1 if role == "origin" else 0),
                )

    written = _copy(
        Rollback._meta.db_table,
        (
            "id",
            "project_id",
            "env_name",
            "env_type",
            "production",
            "operation_type",
            "service_name",
            "service_type",
            "create_by_uid",
            "create_by_account",
            "create_by_name",
            "create_by_identity_type",
            "create_time",
        ),
        rollbacks(),
    )
    written += _copy(
        ServiceSnapshot._meta.db_table,
        (
            "rollback_id",
            "role",
            "service_name",
            "release_name",
            "containers",
            "rendered_yaml",
            "values_yaml",
            "override_values",
            "update_time",
        ),
        snapshots(),
    )
    _sequence_to_max(Rollback._meta.db_table)
    return CopyStats(written, time.perf_counter() - began)


def truncate_zadig() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE insights_servicesnapshot, insights_rollback, insights_job, insights_workflowrun, "
            "insights_dailyjobstat, insights_dirtyjobday, insights_testmodule"
        )
