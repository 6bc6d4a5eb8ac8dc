"""PATCH and DELETE of a stored run and of one of its jobs, for API clients correcting what they posted.

An edit is a re-post of the run as stored with the change applied: it passes the very checks a POST
passes (`run_items.validate_runs`: strict types, time bounds, job lengths) and is written by the same
replace-on-re-post ingest, which marks the days it touched, so the statistics follow. A job is named
by its position in the run's `jobs` list as GET shows it (0 first); deleting one renumbers the rest.
Deleting a run deletes it through the ORM: its jobs cascade one by one, and their signals mark their
days dirty.
"""

from collections.abc import Mapping

from django.db import transaction
from rest_framework.exceptions import NotFound, ValidationError

from insights.api.run_items import RUN_FIELDS, validate_runs
from insights.ingest import StoredRun, ingest_workflow_runs
from insights.models import WorkflowRun


def _as_posted(serialized: Mapping) -> dict:
    """A run as GET shows it, in the shape a POST takes (what it would take to post it again)."""
    return {name: serialized[name] for name in RUN_FIELDS}


def _patch_object(patch) -> dict:
    if not isinstance(patch, Mapping):
        raise ValidationError({"non_field_errors": ["Expected an object of the fields to change."]})
    if "id" in patch:
        raise ValidationError({"id": ["A run's id cannot be changed; post the run under its new id instead."]})
    return dict(patch)


def _store(item: dict) -> StoredRun:
    [run] = validate_runs(item)
    return ingest_workflow_runs([run])[0]


def patch_run(current: Mapping, patch) -> StoredRun:
    """Re-post `current` (GET's body) with the fields of `patch` replaced (`jobs`, if given, whole)."""
    return _store({**_as_posted(current), **_patch_object(patch)})


def _job_index(current: Mapping, position: int) -> int:
    if not 0 <= position < len(current["jobs"]):
        raise NotFound(f"Run {current['id']} has no job at position {position}.")
    return position


def patch_job(current: Mapping, position: int, patch) -> StoredRun:
    item = _as_posted(current)
    index = _job_index(current, position)
    jobs = [dict(job) for job in item["jobs"]]
    jobs[index] = {**jobs[index], **_patch_object(patch)}
    try:
        return _store({**item, "jobs": jobs})
    except ValidationError as exc:
        # The item's errors name `jobs` -> [.., {field: ...}, ..]: answer the job's own fields.
        detail = exc.detail
        if isinstance(detail, dict) and isinstance(detail.get("jobs"), list) and len(detail) == 1:
            job_errors = detail["jobs"]
            if index < len(job_errors) and job_errors[index]:
                raise ValidationError(job_errors[index]) from None
        raise


def delete_job(current: Mapping, position: int) -> StoredRun:
    item = _as_posted(current)
    index = _job_index(current, position)
    return _store({**item, "jobs": [job for n, job in enumerate(item["jobs"]) if n != index]})


def delete_run(run: WorkflowRun) -> None:
    with transaction.atomic():
        run.delete()
