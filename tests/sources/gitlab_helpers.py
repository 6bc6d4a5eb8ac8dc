"""Shared by the GitLab source tests: the documented example payloads, a source, posting a hook, and a
snapshot of what a source stored.

The payloads in gitlab_payloads/ are GitLab's own examples from the "Webhook events" page
(https://docs.gitlab.com/user/project/integrations/webhook_events/): push.json is "Push events",
pipeline.json is "Pipeline events", deployment.json is "Deployment events".
"""

import copy
import json
import uuid
from pathlib import Path

import orjson

from insights.models import WorkflowRun
from insights.sources import secrets
from insights.sources.models import Source

PAYLOADS = Path(__file__).parent / "gitlab_payloads"
TOKEN = "gitlab-test-token"
EVENTS = {"pipeline": "Pipeline Hook", "deployment": "Deployment Hook", "push": "Push Hook"}


def example(name: str) -> dict:
    """A fresh copy of one documented example payload."""
    return copy.deepcopy(json.loads((PAYLOADS / f"{name}.json").read_text()))


def make_source(name: str = "gitlab-main", **fields) -> Source:
    return Source.objects.create(name=name, kind="gitlab", secret=secrets.keep("gitlab", TOKEN), **fields)


def post(client, source: str, event: str, payload, *, delivery: str | None = None, token: str = TOKEN):
    """POST /hooks/<source>/ as GitLab does; `payload` may be bytes (sent as is)."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token, "Idempotency-Key": delivery or str(uuid.uuid4())}
    return client.generic("POST", f"/hooks/{source}/", body, content_type="application/json", headers=headers)


def snapshot(source: Source) -> list:
    """Every run the source stored, with its jobs and commits, in a comparable form (the run id without the
    source's name, so two sources that saw the same events compare equal)."""
    runs = []
    prefix = f"{source.name}:"
    for run in WorkflowRun.objects.filter(id__startswith=prefix).select_related("workflow", "project").order_by("id"):
        jobs = [
            (
                job.position,
                job.name,
                job.type,
                job.status,
                job.started_at,
                job.finished_at,
                job.environment.name if job.environment else None,
                job.service.name if job.service else None,
                job.test_module,
            )
            for job in run.jobs.select_related("environment", "service").order_by("position")
        ]
        commits = sorted((c.repo, c.sha, c.committed_at, c.author, c.message) for c in run.commits.all())
        key = run.id[len(prefix) :]
        runs.append((key, run.project.key, run.workflow.name, run.status, run.created_at, run.branch, jobs, commits))
    return runs
