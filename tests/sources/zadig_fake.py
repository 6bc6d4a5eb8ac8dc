"""A fake Zadig server for the sync tests: a real HTTP server on 127.0.0.1 (port 0) in a thread.

Its answers follow koderover/zadig's OpenAPI as its source defines them:
- `GET /openapi/projects/project` -> OpenAPIProjectListResp {total, projects[{project_key, project_name}]}
  (pkg/microservice/aslan/core/project/service/types.go);
- `GET /openapi/workflows?projectKey=` -> OpenAPIWorkflowListResp {workflows[WorkflowBrief{workflow_key,
  workflow_name, update_by, update_time, type}]} (core/workflow/service/workflow/types.go,
  OpenAPIGetCustomWorkflowV4List in service/workflow/openapi.go);
- `GET /openapi/workflows/custom/<key>/tasks?projectKey=&pageNum=&pageSize=` -> OpenAPIWorkflowV4TaskListResp
  {total, workflow_tasks[OpenAPIWorkflowV4Task]}, newest first (OpenAPIGetCustomWorkflowTaskV4);
- `GET /openapi/workflows/custom/task?workflowKey=&taskId=` -> WorkflowTaskPreview {task_id, workflow_key,
  workflow_name, project_key, status, create_time, start_time, end_time, stages[StageTaskPreview{name,
  status, start_time, end_time, jobs[JobTaskPreview{name, display_name, type, status, start_time,
  end_time, cost_seconds, spec}]}]}, with spec ZadigBuildJobSpec / ZadigTestingJobSpec /
  ZadigDeployJobPreviewSpec and repos of types.Repository (core/workflow/service/workflow/
  workflow_task_v4.go, jobsToJobPreviews; pkg/types/repo.go).
A success is the bare object (internalhandler.JSONResponse); a refused token is 401.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "zadig-test-token-7f3a"
PROJECT = "shop"
SHA_A = "a" * 40
SHA_B = "b" * 40


def repo(sha=SHA_A, branch="main"):
    return {
        "source": "gitlab",
        "repo_owner": "acme",
        "repo_name": "web-shop",
        "branch": branch,
        "commit_id": sha,
        "commit_message": "Fix the cart",
        "author_name": "dev",
        "oauth_token": "repo-secret-should-not-be-stored",
        "codehost_id": 1,
    }


def build_job(name, status, start, end, sha=SHA_A):
    return {
        "name": name,
        "key": name,
        "display_name": name,
        "type": "zadig-build",
        "status": status,
        "start_time": start,
        "end_time": end,
        "cost_seconds": (end or start + 5) - start,
        "spec": {"repos": [repo(sha)], "image": "r/web:1", "service_name": "web", "service_module": "web"},
    }


def test_job(name, status, start, end):
    return {
        "name": name,
        "display_name": name,
        "type": "zadig-test",
        "status": status,
        "start_time": start,
        "end_time": end,
        "cost_seconds": 7,
        "spec": {"repos": [], "test_name": "unit-tests", "test_type": "function", "junit_report": True},
    }


def deploy_job(name, status, start, end, env="prod", production=True):
    return {
        "name": name,
        "display_name": name,
        "type": "zadig-deploy",
        "status": status,
        "start_time": start,
        "end_time": end,
        "cost_seconds": 3,
        "spec": {
            "env": env,
            "env_alias": env,
            "production": production,
            "service_type": "k8s",
            "service_and_images": [{"service_name": "web", "service_module": "web", "image": "r/web:1"}],
        },
    }


def task(workflow, task_id, status, start, *, sha=SHA_A, jobs=None):
    """A WorkflowTaskPreview: build, test, deploy stages; a running task's later jobs are still waiting."""
    end = start + 60 if status != "running" else 0
    if jobs is None:
        if status == "running":
            jobs = [
                build_job("build-web", "passed", start, start + 20, sha),
                test_job("unit", "running", start + 21, 0),
                deploy_job("deploy-prod", "created", 0, 0),
            ]
        else:
            jobs = [
                build_job("build-web", "passed", start, start + 20, sha),
                test_job("unit", "passed", start + 21, start + 40),
                deploy_job("deploy-prod", status, start + 41, start + 60),
            ]
    return {
        "task_id": task_id,
        "workflow_key": workflow,
        "workflow_name": f"{workflow} display",
        "project_key": PROJECT,
        "status": status,
        "task_creator": "dev",
        "create_time": start - 5,
        "start_time": start,
        "end_time": end,
        "params": [{"name": "DB_PASSWORD", "value": "hunter2", "is_credential": True, "type": "string"}],
        "stages": [
            {"name": "stage-" + job["name"], "status": job["status"], "start_time": job["start_time"], "jobs": [job]}
            for job in jobs
        ],
    }


# OpenAPIWorkflowV4Task's fields (a listing row)
BRIEF_FIELDS = (
    "workflow_key",
    "workflow_name",
    "project_key",
    "task_id",
    "create_time",
    "task_creator",
    "start_time",
    "end_time",
    "status",
)


class FakeZadig:
    def __init__(self):
        self.workflows: dict[str, dict[int, dict]] = {}
        self.requests: list[str] = []
        self.fail_after: int | None = None  # answer 500 to every request after this many
        self.script: list[tuple[int, dict]] = []  # (status, headers) answered first, one per request
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def add(self, detail: dict) -> None:
        self.workflows.setdefault(detail["workflow_key"], {})[detail["task_id"]] = detail

    def count(self, prefix: str) -> int:
        return sum(1 for path in self.requests if path.startswith(prefix))

    def _send(self, handler, status, body, headers=None):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler):
        url = urlparse(handler.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        with self.lock:
            self.requests.append(handler.path)
            served = len(self.requests)
            scripted = self.script.pop(0) if self.script else None
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(handler, 401, {"code": 401, "message": "Unauthorized"})
        if scripted:
            return self._send(handler, scripted[0], {"message": "scripted"}, scripted[1])
        if self.fail_after is not None and served > self.fail_after:
            return self._send(handler, 500, {"code": 500, "message": "internal error"})
        path = url.path.rstrip("/")
        if path == "/openapi/projects/project":
            return self._send(
                handler, 200, {"total": 1, "projects": [{"project_key": PROJECT, "project_name": "Shop"}]}
            )
        if path == "/openapi/workflows":
            rows = [
                {"workflow_key": key, "workflow_name": f"{key} display", "update_by": "dev", "type": "custom"}
                for key in sorted(self.workflows)
            ]
            rows.append({"workflow_key": "old-product-flow", "workflow_name": "old", "type": "product"})
            return self._send(handler, 200, {"workflows": rows})
        if path == "/openapi/workflows/custom/task":
            detail = self.workflows.get(query.get("workflowKey"), {}).get(int(query.get("taskId", 0)))
            if detail is None:
                return self._send(handler, 400, {"code": 6, "message": "task not found"})
            return self._send(handler, 200, detail)
        parts = path.split("/")
        if len(parts) == 6 and parts[:4] == ["", "openapi", "workflows", "custom"] and parts[5] == "tasks":
            tasks = sorted(self.workflows.get(parts[4], {}).values(), key=lambda t: -t["task_id"])
            num, size = int(query.get("pageNum", 1)), int(query.get("pageSize", 10))
            page = tasks[(num - 1) * size : num * size]
            brief = [{key: t[key] for key in BRIEF_FIELDS} for t in page]
            return self._send(handler, 200, {"total": len(tasks), "workflow_tasks": brief})
        return self._send(handler, 404, {"message": "not found"})
