"""Pulling Zadig workflow tasks into deliveries, then runs (`sync_zadig`, and the beat task every 5 minutes).

For each enabled zadig source and each of its workflows (`Source.workflows`, else every custom workflow of
the source's project, else of every project the token sees), one call:

1. fetches again the tasks the cursor remembers as still running;
2. lists the workflow's tasks newest first down to the cursor's `synced` id (the highest task id below
   which every task is stored), then fetches each new task's detail, oldest first;
3. stores each detail as a Delivery whose id is `<workflow>/<task id>/<sha256 of the body>[:16]` (the same
   content again is a duplicate and changes nothing; changed content is a new delivery) and applies it at
   once (`apply.apply_delivery`);
4. moves the cursor after each stored task, so a crash or an error resumes where it stopped, without loss
   and without counting anything twice (runs are keyed by `<workflow>#<task id>`: a re-post replaces).

At most `max_tasks` details are fetched per call, over all sources. An HTTP failure that outlasts the
client's backoff stops that workflow for this call and is recorded on the source (`last_error`); a refused
token stops the source. Before a body is stored, what could be a credential (repository tokens and
passwords, credential parameters) is blanked and the volatile `cost_seconds` dropped.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from common import metrics
from insights.sources import apply, secrets
from insights.sources import zadig as zadig_mapper
from insights.sources.mapping import Malformed
from insights.sources.models import Delivery, Source
from insights.sources.zadig_client import ZadigAuthError, ZadigClient, ZadigError

logger = logging.getLogger(__name__)

DEFAULT_MAX_TASKS = 200
SECRET_KEYS = frozenset(
    {"oauth_token", "password", "private_access_token", "ssh_key", "token", "access_token", "secret", "secret_key"}
)
VOLATILE_KEYS = frozenset({"cost_seconds"})  # recomputed from "now" on every answer for a running job


@dataclass
class Budget:
    left: int

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


@dataclass
class WorkflowReport:
    source: str
    workflow: str
    listed: int = 0  # tasks newer than the cursor seen in the listing
    fetched: int = 0  # task details fetched
    stored: int = 0  # new deliveries
    duplicates: int = 0  # details identical to one already stored
    running: int = 0  # tasks left in the cursor to fetch again
    error: str = ""
    notes: list[str] = field(default_factory=list)


def sanitized(value):
    """A copy of a payload with credentials blanked and volatile fields dropped."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in VOLATILE_KEYS:
                continue
            if key in SECRET_KEYS and item:
                out[key] = ""
            else:
                out[key] = sanitized(item)
        if out.get("is_credential") is True and "value" in out:
            out["value"] = ""
        return out
    if isinstance(value, list):
        return [sanitized(item) for item in value]
    return value


def _record_error(source: Source, message: str) -> None:
    source.record_error(message)
    logger.warning("zadig sync error", extra={"source": source.name, "error": message[:500]})


def store_task(source: Source, workflow: str, detail: dict) -> tuple[Delivery | None, bool]:
    """Store one task detail as a delivery and apply it; (delivery, created). A duplicate returns (None, False)."""
    body = sanitized(detail)
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    delivery_id = f"{workflow}/{body.get('task_id')}/{digest}"[:200]
    if Delivery.objects.filter(source=source, delivery_id=delivery_id).exists():
        return None, False
    reading = zadig_mapper.ZadigMapper().read(zadig_mapper.EVENT, body)
    delivery = Delivery(
        source=source,
        delivery_id=delivery_id,
        event=zadig_mapper.EVENT,
        body=text,
        subject=reading.subject,
        run_key=reading.run_key[:300],
        head_sha=reading.head_sha[:64],
        occurred_at=reading.occurred_at,
    )
    try:
        with transaction.atomic():
            delivery.save(force_insert=True)
            Source.objects.filter(pk=source.pk).update(
                accepted_count=F("accepted_count") + 1, last_delivery_at=delivery.received_at
            )
    except IntegrityError:  # stored by a concurrent sync a moment ago
        return None, False
    apply.apply_delivery(delivery.pk)
    return delivery, True


class SourceSync:
    """One source's sync within one call."""

    def __init__(self, source: Source, client: ZadigClient, budget: Budget, progress: Callable | None = None):
        self.source, self.client, self.budget, self.progress = source, client, budget, progress
        self.cursor = dict(source.cursor or {})

    def _save_cursor(self) -> None:
        Source.objects.filter(pk=self.source.pk).update(cursor=self.cursor)
        self.source.cursor = dict(self.cursor)

    def workflows(self) -> list[tuple[str, str]]:
        """(workflow key, project key) pairs to sync."""
        project = self.source.project.key if self.source.project_id else ""
        if self.source.workflows:
            return [(str(key), project) for key in self.source.workflows]
        keys = [project] if project else [p.get("project_key", "") for p in self.client.projects()]
        pairs = []
        for key in filter(None, keys):
            pairs.extend((row["workflow_key"], key) for row in self.client.workflows(key))
        return pairs

    def _fetch_and_store(self, workflow: str, task_id: int, report: WorkflowReport) -> dict | None:
        detail = self.client.task(workflow, task_id)
        report.fetched += 1
        if self.progress:
            self.progress()
        detail.setdefault("workflow_key", workflow)
        detail.setdefault("task_id", task_id)
        try:
            _, created = store_task(self.source, workflow, detail)
        except Malformed as exc:
            report.notes.append(f"task {task_id} skipped: {exc}")
            return detail
        if created:
            report.stored += 1
        else:
            report.duplicates += 1
        return detail

    def sync_workflow(self, workflow: str, project_key: str) -> WorkflowReport:
        report = WorkflowReport(self.source.name, workflow)
        state = dict(self.cursor.get(workflow) or {})
        synced = int(state.get("synced") or 0)
        running = sorted({int(tid) for tid in state.get("running") or []})

        def save():
            self.cursor[workflow] = {"synced": synced, "running": sorted(running)}
            self._save_cursor()

        try:
            for task_id in list(running):  # tasks last seen running: fetched again
                if not self.budget.take():
                    break
                detail = self._fetch_and_store(workflow, task_id, report)
                if detail is None or zadig_mapper.is_final(detail.get("status")):
                    running.remove(task_id)
                    save()
            if self.budget.left > 0:
                new = []
                for row in self.client.tasks(workflow, project_key):
                    task_id = row.get("task_id")
                    if not isinstance(task_id, int) or isinstance(task_id, bool):
                        continue
                    if task_id <= synced:
                        break
                    new.append(task_id)
                report.listed = len(new)
                for task_id in sorted(set(new)):
                    if task_id in running:
                        continue
                    if not self.budget.take():
                        break
                    detail = self._fetch_and_store(workflow, task_id, report)
                    synced = task_id
                    if detail is not None and not zadig_mapper.is_final(detail.get("status")):
                        running.append(task_id)
                    save()
        except ZadigAuthError:
            raise
        except ZadigError as exc:
            report.error = str(exc)
            _record_error(self.source, f"workflow {workflow}: {exc}")
        report.running = len(running)
        return report

    def run(self) -> list[WorkflowReport]:
        reports = []
        try:
            pairs = self.workflows()
        except ZadigError as exc:
            _record_error(self.source, f"listing workflows: {exc}")
            return [WorkflowReport(self.source.name, "*", error=str(exc))]
        for workflow, project_key in pairs:
            if self.budget.left <= 0:
                break
            try:
                reports.append(self.sync_workflow(workflow, project_key))
            except ZadigAuthError as exc:
                _record_error(self.source, f"workflow {workflow}: {exc}")
                reports.append(WorkflowReport(self.source.name, workflow, error=str(exc)))
                break
        return reports


SYNC_LOCK_NAMESPACE = 0x1D6


@contextmanager
def _only_sync(source: Source):
    """One sync of a source at a time (beat and a manual `sync_zadig` may overlap): two would each move the
    cursor from what they read, and the later write could set it back. A PostgreSQL session lock; SQLite
    runs one process."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SYNC_LOCK_NAMESPACE, source.pk])
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SYNC_LOCK_NAMESPACE, source.pk])


def client_for(source: Source, **options) -> ZadigClient | None:
    token = secrets.decrypt(source.secret)
    if not token or not source.url:
        return None
    return ZadigClient(source.url, token, **options)


def sync_zadig(
    source_name: str | None = None,
    max_tasks: int = DEFAULT_MAX_TASKS,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable | None = None,
    client_options: dict | None = None,
) -> list[WorkflowReport]:
    """Sync every enabled zadig source (or the one named); at most `max_tasks` task details in all."""
    sources = Source.objects.filter(kind=Source.Kind.ZADIG, enabled=True).select_related("project")
    if source_name:
        sources = sources.filter(name=source_name)
    budget = Budget(max(0, int(max_tasks)))
    reports: list[WorkflowReport] = []
    try:
        _sync_sources(sources, budget, reports, sleep, progress, client_options)
    finally:
        for report in reports:
            metrics.source_synced(report.source, report.stored, report.duplicates, bool(report.error))
    return reports


def _sync_sources(sources, budget, reports, sleep, progress, client_options) -> None:
    for source in sources.order_by("name"):
        client = client_for(source, sleep=sleep, **(client_options or {}))
        if client is None:
            message = "no URL, or the token cannot be read (set it again with add_source --rotate)"
            _record_error(source, message)
            reports.append(WorkflowReport(source.name, "*", error=message))
            continue
        with _only_sync(source) as alone:
            if not alone:
                reports.append(WorkflowReport(source.name, "*", error="already being synced by another process"))
                continue
            reports.extend(SourceSync(source, client, budget, progress).run())
        if budget.left <= 0:
            break
