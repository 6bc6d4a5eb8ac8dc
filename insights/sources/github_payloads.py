"""What a GitHub webhook payload must hold, event by event: each reader checks every field the GitHub
mapper's folds use and returns them plain, or raises `Malformed` naming the first one missing or wrong, so a
payload that cannot be folded is refused (400) at the door and a stored one always folds.
"""

from datetime import datetime
from typing import Any

from insights.models import EARLIEST_TIME, LATEST_TIME, MAX_COMMIT_MESSAGE, MAX_JOB_DURATION
from insights.sources.mapping import Malformed

MAX_NAME = 200
NO_COMMIT = "0" * 40
DEFAULT_WORKFLOW = "github-actions"
DEPLOYMENT_WORKFLOW = "deployments"
_HEX = frozenset("0123456789abcdef")

# An Actions conclusion as a job or run status.
CONCLUSIONS = {
    "success": "passed",
    "failure": "failed",
    "startup_failure": "failed",
    "timed_out": "timeout",
    "cancelled": "cancelled",
    "skipped": "cancelled",
    "neutral": "cancelled",
    "stale": "cancelled",
    "action_required": "cancelled",
}
# How far along an Actions status is: of two deliveries about one job or run, the further one wins.
PROGRESS = {"requested": 0, "waiting": 1, "pending": 1, "queued": 2, "in_progress": 3, "completed": 4}
DEPLOYMENT_STATES = {
    "success": "passed",
    "failure": "failed",
    "error": "failed",
    "queued": "running",
    "pending": "running",
    "in_progress": "running",
    "waiting": "running",
    "inactive": None,  # keeps the last final state
}


# --- reading: checked access to a payload ------------------------------------------------------


def _obj(data: Any, key: str, where: str) -> dict:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise Malformed(f"{where}{key} must be an object")
    return value


def _text(data: dict, key: str, where: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, str):
        value = value.replace("\x00", "")  # the API refuses NUL in any text; GitHub never sends one
    if not isinstance(value, str) or not (value.strip() or optional):
        raise Malformed(f"{where}{key} must be a non-empty string")
    return value


def _int(data: dict, key: str, where: str, *, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Malformed(f"{where}{key} must be a non-negative integer")
    return value


def _time(data: dict, key: str, where: str, *, optional: bool = False) -> datetime | None:
    value = data.get(key)
    if value is None and optional:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or not EARLIEST_TIME <= parsed <= LATEST_TIME:
        raise Malformed(f"{where}{key} must be an ISO 8601 time with an offset, between 2000 and 2100")
    return parsed


def _sha(data: dict, key: str, where: str) -> str:
    value = _text(data, key, where)
    sha = value.lower()
    if len(sha) not in (40, 64) or not _HEX.issuperset(sha):
        raise Malformed(f"{where}{key} must be a commit SHA (40 or 64 hexadecimal characters)")
    return sha


def _labels(data: dict, where: str) -> list[str]:
    value = data.get("labels")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise Malformed(f"{where}labels must be a list of strings")
    return value


def _repository(payload: dict) -> str:
    return _text(_obj(payload, "repository", ""), "full_name", "repository.").strip()


def _name(value: str) -> str:
    return value.strip()[:MAX_NAME].strip()


# --- the pieces of each event, as fold uses them ----------------------------------------------


def _workflow_run(payload: dict) -> dict:
    where = "workflow_run."
    run = _obj(payload, "workflow_run", "")
    created = _time(run, "created_at", where)
    return {
        "repo": _repository(payload),
        "id": _int(run, "id", where),
        "head_sha": _sha(run, "head_sha", where),
        "name": _text(run, "name", where, optional=True) or "",
        "path": _text(run, "path", where, optional=True) or "",
        "branch": _text(run, "head_branch", where, optional=True) or "",
        "status": _text(run, "status", where),
        "conclusion": _text(run, "conclusion", where, optional=True),
        "attempt": _int(run, "run_attempt", where, optional=True) or 1,
        "started": _time(run, "run_started_at", where, optional=True) or created,
        "updated": _time(run, "updated_at", where, optional=True) or created,
    }


def _workflow_job(payload: dict) -> dict:
    where = "workflow_job."
    job = _obj(payload, "workflow_job", "")
    status = _text(job, "status", where)
    completed = status == "completed"
    started = _time(job, "started_at", where, optional=not completed)
    finished = _time(job, "completed_at", where, optional=not completed)
    created = _time(job, "created_at", where, optional=True)
    if completed and finished < started:
        raise Malformed(f"{where}completed_at must not be earlier than started_at")
    if completed and finished - started > MAX_JOB_DURATION:
        raise Malformed(f"{where}completed_at must be at most 31 days after started_at")
    if not _name(_text(job, "name", where)):
        raise Malformed(f"{where}name must be a non-empty string")
    return {
        "repo": _repository(payload),
        "id": _int(job, "id", where),
        "run_id": _int(job, "run_id", where),
        "head_sha": _sha(job, "head_sha", where),
        "name": _name(job["name"]),
        "labels": _labels(job, where),
        "status": status,
        "conclusion": _text(job, "conclusion", where, optional=True),
        "attempt": _int(job, "run_attempt", where, optional=True) or 1,
        "started": started,
        "finished": finished,
        "created": created,
        "workflow_name": _text(job, "workflow_name", where, optional=True) or "",
        "branch": _text(job, "head_branch", where, optional=True) or "",
        "when": finished or started or created,
    }


def _deployment_status(payload: dict) -> dict:
    deployment = _obj(payload, "deployment", "")
    status = _obj(payload, "deployment_status", "")
    state = _text(status, "state", "deployment_status.")
    if state not in DEPLOYMENT_STATES:
        raise Malformed(f"deployment_status.state {state[:40]!r} is not one of {', '.join(DEPLOYMENT_STATES)}")
    environment = (
        _text(status, "environment", "deployment_status.", optional=True)
        or _text(deployment, "environment", "deployment.", optional=True)
        or ""
    )
    if not _name(environment):
        raise Malformed("deployment_status.environment or deployment.environment must be a non-empty string")
    production = deployment.get("production_environment")
    if production is not None and not isinstance(production, bool):
        raise Malformed("deployment.production_environment must be a boolean")
    repository = _obj(payload, "repository", "")
    return {
        "repo": _repository(payload),
        "service": _text(repository, "name", "repository.", optional=True) or "",
        "id": _int(deployment, "id", "deployment."),
        "head_sha": _sha(deployment, "sha", "deployment."),
        "ref": _text(deployment, "ref", "deployment.", optional=True) or "",
        "created": _time(deployment, "created_at", "deployment."),
        "production": production,
        "status_id": _int(status, "id", "deployment_status.", optional=True) or 0,
        "state": state,
        "environment": _name(environment),
        "when": _time(status, "created_at", "deployment_status."),
    }


def _push(payload: dict) -> dict:
    after = _text(payload, "after", "")
    repo = _repository(payload)
    if after == NO_COMMIT:
        return {"repo": repo, "after": after, "commits": [], "when": None}
    after = _sha(payload, "after", "")
    commits = payload.get("commits")
    if commits is None:
        commits = []
    if not isinstance(commits, list):
        raise Malformed("commits must be a list")
    read = []
    for index, commit in enumerate(commits):
        where = f"commits[{index}]."
        if not isinstance(commit, dict):
            raise Malformed(f"commits[{index}] must be an object")
        author = commit.get("author")
        if author is not None and not isinstance(author, dict):
            raise Malformed(f"{where}author must be an object")
        read.append(
            {
                "sha": _sha(commit, "id", where),
                "repo": repo[:MAX_NAME],
                "committed_at": _time(commit, "timestamp", where),
                "author": ((author and _text(author, "name", where + "author.", optional=True)) or "").strip()[
                    :MAX_NAME
                ],
                "message": (_text(commit, "message", where, optional=True) or "")[:MAX_COMMIT_MESSAGE],
            }
        )
    head = payload.get("head_commit")
    when = _time(head, "timestamp", "head_commit.") if isinstance(head, dict) else None
    if when is None and read:
        when = max(commit["committed_at"] for commit in read)
    return {"repo": repo, "after": after, "commits": read, "when": when}
