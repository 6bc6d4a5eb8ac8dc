"""A small, polite client of a Zadig server's OpenAPI (the routes `sync_zadig` needs, read-only).

The routes and answer shapes follow koderover/zadig: `pkg/microservice/aslan/core/workflow/handler/
router.go` (OpenAPIRouter) and `openapi.go`, the structs in `service/workflow/types.go`
(OpenAPIWorkflowListResp, OpenAPIWorkflowV4TaskListResp) and `service/workflow/workflow_task_v4.go`
(WorkflowTaskPreview), and `core/project/service/types.go` (OpenAPIProjectListResp). A successful answer
is the object itself, with no envelope.

Every call carries the token as `Authorization: Bearer ...` and has a timeout. A 429 or 5xx answer (or a
connection failure) is retried with exponential backoff, honouring `Retry-After`, at most `retries`
times; then `ZadigError` is raised. 401/403 raise `ZadigAuthError` at once. The token never appears in an
error message or a log line.
"""

import logging
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import requests

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 100  # a listing reads at most PAGE_SIZE * MAX_PAGES items
RETRIES = 4
BASE_DELAY = 1.0
MAX_DELAY = 60.0
TIMEOUT = (5, 30)  # connect, read (seconds)


class ZadigError(Exception):
    """A call that did not succeed (after its retries); the message is safe to store and show."""


class ZadigAuthError(ZadigError):
    """The server refused the token (401/403): no other call of this source can succeed."""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class ZadigClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = RETRIES,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        timeout=TIMEOUT,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        session: requests.Session | None = None,
    ):
        self.base = url.rstrip("/")
        self._token = token
        self.sleep, self.retries = sleep, retries
        self.base_delay, self.max_delay, self.timeout = base_delay, max_delay, timeout
        self.page_size, self.max_pages = page_size, max_pages
        self.session = session or requests.Session()
        self.calls = 0  # requests sent, retries included

    def __repr__(self):  # never the token
        return f"ZadigClient({self.base!r})"

    def get(self, path: str, params: dict | None = None):
        """The decoded JSON answer of GET `path`, retried as the module says."""
        url = self.base + path
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        attempt = 0
        while True:
            problem, wait = None, None
            try:
                self.calls += 1
                response = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                problem = f"GET {path}: {type(exc).__name__}"
            else:
                status = response.status_code
                if status in (401, 403):
                    raise ZadigAuthError(f"GET {path}: HTTP {status}: the server refused the token")
                if status == 429 or status >= 500:
                    problem = f"GET {path}: HTTP {status}"
                    wait = _retry_after(response.headers.get("Retry-After"))
                elif status >= 400:
                    raise ZadigError(f"GET {path}: HTTP {status}: {response.text[:200]}")
                else:
                    try:
                        return response.json()
                    except ValueError:
                        raise ZadigError(f"GET {path}: the answer is not JSON") from None
            if attempt >= self.retries:
                raise ZadigError(f"{problem} (gave up after {attempt + 1} attempts)")
            delay = wait if wait is not None else self.base_delay * (2**attempt)
            delay = min(delay, self.max_delay)
            logger.info("zadig call backs off", extra={"path": path, "problem": problem, "delay": delay})
            self.sleep(delay)
            attempt += 1

    # --- the routes ---------------------------------------------------------------------------------

    def projects(self) -> list[dict]:
        """GET /openapi/projects/project: [{project_key, project_name, ...}]."""
        body = self.get("/openapi/projects/project", {"pageNum": 1, "pageSize": 1000})
        return list((body or {}).get("projects") or [])

    def workflows(self, project_key: str) -> list[dict]:
        """GET /openapi/workflows?projectKey=: the custom (v4) workflows [{workflow_key, workflow_name, type}]."""
        body = self.get("/openapi/workflows", {"projectKey": project_key})
        rows = (body or {}).get("workflows") or []
        return [row for row in rows if row.get("type", "custom") == "custom" and row.get("workflow_key")]

    def tasks(self, workflow_key: str, project_key: str = "") -> Iterator[dict]:
        """GET /openapi/workflows/custom/<key>/tasks, newest first, page by page (at most max_pages)."""
        for page in range(1, self.max_pages + 1):
            params = {"pageNum": page, "pageSize": self.page_size}
            if project_key:
                params["projectKey"] = project_key
            body = self.get(f"/openapi/workflows/custom/{workflow_key}/tasks", params) or {}
            rows = body.get("workflow_tasks") or []
            yield from rows
            if len(rows) < self.page_size or page * self.page_size >= int(body.get("total") or 0):
                return

    def task(self, workflow_key: str, task_id: int) -> dict:
        """GET /openapi/workflows/custom/task?workflowKey=&taskId=: the task with its stages and jobs."""
        body = self.get("/openapi/workflows/custom/task", {"workflowKey": workflow_key, "taskId": task_id})
        if not isinstance(body, dict):
            raise ZadigError(f"task {workflow_key}#{task_id}: the answer is not an object")
        return body
