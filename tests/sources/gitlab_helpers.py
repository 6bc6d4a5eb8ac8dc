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


# --- a story: one push, its pipeline (three states) and a production deployment (two states) -------

HEAD = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"  # the documented push's checkout_sha


def _build(build_id, stage, name, status, started=None, finished=None, environment=None) -> dict:
    return {
        "id": build_id,
        "stage": stage,
        "name": name,
        "status": status,
        "created_at": "2016-08-12 15:23:28 UTC",
        "started_at": started,
        "finished_at": finished,
        "environment": environment,
    }


PRODUCTION = {"name": "production", "action": "start", "deployment_tier": "production"}


def pipeline(status: str, builds: list[dict], finished_at: str | None = None) -> dict:
    """The documented pipeline example moved to the push's project and head, in another state."""
    payload = example("pipeline")
    payload["project"] = example("push")["project"]
    payload["object_attributes"].update(sha=HEAD, status=status, finished_at=finished_at)
    payload["commit"] = {**payload["commit"], "id": HEAD, "timestamp": "2012-01-03T23:36:29+02:00"}
    payload["builds"] = builds
    return payload


def deployment(status: str, at: str) -> dict:
    """The documented deployment example moved to the push's project and head, to production."""
    payload = example("deployment")
    payload["project"] = example("push")["project"]
    payload.update(
        status=status,
        status_changed_at=at,
        environment="production",
        environment_tier="production",
        environment_slug="production",
        commit_url=f"http://example.com/mike/diaspora/-/commit/{HEAD}",
    )
    return payload


def story() -> list[tuple[str, dict]]:
    """(event, payload) in the order GitLab would send them."""
    build = ("build", "build-image", "success", "2016-08-12 15:24:56 UTC", "2016-08-12 15:25:26 UTC")
    return [
        ("Push Hook", example("push")),
        ("Pipeline Hook", pipeline("pending", [_build(376, "build", "build-image", "pending")])),
        (
            "Pipeline Hook",
            pipeline(
                "running",
                [
                    _build(376, *build),
                    _build(377, "test", "test-image", "running", "2016-08-12 15:26:12 UTC"),
                    _build(381, "deploy", "deploy-production", "created", environment=PRODUCTION),
                ],
            ),
        ),
        (
            "Pipeline Hook",
            pipeline(
                "success",
                [
                    _build(376, *build),
                    _build(377, "test", "test-image", "success", "2016-08-12 15:26:12 UTC", "2016-08-12 15:26:29 UTC"),
                    _build(
                        381,
                        "deploy",
                        "deploy-production",
                        "success",
                        "2016-08-12 15:27:00 UTC",
                        "2016-08-12 15:28:00 UTC",
                        PRODUCTION,
                    ),
                ],
                "2016-08-12 15:28:00 UTC",
            ),
        ),
        ("Deployment Hook", deployment("running", "2016-08-12 15:27:00 UTC")),
        ("Deployment Hook", deployment("success", "2016-08-12 17:28:00 +0200")),
    ]
