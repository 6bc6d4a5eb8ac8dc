"""Zadig's mapper: a workflow task's detail (what `sync_zadig` fetches) into a run.

The payload is the answer of `GET /openapi/workflows/custom/task` (koderover/zadig `WorkflowTaskPreview`
in `pkg/microservice/aslan/core/workflow/service/workflow/workflow_task_v4.go`): task_id, workflow_key,
workflow_name, project_key, status, create_time/start_time/end_time (Unix seconds), stages[].jobs[] with
name, type, status, start_time, end_time and a spec that depends on the type (ZadigBuildJobSpec,
ZadigTestingJobSpec, ZadigDeployJobPreviewSpec). A task detail is the task's complete state, so a fold
uses the latest one fetched and ignores older ones.

Commits: Zadig's repositories (`types.Repository`) carry commit_id, branch, owner, name, author and
message, but no commit time, which a run's commits need (lead time is measured from it). A repository
entry that carries one (`committed_at` or `commit_time`, Unix seconds or ISO 8601) gives it; otherwise the
task's creation time stands in: the latest the commit can have been made. DORA takes the earliest time
stored for a repo and sha, so the same commit arriving from a GitHub or GitLab push corrects it; from Zadig
alone, a lead time runs from the first task that built the commit.
"""

import re
from datetime import UTC, datetime

from insights.models import Job
from insights.sources import mapping
from insights.sources.mapping import Malformed, Reading, Received
from insights.sources.models import Delivery, Source

EVENT = "workflow_task"

# Zadig's task and job statuses (pkg/microservice/aslan/config/consts.go, Status) to ours.
FINAL = {
    "passed": "passed",
    "failed": "failed",
    "timeout": "timeout",
    "cancelled": "cancelled",
    "unstable": "failed",  # finished with failures tolerated: not a success
    "reject": "failed",  # an approval refused: the task ended there
}
SKIPPED = {"skipped", "disabled", "notRun"}  # jobs that never ran: not recorded
DEPLOY_TYPES = {"zadig-deploy", "zadig-helm-deploy", "zadig-helm-chart-deploy", "zadig-vm-deploy"}
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def status(value) -> str:
    """A Zadig status as ours: the final ones mapped, anything else (created, queued, waiting...) running."""
    return FINAL.get(str(value or ""), "running")


def is_final(value) -> bool:
    return str(value or "") in FINAL


def _time(seconds) -> datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value, limit: int = 200) -> str:
    return str(value or "").strip()[:limit]


def _jobs_of(task: dict):
    for stage in task.get("stages") or []:
        if isinstance(stage, dict):
            for job in stage.get("jobs") or []:
                if isinstance(job, dict):
                    yield stage, job


def _repos(task: dict) -> list[dict]:
    repos = []
    for _, job in _jobs_of(task):
        spec = job.get("spec")
        if isinstance(spec, dict):
            repos.extend(repo for repo in spec.get("repos") or [] if isinstance(repo, dict))
    return repos


def _sha(value) -> str:
    sha = _text(value, 64).lower()
    return sha if _SHA.match(sha) else ""


def _task_id(payload) -> int:
    if not isinstance(payload, dict):
        raise Malformed("the task detail is not an object")
    task_id = payload.get("task_id")
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        raise Malformed("task_id is missing")
    if not _text(payload.get("workflow_key")):
        raise Malformed("workflow_key is missing")
    return task_id


def run_key(workflow_key: str, task_id: int) -> str:
    return f"{workflow_key}#{task_id}"


def _commit_time(repo: dict):
    for key in ("committed_at", "commit_time"):
        value = repo.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return _time(value)
        if isinstance(value, str) and value:
            return value
    return None


class ZadigMapper:
    events = frozenset({EVENT})

    def read(self, event: str, payload) -> Reading:
        task_id = _task_id(payload)
        head = next((sha for repo in _repos(payload) if (sha := _sha(repo.get("commit_id")))), "")
        occurred = (
            _time(payload.get("end_time")) or _time(payload.get("start_time")) or _time(payload.get("create_time"))
        )
        return Reading(
            Delivery.Subject.RUN, run_key(_text(payload["workflow_key"]), task_id), head_sha=head, occurred_at=occurred
        )

    def fold(self, source: Source, run_key: str, deliveries: list[Received], pushes: list[Received]) -> dict | None:
        tasks = [(index, row) for index, row in enumerate(deliveries) if row.event == EVENT]
        if not tasks:
            return None
        _, latest = max(tasks, key=lambda pair: (pair[1].received_at, pair[0]))
        return self.run(source, latest.payload)

    def run(self, source: Source, task: dict) -> dict | None:
        created = _time(task.get("create_time")) or _time(task.get("start_time"))
        if created is None:
            return None
        repos = _repos(task)
        project = mapping.project_key(source, _text(task.get("project_key")) or _text(task.get("workflow_key")))
        run = {
            "project": project,
            "workflow": _text(task.get("workflow_name")) or _text(task.get("workflow_key")),
            "status": status(task.get("status")),
            "created_at": created,
            "branch": next((_text(r.get("branch"), 255) for r in repos if _text(r.get("branch"))), ""),
            "jobs": [job for stage, raw in _jobs_of(task) if (job := self.job(source, task, stage, raw))],
            "commits": self.commits(repos, created),
        }
        return run

    def job(self, source: Source, task: dict, stage: dict, raw: dict) -> dict | None:
        raw_status = str(raw.get("status") or "")
        if raw_status in SKIPPED:
            return None
        name = _text(raw.get("display_name")) or _text(raw.get("name"))
        if not name:
            return None
        kind_of = str(raw.get("type") or raw.get("job_type") or "")
        spec = raw.get("spec") if isinstance(raw.get("spec"), dict) else {}
        job = {"name": name, "status": status(raw_status) if raw_status else status(task.get("status"))}
        started = _time(raw.get("start_time")) or _time(stage.get("start_time"))
        finished = _time(raw.get("end_time")) or _time(stage.get("end_time"))
        if job["status"] in ("passed", "failed", "timeout"):
            started = started or _time(task.get("start_time"))
            finished = finished or _time(task.get("end_time"))
            if started is None or finished is None:
                return None  # a counted job needs both times; Zadig gave none
        elif job["status"] == "running":
            if started is None:
                return None  # not started yet (created, queued, waiting): recorded once it starts
            if is_final(task.get("status")):
                job["status"] = "cancelled"  # the task ended before this job did
            else:
                finished = None
        if started:
            job["started_at"] = started
        if finished:
            job["finished_at"] = finished
        if kind_of == "zadig-build":
            job["type"] = Job.Type.BUILD
        elif kind_of == "zadig-test":
            job["type"] = Job.Type.TEST
            job["test_module"] = _text(spec.get("test_name")) or name
        elif kind_of in DEPLOY_TYPES:
            job["type"] = Job.Type.DEPLOY
            environment = _text(spec.get("env"))
            if environment:
                job["environment"] = environment
                if isinstance(spec.get("production"), bool):
                    job["production"] = spec["production"]
        else:
            job["type"] = source.job_type(name, [kind_of] if kind_of else [])
            if job["type"] == Job.Type.TEST:
                job["test_module"] = _text(spec.get("test_name")) or name
        service = _text(spec.get("service_name"))
        if not service:
            services = [s for s in spec.get("service_and_images") or [] if isinstance(s, dict)]
            service = next((_text(s.get("service_name")) for s in services if _text(s.get("service_name"))), "")
        if service:
            job["service"] = service
        return job

    def commits(self, repos: list[dict], created) -> list[dict]:
        commits, seen = [], set()
        for repo in repos:
            sha = _sha(repo.get("commit_id"))
            committed_at = _commit_time(repo) or created
            name = "/".join(part for part in (_text(repo.get("repo_owner")), _text(repo.get("repo_name"))) if part)
            if not sha or committed_at is None or not name or (name, sha) in seen:
                continue
            seen.add((name, sha))
            commits.append(
                {
                    "sha": sha,
                    "repo": name[:200],
                    "committed_at": committed_at,
                    "author": _text(repo.get("author_name")),
                    "message": _text(repo.get("commit_message"), 1000),
                }
            )
        return commits


mapping.register("zadig", ZadigMapper())
