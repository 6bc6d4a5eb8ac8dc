"""Workflow-run ingest: a batch of runs, each replacing any run stored under its id, all or nothing.

Items arrive shape-checked (see `insights.api.runs`); what needs the database is checked here, for
the whole batch in a handful of queries, before anything is written. Writes are bulk statements
(they fire no model signals) followed by explicit dirty-marking of every touched rollup bucket:
the buckets of the replaced jobs and of the new ones.
"""

import logging
import time
from collections import Counter, defaultdict

from django.db import transaction
from rest_framework.exceptions import ValidationError

from insights.models import Environment, Job, Project, Service, Workflow, WorkflowRun
from insights.rollups import JOB_STATE, jobs_changed
from insights.signals import muted

BATCH_SIZE = 1000
logger = logging.getLogger(__name__)
JOB_REFERENCES = (("environment", Environment), ("service", Service))


def _check(items: list[dict]) -> tuple[dict[str, Project], dict[tuple[str, int, str], Environment | Service]]:
    """Database-dependent checks; returns projects by key and the referenced environments and
    services by (field, project id, name), or raises a ValidationError with one entry per item
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
    known: dict[tuple[str, int, str], Environment | Service] = {}
    for field, model in JOB_REFERENCES:
        if not wanted[field]:
            continue
        rows = model.objects.filter(
            project_id__in={pid for pid, _ in wanted[field]}, name__in={name for _, name in wanted[field]}
        )
        known.update(((field, row.project_id, row.name), row) for row in rows.order_by("id"))

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


def ingest_workflow_runs(items: list[dict]) -> list[WorkflowRun]:
    """Store runs (API.md section 3), replacing stored runs with the same id and all their jobs.

    Returns the runs in input order with project, workflow and jobs (with environment and service)
    attached, so a caller can render them without another query; `run.created` is False when the
    run replaced a stored one.
    """
    if not items:
        return []
    started = time.monotonic()
    projects, known = _check(items)
    ids = [item["id"] for item in items]
    with transaction.atomic(), muted():
        workflows = _workflows(items, projects)
        stored = set(WorkflowRun.objects.filter(id__in=ids).values_list("id", flat=True))
        runs = [_run(item, projects[item["project"]], workflows, known) for item in items]
        # Upserting the runs first locks them, so a concurrent re-post of the same id waits for us
        # and then replaces our jobs instead of adding to them. One lock order: no deadlock.
        WorkflowRun.objects.bulk_create(
            sorted(runs, key=lambda run: run.pk),
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["project", "workflow", "status", "created_at", "received_at"],
            batch_size=BATCH_SIZE,
        )
        replaced = Job.objects.filter(run_id__in=ids)
        old_states = list(replaced.order_by("id").values(*JOB_STATE))
        # Nothing references a job and the handlers are muted: a plain DELETE, no per-row collection.
        replaced._raw_delete(replaced.db)
        jobs = [job for run in runs for job in run._prefetched_objects_cache["jobs"]]
        Job.objects.bulk_create(jobs, batch_size=BATCH_SIZE)
        jobs_changed(old_states + [{field: getattr(job, field) for field in JOB_STATE} for job in jobs])
    for run in runs:
        run.created = run.pk not in stored
    logger.info(
        "ingest batch stored",
        extra={
            "kind": "workflow_runs",
            "items": len(runs),
            "replaced": len(stored),
            "jobs": len(jobs),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return runs


def _run(item: dict, project: Project, workflows: dict, known: dict) -> WorkflowRun:
    """An unsaved run with its unsaved jobs in the prefetch cache (what `run.jobs.all()` returns)."""
    run = WorkflowRun(
        id=item["id"],
        project=project,
        workflow=workflows[(project.pk, item["workflow"])],
        status=item["status"],
        created_at=item["created_at"],
    )
    jobs = [
        Job(
            run=run,
            project=project,
            position=position,
            name=job["name"],
            type=job["type"],
            status=job["status"],
            started_at=job.get("started_at"),
            finished_at=job.get("finished_at"),
            environment=known.get(("environment", project.pk, job.get("environment"))),
            service=known.get(("service", project.pk, job.get("service"))),
            test_module=job.get("test_module") or "",
            case_count=job.get("case_count"),
        )
        for position, job in enumerate(item["jobs"])
    ]
    run._prefetched_objects_cache = {"jobs": jobs}
    return run
