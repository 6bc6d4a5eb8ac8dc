"""Workflow-run ingest: a batch of runs, each replacing any run stored under its id, all or nothing.

Items arrive shape-checked (see `insights.api.run_items`); what needs the database is checked here, for
the whole batch in a handful of queries, before anything is written. Writes are bulk statements
(they fire no model signals) followed by explicit dirty-marking of every touched rollup bucket:
the buckets of the replaced jobs and of the new ones.
"""

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from insights.models import Commit, Environment, Job, Project, Service, Workflow, WorkflowRun
from insights.rollups import JOB_STATE, job_rows_changed
from insights.signals import muted

BATCH_SIZE = 1000
logger = logging.getLogger(__name__)
JOB_REFERENCES = (("environment", Environment), ("service", Service))


def _check(items: list[dict]) -> tuple[dict[str, Project], dict[tuple[str, int, str], int]]:
    """Database-dependent checks; returns projects by key and the ids of the referenced environments
    and services by (field, project id, name), or raises a ValidationError with one entry per item
    (`{}` for a good one)."""
    errors: list[dict] = [{} for _ in items]
    counts = Counter(item["id"] for item in items)
    for index, item in enumerate(items):
        if counts[item["id"]] > 1:
            errors[index]["id"] = [f"The id {item['id']!r} appears {counts[item['id']]} times in this batch."]

    projects = {p.key: p for p in Project.objects.filter(key__in={item["project"] for item in items})}
    wanted = defaultdict(set)
    for item in items:
        project = projects.get(item["project"])
        if project is None:
            continue
        for job in item["jobs"]:
            for field, _ in JOB_REFERENCES:
                if job.get(field):
                    wanted[field].add((project.pk, job[field]))
    known: dict[tuple[str, int, str], int] = {}
    for field, model in JOB_REFERENCES:
        if not wanted[field]:
            continue
        rows = model.objects.filter(
            project_id__in={pid for pid, _ in wanted[field]}, name__in={name for _, name in wanted[field]}
        )
        # Plain values, not model instances: a batch names a few hundred of them.
        ids = rows.order_by("id").values_list("id", "project_id", "name")
        known.update(((field, pid, name), pk) for pk, pid, name in ids)

    for index, item in enumerate(items):
        project = projects.get(item["project"])
        if project is None:
            errors[index]["project"] = [f"There is no project with key {item['project']!r}."]
            continue
        job_errors = [{} for _ in item["jobs"]]
        for job, job_error in zip(item["jobs"], job_errors, strict=True):
            for field, _ in JOB_REFERENCES:
                if job.get(field) and (field, project.pk, job[field]) not in known:
                    job_error[field] = [f"Project {project.key!r} has no {field} named {job[field]!r}."]
        if any(job_errors):
            errors[index]["jobs"] = job_errors
    if any(errors):
        raise ValidationError(errors)
    return projects, known


def _workflows(items: list[dict], projects: dict[str, Project]) -> dict[tuple[int, str], Workflow]:
    """The named workflows per (project id, name), creating the unknown ones."""
    wanted = {(projects[item["project"]].pk, item["workflow"]) for item in items}

    def existing():
        rows = Workflow.objects.filter(project_id__in={pid for pid, _ in wanted}, name__in={name for _, name in wanted})
        return {(row.project_id, row.name): row for row in rows.order_by("id") if (row.project_id, row.name) in wanted}

    found = existing()
    missing = sorted(wanted - set(found))
    if missing:
        # ignore_conflicts: a concurrent batch may create the same workflow; both then read it back.
        Workflow.objects.bulk_create(
            [Workflow(project_id=pid, name=name) for pid, name in missing], ignore_conflicts=True, batch_size=BATCH_SIZE
        )
        found = existing()
    return found


class StoredRun(NamedTuple):
    """What the caller echoes besides the posted values: whether the run is new, and its
    received_at as stored."""

    created: bool
    received_at: datetime


# Job columns in the order of the rows built here (COPY and the portable path read them by name).
JOB_COLUMNS = (
    "run_id",
    "project_id",
    "position",
    "name",
    "type",
    "status",
    "started_at",
    "finished_at",
    "environment_id",
    "service_id",
    "test_module",
    "case_count",
)
_job_state = itemgetter(*(JOB_COLUMNS.index(field) for field in JOB_STATE))


def ingest_workflow_runs(items: list[dict]) -> list[StoredRun]:
    """Store runs (API.md section 3), replacing stored runs with the same id and all their jobs.

    `items` are validated runs (`insights.api.run_items`); the answer has one entry per run, in
    input order. The rows are plain tuples: on PostgreSQL one upsert of the runs, one DELETE ...
    RETURNING of the replaced jobs and a COPY of the new ones; elsewhere the ORM's bulk statements.
    """
    if not items:
        return []
    started = time.monotonic()
    projects, known = _check(items)
    with transaction.atomic(), muted():
        workflows = _workflows(items, projects)
        runs, jobs = [], []
        for item in items:
            pid = projects[item["project"]].pk
            workflow = workflows[(pid, item["workflow"])].pk
            runs.append((item["id"], pid, workflow, item["status"], item["created_at"], item.get("branch", "")))
            for position, job in enumerate(item["jobs"]):
                jobs.append(
                    (
                        item["id"],
                        pid,
                        position,
                        job["name"],
                        job["type"],
                        job["status"],
                        job.get("started_at"),
                        job.get("finished_at"),
                        known.get(("environment", pid, job.get("environment"))),
                        known.get(("service", pid, job.get("service"))),
                        job.get("test_module") or "",
                        job.get("case_count"),
                    )
                )
        write = _write_postgresql if connection.vendor == "postgresql" else _write_portable
        stored, old_states = write(runs, jobs)
        job_rows_changed(chain(old_states, map(_job_state, jobs)))
        commits = [
            (item["id"], c["repo"], c["sha"], c["committed_at"], c["author"], c["message"])
            for item in items
            for c in item.get("commits", ())
        ]
        _replace_commits([run[0] for run in runs], commits)
    answer = [stored[item["id"]] for item in items]
    logger.info(
        "ingest batch stored",
        extra={
            "kind": "workflow_runs",
            "items": len(runs),
            "replaced": sum(not run.created for run in answer),
            "jobs": len(jobs),
            "commits": len(commits),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return answer


COMMIT_COLUMNS = ("run_id", "repo", "sha", "committed_at", "author", "message")


def _replace_commits(run_ids: list[str], commits: list[tuple]) -> None:
    """A re-posted run's commits are the ones it carries now: delete its stored ones, insert these."""
    stored = Commit.objects.filter(run_id__in=run_ids)
    stored._raw_delete(stored.db)  # nothing references a commit: a plain DELETE
    if not commits:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Commit._meta.db_table)
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COMMIT_COLUMNS)}) FROM STDIN") as copy:
                for commit in commits:
                    copy.write_row(commit)
        return
    Commit.objects.bulk_create(
        [Commit(**dict(zip(COMMIT_COLUMNS, commit, strict=True))) for commit in commits], batch_size=BATCH_SIZE
    )


def _write_postgresql(runs: list[tuple], jobs: list[tuple]) -> tuple[dict[str, StoredRun], list[tuple]]:
    """Upsert the runs in id order (their row locks serialise concurrent re-posts of one id, and
    one lock order means no deadlock), delete their stored jobs returning the states the rollups
    need, then COPY the new jobs: three statements and no model instances."""
    received_at = timezone.now()
    run_table, job_table = WorkflowRun._meta.db_table, Job._meta.db_table
    state = ", ".join(connection.ops.quote_name(field) for field in JOB_STATE)
    with connection.cursor() as cursor:
        # xmax = 0 marks a row this statement inserted (an updated row carries our lock's xid).
        cursor.execute(
            f"""
            INSERT INTO {run_table} (id, project_id, workflow_id, status, created_at, branch, received_at)
            SELECT r.id, r.project_id, r.workflow_id, r.status, r.created_at, r.branch, %s
            FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[])
                AS r(id, project_id, workflow_id, status, created_at, branch)
            ORDER BY r.id
            ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, workflow_id = EXCLUDED.workflow_id,
                status = EXCLUDED.status, created_at = EXCLUDED.created_at, branch = EXCLUDED.branch,
                received_at = EXCLUDED.received_at
            RETURNING id, xmax = 0
            """,
            [received_at, *map(list, zip(*runs, strict=True))],
        )
        stored = {run_id: StoredRun(inserted, received_at) for run_id, inserted in cursor.fetchall()}
        cursor.execute(
            f"DELETE FROM {job_table} WHERE run_id = ANY(%s::text[]) RETURNING {state}", [[run[0] for run in runs]]
        )
        old_states = cursor.fetchall()
        if jobs:
            with cursor.cursor.copy(f"COPY {job_table} ({', '.join(JOB_COLUMNS)}) FROM STDIN") as copy:
                for job in jobs:
                    copy.write_row(job)
    return stored, old_states


def _write_portable(runs: list[tuple], jobs: list[tuple]) -> tuple[dict[str, StoredRun], list[tuple]]:
    """The same writes through the ORM's bulk statements (SQLite; slower, same result)."""
    ids = [run[0] for run in runs]
    existing = set(WorkflowRun.objects.filter(id__in=ids).values_list("id", flat=True))
    objects = [
        WorkflowRun(id=run_id, project_id=pid, workflow_id=wid, status=status, created_at=created_at, branch=branch)
        for run_id, pid, wid, status, created_at, branch in sorted(runs)
    ]
    # Upserting the runs first locks them, so a concurrent re-post of the same id waits for us
    # and then replaces our jobs instead of adding to them. One lock order: no deadlock.
    WorkflowRun.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["project", "workflow", "status", "created_at", "branch", "received_at"],
        batch_size=BATCH_SIZE,
    )
    # auto_now set each object's received_at as it was written.
    stored = {run.pk: StoredRun(run.pk not in existing, run.received_at) for run in objects}
    replaced = Job.objects.filter(run_id__in=ids)
    old_states = list(replaced.order_by("id").values_list(*JOB_STATE))
    # Nothing references a job and the handlers are muted: a plain DELETE, no per-row collection.
    replaced._raw_delete(replaced.db)
    Job.objects.bulk_create([Job(**dict(zip(JOB_COLUMNS, job, strict=True))) for job in jobs], batch_size=BATCH_SIZE)
    return stored, old_states
