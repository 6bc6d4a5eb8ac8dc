"""The GitHub mapper: webhook payloads (`X-GitHub-Event`) as runs.

Events read (any other is recorded and ignored):

- `workflow_run` and `workflow_job`: one run per Actions run, key `<owner/repo>#<run id>`. The
  workflow_run gives the workflow's name, branch, start and status; each completed workflow_job one job
  (type from the source's job-type patterns on its name, then its runner labels; a test job's module is
  its name). Jobs not completed are left out, but while one is known only as queued or in progress the
  run, when no workflow_run says otherwise, is running. With jobs but no workflow_run yet, the workflow
  is the jobs' `workflow_name` (else "github-actions") and the status comes from the jobs: running while
  a known job is not completed, else failed / timeout / cancelled when a job ended so, else passed. A
  re-run (`run_attempt` > 1) replaces the jobs of the same name from earlier attempts.
- `deployment_status`: one run per deployment, key `<owner/repo>#deployment-<deployment id>`, workflow
  "deployments", with one deploy job named after the environment, service = the repository's name. Its
  status is the latest status by its own created_at (success: passed; failure, error: failed; queued,
  pending, in_progress, waiting: running, without a finished time; inactive: keeps the last final state,
  or passed when there is none). Started at the deployment's creation, finished at that status's time.
  A deployment GitHub flags `production_environment` creates its environment as production; otherwise
  the source's environment pattern decides.
- `push`: the commits of every run whose head is the push's `after` (a deleted ref, all zeros, has none).
- `ping`: acknowledged, nothing to apply.

`read` checks every field `fold` uses, so a payload that lacks one is refused (400) at the door and a
stored one always folds. `fold` chooses among several deliveries about the same thing by their content
(attempt, progress, the event's own time), never by arrival, so any order and any redelivery give the
same run.
"""

from datetime import datetime
from typing import Any

import orjson

from insights.models import EARLIEST_TIME, MAX_BRANCH, MAX_COMMITS, MAX_JOB_DURATION
from insights.sources import mapping
from insights.sources.github_payloads import (
    CONCLUSIONS,
    DEFAULT_WORKFLOW,
    DEPLOYMENT_STATES,
    DEPLOYMENT_WORKFLOW,
    NO_COMMIT,
    PROGRESS,
    _deployment_status,
    _name,
    _push,
    _workflow_job,
    _workflow_run,
)
from insights.sources.mapping import Malformed, Reading, Received
from insights.sources.models import Delivery, Source


def _canonical(payload: Any) -> bytes:
    """A total order's last resort between two different deliveries that tie on everything else."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


class GitHubMapper:
    events = frozenset({"workflow_run", "workflow_job", "deployment_status", "push", "ping"})

    def read(self, event: str, payload: Any) -> Reading:
        if not isinstance(payload, dict):
            raise Malformed("the payload must be a JSON object")
        if event == "ping":
            return Reading(Delivery.Subject.NONE)
        if event == "push":
            push = _push(payload)
            if push["after"] == NO_COMMIT:
                return Reading(Delivery.Subject.NONE)
            return Reading(Delivery.Subject.PUSH, head_sha=push["after"], occurred_at=push["when"])
        if event == "workflow_run":
            run = _workflow_run(payload)
            key = f"{run['repo']}#{run['id']}"
            return Reading(Delivery.Subject.RUN, key, run["head_sha"], run["updated"])
        if event == "workflow_job":
            job = _workflow_job(payload)
            return Reading(Delivery.Subject.RUN, f"{job['repo']}#{job['run_id']}", job["head_sha"], job["when"])
        if event == "deployment_status":
            status = _deployment_status(payload)
            key = f"{status['repo']}#deployment-{status['id']}"
            return Reading(Delivery.Subject.RUN, key, status["head_sha"], status["when"])
        raise Malformed(f"the {event[:60]} event is not read by this mapper")

    def fold(self, source: Source, run_key: str, deliveries: list[Received], pushes: list[Received]) -> dict | None:
        runs = [(_workflow_run(d.payload), d.payload) for d in deliveries if d.event == "workflow_run"]
        jobs = [(_workflow_job(d.payload), d.payload) for d in deliveries if d.event == "workflow_job"]
        statuses = [(_deployment_status(d.payload), d.payload) for d in deliveries if d.event == "deployment_status"]
        item = _deployment_run(statuses) if statuses else _actions_run(source, runs, jobs)
        if item is None:
            return None
        repo, head_sha = item.pop("repo"), item.pop("head_sha")
        item["project"] = mapping.project_key(source, repo)
        item["commits"] = _commits(pushes, head_sha)
        return item


# --- folding -------------------------------------------------------------------------------------


def _latest(pairs: list[tuple[dict, Any]], key) -> dict:
    """The reading whose content says it is the furthest along (its payload breaks exact ties)."""
    return max(pairs, key=lambda pair: (*key(pair[0]), _canonical(pair[1])))[0]


def _actions_run(source: Source, runs: list, jobs: list) -> dict | None:
    # Per job id, its furthest state.
    by_id: dict[int, list] = {}
    for pair in jobs:
        by_id.setdefault(pair[0]["id"], []).append(pair)
    latest_jobs = [
        _latest(pairs, lambda job: (job["attempt"], PROGRESS.get(job["status"], -1), job["when"] or EARLIEST_TIME))
        for pairs in by_id.values()
    ]
    completed = [job for job in latest_jobs if job["status"] == "completed"]
    if not runs and not completed:
        return None
    # A re-run's job replaces the earlier attempts' jobs of its name.
    last_attempt: dict[str, int] = {}
    for job in latest_jobs:
        last_attempt[job["name"]] = max(last_attempt.get(job["name"], 0), job["attempt"])
    current = [job for job in latest_jobs if job["attempt"] == last_attempt[job["name"]]]
    kept = sorted((job for job in current if job["status"] == "completed"), key=lambda job: (job["started"], job["id"]))
    item_jobs = []
    for job in kept:
        status = CONCLUSIONS.get(job["conclusion"] or "", "failed" if job["conclusion"] else "cancelled")
        kind = source.job_type(job["name"], job["labels"])
        entry = {
            "name": job["name"],
            "type": kind,
            "status": status,
            "started_at": job["started"],
            "finished_at": job["finished"],
        }
        if kind == "test":
            entry["test_module"] = job["name"]
        item_jobs.append(entry)

    if runs:
        run = _latest(runs, lambda run: (run["attempt"], PROGRESS.get(run["status"], -1), run["updated"]))
        workflow = _name(run["name"]) or _name(run["path"].rsplit("/", 1)[-1]) or DEFAULT_WORKFLOW
        if run["status"] != "completed":
            status = "running"
        else:
            status = CONCLUSIONS.get(run["conclusion"] or "", "failed" if run["conclusion"] else "cancelled")
        created, branch, repo, head_sha = run["started"], run["branch"], run["repo"], run["head_sha"]
    else:
        named = sorted({job["workflow_name"] for job in latest_jobs if _name(job["workflow_name"])})
        workflow = _name(named[0]) if named else DEFAULT_WORKFLOW
        status = _status_from_jobs(current)
        moments = [moment for job in latest_jobs for moment in (job["created"], job["started"]) if moment]
        created = min(moments)
        branches = sorted({job["branch"] for job in latest_jobs if job["branch"]})
        branch = branches[0] if branches else ""
        first = min(latest_jobs, key=lambda job: job["id"])
        repo, head_sha = first["repo"], first["head_sha"]
    return {
        "repo": repo,
        "head_sha": head_sha,
        "workflow": workflow,
        "status": status,
        "created_at": created,
        "branch": branch[:MAX_BRANCH],
        "jobs": item_jobs,
    }


def _status_from_jobs(jobs: list[dict]) -> str:
    if any(job["status"] != "completed" for job in jobs):
        return "running"
    conclusions = {job["conclusion"] for job in jobs}
    if conclusions & {"failure", "startup_failure"}:
        return "failed"
    if "timed_out" in conclusions:
        return "timeout"
    if "cancelled" in conclusions or None in conclusions:
        return "cancelled"
    if conclusions - set(CONCLUSIONS):
        return "failed"
    return "passed" if "success" in conclusions else "cancelled"


def _deployment_run(statuses: list) -> dict:
    ordered = sorted(statuses, key=lambda pair: (pair[0]["when"], pair[0]["status_id"], _canonical(pair[1])))
    decided, status = None, None
    for reading, _payload in ordered:
        state = DEPLOYMENT_STATES[reading["state"]]
        if state is not None:
            decided, status = reading, state
    if decided is None:  # only "inactive": GitHub retires only a deployment that succeeded
        decided, status = ordered[-1][0], "passed"
    latest = ordered[-1][0]
    started = latest["created"]
    job = {
        "name": decided["environment"],
        "type": "deploy",
        "status": status,
        "started_at": started,
        "environment": decided["environment"],
    }
    if decided["service"].strip():
        job["service"] = _name(decided["service"])
    if status != "running":
        finished = decided["when"]
        # The API wants finished >= started and at most 31 days between: GitHub's clocks agree, an
        # edited or very late status is held to that.
        started = min(started, finished)
        started = max(started, finished - MAX_JOB_DURATION)
        job["started_at"], job["finished_at"] = started, finished
    if latest["production"] is True:
        job["production"] = True
    ref = latest["ref"]
    branch = "" if ref.lower() == latest["head_sha"] else ref.removeprefix("refs/heads/")
    return {
        "repo": latest["repo"],
        "head_sha": latest["head_sha"],
        "workflow": DEPLOYMENT_WORKFLOW,
        "status": status,
        "created_at": latest["created"],
        "branch": branch[:MAX_BRANCH],
        "jobs": [job],
    }


def _commits(pushes: list[Received], head_sha: str) -> list[dict]:
    seen: dict[tuple[str, str], dict] = {}
    for delivery in pushes:
        if delivery.event != "push":
            continue
        push = _push(delivery.payload)
        if push["after"] != head_sha:
            continue
        for commit in push["commits"]:
            key = (commit["repo"], commit["sha"])
            # The same commit in two pushes: the lesser content wins, whatever the order.
            if key not in seen or _canonical(_as_json(commit)) < _canonical(_as_json(seen[key])):
                seen[key] = commit
    commits = sorted(seen.values(), key=lambda commit: (commit["committed_at"], commit["sha"]))
    return commits[-MAX_COMMITS:]


def _as_json(commit: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in commit.items()}


mapping.register("github", GitHubMapper())
