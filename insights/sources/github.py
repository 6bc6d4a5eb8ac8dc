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

from insights.models import EARLIEST_TIME, LATEST_TIME, MAX_BRANCH, MAX_COMMIT_MESSAGE, MAX_COMMITS, MAX_JOB_DURATION
from insights.sources import mapping
from insights.sources.mapping import Malformed, Reading, Received
from insights.sources.models import Delivery, Source

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
