"""The GitLab mapper: Pipeline, Deployment and Push hooks as runs, deploy jobs and commits (issue 15).

Payloads follow GitLab's "Webhook events" page (docs.gitlab.com/user/project/integrations/webhook_events/);
the rules decided here are in docs/sources.md ("GitLab").

`read` checks every field a fold will use, so a fold never meets a payload it cannot read. A fold picks
what it keeps by the content of the deliveries (times, then how advanced a status is, then the bytes), never
by their order, so any interleaving and any redelivery of the same events gives the same run.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from insights.models import MAX_BRANCH, MAX_COMMIT_MESSAGE, MAX_COMMITS, job_times_error, time_in_range
from insights.sources import mapping
from insights.sources.mapping import Malformed, Reading, Received
from insights.sources.models import Delivery, Source

PIPELINE, DEPLOYMENT, PUSH = "Pipeline Hook", "Deployment Hook", "Push Hook"
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


def _canonical(payload: Any) -> bytes:
    """Bytes that order equal-looking payloads the same way whatever their arrival order."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def _latest_time(pipeline: dict) -> datetime:
    """The latest moment a Pipeline Hook mentions: how far the pipeline had got when it was sent."""
    moments = [pipeline["created_at"], pipeline["finished_at"]]
    for build in pipeline["builds"]:
        moments += [build["started_at"], build["finished_at"]]
    return max(moment for moment in moments if moment is not None)


def _pipeline_rank(status: str) -> int:
    return 2 if status in PIPELINE_STATUS and status != "canceling" else (1 if status == "running" else 0)


def _build_rank(build: dict) -> tuple:
    final = build["status"] in BUILD_STATUS and build["started_at"] and build["finished_at"]
    return (
        1 if final else 0,
        build["finished_at"] or datetime.min.replace(tzinfo=UTC),
        build["started_at"] or datetime.min.replace(tzinfo=UTC),
    )


def _truncate(value: str, limit: int = MAX_TEXT) -> str:
    return value[:limit].strip()


def _job_of_build(source: Source, build: dict, service: str) -> dict | None:
    status = BUILD_STATUS.get(build["status"])
    started, finished = build["started_at"], build["finished_at"]
    if status is None or started is None or finished is None or job_times_error(started, finished):
        return None  # not finished yet, or times the ingest would refuse: not counted
    name = _truncate(build["name"])
    job = {"name": name, "status": status, "started_at": started, "finished_at": finished, "service": service}
    environment = build["environment"]
    if environment and (environment["action"] or "start") in DEPLOYING_ACTIONS:
        job["type"] = "deploy"
        job["environment"] = _truncate(environment["name"])
        if environment["tier"] == "production":
            job["production"] = True
    else:
        job["type"] = source.job_type(build["name"], [build["stage"]] if build["stage"] else [])
    if job["type"] == "test":
        job["test_module"] = name
    return job


def _commits(repo_of_push: list[tuple[str, dict]]) -> list[dict]:
    """Commits (repo, commit) deduplicated by (repo, sha), oldest first, at most MAX_COMMITS (the newest)."""
    chosen: dict[tuple[str, str], dict] = {}
    for repo, commit in repo_of_push:
        item = {
            "sha": commit["sha"],
            "repo": _truncate(repo),
            "committed_at": commit["committed_at"],
            "author": _truncate(commit["author"]),
            "message": commit["message"][:MAX_COMMIT_MESSAGE],
        }
        key = (item["repo"], item["sha"])
        if key not in chosen or _commit_order(item) < _commit_order(chosen[key]):
            chosen[key] = item
    ordered = sorted(chosen.values(), key=lambda c: (c["committed_at"], c["repo"], c["sha"]))
    return ordered[-MAX_COMMITS:]


def _commit_order(commit: dict) -> tuple:
    return (commit["committed_at"], commit["author"], commit["message"])


def _push_commits(pushes: list[Received], head_shas: set[str]) -> list[tuple[str, dict]]:
    found = []
    for push in pushes:
        if push.event != PUSH:
            continue
        try:
            reading = read_push(push.payload)
        except Malformed:
            continue
        if reading is None or reading["head"] not in head_shas:
            continue
        found += [(reading["path"], commit) for commit in reading["commits"]]
    return found


class GitLabMapper:
    events = frozenset({PIPELINE, DEPLOYMENT, PUSH})

    def read(self, event: str, payload: Any) -> Reading:
        if event == PIPELINE:
            pipeline = read_pipeline(payload)
            return Reading(
                Delivery.Subject.RUN,
                f"{pipeline['path']}#pipeline-{pipeline['id']}",
                pipeline["sha"],
                _latest_time(pipeline),
            )
        if event == DEPLOYMENT:
            deployment = read_deployment(payload)
            return Reading(
                Delivery.Subject.RUN,
                f"{deployment['path']}#deployment-{deployment['id']}",
                deployment["sha"],
                deployment["at"],
            )
        if event == PUSH:
            push = read_push(payload)
            if push is None:
                return Reading(Delivery.Subject.NONE)
            times = [commit["committed_at"] for commit in push["commits"]]
            return Reading(Delivery.Subject.PUSH, "", push["head"], max(times) if times else None)
        raise Malformed(f"the {event} event is not read by this mapper")

    def fold(self, source: Source, run_key: str, deliveries: list[Received], pushes: list[Received]) -> dict | None:
        if any(d.event == PIPELINE for d in deliveries):  # a run key holds one kind of event
            return self._fold_pipeline(source, [d for d in deliveries if d.event == PIPELINE], pushes)
        if any(d.event == DEPLOYMENT for d in deliveries):
            return self._fold_deployment(source, [d for d in deliveries if d.event == DEPLOYMENT], pushes)
        return None

    def _fold_pipeline(self, source: Source, deliveries: list[Received], pushes: list[Received]) -> dict:
        states = [(read_pipeline(d.payload), _canonical(d.payload)) for d in deliveries]
        latest, _ = max(states, key=lambda s: (_latest_time(s[0]), _pipeline_rank(s[0]["status"]), s[1]))
        builds: dict[int, tuple[tuple, bytes, dict]] = {}
        for pipeline, _ in states:
            for build in pipeline["builds"]:
                candidate = (_build_rank(build), _canonical(_as_json(build)), build)
                if build["id"] not in builds or candidate[:2] > builds[build["id"]][:2]:
                    builds[build["id"]] = candidate
        service = _truncate(latest["project_name"])
        made = [(b["started_at"], b["id"], _job_of_build(source, b, service)) for _, _, b in builds.values()]
        jobs = [job for _, _, job in sorted((m for m in made if m[2]), key=lambda m: m[:2])]
        heads = {pipeline["sha"] for pipeline, _ in states}
        found = _push_commits(pushes, heads)
        for pipeline, _ in states:
            if pipeline["commit"] and pipeline["commit"]["sha"] == pipeline["sha"]:
                found.append((pipeline["path"], pipeline["commit"]))
        return {
            "project": mapping.project_key(source, latest["path"]),
            "workflow": _truncate(latest["name"]) or "pipeline",
            "status": PIPELINE_STATUS.get(latest["status"], "running"),
            "created_at": min(pipeline["created_at"] for pipeline, _ in states),
            "branch": latest["ref"][:MAX_BRANCH],
            "jobs": jobs,
            "commits": _commits(found),
        }

    def _fold_deployment(self, source: Source, deliveries: list[Received], pushes: list[Received]) -> dict:
        states = [(read_deployment(d.payload), _canonical(d.payload)) for d in deliveries]
        latest, _ = max(states, key=lambda s: (s[0]["at"], s[0]["status"] in DEPLOYMENT_STATUS, s[1]))
        started = min(state["at"] for state, _ in states)
        status = DEPLOYMENT_STATUS.get(latest["status"], "running")
        environment = _truncate(latest["environment"])
        job = {
            "name": environment,
            "type": "deploy",
            "status": status,
            "started_at": started,
            "environment": environment,
            "service": _truncate(latest["project_name"]),
        }
        if status != "running":
            job["finished_at"] = latest["at"]
            if job_times_error(started, latest["at"]):  # more than 31 days after it was first reported
                job["started_at"] = latest["at"]
        if latest["tier"] is not None:
            job["production"] = latest["tier"] == "production"
        heads = {state["sha"] for state, _ in states if state["sha"]}
        return {
            "project": mapping.project_key(source, latest["path"]),
            "workflow": "deployments",
            "status": status,
            "created_at": started,
            "branch": latest["ref"][:MAX_BRANCH],
            "jobs": [job],
            "commits": _commits(_push_commits(pushes, heads)),
        }


def _as_json(build: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in build.items()}


mapping.register("gitlab", GitLabMapper())
