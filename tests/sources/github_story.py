"""A set of GitHub deliveries that belong together, built from GitHub's own examples: the payloads of
runs, their jobs, a deployment and the push they all build; and the stored state they leave."""

from insights.models import Commit, Job, WorkflowRun
from tests.sources import github_examples

REPO = {"full_name": "octo-org/octo-repo", "name": "octo-repo"}


def sha(number: int) -> str:
    return f"{number:040x}"


def _repository(payload: dict, repo: str) -> None:
    owner, name = repo.split("/")
    payload["repository"] = {**payload["repository"], "full_name": repo, "name": name}


def workflow_run(run_id, head, *, status="completed", conclusion="success", repo="octo-org/octo-repo", hour=10):
    payload = github_examples.example("workflow_run", lambda p: p["workflow_run"]["status"] == "completed")
    _repository(payload, repo)
    payload["workflow_run"].update(
        id=run_id,
        name="CI",
        head_sha=head,
        head_branch="main",
        status=status,
        conclusion=conclusion if status == "completed" else None,
        created_at=f"2021-08-05T{hour:02}:30:00Z",
        run_started_at=f"2021-08-05T{hour:02}:30:10Z",
        updated_at=f"2021-08-05T{hour:02}:{50 if status == 'completed' else 31}:00Z",
    )
    return payload


def workflow_job(run_id, job_id, head, name, *, status="completed", conclusion="success", minute=34, hour=10, **more):
    payload = github_examples.example("workflow_job", lambda p: p["workflow_job"]["status"] == "completed")
    _repository(payload, more.pop("repo", "octo-org/octo-repo"))
    payload["workflow_job"].update(
        id=job_id,
        run_id=run_id,
        head_sha=head,
        name=name,
        status=status,
        conclusion=conclusion if status == "completed" else None,
        created_at=f"2021-08-05T{hour:02}:{minute - 1:02}:00Z",
        started_at=f"2021-08-05T{hour:02}:{minute:02}:00Z",
        completed_at=f"2021-08-05T{hour:02}:{minute + 4:02}:00Z" if status == "completed" else None,
        **more,
    )
    return payload


def deployment_status(deployment_id, head, state, *, minute, environment="production", status_id=None):
    payload = github_examples.example("deployment_status")
    _repository(payload, "octo-org/octo-repo")
    payload["deployment"].update(
        id=deployment_id, sha=head, ref="main", environment=environment, created_at="2021-08-05T10:40:00Z"
    )
    payload["deployment_status"].update(
        id=status_id or deployment_id * 100 + minute,
        state=state,
        environment=environment,
        created_at=f"2021-08-05T10:{minute:02}:00Z",
    )
    return payload


def push(head, commits, repo="octo-org/octo-repo"):
    """commits: (sha, minute, message)"""
    payload = github_examples.example("push", lambda p: p["commits"])
    _repository(payload, repo)
    template = payload["commits"][0]
    payload["after"] = head
    payload["commits"] = [
        {**template, "id": commit, "timestamp": f"2021-08-05T09:{minute:02}:00+02:00", "message": message}
        for commit, minute, message in commits
    ]
    payload["head_commit"] = payload["commits"][-1]
    return payload


def stored() -> dict:
    """Every stored run with its jobs and commits, comparable across databases."""
    return {
        run.id: {
            "project": run.project.key,
            "workflow": run.workflow.name,
            "status": run.status,
            "created_at": run.created_at,
            "branch": run.branch,
            "jobs": [
                (
                    job.name,
                    job.type,
                    job.status,
                    job.started_at,
                    job.finished_at,
                    job.environment and job.environment.name,
                    job.service and job.service.name,
                    job.test_module,
                )
                for job in Job.objects.filter(run=run)
                .order_by("position", "id")
                .select_related("environment", "service")
            ],
            "commits": sorted(
                (c.repo, c.sha, c.committed_at, c.author, c.message) for c in Commit.objects.filter(run=run)
            ),
        }
        for run in WorkflowRun.objects.select_related("project", "workflow").order_by("id")
    }
