"""What a GitLab webhook payload must hold, hook by hook (GitLab's "Webhook events" page): each reader
checks every field the GitLab mapper's folds use and returns them plain, or raises `Malformed` naming the
first one missing or wrong, so a payload that cannot be folded is refused (400) at the door.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from insights.models import time_in_range
from insights.sources.mapping import Malformed

MAX_TEXT = 200

# Pipeline statuses (object_attributes.status) -> run status.
PIPELINE_STATUS = {
    "success": "passed",
    "failed": "failed",
    "canceled": "cancelled",
    "canceling": "running",
    "skipped": "cancelled",
}
# Build statuses that make a job (a build in any other state is not counted yet).
BUILD_STATUS = {"success": "passed", "failed": "failed", "canceled": "cancelled"}
# Deployment statuses -> job and run status.
DEPLOYMENT_STATUS = {"success": "passed", "failed": "failed", "canceled": "cancelled"}
# Environment actions that deploy (GitLab's `environment:action`; absent means start).
DEPLOYING_ACTIONS = frozenset({"start"})

_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|UTC|[+-]\d{2}:?\d{2})$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_COMMIT_URL = re.compile(r"/commit/([0-9a-fA-F]{40}|[0-9a-fA-F]{64})/?$")
_ZERO_SHA = frozenset("0")


# --- reading one payload -------------------------------------------------------------------------


def parse_time(value: Any, where: str) -> datetime:
    """A GitLab time as an aware datetime: "2016-08-12 15:23:28 UTC", "2021-04-28 21:50:00 +0200", ISO 8601
    with an offset or Z. Between 2000 and 2100, as the ingest accepts."""
    if not isinstance(value, str) or not (match := _TIME.match(value.strip())):
        raise Malformed(f"{where} is not a GitLab time with a zone")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone in ("Z", "UTC"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise Malformed(f"{where} has an impossible offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError:
        raise Malformed(f"{where} is not a valid date-time") from None
    if not time_in_range(moment):
        raise Malformed(f"{where} lies outside 2000-2100")
    return moment.astimezone(UTC)


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{where} must be an object")
    return value


def _text(value: Any, where: str, *, blank_ok: bool = False) -> str:
    """A string, trimmed and without NUL characters (which the ingest and PostgreSQL refuse)."""
    if not isinstance(value, str):
        raise Malformed(f"{where} must be a string")
    value = value.replace("\x00", "").strip()
    if not blank_ok and not value:
        raise Malformed(f"{where} must be a non-empty string")
    return value


def _optional_text(value: Any, where: str) -> str:
    return "" if value is None else _text(value, where, blank_ok=True)


def _integer(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{where} must be an integer")
    return value


def _optional_time(value: Any, where: str) -> datetime | None:
    return None if value is None else parse_time(value, where)


def _sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _HEX.match(value):
        raise Malformed(f"{where} must be a commit SHA (40 or 64 hex characters)")
    return value.lower()


def _project(payload: dict) -> tuple[str, str]:
    """(path_with_namespace, name) of the payload's project."""
    project = _dict(payload.get("project"), "project")
    path = _text(project.get("path_with_namespace"), "project.path_with_namespace")
    name = project.get("name")
    name = _text(name, "project.name") if name is not None else path.rsplit("/", 1)[-1]
    return path, name


def _payload(payload: Any) -> dict:
    return _dict(payload, "the payload")


def _build(value: Any, index: int) -> dict:
    """A checked build of a Pipeline Hook's `builds`."""
    where = f"builds[{index}]"
    build = _dict(value, where)
    checked = {
        "id": _integer(build.get("id"), f"{where}.id"),
        "name": _text(build.get("name"), f"{where}.name"),
        "stage": _optional_text(build.get("stage"), f"{where}.stage"),
        "status": _text(build.get("status"), f"{where}.status"),
        "started_at": _optional_time(build.get("started_at"), f"{where}.started_at"),
        "finished_at": _optional_time(build.get("finished_at"), f"{where}.finished_at"),
        "environment": None,
    }
    environment = build.get("environment")
    if environment is not None:
        environment = _dict(environment, f"{where}.environment")
        checked["environment"] = {
            "name": _text(environment.get("name"), f"{where}.environment.name"),
            "action": _optional_text(environment.get("action"), f"{where}.environment.action"),
            "tier": _optional_text(environment.get("deployment_tier"), f"{where}.environment.deployment_tier"),
        }
    return checked


def read_pipeline(payload: dict) -> dict:
    """Every field of a Pipeline Hook the fold uses, checked (Malformed when one is missing or wrong)."""
    payload = _payload(payload)
    path, name = _project(payload)
    attributes = _dict(payload.get("object_attributes"), "object_attributes")
    builds = payload.get("builds")
    if builds is None:
        builds = []
    if not isinstance(builds, list):
        raise Malformed("builds must be a list")
    try:  # the head commit is extra information: a pipeline without a readable one is still read
        head_commit = _commit(_dict(payload.get("commit"), "commit"), "commit")
    except Malformed:
        head_commit = None
    pipeline_name = attributes.get("name")
    return {
        "path": path,
        "project_name": name,
        "id": _integer(attributes.get("id"), "object_attributes.id"),
        "name": _optional_text(pipeline_name, "object_attributes.name"),
        "sha": _sha(attributes.get("sha"), "object_attributes.sha"),
        "ref": _optional_text(attributes.get("ref"), "object_attributes.ref"),
        "status": _text(attributes.get("status"), "object_attributes.status"),
        "created_at": parse_time(attributes.get("created_at"), "object_attributes.created_at"),
        "finished_at": _optional_time(attributes.get("finished_at"), "object_attributes.finished_at"),
        "builds": [_build(build, index) for index, build in enumerate(builds)],
        "commit": head_commit,
    }


def _commit(value: dict, where: str) -> dict:
    author = value.get("author")
    author_name = ""
    if author is not None:
        author_name = _optional_text(_dict(author, f"{where}.author").get("name"), f"{where}.author.name")
    return {
        "sha": _sha(value.get("id"), f"{where}.id"),
        "committed_at": parse_time(value.get("timestamp"), f"{where}.timestamp"),
        "author": author_name,
        "message": _optional_text(value.get("message"), f"{where}.message"),
    }


def read_deployment(payload: dict) -> dict:
    payload = _payload(payload)
    path, name = _project(payload)
    commit_url = _optional_text(payload.get("commit_url"), "commit_url")
    match = _COMMIT_URL.search(commit_url)
    tier = payload.get("environment_tier")
    return {
        "path": path,
        "project_name": name,
        "id": _integer(payload.get("deployment_id"), "deployment_id"),
        "status": _text(payload.get("status"), "status"),
        "at": parse_time(payload.get("status_changed_at"), "status_changed_at"),
        "environment": _text(payload.get("environment"), "environment"),
        "tier": None if tier is None else _text(tier, "environment_tier", blank_ok=True),
        "sha": match.group(1).lower() if match else "",
        "ref": _optional_text(payload.get("ref"), "ref"),
    }


def read_push(payload: dict) -> dict | None:
    """A push's repository, head and commits; None for a branch deletion (no head)."""
    payload = _payload(payload)
    path, _ = _project(payload)
    head = payload.get("checkout_sha")
    if head is None:
        head = payload.get("after")
    if head is None or (isinstance(head, str) and set(head) <= _ZERO_SHA):
        return None
    head = _sha(head, "checkout_sha")
    commits = payload.get("commits")
    if commits is None:
        commits = []
    if not isinstance(commits, list):
        raise Malformed("commits must be a list")
    return {
        "path": path,
        "head": head,
        "commits": [_commit(_dict(c, f"commits[{i}]"), f"commits[{i}]") for i, c in enumerate(commits)],
    }


# --- folding -------------------------------------------------------------------------------------
