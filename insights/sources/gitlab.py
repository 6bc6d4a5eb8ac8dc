"""The GitLab mapper: Pipeline, Deployment and Push hooks as runs, deploy jobs and commits (issue 15).

Payloads follow GitLab's "Webhook events" page (docs.gitlab.com/user/project/integrations/webhook_events/);
the rules decided here are in docs/sources.md ("GitLab").

`read` checks every field a fold will use, so a fold never meets a payload it cannot read. A fold picks
what it keeps by the content of the deliveries (times, then how advanced a status is, then the bytes), never
by their order, so any interleaving and any redelivery of the same events gives the same run.
"""

from datetime import UTC, datetime
from typing import Any

import orjson

from insights.models import MAX_BRANCH, MAX_COMMIT_MESSAGE, MAX_COMMITS, job_times_error
from insights.sources import mapping
from insights.sources.gitlab_payloads import (
    BUILD_STATUS,
    DEPLOYING_ACTIONS,
    DEPLOYMENT_STATUS,
    MAX_TEXT,
    PIPELINE_STATUS,
    read_deployment,
    read_pipeline,
    read_push,
)
from insights.sources.mapping import Malformed, Reading, Received
from insights.sources.models import Delivery, Source

PIPELINE, DEPLOYMENT, PUSH = "Pipeline Hook", "Deployment Hook", "Push Hook"


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
