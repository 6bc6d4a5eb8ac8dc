"""Applying stored deliveries: each run a delivery touches is folded again from every stored delivery
about it and re-posted through the ingest (the API's checks, replace-on-re-post, rollup marks).

Applies of one source are serialised (an advisory lock on PostgreSQL; SQLite's transactions already
are), so a fold always sees every delivery stored before it and the last fold to commit is the fullest.
A delivery whose fold fails is marked failed with the reason and left out of later folds, so one bad
payload does not stop its run from following the good ones; `replay_deliveries` tries it again.
"""

import hashlib
import logging
from datetime import datetime

import orjson
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from common import faults, metrics
from insights.api.run_items import validate_runs
from insights.ingest import ingest_workflow_runs
from insights.models import Environment, Project, Service
from insights.sources.mapping import mapper_for, received
from insights.sources.models import Delivery, Source

logger = logging.getLogger(__name__)
LOCK_NAMESPACE = 0x1D5  # pg_advisory_xact_lock(namespace, source id)
TRANSIENT = (OperationalError, InterfaceError)
_FOLDED = ~Q(state__in=[Delivery.State.IGNORED, Delivery.State.FAILED])


def _lock(source: Source) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, source.pk])


def run_id(source: Source, run_key: str) -> str:
    """The stored run's id: `<source>:<run key>`, or the key's digest when that would pass 200 characters."""
    run_id = f"{source.name}:{run_key}"
    if len(run_id) > 200:
        run_id = f"{source.name}:{hashlib.sha256(run_key.encode()).hexdigest()}"
    return run_id


def affected_run_keys(delivery: Delivery) -> list[str]:
    if delivery.subject == Delivery.Subject.RUN:
        return [delivery.run_key]
    if delivery.subject == Delivery.Subject.PUSH and delivery.head_sha:
        runs = Delivery.objects.filter(
            _FOLDED, source_id=delivery.source_id, subject=Delivery.Subject.RUN, head_sha=delivery.head_sha
        )
        return sorted(set(runs.values_list("run_key", flat=True)))
    return []


def _ordered(rows) -> list:
    return list(rows.order_by(F("occurred_at").asc(nulls_first=True), "id"))


def _as_text(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _ensure_catalogue(source: Source, item: dict) -> None:
    """The run's project, environments and services, created when first named. A new environment is
    production when its job says so, else when its name matches the source's pattern; an existing one
    keeps the flag an operator gave it."""
    project, _ = Project.objects.get_or_create(key=item["project"], defaults={"name": item["project"]})
    for job in item["jobs"]:
        production = job.pop("production", None)
        if job.get("environment"):
            flag = source.is_production(job["environment"]) if production is None else bool(production)
            Environment.objects.get_or_create(project=project, name=job["environment"], defaults={"production": flag})
        if job.get("service"):
            Service.objects.get_or_create(
                project=project, name=job["service"], defaults={"service_type": Service.Type.K8S}
            )


def refold(source: Source, run_key: str) -> bool:
    """Fold the run `run_key` from its stored deliveries and store it; False when they make no run yet."""
    mapper = mapper_for(source.kind)
    rows = _ordered(Delivery.objects.filter(_FOLDED, source=source, subject=Delivery.Subject.RUN, run_key=run_key))
    shas = {row.head_sha for row in rows if row.head_sha}
    pushes = _ordered(Delivery.objects.filter(_FOLDED, source=source, subject=Delivery.Subject.PUSH, head_sha__in=shas))
    item = mapper.fold(
        source,
        run_key,
        [received(row, orjson.loads(row.body)) for row in rows],
        [received(row, orjson.loads(row.body)) for row in pushes],
    )
    if item is None:
        return False
    faults.fold_pause()
    item = {**item, "id": run_id(source, run_key), "created_at": _as_text(item["created_at"])}
    item["jobs"] = [{key: _as_text(value) for key, value in job.items()} for job in item.get("jobs", [])]
    item["commits"] = [{key: _as_text(value) for key, value in c.items()} for c in item.get("commits", [])]
    _ensure_catalogue(source, item)
    [run] = validate_runs(item)
    ingest_workflow_runs([run])
    return True


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "The run it makes is refused: " + orjson.dumps(exc.detail).decode()[:450]
    return f"{type(exc).__name__}: {exc}"[:500]


def apply_delivery(pk: int, done: set | None = None) -> str | None:
    """Apply one stored delivery; its new state, or None when there is nothing to do. `done` holds the run
    keys already folded in this pass (a replay folds each run once). Transient database errors propagate
    for the task's retry; any other failure marks the delivery failed and changes no run."""
    with transaction.atomic():
        delivery = Delivery.objects.select_related("source").filter(pk=pk).first()
        if delivery is None or delivery.state in (Delivery.State.APPLIED, Delivery.State.IGNORED):
            return None
        source = delivery.source
        _lock(source)
        delivery.refresh_from_db(fields=["state"])
        if delivery.state in (Delivery.State.APPLIED, Delivery.State.IGNORED):
            return None
        if delivery.state == Delivery.State.FAILED and done is None:
            return None  # only a replay tries a failed delivery again
        try:
            with transaction.atomic():
                delivery.state = Delivery.State.PENDING
                delivery.save(update_fields=["state"])  # the fold below includes it
                for run_key in affected_run_keys(delivery):
                    if done is not None and run_key in done:
                        continue
                    refold(source, run_key)
                    if done is not None:
                        done.add(run_key)
        except TRANSIENT:
            raise
        except Exception as exc:  # a mapper's bug or a refused run: recorded, replayable
            reason = _reason(exc)
            delivery.state, delivery.error = Delivery.State.FAILED, reason
            source.record_error(reason)
            logger.warning(
                "webhook delivery failed to apply",
                extra={"source": source.name, "delivery": delivery.delivery_id, "event": delivery.event},
            )
        else:
            delivery.state, delivery.error = Delivery.State.APPLIED, ""
        delivery.applied_at = timezone.now()
        delivery.save(update_fields=["state", "error", "applied_at"])
    metrics.delivery_applied(source.kind, delivery.state)
    return delivery.state


def apply_pending(limit: int = 500, older_than_seconds: int = 30) -> int:
    """Apply deliveries left pending (their task was lost): the beat sweep's work."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pending = Delivery.objects.filter(state=Delivery.State.PENDING, received_at__lt=cutoff).order_by("id")
    ids = list(pending.values_list("pk", flat=True)[:limit])
    for pk in ids:
        apply_delivery(pk)
    return len(ids)


def replay(source: Source, since: datetime, progress=None) -> dict[str, int]:
    """Apply again every delivery of `source` received since `since` (failed ones included), each run once."""
    return apply_again(Delivery.objects.filter(source=source, received_at__gte=since), progress)


def apply_again(deliveries, progress=None) -> dict[str, int]:
    """Apply the deliveries of a queryset again, failed ones included, folding each run once; their count by
    the state each ends in (`replay_deliveries` and the admin's action)."""
    rows = deliveries.exclude(state=Delivery.State.IGNORED)
    ids = list(rows.order_by("id").values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids).update(state=Delivery.State.PENDING, error="")
    done, states = set(), {}
    for pk in progress(ids) if progress else ids:
        state = apply_delivery(pk, done=done)
        if state:
            states[state] = states.get(state, 0) + 1
    return states
