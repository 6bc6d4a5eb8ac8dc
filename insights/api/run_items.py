"""Shape checks of posted workflow runs, by hand.

The rules are those of `WorkflowRunInputSerializer` (which stays the schema's description of the
body): strict JSON types, unknown fields refused, times with offsets between 2000 and 2100, jobs of
at most 31 days, at most INGEST_MAX_BATCH items, one error entry per item (`{}` for a good one).
DRF's per-field machinery cost ~1.3 s per 1,000 runs of 5 jobs; these plain functions give the same
values and the same error bodies (tests/insights/test_run_items.py compares both on random items) in
a few tens of ms.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings
from rest_framework.exceptions import ValidationError

from insights.api.field_checks import (
    ABSENT,
    DATETIME_MESSAGES,
    MAX_POSITIVE_INT,
    NON_FIELD,
    BadDateTime,
    Invalid,
    checked,
    choice,
    count,
    each,
    not_a_dict,
    null,
    parse_aware_datetime,
    text,
    when,
    with_unknown,
)
from insights.models import (
    EARLIEST_TIME,
    FINAL_STATUSES,
    LATEST_TIME,
    MAX_BRANCH,
    MAX_COMMIT_MESSAGE,
    MAX_COMMITS,
    Job,
    Status,
    job_times_error,
)

MAX_TEXT = 200
MAX_PROJECT_KEY = 64

RUN_FIELDS = ("id", "project", "workflow", "status", "created_at", "branch", "jobs", "commits")
COMMIT_FIELDS = ("sha", "repo", "committed_at", "author", "message")
SHA_MESSAGE = "Enter a commit SHA: 40 or 64 hexadecimal characters."
_HEX = frozenset("0123456789abcdef")
JOB_FIELDS = (
    "name",
    "type",
    "status",
    "started_at",
    "finished_at",
    "environment",
    "service",
    "test_module",
    "case_count",
)
_RUN_FIELD_SET = frozenset(RUN_FIELDS)
_JOB_FIELD_SET = frozenset(JOB_FIELDS)
_COMMIT_FIELD_SET = frozenset(COMMIT_FIELDS)
_STATUSES = frozenset(Status.values)
_JOB_TYPES = frozenset(Job.Type.values)
_FINAL = frozenset(FINAL_STATUSES)


def parse_commit_time(value) -> datetime:
    """A commit's time: Unix seconds (a JSON integer) or ISO 8601 with an offset, between 2000 and 2100."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not EARLIEST_TIME.timestamp() <= value <= LATEST_TIME.timestamp():
            raise BadDateTime("range")
        return datetime.fromtimestamp(value, UTC)
    return parse_aware_datetime(value)


def commit_sha(value: str) -> str:
    """A checked text as a commit id: 40 (SHA-1) or 64 (SHA-256) hex characters, stored lowercase."""
    sha = value.lower()
    if len(sha) not in (40, 64) or not _HEX.issuperset(sha):
        raise Invalid([SHA_MESSAGE])
    return sha


def _name(value):
    return text(value, MAX_TEXT)


def _project_key(value):
    return text(value, MAX_PROJECT_KEY)


def _optional_name(value):
    return text(value, MAX_TEXT, blank_ok=True, null_ok=True)


def _status(value):
    return choice(value, _STATUSES)


def _job_type(value):
    return choice(value, _JOB_TYPES)


def _optional_when(value):
    return when(value, null_ok=True)


def _created(value):
    return when(value, null_ok=False)


def _branch(value):
    return text(value, MAX_BRANCH, blank_ok=True)


# (field, check, required), in the serializers' field order (their errors come in that order);
# an optional field that is absent stays absent. test_module and case_count follow in _job.
_JOB_CHECKS = (
    ("name", _name, True),
    ("type", _job_type, True),
    ("status", _status, True),
    ("started_at", _optional_when, False),
    ("finished_at", _optional_when, False),
    ("environment", _optional_name, False),
    ("service", _optional_name, False),
)
_RUN_CHECKS = (
    ("id", _name, True),
    ("project", _project_key, True),
    ("workflow", _name, True),
    ("status", _status, True),
    ("created_at", _created, True),
    ("branch", _branch, False),
)


def _job(data) -> dict:
    if not isinstance(data, Mapping):
        raise not_a_dict(data)
    job, errors = {}, {}
    checked(data, _JOB_CHECKS, job, errors)
    value = data.get("test_module", ABSENT)
    try:
        job["test_module"] = "" if value is ABSENT else text(value, MAX_TEXT, blank_ok=True)
    except Invalid as exc:
        errors["test_module"] = exc.detail
    value = data.get("case_count", ABSENT)
    if value is not ABSENT:
        try:
            job["case_count"] = count(value)
        except Invalid as exc:
            errors["case_count"] = exc.detail
    if with_unknown(data, _JOB_FIELD_SET, errors):
        raise Invalid(errors)
    # JobInputSerializer.validate: a counted job needs both times (its day and duration come from
    # them); a test job its module.
    status = job["status"]
    if status in _FINAL:
        for name in ("started_at", "finished_at"):
            if job.get(name) is None:
                errors[name] = [f"Required when status is {status!r}."]
    started, finished = job.get("started_at"), job.get("finished_at")
    if message := job_times_error(started, finished):
        errors["finished_at"] = [message]
    if job["type"] == Job.Type.TEST and not job["test_module"]:
        errors["test_module"] = ["Required for a job of type 'test'."]
    if errors:
        raise Invalid(errors)
    return job


def _jobs(value) -> list[dict]:
    return each(value, _job)


def _commit_time(value):
    if value is None:
        raise null()
    try:
        return parse_commit_time(value)
    except BadDateTime as exc:
        raise Invalid([DATETIME_MESSAGES[exc.key]]) from None


_COMMIT_CHECKS = (
    ("sha", lambda value: commit_sha(text(value, 64)), True),
    ("repo", _name, True),
    ("committed_at", _commit_time, True),
    ("author", lambda value: text(value, MAX_TEXT, blank_ok=True), False),
    ("message", lambda value: text(value, MAX_COMMIT_MESSAGE, blank_ok=True), False),
)


def _commit(data) -> dict:
    if not isinstance(data, Mapping):
        raise not_a_dict(data)
    commit, errors = {}, {}
    checked(data, _COMMIT_CHECKS, commit, errors)
    if with_unknown(data, _COMMIT_FIELD_SET, errors):
        raise Invalid(errors)
    return {name: commit.get(name, "") for name in COMMIT_FIELDS}  # the serializer's order and defaults


def commits_of(value) -> list[dict]:
    """A run's `commits` (CommitInputSerializer(many=True, max_length=MAX_COMMITS), by hand)."""
    return each(value, _commit, MAX_COMMITS)


def repeated_commits(commits: list[dict]) -> list[dict] | None:
    """Per commit, `{}` or the error of a (repo, sha) already given earlier in the run; None if none is."""
    first_seen, errors = {}, []
    for index, commit in enumerate(commits):
        seen = first_seen.setdefault((commit["repo"], commit["sha"]), index)
        errors.append({} if seen == index else {"sha": [f"Same repo and sha as commit {seen} of this run."]})
    return errors if any(errors) else None


def _run(data) -> dict:
    if not isinstance(data, Mapping):
        raise not_a_dict(data)
    run, errors = {}, {}
    checked(data, _RUN_CHECKS, run, errors)
    run.setdefault("branch", "")
    value = data.get("jobs", ABSENT)
    try:
        run["jobs"] = [] if value is ABSENT else _jobs(value)
    except Invalid as exc:
        errors["jobs"] = exc.detail
    value = data.get("commits", ABSENT)
    try:
        run["commits"] = [] if value is ABSENT else commits_of(value)
    except Invalid as exc:
        errors["commits"] = exc.detail
    if with_unknown(data, _RUN_FIELD_SET, errors):
        raise Invalid(errors)
    # WorkflowRunInputSerializer.validate, run once every field is valid.
    if repeated := repeated_commits(run["commits"]):
        raise Invalid({"commits": repeated})
    return {name: run[name] for name in RUN_FIELDS}


# --- the fast path: plain, good items (most of every batch) in one pass -------------------------
# Each function returns the validated item, or None when anything is unusual (another type,
# non-ASCII text, a bad value...): the careful functions above then decide, and word the errors.


def _fast_text(value, max_length: int, blank_ok: bool):
    if type(value) is not str or not value.isascii() or "\x00" in value:
        return None
    value = value.strip()
    if (value or blank_ok) and len(value) <= max_length:
        return value
    return None


def _fast_when(value):
    if type(value) is not str or not value.isascii() or not value.isprintable():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # parse_datetime's first (and usual) step
        if parsed.tzinfo is None or not EARLIEST_TIME <= parsed <= LATEST_TIME:
            return None
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(UTC)


def _fast_job(data) -> dict | None:
    if type(data) is not dict or not data.keys() <= _JOB_FIELD_SET:
        return None
    name, kind, status = data.get("name"), data.get("type"), data.get("status")
    if type(kind) is not str or kind not in _JOB_TYPES or type(status) is not str or status not in _STATUSES:
        return None
    name = _fast_text(name, MAX_TEXT, False)
    if name is None:
        return None
    job = {"name": name, "type": kind, "status": status}
    for key in ("started_at", "finished_at"):
        if key in data:
            value = data[key]
            if value is not None:
                value = _fast_when(value)
                if value is None:
                    return None
            job[key] = value
    for key in ("environment", "service"):
        if key in data:
            value = data[key]
            if value is not None:
                value = _fast_text(value, MAX_TEXT, True)
                if value is None:
                    return None
            job[key] = value
    if "test_module" in data:
        module = _fast_text(data["test_module"], MAX_TEXT, True)
        if module is None:
            return None
    else:
        module = ""
    job["test_module"] = module
    if "case_count" in data:
        count = data["case_count"]
        if count is not None and (type(count) is not int or not 0 <= count <= MAX_POSITIVE_INT):
            return None
        job["case_count"] = count
    started, finished = job.get("started_at"), job.get("finished_at")
    if status in _FINAL and (started is None or finished is None):
        return None
    if job_times_error(started, finished) is not None:
        return None
    if kind == "test" and not module:
        return None
    return job


def _fast_run(data) -> dict | None:
    if type(data) is not dict or not data.keys() <= _RUN_FIELD_SET:
        return None
    status = data.get("status")
    if type(status) is not str or status not in _STATUSES:
        return None
    run = {
        "id": _fast_text(data.get("id"), MAX_TEXT, False),
        "project": _fast_text(data.get("project"), MAX_PROJECT_KEY, False),
        "workflow": _fast_text(data.get("workflow"), MAX_TEXT, False),
        "status": status,
        "created_at": _fast_when(data.get("created_at")),
    }
    if None in run.values():
        return None
    run["branch"] = _fast_text(data["branch"], MAX_BRANCH, True) if "branch" in data else ""
    if run["branch"] is None:
        return None
    jobs = data.get("jobs", [])
    if type(jobs) is not list:
        return None
    run["jobs"] = checked = []
    for job in jobs:
        job = _fast_job(job)
        if job is None:
            return None
        checked.append(job)
    commits = data.get("commits", ABSENT)
    if commits is ABSENT:
        commits = []
    else:
        try:
            commits = commits_of(commits)
        except Invalid:
            return None
        if repeated_commits(commits):
            return None
    run["commits"] = commits
    return run  # built in RUN_FIELDS order


def validate_runs(data) -> list[dict]:
    """The posted body (one run object or a list of them) as validated runs, or a ValidationError
    with the body DRF's serializers give: a dict for one object, one entry per item for a list."""
    if not isinstance(data, list):
        try:
            return [_fast_run(data) or _run(data)]
        except Invalid as exc:
            detail = exc.detail
            if data is None:  # what DRF's Serializer.errors says for a null body
                detail = {NON_FIELD: ["No data provided"]}
            raise ValidationError(detail) from None
    limit = settings.INGEST_MAX_BATCH
    if len(data) > limit:
        message = f"A request may carry at most {limit} items; this one has {len(data)}."
        raise ValidationError({NON_FIELD: [message]}, code="max_length")
    runs, errors, failed = [], [], False
    for item in data:
        try:
            runs.append(_fast_run(item) or _run(item))
            errors.append({})
        except Invalid as exc:
            errors.append(exc.detail)
            failed = True
    if failed:
        raise ValidationError(errors)
    first_seen = {}
    for index, run in enumerate(runs):
        seen = first_seen.setdefault(run["id"], index)
        if seen != index:
            failed = True
            errors[index] = {"id": [f"Same id as item {seen} of this request."]}
    if failed:
        raise ValidationError(errors)
    return runs
